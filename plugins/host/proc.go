package host

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	pb "github.com/hookgate/hookgate/plugins/sdk/proto"
)

// proc is one configured plugin and its current process, if any.
type proc struct {
	h   *Host
	cfg config.Plugin

	calls, errs *prometheus.CounterVec // curried with the plugin name
	latency     prometheus.ObserverVec
	restarts    prometheus.Counter
	up          prometheus.Gauge

	kick    chan struct{} // asks the supervisor to restart now (buffered 1)
	breaker *breaker

	// Calls hold the plugin (use, release) so that a reload that replaces
	// or removes it stops its process only once they are done.
	refs        atomic.Int64
	retired     atomic.Bool
	drainedOnce sync.Once
	drained     chan struct{} // closed when retired with no call held

	mu       sync.RWMutex
	client   *goplugin.Client
	cmd      *exec.Cmd // of client, for its exit status
	rpc      pb.PluginClient
	conn     *grpc.ClientConn
	sock     *callPool // the process's call socket, nil: calls go over gRPC
	sockDir  string    // the private directory made for its call socket
	gen      uint64    // bumped at every launch; a stale failure does not restart a fresh process
	info     *pb.InfoResponse
	healthy  bool
	reason   string
	restartN int
	pid      int
	pids     []int  // every process started, for tests
	exeSum   string // sha256 of the executable last started, hex

	stopSupervisor context.CancelFunc
	supervised     chan struct{} // closed when the supervisor returned
	stateCh        chan struct{} // closed and replaced at every start, failure and breaker change
}

// changes returns a channel closed at the next change of the plugin's state.
func (p *proc) changes() <-chan struct{} {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.stateCh
}

// notify wakes the waiters of changes; p.mu must be held.
func (p *proc) notify() {
	close(p.stateCh)
	p.stateCh = make(chan struct{})
}

// callable reports whether a call may go to the plugin now.
func (p *proc) callable() bool {
	p.mu.RLock()
	up := p.rpc != nil
	p.mu.RUnlock()
	return up && p.breaker.ready()
}

// waitRestart waits until a process newer than generation gen runs, up to
// the start timeout or until ctx ends, and reports whether one does.
func (p *proc) waitRestart(ctx context.Context, gen uint64) bool {
	t := time.NewTimer(p.h.opts.startTimeout)
	defer t.Stop()
	for {
		p.mu.RLock()
		ok, ch := p.rpc != nil && p.gen > gen, p.stateCh
		p.mu.RUnlock()
		if ok {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return false
		case <-ch:
		}
	}
}

func newProc(h *Host, c config.Plugin) *proc {
	l := prometheus.Labels{"plugin": c.Name}
	failures, cooldown := c.Breaker.Failures, c.Breaker.Cooldown.D()
	if failures == 0 {
		failures = config.DefaultBreakerFailures
	}
	if cooldown <= 0 {
		cooldown = config.DefaultBreakerCooldown.D()
	}
	gauge := h.metrics.breaker.With(l)
	gauge.Set(0)
	var p *proc
	br := &breaker{failures: failures, cooldown: cooldown, onChange: func(open bool) {
		if open {
			gauge.Set(1)
			h.log.Warn("plugin circuit breaker opened", "plugin", c.Name, "failures", failures, "cooldown", cooldown.String())
		} else {
			gauge.Set(0)
			h.log.Info("plugin circuit breaker closed", "plugin", c.Name)
		}
		p.mu.Lock()
		p.notify()
		p.mu.Unlock()
	}}
	p = &proc{
		h: h, cfg: c, kick: make(chan struct{}, 1), breaker: br, stateCh: make(chan struct{}), drained: make(chan struct{}),
		calls:    h.metrics.calls.MustCurryWith(l),
		errs:     h.metrics.errors.MustCurryWith(l),
		latency:  h.metrics.latency.MustCurryWith(l),
		restarts: h.metrics.restarts.With(l),
		up:       h.metrics.up.With(l),
		reason:   "not started",
	}
	return p
}

// use holds the plugin for one call; release ends the hold.
func (p *proc) use() { p.refs.Add(1) }

func (p *proc) release() {
	if p.refs.Add(-1) == 0 && p.retired.Load() {
		p.drainedOnce.Do(func() { close(p.drained) })
	}
}

