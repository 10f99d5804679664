package testenv

import (
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisServer is a redis-server child process of one test, on a free
// loopback port, for tests that count what Redis runs, stop it, or kill it
// without touching the shared one. It is killed when the test ends.
type RedisServer struct {
	// Addr is host:port; it stays the same across restarts.
	Addr string

	t     testing.TB
	path  string
	dir   string
	port  int
	fsync string
	args  []string // more redis-server arguments (replicaof, a sentinel's config)
	cmd   *exec.Cmd

	tls    *RedisTLS // StartRedisTLS: TLS alone on the port
	mutual bool
}

// StartRedisServer starts a redis-server and waits until it answers. fsync
// "" keeps nothing on disk; "everysec" or "always" turns the append-only
// file on with that appendfsync, in a directory that Start reuses, so a
// restart reloads what the server wrote. Skips the test when redis-server
// is not installed.
func StartRedisServer(t testing.TB, fsync string) *RedisServer {
	t.Helper()
	return startRedisServer(t, fsync, nil)
}

// StartRedisReplica starts a redis-server replicating master (host:port),
// keeping nothing on disk, and waits until it answers (not until it is in
// sync). Sentinels may later promote it.
func StartRedisReplica(t testing.TB, master string) *RedisServer {
	t.Helper()
	host, port, err := net.SplitHostPort(master)
	if err != nil {
		t.Fatal(err)
	}
	return startRedisServer(t, "", nil, "--replicaof", host, port)
}

// StartRedisTLS starts a redis-server that speaks TLS alone (its plain
// port off) with the server certificate of files, keeping nothing on disk;
// when mutual it refuses clients without a certificate signed by the CA of
// files (tls-auth-clients yes). It waits until it answers over TLS. Skips
// the test under -short and when redis-server is not installed.
func StartRedisTLS(t testing.TB, files *RedisTLS, mutual bool) *RedisServer {
	t.Helper()
	SkipShort(t, "starts a redis-server of its own")
	return startRedisServer(t, "", &serverTLS{files, mutual})
}

// serverTLS is how a server speaks TLS (nil: it does not).
type serverTLS struct {
	files  *RedisTLS
	mutual bool
}

// StartRedisTLSReplica is StartRedisTLS for a replica of master (a server
// StartRedisTLS started with the same files), replicating over TLS. It
// waits until it answers, not until it is in sync.
func StartRedisTLSReplica(t testing.TB, files *RedisTLS, mutual bool, master string) *RedisServer {
	t.Helper()
	SkipShort(t, "starts a redis-server of its own")
	host, port, err := net.SplitHostPort(master)
	if err != nil {
		t.Fatal(err)
	}
	return startRedisServer(t, "", &serverTLS{files, mutual}, "--replicaof", host, port)
}

func startRedisServer(t testing.TB, fsync string, tls *serverTLS, args ...string) *RedisServer {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed")
	}
	port := FreePort(t)
	r := &RedisServer{t: t, path: path, dir: t.TempDir(), port: port, fsync: fsync, args: args,
		Addr: "127.0.0.1:" + strconv.Itoa(port)}
	if tls != nil {
		r.tls, r.mutual = tls.files, tls.mutual
	}
	r.Start()
	t.Cleanup(r.Kill)
	return r
}

// StartRedis starts a redis-server that keeps nothing on disk and returns
// its address.
func StartRedis(t testing.TB) string { return StartRedisServer(t, "").Addr }

