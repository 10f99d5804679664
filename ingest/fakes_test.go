package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/ingest"
)

// In-memory fakes of the publisher's ports, for unit tests of its decisions
// (what is delivered, held, refused or answered again) without Redis.

// fakeMatcher answers every event type with the tenant's webhooks that
// subscribe to it, and records what it was asked.
type fakeMatcher struct {
	hooks map[string][]*hookgate.Webhook // by tenant
	asked []string                       // "tenant type"
}

func (m *fakeMatcher) Match(_ context.Context, tenant, typ string, dst []*hookgate.Webhook) ([]*hookgate.Webhook, error) {
	m.asked = append(m.asked, tenant+" "+typ)
	for _, w := range m.hooks[tenant] {
		if w.Subscribed(typ) {
			dst = append(dst, w)
		}
	}
	return dst, nil
}

// fakeQueue keeps what was enqueued; with fail set it refuses every call,
// as a Redis gone away would.
type fakeQueue struct {
	items []hookgate.QueueItem
	calls int
	fail  error
}

func (q *fakeQueue) Enqueue(_ context.Context, items []hookgate.QueueItem) error {
	q.calls++
	if q.fail != nil {
		return q.fail
	}
	q.items = append(q.items, items...)
	return nil
}

func (q *fakeQueue) ids() []string {
	out := make([]string, len(q.items))
	for i, it := range q.items {
		out[i] = it.Task.ID
	}
	return out
}

// fakeIdempotency is store.Idempotency's contract in a map: Claim takes the
// free keys and reports what the others hold, Confirm marks them done with
// their record, Release frees them.
type fakeIdempotency struct {
	mu       sync.Mutex
	keys     map[string]hookgate.IdempotencyClaim // tenant + " " + key
	released []string
}

func newFakeIdempotency() *fakeIdempotency {
	return &fakeIdempotency{keys: map[string]hookgate.IdempotencyClaim{}}
}

func (f *fakeIdempotency) Claim(_ context.Context, tenant string, cs []hookgate.IdempotencyClaim) ([]hookgate.IdempotencyClaim, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	found := make([]hookgate.IdempotencyClaim, len(cs))
	for i, c := range cs {
		if c.Key == "" {
			continue
		}
		if old, ok := f.keys[tenant+" "+c.Key]; ok {
			found[i] = old
			continue
		}
		f.keys[tenant+" "+c.Key] = c
		found[i] = hookgate.IdempotencyClaim{Key: c.Key, State: hookgate.ClaimFree}
	}
	return found, nil
}

func (f *fakeIdempotency) Confirm(_ context.Context, tenant string, cs []hookgate.IdempotencyClaim) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range cs {
		c.State = hookgate.ClaimDone
		f.keys[tenant+" "+c.Key] = c
	}
	return nil
}

func (f *fakeIdempotency) Release(_ context.Context, tenant string, cs []hookgate.IdempotencyClaim) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range cs {
		delete(f.keys, tenant+" "+c.Key)
		f.released = append(f.released, c.Key)
	}
	return nil
}

func (f *fakeIdempotency) state(tenant, key string) hookgate.ClaimState {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.keys[tenant+" "+key].State
}

// fakeHolder keeps the held deliveries per webhook; answer, when set,
// decides what Hold returns (and whether it kept them).
type fakeHolder struct {
	held   map[string][]*hookgate.Task
	answer func(w *hookgate.Webhook, ds []*hookgate.Task) error
}

func (h *fakeHolder) Hold(_ context.Context, w *hookgate.Webhook, ds []*hookgate.Task) error {
	if h.answer != nil {
		if err := h.answer(w, ds); err != nil {
			return err
		}
	}
	if h.held == nil {
		h.held = map[string][]*hookgate.Task{}
	}
	h.held[w.ID] = append(h.held[w.ID], ds...)
	return nil
}

// unit is a Publisher wired to the fakes.
type unit struct {
	pub      *ingest.Publisher
	matcher  *fakeMatcher
	queue    *fakeQueue
	idem     *fakeIdempotency
	holder   *fakeHolder
	accepted [2]int // events, deliveries, summed over calls
}

var unitNow = time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)

func newUnit(hooks ...*hookgate.Webhook) *unit {
	u := &unit{matcher: &fakeMatcher{hooks: map[string][]*hookgate.Webhook{}}, queue: &fakeQueue{},
		idem: newFakeIdempotency(), holder: &fakeHolder{}}
	for _, w := range hooks {
		u.matcher.hooks[w.Tenant] = append(u.matcher.hooks[w.Tenant], w)
	}
	u.pub = &ingest.Publisher{
		Matcher: u.matcher, Queue: u.queue, Idempotency: u.idem, Holder: u.holder,
		MaxPayload: 1 << 16, MaxFanout: 100,
		Retries: func(w *hookgate.Webhook) int {
			if w.Retry != nil && w.Retry.Delays != nil {
				return len(w.Retry.Delays)
			}
			return 5
		},
		Now:      func() time.Time { return unitNow },
		Accepted: func(events, deliveries int) { u.accepted[0] += events; u.accepted[1] += deliveries },
	}
	return u
}

// webhook is an active webhook of tenant acme subscribed to events, with
// one enabled endpoint per id in eps.
func webhook(id string, events []string, eps ...string) *hookgate.Webhook {
	w := &hookgate.Webhook{ID: id, Tenant: "acme", Name: id, Enabled: true, Status: hookgate.StatusActive, Events: events}
	for _, ep := range eps {
		w.Endpoints = append(w.Endpoints, hookgate.Endpoint{ID: ep, URL: "https://example.com/" + ep, Enabled: true})
	}
	return w
}

func in(typ, data string) hookgate.EventInput {
	return hookgate.EventInput{Type: typ, Data: json.RawMessage(data)}
}

func publishOne(t *testing.T, u *unit, input hookgate.EventInput, key string) hookgate.PublishResult {
	t.Helper()
	res, err := u.pub.Publish(context.Background(), "acme", []hookgate.EventInput{input}, key)
	if err != nil {
		t.Fatalf("publish %s: %v", input.Type, err)
	}
	if len(res) != 1 {
		t.Fatalf("%d results for one event", len(res))
	}
	return res[0]
}

var errRedisGone = errors.New("dial tcp: connection refused")
