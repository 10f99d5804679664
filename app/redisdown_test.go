package app_test

import (
	"slices"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/testenv"
)

func TestRedisDownMeansNotReadyAndUnavailable(t *testing.T) {
	rs := testenv.StartRedisServer(t, "")
	h := start(t, func(c *config.Config) { c.Redis.Addr = rs.Addr })
	admin := h.token("acme", "admin")
	pub := h.token("acme", "publisher")
	w := h.createWebhook(admin, hook("before"))
	h.do("GET", "/readyz", "", nil).must(t, 200)

	rs.Kill()

	h.do("GET", "/readyz", "", nil).apiErr(t, 503, hookgate.EUNAVAILABLE)
	h.do("GET", "/healthz", "", nil).must(t, 200) // the process itself is fine
	for _, tc := range []struct {
		method, path, token string
		body                any
	}{
		{"POST", "/v1/webhooks", admin, hook("during")},
		{"GET", "/v1/webhooks", admin, nil},
		{"GET", "/v1/webhooks/" + w.ID, admin, nil},
		{"PATCH", "/v1/webhooks/" + w.ID, admin, map[string]any{"name": "x"}},
		{"DELETE", "/v1/webhooks/" + w.ID, admin, nil},
		{"POST", "/v1/events", pub, map[string]any{"type": "contact.created", "data": map[string]any{"id": 1}}},
		{"POST", "/v1/events", pub, map[string]any{"type": "contact.created", "data": map[string]any{"id": 2}}},
		{"POST", "/v1/events/batch", pub, map[string]any{"events": []map[string]any{{"type": "contact.created", "data": map[string]any{}}}}},
	} {
		r := h.do(tc.method, tc.path, tc.token, tc.body)
		r.apiErr(t, 503, hookgate.EUNAVAILABLE)
	}
	// Authentication does not need Redis: a bad token is still a 401.
	h.do("GET", "/v1/webhooks", "bad.token.here", nil).apiErr(t, 401, hookgate.EUNAUTHORIZED)

	// Redis back (empty: it kept nothing on disk): ready again, and the API
	// works without a restart of hookgate.
	rs.Start()
	testenv.Eventually(t, 10*time.Second, "/readyz to answer 200", func() bool {
		return h.do("GET", "/readyz", "", nil).Status == 200
	})
	h.createWebhook(admin, hook("after"))
	if got := names(h.list(admin, "").Data); !slices.Equal(got, []string{"after"}) {
		t.Fatalf("after Redis came back: %v", got)
	}
}
