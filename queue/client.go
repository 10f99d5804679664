package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/store"
	"github.com/hookgate/hookgate/internal/telemetry"
)

// Client enqueues delivery tasks.
type Client struct {
	c       *asynq.Client
	queues  []string      // the shards (ShardNames); recover tasks go to the first
	timeout time.Duration // asynq's per-task deadline: the request timeout plus a margin
	par     int
	// Tracer makes a producer span of each Enqueue and puts its trace
	// context in the tasks; nil: tracing is off.
	Tracer trace.Tracer
	// Stalled, when set, enqueues the deliveries of endpoints it holds as
	// stalled parked at once (not due before a place frees).
	Stalled *Stalled
}

// NewClient returns a client enqueueing into queues on rdb: the shards of
// the deployment (ShardNames), a delivery into the one of its endpoint.
// taskTimeout bounds how long a worker may hold one task (the longest
// request timeout plus a margin for rendering and recording).
func NewClient(rdb store.Client, queues []string, taskTimeout time.Duration) *Client {
	return &Client{c: asynq.NewClientFromRedisClient(rdb), queues: queues, timeout: taskTimeout, par: 32}
}

// Enqueue puts every item durably in Redis, with bounded parallelism. It
// returns the first error; items already enqueued stay (their task ids make
// a retry of the same publish enqueue only what is missing). A task id that
// is already queued is not an error.
func (c *Client) Enqueue(ctx context.Context, items []hookgate.QueueItem) error {
	if c.Tracer != nil {
		return c.tracedEnqueue(ctx, items)
	}
	return c.enqueueAll(ctx, items)
}

func (c *Client) enqueueAll(ctx context.Context, items []hookgate.QueueItem) error {
	if len(items) == 1 {
		return c.enqueue(ctx, &items[0])
	}
	// Not errgroup.WithContext: one failure does not stop the others.
	var g errgroup.Group
	g.SetLimit(c.par)
	for i := range items {
		g.Go(func() error { return c.enqueue(ctx, &items[i]) })
	}
	return g.Wait()
}

func (c *Client) enqueue(ctx context.Context, it *hookgate.QueueItem) error {
	d := *it.Task
	d.SpareRetry = true
	if c.Tracer != nil && !d.Trace.IsValid() {
		// A task that has a trace (held, then released) keeps its event's.
		d.Trace = telemetry.TaskTrace(ctx)
	}
	payload, err := d.MarshalBinary()
	if err != nil {
		return err
	}
	id := it.TaskID
	if id == "" {
		id = it.Task.ID
	}
	q := c.queues[shardOf(it.Task.EndpointID, len(c.queues))]
	opts := []asynq.Option{asynq.Queue(q), asynq.MaxRetry(it.Retries + 1), asynq.TaskID(id), asynq.Timeout(c.timeout)}
	task := asynq.NewTask(TypeDelivery, payload)
	if it.ProcessIn > 0 {
		opts = append(opts, asynq.ProcessIn(it.ProcessIn))
		_, err = c.c.EnqueueContext(ctx, task, opts...)
	} else if parked, ok := c.Stalled.parkedOf(it.Task.EndpointID); ok {
		err = c.Stalled.enqueue(ctx, c.c, task, opts, q, id, it.Task.EndpointID, parked)
	} else {
		_, err = c.c.EnqueueContext(ctx, task, opts...)
	}
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return &hookgate.Error{Code: hookgate.EUNAVAILABLE, Message: "the queue is unavailable; nothing was accepted, try again",
			Err: fmt.Errorf("enqueue delivery %s: %w", it.Task.ID, err)}
	}
	return nil
}

// tracedEnqueue is enqueueAll inside an "enqueue" producer span, whose
// trace context every task carries to its worker.
func (c *Client) tracedEnqueue(ctx context.Context, items []hookgate.QueueItem) error {
	ctx, span := c.Tracer.Start(ctx, "enqueue", trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(semconv.MessagingSystemKey.String("asynq"), semconv.MessagingDestinationName(c.queues[0]), // the deployment's first queue; its shards follow it
			semconv.MessagingBatchMessageCount(len(items))))
	defer span.End()
	if len(items) == 1 {
		d := items[0].Task
		span.SetAttributes(telemetry.AttrDeliveryID.String(d.ID), telemetry.AttrWebhookID.String(d.WebhookID),
			telemetry.AttrEndpointID.String(d.EndpointID))
	}
	err := c.enqueueAll(ctx, items)
	if err != nil {
		span.SetStatus(codes.Error, "the queue is unavailable")
	}
	return err
}
