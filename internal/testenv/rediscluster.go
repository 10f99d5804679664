package testenv

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisCluster is a Redis Cluster of one test: n redis-server processes
// with cluster-enabled on free loopback ports, each a master of a share of
// the 16384 slots (no replicas), in temporary directories. They are killed
// when the test ends.
type RedisCluster struct {
	// Addrs are the masters' host:port, in the order slots were assigned
	// (the first holds slots 0..).
	Addrs []string

	t     testing.TB
	procs []*exec.Cmd
}

// StartRedisCluster starts n (at least 3, Redis Cluster's minimum of
// masters) cluster-enabled redis-servers, joins them with `redis-cli
// --cluster create ... --cluster-replicas 0`, and waits until every node
// reports the cluster ok. Skips the test when redis-server or redis-cli is
// not installed, and under -short.
func StartRedisCluster(t testing.TB, n int) *RedisCluster {
	t.Helper()
	SkipShort(t, "starts a Redis Cluster of its own")
	server, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed")
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skip("redis-cli is not installed")
	}
	c := &RedisCluster{t: t}
	t.Cleanup(c.Kill)
	for range n {
		port := clusterPort(t)
		addr := "127.0.0.1:" + strconv.Itoa(port)
		cmd := exec.Command(server, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
			"--appendonly", "no", "--dir", t.TempDir(), "--daemonize", "no",
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000")
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		c.procs = append(c.procs, cmd)
		c.Addrs = append(c.Addrs, addr)
		waitPing(t, addr)
	}
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, addr := range c.Addrs {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		for {
			info, err := rdb.ClusterInfo(context.Background()).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				rdb.Close()
				t.Fatalf("cluster node %s not ok within 30s: %v %s", addr, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
		rdb.Close()
	}
	return c
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
func (c *RedisCluster) Kill() {
	for _, p := range c.procs {
		if p.Process != nil && p.ProcessState == nil {
			_ = p.Process.Kill()
			_ = p.Wait()
		}
	}
}

func waitPing(t testing.TB, addr string) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for rdb.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not answer within 10s", addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// clusterPort returns a free loopback port whose cluster bus port (the
// port + 10000) is free too.
func clusterPort(t testing.TB) int {
	t.Helper()
	for range 200 {
		port := 20000 + rand.IntN(25000)
		a, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		b, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000))
		a.Close()
		if err != nil {
			continue
		}
		b.Close()
		return port
	}
	t.Fatal(fmt.Errorf("no free port pair for a cluster node"))
	return 0
}
