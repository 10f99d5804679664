package incoming

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookgate/hookgate"
)

// LogAppender writes request log entries in batches (implemented by store.Store).
type LogAppender interface {
	AppendIncomingLog(ctx context.Context, entries []hookgate.IncomingLogEntry, max int) error
}

// LogWriter keeps the request log off the proxy's path: Record queues an
// entry, one goroutine writes what is queued in one pipelined round trip.
// When the queue is full the entry is dropped and counted, never blocking a
// caller.
//
// The writer lingers up to LogLinger after the first entry of a batch for
// more to arrive (or until a batch holds LogBatch entries): under load one
// round trip then carries dozens of entries instead of two or three, which
// costs Redis (and this process) far less per entry; an entry reaches the
// log at most LogLinger later than it would have without the linger.
type LogWriter struct {
	store   LogAppender
	max     int
	linger  time.Duration
	log     *slog.Logger
	ch      chan hookgate.IncomingLogEntry
	dropped atomic.Int64
	wg      sync.WaitGroup
	mu      sync.RWMutex // guards closed against Record racing Shutdown
	closed  bool
}

// LogLinger is how long the writer waits after the first entry of a batch
// for more entries (the default, see NewLogWriter); LogBatch bounds the
// entries of one round trip.
const (
	LogLinger = 10 * time.Millisecond
	LogBatch  = 256
)

// NewLogWriter returns a writer keeping keep entries per webhook, with a
// queue of queue entries, lingering linger (LogLinger when 0; not at all
// when negative) for a batch to fill.
func NewLogWriter(s LogAppender, keep, queue int, linger time.Duration, log *slog.Logger) *LogWriter {
	if linger == 0 {
		linger = LogLinger
	}
	return &LogWriter{store: s, max: keep, linger: linger, log: log, ch: make(chan hookgate.IncomingLogEntry, queue)}
}

// Record queues an entry (dropped when the queue is full).
func (w *LogWriter) Record(tenant, id string, e hookgate.IncomingRequestLog) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		w.dropped.Add(1)
		return
	}
	select {
	case w.ch <- hookgate.IncomingLogEntry{Tenant: tenant, ID: id, Entry: e}:
	default:
		w.dropped.Add(1)
	}
}

// Dropped counts entries dropped because the queue was full.
func (w *LogWriter) Dropped() int64 { return w.dropped.Load() }

// Start starts the writing goroutine.
func (w *LogWriter) Start() {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		batch := make([]hookgate.IncomingLogEntry, 0, LogBatch)
		timer := time.NewTimer(time.Hour)
		timer.Stop()
		for e := range w.ch {
			batch = append(batch[:0], e)
			if w.linger > 0 {
				timer.Reset(w.linger)
			}
		fill:
			for len(batch) < cap(batch) {
				var wait <-chan time.Time // nil: take only what is queued
				if w.linger > 0 {
					wait = timer.C
				} else if len(w.ch) == 0 {
					break
				}
				select {
				case e, ok := <-w.ch:
					if !ok {
						break fill // Shutdown: write what is here, then stop
					}
					batch = append(batch, e)
				case <-wait:
					break fill
				}
			}
			timer.Stop()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := w.store.AppendIncomingLog(ctx, batch, w.max); err != nil {
				w.log.Warn("incoming request log not written", "entries", len(batch), "err", err)
			}
			cancel()
			clear(batch) // the entries' bodies are not kept alive until the next batch
		}
	}()
}

// Shutdown writes what is queued and stops; later entries are dropped.
func (w *LogWriter) Shutdown() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.ch)
	}
	w.mu.Unlock()
	w.wg.Wait()
}
