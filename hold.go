package hookgate

import (
	"context"
	"errors"
)

// Holder keeps the deliveries of a webhook that does not deliver now
// (paused, auto-paused, or an endpoint waiting for its confirmation) until
// it does (lifecycle.Manager). The publisher and the delivery worker hold
// through it.
type Holder interface {
	// Hold keeps ds, all of webhook w. It returns ErrWebhookActive (or a
	// *DeliverableError naming those not kept) when w turns out to deliver.
	Hold(ctx context.Context, w *Webhook, ds []*Task) error
}

// ErrWebhookActive is what a Holder returns when the webhook turns out
// to be active (the in-memory view was stale): the delivery is not held and
// should be sent. The worker re-schedules it shortly, not as a failed attempt.
var ErrWebhookActive = errors.New("webhook is active")

// DeliverableError is what a Holder returns when some of the
// deliveries it was given are to be sent after all (their endpoint has
// confirmed meanwhile): it held the others. errors.Is(err,
// ErrWebhookActive) holds for it.
type DeliverableError struct{ Deliveries []*Task }

func (e *DeliverableError) Error() string     { return ErrWebhookActive.Error() }
func (e *DeliverableError) Is(err error) bool { return err == ErrWebhookActive }
