package ingest_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/ingest"
	"github.com/hookgate/hookgate/internal/store"
	"github.com/hookgate/hookgate/internal/testenv"
	"github.com/hookgate/hookgate/queue"
)

// roundTrips counts the round trips a Redis client makes and, when told,
// refuses every one from the nth on, as a Redis that went away would: the
// server is the real Redis, the failure lands at an exact step of a publish.
type roundTrips struct {
	mu     sync.Mutex
	n      int
	failAt int // 0: none
}

var errGone = &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}

func (r *roundTrips) trip(cmd redis.Cmder) error {
	switch cmd.Name() {
	case "hello", "client", "auth", "select":
		return nil // a new connection's handshake, not the publish's work
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	if r.failAt > 0 && r.n >= r.failAt {
		return errGone
	}
	return nil
}

// reset zeroes the count and fails from the failAt-th round trip on (0: never).
func (r *roundTrips) reset(failAt int) {
	r.mu.Lock()
	r.n, r.failAt = 0, failAt
	r.mu.Unlock()
}

// heal stops refusing round trips; the count goes on.
func (r *roundTrips) heal() {
	r.mu.Lock()
	r.failAt = 0
	r.mu.Unlock()
}

func (r *roundTrips) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if err := r.trip(cmd); err != nil {
			cmd.SetErr(err)
			return err
		}
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if err := r.trip(cmds[0]); err != nil {
			for _, c := range cmds {
				c.SetErr(err)
			}
			return err
		}
		return next(ctx, cmds)
	}
}

// matcher is the in-memory index standing still: every event type matches
// the webhooks.
type matcher []*hookgate.Webhook

func (m matcher) Match(_ context.Context, _, _ string, dst []*hookgate.Webhook) ([]*hookgate.Webhook, error) {
	return append(dst, m...), nil
}

// holder holds straight into the held list in Redis (what lifecycle.Manager
// does once it has checked the webhook is still paused).
type holder struct{ h *store.Held }

func (h holder) Hold(ctx context.Context, w *hookgate.Webhook, ds []*hookgate.Task) error {
	_, err := h.h.Hold(ctx, w.Tenant, w.ID, ds)
	return err
}

// env is a publisher on the real Redis, under its own prefix and queue,
// with one active and one paused webhook of one endpoint each.
type env struct {
	t              testing.TB
	trips          *roundTrips
	rdb            *redis.Client
	prefix         string
	pub            *ingest.Publisher
	held           *store.Held
	insp           *asynq.Inspector
	active, paused *hookgate.Webhook
}

func newEnv(t testing.TB, hooks ...*hookgate.Webhook) *env {
	t.Helper()
	e := &env{t: t, trips: &roundTrips{}, prefix: testenv.Prefix("hgpub")}
	e.rdb = redis.NewClient(&redis.Options{Addr: testenv.RedisAddr()})
	if err := e.rdb.Ping(context.Background()).Err(); err != nil {
		t.Skipf("no Redis at %s: %v", testenv.RedisAddr(), err)
	}
	e.rdb.AddHook(e.trips)
	e.active = &hookgate.Webhook{ID: "wh_active", Tenant: "acme", Enabled: true, Status: hookgate.StatusActive,
		Endpoints: []hookgate.Endpoint{{ID: "ep_a", Enabled: true}}}
	e.paused = &hookgate.Webhook{ID: "wh_paused", Tenant: "acme", Enabled: true, Status: hookgate.StatusPaused,
		Endpoints: []hookgate.Endpoint{{ID: "ep_p", Enabled: true}}}
	if hooks == nil {
		hooks = []*hookgate.Webhook{e.active, e.paused}
	}
	e.held = store.NewHeld(e.rdb, e.prefix, 1000)
	e.insp = asynq.NewInspectorFromRedisClient(e.rdb)
	e.pub = &ingest.Publisher{
		Matcher: matcher(hooks), Queue: queue.NewClient(e.rdb, []string{e.prefix}, time.Minute),
		Idempotency: store.NewIdempotency(e.rdb, e.prefix, time.Hour), Holder: holder{e.held},
		MaxPayload: 1 << 16, MaxFanout: 100, Retries: func(*hookgate.Webhook) int { return 3 }, Now: time.Now,
	}
	t.Cleanup(func() {
		e.trips.reset(0)
		_ = testenv.DeleteDeployment(context.Background(), e.rdb, e.prefix, e.prefix) // best effort: a test may have stopped its Redis
		e.rdb.Close()
	})
	// Warm up: asynq registers the queue once per client, Redis loads the scripts.
	if _, err := e.pub.Publish(context.Background(), "warmup", []hookgate.EventInput{event(`{"warm":1}`)}, "warm"); err != nil {
		t.Fatal(err)
	}
	return e
}

