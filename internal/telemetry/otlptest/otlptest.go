// Package otlptest is a loopback OTLP/HTTP trace receiver for tests: a real
// HTTP server that decodes what an OTLP exporter posts to /v1/traces
// (protobuf, optionally gzip) and keeps the spans. Only tests import it.
package otlptest

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Span is one received span, flattened.
type Span struct {
	Name         string
	Kind         tracepb.Span_SpanKind
	TraceID      string // hex
	SpanID       string // hex
	ParentSpanID string // hex, "" for a root
	Attrs        map[string]string
	Resource     map[string]string
	StatusError  bool
}

// Collector is a running receiver.
type Collector struct {
	URL string // http://127.0.0.1:port, the value of telemetry.otlp_endpoint

	mu       sync.Mutex
	spans    []Span
	requests int
	changed  chan struct{}
}

// Start runs a collector until the test ends.
func Start(tb testing.TB) *Collector {
	c := &Collector{changed: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(c.serve))
	tb.Cleanup(srv.Close)
	c.URL = srv.URL
	return c
}

func (c *Collector) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req collectorpb.ExportTraceServiceRequest
	if err := proto.Unmarshal(b, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var got []Span
	for _, rs := range req.ResourceSpans {
		res := attrs(rs.GetResource().GetAttributes())
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				sp := Span{Name: s.Name, Kind: s.Kind, TraceID: hex.EncodeToString(s.TraceId), SpanID: hex.EncodeToString(s.SpanId),
					Attrs: attrs(s.Attributes), Resource: res, StatusError: s.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR}
				if len(s.ParentSpanId) > 0 {
					sp.ParentSpanID = hex.EncodeToString(s.ParentSpanId)
				}
				got = append(got, sp)
			}
		}
	}
	c.mu.Lock()
	c.spans = append(c.spans, got...)
	c.requests++
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	out, _ := proto.Marshal(&collectorpb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func attrs(kvs []*commonpb.KeyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		v := kv.GetValue()
		switch x := v.GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			m[kv.Key] = x.StringValue
		case *commonpb.AnyValue_IntValue:
			m[kv.Key] = strconv.FormatInt(x.IntValue, 10)
		case *commonpb.AnyValue_BoolValue:
			if x.BoolValue {
				m[kv.Key] = "true"
			} else {
				m[kv.Key] = "false"
			}
		default:
			m[kv.Key] = v.String()
		}
	}
	return m
}

// Spans returns the spans received so far.
func (c *Collector) Spans() []Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Span(nil), c.spans...)
}

// Requests is how many export requests arrived.
func (c *Collector) Requests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests
}

// WaitFor waits until done(spans) holds for the spans received, calling
// flush (the exporter's ForceFlush) before each look, or until ctx ends.
func (c *Collector) WaitFor(ctx context.Context, flush func(context.Context) error, done func([]Span) bool) ([]Span, error) {
	for {
		c.mu.Lock()
		ch := c.changed
		c.mu.Unlock()
		if err := flush(ctx); err != nil {
			return c.Spans(), err
		}
		if s := c.Spans(); done(s) {
			return s, nil
		}
		// Spans still open are exported by a later flush: look again
		// soon even when nothing arrives.
		select {
		case <-ch:
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return c.Spans(), ctx.Err()
		}
	}
}
