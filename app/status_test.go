package app_test

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/testenv"
)

// Seed 002: "Auto-pause after 10 consecutive delivery failures", where a
// delivery fails after its retries. Three failing events with three retries
// each (12 failed attempts) leave the webhook active; ten failed deliveries
// pause it. Every attempt stays in the log.
func TestAutoPauseCountsFailedDeliveriesNotAttempts(t *testing.T) {
	h := start(t, func(c *config.Config) { c.Lifecycle.AutoPauseAfter = 10 })
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	failing := receiver.NewRecorder()
	failing.SetStatus(500)
	srv := httptest.NewServer(failing)
	defer srv.Close()
	w := h.createWebhook(admin, map[string]any{"name": "ERP Sync", "endpoints": endpoints(srv.URL), "events": []string{"deal.*"},
		"retry": map[string]any{"delays": []string{"5ms", "5ms", "5ms"}}})

	for i := range 3 {
		h.publish(pub, "deal.created", map[string]any{"n": i})
	}
	failedDeliveries := func(n int) func() bool {
		return func() bool {
			var page struct {
				Data []hookgate.Delivery `json:"data"`
			}
			h.do("GET", "/v1/webhooks/"+w.ID+"/deliveries?status=failed", admin, nil).must(t, 200).json(t, &page)
			return len(page.Data) == n
		}
	}
	testenv.Eventually(t, 10*time.Second, "3 failed deliveries", failedDeliveries(3))
	got := h.webhook(admin, w.ID)
	if got.Status != hookgate.StatusActive || got.ConsecutiveFailures != 3 || failing.Count() != 12 {
		t.Fatalf("after 3 failed deliveries (%d attempts): status %q, consecutive_failures %d; want active and 3",
			failing.Count(), got.Status, got.ConsecutiveFailures)
	}
	if got.FailureCount != 12 {
		t.Fatalf("failure_count %d, want every failed attempt (12)", got.FailureCount)
	}

	for i := 3; i < 10; i++ {
		h.publish(pub, "deal.created", map[string]any{"n": i})
	}
	testenv.Eventually(t, 10*time.Second, "the auto-pause", func() bool { return h.webhook(admin, w.ID).Status == hookgate.StatusError })
	got = h.webhook(admin, w.ID)
	if got.ConsecutiveFailures != 10 || failing.Count() != 40 {
		t.Fatalf("paused with consecutive_failures %d after %d attempts; want 10 failed deliveries of 4 attempts", got.ConsecutiveFailures, failing.Count())
	}
	if !strings.Contains(got.StatusReason, "Webhook 'ERP Sync' has been paused due to repeated failures") ||
		!strings.Contains(got.StatusReason, "10 consecutive deliveries failed") ||
		!strings.Contains(got.StatusReason, "/v1/webhooks/"+w.ID+"/resume") || strings.Contains(got.StatusReason, "{id}") {
		t.Fatalf("status_reason %q", got.StatusReason)
	}
	if got.StatusChangedAt == nil || got.StatusChangedAt.Before(got.CreatedAt) {
		t.Fatalf("status_changed_at %v", got.StatusChangedAt)
	}
	var dl struct {
		Attempts int `json:"attempts"`
	}
	var page struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	h.do("GET", "/v1/webhooks/"+w.ID+"/deliveries", admin, nil).must(t, 200).json(t, &page)
	h.do("GET", "/v1/deliveries/"+page.Data[0].ID, admin, nil).must(t, 200).json(t, &dl)
	if len(page.Data) != 10 || dl.Attempts != 4 {
		t.Fatalf("log: %d deliveries, the last with %d attempts; want 10 with 4 each", len(page.Data), dl.Attempts)
	}
}

