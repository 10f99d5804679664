package app_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/telemetry/otlptest"
	"github.com/hookgate/hookgate/internal/testenv"
)

// The trace of one event published through the real API and delivered to
// a loopback receiver reaches a loopback OTLP collector: one trace, the
// caller's (its traceparent is honoured), from the API's server span
// through publish, enqueue, the worker's deliver span and the render to
// the client span of the request to the endpoint, each the child of the
// one before, with tenant, webhook, endpoint, delivery, attempt and event
// type; no attribute holds the secret or the data. The endpoint gets no
// traceparent (telemetry.propagate_to_endpoints is off).
func TestTraceFollowsAnEventFromTheAPIToTheEndpoint(t *testing.T) {
	col := otlptest.Start(t)
	h := start(t, func(c *config.Config) {
		c.Telemetry.OTLPEndpoint = col.URL
		c.Telemetry.ServiceName = "hookgate-test"
	})
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	rec := receiver.NewRecorder()
	ep := httptest.NewServer(rec)
	defer ep.Close()
	w := h.createWebhook(admin, map[string]any{"name": "Traced", "endpoints": endpoints(ep.URL + "/hook?token=s3cr3t"), "events": []string{"contact.*"}})

	const traceID, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	var res struct {
		ID string `json:"id"`
	}
	h.do("POST", "/v1/events", pub, map[string]any{"type": "contact.created", "data": map[string]any{"first_name": "Ada"}},
		"traceparent", "00-"+traceID+"-"+callerSpan+"-01").must(t, 202).json(t, &res)
	got, err := rec.WaitFor(testenv.Context(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	d := got[0]
	if tp := d.Header.Get("Traceparent"); tp != "" {
		t.Fatalf("the endpoint got traceparent %q with propagate_to_endpoints off", tp)
	}

	names := []string{"POST /v1/events", "publish", "enqueue", "deliver", "render", "POST"}
	spans, err := col.WaitFor(testenv.Context(t), h.app.Tracing.ForceFlush, func(ss []otlptest.Span) bool {
		return len(byName(ss, traceID)) >= len(names)
	})
	if err != nil {
		t.Fatalf("%v; spans received: %+v", err, spans)
	}
	by := byName(spans, traceID)
	for _, n := range names {
		if _, ok := by[n]; !ok {
			t.Fatalf("no span %q in trace %s; got %v", n, traceID, keys(by))
		}
	}
	// Each span is the child of the one before it; the render and the
	// request are both children of the delivery.
	parent := map[string]string{"POST /v1/events": callerSpan, "publish": by["POST /v1/events"].SpanID,
		"enqueue": by["publish"].SpanID, "deliver": by["enqueue"].SpanID, "render": by["deliver"].SpanID, "POST": by["deliver"].SpanID}
	for n, p := range parent {
		if by[n].ParentSpanID != p {
			t.Errorf("span %q has parent %q, want %q", n, by[n].ParentSpanID, p)
		}
	}
	kinds := map[string]tracepb.Span_SpanKind{"POST /v1/events": tracepb.Span_SPAN_KIND_SERVER, "enqueue": tracepb.Span_SPAN_KIND_PRODUCER,
		"deliver": tracepb.Span_SPAN_KIND_CONSUMER, "POST": tracepb.Span_SPAN_KIND_CLIENT}
	for n, k := range kinds {
		if by[n].Kind != k {
			t.Errorf("span %q is of kind %v, want %v", n, by[n].Kind, k)
		}
	}
	want := map[string]map[string]string{
		"POST /v1/events": {"http.route": "/v1/events", "http.response.status_code": "202", "hookgate.tenant": "acme"},
		"publish":         {"hookgate.tenant": "acme", "hookgate.event.id": res.ID, "hookgate.event.type": "contact.created", "hookgate.deliveries": "1"},
		"enqueue":         {"hookgate.delivery.id": d.ID, "hookgate.webhook.id": w.ID},
		"deliver": {"hookgate.tenant": "acme", "hookgate.webhook.id": w.ID, "hookgate.endpoint.id": w.Endpoints[0].ID,
			"hookgate.delivery.id": d.ID, "hookgate.attempt": "1", "hookgate.event.type": "contact.created", "hookgate.event.id": res.ID},
		"render": {"hookgate.format": "standard"},
		"POST": {"http.request.method": "POST", "http.response.status_code": "200", "server.address": "127.0.0.1",
			"hookgate.delivery.id": d.ID, "hookgate.endpoint.id": w.Endpoints[0].ID},
	}
	for n, attrs := range want {
		for k, v := range attrs {
			if got := by[n].Attrs[k]; got != v {
				t.Errorf("span %q: %s = %q, want %q (all: %v)", n, k, got, v, by[n].Attrs)
			}
		}
	}
	for _, s := range spans {
		if s.Resource["service.name"] != "hookgate-test" || s.Resource["hookgate.role"] != "all" {
			t.Errorf("span %q resource %v", s.Name, s.Resource)
		}
		for k, v := range s.Attrs {
			for _, secret := range []string{w.Secret, "s3cr3t", "Ada", "/hook"} {
				if strings.Contains(v, secret) {
					t.Errorf("span %q attribute %s = %q holds %q", s.Name, k, v, secret)
				}
			}
		}
	}
}

// With propagate_to_endpoints, the endpoint's request carries the trace:
// the caller's trace id, and the request span as parent.
func TestTraceparentReachesEndpointsOnlyWhenAsked(t *testing.T) {
	col := otlptest.Start(t)
	h := start(t, func(c *config.Config) {
		c.Telemetry.OTLPEndpoint = col.URL
		c.Telemetry.PropagateToEndpoints = true
	})
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	rec := receiver.NewRecorder()
	ep := httptest.NewServer(rec)
	defer ep.Close()
	h.createWebhook(admin, map[string]any{"name": "Traced", "endpoints": endpoints(ep.URL), "events": []string{"contact.*"}})
	const traceID = "0af7651916cd43dd8448eb211c80319c"
	h.do("POST", "/v1/events", pub, map[string]any{"type": "contact.created", "data": map[string]any{}},
		"traceparent", "00-"+traceID+"-b7ad6b7169203331-01").must(t, 202)
	got, err := rec.WaitFor(testenv.Context(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	tp := got[0].Header.Get("Traceparent")
	spans, err := col.WaitFor(testenv.Context(t), h.app.Tracing.ForceFlush, func(ss []otlptest.Span) bool {
		_, ok := byName(ss, traceID)["POST"]
		return ok
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "00-" + traceID + "-" + byName(spans, traceID)["POST"].SpanID + "-01"; tp != want {
		t.Fatalf("endpoint got traceparent %q, want %q", tp, want)
	}
}

// Tracing off (the default): no tracer provider, no span exported even
// with the standard OTEL_EXPORTER_OTLP_ENDPOINT pointing at a collector,
// and no traceparent to the endpoint although the publisher sent one.
func TestTracingOffExportsNothingAndPropagatesNothing(t *testing.T) {
	col := otlptest.Start(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", col.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", col.URL+"/v1/traces")
	h := start(t, nil)
	if h.app.Tracing != nil {
		t.Fatal("tracing is on without telemetry.otlp_endpoint")
	}
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	rec := receiver.NewRecorder()
	ep := httptest.NewServer(rec)
	defer ep.Close()
	h.createWebhook(admin, map[string]any{"name": "Untraced", "endpoints": endpoints(ep.URL), "events": []string{"contact.*"}})
	h.do("POST", "/v1/events", pub, map[string]any{"type": "contact.created", "data": map[string]any{}},
		"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01").must(t, 202)
	got, err := rec.WaitFor(testenv.Context(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if tp := got[0].Header.Get("Traceparent"); tp != "" {
		t.Fatalf("endpoint got traceparent %q with tracing off", tp)
	}
	// Stop hookgate (a provider would flush at shutdown), then look.
	h.srv.Restart(nil)
	if n := col.Requests(); n != 0 {
		t.Fatalf("the collector got %d export requests with tracing off", n)
	}
}

// byName indexes the spans of one trace by name (the first of each).
func byName(ss []otlptest.Span, traceID string) map[string]otlptest.Span {
	m := map[string]otlptest.Span{}
	for _, s := range ss {
		if _, seen := m[s.Name]; !seen && s.TraceID == traceID {
			m[s.Name] = s
		}
	}
	return m
}

func keys(m map[string]otlptest.Span) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