// retire marks a plugin no longer routed (a reload replaced or removed
// it) and returns a channel closed once no call holds it.
func (p *proc) retire() <-chan struct{} {
	p.retired.Store(true)
	if p.refs.Load() == 0 {
		p.drainedOnce.Do(func() { close(p.drained) })
	}
	return p.drained
}

// currentInfo is what the running process said of itself, nil before its
// first start.
func (p *proc) currentInfo() *pb.InfoResponse {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.info
}

func (p *proc) status() hookgate.PluginStatus {
	p.mu.RLock()
	defer p.mu.RUnlock()
	st := hookgate.PluginStatus{Name: p.cfg.Name, Path: p.cfg.Path, Healthy: p.healthy, Reason: p.reason, Restarts: p.restartN,
		Formats: []string{}, Transforms: []string{}}
	if p.healthy {
		st.Reason = ""
		st.PID = p.pid
	}
	if p.info != nil {
		st.Version = p.info.Version
		st.Formats = append(st.Formats, p.info.Formats...)
		st.Transforms = append(st.Transforms, p.info.Transforms...)
		st.EventTypes = append([]string{}, p.info.EventTypes...)
		st.NeedsConfirmation = p.info.NeedsConfirmation
		st.Incoming = p.info.Incoming
	}
	return st
}

// resolve finds the executable and checks that it can be run, for a clear
// reason when it cannot.
func (p *proc) resolve() (string, error) {
	path := p.cfg.Path
	if !strings.ContainsRune(path, os.PathSeparator) {
		found, err := exec.LookPath(path)
		if err != nil {
			return "", fmt.Errorf("executable %q not found in PATH", path)
		}
		return found, nil
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("executable %s does not exist (built with make build?)", path)
	case err != nil:
		return "", fmt.Errorf("executable %s: %w", path, err)
	case fi.IsDir() || fi.Mode().Perm()&0o111 == 0:
		return "", fmt.Errorf("%s is not an executable file", path)
	}
	return path, nil
}

// fileSHA256 is the hex sha256 of the file at path: what a reload compares
// to tell a new executable at the same path.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("executable %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("executable %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// env is the plugin's whole environment: PATH, GOMAXPROCS=1 unless the
// configuration sets it, and the configured variables, never hookgate's own
// (it holds secrets).
//
// GOMAXPROCS=1: a Go plugin (every plugin built with the SDK) renders in
// microseconds, and a call to it is a chain of goroutine hand-offs (the
// connection's reader, the handler, the writer). With more than one P every
// hand-off in an idle process wakes another thread to look for work, so a
// call costs the plugin several thread wake-ups, each waiting for a core
// on a busy machine. With one P the hand-offs run on the thread that is
// already awake. It halves the CPU a call costs the plugin and most of the
// latency a plugin format adds (docs/benchmarks.md, "Plugin calls").
// A plugin that computes in parallel sets GOMAXPROCS in its env; a plugin
// in another language ignores it.
func (p *proc) env() []string {
	env := []string{"PATH=" + os.Getenv("PATH")}
	if _, ok := p.cfg.Env["GOMAXPROCS"]; !ok {
		env = append(env, "GOMAXPROCS="+pluginGOMAXPROCS)
	}
	keys := make([]string, 0, len(p.cfg.Env))
	for k := range p.cfg.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+p.cfg.Env[k])
	}
	return env
}

// launch starts a new process for the plugin, replacing none: the caller
// has stopped the previous one.
func (p *proc) launch(ctx context.Context) error {
	err := p.launchErr(ctx)
	if err != nil {
		p.mu.Lock()
		p.healthy, p.reason = false, err.Error()
		p.mu.Unlock()
		p.up.Set(0)
	}
	return err
}

