package sender

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/netguard"
	"github.com/hookgate/hookgate/internal/testenv"
)

// newSender returns a Sender whose guard allows the given ranges.
func newSender(t testing.TB, cfg Config, allow ...string) *Sender {
	t.Helper()
	g, err := netguard.New(allow)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Guard = g
	s := New(cfg)
	t.Cleanup(s.CloseIdleConnections)
	return s
}

// newServer starts a loopback receiver whose error log is silenced (TLS
// failures are expected in some tests).
func newServer(t testing.TB, h http.Handler, tls bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tls {
		srv.EnableHTTP2 = true
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv
}

// counter is a handler wrapper that counts the requests reaching it.
type counter struct {
	n atomic.Int64
	h http.HandlerFunc
}

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.n.Add(1)
	if c.h != nil {
		c.h(w, r)
	}
}

func TestDeliveryToA2xxReceiverSucceeds(t *testing.T) {
	type seen struct {
		method string
		body   string
		header http.Header
	}
	got := make(chan seen, 1)
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, string(b), r.Header.Clone()}
		w.Header().Set("X-Receiver", "yes")
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"ok":true}`)
	}), false)
	s := newSender(t, Config{}, "127.0.0.0/8")

	headers := http.Header{
		"Content-Type":        {"application/json"},
		"X-Webhook-Event":     {"contact.created"},
		"X-Webhook-Signature": {"abc123"},
		"Webhook-Id":          {"msg_1"},
	}
	res := s.Send(context.Background(), &Request{URL: srv.URL + "/hook", Body: []byte(`{"event":"contact.created"}`), Headers: headers})

	if res.Err != nil || res.ErrorClass != "" || !res.OK() {
		t.Fatalf("result = %+v, want success", res)
	}
	if res.StatusCode != http.StatusAccepted || string(res.Body) != `{"ok":true}` || res.Truncated {
		t.Fatalf("status %d body %q truncated %v", res.StatusCode, res.Body, res.Truncated)
	}
	if res.Headers["X-Receiver"] != "yes" || res.Headers["X-Multi"] != "a, b" {
		t.Fatalf("response headers = %v", res.Headers)
	}
	if res.Duration <= 0 {
		t.Fatalf("Duration = %v", res.Duration)
	}
	r := <-got
	if r.method != http.MethodPost || r.body != `{"event":"contact.created"}` {
		t.Fatalf("receiver saw %s %q", r.method, r.body)
	}
	for k, v := range headers {
		if r.header.Get(k) != v[0] {
			t.Errorf("receiver header %s = %q, want %q", k, r.header.Get(k), v[0])
		}
	}
	if ua := r.header.Get("User-Agent"); ua != hookgate.UserAgent() {
		t.Errorf("User-Agent = %q, want %q", ua, hookgate.UserAgent())
	}
	if _, ok := headers["User-Agent"]; ok || len(headers) != 4 {
		t.Errorf("Send modified the caller's headers: %v", headers)
	}

	// A User-Agent given by the caller wins.
	headers.Set("User-Agent", "custom/1")
	s.Send(context.Background(), &Request{URL: srv.URL, Headers: headers})
	if ua := (<-got).header.Get("User-Agent"); ua != "custom/1" {
		t.Errorf("User-Agent = %q, want the caller's", ua)
	}
}

func TestNon2xxIsHTTPStatus(t *testing.T) {
	for _, code := range []int{400, 404, 410, 429, 500, 503} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(code)
				io.WriteString(w, "nope")
			}), false)
			res := newSender(t, Config{}, "127.0.0.0/8").Send(context.Background(), &Request{URL: srv.URL})
			if res.StatusCode != code || res.ErrorClass != hookgate.ClassHTTPStatus || res.OK() || res.Err != nil {
				t.Fatalf("result = %+v, want %d http_status", res, code)
			}
			if string(res.Body) != "nope" {
				t.Fatalf("body = %q", res.Body)
			}
		})
	}
}

func TestRedirectIsNotFollowed(t *testing.T) {
	for _, code := range []int{301, 302, 303, 307, 308} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			target := &counter{}
			targetSrv := newServer(t, target, false)
			srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, targetSrv.URL+"/new", code)
			}), false)
			res := newSender(t, Config{}, "127.0.0.0/8").Send(context.Background(), &Request{URL: srv.URL, Body: []byte("x")})
			if res.StatusCode != code || res.ErrorClass != hookgate.ClassRedirect || res.Err != nil {
				t.Fatalf("result = %+v, want %d redirect", res, code)
			}
			if res.Headers["Location"] != targetSrv.URL+"/new" {
				t.Fatalf("Location = %q", res.Headers["Location"])
			}
			if n := target.n.Load(); n != 0 {
				t.Fatalf("the redirect target received %d requests", n)
			}
		})
	}
}

func TestReceiverThatHoldsTheRequestTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}), false)
	t.Cleanup(func() { close(release) }) // runs before srv.Close

	res := newSender(t, Config{}, "127.0.0.0/8").Send(context.Background(), &Request{URL: srv.URL, Timeout: 200 * time.Millisecond})
	if res.ErrorClass != hookgate.ClassTimeout || res.StatusCode != 0 || res.Err == nil {
		t.Fatalf("result = %+v, want timeout", res)
	}
}

func TestCancelledContextEndsTheAttempt(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}), false)
	t.Cleanup(func() { close(release) })

	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-arrived; cancel() }()
	res := newSender(t, Config{}, "127.0.0.0/8").Send(ctx, &Request{URL: srv.URL})
	if res.ErrorClass != hookgate.ClassTimeout || !errors.Is(res.Err, context.Canceled) {
		t.Fatalf("result = %+v, want timeout with context.Canceled", res)
	}
}

// pattern returns the i-th byte of the endless body, so that what is kept
// can be checked byte for byte.
func pattern(i int) byte { return byte('a' + i%26) }

func TestEndlessBodyIsCutAtTheCap(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 32<<10)
		for off := 0; ; off += len(chunk) {
			for i := range chunk {
				chunk[i] = pattern(off + i)
			}
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}), false)
	const maxBody = 10_000
	s := newSender(t, Config{MaxResponseBody: maxBody}, "127.0.0.0/8")
	res := s.Send(context.Background(), &Request{URL: srv.URL, Timeout: 2 * time.Second})
	if res.StatusCode != 200 || res.ErrorClass != "" || !res.Truncated || len(res.Body) != maxBody {
		t.Fatalf("status %d class %q truncated %v len %d, want 200, truncated, %d bytes",
			res.StatusCode, res.ErrorClass, res.Truncated, len(res.Body), maxBody)
	}
	for i, b := range res.Body {
		if b != pattern(i) {
			t.Fatalf("body byte %d = %q, want %q", i, b, pattern(i))
		}
	}
}

func TestStalledBodyEndsAtTheDeadline(t *testing.T) {
	release := make(chan struct{})
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}), false)
	t.Cleanup(func() { close(release) })

	res := newSender(t, Config{}, "127.0.0.0/8").Send(context.Background(), &Request{URL: srv.URL, Timeout: 200 * time.Millisecond})
	if res.StatusCode != 200 || !res.Truncated || string(res.Body) != "partial" {
		t.Fatalf("result = %+v (body %q), want 200, truncated, %q", res, res.Body, "partial")
	}
}

func TestKeepAliveConnectionsAreReused(t *testing.T) {
	var conns atomic.Int64
	const maxBody = 1000
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Longer than the cap, within the drain bound: still reusable.
		w.Write(bytes.Repeat([]byte("z"), maxBody+5000))
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	s := newSender(t, Config{MaxResponseBody: maxBody}, "127.0.0.0/8")
	for i := range 5 {
		res := s.Send(context.Background(), &Request{URL: srv.URL, Body: []byte("x")})
		if !res.OK() || !res.Truncated || len(res.Body) != maxBody {
			t.Fatalf("send %d: %+v", i, res)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections for 5 sequential sends, want 1", n)
	}
}

func TestConnectionRefusedIsConnect(t *testing.T) {
	addr := testenv.FreeAddr(t)
	res := newSender(t, Config{}, "127.0.0.0/8").Send(context.Background(), &Request{URL: "http://" + addr + "/"})
	if res.ErrorClass != hookgate.ClassConnect || res.Err == nil || res.StatusCode != 0 {
		t.Fatalf("result = %+v, want connect", res)
	}
}

func TestUnresolvableHostIsDNS(t *testing.T) {
	res := newSender(t, Config{}).Send(context.Background(), &Request{URL: "https://nonexistent.invalid/hook"})
	if res.ErrorClass != hookgate.ClassDNS || res.Err == nil {
		t.Fatalf("result = %+v, want dns", res)
	}
}

func TestMalformedURLIsConnect(t *testing.T) {
	for _, u := range []string{"://nope", "ftp://example.com/", ""} {
		res := newSender(t, Config{}).Send(context.Background(), &Request{URL: u})
		if res.ErrorClass != hookgate.ClassConnect || res.Err == nil {
			t.Errorf("URL %q: result = %+v, want connect", u, res)
		}
	}
}

func TestUntrustedCertificateIsTLS(t *testing.T) {
	recv := &counter{}
	srv := newServer(t, recv, true)
	s := newSender(t, Config{}, "127.0.0.0/8")
	res := s.Send(context.Background(), &Request{URL: srv.URL})
	if res.ErrorClass != hookgate.ClassTLS || res.Err == nil {
		t.Fatalf("result = %+v, want tls", res)
	}
	if recv.n.Load() != 0 {
		t.Fatal("the receiver got a request over an untrusted connection")
	}

	// Trusting the test certificate, the same receiver is reached over HTTP/2.
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	s.transport.TLSClientConfig.RootCAs = roots
	var proto atomic.Int64
	recv.h = func(w http.ResponseWriter, r *http.Request) { proto.Store(int64(r.ProtoMajor)) }
	res = s.Send(context.Background(), &Request{URL: srv.URL})
	if !res.OK() {
		t.Fatalf("trusted: result = %+v", res)
	}
	if proto.Load() != 2 {
		t.Errorf("protocol HTTP/%d, want HTTP/2", proto.Load())
	}
}

func TestGuardRefusesLoopbackReceiver(t *testing.T) {
	recv := &counter{}
	srv := newServer(t, recv, false)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	s := newSender(t, Config{}) // nothing allowed
	for _, u := range []string{srv.URL, "http://localhost:" + port + "/", "http://[::ffff:127.0.0.1]:" + port + "/"} {
		res := s.Send(context.Background(), &Request{URL: u, Body: []byte("secret")})
		if res.ErrorClass != hookgate.ClassSSRFBlocked || !netguard.IsBlocked(res.Err) || res.StatusCode != 0 {
			t.Errorf("%s: result = %+v, want ssrf_blocked", u, res)
		}
	}
	if n := recv.n.Load(); n != 0 {
		t.Fatalf("the receiver got %d requests", n)
	}
}

func TestRetryAfterIsReadOn429And503(t *testing.T) {
	date := time.Now().Add(2 * time.Hour).UTC().Format(http.TimeFormat)
	tests := []struct {
		code     int
		header   string
		min, max time.Duration
	}{
		{429, "120", 120 * time.Second, 120 * time.Second},
		{503, "7", 7 * time.Second, 7 * time.Second},
		{503, date, 2*time.Hour - 2*time.Second, 2 * time.Hour},
		{429, "", 0, 0},
		{429, "soon", 0, 0},
		{500, "120", 0, 0}, // only 429 and 503 carry a meaningful Retry-After
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d %s", tt.code, tt.header), func(t *testing.T) {
			srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.header != "" {
					w.Header().Set("Retry-After", tt.header)
				}
				w.WriteHeader(tt.code)
			}), false)
			res := newSender(t, Config{}, "127.0.0.0/8").Send(context.Background(), &Request{URL: srv.URL})
			if res.StatusCode != tt.code || res.RetryAfter < tt.min || res.RetryAfter > tt.max {
				t.Fatalf("status %d RetryAfter %v, want %d and [%v, %v]", res.StatusCode, res.RetryAfter, tt.code, tt.min, tt.max)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 17, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"0", 0},
		{"1", time.Second},
		{" 30 ", 30 * time.Second},
		{"3600", time.Hour},
		{"99999999999999999999999", maxRetryAfter},
		{"999999999999", maxRetryAfter},
		{"-5", 0},
		{"1.5", 0},
		{"12abc", 0},
		{"", 0},
		{"Tue, 17 Mar 2026 12:05:00 GMT", 5 * time.Minute},    // IMF-fixdate
		{"Tuesday, 17-Mar-26 12:00:30 GMT", 30 * time.Second}, // RFC 850
		{"Tue Mar 17 13:00:00 2026", time.Hour},               // asctime
		{"Tue, 17 Mar 2026 11:00:00 GMT", 0},                  // past
		{"Tue, 17 Mar 2099 11:00:00 GMT", maxRetryAfter},
		{"tomorrow", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "Tue, 17 Mar 2026 12:05:00 GMT", "", "9999999999999999999999", "0x10"} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 17, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if d := parseRetryAfter(s, now); d < 0 || d > maxRetryAfter {
			t.Fatalf("parseRetryAfter(%q) = %v, out of [0, %v]", s, d, maxRetryAfter)
		}
	})
}

func TestResponseHeadersAreBounded(t *testing.T) {
	long := strings.Repeat("v", 1100) // 50 of them stay under the 64 KiB header bound
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := range 50 {
			w.Header().Set(fmt.Sprintf("X-H-%02d", i), long)
		}
		w.Header().Set("Location", "https://example.com/moved")
		w.Header().Set("Retry-After", "5")
		w.Header().Set("Zz-Last", "é"+strings.Repeat("é", 600)) // 2-byte runes across the cut
		w.WriteHeader(http.StatusTooManyRequests)
	}), false)
	res := newSender(t, Config{}, "127.0.0.0/8").Send(context.Background(), &Request{URL: srv.URL})
	if len(res.Headers) != MaxResultHeaders {
		t.Fatalf("%d headers kept, want %d", len(res.Headers), MaxResultHeaders)
	}
	if res.Headers["Location"] != "https://example.com/moved" || res.Headers["Retry-After"] != "5" {
		t.Fatalf("Location/Retry-After not kept: %v", res.Headers)
	}
	for k, v := range res.Headers {
		if len(v) > MaxHeaderValue {
			t.Fatalf("header %s kept %d bytes", k, len(v))
		}
	}
	if v := res.Headers["X-H-00"]; len(v) != MaxHeaderValue {
		t.Fatalf("X-H-00 kept %d bytes, want %d", len(v), MaxHeaderValue)
	}
	if res.RetryAfter != 5*time.Second {
		t.Fatalf("RetryAfter = %v", res.RetryAfter)
	}
}

func TestHeaderValueCutsAtRuneBoundary(t *testing.T) {
	v := headerValue([]string{"a" + strings.Repeat("é", 600)}) // 'a' shifts runes to odd offsets
	if len(v) > MaxHeaderValue || !strings.HasPrefix(v, "aé") || !utf8ValidString(v) {
		t.Fatalf("cut value: %d bytes, valid UTF-8 %v", len(v), utf8ValidString(v))
	}
}

func utf8ValidString(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func TestClassifyWrappedErrors(t *testing.T) {
	blocked := (&netguard.BlockedError{Reason: "loopback"})
	tests := []struct {
		err  error
		want string
	}{
		{context.DeadlineExceeded, hookgate.ClassTimeout},
		{fmt.Errorf("post: %w", context.Canceled), hookgate.ClassTimeout},
		{&net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, hookgate.ClassDNS},
		{&net.DNSError{Err: "i/o timeout", Name: "x", IsTimeout: true}, hookgate.ClassTimeout},
		{&net.OpError{Op: "dial", Err: blocked}, hookgate.ClassSSRFBlocked},
		{&net.OpError{Op: "dial", Err: errors.New("connect: connection refused")}, hookgate.ClassConnect},
		{fmt.Errorf("x: %w", x509.UnknownAuthorityError{}), hookgate.ClassTLS},
		{x509.HostnameError{Certificate: &x509.Certificate{}, Host: "h"}, hookgate.ClassTLS},
		{&net.OpError{Op: "remote error", Err: errors.New("tls: handshake failure")}, hookgate.ClassTLS},
		{errors.New("tls: server selected unsupported protocol version 300"), hookgate.ClassTLS},
		{io.ErrUnexpectedEOF, hookgate.ClassConnect},
	}
	for _, tt := range tests {
		if got := classify(tt.err); got != tt.want {
			t.Errorf("classify(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
