package app_test

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/app"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/ownertoken"
	"github.com/hookgate/hookgate/internal/testenv"
)

const deniedBody = `{"errors":{"text":["Access is denied!"]},"status":true}`

// upstreamCall is what a fake CRM service received.
type upstreamCall struct {
	Method, RawPath, Query string
	Header                 http.Header
	Body                   string
	Claims                 *ownertoken.Claims
	VerifyErr              error
}

// crmService is a real loopback HTTP server standing in for one CRM
// service: it verifies the owner token against hookgate's JWKS and records
// every call.
type crmService struct {
	name   string
	srv    *httptest.Server
	mu     sync.Mutex
	calls  []upstreamCall
	jwks   func() ownertoken.KeySet
	issuer string
	handle func(w http.ResponseWriter, r *http.Request) // optional answer
}

func newCRMService(t *testing.T, name string) *crmService {
	t.Helper()
	c := &crmService{name: name}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		call := upstreamCall{Method: r.Method, RawPath: r.URL.EscapedPath(), Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: string(body)}
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && c.jwks != nil {
			call.Claims, call.VerifyErr = c.jwks().Verify(tok, c.issuer)
		} else {
			call.VerifyErr = fmt.Errorf("no bearer token")
		}
		c.mu.Lock()
		c.calls = append(c.calls, call)
		c.mu.Unlock()
		if c.handle != nil {
			c.handle(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Served-By", name)
		w.Header().Set("Set-Cookie", "crm_session=secret")
		w.WriteHeader(201)
		fmt.Fprintf(w, `{"service":%q,"path":%q}`, name, r.URL.EscapedPath())
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *crmService) Calls() []upstreamCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]upstreamCall(nil), c.calls...)
}

// incomingEnv is hookgate with three CRM services behind the crm, tasks and
// chats scopes (chats allows GET only).
type incomingEnv struct {
	*harness
	crm, tasks, chats *crmService
}

func startIncoming(t *testing.T, mutate func(*config.Config)) *incomingEnv {
	t.Helper()
	e := &incomingEnv{crm: newCRMService(t, "crm"), tasks: newCRMService(t, "tasks"), chats: newCRMService(t, "chats")}
	e.harness = start(t, func(c *config.Config) {
		c.Incoming.Scopes = map[string]config.Scope{
			"crm":   {Prefixes: []string{"/crm/"}, Upstream: e.crm.srv.URL},
			"tasks": {Prefixes: []string{"/tasks/"}, Upstream: e.tasks.srv.URL + "/"},
			"chats": {Prefixes: []string{"/messenger/"}, Upstream: e.chats.srv.URL, Methods: []string{"GET"}},
		}
		c.Incoming.Rate, c.Incoming.Burst = 1000, 1000
		if mutate != nil {
			mutate(c)
		}
	})
	var once sync.Once
	var ks ownertoken.KeySet
	jwks := func() ownertoken.KeySet {
		once.Do(func() {
			r := e.do("GET", "/.well-known/jwks.json", "", nil).must(t, 200)
			var err error
			if ks, err = ownertoken.ParseJWKS(r.Body); err != nil {
				t.Errorf("jwks: %v", err)
			}
		})
		return ks
	}
	for _, s := range []*crmService{e.crm, e.tasks, e.chats} {
		s.jwks, s.issuer = jwks, e.cfg.Server.PublicURL
	}
	return e
}

type incomingHook struct {
	hookgate.IncomingWebhook
	URL string `json:"url"`
}

func (e *incomingEnv) create(token string, body map[string]any) incomingHook {
	e.t.Helper()
	var w incomingHook
	e.do("POST", "/v1/incoming-webhooks", token, body).must(e.t, 201).json(e.t, &w)
	return w
}

// path is the hookgate path of an incoming URL (the URL's host is public_url).
func (e *incomingEnv) path(w incomingHook) string {
	e.t.Helper()
	p, ok := strings.CutPrefix(w.URL, e.cfg.Server.PublicURL)
	if !ok || !strings.HasPrefix(p, "/in/") {
		e.t.Fatalf("url %q is not under %s/in/", w.URL, e.cfg.Server.PublicURL)
	}
	return p
}

