package ingest

// The subscription index keeps an in-memory index of outgoing webhooks per
// tenant, so that matching an event to its subscribers and looking up a
// webhook during a delivery cost no Redis round trip. Entries are loaded on
// first use and dropped when the store announces a change (Changes), in
// every process; a maximum age bounds staleness if a notification is lost
// (for instance while the subscription is down).

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/hookgate/hookgate"
)

// Loader loads every webhook of a namespace (a tenant or hookgate.SystemTenant).
type Loader interface {
	ListAllWebhooks(ctx context.Context, tenant string) ([]*hookgate.Webhook, error)
}

// Changes tells the index which namespaces changed (the store's
// WatchChanges). WatchChanges calls subscribed once it listens, then changed with
// each changed namespace ("*" for all), and returns nil when ctx ends or the
// error that ended the subscription, after which changes are missed until
// it is called again.
type Changes interface {
	WatchChanges(ctx context.Context, subscribed func(), changed func(ns string)) error
}

// Index is the cache. Webhooks it returns are shared: callers must not modify them.
type Index struct {
	loader  Loader
	changes Changes
	maxAge  time.Duration
	retry   time.Duration // before subscribing again after the subscription ended

	mu      sync.RWMutex
	entries map[string]*entry
	gen     map[string]uint64 // bumped on every invalidation of a namespace
	flight  singleflight.Group
	now     func() time.Time
}

type entry struct {
	loadedAt    time.Time
	gen, genAll uint64 // the namespace's and all's generations when its load started
	byID        map[string]*hookgate.Webhook
	exact       map[string][]*hookgate.Webhook // event type -> enabled webhooks subscribed exactly
	object      map[string][]*hookgate.Webhook // object of "object.*" -> enabled webhooks
	all         []*hookgate.Webhook            // enabled webhooks subscribed to "*"

	mu    sync.Mutex
	match map[string][]*hookgate.Webhook // memo: event type -> result
}

// NewIndex returns an index over loader, invalidated by what changes
// announces (Run). maxAge <= 0 means 30 s.
func NewIndex(loader Loader, changes Changes, maxAge time.Duration) *Index {
	if maxAge <= 0 {
		maxAge = 30 * time.Second
	}
	return &Index{loader: loader, changes: changes, maxAge: maxAge, retry: time.Second,
		entries: map[string]*entry{}, gen: map[string]uint64{}, now: time.Now}
}

// Run listens for changes until ctx ends, subscribing again a second after
// the subscription ends. Each time the subscription is established it drops
// everything (changes may have been missed while there was none) and calls
// state(nil); each time it ends, state(err) with the reason. state is called
// from Run's goroutine.
func (ix *Index) Run(ctx context.Context, state func(err error)) {
	for {
		err := ix.changes.WatchChanges(ctx, func() {
			ix.Invalidate("*")
			state(nil)
		}, ix.Invalidate)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("subscription to webhook changes ended")
		}
		state(err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(ix.retry):
		}
	}
}

// Invalidate drops the cached namespace ns ("*" or "" drops all).
func (ix *Index) Invalidate(ns string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ns == "*" || ns == "" {
		for k := range ix.entries {
			ix.gen[k]++
		}
		ix.entries = map[string]*entry{}
		ix.gen["*"]++
		return
	}
	delete(ix.entries, ns)
	ix.gen[ns]++
}

// get returns the namespace's entry, loading it when it is not cached or
// too old. A load in flight that started before a change this call knows of
// (an invalidation it saw) is not an answer: it loads again.
func (ix *Index) get(ctx context.Context, ns string) (*entry, error) {
	for {
		ix.mu.RLock()
		e := ix.entries[ns]
		seen, seenAll := ix.gen[ns], ix.gen["*"]
		ix.mu.RUnlock()
		if e != nil && ix.now().Sub(e.loadedAt) < ix.maxAge {
			return e, nil
		}
		v, err, _ := ix.flight.Do(ns, func() (any, error) {
			ix.mu.RLock()
			gen, genAll := ix.gen[ns], ix.gen["*"]
			ix.mu.RUnlock()
			list, err := ix.loader.ListAllWebhooks(ctx, ns)
			if err != nil {
				return nil, err
			}
			e := build(list, ix.now())
			e.gen, e.genAll = gen, genAll
			ix.mu.Lock()
			// Only keep what was loaded if no change was announced meanwhile.
			if ix.gen[ns] == gen && ix.gen["*"] == genAll {
				ix.entries[ns] = e
			}
			ix.mu.Unlock()
			return e, nil
		})
		if err != nil {
			return nil, err
		}
		// Singleflight may have handed over a load another caller started
		// before the change this caller saw (its own create, say): that
		// one is stale for it. The next load starts after, so this loops
		// at most once more.
		if e := v.(*entry); e.gen >= seen && e.genAll >= seenAll {
			return e, nil
		}
	}
}

func build(list []*hookgate.Webhook, now time.Time) *entry {
	e := &entry{loadedAt: now, byID: make(map[string]*hookgate.Webhook, len(list)),
		exact: map[string][]*hookgate.Webhook{}, object: map[string][]*hookgate.Webhook{},
		match: map[string][]*hookgate.Webhook{}}
	for _, w := range list {
		_ = w.CompileFilter() // validated when saved; one that no longer parses refuses every event
		e.byID[w.ID] = w
		if !w.Enabled {
			continue
		}
		for _, p := range w.Events {
			switch {
			case p == "*":
				e.all = append(e.all, w)
			case strings.HasSuffix(p, ".*"):
				obj := strings.TrimSuffix(p, ".*")
				e.object[obj] = append(e.object[obj], w)
			default:
				e.exact[p] = append(e.exact[p], w)
			}
		}
	}
	return e
}

func (e *entry) matching(typ string) []*hookgate.Webhook {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r, ok := e.match[typ]; ok {
		return r
	}
	obj, _, _ := strings.Cut(typ, ".")
	var out []*hookgate.Webhook
	seen := map[string]bool{}
	for _, l := range [][]*hookgate.Webhook{e.exact[typ], e.object[obj], e.all} {
		for _, w := range l {
			if !seen[w.ID] {
				seen[w.ID] = true
				out = append(out, w)
			}
		}
	}
	if len(e.match) < 4096 {
		e.match[typ] = out
	}
	return out
}

// Match appends to dst the enabled webhooks of tenant, then the enabled
// system webhooks, subscribed to the canonical event type typ.
func (ix *Index) Match(ctx context.Context, tenant, typ string, dst []*hookgate.Webhook) ([]*hookgate.Webhook, error) {
	for _, ns := range [2]string{tenant, hookgate.SystemTenant} {
		e, err := ix.get(ctx, ns)
		if err != nil {
			return dst, err
		}
		dst = append(dst, e.matching(typ)...)
	}
	return dst, nil
}

// Webhook returns the cached webhook id of namespace ns, or ENOTFOUND.
func (ix *Index) Webhook(ctx context.Context, ns, id string) (*hookgate.Webhook, error) {
	e, err := ix.get(ctx, ns)
	if err != nil {
		return nil, err
	}
	w := e.byID[id]
	if w == nil {
		return nil, hookgate.Errorf(hookgate.ENOTFOUND, "webhook %s not found", id)
	}
	return w, nil
}
