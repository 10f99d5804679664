// The Service manages outgoing webhooks on behalf of admins: creation
// with validation and secrets, updates, listing and deletion, over a
// hookgate.WebhookStore. It holds the business rules; the gateway only parses
// and authorises, and the store only keeps records.

package webhooks

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/signing"
)

// Counter counts a tenant's webhooks, for the per-tenant limit.
type Counter interface {
	CountWebhooks(ctx context.Context, tenant string) (int64, error)
}

// Confirmer sends the subscription confirmation handshake to a webhook's
// endpoints (package lifecycle).
type Confirmer interface {
	RequestConfirmation(ctx context.Context, w *hookgate.Webhook) ([]hookgate.ConfirmationSent, error)
}

// HeldCounter counts the events held for webhooks that are not active.
type HeldCounter interface {
	HeldCounts(ctx context.Context, ids []string) ([]int64, error)
}

// Service implements webhook administration.
type Service struct {
	Store        hookgate.WebhookStore
	Counter      Counter // optional
	Rules        hookgate.WebhookRules
	MaxPerTenant int
	// NeedsConfirmation reports whether a format requires the subscription
	// handshake (Uspacy); such webhooks start unconfirmed. Optional.
	NeedsConfirmation func(format string) bool
	// NewID makes record ids with a prefix ("wh", "ep").
	NewID func(prefix string) string
	// Confirmer sends the confirmation handshake to webhooks that start
	// unconfirmed. Optional.
	Confirmer Confirmer
	// Held fills in each webhook's held events. Optional.
	Held HeldCounter
	// Logger reports confirmation sends that failed. Optional.
	Logger *slog.Logger
	// Invalidate drops this process's cached view of a namespace's webhooks
	// after a change, so that an event published right after a create or
	// an update in the same process sees it; other processes learn of it
	// through the store's change notices. Optional.
	Invalidate func(ns string)
}

var _ hookgate.WebhookService = (*Service)(nil)

func (s *Service) invalidate(ns string) {
	if s.Invalidate != nil {
		s.Invalidate(ns)
	}
}

// needsConfirmation reports whether w must confirm its subscription before
// deliveries: its format says so, or its settings ask for it
// (settings.confirmation = "required").
func (s *Service) needsConfirmation(w *hookgate.Webhook) bool {
	if w.Settings["confirmation"] == "required" {
		return true
	}
	return s.NeedsConfirmation != nil && s.NeedsConfirmation(w.Format)
}

// settleConfirmation gives each endpoint of w its confirmation state:
// none when w needs no handshake; otherwise an endpoint keeps "confirmed"
// only while its URL is the one that confirmed (before is the record as it
// was, nil on create), and every new or changed URL is pending. It then
// sets the status from the endpoints (unless paused or auto-paused) and
// reports whether some endpoint became pending, which needs a
// confirmation request.
func (s *Service) settleConfirmation(w, before *hookgate.Webhook, now time.Time) (newlyPending bool) {
	need := s.needsConfirmation(w)
	confirmed := map[string]hookgate.Endpoint{}
	if before != nil && s.needsConfirmation(before) {
		for _, e := range before.Endpoints {
			// A record from before per-endpoint confirmation carries none:
			// its URLs confirmed with the webhook unless it is unconfirmed.
			if e.Confirmation == hookgate.ConfirmationConfirmed ||
				(e.Confirmation == "" && before.Status != hookgate.StatusUnconfirmed) {
				confirmed[e.ID] = e
			}
		}
	}
	for i := range w.Endpoints {
		e := &w.Endpoints[i]
		switch old, ok := confirmed[e.ID]; {
		case !need:
			e.Confirmation, e.ConfirmedAt = "", nil
		case ok && old.URL == e.URL:
			e.Confirmation, e.ConfirmedAt = hookgate.ConfirmationConfirmed, old.ConfirmedAt
		default:
			// A URL already waiting keeps the link it was sent; any other needs one.
			if prev := findEndpoint(before, e.ID); prev == nil || !prev.Pending() || prev.URL != e.URL {
				newlyPending = true
			}
			e.Confirmation, e.ConfirmedAt = hookgate.ConfirmationPending, nil
		}
	}
	w.SettleStatus(now)
	return newlyPending
}

