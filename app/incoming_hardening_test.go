package app_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/app"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/incoming"
	"github.com/hookgate/hookgate/internal/testenv"
)

// allocatedDuring is how many bytes the whole process (hookgate runs in
// it) allocated while f ran: an upper bound on what any of it buffered.
func allocatedDuring(f func()) uint64 {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// incomingBombSize is what the gzip bomb inflates to.
const incomingBombSize = 128 << 20

var incomingGzipBomb = sync.OnceValue(func() []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zeros := make([]byte, 1<<20)
	for range incomingBombSize / len(zeros) {
		zw.Write(zeros)
	}
	zw.Close()
	return buf.Bytes()
})

// A compressed body is forwarded as the caller sent it, never inflated on
// the way: a gzip bomb costs hookgate its compressed size.
func TestIncomingForwardsACompressedBodyAsSent(t *testing.T) {
	e := startIncoming(t, nil)
	w := e.create(e.token("acme", "admin"), map[string]any{"name": "gz", "scopes": []string{"crm"}})
	bomb := incomingGzipBomb()
	var r response
	alloc := allocatedDuring(func() {
		r = e.do("POST", e.path(w)+"/crm/v1/entities/leads", "", bomb, "Content-Encoding", "gzip")
	})
	r.must(t, 201)
	calls := e.crm.Calls()
	if len(calls) != 1 || calls[0].Body != string(bomb) || calls[0].Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("the upstream did not get the caller's %d gzip bytes as sent (%d calls)", len(bomb), len(calls))
	}
	t.Logf("a %d-byte gzip body inflating to %d MiB: %.1f MiB allocated in the process", len(bomb), incomingBombSize>>20, float64(alloc)/(1<<20))
	if alloc > 32<<20 {
		t.Fatalf("forwarding a %d-byte gzip body allocated %d MiB: it was inflated", len(bomb), alloc>>20)
	}
}

// An incoming transform reads the message, so hookgate inflates a gzip or
// deflate body for it, within incoming.max_request_body (then 413); any
// other encoding gets 415.
func TestIncomingTransformInflatesGzipWithinTheLimit(t *testing.T) {
	bin := cloudcxPlugin(t)
	e := startIncoming(t, func(c *config.Config) {
		c.Plugins = []config.Plugin{{Name: "cloudcx", Path: bin}}
		c.PluginsRequired = true
	})
	admin := e.token("acme", "admin")
	w := e.create(admin, map[string]any{"name": "CloudCX", "scopes": []string{"crm"}, "transform": "cloudcx"})
	msg := `{"event":"ContactCreated","contacts":[{"id":"c1","firstName":"Allen","email":"allen@example.com"}]}`
	e.do("POST", e.path(w), "", gzipped(t, []byte(msg)), "Content-Encoding", "gzip").must(t, 201)
	if calls := e.crm.Calls(); len(calls) != 1 || !strings.Contains(calls[0].Body, "allen@example.com") {
		t.Fatalf("the gzip message did not become a contact: %+v", calls)
	}

	var r response
	alloc := allocatedDuring(func() {
		r = e.do("POST", e.path(w), "", incomingGzipBomb(), "Content-Encoding", "gzip")
	})
	r.apiErr(t, 413, hookgate.ETOOLARGE)
	t.Logf("gzip bomb of %d MiB to a transform: %.1f MiB allocated in the process", incomingBombSize>>20, float64(alloc)/(1<<20))
	if alloc > 32<<20 {
		t.Fatalf("refusing a gzip bomb allocated %d MiB", alloc>>20)
	}
	e.do("POST", e.path(w), "", msg, "Content-Encoding", "br").apiErr(t, 415, hookgate.EUNSUPPORTED)
	e.do("POST", e.path(w), "", gzipped(t, gzipped(t, []byte(msg))), "Content-Encoding", "gzip, gzip").apiErr(t, 415, hookgate.EUNSUPPORTED)
	e.do("POST", e.path(w), "", "not gzip", "Content-Encoding", "gzip").apiErr(t, 400, hookgate.EMALFORMED)
	if n := len(e.crm.Calls()); n != 1 {
		t.Fatalf("refused bodies reached the upstream (%d calls)", n)
	}
}

