package gateway

import (
	"github.com/gofiber/fiber/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// requestHeaders reads a request's headers for the trace context propagator.
type requestHeaders struct{ c *fiber.Ctx }

func (h requestHeaders) Get(key string) string { return string(h.c.Request().Header.Peek(key)) }
func (h requestHeaders) Set(string, string)    {}
func (h requestHeaders) Keys() []string        { return nil }

// untraced are the routes that make no span: probes and scrapes, which
// would bury the traces that matter.
var untraced = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// traceRequests makes a server span of each request, the child of the
// caller's traceparent when it sends one, and hands it to the handler in
// the request's user context. It is installed only when tracing is on.
// The span names the route (never the path with its ids), the status and
// the caller's tenant; not the query, the headers or the body.
func (s *Server) traceRequests(c *fiber.Ctx) error {
	if untraced[c.Path()] {
		return c.Next()
	}
	ctx := propagation.TraceContext{}.Extract(c.UserContext(), requestHeaders{c})
	ctx, span := s.tracer.Start(ctx, c.Method(), trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(semconv.HTTPRequestMethodKey.String(c.Method())))
	defer span.End()
	c.SetUserContext(ctx)
	err := c.Next()
	if err != nil {
		// Let the error handler write the answer now, so that the span
		// records its status; requestIDs then finds no error to handle.
		if herr := s.errorHandler(c, err); herr != nil {
			span.SetStatus(codes.Error, "error handler failed")
			return herr
		}
		err = nil
	}
	route := c.Route().Path
	span.SetName(c.Method() + " " + route)
	status := c.Response().StatusCode()
	attrs := []attribute.KeyValue{semconv.HTTPRoute(route), semconv.HTTPResponseStatusCode(status)}
	if p := principal(c); p != nil && p.Tenant != "" {
		attrs = append(attrs, attribute.String("hookgate.tenant", p.Tenant))
	}
	span.SetAttributes(attrs...)
	if status >= 500 {
		span.SetStatus(codes.Error, "")
	}
	return err
}
