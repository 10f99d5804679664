package sender

import (
	"bufio"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/netguard"
	"github.com/hookgate/hookgate/internal/testenv"
)

// What Result.Message must never hold: an IPv4 address, an IPv6 address (two
// colons without a space between), a port (a colon then digits), a URL.
var leaks = []*regexp.Regexp{
	regexp.MustCompile(`\b\d{1,3}(\.\d{1,3}){3}\b`),
	regexp.MustCompile(`(?i)[0-9a-f]*:[0-9a-f]*:[0-9a-f.]*`),
	regexp.MustCompile(`:\d+`),
	regexp.MustCompile(`(?i)https?://`),
}

func assertSafe(t *testing.T, name, msg string) {
	t.Helper()
	for _, re := range leaks {
		if m := re.FindString(msg); m != "" {
			t.Errorf("%s: message %q shows %q", name, msg, m)
		}
	}
}

// rawServer accepts loopback connections and hands each to serve.
func rawServer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// TestFailuresAreDescribedWithoutAddresses sends to real loopback receivers
// that fail in each way a delivery can fail, and checks the class and the
// safe message of each: the words an admin sees in the delivery log.
func TestFailuresAreDescribedWithoutAddresses(t *testing.T) {
	closedAddr := testenv.FreeAddr(t)
	tlsSrv := newServer(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), true)
	plain := newServer(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), false)
	hold := make(chan struct{})
	slow := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hold:
		case <-r.Context().Done():
		}
	}), false)
	t.Cleanup(func() { close(hold) })
	garbage := rawServer(t, func(c net.Conn) {
		_, _ = io.ReadAll(io.LimitReader(c, 1)) // the request has started
		_, _ = io.WriteString(c, "SSH-2.0-OpenSSH_9.6 127.0.0.1:22\r\n\r\n")
	})
	hangup := rawServer(t, func(c net.Conn) {
		// Read the request's head, then close without answering.
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil || line == "\r\n" {
				return
			}
		}
	})
	_, tlsPort, _ := net.SplitHostPort(tlsSrv.Listener.Addr().String())

	trusting := newSender(t, Config{}, "127.0.0.0/8", "::1/128")
	roots := x509.NewCertPool()
	roots.AddCert(tlsSrv.Certificate())
	trusting.transport.TLSClientConfig.RootCAs = roots

	tests := []struct {
		name    string
		s       *Sender
		url     string
		timeout time.Duration
		class   string
		message string
	}{
		{"blocked", newSender(t, Config{}), plain.URL + "/?token=x", 0, hookgate.ClassSSRFBlocked,
			"ssrf_blocked: the endpoint's address is not allowed (private, loopback, link-local or otherwise reserved; see delivery.allowed_cidrs)"},
		{"refused", newSender(t, Config{}, "127.0.0.0/8"), "http://" + closedAddr + "/", 0, hookgate.ClassConnect, "connect: connection refused"},
		{"nxdomain", newSender(t, Config{}), "https://nonexistent.invalid/hook", 0, hookgate.ClassDNS, "dns: the host name does not resolve (no such host)"},
		{"untrusted", newSender(t, Config{}, "127.0.0.0/8"), tlsSrv.URL, 0, hookgate.ClassTLS, "tls: the certificate is not signed by a trusted authority"},
		// The test certificate is for example.com, 127.0.0.1 and ::1: x509's
		// own error lists them.
		{"wrong host", trusting, "https://localhost:" + tlsPort + "/", 0, hookgate.ClassTLS, "tls: the certificate is not valid for the host name"},
		{"http on https", newSender(t, Config{}, "127.0.0.0/8"), "https://" + plain.Listener.Addr().String() + "/", 0, hookgate.ClassConnect,
			"connect: the endpoint answered in plain HTTP, not in TLS"},
		{"not tls", newSender(t, Config{}, "127.0.0.0/8"), "https://" + garbage + "/", 0, hookgate.ClassTLS,
			"tls: the endpoint did not answer in TLS (is it a plain HTTP endpoint?)"},
		{"timeout", newSender(t, Config{}, "127.0.0.0/8"), slow.URL, 150 * time.Millisecond, hookgate.ClassTimeout, "timeout: no complete answer within 150ms"},
		{"not http", newSender(t, Config{}, "127.0.0.0/8"), "http://" + garbage + "/", 0, hookgate.ClassConnect, "connect: the answer is not valid HTTP"},
		{"hang-up", newSender(t, Config{}, "127.0.0.0/8"), "http://" + hangup + "/", 0, hookgate.ClassConnect, "connect: the connection closed before a complete answer"},
		{"bad URL", newSender(t, Config{}), "http://[::1]:namedport/", 0, hookgate.ClassConnect, "connect: the endpoint URL is not valid"},
		{"scheme", newSender(t, Config{}), "ftp://10.0.0.1:21/", 0, hookgate.ClassConnect, "connect: the endpoint URL is not valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.s.Send(context.Background(), &Request{URL: tt.url, Timeout: tt.timeout})
			if res.ErrorClass != tt.class || res.Message != tt.message {
				t.Errorf("class %q message %q, want %q %q (err %v)", res.ErrorClass, res.Message, tt.class, tt.message, res.Err)
			}
			assertSafe(t, tt.name, res.Message)
		})
	}
}

func TestCancelledAttemptIsDescribedAsCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := newSender(t, Config{}, "127.0.0.0/8").Send(ctx, &Request{URL: "http://127.0.0.1:1/"})
	if res.ErrorClass != hookgate.ClassTimeout || !strings.HasPrefix(res.Message, "timeout: the attempt was cancelled") {
		t.Fatalf("class %q message %q", res.ErrorClass, res.Message)
	}
}

func TestNon2xxIsDescribedByItsStatus(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }), false)
	res := newSender(t, Config{}, "127.0.0.0/8").Send(context.Background(), &Request{URL: srv.URL})
	if res.Message != "HTTP 503" {
		t.Fatalf("message %q", res.Message)
	}
	ok := newServer(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), false)
	if res := newSender(t, Config{}, "127.0.0.0/8").Send(context.Background(), &Request{URL: ok.URL}); res.Message != "" {
		t.Fatalf("success has message %q", res.Message)
	}
}

// TestExplainHidesWhatErrorsName feeds explain the errors Go builds around
// addresses, resolvers and certificates, each naming something internal.
func TestExplainHidesWhatErrorsName(t *testing.T) {
	resolver := &net.DNSError{Err: "server misbehaving", Name: "db.internal", Server: "10.255.255.53:53", IsTemporary: true}
	blocked := &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 5), Port: 5432},
		Err: &netguard.BlockedError{IP: netip.MustParseAddr("10.0.0.5"), Reason: "private"}}
	mismatch := x509.HostnameError{Certificate: &x509.Certificate{IPAddresses: []net.IP{net.IPv4(10, 1, 2, 3)}}, Host: "a.example"}
	tests := []struct {
		err     error
		class   string
		message string
	}{
		{blocked, hookgate.ClassSSRFBlocked, "ssrf_blocked: the endpoint's address is not allowed (private, loopback, link-local or otherwise reserved; see delivery.allowed_cidrs)"},
		{resolver, hookgate.ClassDNS, "dns: the host name could not be resolved (the DNS lookup failed)"},
		{&net.DNSError{Err: "i/o timeout", Name: "x", Server: "[fd00::53]:53", IsTimeout: true}, hookgate.ClassTimeout,
			"timeout: the DNS lookup of the host name did not answer in time"},
		{fmt.Errorf("tls: %w", x509.CertificateInvalidError{Reason: x509.Expired, Detail: "at 10.0.0.1"}), hookgate.ClassTLS,
			"tls: the certificate has expired or is not valid yet"},
		{mismatch, hookgate.ClassTLS, "tls: the certificate is not valid for the host name"},
		{&net.OpError{Op: "remote error", Err: errors.New("tls: handshake failure")}, hookgate.ClassTLS, "tls: the endpoint refused the handshake (handshake failure)"},
		{&net.OpError{Op: "remote error", Err: errors.New("tls: 10.0.0.1:443 said no")}, hookgate.ClassTLS, "tls: the endpoint refused the handshake"},
		{errors.New("tls: server selected unsupported protocol version 300"), hookgate.ClassTLS, "tls: the TLS handshake failed"},
		{&net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 9), Port: 80}, Err: errors.New("no route")},
			hookgate.ClassConnect, "connect: the connection failed"},
		{errors.New("net/http: server response headers exceeded 65536 bytes; aborted"), hookgate.ClassConnect, "connect: the answer's headers are too large"},
	}
	for _, tt := range tests {
		class := classify(tt.err)
		got := explain(tt.err, class, 5*time.Second, false)
		if class != tt.class || got != tt.message {
			t.Errorf("%v: %q %q, want %q %q", tt.err, class, got, tt.class, tt.message)
		}
		assertSafe(t, tt.err.Error(), got)
	}
}
