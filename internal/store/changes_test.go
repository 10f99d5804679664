package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/store"
	"github.com/hookgate/hookgate/internal/testenv"
)

// watcher runs s.WatchChanges until the test ends or stop is called, and
// waits (at most 5 s) until it is subscribed.
type watcher struct {
	changed chan string
	ended   chan error
	stop    context.CancelFunc
}

func watch(t *testing.T, s *store.Store) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{changed: make(chan string, 16), ended: make(chan error, 1), stop: cancel}
	up := make(chan struct{})
	go func() {
		w.ended <- s.WatchChanges(ctx, func() { close(up) }, func(ns string) { w.changed <- ns })
	}()
	t.Cleanup(cancel)
	select {
	case <-up:
	case err := <-w.ended:
		t.Fatalf("WatchChanges ended before it subscribed: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("WatchChanges did not subscribe within 5s")
	}
	return w
}

func (w *watcher) next(t *testing.T) string {
	t.Helper()
	select {
	case ns := <-w.changed:
		return ns
	case err := <-w.ended:
		t.Fatalf("WatchChanges ended: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("no change announced within 5s")
	}
	return ""
}

// WatchChanges hears the namespace of every created, updated and deleted
// webhook of its store, in order, and nothing of another prefix's; it
// returns nil when its context ends.
func TestWatchChangesHearsEveryChangeOfItsPrefix(t *testing.T) {
	s, rdb, _ := newStore(t)
	other, err := store.New(rdb, testenv.KeyPrefix(t, rdb, "hgstore-other"), testKey())
	if err != nil {
		t.Fatal(err)
	}
	w := watch(t, s)
	ctx := context.Background()
	if err := other.CreateWebhook(ctx, hook("globex", "elsewhere")); err != nil {
		t.Fatal(err)
	}
	wh := hook("acme", "x")
	if err := s.CreateWebhook(ctx, wh); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateWebhook(ctx, "acme", wh.ID, func(w *hookgate.Webhook) error { w.Name = "y"; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteWebhook(ctx, "acme", wh.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateWebhook(ctx, hook(hookgate.SystemTenant, "sys")); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"acme", "acme", "acme", hookgate.SystemTenant} {
		if got := w.next(t); got != want {
			t.Fatalf("change %d: %q, want %q (another prefix's change heard?)", i, got, want)
		}
	}
	w.stop()
	if err := <-w.ended; err != nil {
		t.Fatalf("WatchChanges after its context ended: %v, want nil", err)
	}
}

// When Redis goes away WatchChanges returns the error (changes are missed
// from then on, which the caller must know); once Redis is back, a new call
// subscribes again on the same client and hears changes.
func TestWatchChangesEndsWhenRedisGoesAndSubscribesAgain(t *testing.T) {
	r := testenv.StartRedisServer(t, "")
	c := store.NewClient(config.Redis{Addr: r.Addr, PoolSize: 4})
	defer c.Close()
	s, err := store.New(c, "hgwatch", testKey())
	if err != nil {
		t.Fatal(err)
	}
	w := watch(t, s)
	r.Kill()
	select {
	case err := <-w.ended:
		if err == nil {
			t.Fatal("WatchChanges returned nil with Redis gone, want the error")
		}
		if hookgate.ErrorCode(err) != hookgate.EUNAVAILABLE {
			t.Errorf("error %v, want %s", err, hookgate.EUNAVAILABLE)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("WatchChanges still running 30s after Redis was killed")
	}
	r.Start()
	w = watch(t, s)
	if err := s.CreateWebhook(context.Background(), hook("acme", "back")); err != nil {
		t.Fatal(err)
	}
	if got := w.next(t); got != "acme" {
		t.Fatalf("change after subscribing again: %q, want acme", got)
	}
}

// IsClosed recognises the error of a client closed twice, and nothing else.
func TestIsClosed(t *testing.T) {
	c := store.NewClient(config.Redis{Addr: testenv.RedisAddr()})
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	err := c.Close()
	if !store.IsClosed(err) {
		t.Fatalf("second Close: %v, IsClosed false", err)
	}
	if store.IsClosed(redis.Nil) || store.IsClosed(nil) {
		t.Fatal("IsClosed true for redis.Nil or nil")
	}
}
