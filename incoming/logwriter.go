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
type LogWriter struct {
	store   LogAppender
	max     int
	log     *slog.Logger
	ch      chan hookgate.IncomingLogEntry
	dropped atomic.Int64
	wg      sync.WaitGroup
	mu      sync.RWMutex // guards closed against Record racing Shutdown
	closed  bool
}

// NewLogWriter returns a writer keeping max entries per webhook, with a
// queue of queue entries.
func NewLogWriter(s LogAppender, max, queue int, log *slog.Logger) *LogWriter {
	return &LogWriter{store: s, max: max, log: log, ch: make(chan hookgate.IncomingLogEntry, queue)}
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
		batch := make([]hookgate.IncomingLogEntry, 0, 256)
		for e := range w.ch {
			batch = append(batch[:0], e)
		drain:
			for len(batch) < cap(batch) {
				select {
				case e, ok := <-w.ch:
					if !ok {
						break drain
					}
					batch = append(batch, e)
				default:
					break drain
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := w.store.AppendIncomingLog(ctx, batch, w.max); err != nil {
				w.log.Warn("incoming request log not written", "entries", len(batch), "err", err)
			}
			cancel()
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
