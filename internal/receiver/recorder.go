package receiver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// RecorderLimit is how many deliveries a Recorder keeps; older ones are
// dropped (they still count for WaitFor and Stats).
const RecorderLimit = 10000

// Recorder is a receiver for tests: it verifies every request like `hookgate
// receive` and keeps it in memory instead of printing it.
//
//	rec := receiver.NewRecorder(secret)
//	srv := httptest.NewServer(rec)
//	defer srv.Close()
//	... point a webhook at srv.URL, publish ...
//	got, err := rec.WaitFor(ctx, 1)
//
// By default it answers 200, or 401 when secrets were given and verification
// failed. SetStatus and SetHandler change the answer. A Recorder is safe for
// concurrent use.
type Recorder struct {
	mu        sync.Mutex
	in        inspector
	status    int
	handler   http.HandlerFunc
	kept      []Delivery // the most recent, at most RecorderLimit
	head      int        // index of the oldest once kept is full
	total     int
	changed   chan struct{} // closed and replaced at every delivery
	ok        atomic.Uint64
	failed    atomic.Uint64
	unchecked atomic.Uint64
}

var _ http.Handler = (*Recorder)(nil)

// NewRecorder returns a Recorder that verifies with secrets (any may match);
// with none it verifies nothing and records every request as unchecked.
func NewRecorder(secrets ...string) *Recorder {
	return &Recorder{
		in: inspector{
			secrets: append([]string(nil), secrets...),
			client:  &http.Client{Timeout: ConfirmTimeout},
		},
		status:  http.StatusOK,
		changed: make(chan struct{}),
	}
}

// ServeHTTP reads, verifies and records the request, then answers it: with the
// custom handler if one is set (the body is readable again), otherwise with
// the status (401 on failed verification).
func (rc *Recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	in, status, handler := rc.in, rc.status, rc.handler
	rc.mu.Unlock()

	d, code := in.inspect(r, status)
	count(d, &rc.ok, &rc.failed, &rc.unchecked)

	rc.mu.Lock()
	if len(rc.kept) < RecorderLimit {
		rc.kept = append(rc.kept, d)
	} else { // a ring: overwrite the oldest
		rc.kept[rc.head] = d
		rc.head = (rc.head + 1) % RecorderLimit
	}
	rc.total++
	close(rc.changed)
	rc.changed = make(chan struct{})
	rc.mu.Unlock()

	if handler != nil {
		r.Body = io.NopCloser(bytes.NewReader(d.Body))
		handler(w, r)
		return
	}
	answer(w, d, code)
}

// Deliveries returns the kept deliveries, oldest first.
func (rc *Recorder) Deliveries() []Delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make([]Delivery, 0, len(rc.kept))
	return append(append(out, rc.kept[rc.head:]...), rc.kept[:rc.head]...)
}

// Count returns how many requests were received since NewRecorder or Reset.
func (rc *Recorder) Count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.total
}

// WaitFor waits until at least n requests have been received (since
// NewRecorder or Reset), then returns the kept deliveries, oldest first. When
// ctx ends first it returns what was received so far and an error naming how
// many arrived.
func (rc *Recorder) WaitFor(ctx context.Context, n int) ([]Delivery, error) {
	for {
		rc.mu.Lock()
		total, changed := rc.total, rc.changed
		rc.mu.Unlock()
		if total >= n {
			return rc.Deliveries(), nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return rc.Deliveries(), fmt.Errorf("wait for %d deliveries: got %d: %w", n, total, ctx.Err())
		}
	}
}

// SetStatus sets the status answered to deliveries that verify (or to every
// delivery when the Recorder has no secret). The default is 200.
func (rc *Recorder) SetStatus(code int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.status = code
}

// SetHandler makes h answer every request after it is recorded, whatever
// the verification said: hold it (block on r.Context()), redirect, answer
// slowly... The request body is readable again. nil restores the default.
func (rc *Recorder) SetHandler(h http.HandlerFunc) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.handler = h
}

// SetTolerance sets how far a timestamp may be from this clock; 0 means
// signing.DefaultTolerance.
func (rc *Recorder) SetTolerance(d time.Duration) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.in.tolerance = d
}

// SetAutoConfirm makes the Recorder follow the SubscribeURL of an SNS-style
// SubscriptionConfirmation before recording it (see Delivery.Confirmation).
func (rc *Recorder) SetAutoConfirm(on bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.in.autoConfirm = on
}

// Stats returns how many requests were received, by verification outcome,
// since NewRecorder or Reset.
func (rc *Recorder) Stats() Stats {
	return Stats{OK: rc.ok.Load(), Failed: rc.failed.Load(), Unchecked: rc.unchecked.Load()}
}

// Reset forgets every delivery and zeroes the counts; settings are kept.
func (rc *Recorder) Reset() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.kept, rc.head, rc.total = nil, 0, 0
	rc.ok.Store(0)
	rc.failed.Store(0)
	rc.unchecked.Store(0)
}