// rawAnswer answers on the hijacked connection with neither Content-Length
// nor chunked encoding: the body ends when the connection closes.
func rawAnswer(w http.ResponseWriter, n int) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n")
	buf.Write(make([]byte, n))
	buf.Flush()
}

// An upstream answer is streamed within incoming.max_response_body: one
// announcing more is refused (502) before it is read, one in chunks is cut
// at the limit; either way memory stays far below the answer's size, and
// the upstream connection it leaves half read is not reused.
func TestIncomingHugeAnswersAreStreamedWithinTheLimit(t *testing.T) {
	const huge, limit = 200 << 20, 1 << 20
	big := newCRMService(t, "big")
	big.handle = func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big/small":
			w.Write([]byte(`{"ok":true}`))
			return
		case "/big/close-small":
			rawAnswer(w, 1000)
			return
		case "/big/close-large":
			rawAnswer(w, incoming.BufferedAnswer+1)
			return
		case "/big/length":
			w.Header().Set("Content-Length", strconv.Itoa(huge))
		}
		// Generated, not stored: zeros until the answer is whole or the
		// reader is gone.
		w.WriteHeader(200)
		chunk := make([]byte, 64<<10)
		for sent := 0; sent < huge; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}
	e := startIncoming(t, func(c *config.Config) {
		c.Incoming.Scopes["big"] = config.Scope{Prefixes: []string{"/big/"}, Upstream: big.srv.URL}
		c.Incoming.MaxResponseBody = limit
	})
	base := e.path(e.create(e.token("acme", "admin"), map[string]any{"name": "big", "scopes": []string{"big"}}))

	var r response
	alloc := allocatedDuring(func() { r = e.do("GET", base+"/big/length", "", nil) })
	r.apiErr(t, 502, hookgate.EBADGATEWAY)
	t.Logf("200 MiB answer with a Content-Length: %.1f MiB allocated in the process", float64(alloc)/(1<<20))
	if alloc > 32<<20 {
		t.Fatalf("refusing a 200 MiB answer allocated %d MiB: it was read", alloc>>20)
	}

	var n int64
	var readErr error
	alloc = allocatedDuring(func() {
		resp, err := http.Get(e.base + base + "/big/chunked")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.ContentLength != -1 {
			t.Fatalf("chunked answer: status %d, length %d", resp.StatusCode, resp.ContentLength)
		}
		n, readErr = io.Copy(io.Discard, resp.Body)
	})
	t.Logf("200 MiB chunked answer: %d bytes passed, then %v; %.1f MiB allocated in the process", n, readErr, float64(alloc)/(1<<20))
	if readErr == nil || n > limit {
		t.Fatalf("a 200 MiB chunked answer passed %d bytes and ended with %v; want it cut at %d bytes", n, readErr, limit)
	}
	if alloc > 32<<20 {
		t.Fatalf("streaming a 200 MiB chunked answer allocated %d MiB", alloc>>20)
	}
	// The connections left half read were closed, not pooled: the next
	// calls to the same upstream read their own answers.
	for i := range 3 {
		if r := e.do("GET", base+"/big/small", "", nil); r.Status != 200 || string(r.Body) != `{"ok":true}` {
			t.Fatalf("call %d after the cut: %d %q", i+1, r.Status, r.Body)
		}
	}
	// An answer delimited by the connection's close cannot be streamed by
	// the client: read whole up to incoming.BufferedAnswer, else 502.
	if r := e.do("GET", base+"/big/close-small", "", nil).must(t, 200); len(r.Body) != 1000 {
		t.Fatalf("close-delimited answer: %d bytes, want 1000", len(r.Body))
	}
	r = e.do("GET", base+"/big/close-large", "", nil)
	r.apiErr(t, 502, hookgate.EBADGATEWAY)
	if !strings.Contains(string(r.Body), "neither a Content-Length nor chunked") {
		t.Fatalf("close-delimited answer over the buffer: %s", r.Body)
	}
}

