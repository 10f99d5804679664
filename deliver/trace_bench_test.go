package deliver

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
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
			benchDeliver(b, Tracing{Tracer: tp.Tracer("bench")})
		})
	}
}
