package host

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/metadata"

	pb "github.com/hookgate/hookgate/plugins/sdk/proto"
)

// metadataCarrier writes the trace context into outgoing gRPC metadata.
type metadataCarrier struct{ md metadata.MD }

func (c metadataCarrier) Get(key string) string {
	if v := c.md.Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}
func (c metadataCarrier) Set(key, value string) { c.md.Set(key, value) }
func (c metadataCarrier) Keys() []string {
	keys := make([]string, 0, len(c.md))
	for k := range c.md {
		keys = append(keys, k)
	}
	return keys
}

// tracedCall is callUntraced inside a gRPC client span, with the span's
// trace context in the call's metadata (sdk.TraceParentKey, "traceparent"): the standard
// W3C header as gRPC instrumentations read it. The span names the plugin,
// the step, the webhook and the event; never the settings, which may hold
// credentials, nor the data.
func (p *proc) tracedCall(ctx context.Context, req *pb.TransformRequest) (*pb.TransformResponse, error) {
	attrs := []attribute.KeyValue{semconv.RPCSystemNameGRPC, semconv.RPCMethod("hookgate.plugin.v1.Plugin/Transform"),
		attribute.String("hookgate.plugin", p.cfg.Name)}
	if o := req.GetOutgoing(); o != nil {
		attrs = append(attrs, attribute.String("hookgate.plugin.step", o.Name), attribute.String("hookgate.webhook.id", o.WebhookId))
		if o.Event != nil {
			attrs = append(attrs, attribute.String("hookgate.event.id", o.Event.Id), attribute.String("hookgate.event.type", o.Event.Type))
		}
	}
	ctx, span := p.h.opts.tracer.Start(ctx, "plugin "+p.cfg.Name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	defer span.End()
	md, _ := metadata.FromOutgoingContext(ctx)
	md = md.Copy()
	propagation.TraceContext{}.Inject(ctx, metadataCarrier{md})
	ctx = metadata.NewOutgoingContext(ctx, md)
	resp, err := p.callUntraced(ctx, req)
	if err != nil {
		kind := Kind(err)
		span.SetAttributes(attribute.String("hookgate.error_class", "plugin_"+kind))
		span.SetStatus(codes.Error, kind)
	}
	return resp, err
}