// raw sends a request whose target is written byte for byte, so no client
// library cleans or re-encodes the path.
func (e *incomingEnv) raw(method, target string, headers ...string) response {
	e.t.Helper()
	conn, err := net.Dial("tcp", e.app.Addr())
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, target, e.app.Addr())
	for i := 0; i+1 < len(headers); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", headers[i], headers[i+1])
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

func mustDenied(t *testing.T, what string, r response) {
	t.Helper()
	if r.Status != 403 || string(r.Body) != deniedBody {
		t.Fatalf("%s: got %d %s, want 403 %s", what, r.Status, r.Body, deniedBody)
	}
}

func TestIncomingProxiesEachScopeToItsUpstreamAsTheOwner(t *testing.T) {
	e := startIncoming(t, nil)
	admin := e.token("acme", "admin")
	w := e.create(admin, map[string]any{"name": "Zapier", "scopes": []string{"tasks", "crm"}, "enabled": true})
	base := e.path(w)

	r := e.do("GET", base+"/tasks/v1/tasks/816?expand=owner&x=%20y", "caller-secret", nil,
		"Cookie", "sid=caller-cookie", "X-Forwarded-For", "6.6.6.6", "X-Custom", "dropped").must(t, 201)
	if string(r.Body) != `{"service":"tasks","path":"/tasks/v1/tasks/816"}` || r.Header.Get("X-Served-By") != "tasks" {
		t.Fatalf("caller got %s %v", r.Body, r.Header)
	}
	if r.Header.Get("Set-Cookie") != "" {
		t.Fatal("the upstream's Set-Cookie reached the caller")
	}
	e.do("POST", base+"/crm/v1/entities/leads", "", map[string]any{"title": "New lead"}).must(t, 201)

	tc, cc := e.tasks.Calls(), e.crm.Calls()
	if len(tc) != 1 || len(cc) != 1 || len(e.chats.Calls()) != 0 {
		t.Fatalf("tasks %d calls, crm %d, chats %d; want 1, 1, 0", len(tc), len(cc), len(e.chats.Calls()))
	}
	got := tc[0]
	if got.Method != "GET" || got.RawPath != "/tasks/v1/tasks/816" || got.Query != "expand=owner&x=%20y" {
		t.Fatalf("tasks received %s %s?%s", got.Method, got.RawPath, got.Query)
	}
	if got.VerifyErr != nil {
		t.Fatalf("owner token does not verify against /.well-known/jwks.json: %v", got.VerifyErr)
	}
	c := got.Claims
	if c.Subject != "user-acme" || c.Tenant != "acme" || c.IncomingWebhookID != w.ID || c.Scope != "crm tasks" {
		t.Fatalf("owner token claims %+v", c)
	}
	if ttl := c.ExpiresAt.Sub(c.IssuedAt.Time); ttl != 60*time.Second {
		t.Fatalf("owner token lives %s, want 60s", ttl)
	}
	for _, h := range []string{"Authorization", "Cookie"} {
		for _, v := range got.Header.Values(h) {
			if strings.Contains(v, "caller-secret") || strings.Contains(v, "caller-cookie") {
				t.Fatalf("the caller's %s reached the upstream: %q", h, v)
			}
		}
	}
	if got.Header.Get("Cookie") != "" {
		t.Fatal("a Cookie header reached the upstream")
	}
	// X-Custom is on no allow-list (see TestIncomingForwardsOnlyAllowListedHeaders).
	if got.Header.Get("X-Forwarded-For") != "127.0.0.1" || got.Header.Get("X-Forwarded-Proto") != "http" ||
		got.Header.Get("X-Request-Id") == "" || got.Header.Get("X-Custom") != "" {
		t.Fatalf("forwarding headers %v", got.Header)
	}
	if cc[0].Method != "POST" || cc[0].RawPath != "/crm/v1/entities/leads" || cc[0].Body != `{"title":"New lead"}` || cc[0].VerifyErr != nil {
		t.Fatalf("crm received %+v", cc[0])
	}

	// A scope not granted, and a granted one's method limit, are denied.
	mustDenied(t, "chats not granted", e.do("GET", base+"/messenger/v1/chats", "", nil))
	w2 := e.create(admin, map[string]any{"name": "chat bot", "scopes": []string{"chats"}})
	e.do("GET", e.path(w2)+"/messenger/v1/chats", "", nil).must(t, 201)
	mustDenied(t, "POST on a GET-only scope", e.do("POST", e.path(w2)+"/messenger/v1/chats", "", map[string]any{}))
	if n := len(e.chats.Calls()); n != 1 {
		t.Fatalf("chats received %d calls, want 1", n)
	}
}

