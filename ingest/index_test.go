package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/ingest"
)

// Unit tests of the subscription index over an in-memory loader and an
// in-memory source of change notifications; the store's own source (Redis
// pub/sub) is tested in internal/store and end to end.

// loader serves webhooks by namespace and counts the loads; between, when
// set, runs once inside the next load (a change announced while it runs).
type loader struct {
	mu      sync.Mutex
	hooks   map[string][]*hookgate.Webhook
	loads   map[string]int
	err     error
	between func()
}

func (l *loader) ListAllWebhooks(_ context.Context, ns string) ([]*hookgate.Webhook, error) {
	l.mu.Lock()
	l.loads[ns]++
	between := l.between
	l.between = nil
	out, err := slices.Clone(l.hooks[ns]), l.err
	l.mu.Unlock()
	if between != nil {
		between()
	}
	return out, err
}

func (l *loader) set(ns string, hooks ...*hookgate.Webhook) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hooks[ns] = hooks
}

func (l *loader) count(ns string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.loads[ns]
}

func hook(ns, id string, events ...string) *hookgate.Webhook {
	return &hookgate.Webhook{ID: id, Tenant: ns, Name: id, Enabled: true, Status: hookgate.StatusActive, Events: events}
}

func ids(ws []*hookgate.Webhook) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.ID
	}
	return out
}

func newIndex(l *loader) *ingest.Index { return ingest.NewIndex(l, nil, 0) }

