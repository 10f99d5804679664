package app_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/testenv"
)

// verifyIndependently checks both signature schemes with a separate,
// hand-written implementation of the documented algorithms.
func verifyIndependently(t *testing.T, secret string, d receiver.Delivery) {
	t.Helper()
	ts := d.Header.Get("X-Webhook-Timestamp")
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(d.Body)))
	if want := hex.EncodeToString(mac.Sum(nil)); d.Header.Get("X-Webhook-Signature") != want {
		t.Fatalf("X-Webhook-Signature %q, want %q", d.Header.Get("X-Webhook-Signature"), want)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	mac = hmac.New(sha256.New, key)
	mac.Write([]byte(d.Header.Get("webhook-id") + "." + d.Header.Get("webhook-timestamp") + "." + string(d.Body)))
	if want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)); d.Header.Get("webhook-signature") != want {
		t.Fatalf("webhook-signature %q, want %q", d.Header.Get("webhook-signature"), want)
	}
}

func TestEventReachesEverySubscribedEndpointSignedBothWays(t *testing.T) {
	h := start(t, nil)
	admin := h.token("acme", "admin")
	pub := h.token("acme", "publisher")
	rec1, rec2 := receiver.NewRecorder(), receiver.NewRecorder()
	s1, s2 := httptest.NewServer(rec1), httptest.NewServer(rec2)
	defer s1.Close()
	defer s2.Close()
	w := h.createWebhook(admin, map[string]any{"name": "ERP Sync", "endpoints": endpoints(s1.URL+"/a", s2.URL+"/b"), "events": []string{"contact.*"}})
	if !strings.HasPrefix(w.Secret, "whsec_") {
		t.Fatalf("generated secret %q is not whsec_", w.Secret)
	}
	var res struct {
		ID         string `json:"id"`
		Deliveries int    `json:"deliveries"`
	}
	h.do("POST", "/v1/events", pub, map[string]any{"type": "contact.created", "data": map[string]any{"first_name": "Ada"}}).must(t, 202).json(t, &res)
	if res.Deliveries != 2 || res.ID == "" {
		t.Fatalf("answer %+v, want 2 deliveries and an id", res)
	}
	for _, rec := range []*receiver.Recorder{rec1, rec2} {
		got, err := rec.WaitFor(testenv.Context(t), 1)
		if err != nil {
			t.Fatal(err)
		}
		d := got[0]
		verifyIndependently(t, w.Secret, d)
		if err := verifyWith(w.Secret, d); err != nil {
			t.Fatalf("receiver verification: %v", err)
		}
		var body struct {
			Event     string         `json:"event"`
			Timestamp int64          `json:"timestamp"`
			ID        string         `json:"id"`
			Data      map[string]any `json:"data"`
		}
		if err := json.Unmarshal(d.Body, &body); err != nil {
			t.Fatal(err)
		}
		if body.Event != "contact.created" || body.ID != res.ID || body.Data["first_name"] != "Ada" || body.Timestamp == 0 {
			t.Fatalf("payload %s", d.Body)
		}
		if d.Header.Get("X-Webhook-Event") != "contact.created" || d.Header.Get("Content-Type") != "application/json" ||
			!strings.HasPrefix(d.Header.Get("User-Agent"), "hookgate/") || !strings.HasPrefix(d.ID, "dl_") {
			t.Fatalf("headers %v", d.Header)
		}
	}
}

func verifyWith(secret string, d receiver.Delivery) error {
	rec := receiver.NewRecorder(secret)
	srv := httptest.NewServer(rec)
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(string(d.Body)))
	req.Header = d.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	got := rec.Deliveries()
	if len(got) != 1 || !got[0].Verified {
		return got[0].Err
	}
	return nil
}

