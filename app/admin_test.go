package app_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/testenv"
)

// apiError is the one error shape of the API.
type apiError struct {
	Error struct {
		Code      string            `json:"code"`
		Message   string            `json:"message"`
		Fields    map[string]string `json:"fields"`
		RequestID string            `json:"request_id"`
	} `json:"error"`
}

// apiErr decodes r as an error body and checks its status, code and the
// presence of a message and a request id.
func (r response) apiErr(t testing.TB, status int, code string) apiError {
	t.Helper()
	var e apiError
	r.must(t, status).json(t, &e)
	if e.Error.Code != code {
		t.Fatalf("error code %q, want %q: %s", e.Error.Code, code, r.Body)
	}
	if e.Error.Message == "" {
		t.Fatalf("error without a message: %s", r.Body)
	}
	if e.Error.RequestID == "" || e.Error.RequestID != r.Header.Get("X-Request-Id") {
		t.Fatalf("error request_id %q does not match X-Request-Id %q", e.Error.RequestID, r.Header.Get("X-Request-Id"))
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error Content-Type %q", ct)
	}
	// Exactly the documented shape: {"error": {code, message, fields?, request_id}}.
	var raw map[string]map[string]json.RawMessage
	r.json(t, &raw)
	if len(raw) != 1 || raw["error"] == nil {
		t.Fatalf("error body has other top-level keys: %s", r.Body)
	}
	for k := range raw["error"] {
		switch k {
		case "code", "message", "fields", "request_id":
		default:
			t.Fatalf("error body has an undocumented key %q: %s", k, r.Body)
		}
	}
	if _, ok := raw["error"]["fields"]; ok && len(e.Error.Fields) == 0 {
		t.Fatalf("empty fields object: %s", r.Body)
	}
	return e
}

type webhookPage struct {
	Data       []hookgate.Webhook `json:"data"`
	NextCursor string             `json:"next_cursor"`
}

func (h *harness) list(token, query string) webhookPage {
	h.t.Helper()
	var p webhookPage
	h.do("GET", "/v1/webhooks?"+query, token, nil).must(h.t, 200).json(h.t, &p)
	return p
}

func names(ws []hookgate.Webhook) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.Name
	}
	return out
}

func hook(name string, events ...string) map[string]any {
	if len(events) == 0 {
		events = []string{"contact.created"}
	}
	return map[string]any{"name": name, "endpoints": endpoints("https://receiver.example.com/" + name), "events": events}
}

func TestWebhookLifecycleCreateGetPatchDelete(t *testing.T) {
	h := start(t, nil)
	admin := h.token("acme", "admin")
	created := h.createWebhook(admin, map[string]any{
		"name": "ERP Sync", "description": "deals to the ERP",
		"endpoints": []map[string]any{{"url": "https://erp.example.com/hook"}, {"url": "https://backup.example.com/hook", "enabled": false}},
		"events":    []string{"deal.won", "invoice.paid", "contact.*"},
		"metadata":  map[string]string{"team": "finance"},
	})
	if !strings.HasPrefix(created.Secret, "whsec_") || len(created.Secret) != len("whsec_")+44 {
		t.Fatalf("generated secret %q is not whsec_ + base64 of 32 bytes", created.Secret)
	}
	w := created.Webhook
	loc := h.do("POST", "/v1/webhooks", admin, hook("located")).must(t, 201).Header.Get("Location")
	if !strings.HasPrefix(loc, "/v1/webhooks/wh_") {
		t.Fatalf("201 Location %q", loc)
	}
	h.do("DELETE", loc, admin, nil).must(t, 204)
	if w.ID == "" || w.Tenant != "acme" || w.System || w.Name != "ERP Sync" || w.Format != "standard" ||
		!w.Enabled || w.Status != hookgate.StatusActive || w.CreatedAt.IsZero() || w.UpdatedAt.IsZero() {
		t.Fatalf("created webhook: %+v", w)
	}
	if len(w.Endpoints) != 2 || !w.Endpoints[0].Enabled || w.Endpoints[1].Enabled || w.Endpoints[0].ID == "" {
		t.Fatalf("endpoints: %+v", w.Endpoints)
	}
	if !slices.Equal(w.Events, []string{"deal.won", "invoice.paid", "contact.*"}) {
		t.Fatalf("events: %v", w.Events)
	}

	var got hookgate.Webhook
	h.do("GET", "/v1/webhooks/"+w.ID, admin, nil).must(t, 200).json(t, &got)
	if got.ID != w.ID || got.Name != "ERP Sync" || got.Metadata["team"] != "finance" || got.Description != "deals to the ERP" {
		t.Fatalf("get: %+v", got)
	}

	var patched hookgate.Webhook
	h.do("PATCH", "/v1/webhooks/"+w.ID, admin, map[string]any{"name": "ERP Sync v2", "enabled": false}).must(t, 200).json(t, &patched)
	if patched.Name != "ERP Sync v2" || patched.Enabled || !slices.Equal(patched.Events, w.Events) || len(patched.Endpoints) != 2 ||
		patched.Endpoints[0].ID != w.Endpoints[0].ID || !patched.UpdatedAt.After(w.UpdatedAt) && !patched.UpdatedAt.Equal(w.UpdatedAt) {
		t.Fatalf("patch changed more than asked or lost fields: %+v", patched)
	}
	h.do("GET", "/v1/webhooks/"+w.ID, admin, nil).must(t, 200).json(t, &got)
	if got.Name != "ERP Sync v2" || got.Enabled {
		t.Fatalf("patch not kept: %+v", got)
	}

	h.do("DELETE", "/v1/webhooks/"+w.ID, admin, nil).must(t, 204)
	h.do("GET", "/v1/webhooks/"+w.ID, admin, nil).apiErr(t, 404, hookgate.ENOTFOUND)
	h.do("DELETE", "/v1/webhooks/"+w.ID, admin, nil).apiErr(t, 404, hookgate.ENOTFOUND)
	h.do("PATCH", "/v1/webhooks/"+w.ID, admin, map[string]any{"name": "x"}).apiErr(t, 404, hookgate.ENOTFOUND)
	if p := h.list(admin, ""); len(p.Data) != 0 {
		t.Fatalf("deleted webhook still listed: %v", names(p.Data))
	}
}

