package app_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/testenv"
	"github.com/hookgate/hookgate/plugins/host/hosttest"
)

type publishAnswer struct {
	ID         string `json:"id"`
	Deliveries int    `json:"deliveries"`
	Held       int    `json:"held"`
}

func (h *harness) publish(token, typ string, data map[string]any) publishAnswer {
	h.t.Helper()
	var a publishAnswer
	h.do("POST", "/v1/events", token, map[string]any{"type": typ, "data": data}).must(h.t, 202).json(h.t, &a)
	return a
}

func (h *harness) webhook(token, id string) hookgate.Webhook {
	h.t.Helper()
	var w hookgate.Webhook
	h.do("GET", "/v1/webhooks/"+id, token, nil).must(h.t, 200).json(h.t, &w)
	return w
}

// eventN reads data.n of a standard-format delivery.
func eventN(t *testing.T, d receiver.Delivery) int {
	t.Helper()
	var b struct {
		Event string `json:"event"`
		Data  struct {
			N int `json:"n"`
		} `json:"data"`
	}
	if err := json.Unmarshal(d.Body, &b); err != nil {
		t.Fatalf("delivery body %s: %v", d.Body, err)
	}
	return b.Data.N
}

func TestPausedWebhookKeepsEventsAcrossRestartAndDeliversThemOldestFirst(t *testing.T) {
	// One worker: the order in which tasks are taken is the arrival order.
	h := start(t, func(c *config.Config) { c.Delivery.Concurrency = 1 })
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	rec := receiver.NewRecorder()
	srv := httptest.NewServer(rec)
	defer srv.Close()
	w := h.createWebhook(admin, map[string]any{"name": "ERP Sync", "endpoints": endpoints(srv.URL), "events": []string{"deal.*"}})

	var paused hookgate.Webhook
	h.do("POST", "/v1/webhooks/"+w.ID+"/pause", admin, nil).must(t, 200).json(t, &paused)
	// The reason names the route to call with this webhook's id, not a template.
	if paused.Status != hookgate.StatusPaused || !strings.Contains(paused.StatusReason, "POST /v1/webhooks/"+w.ID+"/resume") {
		t.Fatalf("after pause: status %q reason %q", paused.Status, paused.StatusReason)
	}
	for i := range 50 {
		a := h.publish(pub, "deal.created", map[string]any{"n": i})
		if a.Held != 1 || a.Deliveries != 0 {
			t.Fatalf("event %d answered %+v, want held 1, deliveries 0", i, a)
		}
	}
	if got := h.webhook(admin, w.ID); got.HeldEvents != 50 || got.Status != hookgate.StatusPaused {
		t.Fatalf("webhook shows %d held, status %q; want 50 paused", got.HeldEvents, got.Status)
	}
	if rec.Count() != 0 {
		t.Fatalf("%d deliveries while paused", rec.Count())
	}

	h.restart()
	if got := h.webhook(admin, w.ID); got.HeldEvents != 50 {
		t.Fatalf("after a restart the webhook shows %d held, want 50", got.HeldEvents)
	}
	if rec.Count() != 0 {
		t.Fatalf("%d deliveries while paused, across a restart", rec.Count())
	}

	var res struct {
		Webhook        hookgate.Webhook       `json:"webhook"`
		PreviousStatus hookgate.WebhookStatus `json:"previous_status"`
		Released       int                    `json:"released"`
	}
	h.do("POST", "/v1/webhooks/"+w.ID+"/resume", admin, nil).must(t, 200).json(t, &res)
	if res.Released != 50 || res.PreviousStatus != hookgate.StatusPaused || res.Webhook.Status != hookgate.StatusActive {
		t.Fatalf("resume answered %+v", res)
	}
	got, err := rec.WaitFor(testenv.Context(t), 50)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range got {
		if n := eventN(t, d); n != i {
			t.Fatalf("delivery %d carries event %d: not oldest first", i, n)
		}
	}
	if h.webhook(admin, w.ID).HeldEvents != 0 {
		t.Fatal("events still held after resume")
	}
	// Resuming again is a conflict that says so.
	r := h.do("POST", "/v1/webhooks/"+w.ID+"/resume", admin, nil).must(t, 409)
	if r.errorCode(t) != hookgate.ECONFLICT || !strings.Contains(string(r.Body), "already active") {
		t.Fatalf("resume of an active webhook: %s", r.Body)
	}
}

