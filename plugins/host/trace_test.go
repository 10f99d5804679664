package host

import (
	"context"
	"encoding/json"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/testenv"
)

// With a tracer, a plugin call is a client span, the child of the caller's
// span, and the plugin receives that span's traceparent in the call's
// metadata (sdk.TraceParent). Without one, the plugin receives none. The
// spans are read from the OpenTelemetry SDK's span recorder: what is tested
// here is the host's span and what crosses the process boundary (the
// plugin's answer); export is tested end to end in app.
func TestPluginCallsCarryTheTraceContext(t *testing.T) {
	testenv.SkipShort(t, "runs plugin processes")
	eachTransport(t, func(t *testing.T, tr string) {
		rec := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
		defer tp.Shutdown(context.Background())
		tracer := tp.Tracer("test")

		traceparentOf := func(h *Host, ctx context.Context) string {
			t.Helper()
			p, err := h.Format(ctx, "faulty", &hookgate.Event{ID: "evt_1", Type: "contact.created", Data: json.RawMessage(`{}`)},
				&hookgate.Webhook{ID: "wh_1", Format: "faulty"})
			if err != nil {
				t.Fatal(err)
			}
			var body struct{ Traceparent string }
			if err := json.Unmarshal(p.Body, &body); err != nil {
				t.Fatalf("%v: %s", err, p.Body)
			}
			return body.Traceparent
		}
		start := func(opts ...Option) *Host {
			h, err := New([]config.Plugin{on(tr, faulty(t, "traceparent"))}, nil, nil, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if err := h.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { shutdownAndCheckOrphans(t, h) })
			return h
		}

		traced := start(WithTracer(tracer))
		wantTransport(t, traced, "faulty", tr)
		ctx, parent := tracer.Start(context.Background(), "render")
		got := traceparentOf(traced, ctx)
		parent.End()
		var call sdktrace.ReadOnlySpan
		for _, s := range rec.Ended() {
			if s.Name() == "plugin faulty" {
				call = s
			}
		}
		if call == nil {
			t.Fatalf("no plugin span; ended: %v", rec.Ended())
		}
		if call.SpanKind() != trace.SpanKindClient || call.Parent().SpanID() != parent.SpanContext().SpanID() ||
			call.SpanContext().TraceID() != parent.SpanContext().TraceID() {
			t.Fatalf("plugin span kind %v parent %v, want a client span under %v", call.SpanKind(), call.Parent(), parent.SpanContext())
		}
		want := "00-" + call.SpanContext().TraceID().String() + "-" + call.SpanContext().SpanID().String() + "-01"
		if got != want {
			t.Fatalf("the plugin got traceparent %q, want %q", got, want)
		}
		attrs := map[string]string{}
		for _, kv := range call.Attributes() {
			attrs[string(kv.Key)] = kv.Value.Emit()
		}
		if attrs["hookgate.plugin"] != "faulty" || attrs["hookgate.webhook.id"] != "wh_1" || attrs["hookgate.event.type"] != "contact.created" {
			t.Fatalf("plugin span attributes %v", attrs)
		}

		untraced := start()
		ctx, span := tracer.Start(context.Background(), "render")
		defer span.End()
		if got := traceparentOf(untraced, ctx); got != "" {
			t.Fatalf("a host without a tracer sent traceparent %q", got)
		}
	})
}