func TestListSearchesSortsFiltersAndPages(t *testing.T) {
	h := start(t, nil)
	admin := h.token("acme", "admin")
	for _, n := range []string{"Charlie Sync", "alpha sync", "Bravo", "delta SYNC", "echo"} {
		w := h.createWebhook(admin, hook(strings.ReplaceAll(n, " ", "-")))
		// created_at has millisecond resolution; let the clock pass the
		// last one so that creation order is fully determined.
		for !time.Now().Truncate(time.Millisecond).After(w.CreatedAt) {
			runtime.Gosched()
		}
	}
	// Names with a space cannot be URL paths above; rename through PATCH so the
	// list also proves PATCH updates the name index.
	all := h.list(admin, "sort=created_at")
	for _, w := range all.Data {
		n := strings.ReplaceAll(w.Name, "-", " ")
		h.do("PATCH", "/v1/webhooks/"+w.ID, admin, map[string]any{"name": n}).must(t, 200)
	}
	if got := names(h.list(admin, "sort=created_at").Data); !slices.Equal(got, []string{"Charlie Sync", "alpha sync", "Bravo", "delta SYNC", "echo"}) {
		t.Fatalf("sort=created_at: %v", got)
	}
	for _, q := range []string{"", "sort=-created_at"} { // newest first is the default
		if got := names(h.list(admin, q).Data); !slices.Equal(got, []string{"echo", "delta SYNC", "Bravo", "alpha sync", "Charlie Sync"}) {
			t.Fatalf("%q: %v", q, got)
		}
	}
	if got := names(h.list(admin, "sort=name").Data); !slices.Equal(got, []string{"alpha sync", "Bravo", "Charlie Sync", "delta SYNC", "echo"}) {
		t.Fatalf("sort=name (case-insensitive): %v", got)
	}
	if got := names(h.list(admin, "sort=-name").Data); !slices.Equal(got, []string{"echo", "delta SYNC", "Charlie Sync", "Bravo", "alpha sync"}) {
		t.Fatalf("sort=-name: %v", got)
	}
	if got := names(h.list(admin, "search=sYnC&sort=name").Data); !slices.Equal(got, []string{"alpha sync", "Charlie Sync", "delta SYNC"}) {
		t.Fatalf("search=sYnC: %v", got)
	}
	if got := names(h.list(admin, "search=nothing-like-it").Data); len(got) != 0 {
		t.Fatalf("search with no match: %v", got)
	}

	// Pages of 2 by name walk every webhook exactly once.
	var walked []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		p := h.list(admin, "sort=name&limit=2&cursor="+url.QueryEscape(cursor))
		if len(p.Data) > 2 {
			t.Fatalf("page of %d with limit=2", len(p.Data))
		}
		walked = append(walked, names(p.Data)...)
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	if !slices.Equal(walked, []string{"alpha sync", "Bravo", "Charlie Sync", "delta SYNC", "echo"}) {
		t.Fatalf("pages by name: %v", walked)
	}
	// Search and paging combine.
	p := h.list(admin, "search=sync&sort=-name&limit=2")
	if got := names(p.Data); !slices.Equal(got, []string{"delta SYNC", "Charlie Sync"}) || p.NextCursor == "" {
		t.Fatalf("first searched page: %v next=%q", got, p.NextCursor)
	}
	p = h.list(admin, "search=sync&sort=-name&limit=2&cursor="+url.QueryEscape(p.NextCursor))
	if got := names(p.Data); !slices.Equal(got, []string{"alpha sync"}) || p.NextCursor != "" {
		t.Fatalf("second searched page: %v next=%q", got, p.NextCursor)
	}

	// Filters by subscribed event (wildcards count) and by status.
	h.createWebhook(admin, hook("deals", "deal.*"))
	if got := names(h.list(admin, "event=deal.won").Data); !slices.Equal(got, []string{"deals"}) {
		t.Fatalf("event=deal.won: %v", got)
	}
	if got := h.list(admin, "status=paused").Data; len(got) != 0 {
		t.Fatalf("status=paused: %v", names(got))
	}
	if got := h.list(admin, "status=active").Data; len(got) != 6 {
		t.Fatalf("status=active: %v", names(got))
	}

	for _, tc := range []struct{ query, field string }{
		{"sort=size", "sort"},
		{"status=sleeping", "status"},
		{"event=no.such", "event"},
		{"limit=0", "limit"},
		{"limit=100000", "limit"},
		{"limit=ten", "limit"},
		{"cursor=%21%21not-a-cursor", "cursor"},
		{"scope=everyone", "scope"},
	} {
		e := h.do("GET", "/v1/webhooks?"+tc.query, admin, nil).apiErr(t, 400, hookgate.EINVALID)
		if e.Error.Fields[tc.field] == "" {
			t.Errorf("%s: no message for field %q: %+v", tc.query, tc.field, e.Error)
		}
	}
}

