package app_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/testenv"
)

type statsAnswer struct {
	WebhookID string    `json:"webhook_id"`
	Since     time.Time `json:"since"`
	Until     time.Time `json:"until"`
	Succeeded int64     `json:"succeeded"`
	Failed    int64     `json:"failed"`
	P50MS     float64   `json:"p50_ms"`
	P95MS     float64   `json:"p95_ms"`
	Hours     []struct {
		Start     time.Time `json:"start"`
		Succeeded int64     `json:"succeeded"`
		Failed    int64     `json:"failed"`
		P50MS     float64   `json:"p50_ms"`
		P95MS     float64   `json:"p95_ms"`
	} `json:"hours"`
	Health healthAnswer `json:"health"`
}

type healthAnswer struct {
	Window      int     `json:"window"`
	Total       int     `json:"total"`
	Succeeded   int     `json:"succeeded"`
	Failed      int     `json:"failed"`
	SuccessRate float64 `json:"success_rate"`
}

// TestWebhookStatsAggregateTheLast24HoursOfDeliveries sends three events to
// a webhook with a working and a failing endpoint: the stats count three
// deliveries that succeeded and three that failed (after their retries, not
// per attempt) in the current hour of 24, with response-time percentiles;
// the list's health is 50 % for the webhook, 100 % and 0 % for its
// endpoints; test sends do not count; another tenant gets 404; deleting the
// webhook removes the aggregates.
func TestWebhookStatsAggregateTheLast24HoursOfDeliveries(t *testing.T) {
	h := start(t, nil)
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	good := receiver.NewRecorder()
	goodSrv := httptest.NewServer(good)
	defer goodSrv.Close()
	bad := receiver.NewRecorder()
	bad.SetStatus(500)
	badSrv := httptest.NewServer(bad)
	defer badSrv.Close()

	w := h.createWebhook(admin, map[string]any{"name": "ERP Sync", "endpoints": endpoints(goodSrv.URL+"/ok", badSrv.URL+"/broken"),
		"events": []string{"contact.created"}})
	var empty statsAnswer
	h.do("GET", "/v1/webhooks/"+w.ID+"/stats", admin, nil).must(t, 200).json(t, &empty)
	if len(empty.Hours) != 24 || empty.Succeeded != 0 || empty.Failed != 0 || empty.Health.Total != 0 || empty.P50MS != 0 {
		t.Fatalf("stats of a new webhook %+v", empty)
	}
	for i := range 3 {
		h.publish(pub, "contact.created", map[string]any{"n": i})
	}
	var st statsAnswer
	testenv.Eventually(t, 30*time.Second, "3 succeeded and 3 failed deliveries in the stats", func() bool {
		st = statsAnswer{}
		h.do("GET", "/v1/webhooks/"+w.ID+"/stats", admin, nil).must(t, 200).json(t, &st)
		return st.Succeeded == 3 && st.Failed == 3
	})
	if bad.Count() != 9 {
		t.Fatalf("the failing endpoint got %d attempts, want 9 (3 deliveries, 3 attempts each)", bad.Count())
	}
	if st.WebhookID != w.ID || len(st.Hours) != 24 {
		t.Fatalf("stats %+v", st)
	}
	var s, f int64
	for i, hr := range st.Hours {
		if hr.Start.Minute() != 0 || hr.Start.Second() != 0 || (i > 0 && hr.Start.Sub(st.Hours[i-1].Start) != time.Hour) {
			t.Fatalf("hour %d starts at %s", i, hr.Start)
		}
		s, f = s+hr.Succeeded, f+hr.Failed
		if hr.Succeeded+hr.Failed > 0 && (hr.P50MS <= 0 || hr.P95MS < hr.P50MS) {
			t.Fatalf("hour %d percentiles p50 %v p95 %v", i, hr.P50MS, hr.P95MS)
		}
	}
	if s != 3 || f != 3 {
		t.Fatalf("hours add up to %d succeeded, %d failed", s, f)
	}
	last := st.Hours[23].Start
	if !st.Until.Truncate(time.Hour).Equal(last) || !st.Since.Equal(st.Hours[0].Start) {
		t.Fatalf("window %s..%s, hours %s..%s", st.Since, st.Until, st.Hours[0].Start, last)
	}
	if st.P50MS <= 0 || st.P95MS < st.P50MS {
		t.Fatalf("percentiles p50 %v p95 %v", st.P50MS, st.P95MS)
	}
	if st.Health.Total != 6 || st.Health.Succeeded != 3 || st.Health.SuccessRate != 0.5 || st.Health.Window != 100 {
		t.Fatalf("health %+v", st.Health)
	}

	// A test send is in the log but not in the stats.
	h.do("POST", "/v1/webhooks/"+w.ID+"/test", admin, nil).must(t, 200)
	var after statsAnswer
	h.do("GET", "/v1/webhooks/"+w.ID+"/stats", admin, nil).must(t, 200).json(t, &after)
	if after.Succeeded != 3 || after.Failed != 3 || after.Health.Total != 6 {
		t.Fatalf("a test send changed the stats: %+v", after)
	}

	// The list's health, per webhook and per endpoint.
	var list struct {
		Data []struct {
			ID     string `json:"id"`
			Name   string `json:"name"`
			Health struct {
				healthAnswer
				Endpoints []struct {
					healthAnswer
					EndpointID string `json:"endpoint_id"`
					URL        string `json:"url"`
				} `json:"endpoints"`
			} `json:"health"`
		} `json:"data"`
	}
	h.do("GET", "/v1/webhooks?include=health", admin, nil).must(t, 200).json(t, &list)
	if len(list.Data) != 1 || list.Data[0].Name != "ERP Sync" {
		t.Fatalf("list %+v", list)
	}
	hl := list.Data[0].Health
	if hl.Total != 6 || hl.SuccessRate != 0.5 || len(hl.Endpoints) != 2 {
		t.Fatalf("list health %+v", hl)
	}
	if e := hl.Endpoints[0]; e.URL != goodSrv.URL+"/ok" || e.EndpointID != w.Endpoints[0].ID || e.Total != 3 || e.SuccessRate != 1 {
		t.Fatalf("good endpoint health %+v", e)
	}
	if e := hl.Endpoints[1]; e.URL != badSrv.URL+"/broken" || e.Total != 3 || e.Failed != 3 || e.SuccessRate != 0 {
		t.Fatalf("failing endpoint health %+v", e)
	}
	// Without include, no health.
	r := h.do("GET", "/v1/webhooks", admin, nil).must(t, 200)
	var plain struct{ Data []map[string]any }
	r.json(t, &plain)
	if _, ok := plain.Data[0]["health"]; ok {
		t.Fatalf("health without include: %s", r.Body)
	}
	if code := h.do("GET", "/v1/webhooks?include=everything", admin, nil).must(t, 400).errorCode(t); code != "validation_failed" {
		t.Fatalf("unknown include: %s", code)
	}

	// Another tenant's admin cannot read them; a publisher neither.
	h.do("GET", "/v1/webhooks/"+w.ID+"/stats", h.token("globex", "admin"), nil).must(t, 404)
	h.do("GET", "/v1/webhooks/"+w.ID+"/stats", pub, nil).must(t, 403)
	h.do("GET", "/v1/webhooks/wh_nope/stats", admin, nil).must(t, 404)

	// Deleting the webhook deletes its aggregates.
	h.do("DELETE", "/v1/webhooks/"+w.ID, admin, nil).must(t, 204)
	for _, pattern := range []string{":dlvo:*", ":dlvh:*", ":dlvt:*"} {
		keys, err := h.rdb.Keys(context.Background(), h.cfg.Redis.Prefix+pattern).Result()
		if err != nil || len(keys) != 0 {
			t.Fatalf("after delete, %s keys: %v %v", pattern, keys, err)
		}
	}
}
