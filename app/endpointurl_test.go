package app_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/testenv"
)

// An endpoint URL is stored exactly as it was validated: surrounding
// whitespace goes on create, on PATCH and in the test-before-save route,
// and the stored URL is the one deliveries reach.
func TestEndpointURLsAreStoredAsValidated(t *testing.T) {
	h := start(t, nil)
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	rec := receiver.NewRecorder()
	srv := httptest.NewServer(rec)
	defer srv.Close()

	w := h.createWebhook(admin, map[string]any{"name": "padded", "events": []string{"deal.won"},
		"endpoints": endpoints(" \t"+srv.URL+"/hook\n", " https://x.example/hook")})
	for i, want := range []string{srv.URL + "/hook", "https://x.example/hook"} {
		if got := h.webhook(admin, w.ID).Endpoints[i].URL; got != want {
			t.Fatalf("endpoint %d stored as %q, want %q", i, got, want)
		}
	}
	// Deliveries reach the stored URL (the untrimmed one failed as "connect").
	h.publish(pub, "deal.won", map[string]any{"n": 1})
	if _, err := rec.WaitFor(testenv.Context(t), 1); err != nil {
		t.Fatalf("the delivery did not arrive: %v", err)
	}

	// PATCH: normalised the same way, and an endpoint repeated with
	// whitespace around it keeps its id.
	before := h.webhook(admin, w.ID).Endpoints[0]
	var patched hookgate.Webhook
	h.do("PATCH", "/v1/webhooks/"+w.ID, admin, map[string]any{"endpoints": endpoints(srv.URL+"/hook  ", "\u00a0https://x.example/other")}).must(t, 200).json(t, &patched)
	if patched.Endpoints[0].URL != srv.URL+"/hook" || patched.Endpoints[0].ID != before.ID {
		t.Fatalf("patched endpoint 0: %+v, want %s with id %s", patched.Endpoints[0], srv.URL+"/hook", before.ID)
	}
	if patched.Endpoints[1].URL != "https://x.example/other" {
		t.Fatalf("patched endpoint 1 stored as %q", patched.Endpoints[1].URL)
	}
	// The same URL twice, once padded, is a duplicate.
	r := h.do("PATCH", "/v1/webhooks/"+w.ID, admin, map[string]any{"endpoints": endpoints(srv.URL+"/hook", " "+srv.URL+"/hook")})
	if ae := r.apiErr(t, http.StatusBadRequest, hookgate.EINVALID); ae.Error.Fields["endpoints[1].url"] == "" {
		t.Fatalf("padded duplicate: %s", r.Body)
	}

	// Test before save: the padded URL is tried as normalised, and answered so.
	var res struct {
		Data []struct {
			URL string `json:"url"`
			OK  bool   `json:"ok"`
		} `json:"data"`
	}
	h.do("POST", "/v1/webhooks/test", admin, map[string]any{"urls": []string{"  " + srv.URL + "/hook "}}).must(t, 200).json(t, &res)
	if len(res.Data) != 1 || !res.Data[0].OK || res.Data[0].URL != srv.URL+"/hook" {
		t.Fatalf("test before save answered %+v", res.Data)
	}
}

// A URL that no trimming makes safe is refused by name, on every route
// that takes one, and nothing is stored.
func TestEndpointURLsWithInnerSpacesOrControlCharactersAreRefused(t *testing.T) {
	h := start(t, nil)
	admin := h.token("acme", "admin")
	w := h.createWebhook(admin, hook("kept"))
	for _, bad := range []string{
		"https://x.example/a b",
		"https://x .example/hook",
		"https://x.example/\thook",
		"https://x.example/hook\r\nX-Injected: 1",
		"https://x.example/\x00hook",
		"\x7fhttps://x.example/hook",
		"https://x.example/\u00a0hook",
		"https://x.example/\u200bhook",
		"https://x.example/\u202ehook",
		"   ",
	} {
		r := h.do("POST", "/v1/webhooks", admin, map[string]any{"name": "bad", "endpoints": endpoints(bad), "events": []string{"deal.won"}})
		if ae := r.apiErr(t, http.StatusBadRequest, hookgate.EINVALID); ae.Error.Fields["endpoints[0].url"] == "" {
			t.Fatalf("create with %q: %s", bad, r.Body)
		}
		r = h.do("PATCH", "/v1/webhooks/"+w.ID, admin, map[string]any{"endpoints": endpoints(bad)})
		if ae := r.apiErr(t, http.StatusBadRequest, hookgate.EINVALID); ae.Error.Fields["endpoints[0].url"] == "" {
			t.Fatalf("patch with %q: %s", bad, r.Body)
		}
		r = h.do("POST", "/v1/webhooks/test", admin, map[string]any{"urls": []string{bad}})
		if ae := r.apiErr(t, http.StatusBadRequest, hookgate.EINVALID); ae.Error.Fields["urls[0]"] == "" {
			t.Fatalf("test with %q: %s", bad, r.Body)
		}
	}
	if got := h.webhook(admin, w.ID).Endpoints; len(got) != 1 || !strings.HasSuffix(got[0].URL, "/kept") {
		t.Fatalf("a refused PATCH changed the endpoints: %+v", got)
	}
	if n := len(h.list(admin, "").Data); n != 1 {
		t.Fatalf("%d webhooks stored, want 1", n)
	}
}