func TestTenantsNeverSeeEachOthersWebhooks(t *testing.T) {
	h := start(t, nil)
	a := h.token("tenant-a", "admin")
	b := h.token("tenant-b", "admin")
	wa := h.createWebhook(a, hook("a-only"))
	h.createWebhook(b, hook("b-only"))

	if got := names(h.list(b, "").Data); !slices.Equal(got, []string{"b-only"}) {
		t.Fatalf("tenant b lists %v", got)
	}
	if got := names(h.list(b, "search=a-only").Data); len(got) != 0 {
		t.Fatalf("tenant b finds %v by searching", got)
	}
	// Another tenant's record does not exist for you: 404, never 403.
	h.do("GET", "/v1/webhooks/"+wa.ID, b, nil).apiErr(t, 404, hookgate.ENOTFOUND)
	h.do("PATCH", "/v1/webhooks/"+wa.ID, b, map[string]any{"name": "taken over"}).apiErr(t, 404, hookgate.ENOTFOUND)
	h.do("DELETE", "/v1/webhooks/"+wa.ID, b, nil).apiErr(t, 404, hookgate.ENOTFOUND)
	// The tenant in the body, the query or a header is not the tenant.
	h.do("POST", "/v1/webhooks?tenant=tenant-a", b, map[string]any{
		"name": "smuggled", "tenant": "tenant-a", "endpoints": endpoints("https://x.example.com"), "events": []string{"*"},
	}).apiErr(t, 400, hookgate.EMALFORMED)
	h.do("GET", "/v1/webhooks/"+wa.ID+"?tenant=tenant-a", b, nil, "X-Tenant", "tenant-a").apiErr(t, 404, hookgate.ENOTFOUND)

	var still hookgate.Webhook
	h.do("GET", "/v1/webhooks/"+wa.ID, a, nil).must(t, 200).json(t, &still)
	if still.Name != "a-only" || still.Tenant != "tenant-a" {
		t.Fatalf("tenant a's webhook changed: %+v", still)
	}
}

func TestSystemWebhooksNeedTheSystemRole(t *testing.T) {
	h := start(t, nil)
	admin := h.token("acme", "admin")
	system := h.token("platform", "system")
	body := hook("provisioning", "extension.*")
	body["system"] = true

	e := h.do("POST", "/v1/webhooks", admin, body).apiErr(t, 403, hookgate.EFORBIDDEN)
	if !strings.Contains(e.Error.Message, "system") {
		t.Fatalf("message does not name the missing role: %q", e.Error.Message)
	}
	h.do("GET", "/v1/webhooks?scope=system", admin, nil).apiErr(t, 403, hookgate.EFORBIDDEN)

	sw := h.createWebhook(system, body)
	if !sw.System || sw.Tenant != hookgate.SystemTenant {
		t.Fatalf("system webhook: %+v", sw.Webhook)
	}
	if got := names(h.list(system, "scope=system").Data); !slices.Equal(got, []string{"provisioning"}) {
		t.Fatalf("system list: %v", got)
	}
	// A tenant admin neither lists nor reaches system webhooks.
	if got := h.list(admin, "").Data; len(got) != 0 {
		t.Fatalf("tenant admin lists system webhooks: %v", names(got))
	}
	h.do("GET", "/v1/webhooks/"+sw.ID, admin, nil).apiErr(t, 404, hookgate.ENOTFOUND)
	h.do("GET", "/v1/webhooks/"+sw.ID+"?scope=system", admin, nil).apiErr(t, 403, hookgate.EFORBIDDEN)
	h.do("DELETE", "/v1/webhooks/"+sw.ID+"?scope=system", admin, nil).apiErr(t, 403, hookgate.EFORBIDDEN)
	// A system principal without admin does not manage a tenant's webhooks.
	h.do("GET", "/v1/webhooks", system, nil).apiErr(t, 403, hookgate.EFORBIDDEN)

	h.do("PATCH", "/v1/webhooks/"+sw.ID+"?scope=system", system, map[string]any{"name": "provisioning v2"}).must(t, 200)
	h.do("DELETE", "/v1/webhooks/"+sw.ID+"?scope=system", system, nil).must(t, 204)
}

