// Package incoming owns incoming webhooks: secret URLs through which a third
// party calls the CRM's API on behalf of the admin who created them, within
// the scopes the webhook was given. Service holds the rules of the admin
// API; Proxy serves the URLs (token lookup, rate limit, path and scope
// checks, the owner token, forwarding, incoming transforms, the request
// log). It knows nothing of HTTP frameworks: the gateway translates.
package incoming

import (
	"context"
	"slices"
	"strings"

	"github.com/hookgate/hookgate"
)

// Store is what the service needs of storage (implemented by package store).
type Store interface {
	hookgate.IncomingStore
	IncomingLog(ctx context.Context, tenant, id string, limit int) ([]hookgate.IncomingRequestLog, error)
}

// Service manages a tenant's incoming webhooks.
type Service struct {
	Store  Store
	Scopes Scopes
	// PublicURL is the base of the URLs handed out (server.public_url).
	PublicURL string
	// TransformProblem says why the named plugin cannot be a webhook's
	// transform (not configured, not running, no incoming direction); ""
	// when it can. Nil refuses every transform.
	TransformProblem func(name string) string
	MaxPerTenant     int
	MaxNameLength    int
	LogEntries       int
}

var _ hookgate.IncomingService = (*Service)(nil)

// URL is the incoming URL of token.
func (s *Service) URL(token string) string {
	return strings.TrimRight(s.PublicURL, "/") + "/in/" + token
}

func (s *Service) withURL(w *hookgate.IncomingWebhook) *hookgate.IncomingWebhook {
	w.URL = s.URL(w.Token)
	return w
}

// apply applies p to w and checks the result.
func (s *Service) apply(w *hookgate.IncomingWebhook, p *hookgate.IncomingPatch, create bool) error {
	var v hookgate.Validation
	if p.Name != nil {
		w.Name = strings.TrimSpace(*p.Name)
	}
	if p.Scopes != nil {
		w.Scopes = slices.Clone(*p.Scopes)
	}
	if p.Enabled != nil {
		w.Enabled = *p.Enabled
	}
	if p.Transform != nil {
		w.Transform = strings.TrimSpace(*p.Transform)
	}
	if w.Name == "" || len(w.Name) > s.MaxNameLength {
		v.Add("name", "name is required, at most %d bytes", s.MaxNameLength)
	}
	if create && p.Scopes == nil || len(w.Scopes) == 0 {
		v.Add("scopes", "grant at least one scope (%s)", strings.Join(s.Scopes.Names(), ", "))
	}
	slices.Sort(w.Scopes)
	w.Scopes = slices.Compact(w.Scopes)
	for _, sc := range w.Scopes {
		if _, ok := s.Scopes[sc]; !ok {
			v.Add("scopes", "unknown scope %q (configured: %s)", sc, strings.Join(s.Scopes.Names(), ", "))
			break
		}
	}
	if w.Transform != "" {
		switch {
		case s.TransformProblem == nil:
			v.Add("transform", "no plugin named %q is configured", w.Transform)
		default:
			if why := s.TransformProblem(w.Transform); why != "" {
				v.Add("transform", "%s", why)
			}
		}
	}
	return v.Err()
}

// Create makes a new incoming webhook owned by owner; the answer carries its URL.
func (s *Service) Create(ctx context.Context, tenant, owner string, p *hookgate.IncomingPatch) (*hookgate.IncomingWebhook, error) {
	w := &hookgate.IncomingWebhook{Tenant: tenant, Owner: owner, Enabled: true}
	if err := s.apply(w, p, true); err != nil {
		return nil, err
	}
	n, err := s.Store.CountIncoming(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if n >= s.MaxPerTenant {
		return nil, hookgate.Errorf(hookgate.ECONFLICT, "this tenant already has %d incoming webhooks, the most allowed", n)
	}
	w.Token = hookgate.NewToken()
	if err := s.Store.CreateIncoming(ctx, w); err != nil {
		return nil, err
	}
	return s.withURL(w), nil
}

// Get returns one webhook with its URL.
func (s *Service) Get(ctx context.Context, tenant, id string) (*hookgate.IncomingWebhook, error) {
	w, err := s.Store.FindIncomingByID(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	return s.withURL(w), nil
}

// List returns the tenant's webhooks with their URLs.
func (s *Service) List(ctx context.Context, f hookgate.IncomingFilter) ([]*hookgate.IncomingWebhook, error) {
	switch f.Sort {
	case "", "name", "-name", "created_at", "-created_at":
	default:
		return nil, hookgate.FieldError("sort", "sort must be name, -name, created_at or -created_at")
	}
	list, err := s.Store.FindIncoming(ctx, f)
	if err != nil {
		return nil, err
	}
	for _, w := range list {
		s.withURL(w)
	}
	return list, nil
}

// Update changes name, scopes, enabled or transform.
func (s *Service) Update(ctx context.Context, tenant, id string, p *hookgate.IncomingPatch) (*hookgate.IncomingWebhook, error) {
	return s.change(ctx, tenant, id, p, "")
}

// Rotate gives the webhook a new token: the old URL stops working at once.
func (s *Service) Rotate(ctx context.Context, tenant, id string) (*hookgate.IncomingWebhook, error) {
	return s.change(ctx, tenant, id, &hookgate.IncomingPatch{}, hookgate.NewToken())
}

// SetEnabled enables or disables the webhook.
func (s *Service) SetEnabled(ctx context.Context, tenant, id string, on bool) (*hookgate.IncomingWebhook, error) {
	return s.change(ctx, tenant, id, &hookgate.IncomingPatch{Enabled: &on}, "")
}

func (s *Service) change(ctx context.Context, tenant, id string, p *hookgate.IncomingPatch, token string) (*hookgate.IncomingWebhook, error) {
	w, err := s.Store.FindIncomingByID(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if err := s.apply(w, p, false); err != nil {
		return nil, err
	}
	if err := s.Store.UpdateIncoming(ctx, w, token); err != nil {
		return nil, err
	}
	return s.withURL(w), nil
}

// Delete removes the webhook; its URL stops working at once.
func (s *Service) Delete(ctx context.Context, tenant, id string) error {
	return s.Store.DeleteIncoming(ctx, tenant, id)
}

// Requests returns the newest limit entries of the webhook's request log.
func (s *Service) Requests(ctx context.Context, tenant, id string, limit int) ([]hookgate.IncomingRequestLog, error) {
	if _, err := s.Store.FindIncomingByID(ctx, tenant, id); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > s.LogEntries {
		limit = s.LogEntries
	}
	return s.Store.IncomingLog(ctx, tenant, id, limit)
}

// ScopeList describes the configured scopes, sorted by name.
func (s *Service) ScopeList() []hookgate.IncomingScope { return s.Scopes.Info() }