func match(t *testing.T, ix *ingest.Index, tenant, typ string) []string {
	t.Helper()
	got, err := ix.Match(context.Background(), tenant, typ, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ids(got)
}

// Match finds the tenant's enabled webhooks subscribed to the type exactly,
// by its object's wildcard or by "*", each once, then the system webhooks;
// another tenant's and disabled ones never.
func TestMatchFindsExactWildcardAndSystemSubscribers(t *testing.T) {
	off := hook("acme", "wh_off", "*")
	off.Enabled = false
	l := &loader{loads: map[string]int{}, hooks: map[string][]*hookgate.Webhook{
		"acme": {
			hook("acme", "wh_exact", "deal.won"),
			hook("acme", "wh_object", "deal.*"),
			hook("acme", "wh_all", "*"),
			hook("acme", "wh_twice", "deal.won", "deal.*", "*"),
			hook("acme", "wh_contacts", "contact.*", "deal.lost"),
			off,
		},
		"globex":              {hook("globex", "wh_globex", "*")},
		hookgate.SystemTenant: {hook(hookgate.SystemTenant, "wh_system", "deal.*")},
	}}
	ix := newIndex(l)
	if got, want := match(t, ix, "acme", "deal.won"), []string{"wh_exact", "wh_twice", "wh_object", "wh_all", "wh_system"}; !slices.Equal(got, want) {
		t.Fatalf("deal.won: %v, want %v", got, want)
	}
	if got, want := match(t, ix, "acme", "contact.created"), []string{"wh_contacts", "wh_all", "wh_twice"}; !slices.Equal(got, want) {
		t.Fatalf("contact.created: %v, want %v", got, want)
	}
	if got, want := match(t, ix, "initech", "deal.won"), []string{"wh_system"}; !slices.Equal(got, want) {
		t.Fatalf("a tenant without webhooks: %v, want the system ones %v", got, want)
	}
	// A disabled webhook is not matched but is still found by id.
	if w, err := ix.Webhook(context.Background(), "acme", "wh_off"); err != nil || w.ID != "wh_off" {
		t.Fatalf("webhook wh_off: %v, %v", w, err)
	}
	if _, err := ix.Webhook(context.Background(), "acme", "wh_globex"); hookgate.ErrorCode(err) != hookgate.ENOTFOUND {
		t.Fatalf("another tenant's webhook by id: %v, want %s", err, hookgate.ENOTFOUND)
	}
	// Loaded once per namespace, however many matches.
	if l.count("acme") != 1 || l.count(hookgate.SystemTenant) != 1 {
		t.Fatalf("loads %v", l.loads)
	}
}

// A namespace is loaded again after it is invalidated ("*" drops all);
// a load that a change overtook is answered but not kept.
func TestInvalidateReloadsAndALoadOvertakenByAChangeIsNotKept(t *testing.T) {
	l := &loader{loads: map[string]int{}, hooks: map[string][]*hookgate.Webhook{"acme": {hook("acme", "wh_1", "deal.*")}}}
	ix := newIndex(l)
	match(t, ix, "acme", "deal.won")
	l.set("acme", hook("acme", "wh_1", "deal.*"), hook("acme", "wh_2", "deal.won"))
	if got := match(t, ix, "acme", "deal.won"); !slices.Equal(got, []string{"wh_1"}) {
		t.Fatalf("before invalidation: %v, want the cached view", got)
	}
	ix.Invalidate("globex")
	if got := match(t, ix, "acme", "deal.won"); len(got) != 1 || l.count("acme") != 1 {
		t.Fatalf("another namespace's invalidation reloaded acme: %v, %d loads", got, l.count("acme"))
	}
	ix.Invalidate("acme")
	if got := match(t, ix, "acme", "deal.won"); !slices.Equal(got, []string{"wh_2", "wh_1"}) || l.count("acme") != 2 {
		t.Fatalf("after invalidation: %v, %d loads", got, l.count("acme"))
	}
	ix.Invalidate("*")
	match(t, ix, "acme", "deal.won")
	if l.count("acme") != 3 || l.count(hookgate.SystemTenant) != 2 {
		t.Fatalf("after invalidating all: loads %v", l.loads)
	}

	// A change announced while a load runs: that load is used once, then
	// the next match loads again.
	ix.Invalidate("acme")
	l.between = func() { ix.Invalidate("acme") }
	match(t, ix, "acme", "deal.won")
	match(t, ix, "acme", "deal.won")
	if l.count("acme") != 5 {
		t.Fatalf("%d loads of acme, want 5: the overtaken load was kept", l.count("acme"))
	}
}

// A load that fails is the match's error and is not cached.
func TestLoadFailureIsTheMatchErrorAndIsNotCached(t *testing.T) {
	down := errors.New("redis: connection refused")
	l := &loader{loads: map[string]int{}, hooks: map[string][]*hookgate.Webhook{"acme": {hook("acme", "wh_1", "*")}}, err: down}
	ix := newIndex(l)
	if _, err := ix.Match(context.Background(), "acme", "deal.won", nil); !errors.Is(err, down) {
		t.Fatalf("match with the loader down: %v", err)
	}
	l.mu.Lock()
	l.err = nil
	l.mu.Unlock()
	if got := match(t, ix, "acme", "deal.won"); !slices.Equal(got, []string{"wh_1"}) {
		t.Fatalf("after the loader is back: %v", got)
	}
}

// changes is an in-memory ingest.Changes: each WatchChanges call takes the
// next subscription the test offers, reports it established, passes on the
// namespaces sent to it (acknowledging each once applied) and ends with the
// error sent to it.
type changes struct{ subs chan *subscription }

type subscription struct {
	ns      chan string
	applied chan struct{}
	end     chan error
}

func newSubscription() *subscription {
	return &subscription{ns: make(chan string), applied: make(chan struct{}), end: make(chan error)}
}

func (c *changes) WatchChanges(ctx context.Context, subscribed func(), changed func(string)) error {
	var s *subscription
	select {
	case <-ctx.Done():
		return nil
	case s = <-c.subs:
	}
	subscribed()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ns := <-s.ns:
			changed(ns)
			s.applied <- struct{}{}
		case err := <-s.end:
			return err
		}
	}
}

func (s *subscription) change(ns string) {
	s.ns <- ns
	<-s.applied
}

