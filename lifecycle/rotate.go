package lifecycle

import (
	"context"
	"crypto/subtle"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/signing"
)

// RotateSecret gives the webhook a new secret and returns the webhook with
// it (to be shown once). For grace (nil: lifecycle.rotation_grace)
// deliveries are signed with both the new and the old secret; after it,
// with the new one only.
//
// One rotation at a time per webhook, so that every secret answered signs
// deliveries until the next rotation and, beside the next one, through its
// grace period: a rotation is refused (ECONFLICT) while another's grace
// period runs, and when another rotation was applied between this one's
// read and its write (they overlapped). Without the first rule, a third
// rotation would drop the secret answered to the first one early (at most
// two sign); without the second, of twenty concurrent rotations nineteen
// answered secrets that never signed. A rotation with grace 0 is the way
// to replace a secret at once (a leaked one): it is allowed during a grace
// period and ends it, every other secret stopping now. Both checks run in
// the store's transaction (WATCH on the webhook's key), so they hold across
// hookgate processes.
func (m *Manager) RotateSecret(ctx context.Context, ns, id string, grace *hookgate.Duration) (*hookgate.Webhook, error) {
	g := m.Config.RotationGrace
	if grace != nil {
		g = *grace
	}
	if g < 0 || g > m.Config.MaxRotationGrace {
		return nil, hookgate.FieldError("grace_period", "grace_period must be between 0s and %s", m.Config.MaxRotationGrace.D())
	}
	// The secret this rotation means to replace: if it is not the current
	// one any more when the transaction runs, another rotation overlapped.
	seen, err := m.Store.FindWebhookByID(ctx, ns, id)
	if err != nil {
		return nil, err
	}
	w, err := m.Store.UpdateWebhook(ctx, ns, id, func(w *hookgate.Webhook) error {
		if w.Unsigned {
			return hookgate.Errorf(hookgate.ECONFLICT, "webhook %s sends unsigned deliveries: it has no secret to rotate", id)
		}
		if subtle.ConstantTimeCompare([]byte(w.Secret), []byte(seen.Secret)) != 1 {
			return hookgate.Errorf(hookgate.ECONFLICT, "a rotation of webhook %s is being applied by another request; this one was not applied", id)
		}
		now := time.Now().UTC()
		if g > 0 && w.PreviousSecret != "" && now.Before(w.PreviousSecretUntil) {
			return hookgate.Errorf(hookgate.ECONFLICT,
				"a rotation of webhook %s is being applied: the previous secret signs until %s; rotate again after that, or with grace_period 0s to replace every secret now",
				id, w.PreviousSecretUntil.UTC().Format(time.RFC3339))
		}
		w.PreviousSecret, w.PreviousSecretUntil = "", time.Time{}
		if g > 0 {
			w.PreviousSecret, w.PreviousSecretUntil = w.Secret, now.Add(g.D()).Truncate(time.Millisecond)
		}
		w.Secret = signing.NewSecret()
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
