package queue

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/hookgate/hookgate"
)

// Deliverer makes one attempt at a delivery (deliver.Worker) and decides
// what its error means to the queue.
type Deliverer interface {
	// Deliver attempts d, tried retried times before out of maxRetry.
	Deliver(ctx context.Context, d *hookgate.Task, retried, maxRetry int) error
	// RetryDelay is how long after an error Deliver returned it is tried again.
	RetryDelay(err error) time.Duration
	// IsFailure reports whether that error spends a retry.
	IsFailure(err error) bool
}

// handler is the asynq handler of TypeDelivery: it decodes the task and
// hands it to the deliverer with asynq's retry count.
type handler struct {
	d      Deliverer
	logger *slog.Logger
}

// ProcessTask implements asynq.Handler.
func (h handler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var d hookgate.Task
	if err := d.UnmarshalBinary(t.Payload()); err != nil {
		h.logger.Error("dropping malformed delivery task", "err", err)
		return nil
	}
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, _ := asynq.GetMaxRetry(ctx)
	return h.d.Deliver(ctx, &d, retried, maxRetry)
}

// retryDelay is asynq's RetryDelayFunc: the delay the deliverer decided.
// A task whose worker died holding it (its lease expired) is tried again
// at once under the same delivery id.
func retryDelay(d Deliverer) asynq.RetryDelayFunc {
	return func(_ int, err error, _ *asynq.Task) time.Duration {
		var in *retryIn
		switch {
		case errors.Is(err, asynq.ErrLeaseExpired):
			return time.Second
		case errors.As(err, &in):
			return in.delay
		}
		return d.RetryDelay(err)
	}
}

// isFailure is asynq's IsFailure: what the deliverer counts as a failed
// attempt; a worker that died holding the delivery is not one (it is not
// the receiver's fault), so it spends no retry.
func isFailure(d Deliverer) func(error) bool {
	return func(err error) bool {
		return !errors.Is(err, asynq.ErrLeaseExpired) && d.IsFailure(err)
	}
}

// retryIn asks for another run of a task of this package's own (a recover)
// after delay.
type retryIn struct {
	delay time.Duration
	cause string
}

func (e *retryIn) Error() string { return "retry in " + e.delay.String() + ": " + e.cause }
