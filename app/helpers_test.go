package app_test

import (
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/app"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/apptest"
	"github.com/hookgate/hookgate/internal/store"
	"github.com/hookgate/hookgate/internal/testenv"
)

// harness is a running hookgate on loopback with its own Redis prefix, with
// the requests and checks of the tests.
type harness struct {
	t    testing.TB
	srv  *apptest.Server
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

// start runs hookgate with testConfig changed by mutate (apptest.Start,
// logging at debug level).
func start(t testing.TB, mutate func(*config.Config)) *harness {
	t.Helper()
	return harnessOf(t, apptest.Start(t, testConfig(t), slog.LevelDebug, mutate))
}

// harnessOf is the harness of a hookgate the test started.
func harnessOf(t testing.TB, srv *apptest.Server) *harness {
	return &harness{t: t, srv: srv, app: srv.App, base: srv.Base, cfg: srv.Cfg, logs: srv.Logs, rdb: srv.Redis}
}

// startOnConfig runs hookgate with cfg on a client built from cfg.Redis
// (store.NewClient: a TLS, Sentinel or Cluster Redis as cfg says), logging
// at info level.
func startOnConfig(t testing.TB, cfg config.Config) *harness {
	t.Helper()
	rdb := store.NewClient(cfg.Redis)
	t.Cleanup(func() { _ = rdb.Close() })
	return harnessOf(t, apptest.StartOn(t, rdb, cfg, slog.LevelInfo, nil))
}

// restart stops hookgate cleanly and starts a new one on the same Redis
// prefix (the same deployment), on a new port.
func (h *harness) restart() { h.restartWith(nil) }

// restartWith is restart running between (when not nil) while no hookgate runs.
func (h *harness) restartWith(between func()) {
	h.t.Helper()
	h.srv.Restart(func() {
		if between != nil {
			between()
		}
		h.srv.Cfg = h.cfg // between may change the next start's configuration
	})
	h.app, h.base = h.srv.App, h.srv.Base
}

func (h *harness) token(tenant string, roles ...string) string {
	h.t.Helper()
	return apptest.Token(h.t, h.cfg.Auth, tenant, roles...)
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
