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
	aof := []string{"--appendonly", "no"}
	if o.AppendOnly {
		aof = []string{"--appendonly", "yes", "--appendfsync", "everysec"}
	}
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
		args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
			"--dir", dir, "--daemonize", "no",
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"}, aof...)
		cmd := exec.Command(server, args...)
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		c.procs = append(c.procs, cmd)
		c.Addrs = append(c.Addrs, addr)
		if err := waitPing(ctx, addr, 10*time.Second); err != nil {
			return nil, err
		}
	}
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, addr := range c.Addrs {
		if err := waitClusterOK(ctx, addr, deadline); err != nil {
			return nil, err
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

func waitClusterOK(ctx context.Context, addr string, deadline time.Time) error {
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	for {
		info, err := rdb.ClusterInfo(ctx).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("cluster node %s not ok within 30s: %v %s", addr, err, info)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitPing(ctx context.Context, addr string, within time.Duration) error {
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	deadline := time.Now().Add(within)
	for rdb.Ping(ctx).Err() != nil {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("redis-server on %s did not answer within %s", addr, within)
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