// Run drops the namespaces the subscription announces, and everything each
// time the subscription is established (the first time, and again after it
// ended, since changes made meanwhile were missed); it reports each start
// and end.
func TestRunDropsChangedNamespacesAndEverythingOnEachSubscription(t *testing.T) {
	l := &loader{loads: map[string]int{}, hooks: map[string][]*hookgate.Webhook{
		"acme": {hook("acme", "wh_1", "*")}, "globex": {hook("globex", "wh_2", "*")}}}
	src := &changes{subs: make(chan *subscription)}
	ix := ingest.NewIndex(l, src, time.Hour)
	states := make(chan error)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		ix.Run(ctx, func(err error) { states <- err })
	}()
	defer func() {
		cancel()
		<-done
	}()
	loads := func() string {
		return fmt.Sprintf("acme %d, globex %d, system %d", l.count("acme"), l.count("globex"), l.count(hookgate.SystemTenant))
	}
	matchBoth := func() {
		match(t, ix, "acme", "deal.won")
		match(t, ix, "globex", "deal.won")
	}

	matchBoth() // cached before the subscription
	first := newSubscription()
	src.subs <- first
	if err := <-states; err != nil {
		t.Fatalf("first state: %v, want established", err)
	}
	matchBoth()
	if got, want := loads(), "acme 2, globex 2, system 2"; got != want {
		t.Fatalf("after subscribing: loads %s, want %s (everything dropped)", got, want)
	}
	first.change("globex")
	matchBoth()
	if got, want := loads(), "acme 2, globex 3, system 2"; got != want {
		t.Fatalf("after a change of globex: loads %s, want %s", got, want)
	}
	first.change("*")
	matchBoth()
	if got, want := loads(), "acme 3, globex 4, system 3"; got != want {
		t.Fatalf("after a change of all: loads %s, want %s", got, want)
	}

	lost := errors.New("connection lost")
	first.end <- lost
	if err := <-states; !errors.Is(err, lost) {
		t.Fatalf("state after the subscription ended: %v, want %v", err, lost)
	}
	matchBoth() // still served from the cache while unsubscribed
	if got, want := loads(), "acme 3, globex 4, system 3"; got != want {
		t.Fatalf("while unsubscribed: loads %s, want %s", got, want)
	}
	second := newSubscription()
	src.subs <- second // taken once Run subscribes again
	if err := <-states; err != nil {
		t.Fatalf("state after subscribing again: %v, want established", err)
	}
	matchBoth()
	if got, want := loads(), "acme 4, globex 5, system 4"; got != want {
		t.Fatalf("after subscribing again: loads %s, want %s (everything dropped)", got, want)
	}
	second.change("acme")
	matchBoth()
	if got, want := loads(), "acme 5, globex 5, system 4"; got != want {
		t.Fatalf("after a change of acme on the new subscription: loads %s, want %s", got, want)
	}
}

// A match that follows a change it knows of (its own create: the service
// invalidates, then publishes) sees the change even when another caller's
// load, started before the change, is still in flight: it does not take
// that load's answer.
func TestMatchAfterAnInvalidationDoesNotTakeALoadStartedBefore(t *testing.T) {
	l := &loader{loads: map[string]int{}, hooks: map[string][]*hookgate.Webhook{"acme": {hook("acme", "wh_1", "*")}}}
	ix := newIndex(l)
	match(t, ix, "acme", "deal.won")
	ix.Invalidate("acme")
	after := make(chan []string, 1)
	l.between = func() {
		// Inside a load of acme that read wh_1 only: the change, then a
		// match by the caller that made it, while this load is in flight.
		l.set("acme", hook("acme", "wh_1", "*"), hook("acme", "wh_2", "*"))
		ix.Invalidate("acme")
		go func() {
			got, _ := ix.Match(context.Background(), "acme", "deal.won", nil)
			after <- ids(got)
		}()
		time.Sleep(50 * time.Millisecond) // lets that match join this load (it would then see no wh_2)
	}
	if got := match(t, ix, "acme", "deal.won"); !slices.Equal(got, []string{"wh_1"}) {
		t.Fatalf("the load started before the change: %v, want [wh_1]", got)
	}
	if got := <-after; !slices.Equal(got, []string{"wh_1", "wh_2"}) {
		t.Fatalf("match after the change: %v, want [wh_1 wh_2]", got)
	}
}