func TestSystemWebhookReceivesEveryTenantsEvents(t *testing.T) {
	h := start(t, nil)
	rec := receiver.NewRecorder()
	srv := httptest.NewServer(rec)
	defer srv.Close()
	sys := h.token("platform", "system")
	h.createWebhook(sys, map[string]any{"name": "provisioning", "system": true, "endpoints": endpoints(srv.URL), "events": []string{"extension.created"}})
	// A system webhook is not visible in a tenant's list.
	var page struct{ Data []hookgate.Webhook }
	h.do("GET", "/v1/webhooks", h.token("acme", "admin"), nil).must(t, 200).json(t, &page)
	if len(page.Data) != 0 {
		t.Fatalf("tenant sees system webhooks: %+v", page.Data)
	}
	for _, tenant := range []string{"acme", "globex"} {
		h.do("POST", "/v1/events", h.token(tenant, "publisher"), map[string]any{"type": "extension.created", "data": map[string]any{"extension": "1001"}}).must(t, 202)
	}
	if _, err := rec.WaitFor(testenv.Context(t), 2); err != nil {
		t.Fatal(err)
	}
	// Only a system token may create one.
	r := h.do("POST", "/v1/webhooks", h.token("acme", "admin"), map[string]any{"name": "x", "system": true, "endpoints": endpoints(srv.URL), "events": []string{"*"}})
	if r.Status != 403 || r.errorCode(t) != hookgate.EFORBIDDEN {
		t.Fatalf("admin created a system webhook: %d %s", r.Status, r.Body)
	}
}

func TestDisabledWebhooksAndEndpointsReceiveNothing(t *testing.T) {
	h := start(t, nil)
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	on, off := receiver.NewRecorder(), receiver.NewRecorder()
	sOn, sOff := httptest.NewServer(on), httptest.NewServer(off)
	defer sOn.Close()
	defer sOff.Close()
	h.createWebhook(admin, map[string]any{"name": "disabled", "enabled": false, "endpoints": endpoints(sOff.URL), "events": []string{"*"}})
	h.createWebhook(admin, map[string]any{"name": "one endpoint off", "events": []string{"deal.won"},
		"endpoints": []map[string]any{{"url": sOn.URL}, {"url": sOff.URL + "/x", "enabled": false}}})
	h.createWebhook(admin, map[string]any{"name": "other event", "endpoints": endpoints(sOff.URL + "/y"), "events": []string{"invoice.paid"}})
	var res struct{ Deliveries int }
	h.do("POST", "/v1/events", pub, map[string]any{"type": "deal.won", "data": map[string]any{"id": 1}}).must(t, 202).json(t, &res)
	if res.Deliveries != 1 {
		t.Fatalf("deliveries %d, want 1", res.Deliveries)
	}
	if _, err := on.WaitFor(testenv.Context(t), 1); err != nil {
		t.Fatal(err)
	}
	// A later event to the live endpoint proves the queue moved past anything
	// that could have gone to the disabled ones.
	h.do("POST", "/v1/events", pub, map[string]any{"type": "deal.won", "data": map[string]any{"id": 2}}).must(t, 202)
	if _, err := on.WaitFor(testenv.Context(t), 2); err != nil {
		t.Fatal(err)
	}
	if n := off.Count(); n != 0 {
		t.Fatalf("disabled webhook or endpoint received %d deliveries", n)
	}
}

func TestRepeatedIdempotencyKeyIsAnsweredOnceAndDeliveredOnce(t *testing.T) {
	h := start(t, nil)
	rec := receiver.NewRecorder()
	srv := httptest.NewServer(rec)
	defer srv.Close()
	h.createWebhook(h.token("acme", "admin"), map[string]any{"name": "w", "endpoints": endpoints(srv.URL), "events": []string{"lead.created"}})
	pub := h.token("acme", "publisher")
	ev := map[string]any{"type": "lead.created", "data": map[string]any{"title": "Lead"}}
	first := h.do("POST", "/v1/events", pub, ev, "Idempotency-Key", "k-1").must(t, 202)
	second := h.do("POST", "/v1/events", pub, ev, "Idempotency-Key", "k-1").must(t, 202)
	var a, b struct {
		ID         string
		Deliveries int
		Duplicate  bool
	}
	first.json(t, &a)
	second.json(t, &b)
	if a.ID != b.ID || a.Deliveries != b.Deliveries || !b.Duplicate || a.Duplicate {
		t.Fatalf("first %+v second %+v", a, b)
	}
	// The same with an event id, in a batch.
	withID := map[string]any{"id": "crm-evt-42", "type": "lead.created", "data": map[string]any{"title": "Lead"}}
	h.do("POST", "/v1/events/batch", pub, map[string]any{"events": []any{withID}}).must(t, 202)
	h.do("POST", "/v1/events", pub, withID).must(t, 202)
	// Another tenant's identical key is its own.
	h.createWebhook(h.token("globex", "admin"), map[string]any{"name": "w", "endpoints": endpoints(srv.URL), "events": []string{"lead.created"}})
	var c struct{ Duplicate bool }
	h.do("POST", "/v1/events", h.token("globex", "publisher"), ev, "Idempotency-Key", "k-1").must(t, 202).json(t, &c)
	if c.Duplicate {
		t.Fatal("idempotency keys leak across tenants")
	}
	if _, err := rec.WaitFor(testenv.Context(t), 3); err != nil {
		t.Fatal(err)
	}
	// A sentinel event goes last; once it is in, nothing else may have come.
	h.do("POST", "/v1/events", pub, map[string]any{"type": "lead.created", "data": map[string]any{"title": "sentinel"}}).must(t, 202)
	if _, err := rec.WaitFor(testenv.Context(t), 4); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 300*time.Millisecond, "no duplicate", func() bool { return true })
	if n := rec.Count(); n != 4 {
		t.Fatalf("receiver got %d deliveries, want 4 (repeats must not be delivered)", n)
	}
}