func TestRolesAreEnforcedPerRoute(t *testing.T) {
	h := start(t, nil)
	publisher := h.token("acme", "publisher")
	admin := h.token("acme", "admin")
	none := h.token("acme")

	for _, tc := range []struct {
		method, path, token string
		body                any
	}{
		{"POST", "/v1/webhooks", publisher, hook("x")},
		{"GET", "/v1/webhooks", publisher, nil},
		{"GET", "/v1/webhooks", none, nil},
		{"POST", "/v1/events", admin, map[string]any{"type": "contact.created", "data": map[string]any{}}},
	} {
		e := h.do(tc.method, tc.path, tc.token, tc.body).apiErr(t, 403, hookgate.EFORBIDDEN)
		if !strings.Contains(e.Error.Message, "role") {
			t.Errorf("%s %s: message %q does not name the role", tc.method, tc.path, e.Error.Message)
		}
	}
	// The event catalogue is readable by any verified principal.
	h.do("GET", "/v1/event-types", none, nil).must(t, 200)
}

func TestRequiredPermissionIsConfigurable(t *testing.T) {
	// Seed 003: the outbound_webhooks permission grants webhook management.
	h := start(t, func(c *config.Config) {
		c.Auth.Roles = map[string][]string{hookgate.RoleAdmin: {"outbound_webhooks"}, hookgate.RolePublisher: {"events:write"}}
	})
	tok := h.token("acme", "admin") // minted with the value that grants admin
	h.createWebhook(tok, hook("pbx"))
	// A token saying "admin" literally grants nothing under this mapping.
	raw := mintRaw(t, h.cfg.Auth.HS256Secret, map[string]any{"sub": "u", "tenant": "acme", "roles": []string{"admin"}})
	h.do("GET", "/v1/webhooks", raw, nil).apiErr(t, 403, hookgate.EFORBIDDEN)
	raw = mintRaw(t, h.cfg.Auth.HS256Secret, map[string]any{"sub": "u", "tenant": "acme", "roles": "outbound_webhooks"})
	if got := names(h.list(raw, "").Data); !slices.Equal(got, []string{"pbx"}) {
		t.Fatalf("outbound_webhooks permission lists %v", got)
	}
}

