// The broker consumers accept events from message brokers (RabbitMQ and NATS
// JetStream) as POST /v1/events accepts them from HTTP: a message is
// acknowledged only once its deliveries are durably queued (the guarantee of
// a 202), it is idempotent on its id, and a message that can never be
// accepted goes to a dead letter with the reason instead of blocking the
// rest. docs/ingest.md is the reference.

package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookgate/hookgate"
)

// Message is one event as a broker carries it.
type Message struct {
	Tenant     string          `json:"tenant"`
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	Data       json.RawMessage `json:"data"`
	OccurredAt *time.Time      `json:"occurred_at,omitempty"`
}

// Outcome is what became of a message.
type Outcome int

const (
	// Accepted: its deliveries are queued; acknowledge it.
	Accepted Outcome = iota
	// Duplicate: an event with its id was accepted before; acknowledge it.
	Duplicate
	// Dead: it can never be accepted; send it to the dead letter with the
	// reason, then acknowledge it.
	Dead
	// Retry: it could not be accepted now (Redis unavailable); leave it
	// unacknowledged so the broker delivers it again.
	Retry
)

func (o Outcome) String() string {
	return [...]string{"accepted", "duplicate", "dead", "retry"}[o]
}

// Handler turns broker messages into published events. It is shared by the
// sources and safe for concurrent use.
type Handler struct {
	Publisher hookgate.EventPublisher
	// Tenants, when not nil, are the only tenants accepted.
	Tenants map[string]bool
	// MaxBytes bounds a message (events.max_payload plus the envelope).
	MaxBytes int
	Metrics  *Metrics // optional
	// Tracer makes a consumer span of each message (telemetry.otlp_endpoint);
	// nil: tracing is off.
	Tracer trace.Tracer
}

// Handle publishes one message body and says what to do with the message;
// reason explains Dead and Retry.
func (h *Handler) Handle(ctx context.Context, source string, body []byte) (Outcome, string) {
	o, reason := h.handle(ctx, body)
	h.Metrics.count(source, o)
	return o, reason
}

func (h *Handler) handle(ctx context.Context, body []byte) (Outcome, string) {
	if h.MaxBytes > 0 && len(body) > h.MaxBytes {
		return Dead, fmt.Sprintf("message is %d bytes, over the limit of %d", len(body), h.MaxBytes)
	}
	m, err := Decode(body)
	if err != nil {
		return Dead, err.Error()
	}
	traceMessage(ctx, m)
	if h.Tenants != nil && !h.Tenants[m.Tenant] {
		return Dead, fmt.Sprintf("tenant %q is not in ingest.tenants", m.Tenant)
	}
	in := hookgate.EventInput{ID: m.ID, Type: m.Type, Data: m.Data, OccurredAt: m.OccurredAt}
	if err := h.Publisher.Validate(&in); err != nil {
		return Dead, describe(err)
	}
	res, err := h.Publisher.Publish(ctx, m.Tenant, []hookgate.EventInput{in}, "")
	switch code := hookgate.ErrorCode(err); {
	case err == nil:
		if len(res) == 1 && res[0].Duplicate {
			return Duplicate, ""
		}
		return Accepted, ""
	case code == hookgate.EUNAVAILABLE || code == hookgate.EINTERNAL || code == hookgate.ETIMEOUT || ctx.Err() != nil:
		// Passing: Redis away, or hookgate stopping. The broker keeps it.
		return Retry, hookgate.ErrorMessage(err)
	default:
		// A refusal of the event itself (invalid, schema, idempotency
		// conflict, fan-out over its limit): it would be refused again.
		return Dead, describe(err)
	}
}

// describe is a refusal as the dead letter's reason: the code, the message
// and each field.
func describe(err error) string {
	s := hookgate.ErrorCode(err) + ": " + hookgate.ErrorMessage(err)
	var he *hookgate.Error
	if errors.As(err, &he) && len(he.Fields) > 0 {
		b, _ := json.Marshal(he.Fields)
		s += " " + string(b)
	}
	return s
}

// Decode reads a message strictly: a JSON object with tenant, id and type,
// no other fields than Message's, nothing after it.
func Decode(body []byte) (Message, error) {
	var m Message
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("malformed message: %v", err)
	}
	if dec.More() {
		return m, errors.New("malformed message: data after the JSON object")
	}
	switch {
	case m.Tenant == "":
		return m, errors.New("tenant is required")
	case !hookgate.TenantPattern.MatchString(m.Tenant):
		return m, fmt.Errorf("tenant must match %s", hookgate.TenantPattern)
	case m.ID == "":
		return m, errors.New("id is required: a broker may deliver a message twice, and the id makes the second a duplicate")
	case m.Type == "":
		return m, errors.New("type is required")
	}
	return m, nil
}

// Metrics count messages per source and outcome.
type Metrics struct {
	messages *prometheus.CounterVec
}

// NewMetrics registers hookgate_ingest_messages_total{source,outcome}.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{messages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hookgate_ingest_messages_total",
		Help: "Broker messages by source (amqp, nats) and outcome (accepted, duplicate, dead, retry)."}, []string{"source", "outcome"})}
	if reg != nil {
		reg.MustRegister(m.messages)
	}
	return m
}

func (m *Metrics) count(source string, o Outcome) {
	if m != nil {
		m.messages.WithLabelValues(source, o.String()).Inc()
	}
}

// sleep waits d or until ctx ends.
// runAgain runs consume until ctx ends, starting it again after it stops,
// with a backoff from 100 ms doubling to 10 s; a run that lasted a minute
// or more was healthy, so the next wait starts from 100 ms again. stopped
// is told each stop and the wait before the next run.
func runAgain(ctx context.Context, consume func(context.Context) error, stopped func(err error, wait time.Duration)) error {
	const first, most = 100 * time.Millisecond, 10 * time.Second
	backoff := first
	for ctx.Err() == nil {
		began := time.Now()
		err := consume(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(began) >= time.Minute {
			backoff = first
		}
		stopped(err, backoff)
		sleep(ctx, backoff)
		backoff = min(backoff*2, most)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
