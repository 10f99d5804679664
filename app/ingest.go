package app

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/ingest"
)

// newIngest returns the broker sources the configuration turns on
// (docs/ingest.md), each a loop that runs until its context ends.
// Each message is traced with tracer (nil: off).
func newIngest(cfg config.Config, pub hookgate.EventPublisher, reg prometheus.Registerer, logger *slog.Logger, tracer trace.Tracer) []func(context.Context) error {
	in := cfg.Ingest
	if in.AMQP.URL == "" && in.NATS.URL == "" {
		return nil
	}
	h := &ingest.Handler{Publisher: pub, MaxBytes: cfg.Events.MaxPayload + 4<<10, Metrics: ingest.NewMetrics(reg), Tracer: tracer}
	if len(in.Tenants) > 0 {
		h.Tenants = map[string]bool{}
		for _, t := range in.Tenants {
			h.Tenants[t] = true
		}
	}
	var runs []func(context.Context) error
	if in.AMQP.URL != "" {
		runs = append(runs, (&ingest.AMQP{URL: in.AMQP.URL, Queue: in.AMQP.Queue, DeadQueue: in.AMQP.DeadLetterQueue,
			Prefetch: in.AMQP.Prefetch, RetryDelay: in.RetryDelay.D(), Handler: h, Logger: logger}).Run)
	}
	if in.NATS.URL != "" {
		runs = append(runs, (&ingest.NATS{URL: in.NATS.URL, Subject: in.NATS.Subject, DeadSubject: in.NATS.DeadLetterSubject,
			Stream: in.NATS.Stream, Durable: in.NATS.Durable, RetryDelay: in.RetryDelay.D(), Handler: h, Logger: logger}).Run)
	}
	return runs
}
