package app_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/app"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/testenv"
	"github.com/hookgate/hookgate/queue"
)

// queued is how many delivery tasks the harness's queue holds in any state.
func (h *harness) queued() int {
	h.t.Helper()
	info, err := queue.QueueInfo(context.Background(), h.rdb, app.QueueName(h.cfg))
	if err != nil {
		if strings.Contains(err.Error(), "does not exist") {
			return 0
		}
		h.t.Fatal(err)
	}
	return info.Pending + info.Active + info.Scheduled + info.Retry + info.Completed + info.Archived
}

// Bad events get a clear 4xx naming what is wrong, and nothing of the
// request is enqueued, not even the good events of a refused batch. The
// process runs as role api, so accepted tasks stay queued where they can be
// counted.
func TestBadEventsAreRefusedAndNothingIsEnqueued(t *testing.T) {
	h := start(t, func(c *config.Config) {
		c.Events.MaxPayload = 1024
		c.Events.MaxBatch = 3
		c.Server.Role = "api"
	})
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	h.createWebhook(admin, map[string]any{"name": "all", "endpoints": endpoints("http://127.0.0.1:9/hook"), "events": []string{"*"}})
	good := map[string]any{"type": "contact.created", "data": map[string]any{"id": "c1"}}
	cases := []struct {
		name, path string
		body       any
		headers    []string
		status     int
		code       string
		mentions   string
	}{
		{"unknown type", "/v1/events", map[string]any{"type": "contact.exploded", "data": map[string]any{}}, nil, 400, hookgate.EINVALID, "contact.exploded"},
		{"missing type", "/v1/events", map[string]any{"data": map[string]any{}}, nil, 400, hookgate.EINVALID, "type"},
		{"data not an object", "/v1/events", `{"type":"contact.created","data":"text"}`, nil, 400, hookgate.EINVALID, "data"},
		{"not JSON", "/v1/events", `{"type":"contact.created",`, nil, 400, hookgate.EMALFORMED, "JSON"},
		{"oversize payload", "/v1/events", map[string]any{"type": "contact.created", "data": map[string]any{"blob": strings.Repeat("x", 2048)}}, nil, 413, hookgate.ETOOLARGE, "1024"},
		{"batch too large", "/v1/events/batch", map[string]any{"events": []any{good, good, good, good}}, nil, 413, hookgate.ETOOLARGE, "3"},
		{"one bad event in a batch", "/v1/events/batch", map[string]any{"events": []any{good, map[string]any{"type": "nope.nope", "data": map[string]any{}}, good}}, nil, 400, hookgate.EINVALID, "nope.nope"},
		{"wrong content type", "/v1/events", `type=contact.created`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "", ""},
	}
	for _, tc := range cases {
		r := h.do("POST", tc.path, pub, tc.body, tc.headers...)
		if r.Status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, r.Status, tc.status, r.Body)
			continue
		}
		code := r.errorCode(t)
		if tc.code != "" && code != tc.code {
			t.Errorf("%s: code %q, want %q", tc.name, code, tc.code)
		}
		if !strings.Contains(string(r.Body), tc.mentions) {
			t.Errorf("%s: error does not mention %q: %s", tc.name, tc.mentions, r.Body)
		}
	}
	if n := h.queued(); n != 0 {
		t.Fatalf("%d tasks enqueued by refused requests", n)
	}
	// The same webhook and publisher do enqueue a good event: the zero above
	// is not an artefact.
	h.do("POST", "/v1/events/batch", pub, map[string]any{"events": []any{good, good}}).must(t, 202)
	if n := h.queued(); n != 2 {
		t.Fatalf("%d tasks after a good batch of two, want 2", n)
	}
}