// rawRequest sends text as is and reads the answer.
func rawRequest(t *testing.T, addr, text string) response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, text); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// An incoming token is the whole credential of its webhook: no 5xx (502,
// 503, 504), no error answer, no log line, no metric and no request log
// entry holds it.
func TestIncomingTokensAreNeverLoggedCountedOrShown(t *testing.T) {
	rs := testenv.StartRedisServer(t, "")
	slow := newCRMService(t, "slow")
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	slow.handle = func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
	closed := "http://" + testenv.FreeAddr(t)
	e := startIncoming(t, func(c *config.Config) {
		c.Redis.Addr = rs.Addr
		c.Incoming.Scopes["slow"] = config.Scope{Prefixes: []string{"/slow/"}, Upstream: slow.srv.URL}
		c.Incoming.Scopes["down"] = config.Scope{Prefixes: []string{"/down/"}, Upstream: closed}
		c.Incoming.Timeout = hookgate.Duration(300 * time.Millisecond)
	})
	admin := e.token("acme", "admin")
	w := e.create(admin, map[string]any{"name": "faults", "scopes": []string{"slow", "down", "crm"}})
	base := e.path(w)
	tok := strings.TrimPrefix(base, "/in/")
	var shown []string
	show := func(r response) response {
		shown = append(shown, fmt.Sprint(r.Status, r.Header, string(r.Body)))
		return r
	}

	show(e.do("GET", base+"/down/v1/x?a=1", "", nil)).apiErr(t, 502, hookgate.EBADGATEWAY)
	show(e.do("GET", base+"/slow/v1/x", "", nil)).apiErr(t, 504, hookgate.ETIMEOUT)
	// A request the HTTP server cannot parse: fasthttp's error quotes it.
	show(rawRequest(t, e.app.Addr(), "GET "+base+"/crm/v1/x HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n")).apiErr(t, 400, hookgate.EMALFORMED)
	var page struct{ Data []hookgate.IncomingRequestLog }
	testenv.Eventually(t, 5*time.Second, "the request log", func() bool {
		show(e.do("GET", "/v1/incoming-webhooks/"+w.ID+"/requests", admin, nil).must(t, 200)).json(t, &page)
		return len(page.Data) == 2
	})

	rs.Kill()
	show(e.do("GET", base+"/crm/v1/x", "", nil)).apiErr(t, 503, hookgate.EUNAVAILABLE)
	metrics := show(e.do("GET", "/metrics", "", nil).must(t, 200))
	if !strings.Contains(string(metrics.Body), `route="/in/*"`) {
		t.Fatalf("no /in/ series in /metrics:\n%s", metrics.Body)
	}

	logs := e.logs.String()
	if strings.Contains(logs, tok) {
		for _, line := range strings.Split(logs, "\n") {
			if strings.Contains(line, tok) {
				t.Errorf("logged: %s", line)
			}
		}
		t.Fatal("the token is in the log")
	}
	for _, want := range []string{"/in/{token}/down/v1/x", "/in/{token}/slow/v1/x", "/in/{token}/crm/v1/x"} {
		if !strings.Contains(logs, `"path":"`+want+`"`) {
			t.Errorf("no log line for %s (redacted)", want)
		}
	}
	for _, s := range shown {
		if strings.Contains(s, tok) {
			t.Fatalf("the token is in an answer: %s", s)
		}
	}
}

