package host

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hookgate/hookgate"
)

// Kinds of plugin failure: the label kind of hookgate_plugin_errors_total
// and what Kind returns.
const (
	KindPanic       = "panic"       // the plugin panicked in the call (the SDK answered with the panic's message)
	KindCrash       = "crash"       // the process exited or closed its connection during the call
	KindTimeout     = "timeout"     // the plugin did not answer within its timeout
	KindError       = "error"       // the plugin answered the call with an error
	KindInvalid     = "invalid"     // the answer broke the contract (bad JSON, headers, size)
	KindUnavailable = "unavailable" // not running, not loaded, or its circuit breaker is open
)

// Failure is the cause wrapped by every plugin error: which plugin failed
// and how. It matches ErrPlugin with errors.Is.
type Failure struct {
	Plugin string
	Kind   string
}

func (f *Failure) Error() string { return "plugin " + f.Plugin + ": " + f.Kind }

// Is makes every Failure match ErrPlugin.
func (f *Failure) Is(target error) bool { return target == ErrPlugin }

// Kind returns the kind of plugin failure in err's chain, "" when err does
// not come from a plugin.
func Kind(err error) string {
	var f *Failure
	if errors.As(err, &f) {
		return f.Kind
	}
	return ""
}

// codeOf is the hookgate error code of a kind: an unavailable plugin is
// 503, a timeout 504, anything else it did wrong 502 (an upstream failed).
func codeOf(kind string) string {
	switch kind {
	case KindUnavailable:
		return hookgate.EUNAVAILABLE
	case KindTimeout:
		return hookgate.ETIMEOUT
	}
	return hookgate.EBADGATEWAY
}

// pluginError returns the error of a failed call: a *hookgate.Error whose
// chain holds a *Failure (and so ErrPlugin).
func pluginError(kind, plugin, format string, args ...any) error {
	return &hookgate.Error{Code: codeOf(kind), Message: "plugin " + plugin + ": " + fmt.Sprintf(format, args...),
		Err: &Failure{Plugin: plugin, Kind: kind}}
}

// breaker is a plugin's circuit breaker: after `failures` consecutive
// failures that say the plugin is broken (panic, crash, timeout, invalid
// answer) it opens, and calls fail at once as unavailable; after `cooldown`
// one call is let through, whose success closes it and whose failure opens
// it again. An error the plugin answers on purpose does not count.
type breaker struct {
	failures int
	cooldown time.Duration
	onChange func(open bool)

	mu       sync.Mutex
	n        int
	openedAt time.Time
	open     bool
	trial    bool // a half-open trial call is in flight
}

// allow reports whether a call may go to the plugin now.
func (b *breaker) allow() bool {
	if b == nil || b.failures <= 0 {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open {
		return true
	}
	if b.trial || time.Since(b.openedAt) < b.cooldown {
		return false
	}
	b.trial = true
	return true
}

// retryIn is how long until an open breaker lets a trial call through.
func (b *breaker) retryIn() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return max(0, b.cooldown-time.Since(b.openedAt))
}

// record counts the outcome of a call that allow let through.
func (b *breaker) record(kind string) {
	if b == nil || b.failures <= 0 {
		return
	}
	counts := kind == KindPanic || kind == KindCrash || kind == KindTimeout || kind == KindInvalid
	b.mu.Lock()
	wasOpen := b.open
	b.trial = false
	switch {
	case kind == KindUnavailable:
		// Not an outcome of the plugin's code: leave the count alone.
	case !counts:
		b.n, b.open = 0, false
	default:
		b.n++
		if b.open || b.n >= b.failures {
			b.open, b.openedAt = true, time.Now()
		}
	}
	open := b.open
	b.mu.Unlock()
	if open != wasOpen && b.onChange != nil {
		b.onChange(open)
	}
}

// ready reports, without taking it, whether allow would let a call through.
func (b *breaker) ready() bool {
	if b == nil || b.failures <= 0 {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.open || (!b.trial && time.Since(b.openedAt) >= b.cooldown)
}

func (b *breaker) isOpen() bool {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.open
}

// WaitAvailable waits until the plugin that provides the format or
// transform name can take calls (running, breaker closed or ready for a
// trial), up to max or until ctx ends. It reports whether it can; a name no
// configured plugin could provide is not waited for.
func (h *Host) WaitAvailable(ctx context.Context, name string, max time.Duration) bool {
	deadline := time.Now().Add(max)
	for {
		// Looked up every round: a reload may replace the plugin meanwhile.
		p := h.formatProc(name)
		if p == nil {
			p = h.transformProc(name)
		}
		if p == nil {
			return false
		}
		ch := p.changes()
		if p.callable() {
			return true
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		wait := min(left, time.Second)
		if p.breaker.isOpen() {
			wait = min(wait, p.breaker.retryIn()+time.Millisecond)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-ch:
		case <-t.C:
		}
		t.Stop()
	}
}
