package ingest_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/ingest"
)

// One event fans out to one task per subscribed webhook and enabled
// endpoint, with the webhook's retries and a delivery id derived from the
// tenant, event, webhook and endpoint; webhooks not subscribed get nothing.
func TestFanOutIsOneTaskPerSubscribedWebhookAndEnabledEndpoint(t *testing.T) {
	erp := webhook("wh_erp", []string{"deal.*"}, "ep_1", "ep_2", "ep_3")
	erp.Endpoints[2].Enabled = false
	erp.Retry = &hookgate.RetryPolicy{Delays: []hookgate.Duration{1, 2}}
	chat := webhook("wh_chat", []string{"deal.won"}, "ep_c")
	other := webhook("wh_contacts", []string{"contact.*"}, "ep_x")
	globex := webhook("wh_globex", []string{"*"}, "ep_g")
	globex.Tenant = "globex"
	u := newUnit(erp, chat, other, globex)

	res := publishOne(t, u, hookgate.EventInput{ID: "e1", Type: "deal.won", Data: []byte(`{"id":"d_1"}`)}, "")
	if res.ID != "e1" || res.Type != "deal.won" || res.Deliveries != 3 || res.Held != 0 || res.Duplicate {
		t.Fatalf("result %+v, want e1 with 3 deliveries", res)
	}
	if !slices.Equal(u.matcher.asked, []string{"acme deal.won"}) {
		t.Fatalf("the matcher was asked %v", u.matcher.asked)
	}
	want := []string{
		ingest.DeliveryID("acme", "e1", "wh_erp", "ep_1"),
		ingest.DeliveryID("acme", "e1", "wh_erp", "ep_2"),
		ingest.DeliveryID("acme", "e1", "wh_chat", "ep_c"),
	}
	if got := u.queue.ids(); !slices.Equal(got, want) {
		t.Fatalf("enqueued %v, want %v", got, want)
	}
	for _, it := range u.queue.items {
		wantRetries := 5
		if it.Task.WebhookID == "wh_erp" {
			wantRetries = 2
		}
		if it.Retries != wantRetries || it.Task.Event.ID != "e1" || it.Task.Event.Tenant != "acme" ||
			it.Task.Namespace != "acme" || !it.Task.EnqueuedAt.Equal(unitNow) || !it.Task.Event.OccurredAt.Equal(unitNow) {
			t.Errorf("task %+v (retries %d)", it.Task, it.Retries)
		}
	}
	if u.accepted != [2]int{1, 3} {
		t.Fatalf("Accepted saw %v, want 1 event and 3 deliveries", u.accepted)
	}

	// A type nobody subscribes to is accepted with no delivery.
	if res := publishOne(t, u, in("invoice.paid", `{}`), ""); res.Deliveries != 0 || !strings.HasPrefix(res.ID, "evt_") {
		t.Fatalf("unsubscribed type: %+v", res)
	}
	if u.queue.calls != 2 || len(u.queue.items) != 3 {
		t.Fatalf("enqueue calls %d, items %d", u.queue.calls, len(u.queue.items))
	}
}

// A webhook's content filter is applied per webhook: the one whose filter
// refuses the event's data gets no task and holds nothing, the others do.
func TestContentFilterIsAppliedPerWebhook(t *testing.T) {
	big := webhook("wh_big", []string{"deal.*"}, "ep_b")
	big.Filter = []byte(`{"data.amount":{"$gte":1000}}`)
	eur := webhook("wh_eur", []string{"deal.*"}, "ep_e")
	eur.Filter = []byte(`{"data.currency":"EUR"}`)
	pausedBig := webhook("wh_paused_big", []string{"deal.*"}, "ep_p")
	pausedBig.Status = hookgate.StatusPaused
	pausedBig.Filter = big.Filter
	u := newUnit(big, eur, pausedBig)

	res := publishOne(t, u, in("deal.won", `{"amount":500,"currency":"EUR"}`), "")
	if res.Deliveries != 1 || res.Held != 0 || len(u.queue.items) != 1 || u.queue.items[0].Task.WebhookID != "wh_eur" {
		t.Fatalf("small EUR deal: %+v, enqueued %v", res, u.queue.ids())
	}
	if len(u.holder.held) != 0 {
		t.Fatalf("a filtered-out event was held: %v", u.holder.held)
	}
	res = publishOne(t, u, in("deal.won", `{"amount":5000,"currency":"USD"}`), "")
	if res.Deliveries != 1 || res.Held != 1 || u.queue.items[1].Task.WebhookID != "wh_big" || len(u.holder.held["wh_paused_big"]) != 1 {
		t.Fatalf("big USD deal: %+v, enqueued %v, held %v", res, u.queue.ids(), u.holder.held)
	}
}

