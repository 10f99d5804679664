package incoming_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/incoming"
	"github.com/hookgate/hookgate/internal/ownertoken"
	"github.com/hookgate/hookgate/internal/store"
	"github.com/hookgate/hookgate/internal/testenv"
)

// commandCounter is a go-redis hook counting the commands the client sends
// (pipelined ones one by one): the proxy's Redis round trips.
type commandCounter struct {
	mu   sync.Mutex
	sent []string
}

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.add(cmd)
		return next(ctx, cmd)
	}
}

func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			c.add(cmd)
		}
		return next(ctx, cmds)
	}
}

func (c *commandCounter) add(cmd redis.Cmder) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, cmd.Name())
}

func (c *commandCounter) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.sent
	c.sent = nil
	return out
}

// commandStats reads INFO commandstats: how many times Redis ran each
// command since the last CONFIG RESETSTAT, including the commands run
// inside scripts. The statistics' own commands are left out.
func commandStats(t *testing.T, rdb *redis.Client) map[string]int {
	t.Helper()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		name, found := strings.CutPrefix(name, "cmdstat_")
		if !ok || !found || name == "info" || strings.HasPrefix(name, "config") {
			continue
		}
		calls, _, _ := strings.Cut(strings.TrimPrefix(rest, "calls="), ",")
		n, err := strconv.Atoi(calls)
		if err != nil {
			t.Fatalf("commandstats line %q", line)
		}
		out[name] = n
	}
	return out
}

func newProxyOnOwnRedis(t *testing.T) (*incoming.Proxy, *store.Store, *commandCounter, *redis.Client) {
	t.Helper()
	addr := testenv.StartRedis(t)
	counter := &commandCounter{}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	rdb.AddHook(counter)
	t.Cleanup(func() { rdb.Close() })
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	st, err := store.New(rdb, "hgin", key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	scopes, err := incoming.ScopesFromConfig(map[string]config.Scope{
		"crm":   {Prefixes: []string{"/crm/"}, Upstream: "http://127.0.0.1:9"},
		"chats": {Prefixes: []string{"/chats/"}, Upstream: "http://127.0.0.1:9", Methods: []string{"GET"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ownertoken.New(ownertoken.GenerateKey(), ownertoken.Options{Issuer: "https://hooks.example.com", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	// The request log writer is not started: what it queues is written
	// after the answer, in the background, and is not the answer's work.
	lw := incoming.NewLogWriter(st, 10, 64, 0, slog.New(slog.NewTextHandler(io.Discard, nil)))
	p := &incoming.Proxy{
		Lookup: st, Scopes: scopes, Signer: signer, Log: lw, Client: incoming.NewClient(4, time.Second),
		Limits: incoming.Limits{Rate: 1000, Burst: 1000, Timeout: time.Second, MaxRequestBody: 1 << 20,
			MaxResponseBody: 1 << 20, LogBodyBytes: 64},
	}
	stats := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { stats.Close() })
	return p, st, counter, stats
}

func token(t *testing.T) string {
	t.Helper()
	return hookgate.NewToken()
}

// TestEveryDenialRunsTheSameRedisCommands: an unknown token, a disabled
// webhook, and a path outside the scopes (or unclean, or with a method the
// scope does not allow) are refused after the same single round trip to
// Redis, in which Redis runs the same commands: what a refusal costs says
// nothing about the token. With a rate that leases tokens (store's
// lease.go), the first call of each, made with no lease held, is that
// same round trip, and the second, from the lease, sends nothing for any
// of them.
func TestEveryDenialRunsTheSameRedisCommands(t *testing.T) {
	t.Run("rate 10/s, no lease", func(t *testing.T) { everyDenialRunsTheSameRedisCommands(t, 10, false) })
	t.Run("rate 1000/s, leased", func(t *testing.T) { everyDenialRunsTheSameRedisCommands(t, 1000, true) })
}

func everyDenialRunsTheSameRedisCommands(t *testing.T, rate float64, leased bool) {
	p, st, counter, stats := newProxyOnOwnRedis(t)
	p.Limits.Rate = rate
	ctx := context.Background()
	enabled := &hookgate.IncomingWebhook{Tenant: "acme", Name: "on", Owner: "u1", Scopes: []string{"crm", "chats"}, Enabled: true, Token: token(t)}
	disabled := &hookgate.IncomingWebhook{Tenant: "acme", Name: "off", Owner: "u1", Scopes: []string{"crm"}, Enabled: false, Token: token(t)}
	for _, w := range []*hookgate.IncomingWebhook{enabled, disabled} {
		if err := st.CreateIncoming(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	req := func(tok, method, path string) *hookgate.IncomingRequest {
		return &hookgate.IncomingRequest{Method: method, Token: tok, Path: path, Header: http.Header{}, CallerIP: "192.0.2.1",
			Scheme: "http", Host: "hooks.example.com", RequestID: "req_test"}
	}
	// Load the lookup script once, so that every case below finds it.
	if _, err := p.Serve(ctx, req(token(t), "GET", "/crm/v1/x")); err == nil {
		t.Fatal("an unknown token was let through")
	}
	cases := []struct {
		name, reason string
		req          *hookgate.IncomingRequest
	}{
		{"unknown token", incoming.DeniedUnknownToken, req(token(t), "GET", "/crm/v1/entities/leads")},
		{"disabled webhook", incoming.DeniedDisabled, req(disabled.Token, "GET", "/crm/v1/entities/leads")},
		{"path outside the scopes", incoming.DeniedOutOfScope, req(enabled.Token, "GET", "/tasks/v1/tasks/1")},
		{"unclean path", incoming.DeniedBadPath, req(enabled.Token, "GET", "/crm/../tasks/v1")},
		{"method the scope does not allow", incoming.DeniedMethod, req(enabled.Token, "DELETE", "/chats/v1/1")},
	}
	var first map[string]int
	var firstSent []string
	for _, tc := range cases {
		if err := stats.ConfigResetStat(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		counter.take()
		_, err := p.Serve(ctx, tc.req)
		sent := counter.take()
		ran := commandStats(t, stats)
		var d *hookgate.IncomingDeniedError
		if !errors.As(err, &d) || d.Reason != tc.reason {
			t.Fatalf("%s: got %v, want denied (%s)", tc.name, err, tc.reason)
		}
		if len(sent) != 1 {
			t.Errorf("%s: %d commands sent to Redis (%v), want one round trip", tc.name, len(sent), sent)
		}
		t.Logf("%s: sent %v, Redis ran %v", tc.name, sent, ran)
		if first == nil {
			first, firstSent = ran, sent
			continue
		}
		if !maps.Equal(ran, first) || fmt.Sprint(sent) != fmt.Sprint(firstSent) {
			t.Errorf("%s: sent %v and Redis ran %v; the %s sent %v and Redis ran %v", tc.name, sent, ran, cases[0].name, firstSent, first)
		}
		if leased {
			// Again at once: answered from the lease, nothing sent.
			_, err := p.Serve(ctx, tc.req)
			if !errors.As(err, &d) || d.Reason != tc.reason {
				t.Fatalf("%s again: got %v, want denied (%s)", tc.name, err, tc.reason)
			}
			if sent := counter.take(); len(sent) != 0 {
				t.Errorf("%s again: sent %v to Redis, want nothing (a lease)", tc.name, sent)
			}
			// Let the lease expire, so that the next case, which may
			// use the same token, starts without one.
			time.Sleep(store.LeaseLifetime + 50*time.Millisecond)
		}
	}
}
