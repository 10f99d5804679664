package lifecycle

import (
	"context"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/outgoing"
)

// RotateSecret gives the webhook a new secret and returns the webhook with
// it (to be shown once). For grace (nil: lifecycle.rotation_grace)
// deliveries are signed with both the new and the old secret; after it,
// with the new one only. A rotation during another's grace period drops
// the oldest secret: at most two sign.
func (m *Manager) RotateSecret(ctx context.Context, ns, id string, grace *hookgate.Duration) (*hookgate.Webhook, error) {
	g := m.Config.RotationGrace
	if grace != nil {
		g = *grace
	}
	if g < 0 || g > m.Config.MaxRotationGrace {
		return nil, hookgate.FieldError("grace_period", "grace_period must be between 0s and %s", m.Config.MaxRotationGrace.D())
	}
	w, err := m.Store.UpdateWebhook(ctx, ns, id, func(w *hookgate.Webhook) error {
		if w.Unsigned {
			return hookgate.Errorf(hookgate.ECONFLICT, "webhook %s sends unsigned deliveries: it has no secret to rotate", id)
		}
		w.PreviousSecret, w.PreviousSecretUntil = "", time.Time{}
		if g > 0 {
			w.PreviousSecret, w.PreviousSecretUntil = w.Secret, time.Now().UTC().Add(g.D()).Truncate(time.Millisecond)
		}
		w.Secret = outgoing.GenerateSecret()
		return nil
	})
	if err != nil {
		return nil, err
	}
	if m.Invalidate != nil {
		m.Invalidate(ns)
	}
	m.Logger.Info("webhook secret rotated", "webhook_id", id, "tenant", ns, "grace_period", g.D().String())
	return m.decorate(ctx, w), nil
}