func TestIncomingDeniesTraversalAndEncodingTricks(t *testing.T) {
	e := startIncoming(t, nil)
	w := e.create(e.token("acme", "admin"), map[string]any{"name": "crm only", "scopes": []string{"crm"}})
	base := e.path(w)
	token := strings.TrimPrefix(base, "/in/")
	for _, target := range []string{
		base + "/tasks/v1/tasks/816",
		base + "/crm/../tasks/v1/tasks/816",
		base + "/crm/v1/../../tasks/v1/tasks",
		base + "/crm/%2e%2e/tasks/v1/tasks",
		base + "/crm/%2E%2E/tasks/v1",
		base + "/crm/.%2e/tasks/v1",
		base + "/crm/..%2ftasks/v1",
		base + "/crm/..%2Ftasks/v1",
		base + "/crm%2f..%2ftasks/v1",
		base + "/crm/%252e%252e/tasks/v1",
		base + "/crm/%5c..%5ctasks/v1",
		base + `/crm\..\tasks/v1`,
		base + "/crm/..;/tasks/v1",
		base + "/crm/%C0%AE%C0%AE/tasks/v1",
		base + "/crm/%zz/v1",
		base + "/crm/v1/%",
		base + "/crm/%00/v1",
		base + "/crm//tasks/v1",
		base + "//crm/v1",
		base + "/crm/./v1",
		base + "/CRM/v1/entities",
		base + "/crm",
		base,
		base + "/",
		"/in/" + token + "/../../v1/incoming-webhooks",
		"/in/" + token + "/../../v1/webhooks",
		"/in/" + token + "/../../healthz",
		"/in/" + token + "/%2e%2e/%2e%2e/v1/incoming-webhooks",
		"/in/not-a-token/crm/v1/entities/leads",
		"/in/" + strings.ToUpper(token) + "/crm/v1/entities/leads",
		"/in/" + token + "x/crm/v1/entities/leads",
		"/in//crm/v1/entities/leads",
		"/in/" + strings.Repeat("a", 500) + "/crm/v1",
	} {
		mustDenied(t, target, e.raw("GET", target))
	}
	if n := len(e.crm.Calls()) + len(e.tasks.Calls()) + len(e.chats.Calls()); n != 0 {
		t.Fatalf("denied requests reached upstreams %d times: %+v %+v", n, e.crm.Calls(), e.tasks.Calls())
	}
	// The same token with a clean path works: the denials were the paths.
	if r := e.raw("GET", base+"/crm/v1/entities/leads"); r.Status != 201 {
		t.Fatalf("clean path: %d %s", r.Status, r.Body)
	}
}

