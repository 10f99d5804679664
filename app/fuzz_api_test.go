package app_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/net/http/httpguts"

	"github.com/hookgate/hookgate/config"
)

// The fuzz targets of the admin and publishing API. Each sends arbitrary
// bytes through the real Fiber app, services and Redis (app.Test, no
// listener) and checks what the API promises for any input: never a 5xx or
// a panic, a refusal in the documented error shape, and what is accepted
// reads back as answered. `go test` runs their seeds; `make fuzz` explores.

// fuzzCall sends one request to the app and returns the status and body.
func fuzzCall(t *testing.T, g *fiber.App, method, path, token string, body []byte, headers ...string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := g.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// mustRefuseWell fails unless a non-success answer is a 4xx with the error
// shape {"error":{"code","message"}}.
func mustRefuseWell(t *testing.T, what string, input []byte, status int, out []byte) {
	t.Helper()
	if status >= 500 || status < 400 {
		t.Fatalf("%s: %d for %q: %s", what, status, input, out)
	}
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(out, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("%s: %d without the error shape for %q: %s", what, status, input, out)
	}
}

// fuzzReceiver is a loopback receiver answering 204 at once.
func fuzzReceiver(f *testing.F) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	f.Cleanup(srv.Close)
	return srv.URL
}

type publishAnswerShape struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Deliveries *int   `json:"deliveries"`
	Duplicate  bool   `json:"duplicate"`
}

// FuzzPublishEvent sends arbitrary bodies (and Idempotency-Keys) to POST
// /v1/events, with a webhook subscribed to every event so that accepted
// events fan out to a real receiver. Invariant: 202 naming the event (its
// own id when it gave one) or a 4xx with the error shape; a repeat of an
// accepted event with an id or a key is answered again as a duplicate of the
// same event.
func FuzzPublishEvent(f *testing.F) {
	for _, seed := range []struct{ body, key string }{
		{`{"type":"deal.won","data":{"id":42,"amount":1200}}`, ""},
		{`{"id":"evt_crm_1","type":"contact.created","data":{"name":"Ann"},"occurred_at":"2026-01-02T15:04:05Z"}`, ""},
		{`{"type":"deal.won","data":{}}`, "order-42"},
		{`{"type":"ContactCreated","data":{}}`, ""},
		{`{"type":"no.such","data":{}}`, ""},
		{`{"type":"deal.won","data":[1,2]}`, ""},
		{`{"type":"deal.won","data":null}`, ""},
		{`{"type":"deal.won"}`, ""},
		{`{"id":"bad id with spaces","type":"deal.won","data":{}}`, ""},
		{`{"type":"deal.won","data":{},"occurred_at":"yesterday"}`, ""},
		{`{"type":"deal.won","data":{},"extra":1}`, ""},
		{`{"type":"deal.won","data":{"a":"\ud800"}}`, ""},
		{`{"type":"deal.won","data":{"a":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}}`, ""},
		{`{"type":"deal.won","data":{}}{"type":"deal.won","data":{}}`, ""},
		{`{"type":"deal.won","data":{}}`, strings.Repeat("k", 256)},
		{`[]`, ""},
		{``, ""},
	} {
		f.Add([]byte(seed.body), seed.key)
	}
	h := start(f, nil)
	admin, pub := h.token("fuzz", "admin"), h.token("fuzz", "publisher")
	h.createWebhook(admin, map[string]any{"name": "all", "endpoints": endpoints(fuzzReceiver(f)), "events": []string{"*"}})
	g := h.app.Gateway.App()

	f.Fuzz(func(t *testing.T, body []byte, key string) {
		if !httpguts.ValidHeaderFieldValue(key) {
			return // not a header a client can send
		}
		status, out := fuzzCall(t, g, "POST", "/v1/events", pub, body, "Idempotency-Key", key)
		if status != http.StatusAccepted {
			mustRefuseWell(t, "publish", body, status, out)
			return
		}
		var a publishAnswerShape
		if err := json.Unmarshal(out, &a); err != nil || a.ID == "" || a.Type == "" || a.Deliveries == nil {
			t.Fatalf("202 without an event for %q: %s", body, out)
		}
		var in struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(body, &in)
		if key == "" && in.ID != "" && a.ID != in.ID {
			t.Fatalf("event %q accepted as %q: %s", in.ID, a.ID, out)
		}
		if key == "" && in.ID == "" {
			return // a new event each time: no repeat to check
		}
		status, again := fuzzCall(t, g, "POST", "/v1/events", pub, body, "Idempotency-Key", key)
		var b publishAnswerShape
		if status != http.StatusAccepted || json.Unmarshal(again, &b) != nil || b.ID != a.ID || !b.Duplicate {
			t.Fatalf("repeat of %q (key %q): %d %s, first %s", body, key, status, again, out)
		}
	})
}

