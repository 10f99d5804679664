// Package receiver is the logic of `hookgate receive`: a small HTTP server that
// receives webhook deliveries, verifies both signature schemes with the
// signing package, prints each delivery and answers with a chosen status. It
// also follows SNS-style SubscriptionConfirmation links on request.
//
// Its Recorder is the same receiver for tests: it keeps the deliveries in
// memory, lets a test wait for them without parsing text, and can answer with
// any status or custom behaviour (hold the request, redirect, ...).
//
// The receiver is a tool for trying and testing hookgate, not a production
// endpoint: its limits are fixed (1 MiB bodies) and it trusts the user who
// starts it, so it follows confirmation links to any address, but only for
// deliveries that verified (or when no secret was given at all).
package receiver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Receiver. The zero value of each field is usable.
type Config struct {
	// Addr is the address Run listens on, e.g. ":9000" or "127.0.0.1:0".
	Addr string
	// Secrets verify deliveries; any of them may match (rotation). None:
	// nothing is verified and every delivery is answered Status.
	Secrets []string
	// Status answers a verified delivery (or any, without secrets); 0 means
	// 200. A failed verification is answered 401.
	Status int
	// Out receives one line per delivery, then the body; nil discards.
	Out io.Writer
	// Quiet prints the summary line only, not the body.
	Quiet bool
	// Tolerance is how far a timestamp may be from this clock; 0 means
	// signing.DefaultTolerance (5 minutes).
	Tolerance time.Duration
	// AutoConfirm follows the SubscribeURL of an SNS-style
	// SubscriptionConfirmation body with a GET, and prints the result.
	AutoConfirm bool
	// Client makes the confirmation GETs; nil means a client with
	// ConfirmTimeout.
	Client *http.Client
}

// Receiver is the http.Handler of `hookgate receive`. It is safe for
// concurrent use.
type Receiver struct {
	in     inspector
	status int
	out    io.Writer
	quiet  bool

	mu                    sync.Mutex // serialises writes to out
	ok, failed, unchecked atomic.Uint64
}

var _ http.Handler = (*Receiver)(nil)

// New returns a Receiver for cfg. cfg.Addr is not used by the handler.
func New(cfg Config) *Receiver {
	status := cfg.Status
	if status == 0 {
		status = http.StatusOK
	}
	out := cfg.Out
	if out == nil {
		out = io.Discard
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{Timeout: ConfirmTimeout}
	}
	return &Receiver{
		in:     inspector{secrets: cfg.Secrets, tolerance: cfg.Tolerance, autoConfirm: cfg.AutoConfirm, client: client},
		status: status,
		out:    out,
		quiet:  cfg.Quiet,
	}
}

// ServeHTTP receives, verifies, prints and answers one delivery.
func (rv *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d, code := rv.in.inspect(r, rv.status)
	count(d, &rv.ok, &rv.failed, &rv.unchecked)
	text := format(d, code, rv.quiet)
	rv.mu.Lock()
	_, _ = io.WriteString(rv.out, text)
	rv.mu.Unlock()
	answer(w, d, code)
}

// Stats returns how many deliveries were received, by verification outcome.
func (rv *Receiver) Stats() Stats {
	return Stats{OK: rv.ok.Load(), Failed: rv.failed.Load(), Unchecked: rv.unchecked.Load()}
}

func count(d Delivery, ok, failed, unchecked *atomic.Uint64) {
	switch {
	case d.Verified:
		ok.Add(1)
	case isUnchecked(d):
		unchecked.Add(1)
	default:
		failed.Add(1)
	}
}

// Run listens on cfg.Addr and serves a Receiver until ctx ends, then shuts
// down gracefully. It returns nil after a shutdown caused by ctx.
func Run(ctx context.Context, cfg Config) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("receive: listen %s: %w", cfg.Addr, err)
	}
	return Serve(ctx, ln, cfg)
}

// Serve is Run on a listener the caller opened (tests listen on port 0). It
// closes ln.
func Serve(ctx context.Context, ln net.Listener, cfg Config) error {
	srv := &http.Server{
		Handler:           New(cfg),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	if cfg.Out != nil {
		check := "verifying both signature schemes"
		if len(cfg.Secrets) == 0 {
			check = "no secret: signatures are not checked"
		}
		_, _ = fmt.Fprintf(cfg.Out, "hookgate receive: listening on http://%s (%s)\n", ln.Addr(), check)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("receive: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		_ = srv.Close() // requests still in flight after the grace period
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("receive: shutdown: %w", err)
	}
	return nil
}
