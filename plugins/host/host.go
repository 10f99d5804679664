// Package host starts, supervises and calls hookgate's plugin processes
// (hashicorp/go-plugin over gRPC, contract in plugins/sdk/proto).
//
// Every configured plugin is started at boot. A supervisor goroutine per
// plugin restarts it with exponential backoff when it exits, fails its health
// check, or does not answer a call within its timeout. Plugin processes get
// a parent-death signal on Linux so they never outlive hookgate. Every
// failure of a call wraps ErrPlugin: for a delivery it costs one attempt,
// which the queue retries, never the delivery or the worker.
//
// Concurrency: calls are multiplexed as concurrent gRPC streams over the one
// connection go-plugin opens per plugin; there is no pool and no lock on the
// call path (see BenchmarkRenderCloudCXPlugin in package pipeline and
// docs/benchmarks.md).
//
// The host knows nothing of webhooks or deliveries; package pipeline turns
// its calls into hookgate.Renderer.
package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
)

// ErrPlugin is wrapped by every error that comes from a plugin: it crashed,
// hung, is not running, failed, or answered something invalid. Match it with
// errors.Is to classify a failure as plugin_error.
var ErrPlugin = errors.New("plugin error")

// Option changes how a Host behaves.
type Option func(*options)

type options struct {
	required       bool
	healthInterval time.Duration
	backoffMin     time.Duration
	backoffMax     time.Duration
	startTimeout   time.Duration
	tracer         trace.Tracer
}

// WithTracer makes a client span of every plugin call and sends its W3C
// trace context to the plugin in the call's gRPC metadata (traceparent), so
// that a plugin can continue the trace (sdk.TraceParent). Nil: no tracing.
func WithTracer(t trace.Tracer) Option { return func(o *options) { o.tracer = t } }

// WithRequired makes Start fail (and stop every plugin) when any plugin
// cannot be started: config's plugins_required.
func WithRequired(required bool) Option { return func(o *options) { o.required = required } }

// WithHealthInterval sets how often a running plugin's health is checked;
// default 5s. Exits are noticed sooner, at the next call or within 250ms.
func WithHealthInterval(d time.Duration) Option {
	return func(o *options) { o.healthInterval = d }
}

// WithBackoff sets the restart backoff bounds; default 100ms doubling to 30s.
func WithBackoff(minDelay, maxDelay time.Duration) Option {
	return func(o *options) { o.backoffMin, o.backoffMax = minDelay, maxDelay }
}

// Host runs the configured plugins. It is safe for concurrent use.
type Host struct {
	log     *slog.Logger
	opts    options
	metrics *metrics

	mu         sync.RWMutex // guards the plugin list and the routing tables
	procs      []*proc      // in config order
	byName     map[string]*proc
	formats    map[string]*proc
	transforms map[string]*proc

	// reloadMu serialises Reload, Start and Shutdown.
	reloadMu sync.Mutex
	runCtx   context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	started  bool
	stopped  bool
	// stopping is set as Shutdown begins: a plugin that exits from then on
	// is logged as stopping, not as a failure.
	stopping atomic.Bool
}

// New prepares a host for the configured plugins; nothing starts until
// Start. reg may be nil (metrics are then kept but not exported). Entries
// are expected to have passed config.Validate; zero timeouts and output
// limits get the config defaults.
func New(cfg []config.Plugin, logger *slog.Logger, reg prometheus.Registerer, opts ...Option) (*Host, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	o := options{healthInterval: 5 * time.Second, backoffMin: 100 * time.Millisecond, backoffMax: 30 * time.Second, startTimeout: 10 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("plugin host: %w", err)
	}
	h := &Host{log: logger, opts: o, metrics: m, byName: map[string]*proc{},
		formats: map[string]*proc{}, transforms: map[string]*proc{}}
	cfg, err = normalize(cfg)
	if err != nil {
		return nil, err
	}
	for _, c := range cfg {
		p := newProc(h, c)
		h.procs = append(h.procs, p)
		h.byName[c.Name] = p
	}
	return h, nil
}

// normalize checks the entries a host needs (a name, a path, no name twice)
// and fills in zero timeouts and output limits with the config defaults.
func normalize(cfg []config.Plugin) ([]config.Plugin, error) {
	out := make([]config.Plugin, 0, len(cfg))
	seen := map[string]bool{}
	for _, c := range cfg {
		if c.Name == "" || c.Path == "" {
			return nil, fmt.Errorf("plugin host: plugin %q: name and path are required", c.Name)
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("plugin host: plugin %q is configured twice", c.Name)
		}
		seen[c.Name] = true
		if c.Timeout <= 0 {
			c.Timeout = config.DefaultPluginTimeout
		}
		if c.MaxOutput <= 0 {
			c.MaxOutput = config.DefaultPluginMaxOutput
		}
		out = append(out, c)
	}
	return out, nil
}

