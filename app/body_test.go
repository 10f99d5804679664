package app_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/testenv"
)

// bombSize is what the gzip bomb below decodes to. Small enough that a
// failing test does not take the machine down, large enough that a decoded
// body cannot hide in the allocation noise of a request.
const bombSize = 64 << 20

// gzipBomb is bombSize zero bytes gzipped twice: a few hundred bytes on
// the wire, sent with Content-Encoding "gzip, gzip".
func gzipBomb(t *testing.T) []byte {
	t.Helper()
	var inner bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&inner, gzip.BestCompression)
	zeros := make([]byte, 1<<20)
	for range bombSize / len(zeros) {
		if _, err := zw.Write(zeros); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	var outer bytes.Buffer
	zw, _ = gzip.NewWriterLevel(&outer, gzip.BestCompression)
	if _, err := zw.Write(inner.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return outer.Bytes()
}

// allocatedBy returns how many bytes the process allocated while fn ran:
// the gateway runs in this process, so a body it decodes shows here.
func allocatedBy(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Every route of the route table, whatever its method, refuses a compressed
// body with 415 before anything decodes it: a few hundred bytes that decode
// to 64 MB allocate nothing near that. Routes are taken from the table, so a
// route added later is covered without editing this test.
func TestEncodedBodiesAreRefusedOnEveryRouteBeforeDecoding(t *testing.T) {
	e := startIncoming(t, nil)
	admin, pub := e.token("acme", "admin"), e.token("acme", "publisher")
	w := e.createWebhook(admin, hook("bomb"))
	in := e.create(admin, map[string]any{"name": "bomb", "scopes": []string{"crm"}})
	bomb := gzipBomb(t)
	t.Logf("bomb: %d bytes on the wire, %d decoded", len(bomb), bombSize)

	tested, worst := 0, uint64(0)
	for _, rt := range e.app.Gateway.Routes() {
		method, path, _ := strings.Cut(rt, " ")
		if strings.HasPrefix(path, "/in/") {
			continue // forwarded raw: TestIncomingURLsForwardEncodedBodiesRaw
		}
		if method == "ANY" {
			method = "POST"
		}
		switch {
		case strings.HasPrefix(path, "/v1/incoming-webhooks/:id"):
			path = strings.Replace(path, ":id", in.ID, 1)
		default:
			path = strings.Replace(path, ":id", w.ID, 1)
		}
		path = strings.Replace(path, "*", "index.html", 1)
		token := admin
		if strings.HasPrefix(path, "/v1/events") {
			token = pub
		}
		var r response
		alloc := allocatedBy(func() {
			r = e.do(method, path, token, bomb, "Content-Encoding", "gzip, gzip")
		})
		ae := r.apiErr(t, http.StatusUnsupportedMediaType, hookgate.EUNSUPPORTED)
		if !strings.Contains(ae.Error.Message, "gzip") {
			t.Fatalf("%s %s: message %q does not name the encoding", method, path, ae.Error.Message)
		}
		if alloc > bombSize/8 {
			t.Fatalf("%s %s: the request allocated %d MB; the body was decoded", method, path, alloc>>20)
		}
		tested++
		worst = max(worst, alloc)
	}
	t.Logf("%d routes refused the bomb; the most a request allocated: %d KB", tested, worst>>10)
	if tested < 20 {
		t.Fatalf("only %d routes tested; the route table lists more", tested)
	}

	// Any listed coding, alone or stacked, in any case; identity is no encoding.
	rotate := "/v1/webhooks/" + w.ID + "/rotate-secret"
	for _, enc := range []string{"gzip", "deflate", "br", "x-gzip", "compress", "GZip", "identity, gzip", "br,gzip"} {
		r := e.do("POST", rotate, admin, bomb, "Content-Encoding", enc)
		if ae := r.apiErr(t, http.StatusUnsupportedMediaType, hookgate.EUNSUPPORTED); !strings.Contains(ae.Error.Message, enc) {
			t.Fatalf("Content-Encoding %q: message %q does not name it", enc, ae.Error.Message)
		}
	}
	// Two header lines: Fiber decodes by the last one, so every line counts.
	r := e.raw("POST", rotate, "Authorization", "Bearer "+admin, "Content-Type", "application/json",
		"Content-Encoding", "identity", "Content-Encoding", "gzip", "Content-Length", "0")
	r.apiErr(t, http.StatusUnsupportedMediaType, hookgate.EUNSUPPORTED)
	e.do("POST", rotate, admin, map[string]any{"grace_period": "0s"}, "Content-Encoding", "identity").must(t, 200)
}

// The encoding guard is the API's: incoming webhook URLs are proxied to the
// CRM byte for byte, compressed bodies included.
func TestIncomingURLsForwardEncodedBodiesRaw(t *testing.T) {
	e := startIncoming(t, nil)
	admin := e.token("acme", "admin")
	in := e.create(admin, map[string]any{"name": "gz", "scopes": []string{"crm"}})
	var body bytes.Buffer
	zw := gzip.NewWriter(&body)
	_, _ = zw.Write([]byte(`{"title":"New lead"}`))
	_ = zw.Close()
	e.do("POST", e.path(in)+"/crm/v1/entities/leads", "", body.Bytes(), "Content-Encoding", "gzip").must(t, 201)
	calls := e.crm.Calls()
	if len(calls) != 1 || calls[0].Body != body.String() || calls[0].Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("the CRM got %d calls; want the gzip body unchanged with its Content-Encoding", len(calls))
	}
}

// A request whose headers do not fit the read buffer is the client's
// fault: 431 in the API's error shape, and nothing at ERROR level (anyone
// can send one, with no credentials).
func TestOversizeRequestHeaderIs431WithoutAnErrorLog(t *testing.T) {
	h := start(t, nil)
	for _, size := range []int{20 << 10, 40 << 10, 64 << 10} {
		r := sendWithHeader(t, h, size)
		ae := r.apiErr(t, http.StatusRequestHeaderFieldsTooLarge, hookgate.EHDRTOOLARGE)
		if !strings.Contains(ae.Error.Message, "header") || !strings.Contains(ae.Error.Message, "16384") {
			t.Fatalf("message %q", ae.Error.Message)
		}
	}
	if logs := h.logs.String(); strings.Contains(logs, `"level":"ERROR"`) {
		t.Fatalf("an oversize header was logged as an error:\n%s", logs)
	}
	h.do("GET", "/healthz", "", nil).must(t, 200)

	// server.header_limit sets the bound.
	big := start(t, func(c *config.Config) { c.Server.HeaderLimit = 128 << 10 })
	sendWithHeader(t, big, 64<<10).must(t, http.StatusOK)
	sendWithHeader(t, big, 200<<10).apiErr(t, http.StatusRequestHeaderFieldsTooLarge, hookgate.EHDRTOOLARGE)
}

// sendWithHeader sends GET /healthz with one header of size bytes through
// a raw connection (no client library refuses or trims it).
func sendWithHeader(t *testing.T, h *harness, size int) response {
	t.Helper()
	conn, err := net.Dial("tcp", h.app.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	req := fmt.Sprintf("GET /healthz HTTP/1.1\r\nHost: %s\r\nX-Big: %s\r\nConnection: close\r\n\r\n", h.app.Addr(), strings.Repeat("a", size))
	// The server may answer and close before reading all of it.
	go func() { _, _ = io.WriteString(conn, req) }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%d-byte header: %v", size, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Event data is delivered as the publisher sent it, so bytes that are not
// UTF-8 would reach receivers as invalid JSON: every JSON body of the API is
// refused unless it is valid UTF-8, with the offset of the first bad byte.
func TestBodiesThatAreNotUTF8AreRefused(t *testing.T) {
	h := start(t, nil)
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	w := h.createWebhook(admin, hook("utf8"))
	event := `{"type":"contact.created","data":{"name":"Ad` + "\xff" + `a"}}`
	badOffset := strings.IndexByte(event, 0xff)
	for _, tc := range []struct {
		method, path, token, body string
		offset                    int
	}{
		{"POST", "/v1/events", pub, event, badOffset},
		{"POST", "/v1/events/batch", pub, `{"events":[` + event + `]}`, badOffset + len(`{"events":[`)},
		{"POST", "/v1/webhooks", admin, `{"name":"caf` + "\xc3\x28" + `","endpoints":[{"url":"https://x.example/h"}],"events":["contact.created"]}`, len(`{"name":"caf`)},
		{"PATCH", "/v1/webhooks/" + w.ID, admin, `{"description":"` + "\xed\xa0\x80" + `"}`, len(`{"description":"`)}, // an encoded surrogate
		{"POST", "/v1/webhooks/" + w.ID + "/preview", admin, `{"type":"contact.created","data":{"x":"` + "\xc0\xaf" + `"}}`, len(`{"type":"contact.created","data":{"x":"`)},
		{"POST", "/v1/console/login", "", `{"code":"` + "\x80" + `"}`, len(`{"code":"`)},
	} {
		r := h.do(tc.method, tc.path, tc.token, tc.body)
		ae := r.apiErr(t, http.StatusBadRequest, hookgate.EMALFORMED)
		if !strings.Contains(ae.Error.Message, "UTF-8") || !strings.Contains(ae.Error.Message, fmt.Sprintf("byte %d", tc.offset)) {
			t.Fatalf("%s %s: message %q, want it to say not UTF-8 at byte %d", tc.method, tc.path, ae.Error.Message, tc.offset)
		}
	}
	// Valid UTF-8 beyond ASCII is accepted.
	h.do("POST", "/v1/events", pub, `{"type":"contact.created","data":{"name":"Zoë 東京 🚀"}}`).must(t, 202)
}

// Requests fasthttp cannot read (a connection reset mid-body, bytes that are
// not HTTP, a bad Content-Length) are the client's doing and anyone can send
// them: none is logged at ERROR (a reset was, twice), and neither the log
// nor the answer quotes the raw request, which may carry a token.
func TestUnreadableRequestsAreNotLoggedAsErrors(t *testing.T) {
	h := start(t, nil)
	const secret = "Bearer sekrit.token.value"
	requests := []struct {
		raw   string
		reset bool
	}{
		{"POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: " + secret + "\r\nContent-Length: 100\r\n\r\n{\"a\":", true},
		{"NOT-HTTP-" + strings.ReplaceAll(secret, " ", "-") + "\r\n\r\n", false},
		{"GET /v1/webhooks HTTP/1.1\r\nHost: x\r\nAuthorization: " + secret + "\r\nContent-Length: -5\r\n\r\n", false},
	}
	for _, rq := range requests {
		conn, err := net.Dial("tcp", h.app.Addr())
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(conn, rq.raw); err != nil {
			t.Fatal(err)
		}
		if rq.reset {
			// The server waits for the rest of the body; a reset ends it.
			_ = conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
			continue
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%q: %v", rq.raw, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		conn.Close()
		response{Status: resp.StatusCode, Header: resp.Header, Body: b}.apiErr(t, http.StatusBadRequest, hookgate.EMALFORMED)
		if strings.Contains(string(b), "sekrit") {
			t.Fatalf("the answer quotes the request: %s", b)
		}
	}
	testenv.Eventually(t, 5*time.Second, "every refusal to be logged", func() bool {
		return strings.Count(h.logs.String(), "request refused before routing") == len(requests)
	})
	logs := h.logs.String()
	if strings.Contains(logs, `"level":"ERROR"`) || strings.Contains(logs, "sekrit") {
		t.Fatalf("an unreadable request was logged as an error, or its bytes were logged:\n%s", logs)
	}
}