func TestCreateValidationNamesEveryBadField(t *testing.T) {
	h := start(t, func(c *config.Config) { c.Delivery.AllowHTTP = false })
	admin := h.token("acme", "admin")
	long := strings.Repeat("n", 201)
	manyEndpoints := make([]map[string]any, 11)
	for i := range manyEndpoints {
		manyEndpoints[i] = map[string]any{"url": fmt.Sprintf("https://e%d.example.com", i)}
	}
	manyEvents := make([]string, 101)
	for i := range manyEvents {
		manyEvents[i] = "contact.created"
	}
	ok := func(mut func(m map[string]any)) map[string]any {
		m := hook("valid")
		mut(m)
		return m
	}
	for _, tc := range []struct {
		name    string
		body    map[string]any
		field   string
		message string // part of the field's message
	}{
		{"name missing", ok(func(m map[string]any) { delete(m, "name") }), "name", "name is required"},
		{"name blank", ok(func(m map[string]any) { m["name"] = "   " }), "name", "name is required"},
		{"name too long", ok(func(m map[string]any) { m["name"] = long }), "name", "at most 200"},
		{"no endpoints", ok(func(m map[string]any) { m["endpoints"] = []any{} }), "endpoints", "at least one endpoint"},
		{"too many endpoints", ok(func(m map[string]any) { m["endpoints"] = manyEndpoints }), "endpoints", "at most 10"},
		{"http refused", ok(func(m map[string]any) { m["endpoints"] = endpoints("http://erp.example.com/hook") }), "endpoints[0].url", "Webhook URL must use HTTPS"},
		{"relative url", ok(func(m map[string]any) { m["endpoints"] = endpoints("/hook") }), "endpoints[0].url", "absolute"},
		{"ftp url", ok(func(m map[string]any) { m["endpoints"] = endpoints("ftp://erp.example.com/") }), "endpoints[0].url", `scheme "ftp" is not supported`},
		{"userinfo", ok(func(m map[string]any) {
			m["endpoints"] = endpoints("https://ok.example.com", "https://user:pass@erp.example.com/hook")
		}), "endpoints[1].url", "credentials"},
		{"same url twice", ok(func(m map[string]any) {
			m["endpoints"] = endpoints("https://a.example.com/x", "https://b.example.com/x", "https://a.example.com/x")
		}), "endpoints[2].url", "same as endpoints[0]"},
		{"no events", ok(func(m map[string]any) { m["events"] = []string{} }), "events", "at least one event"},
		{"too many events", ok(func(m map[string]any) { m["events"] = manyEvents }), "events", "at most 100"},
		{"unknown event", ok(func(m map[string]any) { m["events"] = []string{"contact.created", "contact.exploded"} }), "events[1]", `"contact.exploded"`},
		{"incompatible uspacy pair", ok(func(m map[string]any) { m["events"] = []string{"contact.stage_changed"} }), "events[0]", `"contact.stage_changed" is not supported`},
		{"wildcard of nothing", ok(func(m map[string]any) { m["events"] = []string{"spaceship.*"} }), "events[0]", `"spaceship.*"`},
		{"unknown format", ok(func(m map[string]any) { m["format"] = "telex" }), "format", `"telex"`},
		{"short secret", ok(func(m map[string]any) { m["secret"] = "short" }), "secret", "at least 24"},
		{"empty secret", ok(func(m map[string]any) { m["secret"] = "" }), "secret", "must not be empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := h.do("POST", "/v1/webhooks", admin, tc.body).apiErr(t, 400, hookgate.EINVALID)
			if !strings.Contains(e.Error.Fields[tc.field], tc.message) {
				t.Fatalf("fields[%q] = %q, want it to contain %q (all: %v)", tc.field, e.Error.Fields[tc.field], tc.message, e.Error.Fields)
			}
		})
	}
	// Every bad field is reported at once.
	e := h.do("POST", "/v1/webhooks", admin, map[string]any{"endpoints": endpoints("http://x.example.com"), "events": []string{"nope.nope"}}).
		apiErr(t, 400, hookgate.EINVALID)
	for _, f := range []string{"name", "endpoints[0].url", "events[0]"} {
		if e.Error.Fields[f] == "" {
			t.Errorf("field %q not reported: %v", f, e.Error.Fields)
		}
	}
	if p := h.list(admin, ""); len(p.Data) != 0 {
		t.Fatalf("refused webhooks were stored: %v", names(p.Data))
	}
	// PATCH validates the result the same way, and changes nothing when refused.
	w := h.createWebhook(admin, hook("valid"))
	e = h.do("PATCH", "/v1/webhooks/"+w.ID, admin, map[string]any{"events": []string{"company.stage_changed"}}).apiErr(t, 400, hookgate.EINVALID)
	if !strings.Contains(e.Error.Fields["events[0]"], "company.stage_changed") {
		t.Fatalf("patch fields: %v", e.Error.Fields)
	}
	e = h.do("PATCH", "/v1/webhooks/"+w.ID, admin, map[string]any{"secret": strings.Repeat("s", 40)}).apiErr(t, 400, hookgate.EINVALID)
	if !strings.Contains(e.Error.Fields["secret"], "POST /v1/webhooks/"+w.ID+"/rotate-secret") {
		t.Fatalf("patching the secret is refused without pointing to rotate-secret: %+v", e.Error)
	}
	var got hookgate.Webhook
	h.do("GET", "/v1/webhooks/"+w.ID, admin, nil).must(t, 200).json(t, &got)
	if !slices.Equal(got.Events, []string{"contact.created"}) {
		t.Fatalf("refused patch changed the webhook: %v", got.Events)
	}
}

func TestEveryIncompatibleUspacyPairIsRefusedByName(t *testing.T) {
	h := start(t, nil)
	admin := h.token("acme", "admin")
	for _, obj := range []string{"contact", "company", "activity", "post", "comment"} {
		name := obj + ".stage_changed"
		e := h.do("POST", "/v1/webhooks", admin, hook("u", name)).apiErr(t, 400, hookgate.EINVALID)
		if !strings.Contains(e.Error.Fields["events[0]"], `"`+name+`"`) {
			t.Errorf("%s refused without its name: %v", name, e.Error.Fields)
		}
		e = h.do("POST", "/v1/events", h.token("acme", "publisher"), map[string]any{"type": name, "data": map[string]any{}}).apiErr(t, 400, hookgate.EINVALID)
		if !strings.Contains(e.Error.Message, name) {
			t.Errorf("publishing %s refused without its name: %q", name, e.Error.Message)
		}
	}
	// The compatible stage changes are accepted, as are wildcards.
	h.createWebhook(admin, hook("stages", "lead.stage_changed", "deal.stage_changed", "task.stage_changed", "contact.*", "*"))
}