// Start starts every plugin, waiting for each first attempt, then leaves a
// supervisor per plugin running until Shutdown. A plugin that fails to start
// is reported unhealthy and retried in the background; Start returns an
// error for it only WithRequired(true), after stopping every plugin.
func (h *Host) Start(ctx context.Context) error {
	h.reloadMu.Lock()
	if h.started {
		h.reloadMu.Unlock()
		return errors.New("plugin host: already started")
	}
	h.started = true
	h.runCtx, h.cancel = context.WithCancel(context.WithoutCancel(ctx))
	procs := h.list()
	errs := make([]error, len(procs))
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Go(func() { errs[i] = p.launch(ctx) })
	}
	wg.Wait()
	var failed []error
	for i, err := range errs {
		if err != nil {
			failed = append(failed, fmt.Errorf("plugin %s: %w", procs[i].cfg.Name, err))
			h.log.Warn("plugin failed to start", "plugin", procs[i].cfg.Name, "error", err)
		}
	}
	if len(failed) > 0 && h.opts.required {
		h.reloadMu.Unlock()
		_ = h.Shutdown(ctx)
		return fmt.Errorf("start plugins (plugins_required): %w", errors.Join(failed...))
	}
	for _, p := range procs {
		h.superviseProc(p)
	}
	h.reloadMu.Unlock()
	return nil
}

// superviseProc starts p's supervisor under the host's run context; p's own
// cancel stops it alone (when a reload retires p).
func (h *Host) superviseProc(p *proc) {
	ctx, cancel := context.WithCancel(h.runCtx)
	done := make(chan struct{})
	p.mu.Lock()
	p.stopSupervisor, p.supervised = cancel, done
	p.mu.Unlock()
	h.wg.Go(func() {
		defer close(done)
		p.supervise(ctx)
	})
}

// list returns the current plugins, in config order.
func (h *Host) list() []*proc {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return append([]*proc(nil), h.procs...)
}

// Shutdown stops the supervisors and every plugin process, gracefully
// first; when ctx ends, the processes still running are killed.
func (h *Host) Shutdown(ctx context.Context) error {
	h.stopping.Store(true)
	// A reload in progress finishes first (it is bounded by the plugins'
	// timeouts), so that no process it started is left behind.
	h.reloadMu.Lock()
	defer h.reloadMu.Unlock()
	h.stopped = true
	if h.cancel != nil {
		h.cancel()
	}
	procs := h.list()
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		var wg sync.WaitGroup
		for _, p := range procs {
			wg.Go(p.stop)
		}
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, p := range procs {
			p.killNow()
		}
		<-done
		return fmt.Errorf("plugin host shutdown: %w", ctx.Err())
	}
}

// Plugins returns the status of every configured plugin, in config order.
func (h *Host) Plugins() []hookgate.PluginStatus {
	procs := h.list()
	out := make([]hookgate.PluginStatus, 0, len(procs))
	for _, p := range procs {
		out = append(out, p.status())
	}
	return out
}

// Plugin returns the status of the plugin configured as name.
func (h *Host) Plugin(name string) (hookgate.PluginStatus, bool) {
	p := h.named(name)
	if p == nil {
		return hookgate.PluginStatus{}, false
	}
	return p.status(), true
}

// Transports a plugin's calls travel by: TransportCallSocket for a plugin
// that offers a call socket (every plugin built with the Go SDK),
// TransportGRPC for the others.
const (
	TransportCallSocket = "call socket"
	TransportGRPC       = "grpc"
)