// A webhook that does not deliver (paused, auto-paused, or an endpoint
// still to confirm) has its deliveries held, grouped in one Hold per
// webhook, and counted as held, not as deliveries; without a Holder they
// are skipped.
func TestDeliveriesOfWebhooksNotDeliveringAreHeld(t *testing.T) {
	active := webhook("wh_active", []string{"deal.*"}, "ep_a")
	paused := webhook("wh_paused", []string{"deal.*"}, "ep_p1", "ep_p2")
	paused.Status = hookgate.StatusPaused
	errored := webhook("wh_error", []string{"deal.*"}, "ep_e")
	errored.Status = hookgate.StatusError
	confirming := webhook("wh_confirming", []string{"deal.*"}, "ep_ok", "ep_wait")
	confirming.Endpoints[1].Confirmation = hookgate.ConfirmationPending
	u := newUnit(active, paused, errored, confirming)

	ins := []hookgate.EventInput{in("deal.won", `{"n":1}`), in("deal.lost", `{"n":2}`)}
	res, err := u.pub.Publish(context.Background(), "acme", ins, "")
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Deliveries != 2 || r.Held != 4 {
			t.Errorf("event %d: %+v, want 2 deliveries (active, confirmed endpoint) and 4 held", i, r)
		}
	}
	if len(u.queue.items) != 4 {
		t.Fatalf("enqueued %v", u.queue.ids())
	}
	for wh, n := range map[string]int{"wh_paused": 4, "wh_error": 2, "wh_confirming": 2} {
		if got := len(u.holder.held[wh]); got != n {
			t.Errorf("%s: %d held, want %d (both events, one Hold per webhook)", wh, got, n)
		}
	}
	if u.accepted != [2]int{2, 4} {
		t.Fatalf("Accepted saw %v", u.accepted)
	}

	u.pub.Holder = nil
	r := publishOne(t, u, in("deal.won", `{"n":3}`), "")
	if r.Deliveries != 2 || r.Held != 0 {
		t.Fatalf("without a holder: %+v, want the 2 deliverable and nothing held", r)
	}
}

// The index was stale: the holder says the webhook is active (or that some
// endpoints have confirmed): what it did not hold is enqueued at once.
// Redis failing in the holder refuses the publish as unavailable.
func TestHoldOfAWebhookThatTurnedActiveDeliversInstead(t *testing.T) {
	paused := webhook("wh_paused", []string{"deal.*"}, "ep_1", "ep_2")
	paused.Status = hookgate.StatusPaused
	u := newUnit(paused)
	u.holder.answer = func(w *hookgate.Webhook, ds []*hookgate.Task) error { return hookgate.ErrWebhookActive }
	publishOne(t, u, in("deal.won", `{}`), "")
	if len(u.queue.items) != 2 || len(u.holder.held) != 0 {
		t.Fatalf("enqueued %v, held %v", u.queue.ids(), u.holder.held)
	}

	u = newUnit(paused)
	u.holder.answer = func(w *hookgate.Webhook, ds []*hookgate.Task) error {
		return &hookgate.DeliverableError{Deliveries: ds[1:]} // ep_2 confirmed meanwhile
	}
	publishOne(t, u, in("deal.won", `{}`), "")
	if len(u.queue.items) != 1 || u.queue.items[0].Task.EndpointID != "ep_2" {
		t.Fatalf("enqueued %v, want only ep_2's", u.queue.ids())
	}

	u = newUnit(paused)
	u.holder.answer = func(w *hookgate.Webhook, ds []*hookgate.Task) error {
		return hookgate.Errorf(hookgate.EINTERNAL, "redis: connection refused")
	}
	if _, err := u.pub.Publish(context.Background(), "acme", []hookgate.EventInput{in("deal.won", `{}`)}, ""); hookgate.ErrorCode(err) != hookgate.EUNAVAILABLE {
		t.Fatalf("hold failing: %v, want %s", err, hookgate.EUNAVAILABLE)
	}
}

// More deliveries than delivery.max_fanout refuse the event as a conflict,
// before anything is claimed or enqueued; exactly the limit is accepted.
func TestMaxFanoutRefusesTheEventBeforeAnythingIsQueued(t *testing.T) {
	a := webhook("wh_a", []string{"*"}, "ep_1", "ep_2")
	b := webhook("wh_b", []string{"*"}, "ep_3")
	b.Status = hookgate.StatusPaused // held deliveries count too, wherever they come
	u := newUnit(b, a)
	u.pub.MaxFanout = 2
	_, err := u.pub.Publish(context.Background(), "acme", []hookgate.EventInput{{ID: "e1", Type: "deal.won", Data: []byte(`{}`)}}, "")
	if hookgate.ErrorCode(err) != hookgate.ECONFLICT || !strings.Contains(hookgate.ErrorMessage(err), "max_fanout") {
		t.Fatalf("3 deliveries with max_fanout 2: %v", err)
	}
	if u.queue.calls != 0 || len(u.holder.held) != 0 || u.idem.state("acme", "e1") != hookgate.ClaimFree {
		t.Fatalf("a refused event left work behind: %d enqueues, held %v, claim %q", u.queue.calls, u.holder.held, u.idem.state("acme", "e1"))
	}
	u.pub.MaxFanout = 3
	if res := publishOne(t, u, in("deal.won", `{}`), ""); res.Deliveries != 2 || res.Held != 1 {
		t.Fatalf("at the limit: %+v", res)
	}
}