func TestBadRequestsGetTheirStatusAndErrorShape(t *testing.T) {
	h := start(t, func(c *config.Config) { c.Server.BodyLimit = 4096; c.Events.MaxPayload = 2048 })
	admin := h.token("acme", "admin")
	good := `{"name":"x","endpoints":[{"url":"https://x.example.com"}],"events":["*"]}`

	h.do("POST", "/v1/webhooks", admin, `{"name": "x",`).apiErr(t, 400, hookgate.EMALFORMED)
	h.do("POST", "/v1/webhooks", admin, `[1,2]`).apiErr(t, 400, hookgate.EMALFORMED)
	h.do("POST", "/v1/webhooks", admin, `{"name": 7}`).apiErr(t, 400, hookgate.EMALFORMED)
	h.do("POST", "/v1/webhooks", admin, `{"nmae": "x"}`).apiErr(t, 400, hookgate.EMALFORMED)
	h.do("POST", "/v1/webhooks", admin, good+`{}`).apiErr(t, 400, hookgate.EMALFORMED)
	h.do("POST", "/v1/webhooks", admin, ``, "Content-Type", "application/json").apiErr(t, 400, hookgate.EMALFORMED)

	big := `{"name":"` + strings.Repeat("x", 8000) + `","endpoints":[{"url":"https://x.example.com"}],"events":["*"]}`
	h.do("POST", "/v1/webhooks", admin, big).apiErr(t, 413, hookgate.ETOOLARGE)

	h.do("POST", "/v1/webhooks", admin, good, "Content-Type", "text/plain").apiErr(t, 415, hookgate.EUNSUPPORTED)
	h.do("POST", "/v1/webhooks", admin, good, "Content-Type", "application/x-www-form-urlencoded").apiErr(t, 415, hookgate.EUNSUPPORTED)
	h.do("POST", "/v1/webhooks", admin, good, "Content-Encoding", "gzip").apiErr(t, 415, hookgate.EUNSUPPORTED)
	// Charset parameters are fine.
	h.do("POST", "/v1/webhooks", admin, good, "Content-Type", "application/json; charset=utf-8").must(t, 201)

	r := h.do("GET", "/v1/webhooks", "", nil)
	r.apiErr(t, 401, hookgate.EUNAUTHORIZED)
	if r.Header.Get("WWW-Authenticate") == "" {
		t.Fatal("401 without WWW-Authenticate")
	}
	h.do("GET", "/v1/webhooks", "", nil, "Authorization", "Basic YWRtaW46YWRtaW4=").apiErr(t, 401, hookgate.EUNAUTHORIZED)
	h.do("GET", "/v1/webhooks", "not.a.jwt", nil).apiErr(t, 401, hookgate.EUNAUTHORIZED)

	h.do("GET", "/v1/webhooks", h.token("acme", "publisher"), nil).apiErr(t, 403, hookgate.EFORBIDDEN)
	h.do("GET", "/v1/webhooks/wh_doesnotexist", admin, nil).apiErr(t, 404, hookgate.ENOTFOUND)
	h.do("GET", "/v1/nothing-here", admin, nil).apiErr(t, 404, hookgate.ENOTFOUND)
	long := strings.Repeat("x", 5000)
	if e := h.do("GET", "/v1/webhooks/"+long, admin, nil).apiErr(t, 404, hookgate.ENOTFOUND); len(e.Error.Message) > 200 {
		t.Fatalf("a 5000-byte id is echoed back: %d bytes of message", len(e.Error.Message))
	}
	r = h.do("PUT", "/v1/webhooks", admin, good)
	if r.Status != 405 {
		t.Fatalf("PUT /v1/webhooks: %d %s", r.Status, r.Body)
	}
	// An event over events.max_payload but under the body limit is 413 too.
	pub := h.token("acme", "publisher")
	h.do("POST", "/v1/events", pub, map[string]any{"type": "contact.created", "data": map[string]any{"x": strings.Repeat("y", 3000)}}).
		apiErr(t, 413, hookgate.ETOOLARGE)
}