type deliveryView struct {
	hookgate.Delivery
	AttemptLog []hookgate.Attempt `json:"attempt_log"`
}

func (h *harness) deliveries(token, webhookID, query string) []hookgate.Delivery {
	h.t.Helper()
	var page struct{ Data []hookgate.Delivery }
	h.do("GET", "/v1/webhooks/"+webhookID+"/deliveries"+query, token, nil).must(h.t, 200).json(h.t, &page)
	return page.Data
}

func TestFailedAttemptsAreRetriedOnScheduleThenFail(t *testing.T) {
	h := start(t, nil) // retry delays 50ms, 100ms
	rec := receiver.NewRecorder()
	rec.SetStatus(503)
	srv := httptest.NewServer(rec)
	defer srv.Close()
	admin := h.token("acme", "admin")
	w := h.createWebhook(admin, map[string]any{"name": "flaky", "endpoints": endpoints(srv.URL), "events": []string{"ticket.created"}})
	h.do("POST", "/v1/events", h.token("acme", "publisher"), map[string]any{"type": "ticket.created", "data": map[string]any{"id": 7}}).must(t, 202)
	got, err := rec.WaitFor(testenv.Context(t), 3)
	if err != nil {
		t.Fatal(err)
	}
	// Same delivery id on every attempt.
	for _, d := range got[1:] {
		if d.ID != got[0].ID {
			t.Fatalf("webhook-id changed between attempts: %s vs %s", d.ID, got[0].ID)
		}
	}
	var d deliveryView
	testenv.Eventually(t, 5*time.Second, "delivery marked failed", func() bool {
		ds := h.deliveries(admin, w.ID, "")
		if len(ds) != 1 || ds[0].Status != hookgate.DeliveryFailed {
			return false
		}
		h.do("GET", "/v1/deliveries/"+ds[0].ID, admin, nil).must(t, 200).json(t, &d)
		return true
	})
	if d.Attempts != 3 || len(d.AttemptLog) != 3 || d.AttemptLog[2].N != 3 || d.AttemptLog[0].StatusCode != 503 ||
		d.AttemptLog[0].ErrorClass != hookgate.ClassHTTPStatus || d.AttemptLog[0].NextRetryAt == nil || d.AttemptLog[2].NextRetryAt != nil {
		t.Fatalf("attempt log %+v", d)
	}
	if d.AttemptLog[0].RequestBody == "" || d.AttemptLog[0].RequestHeaders["X-Webhook-Signature"] == "" {
		t.Fatalf("request as sent not logged: %+v", d.AttemptLog[0])
	}
	// The schedule, read from the due times each failed attempt recorded
	// (no wall-clock thresholds): a retry falls due at least its delay
	// after the attempt (the test config has no jitter), on a whole second
	// (asynq's resolution, rounded up), and the receiver got the next
	// attempt no earlier than that.
	for i, delay := range []time.Duration{50 * time.Millisecond, 100 * time.Millisecond} {
		due := d.AttemptLog[i].NextRetryAt
		if due == nil {
			t.Fatalf("attempt %d recorded no due time", i+1)
		}
		if due.Before(d.AttemptLog[i].At.Add(delay)) {
			t.Fatalf("attempt %d at %s: retry due %s, before its delay %s", i+1, d.AttemptLog[i].At, due, delay)
		}
		if !due.Equal(due.Truncate(time.Second)) {
			t.Fatalf("retry due %s is not on a whole second", due)
		}
		if got[i+1].Received.Before(*due) {
			t.Fatalf("attempt %d received at %s, before it was due (%s)", i+2, got[i+1].Received, due)
		}
	}
	// Counters on the webhook.
	var got2 hookgate.Webhook
	h.do("GET", "/v1/webhooks/"+w.ID, admin, nil).must(t, 200).json(t, &got2)
	// Three failed attempts, one failed delivery (auto-pause counts deliveries).
	if got2.FailureCount != 3 || got2.ConsecutiveFailures != 1 || got2.LastStatusCode != 503 || got2.LastTriggeredAt == nil {
		t.Fatalf("counters %+v", got2)
	}

	// Manual retry: same delivery id, a fourth attempt, success this time.
	rec.SetStatus(200)
	h.do("POST", "/v1/deliveries/"+d.ID+"/retry", admin, nil).must(t, 202)
	got, err = rec.WaitFor(testenv.Context(t), 4)
	if err != nil {
		t.Fatal(err)
	}
	if got[3].ID != d.ID {
		t.Fatalf("manual retry sent webhook-id %s, want %s", got[3].ID, d.ID)
	}
	testenv.Eventually(t, 5*time.Second, "manual retry recorded", func() bool {
		h.do("GET", "/v1/deliveries/"+d.ID, admin, nil).must(t, 200).json(t, &d)
		return d.Status == hookgate.DeliverySucceeded && d.Attempts == 4
	})
	h.do("GET", "/v1/webhooks/"+w.ID, admin, nil).must(t, 200).json(t, &got2)
	if got2.ConsecutiveFailures != 0 || got2.LastStatusCode != 200 {
		t.Fatalf("a success did not reset consecutive failures: %+v", got2)
	}
	// Retrying a delivery that succeeded is refused.
	if r := h.do("POST", "/v1/deliveries/"+d.ID+"/retry", admin, nil); r.Status != 409 {
		t.Fatalf("retry of a succeeded delivery: %d %s", r.Status, r.Body)
	}
	// Another tenant cannot see or retry it.
	if r := h.do("GET", "/v1/deliveries/"+d.ID, h.token("globex", "admin"), nil); r.Status != 404 {
		t.Fatalf("other tenant read a delivery: %d", r.Status)
	}
}