// A repeat of a published key is answered the first answer, marked
// duplicate, and enqueues nothing; the key's claim is confirmed only once
// the tasks are queued.
func TestRepeatedKeyIsAnsweredTheFirstAnswer(t *testing.T) {
	u := newUnit(webhook("wh", []string{"deal.*"}, "ep_1", "ep_2"))
	first := publishOne(t, u, in("deal.won", `{"id":"d_1"}`), "order-1")
	if first.Duplicate || first.Deliveries != 2 || u.idem.state("acme", "key:order-1") != hookgate.ClaimDone {
		t.Fatalf("first: %+v, claim %q", first, u.idem.state("acme", "key:order-1"))
	}
	// The same content in another JSON layout is the same event.
	again := publishOne(t, u, in("deal.won", `{ "id" : "d_1" }`), "order-1")
	if !again.Duplicate || again.ID != first.ID || again.Deliveries != 2 {
		t.Fatalf("repeat: %+v, want the first answer %+v marked duplicate", again, first)
	}
	if len(u.queue.items) != 2 || u.accepted != [2]int{2, 2} {
		t.Fatalf("a repeat enqueued: %v (accepted %v)", u.queue.ids(), u.accepted)
	}
	// An event id is its own key.
	byID := publishOne(t, u, hookgate.EventInput{ID: "e7", Type: "deal.won", Data: []byte(`{}`)}, "")
	if again := publishOne(t, u, hookgate.EventInput{ID: "e7", Type: "deal.won", Data: []byte(`{}`)}, ""); !again.Duplicate || again.ID != byID.ID {
		t.Fatalf("repeat of event id e7: %+v", again)
	}
	// An event with nothing to deliver is done at once.
	publishOne(t, u, in("contact.created", `{}`), "nothing")
	if st := u.idem.state("acme", "key:nothing"); st != hookgate.ClaimDone {
		t.Fatalf("claim of an event with no delivery: %q, want done", st)
	}
}

// A key used again for other content is refused (idempotency conflict,
// naming the header), nothing is enqueued, and the keys the refused call
// took are freed so that the corrected request is a first use.
func TestKeyReusedForOtherContentFreesTheKeysTaken(t *testing.T) {
	u := newUnit(webhook("wh", []string{"deal.*"}, "ep_1"))
	publishOne(t, u, in("deal.won", `{"id":"d_1"}`), "order-1")
	_, err := u.pub.Publish(context.Background(), "acme", []hookgate.EventInput{in("deal.won", `{"id":"d_2"}`)}, "order-1")
	var he *hookgate.Error
	if !errors.As(err, &he) || he.Code != hookgate.EIDEMPOTENCY || he.Fields["Idempotency-Key"] == "" {
		t.Fatalf("other content under the key: %v, want %s on Idempotency-Key", err, hookgate.EIDEMPOTENCY)
	}
	if len(u.queue.items) != 1 {
		t.Fatalf("the conflict enqueued: %v", u.queue.ids())
	}

	// In a batch, one conflicting id refuses all, and frees the others' keys.
	ins := []hookgate.EventInput{
		{ID: "fresh", Type: "deal.won", Data: []byte(`{}`)},
		{ID: "e1", Type: "deal.won", Data: []byte(`{"v":1}`)},
	}
	publishOne(t, u, ins[1], "")
	ins[1].Data = []byte(`{"v":2}`)
	_, err = u.pub.Publish(context.Background(), "acme", ins, "")
	if !errors.As(err, &he) || he.Code != hookgate.EIDEMPOTENCY || he.Fields["events[1].id"] == "" {
		t.Fatalf("batch with a reused id: %v", err)
	}
	if !slices.Equal(u.idem.released, []string{"fresh"}) || u.idem.state("acme", "fresh") != hookgate.ClaimFree {
		t.Fatalf("released %v; fresh is %q, want free", u.idem.released, u.idem.state("acme", "fresh"))
	}
}

