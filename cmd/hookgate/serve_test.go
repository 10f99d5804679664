package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate/auth"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/store"
	"github.com/hookgate/hookgate/internal/testenv"
)

// TestServeStopsGracefullyOnSIGTERM runs `hookgate serve` in-process against
// real Redis with the development secret, waits until it answers, sends the
// process SIGTERM, and expects serve to drain and return without error, with
// the port closed. The login link it printed must sign in as admin of tenant
// acme, the tenant of every walk-through in the docs.
func TestServeStopsGracefullyOnSIGTERM(t *testing.T) {
	path, addr, redisAddr, prefix := serveConfig(t, "")
	var stderr testenv.SyncBuffer
	done := make(chan error, 1)
	go func() { done <- run([]string{"serve", "--config", path}, io.Discard, &stderr) }()
	waitReady(t, addr, done)
	// serve registered its signal handler before it started listening, so
	// this SIGTERM goes to serve, not to the default handler.
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v on SIGTERM", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("the port still accepts connections after shutdown")
	}

	printed := stderr.String()
	_, after, ok := strings.Cut(printed, "http://"+addr+"/console/#login=")
	if !ok {
		t.Fatalf("serve printed no login link:\n%s", printed)
	}
	code, _, _ := strings.Cut(after, "\n")
	if !strings.Contains(printed, `as admin of tenant "acme"`) || !strings.Contains(printed, "hookgate token --console --tenant acme") {
		t.Fatalf("the login link is not announced for tenant acme:\n%s", printed)
	}
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	tok, err := store.NewLoginCodes(rdb, prefix).Take(context.Background(), strings.TrimSpace(code))
	if err != nil {
		t.Fatalf("redeem the printed login code: %v", err)
	}
	cfgLoaded, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(cfgLoaded.Auth)
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.Tenant != "acme" || !p.Has("admin") {
		t.Fatalf("the printed link signs in as %+v, want admin of tenant acme", p)
	}
}

// serveConfig writes a config file for an in-process `hookgate serve` on a
// free port of 127.0.0.1 (listen as given by listenHost, "" for 127.0.0.1),
// on real Redis under a prefix of its own that is removed after the test.
func serveConfig(t *testing.T, listenHost string, extraYAML ...string) (path, addr, redisAddr, prefix string) {
	t.Helper()
	testenv.SkipShort(t, "end-to-end: serves a whole hookgate on Redis")
	redisAddr = testenv.RedisAddr()
	addr = testenv.FreeAddr(t)
	listen := addr
	if listenHost != "" {
		_, port, _ := net.SplitHostPort(addr)
		listen = listenHost + ":" + port
	}
	prefix = testenv.Prefix("hgserve")
	path = filepath.Join(t.TempDir(), "config.yaml")
	cfg := fmt.Sprintf("server: {listen: %q, public_url: %q, shutdown_timeout: 5s}\nredis: {addr: %q, prefix: %s}\nauth: {hs256_secret: %q}\nstore: {encryption_key: %q}\nlog: {level: error}\n",
		listen, "http://"+addr, redisAddr, prefix, config.DevHS256Secret, config.DevEncryptionKey)
	cfg += strings.ReplaceAll(strings.Join(extraYAML, "\n"), "{addr}", addr)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
		defer rdb.Close()
		_ = testenv.DeleteDeployment(context.Background(), rdb, prefix, prefix) // best effort: a test may have stopped its Redis
	})
	return path, addr, redisAddr, prefix
}

// waitReady waits until the serve started in the background answers
// /readyz on addr, failing the test if it ends first.
func waitReady(t *testing.T, addr string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended before it was ready: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("serve did not become ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startServe runs `hookgate args...` in process until it answers /readyz on
// addr, and returns the function that stops it with SIGTERM and waits.
func startServe(t *testing.T, addr string, stderr io.Writer, args ...string) (stop func()) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- run(args, io.Discard, stderr) }()
	waitReady(t, addr, done)
	return func() {
		_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop")
		}
	}
}

func TestServeStopsOnABadConfigNamingTheField(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	body := fmt.Sprintf("server: {role: both}\nauth: {hs256_secret: %q}\nstore: {encryption_key: %q}\n", config.DevHS256Secret, config.DevEncryptionKey)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run([]string{"serve", "--config", path}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "server.role") {
		t.Fatalf("serve with server.role: both: %v", err)
	}
	t.Setenv("HOOKGATE_SERVER_ROLE", "all")
	t.Setenv("HOOKGATE_DELIVERY_RETRY_JITTER", "2")
	err = run([]string{"serve", "--config", path}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "delivery.retry_jitter") {
		t.Fatalf("serve with HOOKGATE_DELIVERY_RETRY_JITTER=2: %v", err)
	}
}
