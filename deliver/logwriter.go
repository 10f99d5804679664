package deliver

import (
	"context"
	"sync"
	"time"

	"github.com/hookgate/hookgate"
)

// LogStore records a batch of attempts in one round trip and returns, per
// record, the webhook's consecutive failed deliveries after it
// (internal/store.DeliveryLog).
type LogStore interface {
	Write(ctx context.Context, recs []hookgate.LogRecord) ([]int64, error)
}

// LogWriter group-commits delivery log records: each caller waits for its
// record to be written, while one round trip carries every record that
// arrived during the previous one. A delivery is acknowledged only after its
// attempt is in the log, at the cost of one pipelined round trip per batch
// rather than one per delivery. A flusher lingers briefly after the first
// record of a batch so that batches form even when the flushers are idle:
// the linger delays only the task's acknowledgement (the request has been
// sent already), and it turns one script call per delivery into one per
// batch.
type LogWriter struct {
	log     LogStore
	ch      chan *pendingRecord
	flushes int
	max     int
	linger  time.Duration
	wg      sync.WaitGroup
}

type pendingRecord struct {
	rec         hookgate.LogRecord
	consecutive int64
	err         error
	done        chan struct{}
}

var pendingPool = sync.Pool{New: func() any { return &pendingRecord{done: make(chan struct{}, 1)} }}

// NewLogWriter returns a writer over log with flushers concurrent round trips
// of at most maxBatch records each, each waiting up to linger for a batch to
// fill.
func NewLogWriter(log LogStore, flushers, maxBatch int, linger time.Duration) *LogWriter {
	return &LogWriter{log: log, ch: make(chan *pendingRecord, flushers*maxBatch), flushes: flushers, max: maxBatch, linger: linger}
}

// Start runs the flushers until Shutdown.
func (w *LogWriter) Start() {
	for range w.flushes {
		w.wg.Add(1)
		go w.run()
	}
}

// Shutdown stops the flushers after what is queued is written. Callers must
// have stopped recording.
func (w *LogWriter) Shutdown() {
	close(w.ch)
	w.wg.Wait()
}

func (w *LogWriter) run() {
	defer w.wg.Done()
	batch := make([]*pendingRecord, 0, w.max)
	recs := make([]hookgate.LogRecord, 0, w.max)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for first := range w.ch {
		batch = append(batch[:0], first)
		if w.linger > 0 {
			timer.Reset(w.linger)
		}
	fill:
		for len(batch) < w.max {
			if w.linger <= 0 {
				select {
				case p, ok := <-w.ch:
					if !ok {
						break fill
					}
					batch = append(batch, p)
				default:
					break fill
				}
				continue
			}
			select {
			case p, ok := <-w.ch:
				if !ok {
					break fill
				}
				batch = append(batch, p)
			case <-timer.C:
				break fill
			}
		}
		timer.Stop()
		recs = recs[:0]
		for _, p := range batch {
			recs = append(recs, p.rec)
		}
		res, err := w.log.Write(context.Background(), recs)
		for i, p := range batch {
			p.err = err
			if err == nil {
				p.consecutive = res[i]
			}
			p.done <- struct{}{}
		}
	}
}

// Record writes rec and returns the webhook's consecutive failures after it.
func (w *LogWriter) Record(ctx context.Context, rec hookgate.LogRecord) (int64, error) {
	p := pendingPool.Get().(*pendingRecord)
	p.rec = rec
	w.ch <- p
	<-p.done
	n, err := p.consecutive, p.err
	p.rec = hookgate.LogRecord{}
	pendingPool.Put(p)
	return n, err
}