func findEndpoint(w *hookgate.Webhook, id string) *hookgate.Endpoint {
	if w == nil {
		return nil
	}
	for i := range w.Endpoints {
		if w.Endpoints[i].ID == id {
			return &w.Endpoints[i]
		}
	}
	return nil
}

// requestConfirmation sends the handshake to w's pending endpoints and
// keeps the outcome per endpoint in w.ConfirmationRequests, for the answer.
// A failed send is not an error of the create or update: the answer says
// so, and the admin can resend.
func (s *Service) requestConfirmation(ctx context.Context, w *hookgate.Webhook) {
	if s.Confirmer == nil {
		return
	}
	sent, err := s.Confirmer.RequestConfirmation(context.WithoutCancel(ctx), w)
	if err != nil && s.Logger != nil {
		s.Logger.Warn("sending the subscription confirmation failed", "webhook_id", w.ID, "tenant", w.Tenant, "err", err)
	}
	w.ConfirmationRequests = sent
}

func hasPending(w *hookgate.Webhook) bool {
	for i := range w.Endpoints {
		if w.Endpoints[i].Enabled && w.Endpoints[i].Pending() {
			return true
		}
	}
	return false
}

// decorate fills the fields computed on read: held events and status reason.
func (s *Service) decorate(ctx context.Context, ws ...*hookgate.Webhook) {
	ids := make([]string, len(ws))
	for i, w := range ws {
		ids[i] = w.ID
		w.ShowStatus()
	}
	if s.Held == nil || len(ws) == 0 {
		return
	}
	if n, err := s.Held.HeldCounts(ctx, ids); err == nil {
		for i, w := range ws {
			w.HeldEvents = n[i]
		}
	}
}

// RulesFromConfig derives the webhook validation rules from the configuration.
// formats and transforms report which plugins exist (nil: only "standard",
// no transforms).
func RulesFromConfig(cfg config.Config, cat *hookgate.Catalogue, formats, transforms func(string) bool) hookgate.WebhookRules {
	w := cfg.Webhooks
	if formats == nil {
		formats = func(name string) bool { return name == "standard" }
	}
	return hookgate.WebhookRules{
		AllowHTTP: cfg.Delivery.AllowHTTP, MaxNameLength: w.MaxNameLength, MaxEndpoints: w.MaxEndpoints,
		MaxEvents: w.MaxEvents, MinSecretLength: w.MinSecretLength, MaxTimeout: cfg.Delivery.MaxTimeout,
		MaxRetries: cfg.Delivery.MaxRetries, Formats: formats, Transforms: transforms,
		Catalogue: cat, MaxMetadataKeys: w.MaxMetadataKeys, MaxDescriptionLen: 2000,
	}
}

// CreateWebhook validates the input and stores a new webhook in namespace ns
// (a tenant, or hookgate.SystemTenant). The returned webhook carries its
// secret, to be shown once.
func (s *Service) CreateWebhook(ctx context.Context, ns, owner string, in *hookgate.WebhookPatch) (*hookgate.Webhook, error) {
	now := time.Now().UTC()
	w := &hookgate.Webhook{Tenant: ns, System: ns == hookgate.SystemTenant, Owner: owner, Enabled: true,
		Status: hookgate.StatusActive}
	in.Apply(w, func() string { return s.NewID("ep") })
	if in.Unsigned != nil {
		w.Unsigned = *in.Unsigned
	}
	if in.Secret != nil {
		w.Secret = strings.TrimSpace(*in.Secret)
		if w.Secret == "" {
			return nil, hookgate.FieldError("secret", "secret must not be empty; omit it to have one generated")
		}
	}
	if err := w.Validate(s.Rules); err != nil {
		return nil, err
	}
	if w.Unsigned {
		w.Secret = ""
	} else if w.Secret == "" {
		w.Secret = signing.NewSecret()
	}
	pending := s.settleConfirmation(w, nil, now)
	w.StatusChangedAt = nil // the store dates it from the creation
	if s.Counter != nil && s.MaxPerTenant > 0 {
		n, err := s.Counter.CountWebhooks(ctx, ns)
		if err != nil {
			return nil, err
		}
		if n >= int64(s.MaxPerTenant) {
			return nil, hookgate.Errorf(hookgate.ECONFLICT, "this tenant already has the maximum of %d webhooks", s.MaxPerTenant)
		}
	}
	w.ID = s.NewID("wh")
	if err := s.Store.CreateWebhook(ctx, w); err != nil {
		return nil, err
	}
	s.invalidate(w.Tenant)
	if pending {
		s.requestConfirmation(ctx, w)
	}
	s.decorate(ctx, w)
	return w, nil
}

