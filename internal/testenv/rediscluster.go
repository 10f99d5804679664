package testenv

import (
	"context"
	"crypto/tls"
	"io"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate/internal/localredis"
)

// RedisCluster is a Redis Cluster of one test: redis-server processes with
// cluster-enabled on free loopback ports, masters each serving a share of
// the 16384 slots and, when asked, replicas of them, in temporary
// directories. They are killed when the test ends.
type RedisCluster struct {
	// Addrs are the masters' host:port, in the order of their slots (the
	// first holds slots 0..), as the cluster was created.
	Addrs []string
	// Replicas are the replicas' host:port of each master of Addrs.
	Replicas map[string][]string

	t     testing.TB
	tls   *RedisTLS
	procs map[string]*clusterNode
}

type clusterNode struct {
	args []string
	cmd  *exec.Cmd
}

// ClusterOptions shape StartRedisClusterWith's cluster.
type ClusterOptions struct {
	// Masters is how many masters (at least 3, Redis Cluster's minimum).
	Masters int
	// Replicas is how many replicas each master has (0: none).
	Replicas int
	// NodeTimeout is cluster-node-timeout: how long a node may not answer
	// before the others flag it failed and its replica takes over; 0 is 5s.
	NodeTimeout time.Duration
	// TLS, when not nil, makes every node speak TLS alone with these
	// files, clients and the cluster bus alike, asking clients for a
	// certificate.
	TLS *RedisTLS
}

// StartRedisCluster starts n (at least 3) cluster-enabled redis-servers,
// masters without replicas: StartRedisClusterWith(t, ClusterOptions{Masters: n}).
func StartRedisCluster(t testing.TB, n int) *RedisCluster {
	t.Helper()
	return StartRedisClusterWith(t, ClusterOptions{Masters: n})
}

// StartRedisClusterWith starts o.Masters*(1+o.Replicas) cluster-enabled
// redis-servers, joins them with `redis-cli --cluster create ...
// --cluster-replicas <o.Replicas>`, and waits until every node reports the
// cluster ok and every replica is in sync with its master. Skips the test
// when redis-server or redis-cli is not installed, and under -short.
func StartRedisClusterWith(t testing.TB, o ClusterOptions) *RedisCluster {
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
	timeout := o.NodeTimeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	c := &RedisCluster{t: t, tls: o.TLS, procs: map[string]*clusterNode{}, Replicas: map[string][]string{}}
	t.Cleanup(c.Kill)
	var all []string
	for range o.Masters * (1 + o.Replicas) {
		p, err := localredis.FreeClusterPort()
		if err != nil {
			t.Fatal(err)
		}
		port := strconv.Itoa(p)
		addr := "127.0.0.1:" + port
		args := localredis.NodeArgs(p, t.TempDir(), false, timeout)
		if o.TLS != nil {
			args = append(args, o.TLS.serverArgs(port, true)...)
		}
		c.procs[addr] = &clusterNode{args: append([]string{server}, args...)}
		c.StartNode(addr)
		all = append(all, addr)
	}
	var cliArgs []string
	if o.TLS != nil {
		cliArgs = o.TLS.cliArgs()
	}
	if err := localredis.Create(context.Background(), cli, all, o.Replicas, cliArgs); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, addr := range all {
		rdb := c.client(addr)
		err := localredis.WaitOK(context.Background(), rdb, deadline)
		rdb.Close()
		if err != nil {
			t.Fatalf("cluster node %s not ok within 30s: %v", addr, err)
		}
	}
	c.roles(all, deadline)
	return c
}

