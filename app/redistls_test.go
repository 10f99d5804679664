package app_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/app"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/testenv"
)

// tlsRedis points c at srv with the CA and client certificate of files.
func tlsRedis(c *config.Redis, srv *testenv.RedisServer, files *testenv.RedisTLS) {
	c.Addr, c.TLS, c.TLSCAFile = srv.Addr, true, files.CAFile
	c.TLSCertFile, c.TLSKeyFile = files.ClientCertFile, files.ClientKeyFile
}

// hookgate runs on a Redis that speaks TLS alone and asks for a client
// certificate (managed Redis): the store, the asynq queue and the change
// subscription all connect with redis.tls*, an event is delivered and
// /readyz answers 200.
func TestHookgateOnATLSRedis(t *testing.T) {
	files := testenv.NewRedisTLS(t)
	srv := testenv.StartRedisTLS(t, files, true)
	cfg := testConfig(t)
	tlsRedis(&cfg.Redis, srv, files)
	// Dialed by address, checked by name (both are in the certificate).
	cfg.Redis.TLSServerName = "localhost"
	h := startOnConfig(t, cfg)

	rec := receiver.NewRecorder()
	rs := httptest.NewServer(rec)
	defer rs.Close()
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	h.createWebhook(admin, map[string]any{"name": "tls", "endpoints": endpoints(rs.URL + "/hook"), "events": []string{"deal.*"}})
	if a := h.publish(pub, "deal.won", map[string]any{"n": 1}); a.Deliveries != 1 {
		t.Fatalf("publish: %+v, want 1 delivery", a)
	}
	if _, err := rec.WaitFor(testenv.Context(t), 1); err != nil {
		t.Fatalf("delivery over a TLS Redis: %v", err)
	}
	h.do("GET", "/readyz", "", nil).must(t, 200)
	// Everything went through the TLS port (the plain one is off): the
	// server counts the queue's keys under the deployment's prefix.
	direct := srv.Client()
	defer direct.Close()
	if n := len(direct.Keys(context.Background(), "asynq:{"+cfg.Redis.Prefix+"}:*").Val()); n == 0 {
		t.Fatal("no asynq key on the TLS Redis")
	}
	if strings.Contains(h.logs.String(), `"level":"ERROR"`) {
		t.Errorf("hookgate logged errors:\n%s", h.logs)
	}
}

// A TLS setting that does not fit the server stops hookgate's start at
// once with an error naming the Redis and the reason, rather than hanging
// or starting without Redis.
func TestHookgateRefusesAMisfitTLSRedisAtStart(t *testing.T) {
	files := testenv.NewRedisTLS(t)
	mutual := testenv.StartRedisTLS(t, files, true)
	plain := testenv.StartRedisServer(t, "")
	for _, c := range []struct {
		name   string
		mutate func(*config.Redis)
		want   string
	}{
		{"a CA that did not sign the server's certificate", func(r *config.Redis) {
			tlsRedis(r, mutual, files)
			r.TLSCAFile = files.OtherCAFile
		}, "certificate signed by unknown authority"},
		{"a server name the certificate does not carry", func(r *config.Redis) {
			tlsRedis(r, mutual, files)
			r.TLSServerName = "redis.example.com"
		}, "not redis.example.com"},
		{"no client certificate where the server asks for one", func(r *config.Redis) {
			tlsRedis(r, mutual, files)
			r.TLSCertFile, r.TLSKeyFile = "", ""
		}, "certificate required"},
		{"TLS off on a TLS port", func(r *config.Redis) {
			tlsRedis(r, mutual, files)
			r.TLS, r.TLSCAFile, r.TLSCertFile, r.TLSKeyFile = false, "", "", ""
		}, "set redis.tls?"},
		{"TLS on a plain port", func(r *config.Redis) {
			tlsRedis(r, mutual, files)
			r.Addr = plain.Addr
		}, "does the server speak TLS"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig(t)
			c.mutate(&cfg.Redis)
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			a, err := app.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- a.Start(context.Background(), nil) }()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("start did not return within 30s")
			}
			if err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = a.Shutdown(ctx)
				t.Fatal("hookgate started")
			}
			t.Logf("start: %v", err)
			if !strings.Contains(err.Error(), "redis at "+cfg.Redis.Addr) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("start: %v, want it to name redis at %s and %q", err, cfg.Redis.Addr, c.want)
			}
		})
	}
}

// hookgate runs on a Redis Cluster whose nodes speak TLS alone (the
// cluster bus too) and ask for a client certificate: the slot map's
// addresses are dialed with redis.tls*, an event is delivered through the
// three queue shards, and /readyz answers 200.
func TestHookgateOnATLSRedisCluster(t *testing.T) {
	files := testenv.NewRedisTLS(t)
	cl := testenv.StartRedisClusterWith(t, testenv.ClusterOptions{Masters: 3, TLS: files})
	rec := receiver.NewRecorder()
	h := startOnCluster(t, cl, rec, func(c *config.Config) {
		c.Redis.TLS, c.Redis.TLSCAFile = true, files.CAFile
		c.Redis.TLSCertFile, c.Redis.TLSKeyFile = files.ClientCertFile, files.ClientKeyFile
	})
	a := h.publish(h.token("acme", "publisher"), "deal.won", map[string]any{"n": 1})
	waitDelivered(t, rec, []string{a.ID})
	if got := readyz(h.base); got != 200 {
		t.Fatalf("/readyz: %d", got)
	}
}

// hookgate runs in sentinel mode where the master, its replica and the
// Sentinel all speak TLS alone and ask for a client certificate: redis.tls*
// apply to the Sentinels and to the master they name; with
// redis.replica_acks 1 (the replica replicating over TLS) an event is
// accepted, delivered, and /readyz answers 200.
func TestHookgateOnATLSSentinel(t *testing.T) {
	files := testenv.NewRedisTLS(t)
	master := testenv.StartRedisTLS(t, files, true)
	replica := testenv.StartRedisTLSReplica(t, files, true, master.Addr)
	rc := replica.Client()
	defer rc.Close()
	testenv.Eventually(t, 30*time.Second, "the replica to sync over TLS", func() bool {
		info, _ := rc.Info(context.Background(), "replication").Result()
		return strings.Contains(info, "master_link_status:up")
	})
	sentinel := testenv.StartSentinelTLS(t, files, failoverMaster, master.Addr, 1, 5*time.Second, 10*time.Second)
	cfg := testConfig(t)
	tlsRedis(&cfg.Redis, master, files)
	cfg.Redis.Mode, cfg.Redis.Addr, cfg.Redis.Addrs, cfg.Redis.MasterName = config.RedisSentinel, "", []string{sentinel.Addr}, failoverMaster
	cfg.Redis.ReplicaAcks = 1
	h := startOnConfig(t, cfg)
	rec := receiver.NewRecorder()
	rs := httptest.NewServer(rec)
	defer rs.Close()
	h.createWebhook(h.token("acme", "admin"), map[string]any{"name": "tls", "endpoints": endpoints(rs.URL + "/hook"), "events": []string{"deal.*"}})
	h.publish(h.token("acme", "publisher"), "deal.won", map[string]any{"n": 1})
	if _, err := rec.WaitFor(testenv.Context(t), 1); err != nil {
		t.Fatalf("delivery through a TLS Sentinel: %v", err)
	}
	h.do("GET", "/readyz", "", nil).must(t, 200)
}