func (p *proc) launchErr(ctx context.Context) error {
	path, err := p.resolve()
	if err != nil {
		return err
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return err
	}
	cmd := exec.Command(path, p.cfg.Args...)
	cmd.Env = p.env()
	setProcAttr(cmd)
	// A private directory for the plugin's call socket, removed with the
	// process (a plugin that ignores it leaves it empty). Without one (no
	// writable temporary directory) the plugin is offered none and its
	// calls go over gRPC.
	sockDir, err := callSocketDir()
	if err != nil {
		p.h.log.Warn("no directory for the plugin's call socket; its calls go over gRPC", "plugin", p.cfg.Name, "error", err)
		sockDir = ""
	} else {
		// go-plugin's own gRPC socket goes in it too (its server reads
		// EnvUnixSocketDir), so that it is removed, and swept after a
		// SIGKILL, with the directory.
		cmd.Env = append(cmd.Env, pb.SocketDirEnv+"="+sockDir, goplugin.EnvUnixSocketDir+"="+sockDir)
	}
	started := false
	defer func() {
		if !started && sockDir != "" {
			_ = os.RemoveAll(sockDir)
		}
	}()
	var secure *goplugin.SecureConfig
	if p.cfg.SHA256 != "" {
		want, err := hex.DecodeString(p.cfg.SHA256)
		if err != nil {
			return fmt.Errorf("sha256 is not hex: %w", err)
		}
		if !strings.EqualFold(p.cfg.SHA256, sum) {
			return fmt.Errorf("sha256 checksum mismatch: expected %s, actual %s (%s)", strings.ToLower(p.cfg.SHA256), sum, path)
		}
		// Checked again by go-plugin as it starts the executable.
		secure = &goplugin.SecureConfig{Checksum: want, Hash: sha256.New()}
	}
	log := p.h.log.With("plugin", p.cfg.Name)
	maxMsg := p.cfg.MaxOutput + 64<<10
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  handshake(),
		Plugins:          goplugin.PluginSet{pb.PluginName: grpcPlugin{}},
		Cmd:              cmd,
		SecureConfig:     secure,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		StartTimeout:     p.h.opts.startTimeout,
		SkipHostEnv:      true,
		// The plugin's output, once each: go-plugin's own logger echoes
		// every stderr line too, which emit drops (see hostLogger).
		Stderr:          newLineLogger(log, "stderr"),
		SyncStderr:      newLineLogger(log, "stderr"),
		SyncStdout:      newLineLogger(log, "stdout"),
		Logger:          hostLogger(log),
		GRPCDialOptions: append(callDialOptions(), grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsg))),
	})
	rpcClient, err := client.Client()
	if err != nil {
		client.Kill()
		if errors.Is(err, goplugin.ErrChecksumsDoNotMatch) {
			actual, _ := fileSHA256(path)
			return fmt.Errorf("sha256 checksum mismatch: expected %s, actual %s (%s)", strings.ToLower(p.cfg.SHA256), actual, path)
		}
		return fmt.Errorf("start: %w", err)
	}
	raw, err := rpcClient.Dispense(pb.PluginName)
	if err != nil {
		client.Kill()
		return fmt.Errorf("dispense: %w", err)
	}
	conn := raw.(*grpc.ClientConn)
	rpc := pb.NewPluginClient(conn)
	ictx, cancel := context.WithTimeout(ctx, p.cfg.Timeout.D())
	info, err := rpc.Info(ictx, &pb.InfoRequest{})
	cancel()
	if err != nil {
		client.Kill()
		return fmt.Errorf("info: %w", err)
	}
	var sock *callPool
	transport := TransportGRPC
	if callSocketIn(sockDir, info.CallSocket) {
		sock, err = newCallPool(info.CallSocket, maxMsg)
		if err != nil {
			// The plugin still answers over gRPC: not a reason to refuse it.
			log.Warn("plugin call socket does not answer; calls go over gRPC", "error", err)
		} else {
			transport = TransportCallSocket
		}
	} else if info.CallSocket != "" {
		log.Warn("plugin announced a call socket outside its directory; calls go over gRPC", "socket", info.CallSocket)
	}
	pid := 0
	if rc := client.ReattachConfig(); rc != nil {
		pid = rc.Pid
	}
	started = true
	p.mu.Lock()
	p.client, p.rpc, p.conn, p.info, p.cmd = client, rpc, conn, info, cmd
	p.sock, p.sockDir = sock, sockDir
	p.healthy, p.reason, p.pid = true, "", pid
	p.gen++
	p.pids = append(p.pids, pid)
	p.exeSum = sum
	p.notify()
	p.mu.Unlock()
	p.up.Set(1)
	if !p.retired.Load() {
		p.h.route()
	}
	p.mu.RLock()
	restarts := p.restartN
	p.mu.RUnlock()
	if restarts == 0 {
		log.Info("plugin started", "version", info.Version, "pid", pid, "formats", info.Formats, "transforms", info.Transforms,
			"transport", transport)
	} else {
		log.Info("plugin restarted", "version", info.Version, "pid", pid, "restarts", restarts)
	}
	return nil
}