// A disabled webhook shows status disabled (in reads, lists and the status
// filter), and pause and resume answer 409 webhook_disabled.
func TestDisabledWebhookShowsDisabledAndRefusesPauseAndResume(t *testing.T) {
	h := start(t, nil)
	admin := h.token("acme", "admin")
	srv := httptest.NewServer(receiver.NewRecorder())
	defer srv.Close()
	w := h.createWebhook(admin, map[string]any{"name": "Off", "endpoints": endpoints(srv.URL), "events": []string{"deal.*"}})
	h.createWebhook(admin, map[string]any{"name": "On", "endpoints": endpoints(srv.URL), "events": []string{"deal.*"}})
	var patched hookgate.Webhook
	h.do("PATCH", "/v1/webhooks/"+w.ID, admin, map[string]any{"enabled": false}).must(t, 200).json(t, &patched)
	got := h.webhook(admin, w.ID)
	for _, s := range []hookgate.Webhook{patched, got} {
		if s.Status != hookgate.StatusDisabled || !strings.Contains(s.StatusReason, "/v1/webhooks/"+w.ID) || s.StatusChangedAt == nil {
			t.Fatalf("disabled webhook reads status %q, reason %q, changed %v", s.Status, s.StatusReason, s.StatusChangedAt)
		}
	}
	var list struct {
		Data []hookgate.Webhook `json:"data"`
	}
	h.do("GET", "/v1/webhooks?status=disabled", admin, nil).must(t, 200).json(t, &list)
	if len(list.Data) != 1 || list.Data[0].ID != w.ID || list.Data[0].Status != hookgate.StatusDisabled {
		t.Fatalf("status=disabled lists %+v", list.Data)
	}
	h.do("GET", "/v1/webhooks?status=active", admin, nil).must(t, 200).json(t, &list)
	if len(list.Data) != 1 || list.Data[0].Name != "On" {
		t.Fatalf("status=active lists %+v", list.Data)
	}
	for _, action := range []string{"pause", "resume"} {
		r := h.do("POST", "/v1/webhooks/"+w.ID+"/"+action, admin, nil)
		if r.Status != 409 || r.errorCode(t) != hookgate.EDISABLED || !strings.Contains(string(r.Body), "enable it") {
			t.Fatalf("%s of a disabled webhook: %d %s", action, r.Status, r.Body)
		}
	}
	h.do("PATCH", "/v1/webhooks/"+w.ID, admin, map[string]any{"enabled": true}).must(t, 200)
	if s := h.webhook(admin, w.ID).Status; s != hookgate.StatusActive {
		t.Fatalf("enabled again: %q", s)
	}
}

// Pause keeps the admin's reason and the time; without a reason the
// webhook's status_reason names its own resume route.
func TestPauseKeepsTheReasonAndTheTime(t *testing.T) {
	h := start(t, nil)
	admin := h.token("acme", "admin")
	srv := httptest.NewServer(receiver.NewRecorder())
	defer srv.Close()
	w := h.createWebhook(admin, map[string]any{"name": "ERP", "endpoints": endpoints(srv.URL), "events": []string{"deal.*"}})
	var paused hookgate.Webhook
	h.do("POST", "/v1/webhooks/"+w.ID+"/pause", admin, map[string]any{"reason": "ERP maintenance until 18:00"}).must(t, 200).json(t, &paused)
	got := h.webhook(admin, w.ID)
	if paused.StatusReason != "ERP maintenance until 18:00" || got.StatusReason != paused.StatusReason ||
		got.StatusChangedAt == nil || !got.StatusChangedAt.Equal(*paused.StatusChangedAt) {
		t.Fatalf("pause answered reason %q at %v; GET %q at %v", paused.StatusReason, paused.StatusChangedAt, got.StatusReason, got.StatusChangedAt)
	}
	h.do("POST", "/v1/webhooks/"+w.ID+"/resume", admin, nil).must(t, 200)
	h.do("POST", "/v1/webhooks/"+w.ID+"/pause", admin, nil).must(t, 200)
	got = h.webhook(admin, w.ID)
	if got.StatusReason != "paused by an admin: events are kept, not delivered, until POST /v1/webhooks/"+w.ID+"/resume" {
		t.Fatalf("default reason %q", got.StatusReason)
	}
	long := strings.Repeat("x", 501)
	if r := h.do("POST", "/v1/webhooks/"+w.ID+"/pause", admin, map[string]any{"reason": long}); r.Status != 400 || r.errorCode(t) != hookgate.EINVALID {
		t.Fatalf("a reason over 500 characters: %d %s", r.Status, r.Body)
	}
}

