package app_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate/app"
	"github.com/hookgate/hookgate/internal/testenv"
)

// A hookgate whose Redis user may not subscribe to the webhook-changes
// channel (the documented ACL without its channel pattern) does not start:
// without the subscription a change made by another process would never
// reach its index. Start gives up after its bounded wait (5 s) with Redis's
// reason.
func TestStartFailsWhenTheChangeSubscriptionIsRefused(t *testing.T) {
	testenv.SkipShort(t, "end-to-end: a hookgate start on a Redis of its own")
	r := testenv.StartRedisServer(t, "")
	ctx := context.Background()
	root := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer root.Close()
	cfg := testConfig(t)
	cfg.Server.Role = "api"
	var acl []any
	for _, w := range documentedACL(t, cfg.Redis.Prefix, "sub-test-password") {
		if w != "&"+cfg.Redis.Prefix+":*" {
			acl = append(acl, w)
		}
	}
	if err := root.Do(ctx, acl...).Err(); err != nil {
		t.Fatalf("ACL SETUSER: %v", err)
	}
	cfg.Redis.Addr, cfg.Redis.Username, cfg.Redis.Password = r.Addr, "hookgate-"+cfg.Redis.Prefix, "sub-test-password"

	a, err := app.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Redis.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = a.Start(ctx, ln)
	if err == nil {
		_ = a.Shutdown(ctx)
		t.Fatal("hookgate started without its change subscription")
	}
	if msg := err.Error(); !strings.Contains(msg, "subscribe to webhook changes") || !strings.Contains(msg, "NOPERM") {
		t.Fatalf("start: %v; want the subscription's failure with Redis's NOPERM", err)
	}
}