// supervise keeps the plugin running until ctx ends, then stops it.
func (p *proc) supervise(ctx context.Context) {
	o := p.h.opts
	backoff := o.backoffMin
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	lastHealth := time.Now()
	for {
		if !p.running() {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			p.mu.Lock()
			p.restartN++
			p.mu.Unlock()
			p.restarts.Inc()
			if err := p.launch(ctx); err != nil {
				backoff = min(backoff*2, o.backoffMax)
				p.h.log.Warn("plugin restart failed", "plugin", p.cfg.Name, "error", err, "retry_in", backoff.String())
				continue
			}
			backoff = o.backoffMin
		}
		select {
		case <-ctx.Done():
			return
		case <-p.kick:
		case <-tick.C:
			if p.exited() {
				p.fail("the process exited")
			} else if time.Since(lastHealth) >= o.healthInterval {
				lastHealth = time.Now()
				if err := p.checkHealth(ctx); err != nil {
					p.fail("health check failed: " + err.Error())
				}
			}
		}
	}
}

func (p *proc) running() bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.client != nil
}

func (p *proc) exited() bool {
	p.mu.RLock()
	c := p.client
	p.mu.RUnlock()
	return c != nil && c.Exited()
}

func (p *proc) checkHealth(ctx context.Context) error {
	p.mu.RLock()
	conn := p.conn
	p.mu.RUnlock()
	if conn == nil {
		return errors.New("not running")
	}
	cctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout.D())
	defer cancel()
	res, err := grpc_health_v1.NewHealthClient(conn).Check(cctx, &grpc_health_v1.HealthCheckRequest{Service: pb.HealthService})
	if err != nil {
		return err
	}
	if res.Status != grpc_health_v1.HealthCheckResponse_SERVING {
		return fmt.Errorf("status %s", res.Status)
	}
	return nil
}

// fail marks the current process broken, kills it and lets the supervisor
// start another.
func (p *proc) fail(reason string) {
	if p.failGen(0, KindCrash, reason) {
		p.breaker.record(KindCrash)
	}
}

// failGen is fail for the process of generation gen only (0: any); kind
// says how it failed. It reports whether it failed the process (false:
// another call or the supervisor already did).
func (p *proc) failGen(gen uint64, kind, reason string) bool {
	p.mu.Lock()
	if p.client == nil || (gen != 0 && gen != p.gen) {
		p.mu.Unlock()
		return false
	}
	client, pid, sock, sockDir := p.client, p.pid, p.sock, p.sockDir
	if client.Exited() {
		// Safe to read: go-plugin sets Exited after the process was reaped.
		if st := p.cmd.ProcessState; st != nil {
			reason += " (" + st.String() + ")"
		}
	}
	p.client, p.rpc, p.conn, p.sock, p.sockDir = nil, nil, nil, nil, ""
	p.healthy, p.reason, p.pid = false, reason, 0
	p.notify()
	p.mu.Unlock()
	sock.close()
	p.up.Set(0)
	if p.h.stopping.Load() {
		p.h.log.Info("plugin exited while hookgate stops", "plugin", p.cfg.Name, "pid", pid, "reason", reason)
	} else {
		p.h.log.Warn("plugin exited; restarting", "plugin", p.cfg.Name, "pid", pid, "kind", kind, "reason", reason)
	}
	// A hung process would make go-plugin's graceful stop wait: kill it first.
	if pid > 0 {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	go func() {
		client.Kill()
		_ = os.RemoveAll(sockDir)
	}()
	select {
	case p.kick <- struct{}{}:
	default:
	}
	return true
}

// stop ends the current process gracefully (go-plugin waits up to 2s).
func (p *proc) stop() {
	p.mu.Lock()
	client, sock, sockDir := p.client, p.sock, p.sockDir
	p.client, p.rpc, p.conn, p.sock, p.sockDir = nil, nil, nil, nil, ""
	p.healthy, p.reason, p.pid = false, "stopped", 0
	p.mu.Unlock()
	p.up.Set(0)
	sock.close()
	if client != nil {
		client.Kill()
	}
	if sockDir != "" {
		_ = os.RemoveAll(sockDir)
	}
}

// killNow SIGKILLs the current process, for a shutdown out of time.
func (p *proc) killNow() {
	p.mu.RLock()
	pid := p.pid
	p.mu.RUnlock()
	if pid > 0 {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// pluginGOMAXPROCS is a plugin's GOMAXPROCS unless its env sets one.
const pluginGOMAXPROCS = "1"

// callDialOptions tune the connection to a plugin for many small calls on
// a local socket. A fixed flow-control window (over gRPC's 64 KiB default)
// turns off gRPC's bandwidth-delay estimation, which otherwise answers the
// data of nearly every call with a PING the plugin must acknowledge: an
// extra frame each way, and an extra wake-up of both processes, per call.
// Compression stays off (gRPC's default): the socket is local.
func callDialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithInitialWindowSize(callWindow),
		grpc.WithInitialConnWindowSize(callWindow),
	}
}

// callWindow is the flow-control window of a plugin connection and of each
// call on it.
const callWindow = 1 << 20

// handshake is the go-plugin handshake of the hookgate contract.
func handshake() goplugin.HandshakeConfig {
	return goplugin.HandshakeConfig{
		ProtocolVersion: pb.ProtocolVersion, MagicCookieKey: pb.MagicCookieKey, MagicCookieValue: pb.MagicCookieValue,
	}
}

// grpcPlugin is the host side of go-plugin's GRPCPlugin: it hands back the
// connection, on which every call is a concurrent stream.
type grpcPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
}