// The resume answer is what a GET right after shows: consecutive failures
// reset, the status and its time.
func TestResumeAnswerEqualsAReadRightAfter(t *testing.T) {
	h := start(t, func(c *config.Config) { c.Lifecycle.AutoPauseAfter = 2 })
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	failing := receiver.NewRecorder()
	failing.SetStatus(500)
	srv := httptest.NewServer(failing)
	defer srv.Close()
	w := h.createWebhook(admin, map[string]any{"name": "Flaky", "endpoints": endpoints(srv.URL), "events": []string{"deal.*"},
		"retry": map[string]any{"delays": []string{"5ms"}}})
	h.publish(pub, "deal.created", map[string]any{"n": 1})
	h.publish(pub, "deal.created", map[string]any{"n": 2})
	testenv.Eventually(t, 10*time.Second, "the auto-pause", func() bool { return h.webhook(admin, w.ID).Status == hookgate.StatusError })
	if n := h.webhook(admin, w.ID).ConsecutiveFailures; n != 2 {
		t.Fatalf("consecutive_failures %d before resume", n)
	}
	var res struct {
		Webhook json.RawMessage `json:"webhook"`
	}
	h.do("POST", "/v1/webhooks/"+w.ID+"/resume", admin, nil).must(t, 200).json(t, &res)
	var answered, read map[string]any
	if err := json.Unmarshal(res.Webhook, &answered); err != nil {
		t.Fatal(err)
	}
	h.do("GET", "/v1/webhooks/"+w.ID, admin, nil).must(t, 200).json(t, &read)
	if !reflect.DeepEqual(answered, read) {
		t.Fatalf("resume answered\n%v\na GET right after\n%v", answered, read)
	}
	if answered["consecutive_failures"] != 0.0 || answered["status"] != "active" {
		t.Fatalf("resume answered %v", answered)
	}
}

