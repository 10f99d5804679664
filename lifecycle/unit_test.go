package lifecycle_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/fakes"
	"github.com/hookgate/hookgate/internal/store"
	"github.com/hookgate/hookgate/internal/testenv"
	"github.com/hookgate/hookgate/lifecycle"
)

// Unit tests of the lifecycle's decisions over an in-memory webhook store
// and recording fakes of its other ports. Resume also needs the held lists,
// which the Manager takes as the concrete *store.Held (no port yet): those
// tests use the real one on Redis.

// recordingPublisher accepts every operational event and keeps it.
type recordingPublisher struct {
	mu     sync.Mutex
	events []hookgate.EventInput
	tenant []string
}

func (p *recordingPublisher) Validate(*hookgate.EventInput) error { return nil }

func (p *recordingPublisher) Publish(_ context.Context, tenant string, ins []hookgate.EventInput, _ string) ([]hookgate.PublishResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, ins...)
	for range ins {
		p.tenant = append(p.tenant, tenant)
	}
	return nil, nil
}

func (p *recordingPublisher) types() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, in := range p.events {
		out = append(out, in.Type)
	}
	return out
}

// counters records the webhooks whose consecutive failures were reset.
type counters struct{ reset []string }

func (c *counters) ResetConsecutiveFailures(_ context.Context, id string) error {
	c.reset = append(c.reset, id)
	return nil
}

// enqueued keeps what the manager put back in the queue.
type enqueued struct{ items []hookgate.QueueItem }

func (q *enqueued) Enqueue(_ context.Context, items []hookgate.QueueItem) error {
	q.items = append(q.items, items...)
	return nil
}

type lifecycleUnit struct {
	m           *lifecycle.Manager
	holder      *lifecycle.Holder
	store       *fakes.WebhookStore
	pub         *recordingPublisher
	counters    *counters
	queue       *enqueued
	reg         *prometheus.Registry
	invalidated []string
}

// newLifecycleUnit is a Manager that auto-pauses after 3 consecutive
// failures, over a fake store holding hooks.
func newLifecycleUnit(hooks ...*hookgate.Webhook) *lifecycleUnit {
	u := &lifecycleUnit{store: fakes.NewWebhookStore(hooks...), pub: &recordingPublisher{}, counters: &counters{}, queue: &enqueued{},
		reg: prometheus.NewRegistry()}
	u.m = &lifecycle.Manager{
		Store: u.store, Counters: u.counters, Queue: u.queue, Publisher: u.pub,
		Config:     config.Lifecycle{AutoPauseAfter: 3},
		Retries:    func(*hookgate.Webhook) int { return 4 },
		Invalidate: func(ns string) { u.invalidated = append(u.invalidated, ns) },
		NewID:      hookgate.NewID,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics:    lifecycle.NewMetrics(u.reg),
	}
	return u
}

// useHeld gives the manager, and a holder over the same store and metrics,
// held deliveries kept in held.
func (u *lifecycleUnit) useHeld(held hookgate.HeldDeliveries) {
	u.m.Held = held
	u.holder = &lifecycle.Holder{Store: u.store, Held: held, HoldMax: 100, Invalidate: u.m.Invalidate,
		Logger: u.m.Logger, Metrics: u.m.Metrics}
}

func activeHook(id string, eps ...string) *hookgate.Webhook {
	w := &hookgate.Webhook{ID: id, Tenant: "acme", Name: "ERP " + id, Enabled: true, Status: hookgate.StatusActive,
		Format: "standard", Events: []string{"deal.*"}}
	for _, ep := range eps {
		w.Endpoints = append(w.Endpoints, hookgate.Endpoint{ID: ep, URL: "https://example.com/" + ep, Enabled: true})
	}
	return w
}