func TestIncomingRotateDisableAndDeleteTakeEffectAtOnce(t *testing.T) {
	e := startIncoming(t, nil)
	admin := e.token("acme", "admin")
	w := e.create(admin, map[string]any{"name": "rotating", "scopes": []string{"crm"}})
	old := e.path(w)
	e.do("GET", old+"/crm/v1/x", "", nil).must(t, 201)

	var rotated incomingHook
	e.do("POST", "/v1/incoming-webhooks/"+w.ID+"/rotate", admin, nil).must(t, 200).json(t, &rotated)
	if rotated.URL == w.URL || rotated.ID != w.ID {
		t.Fatalf("rotate kept the URL: %s", rotated.URL)
	}
	mustDenied(t, "old URL after rotate", e.do("GET", old+"/crm/v1/x", "", nil))
	cur := e.path(rotated)
	e.do("GET", cur+"/crm/v1/x", "", nil).must(t, 201)

	e.do("POST", "/v1/incoming-webhooks/"+w.ID+"/disable", admin, nil).must(t, 200)
	mustDenied(t, "disabled", e.do("GET", cur+"/crm/v1/x", "", nil))
	e.do("POST", "/v1/incoming-webhooks/"+w.ID+"/enable", admin, nil).must(t, 200)
	e.do("GET", cur+"/crm/v1/x", "", nil).must(t, 201)
	e.do("PATCH", "/v1/incoming-webhooks/"+w.ID, admin, map[string]any{"enabled": false}).must(t, 200)
	mustDenied(t, "disabled by PATCH", e.do("GET", cur+"/crm/v1/x", "", nil))
	e.do("PATCH", "/v1/incoming-webhooks/"+w.ID, admin, map[string]any{"enabled": true, "scopes": []string{"tasks"}}).must(t, 200)
	mustDenied(t, "scope removed", e.do("GET", cur+"/crm/v1/x", "", nil))
	e.do("GET", cur+"/tasks/v1/x", "", nil).must(t, 201)

	e.do("DELETE", "/v1/incoming-webhooks/"+w.ID, admin, nil).must(t, 204)
	mustDenied(t, "deleted", e.do("GET", cur+"/tasks/v1/x", "", nil))
	e.do("GET", "/v1/incoming-webhooks/"+w.ID, admin, nil).must(t, 404)
	if n := len(e.crm.Calls()); n != 3 {
		t.Fatalf("crm received %d calls, want 3", n)
	}
}

func TestIncomingAdminAPI(t *testing.T) {
	e := startIncoming(t, nil)
	admin := e.token("acme", "admin")

	for _, bad := range []map[string]any{
		{"name": "x", "scopes": []string{"payroll"}},
		{"name": "x", "scopes": []string{}},
		{"name": "x"},
		{"name": "", "scopes": []string{"crm"}},
		{"name": "x", "scopes": []string{"crm"}, "transform": "no-such-plugin"},
	} {
		r := e.do("POST", "/v1/incoming-webhooks", admin, bad).must(t, 400)
		if code := r.errorCode(t); code != hookgate.EINVALID {
			t.Fatalf("%v: code %s", bad, code)
		}
	}
	r := e.do("POST", "/v1/incoming-webhooks", admin, map[string]any{"name": "x", "scopes": []string{"payroll"}})
	if !strings.Contains(string(r.Body), `"scopes"`) || !strings.Contains(string(r.Body), "payroll") {
		t.Fatalf("unknown scope not named: %s", r.Body)
	}
	e.do("POST", "/v1/incoming-webhooks", admin, map[string]any{"name": "x", "scopes": []string{"crm"}, "owner": "someone-else"}).must(t, 400)
	e.do("POST", "/v1/incoming-webhooks", e.token("acme", "publisher"), map[string]any{"name": "x", "scopes": []string{"crm"}}).must(t, 403)
	e.do("POST", "/v1/incoming-webhooks", "", map[string]any{"name": "x", "scopes": []string{"crm"}}).must(t, 401)

	a := e.create(admin, map[string]any{"name": "Bravo", "scopes": []string{"crm"}})
	b := e.create(admin, map[string]any{"name": "alpha", "scopes": []string{"crm", "tasks"}, "enabled": false})
	if a.Owner != "user-acme" || !a.Enabled || b.Enabled || !strings.HasPrefix(a.URL, e.cfg.Server.PublicURL+"/in/") {
		t.Fatalf("created %+v / %+v", a, b)
	}
	token := strings.TrimPrefix(a.URL, e.cfg.Server.PublicURL+"/in/")
	if len(token) < 43 || strings.ContainsAny(token, "+/=") {
		t.Fatalf("token %q is not 256 bits of URL-safe text", token)
	}
	var got incomingHook
	e.do("GET", "/v1/incoming-webhooks/"+a.ID, admin, nil).must(t, 200).json(t, &got)
	if got.URL != a.URL {
		t.Fatal("the URL is not shown again to admins")
	}
	var page struct{ Data []incomingHook }
	e.do("GET", "/v1/incoming-webhooks?sort=name", admin, nil).must(t, 200).json(t, &page)
	if len(page.Data) != 2 || page.Data[0].Name != "alpha" || page.Data[1].Name != "Bravo" {
		t.Fatalf("sorted by name: %+v", page.Data)
	}
	e.do("GET", "/v1/incoming-webhooks?search=rav", admin, nil).must(t, 200).json(t, &page)
	if len(page.Data) != 1 || page.Data[0].ID != a.ID {
		t.Fatalf("search: %+v", page.Data)
	}
	e.do("GET", "/v1/incoming-webhooks?sort=bogus", admin, nil).must(t, 400)

	// Another tenant sees nothing of acme's.
	other := e.token("globex", "admin")
	e.do("GET", "/v1/incoming-webhooks/"+a.ID, other, nil).must(t, 404)
	e.do("POST", "/v1/incoming-webhooks/"+a.ID+"/rotate", other, nil).must(t, 404)
	e.do("DELETE", "/v1/incoming-webhooks/"+a.ID, other, nil).must(t, 404)
	e.do("GET", "/v1/incoming-webhooks/"+a.ID+"/requests", other, nil).must(t, 404)
	e.do("GET", "/v1/incoming-webhooks", other, nil).must(t, 200).json(t, &page)
	if len(page.Data) != 0 {
		t.Fatalf("globex lists %d of acme's webhooks", len(page.Data))
	}

	// The token is nowhere in Redis in clear, nor in the logs.
	ctx := context.Background()
	iter := e.rdb.Scan(ctx, 0, e.cfg.Redis.Prefix+":*", 1000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		if strings.Contains(k, token) {
			t.Fatalf("key %s holds the token", k)
		}
		if typ := e.rdb.Type(ctx, k).Val(); typ == "string" && strings.Contains(e.rdb.Get(ctx, k).Val(), token) {
			t.Fatalf("value of %s holds the token in clear", k)
		}
	}
	e.do("GET", e.path(a)+"/crm/v1/x", "", nil).must(t, 201)
	e.do("GET", e.path(a)+"/nope", "", nil).must(t, 403)
	if strings.Contains(e.logs.String(), token) {
		t.Fatal("the token was logged")
	}
}