func event(data string) hookgate.EventInput {
	return hookgate.EventInput{Type: "deal.won", Data: []byte(data)}
}

// publish publishes ins for tenant acme, the first failAt-1 round trips
// going through and every later one refused (failAt 0: none).
func (e *env) publish(failAt int, key string, ins ...hookgate.EventInput) ([]hookgate.PublishResult, error) {
	e.t.Helper()
	e.trips.reset(failAt)
	defer e.trips.heal()
	return e.pub.Publish(context.Background(), "acme", ins, key)
}

// tasks returns the delivery tasks of the queue, by delivery id.
func (e *env) tasks() map[string]hookgate.Task {
	e.t.Helper()
	infos, err := e.insp.ListPendingTasks(e.prefix, asynq.PageSize(1000))
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]hookgate.Task{}
	for _, ti := range infos {
		var d hookgate.Task
		if err := d.UnmarshalBinary(ti.Payload); err != nil {
			e.t.Fatal(err)
		}
		if d.Event.Tenant == "acme" {
			out[ti.ID] = d
		}
	}
	return out
}

func (e *env) heldCount() int64 {
	e.t.Helper()
	n, err := e.held.Counts(context.Background(), []string{e.paused.ID})
	if err != nil {
		e.t.Fatal(err)
	}
	return n[0]
}

// TestRedisGoneAtAnyStepOfAPublishLeavesItRetryable: a keyed event for an
// active and a paused webhook takes five round trips (claim, enqueue, the
// held set, the held list, confirm). Redis going away before any of them
// refuses the event (unavailable), and the retry with the same key is
// processed anew: accepted, not "duplicate", under one event id, with
// exactly one task for the active endpoint and the delivery held for the
// paused one. A third try is the duplicate.
func TestRedisGoneAtAnyStepOfAPublishLeavesItRetryable(t *testing.T) {
	steps := []string{"before the claim", "between claim and enqueue", "between enqueue and hold", "during the hold",
		"between hold and confirm", "never"}
	for i, step := range steps {
		failAt := i + 1
		if step == "never" {
			failAt = 0
		}
		t.Run(step, func(t *testing.T) {
			e := newEnv(t)
			ev := event(`{"deal": 42}`)
			rs, err := e.publish(failAt, "k-1", ev)
			switch {
			case failAt == 0 && err != nil:
				t.Fatal(err)
			case failAt == 0:
				if n := e.trips.count(); n != len(steps)-1 {
					t.Fatalf("the publish took %d round trips, want %d", n, len(steps)-1)
				}
			case hookgate.ErrorCode(err) != hookgate.EUNAVAILABLE:
				t.Fatalf("Redis gone %s: error %v (%s), want unavailable", step, err, hookgate.ErrorCode(err))
			}
			heldBefore := e.heldCount()

			retry, err := e.publish(0, "k-1", ev)
			if err != nil {
				t.Fatal(err)
			}
			r := retry[0]
			if failAt != 0 && (r.Duplicate || r.Deliveries != 1 || r.Held != 1) {
				t.Fatalf("retry after a refusal answered %+v, want 1 delivery, 1 held, not a duplicate", r)
			}
			if failAt == 0 && (!r.Duplicate || r != (hookgate.PublishResult{ID: rs[0].ID, Type: rs[0].Type, Deliveries: 1, Held: 1, Duplicate: true})) {
				t.Fatalf("repeat of an accepted event answered %+v, first answer %+v", r, rs[0])
			}
			tasks := e.tasks()
			want := ingest.DeliveryID("acme", r.ID, e.active.ID, "ep_a")
			if _, ok := tasks[want]; len(tasks) != 1 || !ok {
				t.Fatalf("queue holds %v, want only %s (event %s)", keys(tasks), want, r.ID)
			}
			if got := e.heldCount(); got < 1 || got > heldBefore+1 {
				t.Fatalf("%d deliveries held (%d before the retry), want at least one", got, heldBefore)
			}

			again, err := e.publish(0, "k-1", ev)
			if err != nil {
				t.Fatal(err)
			}
			if !again[0].Duplicate || again[0].ID != r.ID {
				t.Fatalf("third try answered %+v, want the duplicate of %+v", again[0], r)
			}
			if n := len(e.tasks()); n != 1 {
				t.Fatalf("the duplicate enqueued: %d tasks", n)
			}
		})
	}
}

