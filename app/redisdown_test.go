package app_test

import (
	"context"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
)

// ownRedis is a redis-server this test starts (and may stop) on a free
// loopback port, so that the shared Redis is never touched.
type ownRedis struct {
	t         *testing.T
	path, dir string
	port      int
	addr      string
	fsync     string // "": appendonly no; else appendonly yes with this appendfsync, kept in dir across restarts
	cmd       *exec.Cmd
}

func startOwnRedis(t *testing.T) *ownRedis { return startOwnRedisAOF(t, "") }

// startOwnRedisAOF starts a redis-server with appendonly yes and appendfsync
// fsync ("everysec", the default, or "always"): a restart on the same dir
// reloads what it wrote. fsync "" is appendonly no.
func startOwnRedisAOF(t *testing.T, fsync string) *ownRedis {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	r := &ownRedis{t: t, path: path, port: port, dir: t.TempDir(), addr: "127.0.0.1:" + strconv.Itoa(port), fsync: fsync}
	r.start()
	t.Cleanup(r.stop)
	return r
}

// start runs the server (again, on the same port) and waits until it answers.
func (r *ownRedis) start() {
	r.t.Helper()
	args := []string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--dir", r.dir, "--appendonly", "no"}
	if r.fsync != "" {
		args = append(args[:len(args)-1], "yes", "--appendfsync", r.fsync)
	}
	r.cmd = exec.Command(r.path, args...)
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: r.addr})
	defer rdb.Close()
	eventually(r.t, 10*time.Second, "redis-server to answer", func() bool {
		return rdb.Ping(context.Background()).Err() == nil
	})
}

// shutdown stops the server cleanly (SHUTDOWN: it writes and syncs what it
// holds, then exits) and waits for it.
func (r *ownRedis) shutdown() {
	r.t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: r.addr})
	defer rdb.Close()
	_ = rdb.Shutdown(context.Background()).Err() // the connection closes: no answer
	_ = r.cmd.Wait()
}

// stop kills the server (SIGKILL, only the one this test started) and waits for it.
func (r *ownRedis) stop() {
	if r.cmd.ProcessState != nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
}

func TestRedisDownMeansNotReadyAndUnavailable(t *testing.T) {
	rs := startOwnRedis(t)
	h := start(t, func(c *config.Config) { c.Redis.Addr = rs.addr })
	admin := h.token("acme", "admin")
	pub := h.token("acme", "publisher")
	w := h.createWebhook(admin, hook("before"))
	h.do("GET", "/readyz", "", nil).must(t, 200)

	rs.stop()

	h.do("GET", "/readyz", "", nil).apiErr(t, 503, hookgate.EUNAVAILABLE)
	h.do("GET", "/healthz", "", nil).must(t, 200) // the process itself is fine
	for _, tc := range []struct {
		method, path, token string
		body                any
	}{
		{"POST", "/v1/webhooks", admin, hook("during")},
		{"GET", "/v1/webhooks", admin, nil},
		{"GET", "/v1/webhooks/" + w.ID, admin, nil},
		{"PATCH", "/v1/webhooks/" + w.ID, admin, map[string]any{"name": "x"}},
		{"DELETE", "/v1/webhooks/" + w.ID, admin, nil},
		{"POST", "/v1/events", pub, map[string]any{"type": "contact.created", "data": map[string]any{"id": 1}}},
		{"POST", "/v1/events", pub, map[string]any{"type": "contact.created", "data": map[string]any{"id": 2}}},
		{"POST", "/v1/events/batch", pub, map[string]any{"events": []map[string]any{{"type": "contact.created", "data": map[string]any{}}}}},
	} {
		r := h.do(tc.method, tc.path, tc.token, tc.body)
		r.apiErr(t, 503, hookgate.EUNAVAILABLE)
	}
	// Authentication does not need Redis: a bad token is still a 401.
	h.do("GET", "/v1/webhooks", "bad.token.here", nil).apiErr(t, 401, hookgate.EUNAUTHORIZED)

	// Redis back (empty: it kept nothing on disk): ready again, and the API
	// works without a restart of hookgate.
	rs.start()
	eventually(t, 10*time.Second, "/readyz to answer 200", func() bool {
		return h.do("GET", "/readyz", "", nil).Status == 200
	})
	h.createWebhook(admin, hook("after"))
	if got := names(h.list(admin, "").Data); !slices.Equal(got, []string{"after"}) {
		t.Fatalf("after Redis came back: %v", got)
	}
}
