package store

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
)

// watchHealthInterval is how long a change subscription may stay silent
// before WatchChanges pings it; a ping unanswered for as long again ends
// the subscription (a connection that died without a reset).
const watchHealthInterval = 10 * time.Second

// WatchChanges subscribes to the channel on which the store announces every
// created, updated and deleted webhook (ChangesChannel). It calls subscribed
// once Redis confirms the subscription, then changed with the namespace of
// every change (a tenant, hookgate.SystemTenant, or "*" for all), in order,
// from this goroutine. It returns nil when ctx ends, or the error that ended
// the subscription (Redis gone, the connection lost or silent): changes
// announced after that are missed, so a caller that caches webhooks drops
// what it holds when it subscribes again.
func (s *Store) WatchChanges(ctx context.Context, subscribed func(), changed func(ns string)) error {
	return watch(ctx, s.rdb, s.ChangesChannel(), "watch webhook changes", subscribed, changed)
}

// watch subscribes to channel and calls subscribed once Redis confirms the
// subscription, then got with every message, in order, from this
// goroutine, until ctx ends (nil) or the subscription ends (its error, as
// what: Redis gone, the connection lost or silent).
func watch(ctx context.Context, rdb Client, channel, what string, subscribed func(), got func(string)) error {
	ps := rdb.Subscribe(ctx, channel)
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() }) // unblocks a pending receive
	defer func() {
		stop()
		_ = ps.Close()
	}()
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, watchHealthInterval)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !pinged {
				if err := ps.Ping(ctx); err != nil {
					return wrap(ctx, err, "%s", what)
				}
				pinged = true
				continue
			}
			return wrap(ctx, err, "%s", what)
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" && subscribed != nil {
				subscribed()
				subscribed = nil
			}
		case *redis.Message:
			got(m.Payload)
		}
	}
}
