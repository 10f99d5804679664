package store_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/store"
	"github.com/hookgate/hookgate/internal/testenv"
)

// Each redis.mode builds go-redis's client for it, so that asynq and the
// store follow a Sentinel failover or a Cluster's slot map.
func TestNewClientFollowsTheMode(t *testing.T) {
	for mode, want := range map[string]string{
		config.RedisStandalone: "*redis.Client", config.RedisSentinel: "*redis.Client", config.RedisCluster: "*redis.ClusterClient",
	} {
		c := store.NewClient(config.Redis{Mode: mode, Addr: "127.0.0.1:1", Addrs: []string{"127.0.0.1:1"}, MasterName: "m"})
		var got string
		switch c.(type) {
		case *redis.ClusterClient:
			got = "*redis.ClusterClient"
		case *redis.Client:
			got = "*redis.Client"
		}
		if got != want {
			t.Errorf("%s: %T, want %s", mode, c, want)
		}
		c.Close()
	}
}

// A CA file that can no longer be read fails every command with that
// reason, rather than connecting without TLS.
func TestNewClientWithAnUnreadableCAFailsEveryCommand(t *testing.T) {
	addr := testenv.RedisAddr()
	c := store.NewClient(config.Redis{Mode: config.RedisStandalone, Addr: addr, TLS: true,
		TLSCAFile: filepath.Join(t.TempDir(), "gone.pem")})
	defer c.Close()
	err := c.Ping(context.Background()).Err()
	if err == nil || !strings.Contains(err.Error(), "redis.tls_ca_file") || !os.IsNotExist(unwrapAll(err)) {
		t.Fatalf("ping: %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok || u.Unwrap() == nil {
			return err
		}
		err = u.Unwrap()
	}
}

func TestReadyOnAStandaloneRedis(t *testing.T) {
	c := store.NewClient(config.Redis{Mode: config.RedisStandalone, Addr: testenv.RedisAddr()})
	defer c.Close()
	if err := store.Ready(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	gone := store.NewClient(config.Redis{Mode: config.RedisStandalone, Addr: "127.0.0.1:1"})
	defer gone.Close()
	if err := store.Ready(context.Background(), gone); err == nil {
		t.Fatal("a Redis that does not answer is ready")
	}
}