// Failed pauses a webhook (status error) once its consecutive failures
// reach lifecycle.auto_pause_after, not before; it says why in the status
// reason, drops the cached index of the tenant, counts it, and publishes
// webhook.auto_paused to the tenant with the count and the threshold.
func TestFailedAutoPausesAtTheThresholdAndNotBefore(t *testing.T) {
	u := newLifecycleUnit(activeHook("wh_1", "ep_1"))
	ctx := context.Background()
	w := u.store.Get("acme", "wh_1")
	u.m.Failed(ctx, w, 2)
	if got := u.store.Get("acme", "wh_1"); got.Status != hookgate.StatusActive || u.store.Updates != 0 || len(u.pub.events) != 0 {
		t.Fatalf("2 failures of 3: status %s, %d updates, events %v", got.Status, u.store.Updates, u.pub.types())
	}
	u.m.Failed(ctx, w, 3)
	got := u.store.Get("acme", "wh_1")
	if got.Status != hookgate.StatusError || got.StatusChangedAt == nil ||
		!strings.Contains(got.StatusReason, "3 consecutive deliveries failed") || !strings.Contains(got.StatusReason, "/v1/webhooks/wh_1/resume") {
		t.Fatalf("after 3 failures: status %s, reason %q", got.Status, got.StatusReason)
	}
	if len(u.invalidated) != 1 || u.invalidated[0] != "acme" {
		t.Fatalf("invalidated %v, want acme once", u.invalidated)
	}
	if len(u.pub.events) != 1 || u.pub.events[0].Type != "webhook.auto_paused" || u.pub.tenant[0] != "acme" {
		t.Fatalf("published %v to %v", u.pub.types(), u.pub.tenant)
	}
	var data map[string]any
	if err := json.Unmarshal(u.pub.events[0].Data, &data); err != nil {
		t.Fatal(err)
	}
	if data["webhook_id"] != "wh_1" || data["status"] != "error" || data["consecutive_failures"] != 3.0 || data["threshold"] != 3.0 ||
		data["message"] != "Webhook 'ERP wh_1' has been paused due to repeated failures" {
		t.Fatalf("webhook.auto_paused data %v", data)
	}
	if n := u.counter(t, "hookgate_webhooks_auto_paused_total"); n != 1 {
		t.Fatalf("auto-paused counter %g, want 1", n)
	}
}

// A webhook already paused (by an admin or automatically), disabled, or
// deleted is left as it is and nothing is published; with
// auto_pause_after 0 no number of failures pauses.
func TestFailedLeavesPausedDisabledAndGoneWebhooksAlone(t *testing.T) {
	paused := activeHook("wh_paused", "ep")
	paused.Status, paused.StatusReason = hookgate.StatusPaused, "maintenance"
	errored := activeHook("wh_error", "ep")
	errored.Status = hookgate.StatusError
	disabled := activeHook("wh_disabled", "ep")
	disabled.Enabled = false
	u := newLifecycleUnit(paused, errored, disabled)
	ctx := context.Background()
	for _, w := range []*hookgate.Webhook{paused, errored, disabled, activeHook("wh_deleted", "ep")} {
		u.m.Failed(ctx, w, 10)
	}
	// The caller's copy said active, the stored one is paused: the store wins.
	stale := fakes.Clone(paused)
	stale.Status = hookgate.StatusActive
	u.m.Failed(ctx, stale, 10)
	if got := u.store.Get("acme", "wh_paused"); got.Status != hookgate.StatusPaused || got.StatusReason != "maintenance" {
		t.Fatalf("the paused webhook became %s (%q)", got.Status, got.StatusReason)
	}
	if got := u.store.Get("acme", "wh_disabled"); got.Status != hookgate.StatusActive {
		t.Fatalf("the disabled webhook became %s", got.Status)
	}
	if u.store.Updates != 0 || len(u.pub.events) != 0 || len(u.invalidated) != 0 {
		t.Fatalf("%d updates, events %v, invalidated %v", u.store.Updates, u.pub.types(), u.invalidated)
	}

	u = newLifecycleUnit(activeHook("wh_1", "ep"))
	u.m.Config.AutoPauseAfter = 0
	u.m.Failed(ctx, u.store.Get("acme", "wh_1"), 1000)
	if got := u.store.Get("acme", "wh_1"); got.Status != hookgate.StatusActive {
		t.Fatalf("auto_pause_after 0 paused the webhook: %s", got.Status)
	}
}

// Of many deliveries failing at once, one wins the transition: the webhook
// is paused once and webhook.auto_paused is published once.
func TestConcurrentFailuresAutoPauseOnce(t *testing.T) {
	u := newLifecycleUnit(activeHook("wh_1", "ep_1"))
	w := u.store.Get("acme", "wh_1")
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() { u.m.Failed(context.Background(), fakes.Clone(w), int64(3+i)) })
	}
	wg.Wait()
	if got := u.pub.types(); len(got) != 1 || got[0] != "webhook.auto_paused" {
		t.Fatalf("published %v, want webhook.auto_paused once", got)
	}
	if u.store.Updates != 1 {
		t.Fatalf("%d updates, want 1", u.store.Updates)
	}
}

