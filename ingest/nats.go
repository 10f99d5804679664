package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// NATS consumes events from a JetStream subject through a durable consumer
// that every hookgate process shares.
type NATS struct {
	URL         string
	Subject     string
	DeadSubject string
	Stream      string
	Durable     string
	RetryDelay  time.Duration
	// AckWait is how long a message may stay unacknowledged before
	// JetStream delivers it again (a process that died); default 30s.
	AckWait time.Duration
	Handler *Handler
	Logger  *slog.Logger
}

// Run consumes until ctx ends; the NATS client reconnects by itself, and
// Run retries the set-up (stream, consumer) until it succeeds.
func (n *NATS) Run(ctx context.Context) error {
	return runAgain(ctx, n.consume, func(err error, wait time.Duration) {
		n.Logger.Warn("ingest: nats consumer stopped; starting again", "subject", n.Subject, "err", err, "retry_in", wait.String())
	})
}

func (n *NATS) consume(ctx context.Context) error {
	nc, err := nats.Connect(n.URL, nats.Name("hookgate ingest"), nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	stream, err := js.Stream(ctx, n.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		stream, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: n.Stream, Subjects: []string{n.Subject, n.DeadSubject},
			Storage: jetstream.FileStorage})
	}
	if err != nil {
		return fmt.Errorf("stream %s: %w", n.Stream, err)
	}
	ackWait := n.AckWait
	if ackWait <= 0 {
		ackWait = 30 * time.Second
	}
	cons, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: n.Durable, FilterSubject: n.Subject,
		AckPolicy: jetstream.AckExplicitPolicy, AckWait: ackWait, MaxAckPending: 1024})
	if err != nil {
		return fmt.Errorf("consumer %s: %w", n.Durable, err)
	}
	msgs := make(chan jetstream.Msg)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		select {
		case msgs <- m:
		case <-ctx.Done():
			// Not taken: JetStream delivers it again after AckWait.
		}
	}, jetstream.PullMaxMessages(64))
	if err != nil {
		return err
	}
	n.Logger.Info("ingest: consuming", "source", "nats", "subject", n.Subject, "stream", n.Stream, "durable", n.Durable,
		"dead_letter_subject", n.DeadSubject)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case m := <-msgs:
					n.handle(ctx, js, m)
				}
			}
		})
	}
	<-ctx.Done()
	cc.Stop()
	wg.Wait()
	return nil
}

func (n *NATS) handle(ctx context.Context, js jetstream.JetStream, m jetstream.Msg) {
	o, reason := n.Handler.handleTraced(ctx, "nats", "nats", n.Subject, natsHeaders(m.Headers()), m.Data())
	switch o {
	case Accepted, Duplicate:
		_ = m.Ack()
	case Dead:
		n.Logger.Warn("ingest: message to the dead letter", "source", "nats", "subject", n.DeadSubject, "reason", reason)
		dead := &nats.Msg{Subject: n.DeadSubject, Data: m.Data(), Header: nats.Header{}}
		dead.Header.Set("Hookgate-Reason", reason)
		dead.Header.Set("Hookgate-Subject", m.Subject())
		if _, err := js.PublishMsg(ctx, dead); err != nil {
			n.Logger.Warn("ingest: dead letter not stored; the message will come back", "err", err)
			_ = m.NakWithDelay(n.RetryDelay)
			return
		}
		_ = m.Ack()
	case Retry:
		n.Logger.Warn("ingest: message not accepted now; it will come back", "source", "nats", "reason", reason, "retry_in", n.RetryDelay.String())
		_ = m.NakWithDelay(n.RetryDelay)
	}
}

// natsHeaders reads a NATS message's headers for the trace context
// propagator.
type natsHeaders nats.Header

func (h natsHeaders) Get(key string) string {
	if v, _ := headerValue(h, key); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (h natsHeaders) Set(string, string) {}
func (h natsHeaders) Keys() []string     { return headerKeys(h) }