func TestIncomingRequestLog(t *testing.T) {
	e := startIncoming(t, func(c *config.Config) { c.Incoming.LogBodyBytes = 16 })
	admin := e.token("acme", "admin")
	w := e.create(admin, map[string]any{"name": "logged", "scopes": []string{"crm"}})
	e.do("POST", e.path(w)+"/crm/v1/entities/leads?src=form", "", map[string]any{"title": "A rather long lead title"}).must(t, 201)
	mustDenied(t, "out of scope", e.do("DELETE", e.path(w)+"/tasks/v1/tasks/1", "", nil))

	var page struct{ Data []hookgate.IncomingRequestLog }
	testenv.Eventually(t, 5*time.Second, "two log entries", func() bool {
		e.do("GET", "/v1/incoming-webhooks/"+w.ID+"/requests", admin, nil).must(t, 200).json(t, &page)
		return len(page.Data) == 2
	})
	denied, ok := page.Data[0], page.Data[1]
	if denied.Method != "DELETE" || denied.Path != "/tasks/v1/tasks/1" || denied.Status != 403 || denied.Denied != "out_of_scope" {
		t.Fatalf("denied entry %+v", denied)
	}
	if ok.Method != "POST" || ok.Path != "/crm/v1/entities/leads" || ok.Query != "src=form" || ok.Status != 201 ||
		ok.CallerIP != "127.0.0.1" || ok.Denied != "" || ok.Upstream != "crm" || ok.RequestID == "" || ok.LatencyMS <= 0 {
		t.Fatalf("forwarded entry %+v", ok)
	}
	if ok.RequestBody != `{"title":"A rath` || ok.ResponseBody != `{"service":"crm"` {
		t.Fatalf("bodies not capped at 16 bytes: %q / %q", ok.RequestBody, ok.ResponseBody)
	}
}

