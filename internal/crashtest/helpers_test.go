package crashtest

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/apptest"
	"github.com/hookgate/hookgate/internal/testenv"
)

// binary builds cmd/hookgate once per test run.
func binary(t *testing.T) string {
	t.Helper()
	testenv.SkipShort(t, "crash test: builds and kills hookgate processes")
	return testenv.Build(t, "github.com/hookgate/hookgate/cmd/hookgate")
}

func TestMain(m *testing.M) { testenv.Main(m) }

// hookgateProc is a `hookgate serve` child process.
type hookgateProc struct {
	t    *testing.T
	env  []string
	base string
	cfg  config.Config
	cmd  *exec.Cmd
	logs *testenv.SyncBuffer
}

// startHookgate runs the binary against redisAddr with a fresh prefix and
// short delays; extra are more HOOKGATE_* variables.
func startHookgate(t *testing.T, redisAddr string, extra ...string) *hookgateProc {
	t.Helper()
	return startOn(t, redisAddr, testenv.Prefix("hgcrash"), extra...)
}

// startShared runs another hookgate process of the same deployment as h
// (its Redis and prefix), on a port of its own; extra as for startHookgate.
func startShared(t *testing.T, h *hookgateProc, extra ...string) *hookgateProc {
	t.Helper()
	addr := ""
	for _, kv := range h.env {
		if v, ok := cutPrefix(kv, "HOOKGATE_REDIS_ADDR="); ok {
			addr = v
		}
	}
	return startOn(t, addr, h.prefix(), extra...)
}

func startOn(t *testing.T, redisAddr, prefix string, extra ...string) *hookgateProc {
	t.Helper()
	port := testenv.FreePort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOOKGATE_REDIS_ADDR=" + redisAddr,
		"HOOKGATE_REDIS_PREFIX=" + prefix,
		"HOOKGATE_SERVER_LISTEN=127.0.0.1:" + strconv.Itoa(port),
		"HOOKGATE_SERVER_PUBLIC_URL=" + base,
		"HOOKGATE_SERVER_SHUTDOWN_TIMEOUT=1s",
		"HOOKGATE_AUTH_HS256_SECRET=" + config.DevHS256Secret,
		"HOOKGATE_STORE_ENCRYPTION_KEY=" + config.DevEncryptionKey,
		"HOOKGATE_DELIVERY_ALLOW_HTTP=true",
		"HOOKGATE_DELIVERY_ALLOWED_CIDRS=127.0.0.0/8",
		"HOOKGATE_DELIVERY_RETRY_DELAYS=200ms,200ms,200ms",
		"HOOKGATE_DELIVERY_RETRY_JITTER=0",
		"HOOKGATE_DELIVERY_TIMEOUT=20s",
		"HOOKGATE_LIFECYCLE_SWEEP_INTERVAL=200ms",
		"HOOKGATE_LOG_LEVEL=debug",
	}
	env = append(env, extra...)
	cfg := config.Default()
	cfg.Auth.HS256Secret = config.DevHS256Secret
	h := &hookgateProc{t: t, env: env, base: base, cfg: cfg}
	h.start()
	t.Cleanup(func() {
		h.kill()
		rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
		defer rdb.Close()
		_ = testenv.DeleteDeployment(context.Background(), rdb, prefix, prefix) // best effort: a test may have stopped its Redis
		if t.Failed() {
			t.Logf("hookgate log:\n%s", h.logs.String())
		}
	})
	return h
}

func (h *hookgateProc) prefix() string {
	for _, kv := range h.env {
		if v, ok := cutPrefix(kv, "HOOKGATE_REDIS_PREFIX="); ok {
			return v
		}
	}
	return ""
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return "", false
}

func (h *hookgateProc) start() {
	h.t.Helper()
	if h.logs == nil {
		h.logs = &testenv.SyncBuffer{}
	}
	h.cmd = exec.Command(binary(h.t), "serve", "--config", "")
	h.cmd.Env = h.env
	h.cmd.Stdout, h.cmd.Stderr = h.logs, h.logs
	if err := h.cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	testenv.Eventually(h.t, 20*time.Second, "hookgate to be ready", func() bool {
		resp, err := http.Get(h.base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

// kill sends SIGKILL to hookgate.
func (h *hookgateProc) kill() {
	if h.cmd != nil && h.cmd.Process != nil {
		_ = h.cmd.Process.Kill()
		_ = h.cmd.Wait()
		h.cmd = nil
	}
}

func (h *hookgateProc) token(tenant string, roles ...string) string {
	return apptest.Token(h.t, h.cfg.Auth, tenant, roles...)
}

// call sends a JSON request and decodes a JSON answer into out (may be nil).
func (h *hookgateProc) call(method, path, token string, in, out any, want int) {
	h.t.Helper()
	r := testenv.Do(h.t, method, h.base+path, token, in)
	if r.Status != want {
		h.t.Fatalf("%s %s: %d %s, want %d", method, path, r.Status, r.Body, want)
	}
	if out != nil {
		if err := json.Unmarshal(r.Body, out); err != nil {
			h.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}