// A delivery whose retries are spent can be retried by hand: same delivery
// id (webhook-id), one more attempt in its log.
func TestManualRetryOfAFailedDelivery(t *testing.T) {
	h := start(t, nil) // two retries, 50 ms and 100 ms
	rec := receiver.NewRecorder()
	rec.SetStatus(500)
	srv := httptest.NewServer(rec)
	defer srv.Close()
	admin := h.token("acme", "admin")
	w := h.createWebhook(admin, map[string]any{"name": "w", "endpoints": endpoints(srv.URL), "events": []string{"invoice.paid"}})
	h.do("POST", "/v1/events", h.token("acme", "publisher"), map[string]any{"type": "invoice.paid", "data": map[string]any{"n": 1}}).must(t, 202)
	var failed hookgate.Delivery
	testenv.Eventually(t, 10*time.Second, "the delivery failed", func() bool {
		ds := h.deliveries(admin, w.ID, "?status=failed")
		if len(ds) == 1 {
			failed = ds[0]
		}
		return len(ds) == 1
	})
	if failed.Attempts != 3 {
		t.Fatalf("failed after %d attempts, want 3", failed.Attempts)
	}
	// Retrying a delivery of another tenant is a 404.
	h.do("POST", "/v1/deliveries/"+failed.ID+"/retry", h.token("globex", "admin"), nil).must(t, 404)
	rec.SetStatus(200)
	h.do("POST", "/v1/deliveries/"+failed.ID+"/retry", admin, nil).must(t, 202)
	got, err := rec.WaitFor(testenv.Context(t), 4)
	if err != nil {
		t.Fatal(err)
	}
	if got[3].ID != got[0].ID || got[3].ID == "" {
		t.Fatalf("manual retry carries webhook-id %q, first attempt %q", got[3].ID, got[0].ID)
	}
	testenv.Eventually(t, 5*time.Second, "the retried delivery succeeded", func() bool {
		var d deliveryView
		h.do("GET", "/v1/deliveries/"+failed.ID, admin, nil).must(t, 200).json(t, &d)
		return d.Status == hookgate.DeliverySucceeded && d.Attempts == 4 && len(d.AttemptLog) == 4 && d.AttemptLog[3].StatusCode == 200
	})
}

// startShared runs another hookgate process on the same Redis and prefix as
// h, with its own role.
func startShared(t *testing.T, h *harness, role string) *harness {
	t.Helper()
	return start(t, func(c *config.Config) {
		c.Redis.Prefix = h.cfg.Redis.Prefix
		c.Server.Role = role
	})
}

// API and workers run as separate processes on one Redis: an event
// accepted by the API process is delivered by the worker process, and a
// webhook changed through one process is seen by the other at once.
func TestAPIAndWorkerProcessesShareOneRedis(t *testing.T) {
	api := start(t, func(c *config.Config) { c.Server.Role = "api" })
	worker := startShared(t, api, "worker")
	other := startShared(t, api, "api")
	rec := receiver.NewRecorder()
	srv := httptest.NewServer(rec)
	defer srv.Close()
	admin, pub := api.token("acme", "admin"), api.token("acme", "publisher")
	// The worker serves no API.
	worker.do("GET", "/v1/webhooks", admin, nil).must(t, 404)
	worker.do("GET", "/readyz", "", nil).must(t, 200)
	w := api.createWebhook(admin, map[string]any{"name": "w", "endpoints": endpoints(srv.URL), "events": []string{"deal.won"}})
	// Created through one API process, matched by the other.
	var res struct{ Deliveries int }
	other.do("POST", "/v1/events", pub, map[string]any{"type": "deal.won", "data": map[string]any{"id": 1}}).must(t, 202).json(t, &res)
	if res.Deliveries != 1 {
		t.Fatalf("the second process matched %d webhooks, want 1", res.Deliveries)
	}
	if _, err := rec.WaitFor(testenv.Context(t), 1); err != nil {
		t.Fatalf("the worker process did not deliver: %v", err)
	}
	// Disabled through one, no longer matched by the other.
	api.do("PATCH", "/v1/webhooks/"+w.ID, admin, map[string]any{"enabled": false}).must(t, 200)
	testenv.Eventually(t, 3*time.Second, "the other process sees the webhook disabled", func() bool {
		other.do("POST", "/v1/events", pub, map[string]any{"type": "deal.won", "data": map[string]any{"id": 2}}).must(t, 202).json(t, &res)
		return res.Deliveries == 0
	})
}
