package app_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hookgate/hookgate"
)

// FuzzCreateWebhookBody sends arbitrary bodies to POST /v1/webhooks through
// the real Fiber app, services and Redis. Whatever the bytes, the answer is
// a 201 with a webhook or a 4xx with the error shape: never a 5xx, never a
// panic, never a stored webhook that reads back differently or shows its
// secret. `go test` runs the seeds; `go test -fuzz FuzzCreateWebhookBody
// ./app` explores.
func FuzzCreateWebhookBody(f *testing.F) {
	for _, seed := range []string{
		`{"name":"ERP Sync","endpoints":[{"url":"https://erp.example.com/hook"}],"events":["deal.won","invoice.paid"]}`,
		`{"name":"all","endpoints":[{"url":"https://a.example.com","enabled":false}],"events":["*","contact.*"],"format":"standard","secret":"0123456789abcdef0123456789","metadata":{"k":"v"},"description":"d","enabled":false}`,
		`{"name":"x","endpoints":[{"url":"http://user:pw@[::1]:0/#f"}],"events":["contact.stage_changed","ContactCreated"],"timeout":-1,"retry":{"delays":["0s"]}}`,
		`{"name":"x","endpoints":[{"url":"https://a.example.com"}],"events":["deal.won"],"system":true}`,
		`{"name":"\u0000\ud800","endpoints":null,"events":[null],"timeout":"1e309s"}`,
		`{"name":"x"}{"name":"y"}`,
		`[]`,
		``,
	} {
		f.Add([]byte(seed))
	}
	h := start(f, nil)
	admin := h.token("fuzz", "admin")
	g := h.app.Gateway.App()

	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/v1/webhooks", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := g.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 500 {
			t.Fatalf("%d for %q: %s", resp.StatusCode, body, out)
		}
		if resp.StatusCode != 201 {
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal(out, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("%d without the error shape for %q: %s", resp.StatusCode, body, out)
			}
			return
		}
		var created struct {
			hookgate.Webhook
			Secret string `json:"secret"`
		}
		if err := json.Unmarshal(out, &created); err != nil || created.ID == "" || created.Tenant != "fuzz" {
			t.Fatalf("201 without a webhook of this tenant for %q: %s", body, out)
		}
		get := httptest.NewRequest("GET", "/v1/webhooks/"+created.ID, nil)
		get.Header.Set("Authorization", "Bearer "+admin)
		resp, err = g.Test(get, -1)
		if err != nil {
			t.Fatal(err)
		}
		back, _ := io.ReadAll(resp.Body)
		var stored hookgate.Webhook
		if resp.StatusCode != 200 || json.Unmarshal(back, &stored) != nil || stored.Name != created.Name ||
			len(stored.Endpoints) != len(created.Endpoints) || len(stored.Events) != len(created.Events) {
			t.Fatalf("created %s, read back %d %s", out, resp.StatusCode, back)
		}
		if created.Secret != "" && strings.Contains(string(back), created.Secret) {
			t.Fatalf("GET shows the secret: %s", back)
		}
		del := httptest.NewRequest("DELETE", "/v1/webhooks/"+created.ID, nil)
		del.Header.Set("Authorization", "Bearer "+admin)
		if resp, err = g.Test(del, -1); err != nil || resp.StatusCode != 204 {
			t.Fatalf("delete: %v %v", resp, err)
		}
	})
}