func TestRetryAfterIsHonouredWithinItsCap(t *testing.T) {
	h := start(t, func(c *config.Config) {
		c.Delivery.RetryDelays = []hookgate.Duration{hookgate.Duration(10 * time.Millisecond)}
	})
	var calls atomic.Int32
	rec := receiver.NewRecorder()
	rec.SetHandler(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(429)
			return
		}
		w.WriteHeader(200)
	})
	srv := httptest.NewServer(rec)
	defer srv.Close()
	h.createWebhook(h.token("acme", "admin"), map[string]any{"name": "w", "endpoints": endpoints(srv.URL), "events": []string{"call.missed"}})
	h.do("POST", "/v1/events", h.token("acme", "publisher"), map[string]any{"type": "call.missed", "data": map[string]any{}}).must(t, 202)
	got, err := rec.WaitFor(testenv.Context(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	// asynq schedules retries to the second, so a 2 s Retry-After may come
	// up to a second early; the schedule's own 10 ms is far below that.
	if gap := got[1].Received.Sub(got[0].Received); gap < time.Second {
		t.Fatalf("retried after %s despite Retry-After: 2", gap)
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	h := start(t, nil)
	target := receiver.NewRecorder()
	ts := httptest.NewServer(target)
	defer ts.Close()
	redirect := httptest.NewServer(http.RedirectHandler(ts.URL, http.StatusMovedPermanently))
	defer redirect.Close()
	admin := h.token("acme", "admin")
	w := h.createWebhook(admin, map[string]any{"name": "moved", "endpoints": endpoints(redirect.URL), "events": []string{"sms.message_sent"},
		"retry": map[string]any{"delays": []string{"10ms"}}})
	h.do("POST", "/v1/events", h.token("acme", "publisher"), map[string]any{"type": "sms.message_sent", "data": map[string]any{}}).must(t, 202)
	testenv.Eventually(t, 5*time.Second, "failed delivery", func() bool {
		ds := h.deliveries(admin, w.ID, "?status=failed")
		return len(ds) == 1 && ds[0].StatusCode == 301 && ds[0].ErrorClass == hookgate.ClassRedirect
	})
	if target.Count() != 0 {
		t.Fatal("the redirect target received the delivery")
	}
}

func TestDeliveriesToBlockedAddressesFailAsSSRFBlocked(t *testing.T) {
	h := start(t, func(c *config.Config) {
		c.Delivery.AllowedCIDRs = nil // loopback not allowed
		c.Delivery.RetryDelays = nil
	})
	rec := receiver.NewRecorder()
	srv := httptest.NewServer(rec)
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	admin := h.token("acme", "admin")
	for _, u := range []string{srv.URL, "http://localhost" + port, "http://[::ffff:127.0.0.1]" + port} {
		w := h.createWebhook(admin, map[string]any{"name": u, "endpoints": endpoints(u), "events": []string{"queue.created"}})
		var test struct {
			Data []struct {
				OK      bool
				Message string
			}
		}
		h.do("POST", "/v1/webhooks/"+w.ID+"/test", admin, nil).must(t, 200).json(t, &test)
		if test.Data[0].OK || test.Data[0].Message != "Failed: ssrf_blocked" {
			t.Fatalf("%s: test send %+v", u, test.Data)
		}
	}
	h.do("POST", "/v1/events", h.token("acme", "publisher"), map[string]any{"type": "queue.created", "data": map[string]any{}}).must(t, 202)
	testenv.Eventually(t, 5*time.Second, "3 failed deliveries", func() bool {
		var n int
		var page struct{ Data []hookgate.Webhook }
		h.do("GET", "/v1/webhooks", admin, nil).must(t, 200).json(t, &page)
		for _, w := range page.Data {
			for _, d := range h.deliveries(admin, w.ID, "?status=failed") {
				if d.ErrorClass == hookgate.ClassSSRFBlocked && !d.Test {
					n++
				}
			}
		}
		return n == 3
	})
	if rec.Count() != 0 {
		t.Fatal("a blocked address received a request")
	}
}

func TestDeliveryLogKeepsTheMostRecentWithinTheCap(t *testing.T) {
	h := start(t, func(c *config.Config) { c.Delivery.LogMaxEntries = 5 })
	rec := receiver.NewRecorder()
	srv := httptest.NewServer(rec)
	defer srv.Close()
	admin := h.token("acme", "admin")
	w := h.createWebhook(admin, map[string]any{"name": "w", "endpoints": endpoints(srv.URL), "events": []string{"task.created"}})
	pub := h.token("acme", "publisher")
	var ids []string
	for i := 0; i < 8; i++ {
		var r struct{ ID string }
		h.do("POST", "/v1/events", pub, map[string]any{"type": "task.created", "data": map[string]any{"n": i}}).must(t, 202).json(t, &r)
		ids = append(ids, r.ID)
		if _, err := rec.WaitFor(testenv.Context(t), i+1); err != nil { // keep creation order
			t.Fatal(err)
		}
	}
	var ds []hookgate.Delivery
	testenv.Eventually(t, 5*time.Second, "log trimmed to 5", func() bool {
		ds = h.deliveries(admin, w.ID, "")
		return len(ds) == 5 && ds[0].EventID == ids[7]
	})
	for i, d := range ds {
		if d.EventID != ids[7-i] {
			t.Fatalf("log entry %d is event %s, want %s (newest first)", i, d.EventID, ids[7-i])
		}
	}
	// Filters and pagination.
	page := h.deliveries(admin, w.ID, "?limit=2")
	if len(page) != 2 {
		t.Fatalf("limit=2 gave %d", len(page))
	}
	if got := h.deliveries(admin, w.ID, "?event=task.created&status=succeeded"); len(got) != 5 {
		t.Fatalf("filter gave %d", len(got))
	}
	if got := h.deliveries(admin, w.ID, "?event=deal.won"); len(got) != 0 {
		t.Fatalf("event filter gave %d", len(got))
	}
	// Trimmed deliveries are gone, not just unlisted.
	n, err := h.rdb.Keys(context.Background(), h.cfg.Redis.Prefix+":dlv:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(n) > 10 { // 5 summaries + 5 attempt lists
		t.Fatalf("%d log keys remain for 5 kept deliveries", len(n))
	}
}

func TestDeliveryLogDropsEntriesOlderThanTheAgeLimit(t *testing.T) {
	h := start(t, func(c *config.Config) { c.Delivery.LogMaxAge = hookgate.Duration(300 * time.Millisecond) })
	rec := receiver.NewRecorder()
	srv := httptest.NewServer(rec)
	defer srv.Close()
	admin := h.token("acme", "admin")
	w := h.createWebhook(admin, map[string]any{"name": "w", "endpoints": endpoints(srv.URL), "events": []string{"trunk.updated"}})
	pub := h.token("acme", "publisher")
	h.do("POST", "/v1/events", pub, map[string]any{"type": "trunk.updated", "data": map[string]any{"n": 1}}).must(t, 202)
	if _, err := rec.WaitFor(testenv.Context(t), 1); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 3*time.Second, "first entry logged", func() bool { return len(h.deliveries(admin, w.ID, "")) == 1 })
	first := h.deliveries(admin, w.ID, "")[0].ID
	testenv.Eventually(t, 3*time.Second, "age limit passes", func() bool {
		return h.rdb.Exists(context.Background(), h.cfg.Redis.Prefix+":dlv:{"+w.ID+"}:"+first).Val() == 0
	})
	h.do("POST", "/v1/events", pub, map[string]any{"type": "trunk.updated", "data": map[string]any{"n": 2}}).must(t, 202)
	testenv.Eventually(t, 3*time.Second, "only the new entry", func() bool {
		ds := h.deliveries(admin, w.ID, "")
		return len(ds) == 1 && ds[0].ID != first
	})
}

func TestTestSendReportsInTheProductWording(t *testing.T) {
	h := start(t, nil)
	ok, bad := receiver.NewRecorder(), receiver.NewRecorder()
	bad.SetStatus(503)
	sOK, sBad := httptest.NewServer(ok), httptest.NewServer(bad)
	defer sOK.Close()
	defer sBad.Close()
	admin := h.token("acme", "admin")
	w := h.createWebhook(admin, map[string]any{"name": "w", "endpoints": endpoints(sOK.URL, sBad.URL), "events": []string{"deal.won"}})
	var res struct {
		Data []struct {
			URL        string `json:"url"`
			OK         bool   `json:"ok"`
			StatusCode int    `json:"status_code"`
			Message    string `json:"message"`
		}
	}
	h.do("POST", "/v1/webhooks/"+w.ID+"/test", admin, nil).must(t, 200).json(t, &res)
	if len(res.Data) != 2 || res.Data[0].Message != "HTTP 200 OK" || !res.Data[0].OK || res.Data[1].Message != "Failed: 503" || res.Data[1].OK {
		t.Fatalf("test results %+v", res.Data)
	}
	got, _ := ok.WaitFor(testenv.Context(t), 1)
	if got[0].Event != "webhook.test" {
		t.Fatalf("test event type %q", got[0].Event)
	}
	verifyIndependently(t, w.Secret, got[0])
	// Logged like any delivery, and not retried.
	testenv.Eventually(t, 3*time.Second, "test deliveries logged", func() bool {
		ds := h.deliveries(admin, w.ID, "")
		return len(ds) == 2 && ds[0].Test && ds[0].EventType == "webhook.test"
	})
	// Unsaved URLs, as a dialog's Test endpoints button sends them.
	h.do("POST", "/v1/webhooks/test", admin, map[string]any{"urls": []string{sOK.URL}}).must(t, 200).json(t, &res)
	if len(res.Data) != 1 || res.Data[0].Message != "HTTP 200 OK" {
		t.Fatalf("dialog test %+v", res.Data)
	}
	// A timeout is worded as such.
	hold := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hold }))
	defer slow.Close()
	defer close(hold) // before Close, which waits for the held handler
	w2 := h.createWebhook(admin, map[string]any{"name": "slow", "endpoints": endpoints(slow.URL), "events": []string{"deal.won"}, "timeout": "200ms"})
	h.do("POST", "/v1/webhooks/"+w2.ID+"/test", admin, nil).must(t, 200).json(t, &res)
	if res.Data[0].Message != "Failed: timeout" {
		t.Fatalf("timeout worded %q", res.Data[0].Message)
	}
	if bad.Count() != 1 {
		t.Fatalf("a failed test send was retried (%d requests)", bad.Count())
	}
}

