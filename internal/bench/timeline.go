package bench

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hookgate/hookgate/internal/store"
)

// timeline samples, every step during a run, what helps find where a
// stall comes from: deliveries arrived at the receiver (and how many of
// them late), the queue's pending, active, scheduled and retry tasks,
// Redis commands run (and the most called), and the process's goroutines.
// It reads Redis directly (one INFO commandstats, one queue-depth
// pipeline and one INFO persistence per step), not through the app's
// metrics registry, whose gathering would add its own reads.
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
	goroutines                        int
	calls                             map[string]float64 // Redis calls by command, from INFO commandstats
	late                              int                // deliveries arrived in the step over 25 ms after their event
	worst                             time.Duration      // the longest of them
	rewrites                          int64              // AOF rewrites Redis has started (aofRewrites)
}

func startTimeline(ctx context.Context, rdb store.Client, recv *receiver, queues []string, step time.Duration) *timeline {
	t := &timeline{stop: make(chan struct{}), done: make(chan struct{})}
	begin := time.Now()
	go func() {
		defer close(t.done)
		tick := time.NewTicker(step)
		defer tick.Stop()
		seen := 0
		for {
			row := timelineRow{at: time.Since(begin), delivered: recv.count.Load(), goroutines: runtime.NumGoroutine()}
			if u, err := store.CommandStats(ctx, rdb); err == nil {
				row.commands, row.calls = u.Commands, u.Calls
			}
			if n, err := store.QueueDepths(ctx, rdb, queues); err == nil {
				row.pending, row.active, row.scheduled, row.retry = int(n[0]), int(n[1]), int(n[2]), int(n[3])
			}
			row.rewrites = aofRewrites(ctx, rdb)
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
	fmt.Fprintf(w, "t_ms\tdelivered\tpending\tactive\tscheduled\tretry\tredis_cmds\tgoroutines\tlate\tworst_ms\taof_rewrite\tmost_run_commands\n")
	for i := 1; i < len(t.rows); i++ {
		r, p := t.rows[i], t.rows[i-1]
		fmt.Fprintf(w, "%d\t%d\t%d\t%d\t%d\t%d\t%.0f\t%d\t%d\t%.1f\t%d\t%s\n", r.at.Milliseconds(), r.delivered-p.delivered,
			r.pending, r.active, r.scheduled, r.retry, r.commands-p.commands, r.goroutines, r.late, msf(r.worst), r.rewrites-p.rewrites, topCalls(r.calls, p.calls, 6))
	}
}

// topCalls lists the n commands called most between prev and cur.
func topCalls(cur, prev map[string]float64, n int) string {
	type kv struct {
		k string
		v float64
	}
	var kvs []kv
	for k, v := range cur {
		if d := v - prev[k]; d > 0 {
			kvs = append(kvs, kv{k, d})
		}
	}
	sort.Slice(kvs, func(i, j int) bool { return kvs[i].v > kvs[j].v })
	var out []string
	for i := 0; i < len(kvs) && i < n; i++ {
		out = append(out, kvs[i].k+"="+strconv.FormatFloat(kvs[i].v, 'f', 0, 64))
	}
	return strings.Join(out, ",")
}
