package lifecycle

import (
	"context"
	"log/slog"

	"github.com/hookgate/hookgate"
)

// Holder decides, for deliveries found not deliverable now, whether they are
// held and where: in the webhook's list while it is paused or auto-paused,
// in an endpoint's list while that endpoint waits for its confirmation. The
// publisher and the delivery worker hold through it; the Manager releases
// what it kept. It needs neither of them, so it is built first.
type Holder struct {
	Store hookgate.WebhookStore
	Held  hookgate.HeldDeliveries
	// HoldMax is lifecycle.hold_max, the cap of each list (for the log).
	HoldMax int
	// Invalidate drops this process's cached view of a namespace's
	// webhooks (the subscription index) when it turned out stale. Optional.
	Invalidate func(ns string)
	Logger     *slog.Logger
	Metrics    *Metrics
}

// Hold keeps deliveries that are not to go out now. It re-reads the
// webhook from the store: a paused or auto-paused webhook keeps them all,
// in its own list; otherwise each is kept in its endpoint's list while the
// endpoint waits for its confirmation. If some turn out deliverable (the
// caller's view was stale) it returns a *hookgate.DeliverableError with them
// (errors.Is hookgate.ErrWebhookActive); if the webhook or endpoint is gone or
// disabled they are dropped, as they would be at delivery.
func (h *Holder) Hold(ctx context.Context, w *hookgate.Webhook, ds []*hookgate.Task) error {
	cur, err := h.Store.FindWebhookByID(ctx, w.Tenant, w.ID)
	switch {
	case hookgate.ErrorCode(err) == hookgate.ENOTFOUND:
		return nil
	case err != nil:
		return err
	case !cur.Enabled:
		return nil
	case cur.Status.Holding():
		return h.hold(ctx, cur, "", ds)
	}
	byEP := map[string][]*hookgate.Task{}
	var order []string
	var deliver []*hookgate.Task
	for _, d := range ds {
		ep := endpointOf(cur, d.EndpointID)
		switch {
		case ep == nil || !ep.Enabled:
		case ep.Pending():
			if byEP[ep.ID] == nil {
				order = append(order, ep.ID)
			}
			byEP[ep.ID] = append(byEP[ep.ID], d)
		default:
			deliver = append(deliver, d)
		}
	}
	for _, ep := range order {
		if err := h.hold(ctx, cur, ep, byEP[ep]); err != nil {
			return err
		}
	}
	if len(deliver) > 0 {
		if h.Invalidate != nil {
			h.Invalidate(w.Tenant)
		}
		return &hookgate.DeliverableError{Deliveries: deliver}
	}
	return nil
}

// hold keeps ds in w's list, or in its endpoint ep's list.
func (h *Holder) hold(ctx context.Context, w *hookgate.Webhook, ep string, ds []*hookgate.Task) error {
	var dropped int64
	var err error
	reason := w.Status.Reason(w.ID)
	if ep == "" {
		dropped, err = h.Held.Hold(ctx, w.Tenant, w.ID, ds)
	} else {
		dropped, err = h.Held.HoldEndpoint(ctx, w.Tenant, w.ID, ep, ds)
		reason = "the endpoint has not confirmed the subscription: it must follow the SubscribeURL it was sent"
	}
	if err != nil {
		return err
	}
	h.Metrics.held.Add(float64(len(ds)))
	h.Logger.Info("deliveries held: the webhook is not active", "webhook_id", w.ID, "tenant", w.Tenant,
		"status", string(w.Status), "endpoint_id", ep, "held", len(ds), "reason", reason)
	if dropped > 0 {
		h.Metrics.dropped.Add(float64(dropped))
		h.Logger.Warn("held events over lifecycle.hold_max: the oldest were dropped", "webhook_id", w.ID,
			"tenant", w.Tenant, "endpoint_id", ep, "dropped", dropped, "hold_max", h.HoldMax)
	}
	return nil
}