// A webhook created, changed or deleted is seen by the very next publish
// in the same process: the change notice through Redis arrives later, so
// the API drops its cached view itself. Without that, an event published
// right after a create matched the webhooks as they were before it.
func TestPublishRightAfterAChangeSeesIt(t *testing.T) {
	h := start(t, nil)
	admin := h.token("acme", "admin")
	pub := h.token("acme", "publisher")
	srv := httptest.NewServer(receiver.NewRecorder())
	defer srv.Close()
	publish := func() int {
		var res struct {
			Deliveries int `json:"deliveries"`
		}
		h.do("POST", "/v1/events", pub, map[string]any{"type": "contact.created", "data": map[string]any{"n": 1}}).must(t, 202).json(t, &res)
		return res.Deliveries
	}
	publish() // the tenant's webhooks are cached from here on
	var ids []string
	for i := 1; i <= 20; i++ {
		w := h.createWebhook(admin, map[string]any{"name": fmt.Sprintf("w%d", i), "endpoints": endpoints(srv.URL), "events": []string{"contact.*"}})
		ids = append(ids, w.ID)
		if n := publish(); n != i {
			t.Fatalf("publish right after creating webhook %d: %d deliveries, want %d", i, n, i)
		}
	}
	h.do("PATCH", "/v1/webhooks/"+ids[0], admin, map[string]any{"events": []string{"deal.*"}}).must(t, 200)
	if n := publish(); n != 19 {
		t.Fatalf("publish right after an update: %d deliveries, want 19", n)
	}
	h.do("DELETE", "/v1/webhooks/"+ids[1], admin, nil).must(t, 204)
	if n := publish(); n != 18 {
		t.Fatalf("publish right after a delete: %d deliveries, want 18", n)
	}
}

