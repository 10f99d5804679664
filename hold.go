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

// HeldItem is one held delivery on its way back to the queue.
type HeldItem struct {
	TaskID string // the delivery id and the item's sequence number
	Task   *Task
}

// HeldDeliveries keeps the deliveries of webhooks that are not active, in
// the order they were held, per webhook and per endpoint waiting for its
// confirmation, within a cap (internal/store.Held). The counts returned by
// Hold and HoldEndpoint are the oldest items the cap dropped.
type HeldDeliveries interface {
	Hold(ctx context.Context, ns, wh string, ds []*Task) (dropped int64, err error)
	HoldEndpoint(ctx context.Context, ns, wh, ep string, ds []*Task) (dropped int64, err error)
	// Release hands every item held for wh to enqueue, oldest first, and
	// stops at enqueue's first error; what was not enqueued stays held.
	Release(ctx context.Context, wh string, enqueue func(context.Context, *HeldItem) error) (int, error)
	ReleaseEndpoint(ctx context.Context, wh, ep string, enqueue func(context.Context, *HeldItem) error) (int, error)
	// Counts are the items held for each webhook of ids, in order.
	Counts(ctx context.Context, ids []string) ([]int64, error)
	// Endpoints are the endpoints of wh that may hold items.
	Endpoints(ctx context.Context, wh string) ([]string, error)
	Drop(ctx context.Context, ns, wh string) (int64, error)
	DropEndpoint(ctx context.Context, wh, ep string) (int64, error)
	// Forget and ForgetEndpoint drop the bookkeeping of lists found empty.
	Forget(ctx context.Context, ns, wh string) error
	ForgetEndpoint(ctx context.Context, wh, ep string) error
	// Webhooks are the (namespace, webhook id) pairs that may hold items.
	Webhooks(ctx context.Context) ([][2]string, error)
}