func keys(m map[string]hookgate.Task) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestRepublishAfterTheKeyIsLostDoesNotEnqueueTwice: the key's record gone
// (evicted, or not on disk when Redis died) while the task survived: the
// re-publish derives the same event id from the key and content, so the
// task id is the same and the queue keeps one task.
func TestRepublishAfterTheKeyIsLostDoesNotEnqueueTwice(t *testing.T) {
	e := newEnv(t)
	first, err := e.publish(0, "k-lost", event(`{"deal": 7}`))
	if err != nil {
		t.Fatal(err)
	}
	iter := e.rdb.Scan(context.Background(), 0, e.prefix+":idem:acme:*", 100).Iterator()
	for iter.Next(context.Background()) {
		e.rdb.Del(context.Background(), iter.Val())
	}
	again, err := e.publish(0, "k-lost", event(`{"deal": 7}`))
	if err != nil {
		t.Fatal(err)
	}
	if again[0].ID != first[0].ID {
		t.Fatalf("re-publish has event id %s, first %s", again[0].ID, first[0].ID)
	}
	if n := len(e.tasks()); n != 1 {
		t.Fatalf("%d tasks after the re-publish, want 1", n)
	}
	// Other content under the key (a new event once the window is over) is another event.
	other, err := e.publish(0, "k-lost-2", event(`{"deal": 8}`))
	if err != nil {
		t.Fatal(err)
	}
	if other[0].ID == first[0].ID {
		t.Fatal("another event got the same id")
	}
}

// TestConcurrentPublishesOfOneKeyMakeOneEvent: requests racing with the
// same key and content all succeed, under one event id, with one task.
func TestConcurrentPublishesOfOneKeyMakeOneEvent(t *testing.T) {
	e := newEnv(t)
	const n = 8
	var wg sync.WaitGroup
	ids := make([]string, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			rs, err := e.pub.Publish(context.Background(), "acme", []hookgate.EventInput{event(`{"deal": 9}`)}, "k-race")
			if err == nil {
				ids[i] = rs[0].ID
			}
			errs[i] = err
		}()
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("racing publishes got event ids %v", ids)
		}
	}
	if got := len(e.tasks()); got != 1 {
		t.Fatalf("%d tasks, want 1", got)
	}
}