func (grpcPlugin) GRPCServer(*goplugin.GRPCBroker, *grpc.Server) error {
	return errors.New("hookgate does not serve plugins")
}

func (grpcPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return conn, nil
}

var _ goplugin.GRPCPlugin = grpcPlugin{}

// hostLogger is go-plugin's own logger: JSON lines, so that emit keeps each
// line's level (as text, "[ERROR] go-plugin: ..." was logged at info). Its
// echo of the plugin's stderr (module go-plugin.<executable>) is dropped:
// the stderr stream logs those lines once, at debug.
func hostLogger(log *slog.Logger) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name: "go-plugin", Level: hclog.Warn, Output: newLineLogger(log, "host"), DisableTime: true, JSONFormat: true,
	})
}

// lineLogger writes each line a plugin prints into slog, tagged with the
// plugin's name and the stream. Lines are capped at 8 KiB.
type lineLogger struct {
	log    *slog.Logger
	stream string
	mu     sync.Mutex
	buf    []byte
}

func newLineLogger(log *slog.Logger, stream string) io.Writer {
	return &lineLogger{log: log, stream: stream}
}

func (l *lineLogger) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			room := 8<<10 - len(l.buf)
			l.buf = append(l.buf, b[:min(room, len(b))]...)
			break
		}
		line := append(l.buf, b[:i]...)
		if len(line) > 8<<10 {
			line = line[:8<<10]
		}
		if s := strings.TrimRight(string(line), "\r "); s != "" {
			l.emit(s)
		}
		l.buf = l.buf[:0]
		b = b[i+1:]
	}
	return n, nil
}

// emit logs one line of a plugin's output. A JSON line in go-hclog's shape
// (what go-plugin's SDK writes) keeps its level, message and fields;
// anything else is logged as it is at debug.
func (l *lineLogger) emit(s string) {
	if strings.HasPrefix(s, "{") {
		var m map[string]any
		if json.Unmarshal([]byte(s), &m) == nil {
			if msg, ok := m["@message"].(string); ok {
				level := hclogLevel(m["@level"])
				if l.stream == "host" && m["@module"] != "go-plugin" {
					return // go-plugin's echo of a line of the plugin's stderr
				}
				if l.stream == "host" && msg == "plugin process exited" {
					// go-plugin reports every exit, at error when the
					// process ended by a signal: hookgate's own stop
					// (SIGTERM) does that. hookgate logs the exits that
					// matter itself ("plugin exited; restarting").
					level = slog.LevelDebug
				}
				if !l.log.Enabled(context.Background(), level) {
					return
				}
				args := []any{"stream", l.stream}
				for k, v := range m {
					if !strings.HasPrefix(k, "@") {
						args = append(args, k, v)
					}
				}
				l.log.Log(context.Background(), level, msg, args...)
				return
			}
		}
	}
	l.log.Debug(s, "stream", l.stream)
}

func hclogLevel(v any) slog.Level {
	switch v {
	case "trace", "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}
