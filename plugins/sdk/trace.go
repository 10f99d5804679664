package sdk

import (
	"context"

	"google.golang.org/grpc/metadata"
)

// TraceParentKey is the gRPC metadata key under which hookgate sends each
// call's W3C trace context (https://www.w3.org/TR/trace-context/) when
// tracing is on (docs/telemetry.md). It is the key OpenTelemetry's gRPC
// instrumentation reads, so a plugin served with an otelgrpc stats handler
// continues the trace by itself.
const TraceParentKey = "traceparent"

// TraceParent returns the W3C traceparent of the hookgate span that made
// the current call ("00-<trace id>-<span id>-<flags>"), for a plugin that
// traces its own work as a child of it: with OpenTelemetry, extract it with
// propagation.TraceContext{} from a carrier holding this value under
// "traceparent". It is "" when hookgate is not tracing, or ctx is not a
// call's context.
func TraceParent(ctx context.Context) string {
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return ""
	}
	if v := md.Get(TraceParentKey); len(v) > 0 {
		return v[0]
	}
	return ""
}