func TestIncomingUpstreamFaults(t *testing.T) {
	slow := newCRMService(t, "slow")
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	slow.handle = func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
	huge := newCRMService(t, "huge")
	huge.handle = func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/huge/chunked" {
			w.WriteHeader(200)
			for range 64 {
				w.Write(make([]byte, 1024))
				w.(http.Flusher).Flush()
			}
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(64<<10))
		w.WriteHeader(200)
		w.Write(make([]byte, 64<<10))
	}
	closed := "http://" + testenv.FreeAddr(t)
	e := startIncoming(t, func(c *config.Config) {
		c.Incoming.Scopes["slow"] = config.Scope{Prefixes: []string{"/slow/"}, Upstream: slow.srv.URL}
		c.Incoming.Scopes["huge"] = config.Scope{Prefixes: []string{"/huge/"}, Upstream: huge.srv.URL}
		c.Incoming.Scopes["down"] = config.Scope{Prefixes: []string{"/down/"}, Upstream: closed}
		c.Incoming.Timeout = hookgate.Duration(300 * time.Millisecond)
		c.Incoming.MaxResponseBody = 32 << 10
		c.Incoming.MaxRequestBody = 4 << 10
	})
	w := e.create(e.token("acme", "admin"), map[string]any{"name": "faults", "scopes": []string{"slow", "huge", "down", "crm"}})
	base := e.path(w)

	r := e.do("GET", base+"/down/v1/x", "", nil).must(t, 502)
	if r.errorCode(t) != hookgate.EBADGATEWAY {
		t.Fatalf("unreachable: %s", r.Body)
	}
	if r = e.do("GET", base+"/slow/v1/x", "", nil).must(t, 504); r.errorCode(t) != hookgate.ETIMEOUT {
		t.Fatalf("slow: %s", r.Body)
	}
	e.do("GET", base+"/huge/v1/x", "", nil).must(t, 502)
	// A chunked body over the cap is cut off, never passed whole.
	resp, err := http.Get(e.base + base + "/huge/chunked")
	if err == nil {
		n, rerr := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if rerr == nil && n > 32<<10 {
			t.Fatalf("passed %d bytes over a 32 KiB cap", n)
		}
		if rerr == nil {
			t.Fatal("an over-cap chunked answer ended cleanly; want the connection cut")
		}
	}
	if r = e.do("POST", base+"/crm/v1/x", "", strings.Repeat("a", 5<<10)).must(t, 413); r.errorCode(t) != hookgate.ETOOLARGE {
		t.Fatalf("oversize: %s", r.Body)
	}
	if n := len(e.crm.Calls()); n != 0 {
		t.Fatalf("oversize body reached the upstream (%d calls)", n)
	}
}

// writeSigningKey writes an Ed25519 key for owner tokens.
func writeSigningKey(t *testing.T) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(ownertoken.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "owner.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestIncomingRateLimitIsSharedAcrossProcesses(t *testing.T) {
	key := writeSigningKey(t)
	e := startIncoming(t, func(c *config.Config) {
		c.Incoming.Rate, c.Incoming.Burst = 0.001, 3 // no refill within the test
		c.Incoming.SigningKey = key
	})
	// A second hookgate process on the same Redis and prefix.
	cfg2 := e.cfg
	b, err := app.New(cfg2, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background(), ln); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		b.Shutdown(ctx)
	})
	other := "http://" + b.Addr()

	w := e.create(e.token("acme", "admin"), map[string]any{"name": "limited", "scopes": []string{"crm"}})
	p := e.path(w) + "/crm/v1/x"
	get := func(base string) *http.Response {
		resp, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for i, base := range []string{e.base, other, e.base} {
		if s := get(base).StatusCode; s != 201 {
			t.Fatalf("request %d: %d, want 201 within the burst", i+1, s)
		}
	}
	for _, base := range []string{other, e.base} {
		resp := get(base)
		if resp.StatusCode != 429 {
			t.Fatalf("over the shared burst: %d, want 429", resp.StatusCode)
		}
		if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 {
			t.Fatalf("Retry-After %q", resp.Header.Get("Retry-After"))
		}
	}
	if n := len(e.crm.Calls()); n != 3 {
		t.Fatalf("upstream received %d calls, want 3", n)
	}
	// Both processes sign with the configured key: one JWKS verifies both.
	for _, c := range e.crm.Calls() {
		if c.VerifyErr != nil {
			t.Fatalf("owner token from one of the processes does not verify: %v", c.VerifyErr)
		}
	}
	// Another webhook has its own bucket.
	w2 := e.create(e.token("acme", "admin"), map[string]any{"name": "fresh", "scopes": []string{"crm"}})
	e.do("GET", e.path(w2)+"/crm/v1/x", "", nil).must(t, 201)
}