// A publish refused half-way (the queue gone) leaves its claim pending; the
// retry with the same key publishes again as the same event (id, occurred
// time, delivery ids), then confirms.
func TestPublishRefusedHalfWayIsRetriedAsTheSameEvent(t *testing.T) {
	u := newUnit(webhook("wh", []string{"deal.*"}, "ep_1", "ep_2"))
	u.queue.fail = errRedisGone
	if _, err := u.pub.Publish(context.Background(), "acme", []hookgate.EventInput{in("deal.won", `{"id":"d_1"}`)}, "order-1"); !errors.Is(err, errRedisGone) {
		t.Fatalf("queue gone: %v", err)
	}
	if st := u.idem.state("acme", "key:order-1"); st != hookgate.ClaimPending {
		t.Fatalf("claim after a refused publish: %q, want pending", st)
	}
	if u.accepted != [2]int{} {
		t.Fatalf("a refused publish was counted: %v", u.accepted)
	}

	u.queue.fail = nil
	later := unitNow.Add(time.Minute)
	u.pub.Now = func() time.Time { return later }
	res := publishOne(t, u, in("deal.won", `{"id":"d_1"}`), "order-1")
	if res.Duplicate || res.Deliveries != 2 || res.ID != ingest.KeyEventID("acme", "key:order-1", ingest.Digest(&hookgate.EventInput{Type: "deal.won", Data: []byte(`{"id":"d_1"}`)})) {
		t.Fatalf("retry: %+v", res)
	}
	for _, it := range u.queue.items {
		if !it.Task.Event.OccurredAt.Equal(unitNow) || it.Task.ID != ingest.DeliveryID("acme", res.ID, "wh", it.Task.EndpointID) {
			t.Fatalf("retried task %+v: not the first event's", it.Task)
		}
	}
	if st := u.idem.state("acme", "key:order-1"); st != hookgate.ClaimDone {
		t.Fatalf("claim after the retry: %q, want done", st)
	}
}

// fakeReplicas records what the publish had done when it was asked to wait.
type fakeReplicas struct {
	u     *unit
	fail  error
	calls int
	seen  []string // per call: tasks queued and the claim's state
}

func (f *fakeReplicas) Wait(context.Context) error {
	f.calls++
	f.seen = append(f.seen, strings.Join(f.u.queue.ids(), ",")+" "+string(f.u.idem.state("acme", "key:order-1")))
	return f.fail
}

// With redis.replica_acks the publish waits for the replicas after its
// tasks are queued and before its key is confirmed; too few replicas
// refuse it as unavailable with the key pending, and the retry with the
// same key enqueues the same tasks (no new ones), waits again and confirms.
func TestPublishWaitsForReplicasBeforeConfirming(t *testing.T) {
	u := newUnit(webhook("wh", []string{"deal.*"}, "ep_1", "ep_2"))
	rep := &fakeReplicas{u: u, fail: errors.New("1 of 1 replicas acknowledged: 0")}
	u.pub.Replicas = rep
	_, err := u.pub.Publish(context.Background(), "acme", []hookgate.EventInput{in("deal.won", `{"id":"d_1"}`)}, "order-1")
	if hookgate.ErrorCode(err) != hookgate.EUNAVAILABLE {
		t.Fatalf("too few replicas: %v, want %s", err, hookgate.EUNAVAILABLE)
	}
	if len(u.queue.items) != 2 || !strings.HasSuffix(rep.seen[0], " "+string(hookgate.ClaimPending)) {
		t.Fatalf("waited with %q (tasks, claim); want both tasks queued and the claim pending", rep.seen)
	}
	if st := u.idem.state("acme", "key:order-1"); st != hookgate.ClaimPending || u.accepted != [2]int{} {
		t.Fatalf("after a refused wait: claim %q, accepted %v; want pending, nothing", st, u.accepted)
	}
	first := u.queue.ids()

	rep.fail = nil
	res := publishOne(t, u, in("deal.won", `{"id":"d_1"}`), "order-1")
	if res.Duplicate || res.Deliveries != 2 || rep.calls != 2 {
		t.Fatalf("retry: %+v after %d waits", res, rep.calls)
	}
	if st := u.idem.state("acme", "key:order-1"); st != hookgate.ClaimDone {
		t.Fatalf("claim after the retry: %q, want done", st)
	}
	if again := u.queue.ids(); len(again) != 4 || !slices.Equal(again[:2], first) || !slices.Equal(again[2:], first) {
		t.Fatalf("the retry enqueued %v, want the same task ids %v again (the queue refuses a second copy)", again, first)
	}
	// An event with nothing to deliver writes no task: nothing to wait for.
	publishOne(t, u, in("contact.created", `{}`), "nothing")
	if rep.calls != 2 {
		t.Fatalf("waited %d times, want no wait for an event without deliveries", rep.calls)
	}
}