func TestPauseKeepsARetryInFlight(t *testing.T) {
	h := start(t, func(c *config.Config) {
		c.Delivery.RetryDelays = []hookgate.Duration{hookgate.Duration(300 * time.Millisecond), hookgate.Duration(300 * time.Millisecond)}
	})
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	rec := receiver.NewRecorder()
	rec.SetStatus(503)
	srv := httptest.NewServer(rec)
	defer srv.Close()
	w := h.createWebhook(admin, map[string]any{"name": "Retrying", "endpoints": endpoints(srv.URL), "events": []string{"deal.*"}})
	h.publish(pub, "deal.created", map[string]any{"n": 7})
	first, err := rec.WaitFor(testenv.Context(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	h.do("POST", "/v1/webhooks/"+w.ID+"/pause", admin, nil).must(t, 200)
	// The retry comes due while paused: it is held, not attempted, not lost.
	testenv.Eventually(t, 5*time.Second, "the retry to be held", func() bool { return h.webhook(admin, w.ID).HeldEvents == 1 })
	if rec.Count() != 1 {
		t.Fatalf("%d attempts while paused, want the first only", rec.Count())
	}
	rec.SetStatus(200)
	h.do("POST", "/v1/webhooks/"+w.ID+"/resume", admin, nil).must(t, 200)
	all, err := rec.WaitFor(testenv.Context(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	if all[1].ID != first[0].ID {
		t.Fatalf("the retry after resume has webhook-id %q, the first attempt %q", all[1].ID, first[0].ID)
	}
	// The delivery log goes on counting attempts: the one after resume is the second.
	var dl struct {
		Attempts int                     `json:"attempts"`
		Status   hookgate.DeliveryStatus `json:"status"`
	}
	testenv.Eventually(t, 5*time.Second, "the delivery to be logged succeeded", func() bool {
		r := h.do("GET", "/v1/deliveries/"+first[0].ID, admin, nil)
		if r.Status != 200 {
			return false
		}
		r.json(t, &dl)
		return dl.Status == hookgate.DeliverySucceeded
	})
	if dl.Attempts != 2 {
		t.Fatalf("delivery logged with %d attempts, want 2", dl.Attempts)
	}
}

func TestLifecycleRoutesRefuseMissingOtherTenantsAndDisabledWebhooks(t *testing.T) {
	h := start(t, nil)
	admin, other := h.token("acme", "admin"), h.token("globex", "admin")
	rec := receiver.NewRecorder()
	srv := httptest.NewServer(rec)
	defer srv.Close()
	w := h.createWebhook(admin, map[string]any{"name": "Mine", "endpoints": endpoints(srv.URL), "events": []string{"deal.*"}})
	for _, path := range []string{"/pause", "/resume", "/rotate-secret", "/confirmation/resend"} {
		for _, c := range []struct{ token, id string }{{admin, "wh_missing"}, {other, w.ID}} {
			r := h.do("POST", "/v1/webhooks/"+c.id+path, c.token, nil)
			if r.Status != 404 || r.errorCode(t) != hookgate.ENOTFOUND {
				t.Fatalf("POST %s on %s: %d %s, want 404", path, c.id, r.Status, r.Body)
			}
		}
	}
	if h.webhook(admin, w.ID).Status != hookgate.StatusActive {
		t.Fatal("another tenant changed the webhook")
	}
	// A disabled webhook keeps nothing, and cannot be paused.
	h.do("PATCH", "/v1/webhooks/"+w.ID, admin, map[string]any{"enabled": false}).must(t, 200)
	if r := h.do("POST", "/v1/webhooks/"+w.ID+"/pause", admin, nil); r.Status != 409 {
		t.Fatalf("pause of a disabled webhook: %d %s", r.Status, r.Body)
	}
	a := h.publish(h.token("acme", "publisher"), "deal.created", map[string]any{"n": 1})
	if a.Held != 0 || a.Deliveries != 0 || h.webhook(admin, w.ID).HeldEvents != 0 {
		t.Fatalf("a disabled webhook kept or got something: %+v", a)
	}
	// The confirmation of an active webhook is refused.
	h.do("PATCH", "/v1/webhooks/"+w.ID, admin, map[string]any{"enabled": true}).must(t, 200)
	if r := h.do("POST", "/v1/webhooks/"+w.ID+"/confirmation/resend", admin, nil); r.Status != 409 {
		t.Fatalf("resend on an active webhook: %d %s", r.Status, r.Body)
	}
}

func TestHeldEventsOverTheCapDropTheOldestAndCountThem(t *testing.T) {
	h := start(t, func(c *config.Config) { c.Lifecycle.HoldMax = 5; c.Delivery.Concurrency = 1 })
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	rec := receiver.NewRecorder()
	srv := httptest.NewServer(rec)
	defer srv.Close()
	w := h.createWebhook(admin, map[string]any{"name": "Capped", "endpoints": endpoints(srv.URL), "events": []string{"deal.*"}})
	h.do("POST", "/v1/webhooks/"+w.ID+"/pause", admin, nil).must(t, 200)
	for i := range 8 {
		h.publish(pub, "deal.created", map[string]any{"n": i})
	}
	if n := h.webhook(admin, w.ID).HeldEvents; n != 5 {
		t.Fatalf("held %d, want the cap 5", n)
	}
	if m := metric(t, h, "hookgate_held_dropped_total"); m != "3" {
		t.Fatalf("hookgate_held_dropped_total = %q, want 3", m)
	}
	h.do("POST", "/v1/webhooks/"+w.ID+"/resume", admin, nil).must(t, 200)
	got, err := rec.WaitFor(testenv.Context(t), 5)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range got {
		if n := eventN(t, d); n != i+3 {
			t.Fatalf("delivery %d carries event %d; the 3 oldest should have been dropped", i, n)
		}
	}
}

// metric reads one unlabelled sample from /metrics.
func metric(t *testing.T, h *harness, name string) string {
	t.Helper()
	r := h.do("GET", "/metrics", "", nil).must(t, 200)
	for _, line := range strings.Split(string(r.Body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}

func TestAutoPauseAfterExactlyTheThresholdNotifiesSubscribers(t *testing.T) {
	h := start(t, func(c *config.Config) { c.Lifecycle.AutoPauseAfter = 3; c.Delivery.Concurrency = 1 })
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	failing, ops := receiver.NewRecorder(), receiver.NewRecorder()
	failing.SetStatus(500)
	fs, os := httptest.NewServer(failing), httptest.NewServer(ops)
	defer fs.Close()
	defer os.Close()
	w := h.createWebhook(admin, map[string]any{"name": "ERP Sync", "endpoints": endpoints(fs.URL), "events": []string{"deal.*"},
		"retry": map[string]any{"delays": []string{"10ms"}}})
	h.createWebhook(admin, map[string]any{"name": "Ops", "endpoints": endpoints(os.URL), "events": []string{"webhook.*"}})
	// A system webhook hears every tenant's operational events.
	sysRec := receiver.NewRecorder()
	ss := httptest.NewServer(sysRec)
	defer ss.Close()
	h.createWebhook(h.token("ops", "system"), map[string]any{"name": "Platform", "system": true, "endpoints": endpoints(ss.URL), "events": []string{"webhook.auto_paused"}})

	for i := range 5 {
		h.publish(pub, "deal.created", map[string]any{"n": i})
	}
	opsGot, err := ops.WaitFor(testenv.Context(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Event string         `json:"event"`
		Data  map[string]any `json:"data"`
	}
	if err := json.Unmarshal(opsGot[0].Body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Event != "webhook.auto_paused" || ev.Data["webhook_id"] != w.ID ||
		ev.Data["message"] != "Webhook 'ERP Sync' has been paused due to repeated failures" {
		t.Fatalf("operational event %s", opsGot[0].Body)
	}
	if _, err := sysRec.WaitFor(testenv.Context(t), 1); err != nil {
		t.Fatalf("system webhook: %v", err)
	}
	// 3 deliveries failed after their retry (2 attempts each); the 2 other
	// events are kept.
	testenv.Eventually(t, 5*time.Second, "2 held events", func() bool { return h.webhook(admin, w.ID).HeldEvents == 2 })
	got := h.webhook(admin, w.ID)
	attempts := failing.Count()
	if got.Status != hookgate.StatusError || got.ConsecutiveFailures != 3 || attempts < 6 {
		t.Fatalf("status %q, %d consecutive failures after %d attempts; want error after 3 failed deliveries (6 attempts or more)",
			got.Status, got.ConsecutiveFailures, attempts)
	}
	if !strings.Contains(got.StatusReason, "Webhook 'ERP Sync' has been paused due to repeated failures") ||
		!strings.Contains(got.StatusReason, "/v1/webhooks/"+w.ID+"/resume") || got.StatusChangedAt == nil {
		t.Fatalf("status_reason %q, status_changed_at %v", got.StatusReason, got.StatusChangedAt)
	}
	if !strings.Contains(h.logs.String(), "Webhook 'ERP Sync' has been paused due to repeated failures") {
		t.Fatal("no log line for the auto-pause")
	}
	if m := metric(t, h, "hookgate_webhooks_auto_paused_total"); m != "1" {
		t.Fatalf("hookgate_webhooks_auto_paused_total = %q", m)
	}

	// Resume from error: the held events go out, and subscribers hear of the recovery.
	failing.SetStatus(200)
	var res struct {
		PreviousStatus hookgate.WebhookStatus `json:"previous_status"`
		Released       int                    `json:"released"`
	}
	h.do("POST", "/v1/webhooks/"+w.ID+"/resume", admin, nil).must(t, 200).json(t, &res)
	if res.PreviousStatus != hookgate.StatusError || res.Released != 2 {
		t.Fatalf("resume answered %+v", res)
	}
	if _, err := failing.WaitFor(testenv.Context(t), attempts+2); err != nil {
		t.Fatal(err)
	}
	opsGot, err = ops.WaitFor(testenv.Context(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	if opsGot[1].Event != "webhook.recovered" {
		t.Fatalf("second operational event is %q", opsGot[1].Event)
	}
	if h.webhook(admin, w.ID).ConsecutiveFailures != 0 {
		t.Fatal("consecutive failures not reset by the successes")
	}
}

func TestConfirmationHandshakeThroughAnSNSStyleReceiver(t *testing.T) {
	h := start(t, nil)
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	rec := receiver.NewRecorder()
	rec.SetAutoConfirm(true)
	srv := httptest.NewServer(rec)
	defer srv.Close()

	// The receiver confirms from inside its handler, as SNS handlers do,
	// before the create call has answered; hold it until the event is published.
	gate := make(chan struct{})
	var first atomic.Bool
	rec.SetHandler(func(w http.ResponseWriter, r *http.Request) {
		if first.CompareAndSwap(false, true) {
			<-gate
		}
		w.WriteHeader(200)
	})
	created := make(chan createdWebhook, 1)
	go func() {
		var w createdWebhook
		h.do("POST", "/v1/webhooks", admin, map[string]any{"name": "Uspacy sync", "endpoints": endpoints(srv.URL),
			"events": []string{"deal.*"}, "settings": map[string]string{"confirmation": "required"}}).must(t, 201).json(t, &w)
		created <- w
	}()
	testenv.Eventually(t, 5*time.Second, "the confirmation request", func() bool { return rec.Count() == 1 })
	close(gate)
	w := <-created
	_ = w
	msgs := rec.Deliveries()
	var m map[string]string
	if err := json.Unmarshal(msgs[0].Body, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"Type", "MessageId", "Token", "SubscribeURL", "Timestamp", "Message"} {
		if m[k] == "" {
			t.Fatalf("confirmation message without %s: %s", k, msgs[0].Body)
		}
	}
	if m["Type"] != "SubscriptionConfirmation" || msgs[0].Header.Get("X-Webhook-Message-Type") != "SubscriptionConfirmation" {
		t.Fatalf("message type %q", m["Type"])
	}
	if c := msgs[0].Confirmation; c == nil || c.Err != nil {
		t.Fatalf("the receiver could not follow SubscribeURL: %+v", c)
	}
	if got := h.webhook(admin, w.ID); got.Status != hookgate.StatusActive {
		t.Fatalf("after confirmation the webhook is %q", got.Status)
	}
	h.publish(pub, "deal.created", map[string]any{"n": 1})
	if _, err := rec.WaitFor(testenv.Context(t), 2); err != nil {
		t.Fatal(err)
	}
	// The link works once.
	u, _ := url.Parse(m["SubscribeURL"])
	r := h.do("GET", u.RequestURI(), "", nil)
	if r.Status != 409 || !strings.Contains(string(r.Body), "already been used") {
		t.Fatalf("reused link: %d %s", r.Status, r.Body)
	}
}

func TestUnconfirmedWebhookHoldsEventsUntilConfirmed(t *testing.T) {
	h := start(t, func(c *config.Config) { c.Lifecycle.ConfirmTTL = hookgate.Duration(300 * time.Millisecond) })
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	rec := receiver.NewRecorder() // does not follow links by itself
	srv := httptest.NewServer(rec)
	defer srv.Close()
	w := h.createWebhook(admin, map[string]any{"name": "Needs confirming", "endpoints": endpoints(srv.URL),
		"events": []string{"deal.*"}, "settings": map[string]string{"confirmation": "required"}})
	if w.Status != hookgate.StatusUnconfirmed {
		t.Fatalf("created %q, want unconfirmed", w.Status)
	}
	a := h.publish(pub, "deal.created", map[string]any{"n": 1})
	got := h.webhook(admin, w.ID)
	if a.Held != 1 || got.HeldEvents != 1 || !strings.Contains(got.StatusReason, "confirm") {
		t.Fatalf("publish %+v, webhook held %d reason %q", a, got.HeldEvents, got.StatusReason)
	}
	if !strings.Contains(h.logs.String(), "deliveries held: the webhook is not active") {
		t.Fatal("the log does not say why the event is not delivered")
	}
	link := func(d receiver.Delivery) string {
		var m map[string]string
		if err := json.Unmarshal(d.Body, &m); err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(m["SubscribeURL"])
		return u.RequestURI()
	}
	expired := link(rec.Deliveries()[0])

	// Forged token: 404, state unchanged.
	if r := h.do("GET", "/v1/subscriptions/confirm?token=forged", "", nil); r.Status != 404 || r.errorCode(t) != hookgate.ENOTFOUND {
		t.Fatalf("forged token: %d %s", r.Status, r.Body)
	}
	// Expired token: 410, state unchanged.
	var msg struct {
		ExpiresAt time.Time `json:"ExpiresAt"`
	}
	if err := json.Unmarshal(rec.Deliveries()[0].Body, &msg); err != nil || msg.ExpiresAt.IsZero() {
		t.Fatalf("no ExpiresAt: %v", err)
	}
	testenv.Eventually(t, 5*time.Second, "the link's expiry time", func() bool { return time.Now().After(msg.ExpiresAt.Add(time.Second)) })
	if r := h.do("GET", expired, "", nil); r.Status != 410 || r.errorCode(t) != hookgate.EEXPIRED {
		t.Fatalf("expired link: %d %s", r.Status, r.Body)
	}
	if h.webhook(admin, w.ID).Status != hookgate.StatusUnconfirmed {
		t.Fatal("a bad link changed the webhook")
	}
	// Resend gives a new link, which works.
	var sent struct {
		Data []struct {
			OK bool `json:"ok"`
		} `json:"data"`
	}
	h.do("POST", "/v1/webhooks/"+w.ID+"/confirmation/resend", admin, nil).must(t, 200).json(t, &sent)
	if len(sent.Data) != 1 || !sent.Data[0].OK {
		t.Fatalf("resend answered %+v", sent)
	}
	var cr struct {
		Confirmed bool `json:"confirmed"`
		Released  int  `json:"released"`
	}
	h.do("GET", link(rec.Deliveries()[1]), "", nil).must(t, 200).json(t, &cr)
	if !cr.Confirmed || cr.Released != 1 {
		t.Fatalf("confirm answered %+v", cr)
	}
	all, err := rec.WaitFor(testenv.Context(t), 3)
	if err != nil {
		t.Fatal(err)
	}
	if eventN(t, all[2]) != 1 || all[2].Event != "deal.created" {
		t.Fatalf("after confirmation got %s", all[2].Body)
	}
}

func TestRotatedSecretSignsBesideTheOldDuringGraceOnly(t *testing.T) {
	h := start(t, nil)
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	rec := receiver.NewRecorder()
	srv := httptest.NewServer(rec)
	defer srv.Close()
	w := h.createWebhook(admin, map[string]any{"name": "Rotating", "endpoints": endpoints(srv.URL), "events": []string{"deal.*"}})
	old := w.Secret

	if r := h.do("POST", "/v1/webhooks/"+w.ID+"/rotate-secret", admin, map[string]any{"grace_period": "-1s"}); r.Status != 400 {
		t.Fatalf("negative grace: %d %s", r.Status, r.Body)
	}
	var rot createdWebhook
	h.do("POST", "/v1/webhooks/"+w.ID+"/rotate-secret", admin, map[string]any{"grace_period": "1h"}).must(t, 200).json(t, &rot)
	if rot.Secret == "" || rot.Secret == old || rot.PreviousSecretUntil.IsZero() {
		t.Fatalf("rotation answered secret %q until %v", rot.Secret, rot.PreviousSecretUntil)
	}
	if strings.Contains(string(h.do("GET", "/v1/webhooks/"+w.ID, admin, nil).Body), rot.Secret) {
		t.Fatal("the new secret is shown again on read")
	}
	h.publish(pub, "deal.created", map[string]any{"n": 1})
	got, err := rec.WaitFor(testenv.Context(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	d := got[0]
	if n := len(strings.Fields(d.Header.Get("webhook-signature"))); n != 2 {
		t.Fatalf("webhook-signature has %d entries during grace, want 2", n)
	}
	for _, s := range []string{rot.Secret, old} {
		if err := verifyWith(s, d); err != nil {
			t.Fatalf("during grace, secret %s… does not verify: %v", s[:10], err)
		}
	}
	if d.Header.Get("X-Webhook-Signature-Previous") == "" {
		t.Fatal("no X-Webhook-Signature-Previous during grace")
	}

	// A rotation without grace: only the newest secret signs.
	var rot2 createdWebhook
	h.do("POST", "/v1/webhooks/"+w.ID+"/rotate-secret", admin, map[string]any{"grace_period": "0s"}).must(t, 200).json(t, &rot2)
	h.publish(pub, "deal.created", map[string]any{"n": 2})
	got, err = rec.WaitFor(testenv.Context(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	d = got[1]
	verifyIndependently(t, rot2.Secret, d)
	for _, s := range []string{rot.Secret, old} {
		if verifyWith(s, d) == nil {
			t.Fatal("a replaced secret still verifies after its grace")
		}
	}
}

func TestAHangingEndpointCannotOccupyEveryWorker(t *testing.T) {
	// 4 workers, at most 2 requests per endpoint: a hanging endpoint holds 2.
	h := start(t, func(c *config.Config) {
		c.Delivery.Concurrency = 4
		c.Delivery.EndpointInFlight = 2
		c.Lifecycle.AutoPauseAfter = 3
	})
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	slow, fast := receiver.NewRecorder(), receiver.NewRecorder()
	gate := make(chan struct{})
	slow.SetHandler(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-gate:
		case <-r.Context().Done():
		}
	})
	ss, fs := httptest.NewServer(slow), httptest.NewServer(fast)
	defer ss.Close()
	defer fs.Close()
	sw := h.createWebhook(admin, map[string]any{"name": "Slow", "endpoints": endpoints(ss.URL), "events": []string{"deal.*"}})
	h.createWebhook(admin, map[string]any{"name": "Fast", "endpoints": endpoints(fs.URL), "events": []string{"contact.*"}})
	for i := range 10 {
		h.publish(pub, "deal.created", map[string]any{"n": i})
	}
	testenv.Eventually(t, 5*time.Second, "the slow endpoint to hold its 2 places", func() bool { return slow.Count() == 2 })
	// Every slow delivery has found its endpoint busy at least once by now;
	// the fast endpoint still gets its event while the slow requests hang.
	testenv.Eventually(t, 5*time.Second, "busy re-schedules", func() bool {
		v := metric(t, h, "hookgate_delivery_endpoint_busy_total")
		return v != "" && v != "0"
	})
	h.publish(pub, "contact.created", map[string]any{"n": 1})
	if _, err := fast.WaitFor(testenv.Context(t), 1); err != nil {
		t.Fatalf("the fast endpoint starved behind the hanging one: %v", err)
	}
	if slow.Count() != 2 {
		t.Fatalf("%d requests in flight to the slow endpoint, bound is 2", slow.Count())
	}
	// Waiting for a place is not a failure: no retry spent, no auto-pause.
	got := h.webhook(admin, sw.ID)
	if got.ConsecutiveFailures != 0 || got.Status != hookgate.StatusActive {
		t.Fatalf("busy re-schedules counted as failures: %d, status %q", got.ConsecutiveFailures, got.Status)
	}
	close(gate)
	if _, err := slow.WaitFor(testenv.Context(t), 10); err != nil {
		t.Fatal(err)
	}
}

// uspacyPlugin returns the uspacy plugin executable.
func uspacyPlugin(t *testing.T) string { return hosttest.Builtin(t, "uspacy") }

func TestUspacyFormatStartsUnconfirmedAndConfirmsThroughTheReceiver(t *testing.T) {
	plugin := uspacyPlugin(t)
	h := start(t, func(c *config.Config) { c.Plugins = []config.Plugin{{Name: "uspacy", Path: plugin}} })
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	rec := receiver.NewRecorder()
	rec.SetAutoConfirm(true)
	srv := httptest.NewServer(rec)
	defer srv.Close()
	w := h.createWebhook(admin, map[string]any{"name": "Uspacy", "format": "uspacy", "endpoints": endpoints(srv.URL), "events": []string{"deal.*"}})
	if w.Status != hookgate.StatusUnconfirmed {
		t.Fatalf("a uspacy webhook starts %q, want unconfirmed", w.Status)
	}
	got, err := rec.WaitFor(testenv.Context(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if c := got[0].Confirmation; c == nil || c.Err != nil {
		t.Fatalf("confirmation not followed: %+v (%s)", c, got[0].Body)
	}
	if s := h.webhook(admin, w.ID).Status; s != hookgate.StatusActive {
		t.Fatalf("after the receiver confirmed, status %q", s)
	}
	h.publish(pub, "deal.created", map[string]any{"id": 42, "title": "Big deal"})
	got, err = rec.WaitFor(testenv.Context(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	if got[1].Event != "deal.created" {
		t.Fatalf("second request is %q: %s", got[1].Event, got[1].Body)
	}
}