func TestPerTenantWebhookLimitIsAConflict(t *testing.T) {
	h := start(t, func(c *config.Config) { c.Webhooks.MaxPerTenant = 2 })
	admin := h.token("acme", "admin")
	h.createWebhook(admin, hook("one"))
	h.createWebhook(admin, hook("two"))
	e := h.do("POST", "/v1/webhooks", admin, hook("three")).apiErr(t, 409, hookgate.ECONFLICT)
	if !strings.Contains(e.Error.Message, "2") {
		t.Fatalf("limit not named: %q", e.Error.Message)
	}
	// Another tenant has its own allowance.
	h.createWebhook(h.token("other", "admin"), hook("three"))
}

func TestSecretsAreShownOnceAndNeverLogged(t *testing.T) {
	h := start(t, nil)
	admin := h.token("acme", "admin")
	custom := "my-very-own-shared-secret-0123456789"
	b := hook("custom")
	b["secret"] = custom
	c := h.createWebhook(admin, b)
	if c.Secret != custom {
		t.Fatalf("custom secret not returned on create: %q", c.Secret)
	}
	g := h.createWebhook(admin, hook("generated"))
	secrets := []string{custom, g.Secret}

	responses := []response{
		h.do("GET", "/v1/webhooks/"+c.ID, admin, nil).must(t, 200),
		h.do("GET", "/v1/webhooks/"+g.ID, admin, nil).must(t, 200),
		h.do("GET", "/v1/webhooks", admin, nil).must(t, 200),
		h.do("GET", "/v1/webhooks?search=custom", admin, nil).must(t, 200),
		h.do("PATCH", "/v1/webhooks/"+c.ID, admin, map[string]any{"name": "custom 2"}).must(t, 200),
		// A refused request that carries a secret must not echo it either.
		h.do("POST", "/v1/webhooks", admin, map[string]any{"name": "", "secret": custom + "-x", "endpoints": endpoints("https://x.example.com"), "events": []string{"*"}}).must(t, 400),
		h.do("PATCH", "/v1/webhooks/"+c.ID, admin, map[string]any{"secret": custom + "-y"}).must(t, 400),
	}
	secrets = append(secrets, custom+"-x", custom+"-y")
	for i, r := range responses {
		for _, s := range secrets {
			if strings.Contains(string(r.Body), s) {
				t.Errorf("response %d shows a secret: %s", i, r.Body)
			}
		}
		if r.Status < 300 && strings.Contains(string(r.Body), `"secret"`) {
			t.Errorf("response %d has a secret field: %s", i, r.Body)
		}
	}
	// The log level is debug in tests: every request is logged, none with a secret.
	logs := h.logs.String()
	if !strings.Contains(logs, `"route":"/v1/webhooks"`) {
		t.Fatalf("requests were not logged at all; the check below would prove nothing:\n%s", logs)
	}
	for _, s := range append(secrets, strings.TrimPrefix(g.Secret, "whsec_")) {
		if strings.Contains(logs, s) {
			t.Fatalf("a secret appears in the logs:\n%s", logs)
		}
	}
}

func TestConcurrentPatchesLoseNothing(t *testing.T) {
	h := start(t, nil)
	admin := h.token("acme", "admin")
	w := h.createWebhook(admin, hook("shared"))
	// Two admins: one changes the name, the other the metadata, many times
	// each; the last writes of both survive because PATCH changes only the
	// fields it names, under one atomic update.
	const n = 20
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			h.do("PATCH", "/v1/webhooks/"+w.ID, admin, map[string]any{"name": fmt.Sprintf("name-%02d", i)}).must(t, 200)
		}()
		go func() {
			defer wg.Done()
			h.do("PATCH", "/v1/webhooks/"+w.ID, admin, map[string]any{"description": fmt.Sprintf("desc-%02d", i)}).must(t, 200)
		}()
	}
	wg.Wait()
	var got hookgate.Webhook
	h.do("GET", "/v1/webhooks/"+w.ID, admin, nil).must(t, 200).json(t, &got)
	if !strings.HasPrefix(got.Name, "name-") || !strings.HasPrefix(got.Description, "desc-") ||
		!slices.Equal(got.Events, []string{"contact.created"}) || len(got.Endpoints) != 1 {
		t.Fatalf("a concurrent patch was lost: %+v", got)
	}
	// The name index follows the last name: searching for it finds the webhook once.
	if p := h.list(admin, "search="+got.Name); len(p.Data) != 1 {
		t.Fatalf("search for the final name %q: %v", got.Name, names(p.Data))
	}
	if p := h.list(admin, "search=name-"); len(p.Data) != 1 {
		t.Fatalf("stale name index entries: %v", names(p.Data))
	}
}

