// Package telemetry sets up OpenTelemetry tracing (docs/telemetry.md): a
// tracer provider exporting spans over OTLP/HTTP when telemetry.otlp_endpoint
// is set, and nothing at all otherwise. Components take a trace.Tracer that
// is nil when tracing is off and test it before doing any tracing work, so
// that tracing off costs a nil check on the delivery path.
//
// It also converts between OpenTelemetry's span context and the trace
// context a delivery task carries (hookgate.TraceContext).
package telemetry

import (
	"context"
	"fmt"
	"net/url"
	"os"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
)

// ScopeName is the instrumentation scope of hookgate's spans.
const ScopeName = "github.com/hookgate/hookgate"

// Attribute keys of hookgate's own span attributes. Never a secret, a
// header value or a body.
const (
	AttrTenant     = attribute.Key("hookgate.tenant")
	AttrWebhookID  = attribute.Key("hookgate.webhook.id")
	AttrEndpointID = attribute.Key("hookgate.endpoint.id")
	AttrDeliveryID = attribute.Key("hookgate.delivery.id")
	AttrAttempt    = attribute.Key("hookgate.attempt")
	AttrEventID    = attribute.Key("hookgate.event.id")
	AttrEventType  = attribute.Key("hookgate.event.type")
	AttrEvents     = attribute.Key("hookgate.events")
	AttrDeliveries = attribute.Key("hookgate.deliveries")
	AttrFormat     = attribute.Key("hookgate.format")
	AttrPlugin     = attribute.Key("hookgate.plugin")
	AttrErrorClass = attribute.Key("hookgate.error_class")
	AttrRole       = attribute.Key("hookgate.role")
)

// Propagator is the W3C trace context propagator (traceparent, tracestate),
// used on the API's requests, to plugins and, when enabled, to endpoints.
var Propagator propagation.TextMapPropagator = propagation.TraceContext{}

// Tracing is the process's tracer provider.
type Tracing struct {
	tp *sdktrace.TracerProvider
}

// New builds the tracer provider of cfg: nil (off) when no OTLP endpoint is
// set. role is server.role, recorded as hookgate.role on every span.
func New(cfg config.Telemetry, role string) (*Tracing, error) {
	if !cfg.On() {
		return nil, nil
	}
	u, err := url.Parse(cfg.OTLPEndpoint)
	if err != nil {
		return nil, fmt.Errorf("telemetry.otlp_endpoint: %w", err)
	}
	path := u.Path
	if path == "" || path == "/" {
		path = "/v1/traces"
	}
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpoint(u.Host), otlptracehttp.WithURLPath(path)}
	if u.Scheme == "http" {
		opts = append(opts, otlptracehttp.WithInsecure())
	}
	exp, err := otlptracehttp.New(context.Background(), opts...)
	if err != nil {
		return nil, fmt.Errorf("telemetry: OTLP exporter: %w", err)
	}
	attrs := []attribute.KeyValue{semconv.ServiceName(cfg.ServiceName), semconv.ServiceVersion(hookgate.Version), AttrRole.String(role)}
	if host, err := os.Hostname(); err == nil {
		attrs = append(attrs, semconv.HostName(host))
	}
	attrs = append(attrs, semconv.ProcessPID(os.Getpid()))
	res := resource.NewWithAttributes(semconv.SchemaURL, attrs...)
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SampleRatio))),
	)
	return &Tracing{tp: tp}, nil
}

// Tracer is hookgate's tracer, nil when t is nil (tracing off).
func (t *Tracing) Tracer() trace.Tracer {
	if t == nil {
		return nil
	}
	return t.tp.Tracer(ScopeName, trace.WithInstrumentationVersion(hookgate.Version))
}

// Shutdown sends the spans still buffered and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.tp.Shutdown(ctx)
}

// ForceFlush sends the spans buffered so far.
func (t *Tracing) ForceFlush(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.tp.ForceFlush(ctx)
}

// TaskTrace is the trace context of ctx's span as a task carries it; zero
// when ctx has no valid span.
func TaskTrace(ctx context.Context) hookgate.TraceContext {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return hookgate.TraceContext{}
	}
	return hookgate.TraceContext{TraceID: sc.TraceID(), SpanID: sc.SpanID(), Flags: byte(sc.TraceFlags())}
}

// FromTask returns ctx carrying the task's trace context as the remote
// parent of the spans started from it; ctx as it is when tc is zero.
func FromTask(ctx context.Context, tc hookgate.TraceContext) context.Context {
	if !tc.IsValid() {
		return ctx
	}
	return trace.ContextWithRemoteSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tc.TraceID, SpanID: tc.SpanID, TraceFlags: trace.TraceFlags(tc.Flags), Remote: true,
	}))
}

// Fail marks span failed with class (an error class, never a message that
// could hold a tenant's data).
func Fail(span trace.Span, class string) {
	span.SetAttributes(AttrErrorClass.String(class))
	span.SetStatus(codes.Error, class)
}
