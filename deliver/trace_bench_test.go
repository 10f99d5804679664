package deliver

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/render"
)

// BenchmarkDeliverTraced is BenchmarkDeliver with tracing on: every
// delivery sampled, its spans (deliver, render, POST) handed to a batch
// processor whose exporter drops them, so what is measured is hookgate's
// tracing work on the delivery path, not an export. Compare with
// BenchmarkDeliver (go test -bench Deliver -benchmem ./deliver).
func BenchmarkDeliverTraced(b *testing.B) {
	for _, ratio := range []float64{1, 0} {
		name := "sampled"
		if ratio == 0 {
			name = "unsampled"
		}
		b.Run(name, func(b *testing.B) {
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()),
				sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))))
			defer tp.Shutdown(context.Background())
			w := &hookgate.Webhook{ID: "wh_1", Tenant: "acme", Name: "b", Enabled: true, Status: hookgate.StatusActive,
				Secret:    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
				Endpoints: []hookgate.Endpoint{{ID: "ep_1", URL: "https://example.com/hook", Enabled: true}}}
			wk := &Worker{Webhooks: oneWebhook{w}, Renderer: render.Standard{}, Sender: okSender{}, Signer: NewSigner(okSender{}, 5*time.Second), Log: nopRecorder{},
				Policy:  Policy{RetryDelays: []time.Duration{time.Minute}, Timeout: 5 * time.Second, EndpointLimit: 32, MaxRequestBody: 64 << 10, MaxResponseBody: 64 << 10},
				Metrics: NewMetrics(prometheus.NewRegistry()), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				Tracing: Tracing{Tracer: tp.Tracer("bench")}}
			d := hookgate.Task{ID: "dl_1", Namespace: "acme", WebhookID: "wh_1", EndpointID: "ep_1", EnqueuedAt: time.Now(),
				Event: hookgate.Event{ID: "evt_1", Type: "contact.created", Tenant: "acme", OccurredAt: time.Now(),
					Data: json.RawMessage(`{"id":"c_1","first_name":"Ada","last_name":"Lovelace","email":"ada@example.com"}`)}}
			payload, _ := d.MarshalBinary()
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				var task hookgate.Task
				if err := task.UnmarshalBinary(payload); err != nil {
					b.Fatal(err)
				}
				if err := wk.Deliver(ctx, &task, 0, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
