package deliver

import (
	"context"
	"net/url"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/sender"
	"github.com/hookgate/hookgate/internal/telemetry"
)

// Tracing is the worker's tracing: nil Tracer is off, and then no code of
// this file runs on the delivery path beyond a nil check.
type Tracing struct {
	Tracer trace.Tracer
	// PropagateToEndpoints sends traceparent on the requests to endpoints
	// (telemetry.propagate_to_endpoints). Off, an endpoint sees no trace
	// context: it is a third party.
	PropagateToEndpoints bool
}

// tracedDeliver is deliver inside a "deliver" consumer span, the child of
// the trace context the task carries (its publish's enqueue).
func (wk *Worker) tracedDeliver(ctx context.Context, d *hookgate.Task, retried, maxRetry int) error {
	ctx = telemetry.FromTask(ctx, d.Trace)
	ctx, span := wk.Tracing.Tracer.Start(ctx, "deliver", trace.WithSpanKind(trace.SpanKindConsumer))
	if span.IsRecording() {
		// Attributes cost allocations: only for spans that are kept.
		span.SetAttributes(telemetry.AttrTenant.String(d.Namespace), telemetry.AttrWebhookID.String(d.WebhookID),
			telemetry.AttrEndpointID.String(d.EndpointID), telemetry.AttrDeliveryID.String(d.ID),
			telemetry.AttrAttempt.Int(d.Attempt0+retried+1), telemetry.AttrEventID.String(d.Event.ID),
			telemetry.AttrEventType.String(d.Event.Type))
	}
	defer span.End()
	err := wk.deliver(ctx, d, retried, maxRetry)
	if IsFailure(err) {
		span.SetStatus(codes.Error, "attempt failed; retried later")
	}
	return err
}

// render is Renderer.Render, inside a "render" span when tracing is on.
func (wk *Worker) render(ctx context.Context, ev *hookgate.Event, w *hookgate.Webhook) (*hookgate.Payload, error) {
	if wk.Tracing.Tracer == nil {
		return wk.Renderer.Render(ctx, ev, w)
	}
	format := w.Format
	if format == "" {
		format = "standard"
	}
	ctx, span := wk.Tracing.Tracer.Start(ctx, "render")
	defer span.End()
	if span.IsRecording() {
		span.SetAttributes(telemetry.AttrFormat.String(format))
	}
	p, err := wk.Renderer.Render(ctx, ev, w)
	if err != nil {
		span.SetStatus(codes.Error, string(hookgate.ErrorCode(err)))
	}
	return p, err
}

// send is Sender.Send, inside an HTTP client span when tracing is on. The
// span names the endpoint's scheme, host and port, never its path or query
// (receivers keep tokens there), nor any header or body.
func (wk *Worker) send(ctx context.Context, req *sender.Request, d *hookgate.Task, ep *hookgate.Endpoint) *sender.Result {
	if wk.Tracing.Tracer == nil {
		return wk.Sender.Send(ctx, req)
	}
	ctx, span := wk.Tracing.Tracer.Start(ctx, "POST", trace.WithSpanKind(trace.SpanKindClient))
	defer span.End()
	recording := span.IsRecording()
	if recording {
		attrs := []attribute.KeyValue{semconv.HTTPRequestMethodKey.String("POST"), semconv.HTTPRequestBodySize(len(req.Body)),
			telemetry.AttrDeliveryID.String(d.ID), telemetry.AttrEndpointID.String(ep.ID)}
		if u, err := url.Parse(req.URL); err == nil {
			attrs = append(attrs, semconv.URLScheme(u.Scheme), semconv.ServerAddress(u.Hostname()))
			if p, err := strconv.Atoi(u.Port()); err == nil {
				attrs = append(attrs, semconv.ServerPort(p))
			}
		}
		span.SetAttributes(attrs...)
	}
	if wk.Tracing.PropagateToEndpoints {
		// The signer built this header map for this request alone.
		propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(req.Headers))
	}
	res := wk.Sender.Send(ctx, req)
	if recording {
		if res.StatusCode != 0 {
			span.SetAttributes(semconv.HTTPResponseStatusCode(res.StatusCode))
		}
		if !res.OK() {
			telemetry.Fail(span, res.ErrorClass)
		}
	}
	return res
}
