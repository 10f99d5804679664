package app_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	amqp "github.com/rabbitmq/amqp091-go"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/telemetry/otlptest"
	"github.com/hookgate/hookgate/internal/testenv"
)

// Events consumed from RabbitMQ and NATS JetStream are traced as POST
// /v1/events is: a consumer span "process <queue or subject>", the child
// of the traceparent in the message's headers (AMQP headers, NATS headers,
// in any case), with publish, enqueue, the worker's deliver and the
// endpoint's request following in the same trace, each the child of the
// one before. A message without a traceparent starts a trace of its own.
// The consumer span names the broker, the destination, the tenant, the
// event and the outcome, never the data.
func TestTraceFollowsBrokerEventsToTheEndpoint(t *testing.T) {
	b := startBrokers(t)
	col := otlptest.Start(t)
	h := start(t, func(c *config.Config) {
		b.configure(c)
		c.Telemetry.OTLPEndpoint = col.URL
	})
	rec := receiver.NewRecorder()
	ep := httptest.NewServer(rec)
	defer ep.Close()
	w := h.createWebhook(h.token("acme", "admin"), map[string]any{"name": "Traced", "endpoints": endpoints(ep.URL), "events": []string{"deal.*"}})

	const amqpTrace, amqpCaller = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	const natsTrace, natsCaller = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	ctx := context.Background()
	for _, m := range []amqp.Publishing{
		{Headers: amqp.Table{"traceparent": "00-" + amqpTrace + "-" + amqpCaller + "-01"},
			Body: []byte(`{"tenant":"acme","id":"amqp-traced","type":"deal.won","data":{"secret":"Ada"}}`)},
		{Body: []byte(`{"tenant":"acme","id":"amqp-untraced","type":"deal.won","data":{}}`)},
	} {
		m.DeliveryMode = amqp.Persistent
		if err := b.ch.PublishWithContext(ctx, "", b.name, false, false, m); err != nil {
			t.Fatal(err)
		}
	}
	b.waitStream(t)
	msg := &nats.Msg{Subject: b.name + ".events", Header: nats.Header{},
		Data: []byte(`{"tenant":"acme","id":"nats-traced","type":"deal.lost","data":{"secret":"Ada"}}`)}
	msg.Header["Traceparent"] = []string{"00-" + natsTrace + "-" + natsCaller + "-01"} // another case than the propagator's
	if _, err := b.js.PublishMsg(ctx, msg); err != nil {
		t.Fatal(err)
	}
	if _, err := rec.WaitFor(testenv.Context(t), 3); err != nil {
		t.Fatal(err)
	}

	names := func(dest string) []string {
		return []string{"process " + dest, "publish", "enqueue", "deliver", "POST"}
	}
	spans, err := col.WaitFor(testenv.Context(t), h.app.Tracing.ForceFlush, func(ss []otlptest.Span) bool {
		return hasAll(ss, amqpTrace, names(b.name)) && hasAll(ss, natsTrace, names(b.name+".events")) && hasAll(ss, untracedRoot(ss, b.name), []string{"deliver"})
	})
	if err != nil {
		t.Fatalf("%v; spans received: %+v", err, spans)
	}
	check := func(trace, caller, dest, system, eventID, eventType string) {
		t.Helper()
		by := byName(spans, trace)
		for _, n := range names(dest) {
			if _, ok := by[n]; !ok {
				t.Fatalf("no span %q in trace %s; got %v", n, trace, keys(by))
			}
		}
		process := by["process "+dest]
		parent := map[string]string{"process " + dest: caller, "publish": process.SpanID,
			"enqueue": by["publish"].SpanID, "deliver": by["enqueue"].SpanID, "POST": by["deliver"].SpanID}
		for n, p := range parent {
			if by[n].ParentSpanID != p {
				t.Errorf("trace %s: span %q has parent %q, want %q", trace, n, by[n].ParentSpanID, p)
			}
		}
		if process.Kind != tracepb.Span_SPAN_KIND_CONSUMER {
			t.Errorf("span %q is of kind %v, want consumer", process.Name, process.Kind)
		}
		want := map[string]string{"messaging.system": system, "messaging.destination.name": dest, "messaging.operation.type": "process",
			"hookgate.tenant": "acme", "hookgate.event.id": eventID, "hookgate.event.type": eventType, "hookgate.ingest.outcome": "accepted"}
		for k, v := range want {
			if got := process.Attrs[k]; got != v {
				t.Errorf("span %q: %s = %q, want %q (all: %v)", process.Name, k, got, v, process.Attrs)
			}
		}
		if got := by["deliver"].Attrs["hookgate.webhook.id"]; got != w.ID {
			t.Errorf("trace %s: the deliver span names webhook %q, want %s", trace, got, w.ID)
		}
	}
	check(amqpTrace, amqpCaller, b.name, "rabbitmq", "amqp-traced", "deal.won")
	check(natsTrace, natsCaller, b.name+".events", "nats", "nats-traced", "deal.lost")
	// The message without a traceparent has a trace of its own, rooted at
	// its consumer span, whose deliver span follows.
	// (The wait above found it: untracedRoot is "" until then.)
	for _, s := range spans {
		for k, v := range s.Attrs {
			if strings.Contains(v, "Ada") {
				t.Errorf("span %q attribute %s = %q holds the event's data", s.Name, k, v)
			}
		}
	}
}

func hasAll(ss []otlptest.Span, trace string, names []string) bool {
	by := byName(ss, trace)
	for _, n := range names {
		if _, ok := by[n]; !ok {
			return false
		}
	}
	return true
}

// untracedRoot is the trace id of the consumer span of amqp-untraced, when
// it is a root ("" until it arrives).
func untracedRoot(ss []otlptest.Span, queue string) string {
	for _, s := range ss {
		if s.Name == "process "+queue && s.Attrs["hookgate.event.id"] == "amqp-untraced" && s.ParentSpanID == "" {
			return s.TraceID
		}
	}
	return ""
}