// Gone (an endpoint answered 410) disables that endpoint only; the webhook
// and its other endpoints keep delivering.
func TestGoneDisablesOnlyThatEndpoint(t *testing.T) {
	u := newLifecycleUnit(activeHook("wh_1", "ep_1", "ep_2"))
	u.m.Gone(context.Background(), u.store.Get("acme", "wh_1"), "ep_2")
	got := u.store.Get("acme", "wh_1")
	if !got.Enabled || got.Status != hookgate.StatusActive || !got.Endpoints[0].Enabled || got.Endpoints[1].Enabled {
		t.Fatalf("after ep_2 answered 410: enabled %v, status %s, endpoints %+v", got.Enabled, got.Status, got.Endpoints)
	}
	// A webhook deleted meanwhile: nothing to do, nothing created.
	u.m.Gone(context.Background(), activeHook("wh_deleted", "ep"), "ep")
	if u.store.Get("acme", "wh_deleted") != nil {
		t.Fatal("Gone created a webhook")
	}
}

// Resume of an auto-paused webhook makes it active, resets its
// consecutive failures, releases what it held (oldest first, with its
// retries), and publishes webhook.recovered; resuming an active webhook
// with nothing held is a conflict; an unconfirmed or disabled one cannot
// be resumed. Pause of an unconfirmed webhook is a conflict too.
func TestResumeReleasesWhatWasHeldAndRecovers(t *testing.T) {
	errored := activeHook("wh_1", "ep_1")
	errored.Status, errored.ConsecutiveFailures = hookgate.StatusError, 7
	unconfirmed := activeHook("wh_unconfirmed", "ep_1")
	unconfirmed.Status = hookgate.StatusUnconfirmed
	disabled := activeHook("wh_disabled", "ep_1")
	disabled.Enabled = false
	u := newLifecycleUnit(errored, unconfirmed, disabled)
	rdb := testenv.Redis(t)
	u.useHeld(store.NewHeld(rdb, testenv.KeyPrefix(t, rdb, "hgunit"), 100))
	ctx := context.Background()
	var ds []*hookgate.Task
	for _, id := range []string{"dl_1", "dl_2", "dl_3"} {
		ds = append(ds, &hookgate.Task{ID: id, Namespace: "acme", WebhookID: "wh_1", EndpointID: "ep_1",
			Event: hookgate.Event{ID: "evt_" + id, Type: "deal.won", Tenant: "acme", Data: []byte(`{}`)}})
	}
	if err := u.holder.Hold(ctx, errored, ds); err != nil {
		t.Fatal(err)
	}

	res, err := u.m.Resume(ctx, "acme", "wh_1")
	if err != nil {
		t.Fatal(err)
	}
	if res.PreviousStatus != hookgate.StatusError || res.Released != 3 || res.Webhook.Status != hookgate.StatusActive ||
		res.Webhook.HeldEvents != 0 || res.Webhook.StatusReason != "" {
		t.Fatalf("resume: %+v, webhook status %s, held %d", res, res.Webhook.Status, res.Webhook.HeldEvents)
	}
	if len(u.queue.items) != 3 || u.queue.items[0].Task.ID != "dl_1" || u.queue.items[2].Task.ID != "dl_3" || u.queue.items[0].Retries != 4 {
		t.Fatalf("released %+v", u.queue.items)
	}
	if len(u.counters.reset) != 1 || u.counters.reset[0] != "wh_1" || len(u.invalidated) != 1 {
		t.Fatalf("counters reset %v, invalidated %v", u.counters.reset, u.invalidated)
	}
	if got := u.pub.types(); len(got) != 1 || got[0] != "webhook.recovered" {
		t.Fatalf("published %v, want webhook.recovered", got)
	}

	for id, code := range map[string]string{"wh_1": hookgate.ECONFLICT, "wh_unconfirmed": hookgate.ECONFLICT, "wh_disabled": hookgate.EDISABLED} {
		if _, err := u.m.Resume(ctx, "acme", id); hookgate.ErrorCode(err) != code {
			t.Errorf("resume %s: %v, want %s", id, err, code)
		}
	}
	if _, err := u.m.Pause(ctx, "acme", "wh_unconfirmed", ""); hookgate.ErrorCode(err) != hookgate.ECONFLICT {
		t.Errorf("pause of an unconfirmed webhook: %v, want %s", err, hookgate.ECONFLICT)
	}
	if len(u.pub.events) != 1 {
		t.Fatalf("refused resumes published %v", u.pub.types())
	}

	// An admin's pause then resume: active again, no webhook.recovered.
	if w, err := u.m.Pause(ctx, "acme", "wh_1", "  deploying  "); err != nil || w.Status != hookgate.StatusPaused || w.StatusReason != "deploying" {
		t.Fatalf("pause: %+v, %v", w, err)
	}
	if res, err := u.m.Resume(ctx, "acme", "wh_1"); err != nil || res.PreviousStatus != hookgate.StatusPaused || res.Webhook.Status != hookgate.StatusActive {
		t.Fatalf("resume after a pause: %+v, %v", res, err)
	}
	if len(u.pub.events) != 1 {
		t.Fatalf("resuming an admin's pause published %v", u.pub.types())
	}
}