func TestIncomingRoutesAreDocumented(t *testing.T) {
	e := startIncoming(t, nil)
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	e.do("GET", "/v1/openapi.json", "", nil).must(t, 200).json(t, &doc)
	n := 0
	for _, r := range e.app.Gateway.Routes() {
		method, path, _ := strings.Cut(r, " ")
		if !strings.Contains(path, "incoming-webhooks") && !strings.HasPrefix(path, "/in/") && !strings.Contains(path, "jwks") {
			continue
		}
		n++
		path = strings.ReplaceAll(path, ":id", "{id}")
		if path == "/in/*" {
			path = "/in/{token}/{path}"
		}
		ops := []string{strings.ToLower(method)}
		if method == "ANY" {
			ops = []string{"get", "post", "put", "patch", "delete", "head", "options"}
		}
		for _, op := range ops {
			if _, ok := doc.Paths[path][op]; !ok {
				t.Errorf("%s %s is not in openapi.yaml", op, path)
			}
		}
	}
	if n != 11 {
		t.Fatalf("found %d incoming routes, want 11", n)
	}
}

// Admins can list the configured scopes (what the console offers), without
// the internal upstream addresses; publishers cannot.
func TestIncomingScopesAreListedForAdmins(t *testing.T) {
	e := startIncoming(t, nil)
	r := e.do("GET", "/v1/incoming-scopes", e.token("acme", "admin"), nil).must(t, 200)
	var res struct {
		Data []struct {
			Name     string   `json:"name"`
			Prefixes []string `json:"prefixes"`
			Methods  []string `json:"methods"`
		}
	}
	r.json(t, &res)
	if len(res.Data) != 3 || res.Data[0].Name != "chats" || res.Data[1].Name != "crm" || res.Data[2].Name != "tasks" ||
		res.Data[0].Methods[0] != "GET" || res.Data[1].Prefixes[0] != "/crm/" {
		t.Fatalf("scopes %s", r.Body)
	}
	if strings.Contains(string(r.Body), "127.0.0.1") {
		t.Fatalf("upstream addresses exposed: %s", r.Body)
	}
	e.do("GET", "/v1/incoming-scopes", e.token("acme", "publisher"), nil).must(t, 403)
}

// TestIncomingChangesReachAnotherProcessAtOnce: two hookgate processes on
// one Redis, at a rate where each leases rate-limit tokens with the route
// (internal/store/lease.go). The second process answers a URL from its
// lease; a rotation, a disable and a delete made through the first are
// refused by the second on the next call after the admin call returned.
func TestIncomingChangesReachAnotherProcessAtOnce(t *testing.T) {
	e := startIncoming(t, nil)
	other := start(t, func(c *config.Config) {
		c.Redis.Prefix, c.Store, c.Incoming, c.Auth = e.cfg.Redis.Prefix, e.cfg.Store, e.cfg.Incoming, e.cfg.Auth
	})
	via := func(path string) response { return other.do("GET", path, "", nil) }
	admin := e.token("acme", "admin")
	w := e.create(admin, map[string]any{"name": "two processes", "scopes": []string{"crm"}})
	old := e.path(w)
	via(old+"/crm/v1/x").must(t, 201) // the other process now holds a lease
	var rotated incomingHook
	e.do("POST", "/v1/incoming-webhooks/"+w.ID+"/rotate", admin, nil).must(t, 200).json(t, &rotated)
	mustDenied(t, "old URL after rotate, other process", via(old+"/crm/v1/x"))
	cur := e.path(rotated)
	via(cur+"/crm/v1/x").must(t, 201)
	e.do("POST", "/v1/incoming-webhooks/"+w.ID+"/disable", admin, nil).must(t, 200)
	mustDenied(t, "disabled, other process", via(cur+"/crm/v1/x"))
	e.do("POST", "/v1/incoming-webhooks/"+w.ID+"/enable", admin, nil).must(t, 200)
	via(cur+"/crm/v1/x").must(t, 201)
	e.do("DELETE", "/v1/incoming-webhooks/"+w.ID, admin, nil).must(t, 204)
	mustDenied(t, "deleted, other process", via(cur+"/crm/v1/x"))
}
