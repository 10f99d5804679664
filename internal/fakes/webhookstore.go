// Package fakes holds in-memory fakes of hookgate's ports for unit tests
// that decide without Redis (the publisher, the lifecycle, the webhooks
// service). A fake keeps the promise its port documents that the tests
// rely on, and no more; each says what it leaves out. Only tests import it.
package fakes

import (
	"context"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hookgate/hookgate"
)

// WebhookStore is a hookgate.WebhookStore in a map. Like the real one it
// hands out copies (changing a returned webhook changes nothing stored),
// scopes every call to a tenant (another tenant's record is ENOTFOUND) and
// serialises updates. FindWebhooks filters by tenant, status and search and
// returns every match in one page, sorted by id: no cursor, no sort order.
type WebhookStore struct {
	mu    sync.Mutex
	hooks map[string]*hookgate.Webhook // tenant + "/" + id
	// Updates counts the UpdateWebhook calls that changed a record.
	Updates int
	// Now dates created and updated records; time.Now when nil.
	Now func() time.Time
}

var _ hookgate.WebhookStore = (*WebhookStore)(nil)

// NewWebhookStore returns a store holding copies of hooks.
func NewWebhookStore(hooks ...*hookgate.Webhook) *WebhookStore {
	s := &WebhookStore{hooks: map[string]*hookgate.Webhook{}}
	for _, w := range hooks {
		s.hooks[w.Tenant+"/"+w.ID] = Clone(w)
	}
	return s
}

func (s *WebhookStore) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func notFound(id string) error {
	return hookgate.Errorf(hookgate.ENOTFOUND, "webhook %s not found", id)
}

func (s *WebhookStore) CreateWebhook(_ context.Context, w *hookgate.Webhook) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.ID == "" {
		w.ID = hookgate.NewID("wh")
	}
	if _, ok := s.hooks[w.Tenant+"/"+w.ID]; ok {
		return hookgate.Errorf(hookgate.ECONFLICT, "webhook %s exists", w.ID)
	}
	w.CreatedAt = s.now()
	w.UpdatedAt = w.CreatedAt
	if w.StatusChangedAt == nil {
		t := w.CreatedAt
		w.StatusChangedAt = &t
	}
	s.hooks[w.Tenant+"/"+w.ID] = Clone(w)
	return nil
}

func (s *WebhookStore) FindWebhookByID(_ context.Context, tenant, id string) (*hookgate.Webhook, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.hooks[tenant+"/"+id]
	if !ok {
		return nil, notFound(id)
	}
	return Clone(w), nil
}

func (s *WebhookStore) FindWebhooks(_ context.Context, f hookgate.WebhookFilter) ([]*hookgate.Webhook, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*hookgate.Webhook
	for _, w := range s.hooks {
		if w.Tenant != f.Tenant || (f.Status != "" && w.Status != f.Status) ||
			!strings.Contains(strings.ToLower(w.Name), strings.ToLower(f.Search)) ||
			(f.Event != "" && !w.Subscribed(f.Event)) {
			continue
		}
		out = append(out, Clone(w))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, "", nil
}

func (s *WebhookStore) UpdateWebhook(_ context.Context, tenant, id string, fn func(*hookgate.Webhook) error) (*hookgate.Webhook, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.hooks[tenant+"/"+id]
	if !ok {
		return nil, notFound(id)
	}
	w := Clone(cur)
	if err := fn(w); err != nil {
		return nil, err
	}
	w.ID, w.Tenant = cur.ID, cur.Tenant
	w.UpdatedAt = s.now()
	s.hooks[tenant+"/"+id] = Clone(w)
	s.Updates++
	return w, nil
}

func (s *WebhookStore) DeleteWebhook(_ context.Context, tenant, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.hooks[tenant+"/"+id]; !ok {
		return notFound(id)
	}
	delete(s.hooks, tenant+"/"+id)
	return nil
}

// CountWebhooks counts a tenant's webhooks (webhooks.Counter).
func (s *WebhookStore) CountWebhooks(_ context.Context, tenant string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, w := range s.hooks {
		if w.Tenant == tenant {
			n++
		}
	}
	return n, nil
}

// Get returns a copy of a stored webhook, nil when there is none.
func (s *WebhookStore) Get(tenant, id string) *hookgate.Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w, ok := s.hooks[tenant+"/"+id]; ok {
		return Clone(w)
	}
	return nil
}

// Clone returns a copy of w that shares nothing mutable with it.
func Clone(w *hookgate.Webhook) *hookgate.Webhook {
	c := *w
	c.Endpoints = slices.Clone(w.Endpoints)
	for i := range c.Endpoints {
		c.Endpoints[i].Headers = maps.Clone(w.Endpoints[i].Headers)
	}
	c.Events = slices.Clone(w.Events)
	c.Transforms = slices.Clone(w.Transforms)
	c.Filter = slices.Clone(w.Filter)
	c.Settings = maps.Clone(w.Settings)
	c.Metadata = maps.Clone(w.Metadata)
	c.ConfirmationRequests = slices.Clone(w.ConfirmationRequests)
	if w.Retry != nil {
		r := *w.Retry
		r.Delays = slices.Clone(w.Retry.Delays)
		c.Retry = &r
	}
	return &c
}
