package host

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
)

// Outcomes of a reload for one plugin (hookgate.PluginReloadResult.Result).
const (
	ReloadAdded     = "added"     // a new plugin started
	ReloadUpgraded  = "upgraded"  // a new process (new executable or settings) replaced the old one
	ReloadRemoved   = "removed"   // no longer configured: drained and stopped
	ReloadUnchanged = "unchanged" // same configuration and executable: left running
	ReloadKeptOld   = "kept_old"  // the change was not applied (Reason says why); the old one runs on
	ReloadFailed    = "failed"    // a new plugin did not start (Reason says why); nothing runs for it
)

// Provides is what a plugin offers that webhooks may depend on.
type Provides struct {
	Formats    []string
	Transforms []string
	// Incoming is true when the plugin translates incoming webhook requests.
	Incoming bool
}

func (p Provides) empty() bool { return len(p.Formats) == 0 && len(p.Transforms) == 0 && !p.Incoming }

// Guard is asked, before a reload removes a plugin or replaces it with a
// version that no longer provides something, whether anything still uses
// what would be lost; it returns why the change is refused ("" allows it).
type Guard func(ctx context.Context, plugin string, lost Provides) string

// ErrNotRunning is returned by Reload before Start or after Shutdown.
var ErrNotRunning = errors.New("plugin host is not running")

// Reload applies a new plugins section without stopping deliveries. New
// plugins are started; a plugin whose configuration or executable changed
// gets a new process, which takes over once it has started and answered
// Info; plugins no longer configured are removed. A replaced or removed
// process stops only when the calls holding it are done (or its timeout
// has passed, which bounds any call). A new version that does not start
// (missing executable, checksum mismatch, no handshake) leaves the old one
// running (kept_old); so does a removal or an upgrade that guard refuses.
//
// Reloads are serialised with each other and with Shutdown.
func (h *Host) Reload(ctx context.Context, cfg []config.Plugin, guard Guard) ([]hookgate.PluginReloadResult, error) {
	cfg, err := normalize(cfg)
	if err != nil {
		return nil, err
	}
	h.reloadMu.Lock()
	defer h.reloadMu.Unlock()
	if !h.started || h.stopped {
		return nil, ErrNotRunning
	}
	if guard == nil {
		guard = func(context.Context, string, Provides) string { return "" }
	}
	old := h.list()
	oldBy := make(map[string]*proc, len(old))
	for _, p := range old {
		oldBy[p.cfg.Name] = p
	}

	type step struct {
		cfg config.Plugin
		old *proc // nil: added
		new *proc // nil: unchanged
		err error
	}
	steps := make([]*step, len(cfg))
	var wg sync.WaitGroup
	for i, c := range cfg {
		s := &step{cfg: c, old: oldBy[c.Name]}
		steps[i] = s
		if s.old != nil && !s.old.changed(c) {
			continue
		}
		s.new = newProc(h, c) // not routed until the swap
		wg.Go(func() { s.err = s.new.launch(ctx) })
	}
	wg.Wait()

	var next, retired, discard []*proc
	var results []hookgate.PluginReloadResult
	for _, s := range steps {
		r := hookgate.PluginReloadResult{Name: s.cfg.Name}
		switch {
		case s.new == nil:
			r.Result, r.Version = ReloadUnchanged, s.old.status().Version
			next = append(next, s.old)
		case s.old == nil && s.err != nil:
			r.Result, r.Reason = ReloadFailed, s.err.Error()
			discard = append(discard, s.new)
		case s.old == nil:
			r.Result, r.Version = ReloadAdded, s.new.status().Version
			next = append(next, s.new)
		case s.err != nil:
			r.Result, r.Reason, r.Version = ReloadKeptOld, "the new version did not start: "+s.err.Error(), s.old.status().Version
			next = append(next, s.old)
			discard = append(discard, s.new)
		default:
			why := ""
			if l := lost(s.old.provides(), s.new.provides()); !l.empty() {
				why = guard(ctx, s.cfg.Name, l)
			}
			if why != "" {
				r.Result, r.Reason, r.Version = ReloadKeptOld, why, s.old.status().Version
				next = append(next, s.old)
				discard = append(discard, s.new)
				break
			}
			r.Result, r.Version = ReloadUpgraded, s.new.status().Version
			if prev := s.old.status().Version; prev != r.Version {
				r.PreviousVersion = prev
			}
			next = append(next, s.new)
			retired = append(retired, s.old)
		}
		results = append(results, r)
	}
	for _, p := range old {
		if slices.ContainsFunc(cfg, func(c config.Plugin) bool { return c.Name == p.cfg.Name }) {
			continue
		}
		r := hookgate.PluginReloadResult{Name: p.cfg.Name, Version: p.status().Version}
		all := p.provides()
		all.Incoming = true // an incoming webhook may name it whatever it said
		if why := guard(ctx, p.cfg.Name, all); why != "" {
			r.Result, r.Reason = ReloadKeptOld, why
			next = append(next, p)
		} else {
			r.Result = ReloadRemoved
			retired = append(retired, p)
		}
		results = append(results, r)
	}

	// The swap: from here calls reach the new processes.
	h.mu.Lock()
	h.procs = next
	h.byName = make(map[string]*proc, len(next))
	for _, p := range next {
		h.byName[p.cfg.Name] = p
	}
	h.mu.Unlock()
	h.route()
	for _, s := range steps {
		if s.new != nil && slices.Contains(next, s.new) {
			h.superviseProc(s.new)
		}
	}
	var stops sync.WaitGroup
	for _, p := range discard {
		stops.Go(p.stop)
	}
	for _, p := range retired {
		stops.Go(func() { h.drainAndStop(p) })
	}
	stops.Wait()
	for _, r := range results {
		if r.Result != ReloadUnchanged {
			h.log.Info("plugin reloaded", "plugin", r.Name, "result", r.Result, "version", r.Version, "reason", r.Reason)
		}
	}
	return results, nil
}

