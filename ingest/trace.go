package ingest

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/telemetry"
)

// tracedPublish is publish inside a "publish" span: the tenant, the events
// and deliveries counted, and, for one event, its id and type. The enqueue
// below it (package queue) puts this trace in every task.
func (p *Publisher) tracedPublish(ctx context.Context, tenant string, ins []hookgate.EventInput, idemKey string) ([]hookgate.PublishResult, error) {
	attrs := []attribute.KeyValue{telemetry.AttrTenant.String(tenant), telemetry.AttrEvents.Int(len(ins))}
	if len(ins) == 1 {
		attrs = append(attrs, telemetry.AttrEventType.String(ins[0].Type))
	}
	ctx, span := p.Tracer.Start(ctx, "publish", trace.WithAttributes(attrs...))
	defer span.End()
	rs, err := p.publish(ctx, tenant, ins, idemKey)
	if err != nil {
		span.SetStatus(codes.Error, string(hookgate.ErrorCode(err)))
		return rs, err
	}
	n := 0
	for i := range rs {
		n += rs[i].Deliveries
	}
	span.SetAttributes(telemetry.AttrDeliveries.Int(n))
	if len(rs) == 1 {
		span.SetAttributes(telemetry.AttrEventID.String(rs[0].ID))
	}
	return rs, nil
}

// AttrIngestOutcome is what became of a broker message (accepted,
// duplicate, dead, retry), on its consumer span.
const AttrIngestOutcome = attribute.Key("hookgate.ingest.outcome")

// handleTraced is Handle inside a consumer span named "process
// <destination>" (the queue or subject), the child of the trace context
// the message's headers carry (W3C traceparent and tracestate), else the
// root of a new trace. The publish below it, and so the enqueue, the
// worker and the endpoint's request, follow in the same trace. The span
// records the broker (messaging.system), the destination, the tenant, the
// event's id and type, and the outcome; not the body or the dead letter's
// reason. Tracing off (no Tracer), it is Handle.
func (h *Handler) handleTraced(ctx context.Context, source, system, destination string, headers propagation.TextMapCarrier, body []byte) (Outcome, string) {
	if h.Tracer == nil {
		return h.Handle(ctx, source, body)
	}
	ctx = telemetry.Propagator.Extract(ctx, headers)
	ctx, span := h.Tracer.Start(ctx, "process "+destination, trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(semconv.MessagingSystemKey.String(system), semconv.MessagingDestinationName(destination),
			semconv.MessagingOperationTypeProcess, semconv.MessagingOperationName("process")))
	defer span.End()
	o, reason := h.Handle(ctx, source, body)
	span.SetAttributes(AttrIngestOutcome.String(o.String()))
	if o == Dead || o == Retry {
		telemetry.Fail(span, o.String())
	}
	return o, reason
}

// traceMessage records the decoded message on ctx's span, when one records.
func traceMessage(ctx context.Context, m Message) {
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetAttributes(telemetry.AttrTenant.String(m.Tenant), telemetry.AttrEventID.String(m.ID),
			telemetry.AttrEventType.String(m.Type))
	}
}

// headerValue finds key among a message's header names: as written, else
// in any case (AMQP and NATS header names are case-sensitive, and
// publishers write traceparent in either case).
func headerValue[V any](h map[string]V, key string) (V, bool) {
	if v, ok := h[key]; ok {
		return v, true
	}
	for k, v := range h {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	var zero V
	return zero, false
}

func headerKeys[V any](h map[string]V) []string {
	out := make([]string, 0, len(h))
	for k := range h {
		out = append(out, k)
	}
	return out
}
