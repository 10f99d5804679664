// The subscription index keeps an in-memory index of outgoing webhooks per tenant, so
// that matching an event to its subscribers and looking up a webhook during a
// delivery cost no Redis round trip. Entries are loaded on first use and
// dropped when the store announces a change on its Redis pub/sub channel, in
// every process; a maximum age bounds staleness if a notification is lost
// (for instance while the pub/sub connection reconnects).

package ingest

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"github.com/hookgate/hookgate"
)

// Loader loads every webhook of a namespace (a tenant or hookgate.SystemTenant).
type Loader interface {
	ListAllWebhooks(ctx context.Context, tenant string) ([]*hookgate.Webhook, error)
}

// Index is the cache. Webhooks it returns are shared: callers must not modify them.
type Index struct {
	loader  Loader
	rdb     redis.UniversalClient
	channel string
	maxAge  time.Duration

	mu      sync.RWMutex
	entries map[string]*entry
	gen     map[string]uint64 // bumped on every invalidation of a namespace
	flight  singleflight.Group
	now     func() time.Time
}

type entry struct {
	loadedAt time.Time
	byID     map[string]*hookgate.Webhook
	exact    map[string][]*hookgate.Webhook // event type -> enabled webhooks subscribed exactly
	object   map[string][]*hookgate.Webhook // object of "object.*" -> enabled webhooks
	all      []*hookgate.Webhook            // enabled webhooks subscribed to "*"

	mu    sync.Mutex
	match map[string][]*hookgate.Webhook // memo: event type -> result
}

// NewIndex returns an index over loader, invalidated by messages (a namespace per
// message, or "*" for all) on channel. maxAge <= 0 means 30 s.
func NewIndex(loader Loader, rdb redis.UniversalClient, channel string, maxAge time.Duration) *Index {
	if maxAge <= 0 {
		maxAge = 30 * time.Second
	}
	return &Index{loader: loader, rdb: rdb, channel: channel, maxAge: maxAge,
		entries: map[string]*entry{}, gen: map[string]uint64{}, now: time.Now}
}

// Run listens for change notifications until ctx ends. It drops everything
// whenever the subscription is (re)established, since messages may have been
// missed while it was down.
func (ix *Index) Run(ctx context.Context) error {
	ps := ix.rdb.Subscribe(ctx, ix.channel)
	defer ps.Close()
	ch := ps.Channel(redis.WithChannelHealthCheckInterval(10*time.Second), redis.WithChannelSendTimeout(time.Second))
	for {
		select {
		case <-ctx.Done():
			return nil
		case msg, ok := <-ch:
			if !ok {
				return nil
			}
			ix.Invalidate(msg.Payload)
		}
	}
}

// Subscribed waits until the change subscription is active, so that tests and
// startup can rely on invalidation from then on.
func (ix *Index) Subscribed(ctx context.Context) error {
	ps := ix.rdb.Subscribe(ctx, ix.channel)
	defer ps.Close()
	_, err := ps.Receive(ctx)
	return err
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

func (ix *Index) get(ctx context.Context, ns string) (*entry, error) {
	ix.mu.RLock()
	e := ix.entries[ns]
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
	return v.(*entry), nil
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
