package testenv

import (
	"context"
	"errors"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate/internal/localredis"
)

// RedisCluster is a Redis Cluster of one test: n redis-server processes
// with cluster-enabled on free loopback ports, each a master of a share of
// the 16384 slots (no replicas), in temporary directories. They are killed
// when the test ends.
type RedisCluster struct {
	// Addrs are the masters' host:port, in the order slots were assigned
	// (the first holds slots 0..).
	Addrs []string

	t testing.TB
	c *localredis.Cluster
}

// StartRedisCluster starts n (at least 3, Redis Cluster's minimum of
// masters) cluster-enabled redis-servers, joins them with `redis-cli
// --cluster create ... --cluster-replicas 0`, and waits until every node
// reports the cluster ok (localredis.StartCluster, which the benchmark
// uses too). Skips the test when redis-server or redis-cli is not
// installed, and under -short.
func StartRedisCluster(t testing.TB, n int) *RedisCluster {
	t.Helper()
	SkipShort(t, "starts a Redis Cluster of its own")
	c, err := localredis.StartCluster(context.Background(), n, localredis.ClusterOptions{Dir: t.TempDir()})
	if errors.Is(err, localredis.ErrNotInstalled) {
		t.Skip("redis-server or redis-cli is not installed")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Kill)
	return &RedisCluster{Addrs: c.Addrs, t: t, c: c}
}

// Client returns a cluster client of the test's cluster, closed when the
// test ends.
func (c *RedisCluster) Client() *redis.ClusterClient {
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs})
	c.t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// Node returns a client of one master alone (for INFO and the like),
// closed when the test ends.
func (c *RedisCluster) Node(i int) *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: c.Addrs[i]})
	c.t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// Kill sends SIGKILL to every node and waits for them.
func (c *RedisCluster) Kill() { c.c.Kill() }
