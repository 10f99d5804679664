package incoming_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/incoming"
)

// appendRecorder keeps what a LogWriter writes, one slice per round trip.
type appendRecorder struct {
	mu      sync.Mutex
	batches [][]hookgate.IncomingLogEntry
}

func (r *appendRecorder) AppendIncomingLog(_ context.Context, entries []hookgate.IncomingLogEntry, _ int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, append([]hookgate.IncomingLogEntry(nil), entries...))
	return nil
}

func (r *appendRecorder) written() (batches, entries int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.batches {
		entries += len(b)
	}
	return len(r.batches), entries
}

func entry(i int) hookgate.IncomingRequestLog {
	return hookgate.IncomingRequestLog{RequestID: "req_" + string(rune('a'+i)), Method: "GET", Path: "/crm/v1/x", Status: 200}
}

// TestLogWriterLingersForABatch: entries recorded within the linger of the
// first travel in one write, in the order recorded; an entry recorded
// alone is still written (after the linger).
func TestLogWriterLingersForABatch(t *testing.T) {
	rec := &appendRecorder{}
	w := incoming.NewLogWriter(rec, 10, 64, time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.Start()
	defer w.Shutdown()
	for i := range 5 {
		w.Record("acme", "in_1", entry(i))
		time.Sleep(20 * time.Millisecond) // apart, as calls arriving one by one
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, n := rec.written(); n == 5 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	batches, n := rec.written()
	if n != 5 {
		t.Fatalf("%d entries written, want 5", n)
	}
	if batches != 1 {
		t.Errorf("5 entries recorded within the linger were written in %d round trips, want 1", batches)
	}
	for i, e := range rec.batches[0] {
		if e.Tenant != "acme" || e.ID != "in_1" || e.Entry.RequestID != entry(i).RequestID {
			t.Errorf("entry %d: %+v", i, e)
		}
	}
}

// TestLogWriterShutdownWritesWhatIsQueued: Shutdown does not drop the
// entries of a batch still lingering.
func TestLogWriterShutdownWritesWhatIsQueued(t *testing.T) {
	rec := &appendRecorder{}
	w := incoming.NewLogWriter(rec, 10, 64, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.Start()
	for i := range 3 {
		w.Record("acme", "in_1", entry(i))
	}
	w.Shutdown()
	if _, n := rec.written(); n != 3 {
		t.Fatalf("%d entries written by Shutdown, want 3", n)
	}
	w.Record("acme", "in_1", entry(4)) // after Shutdown: dropped, not a panic
	if w.Dropped() != 1 {
		t.Errorf("dropped %d, want 1", w.Dropped())
	}
}
