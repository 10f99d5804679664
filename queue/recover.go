package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/hookgate/hookgate"
)

// TypeRecover is the asynq task type of a recover: a walk over one webhook's
// delivery log that queues again each delivery that ended failed in a
// window (POST /v1/webhooks/{id}/recover).
const TypeRecover = "recover"

// recoverRetries is how many times a recover task that failed (Redis
// unavailable, say) is run again, each time from the start of its window.
const recoverRetries = 20

// recoverTimeout bounds one run of a recover task; the walk queues a page of
// the log at a time and a webhook's log is bounded (delivery.log_max_entries).
const recoverTimeout = 10 * time.Minute

// EnqueueRecover queues a recover task (the payload is the task's JSON);
// its task id is the recover's id.
func (c *Client) EnqueueRecover(ctx context.Context, r *hookgate.RecoverTask) error {
	payload, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode recover %s: %w", r.ID, err)
	}
	_, err = c.c.EnqueueContext(ctx, asynq.NewTask(TypeRecover, payload), asynq.Queue(c.queues[0]),
		asynq.TaskID("recover:"+r.ID), asynq.MaxRetry(recoverRetries), asynq.Timeout(recoverTimeout))
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return &hookgate.Error{Code: hookgate.EUNAVAILABLE, Message: "the queue is unavailable; nothing was recovered, try again",
			Err: fmt.Errorf("enqueue recover %s: %w", r.ID, err)}
	}
	return nil
}

// recoverHandler runs recover tasks with rc.
type recoverHandler struct {
	rc     hookgate.Recoverer
	logger *slog.Logger
}

// ProcessTask implements asynq.Handler.
func (h recoverHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var r hookgate.RecoverTask
	if err := json.Unmarshal(t.Payload(), &r); err != nil || r.WebhookID == "" {
		h.logger.Error("dropping malformed recover task", "err", err)
		return nil
	}
	if err := h.rc.Recover(ctx, &r); err != nil {
		h.logger.Warn("recover stopped; it runs again from the start of its window", "recover_id", r.ID,
			"webhook_id", r.WebhookID, "err", err)
		return &retryIn{delay: 5 * time.Second, cause: "recover: " + err.Error()}
	}
	return nil
}
