package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/auth"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/testenv"
)

// TestServeDevDeliversToALoopbackHTTPReceiver is the README's first hour:
// `hookgate serve --dev` (what `make run` starts) with a config that listens
// on every interface binds 127.0.0.1 only, says so in its banner, and
// delivers to an http:// receiver on loopback with no other setting; the
// same config without --dev refuses that URL naming delivery.allow_http.
func TestServeDevDeliversToALoopbackHTTPReceiver(t *testing.T) {
	got := make(chan string, 4)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- string(b)
	}))
	defer rcv.Close()

	path, addr, _, _ := serveConfig(t, "0.0.0.0")
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := auth.Mint(cfg.Auth, hookgate.Principal{Subject: "alice", Tenant: "acme",
		Roles: []string{hookgate.RoleAdmin, hookgate.RolePublisher}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	webhook := `{"name":"ERP Sync","endpoints":[{"url":"` + rcv.URL + `/hook"}],"events":["contact.*"]}`

	var stderr testenv.SyncBuffer
	defer startServe(t, addr, &stderr, "serve", "--dev", "--config", path)()

	banner := stderr.String()
	if !strings.Contains(banner, "DEVELOPMENT MODE") || !strings.Contains(banner, "listening on "+addr+" only") {
		t.Fatalf("the banner does not announce development mode on %s:\n%s", addr, banner)
	}
	// Bound to loopback only: another address of this machine is refused.
	if ip := nonLoopbackIP(); ip != "" {
		_, port, _ := net.SplitHostPort(addr)
		if c, err := net.DialTimeout("tcp", net.JoinHostPort(ip, port), 2*time.Second); err == nil {
			c.Close()
			t.Fatalf("serve --dev accepts connections on %s", ip)
		}
	}

	if code, body := call(t, "POST", "http://"+addr+"/v1/webhooks", tok, webhook); code != 201 {
		t.Fatalf("create a webhook to %s in development mode: %d %s", rcv.URL, code, body)
	}
	if code, body := call(t, "POST", "http://"+addr+"/v1/events", tok, `{"type":"contact.created","data":{"id":"c_1","first_name":"Ada"}}`); code != 202 {
		t.Fatalf("publish: %d %s", code, body)
	}
	select {
	case b := <-got:
		if !strings.Contains(b, `"first_name":"Ada"`) {
			t.Fatalf("the receiver got %s", b)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the loopback receiver got nothing")
	}
}

// TestHTTPSRefusalNamesTheSetting: without --dev an http:// endpoint is
// refused with a message naming delivery.allow_http and --dev, and a
// scheme other than http(s) is refused as unsupported, not as "use HTTPS".
func TestHTTPSRefusalNamesTheSetting(t *testing.T) {
	_, err := hookgate.EndpointURL("http://127.0.0.1:9000/hook", false)
	if err == nil || !strings.Contains(err.Error(), "delivery.allow_http") || !strings.Contains(err.Error(), "--dev") {
		t.Fatalf("http refused with %v", err)
	}
	_, err = hookgate.EndpointURL("ftp://files.example.com/hook", true)
	if err == nil || !strings.Contains(err.Error(), `scheme "ftp" is not supported`) || strings.Contains(err.Error(), "HTTPS") {
		t.Fatalf("ftp refused with %v", err)
	}
}

func call(t *testing.T, method, url, tok, body string) (int, string) {
	t.Helper()
	r := testenv.Do(t, method, url, tok, body)
	var v any
	if json.Unmarshal(r.Body, &v) != nil {
		t.Fatalf("%s %s answered non-JSON: %s", method, url, r.Body)
	}
	return r.Status, string(r.Body)
}

// nonLoopbackIP is an IPv4 address of this machine other than loopback, or
// "" when it has none.
func nonLoopbackIP() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return ""
}