// An unknown token, a disabled webhook and a path outside the scopes get
// the same answer, and share the same rate limit: a caller cannot tell them
// apart by the 403, nor by when a 429 comes.
func TestIncomingDenialsAnswerAlikeAndAreRateLimitedAlike(t *testing.T) {
	e := startIncoming(t, func(c *config.Config) { c.Incoming.Rate, c.Incoming.Burst = 0.001, 2 })
	admin := e.token("acme", "admin")
	on := e.create(admin, map[string]any{"name": "on", "scopes": []string{"crm"}})
	off := e.create(admin, map[string]any{"name": "off", "scopes": []string{"crm"}, "enabled": false})
	kinds := []struct{ name, path string }{
		{"unknown token", "/in/" + hookgate.NewToken() + "/crm/v1/x"},
		{"disabled webhook", e.path(off) + "/crm/v1/x"},
		{"path outside the scopes", e.path(on) + "/tasks/v1/x"},
	}
	// What a caller can compare: status, body (less the request id, which
	// is every answer's own), header names and Retry-After.
	answer := func(r response) string {
		body := string(r.Body)
		var e struct{ Error map[string]any }
		if json.Unmarshal(r.Body, &e) == nil && e.Error != nil {
			delete(e.Error, "request_id")
			b, _ := json.Marshal(e)
			body = string(b)
		}
		var names []string
		for k := range r.Header {
			if k != "Date" && k != "X-Request-Id" {
				names = append(names, k)
			}
		}
		slices.Sort(names)
		return fmt.Sprintf("%d %s %v Retry-After=%q", r.Status, body, names, r.Header.Get("Retry-After"))
	}
	var first []string
	for _, k := range kinds {
		var got []string
		for range 3 {
			got = append(got, answer(e.do("GET", k.path, "", nil)))
		}
		t.Logf("%s: %q", k.name, got)
		if !strings.HasPrefix(got[0], "403 "+deniedBody) || !strings.HasPrefix(got[2], "429 ") {
			t.Errorf("%s: %q; want 403 %s twice (the burst), then 429", k.name, got, deniedBody)
		}
		if first == nil {
			first = got
		} else if !slices.Equal(got, first) {
			t.Errorf("%s answers %q; the %s answers %q", k.name, got, kinds[0].name, first)
		}
	}
}

// The caller's headers reach the upstream only when they are on the
// allow-list; forwarding headers are hookgate's own, so a GET-only scope
// cannot be turned into a DELETE, and the caller cannot pose as another
// host, scheme or address.
func TestIncomingForwardsOnlyAllowListedHeaders(t *testing.T) {
	steering := map[string]string{
		"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https", "X-Forwarded-Ssl": "on",
		"X-Url-Scheme": "https", "X-Forwarded-For": "6.6.6.6", "X-Forwarded-Port": "443",
		"Forwarded": "for=6.6.6.6;proto=https", "X-Real-Ip": "6.6.6.6",
		"X-Http-Method-Override": "DELETE", "X-Method-Override": "DELETE", "X-Http-Method": "DELETE",
		"X-Original-Url": "/admin/v1/users", "X-Rewrite-Url": "/admin/v1/users",
		"True-Client-Ip": "6.6.6.6", "Client-Ip": "6.6.6.6", "X-Client-Ip": "6.6.6.6",
		"X-Custom": "not listed",
	}
	allowed := map[string]string{
		"Accept": "application/json", "Accept-Language": "uk", "User-Agent": "form-builder/1.0",
		"Idempotency-Key": "k-1", "If-None-Match": `"v1"`,
	}
	var headers []string
	for _, m := range []map[string]string{steering, allowed} {
		for k, v := range m {
			headers = append(headers, k, v)
		}
	}
	e := startIncoming(t, nil)
	w := e.create(e.token("acme", "admin"), map[string]any{"name": "headers", "scopes": []string{"chats"}})
	e.do("GET", e.path(w)+"/messenger/v1/chats", "", nil, headers...).must(t, 201)
	calls := e.chats.Calls()
	if len(calls) != 1 || calls[0].Method != "GET" {
		t.Fatalf("chats received %+v", calls)
	}
	got := calls[0].Header
	own := map[string]string{
		"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "http",
		"X-Forwarded-Host": strings.TrimPrefix(e.base, "http://"),
	}
	for k, v := range steering {
		if want, ok := own[k]; ok {
			if got.Get(k) != want || len(got.Values(k)) != 1 {
				t.Errorf("%s: upstream got %q, want hookgate's own %q", k, got.Values(k), want)
			}
			continue
		}
		if vs := got.Values(k); len(vs) != 0 {
			t.Errorf("the caller's %s: %s reached the upstream as %q", k, v, vs)
		}
	}
	for k, v := range allowed {
		if got.Get(k) != v {
			t.Errorf("%s: upstream got %q, want the caller's %q", k, got.Get(k), v)
		}
	}

	// An operator can forward more, but never a header that steers.
	e2 := startIncoming(t, func(c *config.Config) { c.Incoming.ForwardHeaders = []string{"x-custom"} })
	w2 := e2.create(e2.token("acme", "admin"), map[string]any{"name": "custom", "scopes": []string{"crm"}})
	e2.do("GET", e2.path(w2)+"/crm/v1/x", "", nil, "X-Custom", "listed", "X-Other", "not listed").must(t, 201)
	if h := e2.crm.Calls()[0].Header; h.Get("X-Custom") != "listed" || h.Get("X-Other") != "" {
		t.Fatalf("with forward_headers [x-custom]: X-Custom %q, X-Other %q", h.Get("X-Custom"), h.Get("X-Other"))
	}
	for _, name := range []string{"X-Forwarded-Host", "X-HTTP-Method-Override", "Authorization", "X-Original-URL", "bad name"} {
		cfg := testConfig(t)
		cfg.Incoming.ForwardHeaders = []string{name}
		if _, err := app.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil || !strings.Contains(err.Error(), "incoming.forward_headers") {
			t.Errorf("forward_headers [%s]: %v; want refused, naming incoming.forward_headers", name, err)
		}
	}
}

