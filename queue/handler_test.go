package queue

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/hookgate/hookgate"
)

// deciding is a Deliverer whose decisions are fixed: every error is a
// failure retried after a minute.
type deciding struct{}

func (deciding) Deliver(context.Context, *hookgate.Task, int, int) error { return nil }
func (deciding) RetryDelay(error) time.Duration                          { return time.Minute }
func (deciding) IsFailure(err error) bool                                { return err != nil }

// The queue keeps two decisions of its own: a task whose worker died
// holding it (asynq's lease expired) comes back at once and spends no
// retry, and a recover that stopped runs again after 5 s. Everything else
// is the deliverer's call.
func TestQueueDecisionsAroundTheDeliverer(t *testing.T) {
	rd, fail := retryDelay(deciding{}), isFailure(deciding{})
	lease := fmt.Errorf("wrapped: %w", asynq.ErrLeaseExpired)
	if d := rd(0, lease, nil); d != time.Second {
		t.Fatalf("lease expired: retry in %s, want 1s", d)
	}
	if fail(lease) {
		t.Fatal("a lease that expired spends a retry")
	}
	if d := rd(0, &retryIn{delay: 5 * time.Second, cause: "x"}, nil); d != 5*time.Second {
		t.Fatalf("recover: retry in %s, want 5s", d)
	}
	other := errors.New("HTTP 503")
	if d := rd(0, other, nil); d != time.Minute || !fail(other) {
		t.Fatalf("a delivery error: retry in %s, failure %v; want the deliverer's minute and a failure", d, fail(other))
	}
}