// UpdateWebhook applies a patch atomically and validates the result.
func (s *Service) UpdateWebhook(ctx context.Context, ns, id string, p *hookgate.WebhookPatch) (*hookgate.Webhook, error) {
	var v hookgate.Validation
	if p.Secret != nil {
		v.Add("secret", "secret is set on create only; to change it, POST /v1/webhooks/%s/rotate-secret (both secrets sign during the grace period)", id)
	}
	if p.Unsigned != nil {
		v.Add("unsigned", "unsigned is set on create only")
	}
	if p.System {
		v.Add("system", "system is set on create only")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var newlyPending, reenabled bool
	w, err := s.Store.UpdateWebhook(ctx, ns, id, func(w *hookgate.Webhook) error {
		before := *w
		before.Endpoints = append([]hookgate.Endpoint(nil), w.Endpoints...)
		p.Apply(w, func() string { return s.NewID("ep") })
		if err := w.Validate(s.Rules); err != nil {
			return err
		}
		now := time.Now().UTC()
		newlyPending = s.settleConfirmation(w, &before, now)
		if w.Enabled != before.Enabled {
			w.StatusChangedAt = &now
		}
		reenabled = w.Enabled && !before.Enabled
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.invalidate(ns)
	// A disabled webhook is sent nothing: its pending endpoints are asked
	// when it is enabled again.
	if w.Enabled && (newlyPending || (reenabled && hasPending(w))) {
		s.requestConfirmation(ctx, w)
	}
	s.decorate(ctx, w)
	return w, nil
}

// FindWebhookByID returns one webhook of namespace ns.
func (s *Service) FindWebhookByID(ctx context.Context, ns, id string) (*hookgate.Webhook, error) {
	w, err := s.Store.FindWebhookByID(ctx, ns, id)
	if err != nil {
		return nil, err
	}
	s.decorate(ctx, w)
	return w, nil
}

// FindWebhooks lists webhooks.
func (s *Service) FindWebhooks(ctx context.Context, f hookgate.WebhookFilter) ([]*hookgate.Webhook, string, error) {
	switch f.Sort {
	case "", "name", "-name", "created_at", "-created_at":
	default:
		return nil, "", hookgate.FieldError("sort", "sort must be name, -name, created_at or -created_at")
	}
	if f.Status != "" && !f.Status.Valid() {
		return nil, "", hookgate.FieldError("status", "unknown status %q", f.Status)
	}
	if f.Event != "" {
		name, err := s.Rules.Catalogue.CheckType(f.Event)
		if err != nil {
			return nil, "", hookgate.FieldError("event", "%s", hookgate.ErrorMessage(err))
		}
		f.Event = name
	}
	list, next, err := s.Store.FindWebhooks(ctx, f)
	if err != nil {
		return nil, "", err
	}
	s.decorate(ctx, list...)
	return list, next, nil
}

// DeleteWebhook removes a webhook.
func (s *Service) DeleteWebhook(ctx context.Context, ns, id string) error {
	if err := s.Store.DeleteWebhook(ctx, ns, id); err != nil {
		return err
	}
	s.invalidate(ns)
	return nil
}