// Seed 001: events go only to confirmed endpoints. A confirmed Uspacy
// webhook that gains an endpoint, or whose endpoint changes URL, keeps
// delivering to its confirmed endpoints and holds the new URL's events
// until that URL follows its SubscribeURL; then they are released.
func TestUspacyNewOrChangedURLHoldsItsEventsUntilConfirmed(t *testing.T) {
	plugin := uspacyPlugin(t)
	// One worker: released events reach the endpoint in the order they were held.
	h := start(t, func(c *config.Config) {
		c.Plugins = []config.Plugin{{Name: "uspacy", Path: plugin}}
		c.Delivery.Concurrency = 1
	})
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	a := receiver.NewRecorder()
	a.SetAutoConfirm(true)
	b, c := receiver.NewRecorder(), receiver.NewRecorder() // they confirm when the test says so
	sa, sb, sc := httptest.NewServer(a), httptest.NewServer(b), httptest.NewServer(c)
	defer sa.Close()
	defer sb.Close()
	defer sc.Close()
	w := h.createWebhook(admin, map[string]any{"name": "Uspacy", "format": "uspacy", "endpoints": endpoints(sa.URL), "events": []string{"deal.*"}})
	testenv.Eventually(t, 10*time.Second, "the first endpoint's confirmation", func() bool { return h.webhook(admin, w.ID).Status == hookgate.StatusActive })
	epA := h.webhook(admin, w.ID).Endpoints[0]
	if epA.Confirmation != hookgate.ConfirmationConfirmed || epA.ConfirmedAt == nil {
		t.Fatalf("endpoint A after confirming: %+v", epA)
	}
	link := func(d receiver.Delivery) string {
		t.Helper()
		var m map[string]string
		if err := json.Unmarshal(d.Body, &m); err != nil || m["Type"] != "SubscriptionConfirmation" {
			t.Fatalf("not a confirmation request: %s", d.Body)
		}
		u, _ := url.Parse(m["SubscribeURL"])
		return u.RequestURI()
	}

	// It gains endpoint B: B is sent a confirmation request, A keeps receiving.
	var upd hookgate.Webhook
	h.do("PATCH", "/v1/webhooks/"+w.ID, admin, map[string]any{"endpoints": []map[string]any{{"url": sa.URL}, {"url": sb.URL}}}).
		must(t, 200).json(t, &upd)
	if upd.Status != hookgate.StatusPendingConfirmation || upd.Endpoints[0].Confirmation != hookgate.ConfirmationConfirmed ||
		upd.Endpoints[1].Confirmation != hookgate.ConfirmationPending || upd.Endpoints[1].ConfirmedAt != nil {
		t.Fatalf("after adding B: status %q, endpoints %+v", upd.Status, upd.Endpoints)
	}
	if !strings.Contains(upd.StatusReason, "/v1/webhooks/"+w.ID+"/confirmation/resend") {
		t.Fatalf("status_reason %q", upd.StatusReason)
	}
	epB := upd.Endpoints[1].ID
	bGot, err := b.WaitFor(testenv.Context(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	linkB := link(bGot[0])
	h.publish(pub, "deal.created", map[string]any{"id": 1, "title": "One"})
	if _, err := a.WaitFor(testenv.Context(t), 2); err != nil { // its confirmation and the event
		t.Fatal(err)
	}
	if got := h.webhook(admin, w.ID); got.HeldEvents != 1 || b.Count() != 1 {
		t.Fatalf("B unconfirmed: held %d, B got %d requests; want 1 held and only the confirmation request", got.HeldEvents, b.Count())
	}

	// B's URL changes before it confirms: the link sent to the old URL no
	// longer confirms, the new URL (C) is asked, and the event waits for it.
	h.do("PATCH", "/v1/webhooks/"+w.ID, admin, map[string]any{"endpoints": []map[string]any{{"url": sa.URL}, {"id": epB, "url": sc.URL}}}).
		must(t, 200).json(t, &upd)
	if upd.Status != hookgate.StatusPendingConfirmation || upd.Endpoints[1].ID != epB || !upd.Endpoints[1].Pending() {
		t.Fatalf("after B's URL changed: status %q, endpoints %+v", upd.Status, upd.Endpoints)
	}
	if r := h.do("GET", linkB, "", nil); r.Status != 409 || r.errorCode(t) != hookgate.ECONFLICT {
		t.Fatalf("the old URL's link: %d %s", r.Status, r.Body)
	}
	cGot, err := c.WaitFor(testenv.Context(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	h.publish(pub, "deal.updated", map[string]any{"id": 1, "title": "One, changed"})
	if _, err := a.WaitFor(testenv.Context(t), 3); err != nil {
		t.Fatal(err)
	}
	if got := h.webhook(admin, w.ID); got.HeldEvents != 2 || c.Count() != 1 || b.Count() != 1 {
		t.Fatalf("C unconfirmed: held %d, C got %d, B got %d", got.HeldEvents, c.Count(), b.Count())
	}

	// C confirms: both held events go to C, oldest first; the webhook is active.
	var cr struct {
		Confirmed  bool                   `json:"confirmed"`
		EndpointID string                 `json:"endpoint_id"`
		Status     hookgate.WebhookStatus `json:"status"`
		Released   int                    `json:"released"`
	}
	h.do("GET", link(cGot[0]), "", nil).must(t, 200).json(t, &cr)
	if !cr.Confirmed || cr.EndpointID != epB || cr.Status != hookgate.StatusActive || cr.Released != 2 {
		t.Fatalf("C's confirmation answered %+v", cr)
	}
	got, err := c.WaitFor(testenv.Context(t), 3)
	if err != nil {
		t.Fatal(err)
	}
	if got[1].Event != "deal.created" || got[2].Event != "deal.updated" {
		t.Fatalf("C got %q then %q", got[1].Event, got[2].Event)
	}
	final := h.webhook(admin, w.ID)
	if final.Status != hookgate.StatusActive || final.HeldEvents != 0 || final.Endpoints[1].Confirmation != hookgate.ConfirmationConfirmed ||
		final.Endpoints[1].ConfirmedAt == nil || final.Endpoints[1].URL != sc.URL || b.Count() != 1 || a.Count() != 3 {
		t.Fatalf("final: %+v; A got %d, B got %d", final, a.Count(), b.Count())
	}
}

// Per-endpoint confirmation with settings.confirmation "required": the
// endpoint that confirms receives at once while the other's events wait;
// a resend goes only to the waiting endpoint; removing it makes the webhook
// active and drops what it held, which it never receives.
func TestRemovingAPendingEndpointDropsWhatItHeld(t *testing.T) {
	h := start(t, func(c *config.Config) { c.Lifecycle.SweepInterval = hookgate.Duration(50 * time.Millisecond) })
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	a := receiver.NewRecorder()
	a.SetAutoConfirm(true)
	b := receiver.NewRecorder()
	sa, sb := httptest.NewServer(a), httptest.NewServer(b)
	defer sa.Close()
	defer sb.Close()
	w := h.createWebhook(admin, map[string]any{"name": "Two", "endpoints": endpoints(sa.URL, sb.URL), "events": []string{"deal.*"},
		"settings": map[string]string{"confirmation": "required"}})
	testenv.Eventually(t, 10*time.Second, "A's confirmation", func() bool {
		return h.webhook(admin, w.ID).Status == hookgate.StatusPendingConfirmation
	})
	ans := h.publish(pub, "deal.created", map[string]any{"n": 1})
	if ans.Deliveries != 1 || ans.Held != 1 {
		t.Fatalf("publish answered %+v; want 1 delivery (A) and 1 held (B)", ans)
	}
	if _, err := a.WaitFor(testenv.Context(t), 2); err != nil {
		t.Fatal(err)
	}
	var sent struct {
		Data []struct {
			URL string `json:"url"`
		} `json:"data"`
	}
	h.do("POST", "/v1/webhooks/"+w.ID+"/confirmation/resend", admin, nil).must(t, 200).json(t, &sent)
	if len(sent.Data) != 1 || sent.Data[0].URL != sb.URL {
		t.Fatalf("resend went to %+v; want only B", sent.Data)
	}
	var upd hookgate.Webhook
	h.do("PATCH", "/v1/webhooks/"+w.ID, admin, map[string]any{"endpoints": endpoints(sa.URL)}).must(t, 200).json(t, &upd)
	if upd.Status != hookgate.StatusActive || upd.Endpoints[0].Confirmation != hookgate.ConfirmationConfirmed {
		t.Fatalf("after removing B: %q %+v", upd.Status, upd.Endpoints)
	}
	testenv.Eventually(t, 10*time.Second, "B's held event dropped", func() bool { return h.webhook(admin, w.ID).HeldEvents == 0 })
	if b.Count() != 2 { // two confirmation requests, no event
		t.Fatalf("B got %d requests", b.Count())
	}
	h.publish(pub, "deal.created", map[string]any{"n": 2})
	if _, err := a.WaitFor(testenv.Context(t), 3); err != nil {
		t.Fatal(err)
	}
}

// The create answer reports each confirmation request (a receiver that
// refuses it is "Failed: 503"); a disabled webhook is sent none, and its
// waiting endpoints are asked again when it is enabled.
func TestConfirmationRequestsAreReportedAndSentAgainOnEnable(t *testing.T) {
	h := start(t, nil)
	admin := h.token("acme", "admin")
	rec := receiver.NewRecorder()
	rec.SetStatus(503)
	srv := httptest.NewServer(rec)
	defer srv.Close()
	w := h.createWebhook(admin, map[string]any{"name": "Refuses", "endpoints": endpoints(srv.URL), "events": []string{"deal.*"},
		"settings": map[string]string{"confirmation": "required"}})
	if len(w.ConfirmationRequests) != 1 || w.ConfirmationRequests[0].OK || w.ConfirmationRequests[0].Message != "Failed: 503" ||
		w.ConfirmationRequests[0].EndpointID != w.Endpoints[0].ID {
		t.Fatalf("create answered confirmation_requests %+v", w.ConfirmationRequests)
	}
	if got := h.webhook(admin, w.ID); got.ConfirmationRequests != nil {
		t.Fatalf("a read shows confirmation_requests %+v", got.ConfirmationRequests)
	}
	var upd hookgate.Webhook
	h.do("PATCH", "/v1/webhooks/"+w.ID, admin, map[string]any{"enabled": false}).must(t, 200).json(t, &upd)
	if upd.ConfirmationRequests != nil || rec.Count() != 1 {
		t.Fatalf("disabling sent %d requests, answered %+v", rec.Count()-1, upd.ConfirmationRequests)
	}
	rec.SetStatus(200)
	h.do("PATCH", "/v1/webhooks/"+w.ID, admin, map[string]any{"enabled": true}).must(t, 200).json(t, &upd)
	if len(upd.ConfirmationRequests) != 1 || !upd.ConfirmationRequests[0].OK || rec.Count() != 2 || upd.Status != hookgate.StatusUnconfirmed {
		t.Fatalf("enabling: %d requests, answered %q %+v", rec.Count(), upd.Status, upd.ConfirmationRequests)
	}
}
