package hookgate

import (
	"context"
	"encoding/binary"
	"errors"
	"time"
)

// Task is one delivery as the queue carries it (one event to one endpoint of
// one webhook): everything the worker needs that is not in the webhook
// record, so the worker makes no Redis read for it. The delivery log keeps
// its outcome as a Delivery with the same ID.
type Task struct {
	ID         string // stable across retries; sent as webhook-id
	Namespace  string // the webhook's namespace: its tenant, or hookgate.SystemTenant
	WebhookID  string
	EndpointID string
	Event      Event
	EnqueuedAt time.Time
	Manual     bool // a manual retry from the API
	Attempt0   int  // attempts made before this task (manual retries continue the count)
	// Test marks a test send (header webhook-test: true). Test sends are
	// synchronous and never queued, so it is not in the task payload.
	Test bool
	// SpareRetry is set on every task the queue's client enqueues: its asynq
	// MaxRetry is one more than the retries it gets. asynq archives a task
	// that returns an error on its last retry even when the error is no
	// failure (IsFailure false: over the rate limit, endpoint busy, worker
	// died), so without the spare such a task, re-scheduled on its last
	// attempt, would be dropped. Tasks queued before it existed have none.
	SpareRetry bool
	// Trace is the trace context of the enqueue that made the task (zero
	// when tracing is off): the worker continues that trace.
	Trace TraceContext
}

// TraceContext is a W3C trace context (https://www.w3.org/TR/trace-context/)
// as a task carries it: the trace, the parent span and the trace flags
// (bit 0: sampled). Kept free of any tracing library.
type TraceContext struct {
	TraceID [16]byte
	SpanID  [8]byte
	Flags   byte
}

// IsValid reports whether tc names a trace and a span (W3C: neither all zero).
func (tc TraceContext) IsValid() bool {
	return tc.TraceID != [16]byte{} && tc.SpanID != [8]byte{}
}

// QueueItem is a Task to enqueue, with how many retries it gets.
type QueueItem struct {
	Task    *Task
	Retries int
	// TaskID defaults to the task's delivery id: enqueueing the same
	// delivery twice while it is queued is then refused by the queue, which
	// makes a repeated publish after a partial failure safe.
	TaskID string
	// ProcessIn delays the first attempt.
	ProcessIn time.Duration
}

// Enqueuer puts tasks durably in the queue (package queue). It returns the
// first error; items already enqueued stay, and a task id already queued is
// not an error, so a retry of the same call enqueues only what is missing.
type Enqueuer interface {
	Enqueue(ctx context.Context, items []QueueItem) error
}

// Payload versions. A task without a trace context is written as version 1,
// byte for byte what versions before tracing wrote, so tasks queued by them
// decode and they decode ours. Version 2 is version 1 with the trace context
// (traceContextLen bytes) between the attempt count and the event data.
const (
	payloadVersion      = 1
	payloadVersionTrace = 2
	traceContextLen     = 16 + 8 + 1
)

var errBadPayload = errors.New("malformed delivery task payload")

// MarshalBinary encodes the payload compactly: a version byte, length-prefixed
// strings, varint times, and the event's data bytes as they are.
func (d *Task) MarshalBinary() ([]byte, error) {
	n := 1 + 8*binary.MaxVarintLen64 + len(d.ID) + len(d.Namespace) + len(d.WebhookID) + len(d.EndpointID) +
		len(d.Event.ID) + len(d.Event.Type) + len(d.Event.Tenant) + len(d.Event.Data) + 16
	traced := d.Trace.IsValid()
	if traced {
		n += traceContextLen
	}
	b := make([]byte, 0, n)
	if traced {
		b = append(b, payloadVersionTrace)
	} else {
		b = append(b, payloadVersion)
	}
	for _, s := range [...]string{d.ID, d.Namespace, d.WebhookID, d.EndpointID, d.Event.ID, d.Event.Type, d.Event.Tenant} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendVarint(b, d.Event.OccurredAt.UnixNano())
	b = binary.AppendVarint(b, d.EnqueuedAt.UnixNano())
	flags := uint64(0)
	if d.Manual {
		flags |= 1
	}
	if d.SpareRetry {
		flags |= 2
	}
	b = binary.AppendUvarint(b, flags)
	b = binary.AppendUvarint(b, uint64(d.Attempt0))
	if traced {
		b = append(b, d.Trace.TraceID[:]...)
		b = append(b, d.Trace.SpanID[:]...)
		b = append(b, d.Trace.Flags)
	}
	return append(b, d.Event.Data...), nil
}

// UnmarshalBinary decodes a payload written by MarshalBinary. The event data
// aliases b.
func (d *Task) UnmarshalBinary(b []byte) error {
	if len(b) == 0 || (b[0] != payloadVersion && b[0] != payloadVersionTrace) {
		return errBadPayload
	}
	traced := b[0] == payloadVersionTrace
	b = b[1:]
	var strs [7]string
	for i := range strs {
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return errBadPayload
		}
		strs[i] = string(b[n : n+int(l)])
		b = b[n+int(l):]
	}
	d.ID, d.Namespace, d.WebhookID, d.EndpointID = strs[0], strs[1], strs[2], strs[3]
	d.Event.ID, d.Event.Type, d.Event.Tenant = strs[4], strs[5], strs[6]
	var ints [2]int64
	for i := range ints {
		v, n := binary.Varint(b)
		if n <= 0 {
			return errBadPayload
		}
		ints[i] = v
		b = b[n:]
	}
	d.Event.OccurredAt = time.Unix(0, ints[0]).UTC()
	d.EnqueuedAt = time.Unix(0, ints[1])
	flags, n := binary.Uvarint(b)
	if n <= 0 {
		return errBadPayload
	}
	b = b[n:]
	d.Manual = flags&1 != 0
	d.SpareRetry = flags&2 != 0
	a0, n := binary.Uvarint(b)
	if n <= 0 || a0 > 1<<16 {
		return errBadPayload
	}
	d.Attempt0 = int(a0)
	b = b[n:]
	d.Trace = TraceContext{}
	if traced {
		if len(b) < traceContextLen {
			return errBadPayload
		}
		copy(d.Trace.TraceID[:], b[:16])
		copy(d.Trace.SpanID[:], b[16:24])
		d.Trace.Flags = b[24]
		b = b[traceContextLen:]
	}
	d.Event.Data = b
	return nil
}