// Transport says how calls reach the plugin configured as name now:
// TransportCallSocket or TransportGRPC, "" when it is not running.
func (h *Host) Transport(name string) string {
	p := h.named(name)
	if p == nil {
		return ""
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	switch {
	case p.rpc == nil:
		return ""
	case p.sock != nil:
		return TransportCallSocket
	}
	return TransportGRPC
}

// route rebuilds the routing tables after a plugin started (its Info may
// have changed) or the plugin list changed. The first plugin in config
// order to claim a name keeps it.
func (h *Host) route() {
	h.mu.Lock()
	defer h.mu.Unlock()
	formats := make(map[string]*proc, len(h.formats))
	transforms := make(map[string]*proc, len(h.transforms))
	for _, p := range h.procs {
		info := p.currentInfo()
		if info == nil {
			// Not started yet: keep what it provided before, so that a
			// restarting plugin keeps its names.
			for f, q := range h.formats {
				if q == p {
					formats[f] = p
				}
			}
			for t, q := range h.transforms {
				if q == p {
					transforms[t] = p
				}
			}
			continue
		}
		for _, f := range info.Formats {
			if cur, ok := formats[f]; ok && cur != p {
				h.log.Warn("format already provided by another plugin; ignored", "plugin", p.cfg.Name, "format", f, "provider", cur.cfg.Name)
				continue
			}
			formats[f] = p
		}
		for _, t := range info.Transforms {
			if cur, ok := transforms[t]; ok && cur != p {
				h.log.Warn("transform already provided by another plugin; ignored", "plugin", p.cfg.Name, "transform", t, "provider", cur.cfg.Name)
				continue
			}
			transforms[t] = p
		}
	}
	h.formats, h.transforms = formats, transforms
}

// formatProc and transformProc peek at the routing tables, without holding
// the plugin: for questions about it, not calls.
func (h *Host) formatProc(name string) *proc {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.formats[name]
}

func (h *Host) transformProc(name string) *proc {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.transforms[name]
}

// named peeks at the plugin configured as name.
func (h *Host) named(name string) *proc {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.byName[name]
}

// acquire returns the plugin table routes name to, held for a call: a
// reload that replaces it waits for release before stopping its process.
// Taking the hold under the routing lock means a plugin no longer routed
// is never newly held.
func (h *Host) acquire(table func(*Host) map[string]*proc, name string) *proc {
	h.mu.RLock()
	defer h.mu.RUnlock()
	p := table(h)[name]
	if p != nil {
		p.use()
	}
	return p
}

func formatsTable(h *Host) map[string]*proc    { return h.formats }
func transformsTable(h *Host) map[string]*proc { return h.transforms }
func namesTable(h *Host) map[string]*proc      { return h.byName }

// HasFormat reports whether a plugin that started at least once provides
// the format.
func (h *Host) HasFormat(name string) bool { return h.formatProc(name) != nil }

// HasTransform reports whether a plugin that started at least once provides
// the transform.
func (h *Host) HasTransform(name string) bool { return h.transformProc(name) != nil }

// FormatInfo describes one format a plugin provides.
type FormatInfo struct {
	Name              string `json:"name"`
	Plugin            string `json:"plugin"`
	Version           string `json:"version"`
	NeedsConfirmation bool   `json:"needs_confirmation"`
	Healthy           bool   `json:"healthy"`
}

// Formats lists the formats plugins provide, sorted by name.
func (h *Host) Formats() []FormatInfo {
	h.mu.RLock()
	procs := make(map[string]*proc, len(h.formats))
	for f, p := range h.formats {
		procs[f] = p
	}
	h.mu.RUnlock()
	out := make([]FormatInfo, 0, len(procs))
	for f, p := range procs {
		st := p.status()
		out = append(out, FormatInfo{Name: f, Plugin: st.Name, Version: st.Version,
			NeedsConfirmation: st.NeedsConfirmation, Healthy: st.Healthy})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// EventTypes returns the event types the plugin providing the format
// declares it renders (its Info); nil when it declares none (any type) or
// no plugin provides the format.
func (h *Host) EventTypes(format string) []string {
	p := h.formatProc(format)
	if p == nil {
		return nil
	}
	if ts := p.status().EventTypes; len(ts) > 0 {
		return ts
	}
	return nil
}

// AllowsHTTP reports whether the plugin providing the format (or, before it
// has started, the plugin of that name) is configured with allow_http.
func (h *Host) AllowsHTTP(format string) bool {
	p := h.formatProc(format)
	if p == nil {
		p = h.named(format)
	}
	return p != nil && p.cfg.AllowHTTP
}

// NeedsConfirmation reports whether webhooks with the format need the
// subscription confirmation handshake.
func (h *Host) NeedsConfirmation(format string) bool {
	p := h.formatProc(format)
	return p != nil && p.status().NeedsConfirmation
}

// FormatUnavailable says why the format name, which no plugin that started
// provides, may be provided by a configured plugin that has not started
// (checksum mismatch, missing executable...): the plugin named like the
// format if there is one, else every plugin that never started. "" when
// every configured plugin started: the format is then simply unknown.
func (h *Host) FormatUnavailable(name string) string {
	if h.formatProc(name) != nil {
		return ""
	}
	h.mu.RLock()
	procs := append([]*proc(nil), h.procs...)
	h.mu.RUnlock()
	var never []string
	for _, p := range procs {
		if p.currentInfo() != nil {
			continue
		}
		st := p.status()
		if p.cfg.Name == name {
			return fmt.Sprintf("plugin %s is not running: %s", name, st.Reason)
		}
		never = append(never, fmt.Sprintf("%s (%s)", p.cfg.Name, st.Reason))
	}
	if len(never) == 0 {
		return ""
	}
	return "no running plugin provides it, and these plugins did not start: " + strings.Join(never, "; ")
}

// Unavailable explains why no healthy plugin provides the format or
// transform name, for a clear error on webhook save; "" when one does.
func (h *Host) Unavailable(name string) string {
	p := h.formatProc(name)
	if p == nil {
		p = h.transformProc(name)
	}
	if p == nil {
		if q := h.named(name); q != nil {
			st := q.status()
			return fmt.Sprintf("plugin %s is not running: %s", name, st.Reason)
		}
		return fmt.Sprintf("no loaded plugin provides %q", name)
	}
	if st := p.status(); !st.Healthy {
		return fmt.Sprintf("plugin %s is not running: %s", st.Name, st.Reason)
	}
	return ""
}
