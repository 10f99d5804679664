// Package apptest runs the real hookgate (app.New) inside the test's
// process, on a loopback port, against the tests' Redis under a fresh key
// prefix: the harness of the end-to-end tests of app and the console. Only
// tests import it.
package apptest

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/app"
	"github.com/hookgate/hookgate/auth"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/testenv"
)

// Server is a running hookgate.
type Server struct {
	App   *app.App
	Base  string // http://127.0.0.1:port
	Cfg   config.Config
	Logs  *testenv.SyncBuffer // its log, JSON lines
	Redis *redis.Client       // a client of its Redis, for the test's own looks (nil for StartOn)

	rdb   redis.UniversalClient // StartOn's: hookgate runs on it
	tb    testing.TB
	level slog.Level
}

// Start runs hookgate with cfg, whose server.public_url is set to the
// address it will listen on before mutate (when not nil) changes it; it
// logs at level into Logs. The test is skipped under -short. When the test
// ends hookgate is shut down and its Redis keys are deleted.
func Start(tb testing.TB, cfg config.Config, level slog.Level, mutate func(*config.Config)) *Server {
	tb.Helper()
	return StartOn(tb, nil, cfg, level, mutate)
}

// StartOn is Start with rdb as the test's client of hookgate's Redis, for
// its looks and the cleanup, where cfg.Redis is not one server at
// cfg.Redis.Addr (a Redis Cluster: redis.mode cluster); nil is Start.
func StartOn(tb testing.TB, rdb redis.UniversalClient, cfg config.Config, level slog.Level, mutate func(*config.Config)) *Server {
	tb.Helper()
	testenv.SkipShort(tb, "end-to-end: a whole hookgate on Redis")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Server.PublicURL = "http://" + ln.Addr().String()
	if mutate != nil {
		mutate(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		ln.Close()
		tb.Fatal(err)
	}
	s := &Server{Cfg: cfg, Logs: &testenv.SyncBuffer{}, tb: tb, level: level, rdb: rdb}
	cleanupRdb := rdb
	if rdb == nil {
		s.Redis = redis.NewClient(&redis.Options{Addr: cfg.Redis.Addr})
		cleanupRdb = s.Redis
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// Connections the client dialed but left idle would hold the
		// server's drain until its read timeout.
		http.DefaultClient.CloseIdleConnections()
		if s.App != nil {
			if err := s.App.Shutdown(ctx); err != nil {
				tb.Errorf("shutdown: %v", err)
			}
		}
		_ = testenv.DeleteDeployment(context.Background(), cleanupRdb, cfg.Redis.Prefix, app.QueueNames(cfg)...) // best effort: a test may have stopped its Redis
		if s.Redis != nil {
			s.Redis.Close()
		}
	})
	s.run(ln)
	return s
}

func (s *Server) run(ln net.Listener) {
	s.tb.Helper()
	a, err := app.New(s.Cfg, slog.New(slog.NewJSONHandler(s.Logs, &slog.HandlerOptions{Level: s.level})))
	if err != nil {
		ln.Close()
		s.tb.Fatal(err)
	}
	if err := a.Start(context.Background(), ln); err != nil {
		s.tb.Fatal(err)
	}
	s.App, s.Base = a, "http://"+a.Addr()
}

// Restart stops hookgate cleanly, runs between (when not nil) while none
// runs, and starts a new one with Cfg (which between may change: the same
// deployment, unless it changes the Redis prefix) and the same log, on a
// new port.
func (s *Server) Restart(between func()) {
	s.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.App.Shutdown(ctx)
	s.App = nil // a second Shutdown (the cleanup's) would close closed channels
	if err != nil {
		s.tb.Fatalf("shutdown: %v", err)
	}
	if between != nil {
		between()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.tb.Fatal(err)
	}
	s.run(ln)
}

// Token mints an hour's token of the user "user-<tenant>" of tenant with
// roles, signed with the auth settings a.
func Token(tb testing.TB, a config.Auth, tenant string, roles ...string) string {
	tb.Helper()
	tok, err := auth.Mint(a, hookgate.Principal{Subject: "user-" + tenant, Tenant: tenant, Roles: roles}, time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}
