package ingest

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
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
