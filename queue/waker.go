package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hibiken/asynq"

	"github.com/hookgate/hookgate/internal/store"
)

// Waker hands a parked delivery back to the queue: the delivery's task waits
// in asynq's retry set (re-scheduled far off when its endpoint was at its
// in-flight bound), and waking it makes it pending now (asynq's RunTask). It
// implements deliver.Waker.
type Waker struct {
	insp *asynq.Inspector
}

// NewWaker returns the waker of the queues on rdb.
func NewWaker(rdb store.Client) *Waker {
	return &Waker{insp: asynq.NewInspectorFromRedisClient(rdb)}
}

// ErrNotQueued is Wake's answer for a task that is no longer in the queue.
var ErrNotQueued = errors.New("task not in the queue")

// Ref names the task whose handler runs with ctx: "<queue>\x00<task id>".
func (w *Waker) Ref(ctx context.Context) string {
	id, ok1 := asynq.GetTaskID(ctx)
	q, ok2 := asynq.GetQueueName(ctx)
	if !ok1 || !ok2 {
		return ""
	}
	return q + "\x00" + id
}

// Wake makes the task ref names due now. A task no longer queued answers
// ErrNotQueued; one still running (its handler has not returned it to the
// queue yet) answers another error, and may be woken a moment later.
func (w *Waker) Wake(_ context.Context, ref string) error {
	q, id, ok := strings.Cut(ref, "\x00")
	if !ok {
		return fmt.Errorf("wake %q: not a task reference", ref)
	}
	err := w.insp.RunTask(q, id)
	if errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound) {
		return fmt.Errorf("wake %s: %w", id, ErrNotQueued)
	}
	return err
}

// NotQueued reports whether Wake's err says the task is no longer queued.
func (w *Waker) NotQueued(err error) bool { return errors.Is(err, ErrNotQueued) }
