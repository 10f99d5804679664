// Package localredis starts Redis Cluster nodes as redis-server child
// processes on free loopback ports: for the tests (through
// testenv.StartRedisCluster) and for the benchmark's cluster run (hookgate
// bench --suite scaling), which must not share its masters with anything.
package localredis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClusterOptions configure StartCluster.
type ClusterOptions struct {
	// Dir holds one directory per node (node-0, node-1, ...) for its
	// nodes.conf and, with AppendOnly, its append-only file. Required.
	Dir string
	// AppendOnly turns the append-only file on with appendfsync everysec
	// (what docs/delivery.md tells operators to run); off, the nodes keep
	// nothing on disk.
	AppendOnly bool
}

// Cluster is a Redis Cluster of redis-server child processes, each a
// master of an equal share of the 16384 slots, without replicas.
type Cluster struct {
	// Addrs are the masters' host:port, in the order slots were assigned
	// (the first holds slots 0..).
	Addrs []string

	procs []*exec.Cmd
}

// ErrNotInstalled is returned by StartCluster when redis-server or
// redis-cli is not on the PATH.
var ErrNotInstalled = errors.New("redis-server and redis-cli are needed")

// StartCluster starts n (at least 3, Redis Cluster's minimum of masters)
// cluster-enabled redis-servers on free loopback ports, joins them with
// `redis-cli --cluster create ... --cluster-replicas 0 --cluster-yes`, and
// waits until every node reports the cluster ok. On an error the nodes
// already started are killed.
func StartCluster(ctx context.Context, n int, o ClusterOptions) (c *Cluster, err error) {
	server, err1 := exec.LookPath("redis-server")
	cli, err2 := exec.LookPath("redis-cli")
	if err1 != nil || err2 != nil {
		return nil, ErrNotInstalled
	}
	if o.Dir == "" {
		return nil, errors.New("localredis: ClusterOptions.Dir is required")
	}
	c = &Cluster{}
	defer func() {
		if err != nil {
			c.Kill()
		}
	}()
	for i := range n {
		port, err := FreeClusterPort()
		if err != nil {
			return nil, err
		}
		dir := filepath.Join(o.Dir, "node-"+strconv.Itoa(i))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		cmd := exec.Command(server, NodeArgs(port, dir, o.AppendOnly, 5*time.Second)...)
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		c.procs = append(c.procs, cmd)
		c.Addrs = append(c.Addrs, addr)
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		err = WaitPing(ctx, rdb, 10*time.Second)
		rdb.Close()
		if err != nil {
			return nil, fmt.Errorf("redis-server on %s: %w", addr, err)
		}
	}
	if err := Create(ctx, cli, c.Addrs, 0, nil); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, addr := range c.Addrs {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		err := WaitOK(ctx, rdb, deadline)
		rdb.Close()
		if err != nil {
			return nil, fmt.Errorf("cluster node %s: %w", addr, err)
		}
	}
	return c, nil
}

// Kill sends SIGKILL to every node and waits for them.
func (c *Cluster) Kill() {
	for _, p := range c.procs {
		if p.Process != nil && p.ProcessState == nil {
			_ = p.Process.Kill()
			_ = p.Wait()
		}
	}
}

// NodeArgs are the redis-server arguments of a cluster node on port,
// keeping its nodes.conf (and with appendOnly its append-only file,
// appendfsync everysec) in dir, flagging other nodes failed after
// nodeTimeout.
func NodeArgs(port int, dir string, appendOnly bool, nodeTimeout time.Duration) []string {
	args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--dir", dir, "--daemonize", "no",
		"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
		"--cluster-node-timeout", strconv.FormatInt(nodeTimeout.Milliseconds(), 10)}
	if appendOnly {
		return append(args, "--appendonly", "yes", "--appendfsync", "everysec")
	}
	return append(args, "--appendonly", "no")
}

// Create joins the nodes at addrs into a cluster with `redis-cli
// --cluster create <addrs> --cluster-replicas <replicas> --cluster-yes`
// (cli is redis-cli's path; cliArgs go before, such as TLS options).
func Create(ctx context.Context, cli string, addrs []string, replicas int, cliArgs []string) error {
	args := append(append([]string{}, cliArgs...), "--cluster", "create")
	args = append(append(args, addrs...), "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("redis-cli --cluster create: %v\n%s", err, out)
	}
	return nil
}

// WaitOK waits until the node rdb speaks to reports cluster_state:ok, until
// deadline.
func WaitOK(ctx context.Context, rdb *redis.Client, deadline time.Time) error {
	for {
		info, err := rdb.ClusterInfo(ctx).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("cluster not ok in time: %v %s", err, info)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitPing waits until the server rdb speaks to answers PING, for at most
// within.
func WaitPing(ctx context.Context, rdb *redis.Client, within time.Duration) error {
	deadline := time.Now().Add(within)
	for rdb.Ping(ctx).Err() != nil {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("no answer within %s", within)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// FreeClusterPort returns a free loopback port whose cluster bus port (the
// port + 10000) is free too.
func FreeClusterPort() (int, error) {
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
		return port, nil
	}
	return 0, errors.New("no free port pair for a cluster node")
}
