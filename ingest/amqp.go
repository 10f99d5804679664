package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// AMQP consumes events from a RabbitMQ queue. Run reconnects by itself
// until its context ends.
type AMQP struct {
	URL        string
	Queue      string
	DeadQueue  string
	Prefetch   int
	RetryDelay time.Duration
	Handler    *Handler
	Logger     *slog.Logger
}

// Run consumes until ctx ends. Unacknowledged messages (in flight when it
// stops or the process dies) are delivered again by the broker.
func (a *AMQP) Run(ctx context.Context) error {
	return runAgain(ctx, a.consume, func(err error, wait time.Duration) {
		a.Logger.Warn("ingest: amqp connection lost; reconnecting", "queue", a.Queue, "err", err, "retry_in", wait.String())
	})
}

func (a *AMQP) consume(ctx context.Context) error {
	conn, err := amqp.DialConfig(a.URL, amqp.Config{Properties: amqp.Table{"connection_name": "hookgate ingest"}})
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	if err := ch.Qos(a.Prefetch, 0, false); err != nil {
		return err
	}
	for _, q := range []string{a.Queue, a.DeadQueue} {
		if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
			return fmt.Errorf("declare queue %s: %w", q, err)
		}
	}
	// Dead letters go through a channel of their own in confirm mode: a
	// message is acknowledged only once the broker has its dead letter.
	dl, err := conn.Channel()
	if err != nil {
		return err
	}
	if err := dl.Confirm(false); err != nil {
		return err
	}
	var dlMu sync.Mutex
	deliveries, err := ch.ConsumeWithContext(ctx, a.Queue, "", false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume %s: %w", a.Queue, err)
	}
	a.Logger.Info("ingest: consuming", "source", "amqp", "queue", a.Queue, "dead_letter_queue", a.DeadQueue)
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	workers := min(a.Prefetch, 16)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for d := range deliveries {
				a.handle(ctx, d, dl, &dlMu)
			}
		})
	}
	select {
	case <-ctx.Done():
	case err = <-closed:
	}
	wg.Wait() // deliveries closes with the context or the connection
	if err == nil {
		err = errors.New("closed")
	}
	return err
}

func (a *AMQP) handle(ctx context.Context, d amqp.Delivery, dl *amqp.Channel, dlMu *sync.Mutex) {
	o, reason := a.Handler.handleTraced(ctx, "amqp", "rabbitmq", a.Queue, amqpHeaders(d.Headers), d.Body)
	switch o {
	case Accepted, Duplicate:
		_ = d.Ack(false)
	case Dead:
		a.Logger.Warn("ingest: message to the dead letter", "source", "amqp", "queue", a.DeadQueue, "reason", reason)
		dlMu.Lock()
		conf, err := dl.PublishWithDeferredConfirmWithContext(ctx, "", a.DeadQueue, false, false, amqp.Publishing{
			Headers: amqp.Table{"x-hookgate-reason": reason, "x-hookgate-queue": a.Queue}, ContentType: d.ContentType,
			DeliveryMode: amqp.Persistent, Body: d.Body, MessageId: d.MessageId, Timestamp: time.Now()})
		dlMu.Unlock()
		if err == nil {
			var ok bool
			ok, err = conf.WaitContext(ctx)
			if err == nil && !ok {
				err = errors.New("the broker refused the dead letter")
			}
		}
		if err != nil {
			a.Logger.Warn("ingest: dead letter not stored; the message stays queued", "err", err)
			sleep(ctx, a.RetryDelay)
			_ = d.Nack(false, true)
			return
		}
		_ = d.Ack(false)
	case Retry:
		a.Logger.Warn("ingest: message not accepted now; it will come back", "source", "amqp", "reason", reason, "retry_in", a.RetryDelay.String())
		sleep(ctx, a.RetryDelay)
		_ = d.Nack(false, true)
	}
}

// amqpHeaders reads an AMQP message's headers for the trace context
// propagator: a string or byte-string value.
type amqpHeaders amqp.Table

func (h amqpHeaders) Get(key string) string {
	v, _ := headerValue(h, key)
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	}
	return ""
}

func (h amqpHeaders) Set(string, string) {}
func (h amqpHeaders) Keys() []string     { return headerKeys(h) }