func TestEventCatalogueIsServed(t *testing.T) {
	h := start(t, nil)
	var cat struct {
		Data []hookgate.EventType `json:"data"`
	}
	h.do("GET", "/v1/event-types", h.token("acme", "publisher"), nil).must(t, 200).json(t, &cat)
	byName := map[string]hookgate.EventType{}
	for _, et := range cat.Data {
		byName[et.Name] = et
	}
	for _, want := range []struct{ name, category, object string }{
		{"contact.created", "CRM", "contact"},
		{"calendar_event.deleted", "Calendar", "calendar_event"},
		{"deal.won", "CRM", "deal"},
		{"extension.created", "Configuration", "extension"},
		{"whatsapp.message_sent", "Communications", "whatsapp"},
		{"webhook.test", "System", "webhook"},
	} {
		got, ok := byName[want.name]
		if !ok || got.Category != want.category || got.Object != want.object {
			t.Errorf("%s: %+v", want.name, got)
		}
	}
	if _, ok := byName["contact.stage_changed"]; ok {
		t.Error("an incompatible pair is listed")
	}
	h.do("GET", "/v1/event-types", "", nil).apiErr(t, 401, hookgate.EUNAUTHORIZED)
}

func TestHealthReadinessMetricsAndRequestIDs(t *testing.T) {
	h := start(t, nil)
	admin := h.token("acme", "admin")
	var health struct{ Status, Version string }
	h.do("GET", "/healthz", "", nil).must(t, 200).json(t, &health)
	if health.Status != "ok" || health.Version == "" {
		t.Fatalf("healthz: %+v", health)
	}
	h.do("GET", "/readyz", "", nil).must(t, 200)
	h.createWebhook(admin, hook("counted"))
	r := h.do("GET", "/metrics", "", nil).must(t, 200)
	for _, want := range []string{
		`hookgate_http_requests_total{method="POST",route="/v1/webhooks",status="201"} 1`,
		`hookgate_http_request_duration_seconds_bucket{method="POST",route="/v1/webhooks"`,
		`go_goroutines`,
		`hookgate_process_info{role="all",version="`,
	} {
		if !strings.Contains(string(r.Body), want) {
			t.Errorf("metrics lack %s\n%s", want, r.Body)
		}
	}
	// A caller's request id is echoed and used in errors; a bad one is replaced.
	r = h.do("GET", "/v1/webhooks/wh_nope", admin, nil, "X-Request-Id", "crm-trace-123")
	if e := r.apiErr(t, 404, hookgate.ENOTFOUND); e.Error.RequestID != "crm-trace-123" {
		t.Fatalf("request id %q", e.Error.RequestID)
	}
	r = h.do("GET", "/healthz", "", nil, "X-Request-Id", strings.Repeat("x", 100))
	if rid := r.Header.Get("X-Request-Id"); !strings.HasPrefix(rid, "req_") {
		t.Fatalf("an oversize request id was kept: %q", rid)
	}
	// Request logs carry the request id (debug level logs every request).
	if !strings.Contains(h.logs.String(), `"request_id":"crm-trace-123"`) {
		t.Fatalf("request not logged with its id:\n%s", h.logs.String())
	}
}

func TestTenantsNeverReachEachOthersDeliveries(t *testing.T) {
	h := start(t, nil)
	rec := receiver.NewRecorder()
	srv := httptest.NewServer(rec)
	defer srv.Close()
	a := h.token("tenant-a", "admin", "publisher")
	b := h.token("tenant-b", "admin", "publisher")
	wa := h.createWebhook(a, map[string]any{"name": "a", "endpoints": endpoints(srv.URL), "events": []string{"deal.won"}})
	h.do("POST", "/v1/events", a, map[string]any{"type": "deal.won", "data": map[string]any{"id": 1}}).must(t, 202)
	var ds []hookgate.Delivery
	testenv.Eventually(t, 5*time.Second, "the delivery to be logged", func() bool {
		ds = h.deliveries(a, wa.ID, "")
		return len(ds) == 1 && ds[0].Status == hookgate.DeliverySucceeded
	})
	// Tenant b publishing the same event type reaches nothing of tenant a.
	var res struct{ Deliveries int }
	h.do("POST", "/v1/events", b, map[string]any{"type": "deal.won", "data": map[string]any{"id": 2}}).must(t, 202).json(t, &res)
	if res.Deliveries != 0 {
		t.Fatalf("tenant b's event reached %d deliveries", res.Deliveries)
	}
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/v1/webhooks/" + wa.ID + "/deliveries", nil},
		{"GET", "/v1/deliveries/" + ds[0].ID, nil},
		{"POST", "/v1/deliveries/" + ds[0].ID + "/retry", nil},
		{"POST", "/v1/webhooks/" + wa.ID + "/test", nil},
		{"POST", "/v1/webhooks/" + wa.ID + "/preview", map[string]any{"type": "deal.won", "data": map[string]any{}}},
	} {
		h.do(tc.method, tc.path, b, tc.body).apiErr(t, 404, hookgate.ENOTFOUND)
	}
	if n := rec.Count(); n != 1 {
		t.Fatalf("the receiver got %d requests; tenant b's calls sent something", n)
	}
}
