package bench

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/hookgate/hookgate/app"
	"github.com/hookgate/hookgate/internal/store"
)

// timeline samples, every step during a run, what helps find where a
// stall comes from: deliveries arrived at the receiver, the queue's
// pending, active, scheduled and retry tasks, Redis commands run, the
// dead endpoint's worker parkings and wake-ups, and the process's
// goroutines.
type timeline struct {
	mu   sync.Mutex
	rows []timelineRow
	stop chan struct{}
	done chan struct{}
}

type timelineRow struct {
	at                                time.Duration
	delivered                         int64
	pending, active, scheduled, retry int
	commands                          float64
	busy, woken, parkedEnq            float64
	goroutines                        int
	late                              int           // deliveries arrived in the step over 25 ms after their event
	worst                             time.Duration // the longest of them
}

func startTimeline(ctx context.Context, rdb store.Client, a *app.App, recv *receiver, queues []string, step time.Duration) *timeline {
	t := &timeline{stop: make(chan struct{}), done: make(chan struct{})}
	begin := time.Now()
	go func() {
		defer close(t.done)
		tick := time.NewTicker(step)
		defer tick.Stop()
		seen := 0
		for {
			row := timelineRow{at: time.Since(begin), delivered: recv.count.Load(), goroutines: runtime.NumGoroutine(),
				busy:      appCounter(a, "hookgate_delivery_endpoint_busy_total"),
				woken:     appCounter(a, "hookgate_delivery_parked_woken_total"),
				parkedEnq: appCounter(a, "hookgate_delivery_parked_enqueued_total"),
				commands:  redisCost(ctx, rdb).Commands}
			for _, q := range queues {
				k := "asynq:{" + q + "}:"
				pipe := rdb.Pipeline()
				pe, ac := pipe.LLen(ctx, k+"pending"), pipe.LLen(ctx, k+"active")
				sc, re := pipe.ZCard(ctx, k+"scheduled"), pipe.ZCard(ctx, k+"retry")
				if _, err := pipe.Exec(ctx); err == nil {
					row.pending += int(pe.Val())
					row.active += int(ac.Val())
					row.scheduled += int(sc.Val())
					row.retry += int(re.Val())
				}
			}
			recv.mu.Lock()
			if seen > len(recv.latencies) {
				seen = 0 // the run reset the receiver's latencies
			}
			for _, l := range recv.latencies[seen:] {
				if l > 25*time.Millisecond {
					row.late++
				}
				row.worst = max(row.worst, l)
			}
			seen = len(recv.latencies)
			recv.mu.Unlock()
			t.mu.Lock()
			t.rows = append(t.rows, row)
			t.mu.Unlock()
			select {
			case <-t.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return t
}

// write stops the sampling and writes the rows, differences per step for
// the counters, as tab-separated columns.
func (t *timeline) write(w io.Writer) {
	close(t.stop)
	<-t.done
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(w, "t_ms\tdelivered\tpending\tactive\tscheduled\tretry\tredis_cmds\tworker_parked\twoken\tparked_enq\tgoroutines\tlate\tworst_ms\n")
	for i := 1; i < len(t.rows); i++ {
		r, p := t.rows[i], t.rows[i-1]
		fmt.Fprintf(w, "%d\t%d\t%d\t%d\t%d\t%d\t%.0f\t%.0f\t%.0f\t%.0f\t%d\t%d\t%.1f\n", r.at.Milliseconds(), r.delivered-p.delivered,
			r.pending, r.active, r.scheduled, r.retry, r.commands-p.commands, r.busy-p.busy, r.woken-p.woken, r.parkedEnq-p.parkedEnq, r.goroutines, r.late, msf(r.worst))
	}
}