// X-Forwarded-For, -Proto and -Host are believed only from a peer in
// server.trusted_proxies; the client's address is then the nearest one in
// X-Forwarded-For that is not a trusted proxy.
func TestIncomingBelievesForwardingHeadersOnlyFromTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		name                string
		trusted             []string
		proto, host, client string
	}{
		{"no trusted proxies", nil, "http", "", "127.0.0.1"},
		{"loopback trusted", []string{"127.0.0.0/8"}, "https", "hooks.example.com", "203.0.113.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startIncoming(t, func(c *config.Config) { c.Server.TrustedProxies = tc.trusted })
			admin := e.token("acme", "admin")
			w := e.create(admin, map[string]any{"name": "behind a proxy", "scopes": []string{"crm"}})
			e.do("GET", e.path(w)+"/crm/v1/x", "", nil, "X-Forwarded-Proto", "https", "X-Forwarded-Host", "hooks.example.com",
				"X-Forwarded-For", "198.51.100.7, 203.0.113.9, 127.0.0.2").must(t, 201)
			host := tc.host
			if host == "" {
				host = strings.TrimPrefix(e.base, "http://")
			}
			h := e.crm.Calls()[0].Header
			if h.Get("X-Forwarded-Proto") != tc.proto || h.Get("X-Forwarded-Host") != host || h.Get("X-Forwarded-For") != tc.client {
				t.Fatalf("upstream got X-Forwarded-Proto %q, -Host %q, -For %q; want %q, %q, %q",
					h.Get("X-Forwarded-Proto"), h.Get("X-Forwarded-Host"), h.Get("X-Forwarded-For"), tc.proto, host, tc.client)
			}
			// A scheme that is neither http nor https is not believed.
			e.do("GET", e.path(w)+"/crm/v1/y", "", nil, "X-Forwarded-Proto", "javascript").must(t, 201)
			if p := e.crm.Calls()[1].Header.Get("X-Forwarded-Proto"); p != "http" {
				t.Fatalf("X-Forwarded-Proto: javascript became %q", p)
			}
			var page struct{ Data []hookgate.IncomingRequestLog }
			testenv.Eventually(t, 5*time.Second, "the request log", func() bool {
				e.do("GET", "/v1/incoming-webhooks/"+w.ID+"/requests", admin, nil).must(t, 200).json(t, &page)
				return len(page.Data) == 2
			})
			if ip := page.Data[1].CallerIP; ip != tc.client {
				t.Fatalf("request log caller_ip %q, want %q", ip, tc.client)
			}
		})
	}
}