// drainAndStop stops a retired plugin's supervisor, waits for the calls
// that hold it (each is bounded by the plugin's timeout, so the wait is
// too), then stops its process gracefully.
func (h *Host) drainAndStop(p *proc) {
	p.mu.Lock()
	stopSup, supDone := p.stopSupervisor, p.supervised
	p.mu.Unlock()
	if stopSup != nil {
		stopSup()
		<-supDone
	}
	bound := time.NewTimer(p.cfg.Timeout.D() + time.Second)
	defer bound.Stop()
	select {
	case <-p.retire():
	case <-bound.C:
		h.log.Warn("plugin still busy after its timeout; stopping it", "plugin", p.cfg.Name, "calls", p.refs.Load())
	}
	p.stop()
	p.up.Set(0)
}

// changed reports whether c or the executable it names differs from what
// p runs.
func (p *proc) changed(c config.Plugin) bool {
	if !reflect.DeepEqual(p.cfg, c) {
		return true
	}
	p.mu.RLock()
	running := p.exeSum
	p.mu.RUnlock()
	path, err := (&proc{cfg: c}).resolve()
	if err != nil {
		return false // still missing: its supervisor keeps trying
	}
	sum, err := fileSHA256(path)
	return err == nil && sum != running
}

// provides is what p's running process said it provides.
func (p *proc) provides() Provides {
	info := p.currentInfo()
	if info == nil {
		return Provides{}
	}
	return Provides{Formats: info.Formats, Transforms: info.Transforms, Incoming: info.Incoming}
}

// lost is what was provides and now does not.
func lost(was, now Provides) Provides {
	var l Provides
	for _, f := range was.Formats {
		if !slices.Contains(now.Formats, f) {
			l.Formats = append(l.Formats, f)
		}
	}
	for _, t := range was.Transforms {
		if !slices.Contains(now.Transforms, t) {
			l.Transforms = append(l.Transforms, t)
		}
	}
	l.Incoming = was.Incoming && !now.Incoming
	return l
}