// TestKeyReusedForOtherContentIsAConflict: a key (or an event id) is bound
// to its event's content; the same content in another JSON layout is the
// same event; other content is refused with idempotency_conflict and
// enqueues nothing. A batch with one conflicting id is refused whole, and
// frees the ids it took.
func TestKeyReusedForOtherContentIsAConflict(t *testing.T) {
	e := newEnv(t)
	first, err := e.publish(0, "k-c", event(`{"deal": 1, "amount": 10}`))
	if err != nil {
		t.Fatal(err)
	}
	same, err := e.publish(0, "k-c", event("{ \"deal\":1,\n \"amount\" : 10 }"))
	if err != nil || !same[0].Duplicate || same[0].ID != first[0].ID {
		t.Fatalf("same content, other layout: %+v, %v", same, err)
	}
	_, err = e.publish(0, "k-c", event(`{"deal": 1, "amount": 11}`))
	if hookgate.ErrorCode(err) != hookgate.EIDEMPOTENCY {
		t.Fatalf("other content: %v, want idempotency_conflict", err)
	}
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	withTime := event(`{"deal": 1, "amount": 10}`)
	withTime.OccurredAt = &when
	if _, err = e.publish(0, "k-c", withTime); hookgate.ErrorCode(err) != hookgate.EIDEMPOTENCY {
		t.Fatalf("other occurred_at: %v, want idempotency_conflict", err)
	}
	if n := len(e.tasks()); n != 1 {
		t.Fatalf("%d tasks, want 1", n)
	}

	b1 := hookgate.EventInput{ID: "crm-1", Type: "deal.won", Data: []byte(`{"n": 1}`)}
	if _, err := e.publish(0, "", b1); err != nil {
		t.Fatal(err)
	}
	fresh := hookgate.EventInput{ID: "crm-2", Type: "deal.won", Data: []byte(`{"n": 2}`)}
	clash := hookgate.EventInput{ID: "crm-1", Type: "deal.won", Data: []byte(`{"n": 100}`)}
	_, err = e.publish(0, "", fresh, clash)
	var he *hookgate.Error
	if hookgate.ErrorCode(err) != hookgate.EIDEMPOTENCY || !errors.As(err, &he) || he.Fields["events[1].id"] == "" || len(he.Fields) != 1 {
		t.Fatalf("batch with a reused id: %v, want idempotency_conflict on events[1].id", err)
	}
	if n := len(e.tasks()); n != 2 {
		t.Fatalf("%d tasks after the refused batch, want 2 (nothing of it)", n)
	}
	// crm-2 was freed: it may now carry other content.
	fresh.Data = []byte(`{"n": 3}`)
	rs, err := e.publish(0, "", fresh)
	if err != nil || rs[0].Duplicate {
		t.Fatalf("crm-2 after the refused batch: %+v, %v", rs, err)
	}
}

// TestPublishRoundTrips counts the Redis round trips of the publish path
// (the figures of docs/delivery.md).
func TestPublishRoundTrips(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		key  string
		hook bool
		ins  []hookgate.EventInput
		want int
	}{
		{"no key, one endpoint", "", true, []hookgate.EventInput{event(`{"a":1}`)}, 1},
		{"key, one endpoint: claim, enqueue, confirm", "rt-1", true, []hookgate.EventInput{event(`{"a":2}`)}, 3},
		{"repeat of an accepted key", "rt-1", true, []hookgate.EventInput{event(`{"a":2}`)}, 1},
		{"key, no subscriber: claimed done at once", "rt-2", false, []hookgate.EventInput{event(`{"a":3}`)}, 1},
		{"batch of 3 ids, one endpoint each", "", true, []hookgate.EventInput{
			{ID: "b-1", Type: "deal.won", Data: []byte(`{}`)}, {ID: "b-2", Type: "deal.won", Data: []byte(`{}`)},
			{ID: "b-3", Type: "deal.won", Data: []byte(`{}`)}}, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.pub.Matcher = matcher{}
			if tc.hook {
				e.pub.Matcher = matcher{e.active}
			}
			if _, err := e.publish(0, tc.key, tc.ins...); err != nil {
				t.Fatal(err)
			}
			if n := e.trips.count(); n != tc.want {
				t.Fatalf("%d round trips, want %d", n, tc.want)
			}
		})
	}
}

// BenchmarkPublish publishes single events to one active endpoint, one at a
// time, on the real Redis: without a key, and with a fresh key each (claim,
// enqueue, confirm). It reports Redis round trips per publish.
func BenchmarkPublish(b *testing.B) {
	for _, keyed := range []bool{false, true} {
		name := "no-key"
		if keyed {
			name = "key"
		}
		b.Run(name, func(b *testing.B) {
			e := newEnv(b)
			e.pub.Matcher = matcher{e.active}
			ev := event(`{"deal": 1, "amount": 1200, "currency": "EUR"}`)
			e.trips.reset(0)
			b.ResetTimer()
			for i := range b.N {
				key := ""
				if keyed {
					key = "bench-" + strconv.Itoa(i)
				}
				if _, err := e.pub.Publish(context.Background(), "acme", []hookgate.EventInput{ev}, key); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(e.trips.count())/float64(b.N), "roundtrips/op")
		})
	}
}
