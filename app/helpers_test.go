package app_test

import (
	"context"
	"encoding/json"
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

// harness is a running hookgate on loopback with its own Redis prefix.
type harness struct {
	t    testing.TB
	app  *app.App
	base string
	cfg  config.Config
	logs *testenv.SyncBuffer
	rdb  *redis.Client
}

func testConfig(t testing.TB) config.Config {
	t.Helper()
	cfg := testenv.Config("hgtest")
	cfg.Delivery.Concurrency = 32
	cfg.Log.Level = "debug"
	return cfg
}

// start runs hookgate with testConfig changed by mutate.
func start(t testing.TB, mutate func(*config.Config)) *harness {
	t.Helper()
	testenv.SkipShort(t, "end-to-end: a whole hookgate on Redis")
	cfg := testConfig(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Server.PublicURL = "http://" + ln.Addr().String()
	if mutate != nil {
		mutate(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &testenv.SyncBuffer{}
	a, err := app.New(cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background(), ln); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, app: a, base: "http://" + a.Addr(), cfg: cfg, logs: logs,
		rdb: redis.NewClient(&redis.Options{Addr: cfg.Redis.Addr})}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// Connections the client dialed but left idle would hold the
		// server's drain until its read timeout.
		http.DefaultClient.CloseIdleConnections()
		if h.app != nil {
			if err := h.app.Shutdown(ctx); err != nil {
				t.Errorf("shutdown: %v", err)
			}
		}
		_ = testenv.DeleteDeployment(context.Background(), h.rdb, cfg.Redis.Prefix, app.QueueName(cfg)) // best effort: a test may have stopped its Redis
		h.rdb.Close()
	})
	return h
}

// restart stops hookgate cleanly and starts a new one on the same Redis
// prefix (the same deployment), on a new port.
func (h *harness) restart() { h.restartWith(nil) }

// restartWith is restart running between (when not nil) while no hookgate runs.
func (h *harness) restartWith(between func()) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := h.app.Shutdown(ctx)
	h.app = nil // a second Shutdown (the cleanup's) would close closed channels
	if err != nil {
		h.t.Fatalf("shutdown: %v", err)
	}
	if between != nil {
		between()
	}
	a, err := app.New(h.cfg, slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		h.t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.t.Fatal(err)
	}
	if err := a.Start(context.Background(), ln); err != nil {
		h.t.Fatal(err)
	}
	h.app, h.base = a, "http://"+a.Addr()
}

func (h *harness) token(tenant string, roles ...string) string {
	h.t.Helper()
	tok, err := auth.Mint(h.cfg.Auth, hookgate.Principal{Subject: "user-" + tenant, Tenant: tenant, Roles: roles}, time.Hour)
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

// response is an answer of the running hookgate, with checks.
type response testenv.Response

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// errorCode returns error.code of an error body.
func (r response) errorCode(t testing.TB) string {
	t.Helper()
	var e struct {
		Error struct {
			Code    string            `json:"code"`
			Message string            `json:"message"`
			Fields  map[string]string `json:"fields"`
		} `json:"error"`
	}
	r.json(t, &e)
	if e.Error.Message == "" {
		t.Fatalf("error body without a message: %s", r.Body)
	}
	return e.Error.Code
}

// do sends a request (testenv.Do) to the running hookgate.
func (h *harness) do(method, path, token string, body any, headers ...string) response {
	h.t.Helper()
	return response(testenv.Do(h.t, method, h.base+path, token, body, headers...))
}

// must fails the test unless the response has the status.
func (r response) must(t testing.TB, status int) response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	return r
}

type createdWebhook struct {
	hookgate.Webhook
	Secret string `json:"secret"`
}

func (h *harness) createWebhook(token string, body map[string]any) createdWebhook {
	h.t.Helper()
	var w createdWebhook
	h.do("POST", "/v1/webhooks", token, body).must(h.t, 201).json(h.t, &w)
	return w
}

func endpoints(urls ...string) []map[string]any {
	out := make([]map[string]any, len(urls))
	for i, u := range urls {
		out[i] = map[string]any{"url": u}
	}
	return out
}