// Start runs the server (again, on the same port and directory) and waits
// until it answers.
func (r *RedisServer) Start() {
	r.t.Helper()
	args := []string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--dir", r.dir, "--daemonize", "no"}
	if r.tls != nil {
		args = append(args, r.tls.serverArgs(strconv.Itoa(r.port), r.mutual)...)
	}
	if r.fsync == "" {
		args = append(args, "--appendonly", "no")
	} else {
		args = append(args, "--appendonly", "yes", "--appendfsync", r.fsync)
	}
	args = append(args, r.args...)
	r.cmd = exec.Command(r.path, args...)
	r.cmd.Stdout, r.cmd.Stderr = io.Discard, io.Discard
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	rdb := r.Client()
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for rdb.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			r.t.Fatalf("redis-server on %s did not answer within 10s", r.Addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Client returns a new client of the server (over TLS with the client
// certificate for StartRedisTLS's); the caller closes it.
func (r *RedisServer) Client() *redis.Client {
	o := &redis.Options{Addr: r.Addr}
	if r.tls != nil {
		o.TLSConfig = r.tls.ClientConfig(r.t)
	}
	return redis.NewClient(o)
}

// Shutdown stops the server cleanly (SHUTDOWN: it writes and syncs what it
// holds, then exits) and waits for it.
func (r *RedisServer) Shutdown() {
	rdb := r.Client()
	defer rdb.Close()
	_ = rdb.Shutdown(context.Background()).Err() // the connection closes: no answer
	r.wait()
}

// Kill sends SIGKILL (no chance to write anything more) and waits for the
// process. Killing a server that is not running does nothing.
func (r *RedisServer) Kill() {
	if r.cmd != nil && r.cmd.Process != nil && r.cmd.ProcessState == nil {
		_ = r.cmd.Process.Kill()
	}
	r.wait()
}

func (r *RedisServer) wait() {
	if r.cmd != nil && r.cmd.ProcessState == nil {
		_ = r.cmd.Wait()
	}
}

// Sentinel is a Redis Sentinel child process of one test (redis-server
// <conf> --sentinel) on a free loopback port, killed when the test ends.
type Sentinel struct {
	Addr string
	cmd  *exec.Cmd
}

// StartSentinel starts a Sentinel monitoring master (host:port) as name,
// with quorum, that declares a master down after downAfter and fails over
// within failoverTimeout, and waits until it answers.
func StartSentinel(t testing.TB, name, master string, quorum int, downAfter, failoverTimeout time.Duration) *Sentinel {
	t.Helper()
	return startSentinel(t, nil, name, master, quorum, downAfter, failoverTimeout)
}

// StartSentinelTLS is StartSentinel for servers started with
// StartRedisTLS: the Sentinel speaks TLS alone with the server
// certificate of files (asking clients for theirs), and to the servers it
// watches.
func StartSentinelTLS(t testing.TB, files *RedisTLS, name, master string, quorum int, downAfter, failoverTimeout time.Duration) *Sentinel {
	t.Helper()
	return startSentinel(t, files, name, master, quorum, downAfter, failoverTimeout)
}

func startSentinel(t testing.TB, files *RedisTLS, name, master string, quorum int, downAfter, failoverTimeout time.Duration) *Sentinel {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed")
	}
	host, mport, err := net.SplitHostPort(master)
	if err != nil {
		t.Fatal(err)
	}
	port := FreePort(t)
	dir := t.TempDir()
	conf := dir + "/sentinel.conf"
	listen := "port " + strconv.Itoa(port) + "\n"
	if files != nil {
		listen = "port 0\ntls-port " + strconv.Itoa(port) + "\ntls-cert-file " + files.ServerCertFile +
			"\ntls-key-file " + files.ServerKeyFile + "\ntls-ca-cert-file " + files.CAFile +
			"\ntls-auth-clients yes\ntls-replication yes\n"
	}
	body := listen + "bind 127.0.0.1\ndir " + dir + "\n" +
		"sentinel monitor " + name + " " + host + " " + mport + " " + strconv.Itoa(quorum) + "\n" +
		"sentinel down-after-milliseconds " + name + " " + strconv.FormatInt(downAfter.Milliseconds(), 10) + "\n" +
		"sentinel failover-timeout " + name + " " + strconv.FormatInt(failoverTimeout.Milliseconds(), 10) + "\n" +
		"sentinel parallel-syncs " + name + " 1\n"
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &Sentinel{Addr: "127.0.0.1:" + strconv.Itoa(port), cmd: exec.Command(path, conf, "--sentinel")}
	s.cmd.Stdout, s.cmd.Stderr = io.Discard, io.Discard
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	})
	o := &redis.Options{Addr: s.Addr}
	if files != nil {
		o.TLSConfig = files.ClientConfig(t)
	}
	rdb := redis.NewClient(o)
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for rdb.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("sentinel on %s did not answer within 10s", s.Addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return s
}

// Stop freezes the server (SIGSTOP): it keeps its connections but answers
// nothing and, as a replica, reads nothing of its master's stream until
// Continue.
func (r *RedisServer) Stop() { _ = r.cmd.Process.Signal(syscall.SIGSTOP) }

// Continue resumes a server frozen by Stop (SIGCONT).
func (r *RedisServer) Continue() { _ = r.cmd.Process.Signal(syscall.SIGCONT) }