// roles reads which node is a master (Addrs, by their first slot) and
// which replicates which (Replicas), and waits until every replica is in
// sync.
func (c *RedisCluster) roles(all []string, deadline time.Time) {
	c.t.Helper()
	ctx := context.Background()
	first := map[string]int64{}
	for _, addr := range all {
		rdb := c.client(addr)
		for {
			info, err := rdb.Info(ctx, "replication").Result()
			if err != nil {
				rdb.Close()
				c.t.Fatalf("cluster node %s: %v", addr, err)
			}
			if strings.Contains(info, "role:master") {
				slots, err := rdb.ClusterSlots(ctx).Result()
				if err != nil {
					rdb.Close()
					c.t.Fatal(err)
				}
				id := rdb.ClusterMyID(ctx).Val()
				for _, s := range slots {
					if len(s.Nodes) > 0 && s.Nodes[0].ID == id {
						if f, ok := first[addr]; !ok || int64(s.Start) < f {
							first[addr] = int64(s.Start)
						}
					}
				}
				break
			}
			if strings.Contains(info, "master_link_status:up") {
				master := infoField(info, "master_host") + ":" + infoField(info, "master_port")
				c.Replicas[master] = append(c.Replicas[master], addr)
				break
			}
			if time.Now().After(deadline) {
				rdb.Close()
				c.t.Fatalf("replica %s not in sync within 30s:\n%s", addr, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
		rdb.Close()
	}
	for addr := range first {
		c.Addrs = append(c.Addrs, addr)
	}
	sort.Slice(c.Addrs, func(i, j int) bool { return first[c.Addrs[i]] < first[c.Addrs[j]] })
}

func infoField(info, name string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}

// StartNode starts the node at addr (again, after KillNode: on its
// directory, whose nodes.conf makes it rejoin the cluster as it left it)
// and waits until it answers.
func (c *RedisCluster) StartNode(addr string) {
	c.t.Helper()
	n := c.procs[addr]
	n.cmd = exec.Command(n.args[0], n.args[1:]...)
	n.cmd.Stdout, n.cmd.Stderr = io.Discard, io.Discard
	if err := n.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	rdb := c.client(addr)
	defer rdb.Close()
	if err := localredis.WaitPing(context.Background(), rdb, 10*time.Second); err != nil {
		c.t.Fatalf("redis-server on %s: %v", addr, err)
	}
}

// KillNode sends SIGKILL to the node at addr and waits for it.
func (c *RedisCluster) KillNode(addr string) {
	if n := c.procs[addr]; n.cmd != nil && n.cmd.Process != nil && n.cmd.ProcessState == nil {
		_ = n.cmd.Process.Kill()
		_ = n.cmd.Wait()
	}
}

// StopNode freezes the node at addr (SIGSTOP) until ContinueNode.
func (c *RedisCluster) StopNode(addr string) {
	_ = c.procs[addr].cmd.Process.Signal(syscall.SIGSTOP)
}

// ContinueNode resumes a node frozen by StopNode (SIGCONT).
func (c *RedisCluster) ContinueNode(addr string) {
	_ = c.procs[addr].cmd.Process.Signal(syscall.SIGCONT)
}

// TLSConfig is the TLS configuration of the cluster's clients (nil
// without TLS).
func (c *RedisCluster) TLSConfig() *tls.Config {
	if c.tls == nil {
		return nil
	}
	return c.tls.ClientConfig(c.t)
}

func (c *RedisCluster) client(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: addr, TLSConfig: c.TLSConfig()})
}

// Client returns a cluster client of the test's cluster, closed when the
// test ends.
func (c *RedisCluster) Client() *redis.ClusterClient {
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs, TLSConfig: c.TLSConfig()})
	c.t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// Node returns a client of one master alone (for INFO and the like),
// closed when the test ends.
func (c *RedisCluster) Node(i int) *redis.Client {
	rdb := c.client(c.Addrs[i])
	c.t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// Kill sends SIGKILL to every node (continuing frozen ones) and waits for
// them.
func (c *RedisCluster) Kill() {
	for addr, n := range c.procs {
		if n.cmd != nil && n.cmd.Process != nil && n.cmd.ProcessState == nil {
			c.ContinueNode(addr)
			c.KillNode(addr)
		}
	}
}