// TestManualRetrySendsTheFirstAttemptsBodyByteForByte publishes an event
// whose data has insignificant white space and a key order of its own; the
// delivery fails, is retried by hand, and the receiver gets the very bytes
// the first attempt sent (receivers that hash bodies see one event).
func TestManualRetrySendsTheFirstAttemptsBodyByteForByte(t *testing.T) {
	h := start(t, func(c *config.Config) { c.Delivery.RetryDelays = nil })
	rec := receiver.NewRecorder()
	rec.SetStatus(503)
	srv := httptest.NewServer(rec)
	defer srv.Close()
	admin := h.token("acme", "admin")
	w := h.createWebhook(admin, map[string]any{"name": "hashing", "endpoints": endpoints(srv.URL), "events": []string{"ticket.created"}})
	h.do("POST", "/v1/events", h.token("acme", "publisher"),
		`{"type": "ticket.created", "data": {"z": 1,  "a": [1, 2],
  "text": "caf\u00e9 <b>&</b>"}}`).must(t, 202)
	got, err := rec.WaitFor(testenv.Context(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got[0].Body), `{"z": 1,  "a": [1, 2],
  "text": "caf\u00e9 <b>&</b>"}`) {
		t.Fatalf("the first attempt did not send the data as published: %s", got[0].Body)
	}
	var ds []hookgate.Delivery
	testenv.Eventually(t, 5*time.Second, "delivery failed", func() bool {
		ds = h.deliveries(admin, w.ID, "?status=failed")
		return len(ds) == 1
	})
	rec.SetStatus(200)
	h.do("POST", "/v1/deliveries/"+ds[0].ID+"/retry", admin, nil).must(t, 202)
	got, err = rec.WaitFor(testenv.Context(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[0].Body, got[1].Body) {
		t.Fatalf("the retry's body differs from the first attempt's:\n%s\n%s", got[0].Body, got[1].Body)
	}
}