// counter reads a counter of the unit's registry.
func (u *lifecycleUnit) counter(t *testing.T, name string) float64 {
	t.Helper()
	mfs, err := u.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// Hold re-reads the webhook: a paused or auto-paused one keeps every
// delivery in its own list; an active one keeps, per endpoint, those of
// endpoints still to confirm and hands back the deliverable ones (the
// caller's view was stale, so the tenant's index is dropped); a deleted or
// disabled webhook, or a disabled endpoint, keeps nothing.
func TestHoldKeepsOnlyWhatIsNotToGoOutNow(t *testing.T) {
	paused := activeHook("wh_paused", "ep_1")
	paused.Status = hookgate.StatusPaused
	confirming := activeHook("wh_confirming", "ep_ok", "ep_wait", "ep_off")
	confirming.Endpoints[1].Confirmation = hookgate.ConfirmationPending
	confirming.Endpoints[2].Enabled = false
	disabled := activeHook("wh_disabled", "ep_1")
	disabled.Enabled = false
	u := newLifecycleUnit(paused, confirming, disabled)
	rdb := testenv.Redis(t)
	u.useHeld(store.NewHeld(rdb, testenv.KeyPrefix(t, rdb, "hgunit"), 100))
	ctx := context.Background()
	tasks := func(w *hookgate.Webhook, eps ...string) []*hookgate.Task {
		var ds []*hookgate.Task
		for _, ep := range eps {
			ds = append(ds, &hookgate.Task{ID: "dl_" + w.ID + ep, Namespace: "acme", WebhookID: w.ID, EndpointID: ep,
				Event: hookgate.Event{ID: "evt_1", Type: "deal.won", Tenant: "acme", Data: []byte(`{}`)}})
		}
		return ds
	}
	// The caller saw the paused webhook as active: the store's status wins.
	stale := fakes.Clone(paused)
	stale.Status = hookgate.StatusActive
	if err := u.holder.Hold(ctx, stale, tasks(paused, "ep_1", "ep_1")); err != nil {
		t.Fatal(err)
	}
	err := u.holder.Hold(ctx, confirming, tasks(confirming, "ep_ok", "ep_wait", "ep_off", "ep_gone"))
	var de *hookgate.DeliverableError
	if !errors.As(err, &de) || !errors.Is(err, hookgate.ErrWebhookActive) || len(de.Deliveries) != 1 || de.Deliveries[0].EndpointID != "ep_ok" {
		t.Fatalf("hold on an active webhook: %v, want ep_ok's delivery handed back", err)
	}
	if len(u.invalidated) != 1 {
		t.Fatalf("invalidated %v, want the tenant once (its view was stale)", u.invalidated)
	}
	for _, w := range []*hookgate.Webhook{disabled, activeHook("wh_deleted", "ep_1")} {
		if err := u.holder.Hold(ctx, w, tasks(w, "ep_1")); err != nil {
			t.Fatalf("hold for %s: %v", w.ID, err)
		}
	}
	counts, err := u.m.HeldCounts(ctx, []string{"wh_paused", "wh_confirming", "wh_disabled", "wh_deleted"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{2, 1, 0, 0}; !slices.Equal(counts, want) {
		t.Fatalf("held %v, want %v", counts, want)
	}
	if eps, err := u.m.Held.Endpoints(ctx, "wh_confirming"); err != nil || !slices.Equal(eps, []string{"ep_wait"}) {
		t.Fatalf("endpoints holding: %v, %v; want ep_wait", eps, err)
	}
	if n := u.counter(t, "hookgate_held_events_total"); n != 3 {
		t.Fatalf("held counter %g, want 3", n)
	}
}