// FuzzPublishBatch sends arbitrary bodies to POST /v1/events/batch.
// Invariant: 202 with one answer, naming an event, per event sent, or a 4xx
// with the error shape.
func FuzzPublishBatch(f *testing.F) {
	for _, seed := range []string{
		`{"events":[{"type":"deal.won","data":{"id":1}},{"type":"contact.created","data":{}}]}`,
		`{"events":[{"id":"evt_b1","type":"deal.won","data":{}},{"id":"evt_b1","type":"deal.won","data":{}}]}`,
		`{"events":[{"type":"deal.won","data":{}},{"type":"no.such","data":{}}]}`,
		`{"events":[]}`,
		`{"events":null}`,
		`{"events":[null]}`,
		`{"events":[{"type":"deal.won","data":"x"}]}`,
		`{"events":{"type":"deal.won"}}`,
		`{"events":[{"type":"deal.won","data":{}}],"events":[]}`,
		`{"events":[` + strings.TrimSuffix(strings.Repeat(`{"type":"deal.won","data":{}},`, 101), ",") + `]}`,
		`{}`,
		``,
	} {
		f.Add([]byte(seed))
	}
	h := start(f, nil)
	admin, pub := h.token("fuzz", "admin"), h.token("fuzz", "publisher")
	h.createWebhook(admin, map[string]any{"name": "all", "endpoints": endpoints(fuzzReceiver(f)), "events": []string{"*"}})
	g := h.app.Gateway.App()

	f.Fuzz(func(t *testing.T, body []byte) {
		status, out := fuzzCall(t, g, "POST", "/v1/events/batch", pub, body)
		if status != http.StatusAccepted {
			mustRefuseWell(t, "batch", body, status, out)
			return
		}
		var in struct {
			Events []json.RawMessage `json:"events"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			t.Fatalf("202 for a body that is not a batch %q: %s", body, out)
		}
		var res struct {
			Data []publishAnswerShape `json:"data"`
		}
		if err := json.Unmarshal(out, &res); err != nil || len(res.Data) != len(in.Events) {
			t.Fatalf("%d events sent, answered %s", len(in.Events), out)
		}
		for i, a := range res.Data {
			if a.ID == "" || a.Type == "" || a.Deliveries == nil {
				t.Fatalf("answer %d names no event: %s", i, out)
			}
		}
	})
}

// FuzzPatchWebhook sends arbitrary bodies to PATCH /v1/webhooks/{id} on a
// fresh webhook each time. Invariant: 200 with the webhook, which then reads
// back exactly as answered, or a 4xx with the error shape after which the
// webhook reads back unchanged.
func FuzzPatchWebhook(f *testing.F) {
	for _, seed := range []string{
		`{"name":"Renamed"}`,
		`{"enabled":false,"description":"off for now"}`,
		`{"events":["deal.*","contact.created"]}`,
		`{"endpoints":[{"url":"https://b.example.com/hook"},{"url":"https://c.example.com","enabled":false}]}`,
		`{"endpoints":[]}`,
		`{"events":[]}`,
		`{"name":""}`,
		`{"name":null}`,
		`{"secret":"0123456789abcdef0123456789"}`,
		`{"timeout":"10s","retry":{"delays":["1s","1m"]}}`,
		`{"timeout":"1h"}`,
		`{"retry":{"delays":["-1s"]}}`,
		`{"metadata":{"k":"v"},"format":"standard"}`,
		`{"format":"no-such-format"}`,
		`{"system":true}`,
		`{"id":"wh_other","tenant":"other"}`,
		`{"endpoints":[{"url":"ftp://a"}]}`,
		`{"name":"x"}{"name":"y"}`,
		`[]`,
		``,
	} {
		f.Add([]byte(seed))
	}
	h := start(f, nil)
	admin := h.token("fuzz", "admin")
	g := h.app.Gateway.App()
	create, _ := json.Marshal(map[string]any{"name": "ERP Sync", "endpoints": endpoints("https://erp.example.com/hook"),
		"events": []string{"deal.won"}, "metadata": map[string]string{"team": "sales"}})

	read := func(t *testing.T, id string) map[string]any {
		t.Helper()
		status, out := fuzzCall(t, g, "GET", "/v1/webhooks/"+id, admin, nil)
		var w map[string]any
		if status != 200 || json.Unmarshal(out, &w) != nil {
			t.Fatalf("GET %s: %d %s", id, status, out)
		}
		return w
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		status, out := fuzzCall(t, g, "POST", "/v1/webhooks", admin, create)
		var created struct {
			ID string `json:"id"`
		}
		if status != 201 || json.Unmarshal(out, &created) != nil || created.ID == "" {
			t.Fatalf("create: %d %s", status, out)
		}
		defer func() {
			if status, out := fuzzCall(t, g, "DELETE", "/v1/webhooks/"+created.ID, admin, nil); status != 204 {
				t.Fatalf("delete: %d %s", status, out)
			}
		}()
		before := read(t, created.ID)
		status, out = fuzzCall(t, g, "PATCH", "/v1/webhooks/"+created.ID, admin, body)
		after := read(t, created.ID)
		if status != 200 {
			mustRefuseWell(t, "patch", body, status, out)
			if !reflect.DeepEqual(before, after) {
				t.Fatalf("refused %q (%d), yet the webhook changed:\n%v\n%v", body, status, before, after)
			}
			return
		}
		var answered map[string]any
		if err := json.Unmarshal(out, &answered); err != nil {
			t.Fatalf("200 without a webhook for %q: %s", body, out)
		}
		if !reflect.DeepEqual(answered, after) {
			t.Fatalf("patched with %q, answered\n%v\nbut reads back\n%v", body, answered, after)
		}
		if answered["id"] != created.ID || answered["tenant"] != "fuzz" {
			t.Fatalf("patch %q moved the webhook: %s", body, out)
		}
	})
}

// FuzzCreateIncomingWebhook sends arbitrary bodies to POST
// /v1/incoming-webhooks. Invariant: 201 with an incoming webhook owned by
// the caller and a URL under /in/, which reads back with the same name and
// scopes, or a 4xx with the error shape.
func FuzzCreateIncomingWebhook(f *testing.F) {
	for _, seed := range []string{
		`{"name":"Zapier","scopes":["crm","tasks"]}`,
		`{"name":"bot","scopes":["tasks"],"enabled":false,"description":"d"}`,
		`{"name":"x","scopes":["payroll"]}`,
		`{"name":"x","scopes":[]}`,
		`{"name":"x","scopes":["crm","crm"]}`,
		`{"name":"","scopes":["crm"]}`,
		`{"name":"x","scopes":["crm"],"owner":"someone-else"}`,
		`{"name":"x","scopes":["crm"],"transform":"no-such-plugin"}`,
		`{"name":"x","scopes":["crm"],"settings":{"a":"b"}}`,
		`{"name":"` + strings.Repeat("n", 300) + `","scopes":["crm"]}`,
		`{"name":"x","scopes":null}`,
		`{"name":"x","scopes":"crm"}`,
		`[]`,
		``,
	} {
		f.Add([]byte(seed))
	}
	h := start(f, func(c *config.Config) {
		// Nothing is proxied here: the upstream is never called.
		c.Incoming.Scopes = map[string]config.Scope{
			"crm":   {Prefixes: []string{"/crm/"}, Upstream: "http://127.0.0.1:9"},
			"tasks": {Prefixes: []string{"/tasks/"}, Upstream: "http://127.0.0.1:9", Methods: []string{"GET"}},
		}
	})
	admin := h.token("fuzz", "admin")
	g := h.app.Gateway.App()

	f.Fuzz(func(t *testing.T, body []byte) {
		status, out := fuzzCall(t, g, "POST", "/v1/incoming-webhooks", admin, body)
		if status != 201 {
			mustRefuseWell(t, "create incoming", body, status, out)
			return
		}
		var created struct {
			ID     string   `json:"id"`
			Owner  string   `json:"owner"`
			Name   string   `json:"name"`
			Scopes []string `json:"scopes"`
			URL    string   `json:"url"`
		}
		if err := json.Unmarshal(out, &created); err != nil || created.ID == "" || created.Owner != "user-fuzz" ||
			!strings.HasPrefix(created.URL, h.cfg.Server.PublicURL+"/in/") {
			t.Fatalf("201 without an incoming webhook of the caller for %q: %s", body, out)
		}
		defer func() {
			if status, out := fuzzCall(t, g, "DELETE", "/v1/incoming-webhooks/"+created.ID, admin, nil); status != 204 {
				t.Fatalf("delete: %d %s", status, out)
			}
		}()
		status, back := fuzzCall(t, g, "GET", "/v1/incoming-webhooks/"+created.ID, admin, nil)
		var stored struct {
			Name   string   `json:"name"`
			Scopes []string `json:"scopes"`
		}
		if status != 200 || json.Unmarshal(back, &stored) != nil || stored.Name != created.Name ||
			!reflect.DeepEqual(stored.Scopes, created.Scopes) {
			t.Fatalf("created %s, read back %d %s", out, status, back)
		}
	})
}
