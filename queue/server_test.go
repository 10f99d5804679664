package queue_test

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/testenv"
	"github.com/hookgate/hookgate/queue"
)

type nopDeliverer struct{}

func (nopDeliverer) Deliver(context.Context, *hookgate.Task, int, int) error { return nil }
func (nopDeliverer) RetryDelay(error) time.Duration                          { return time.Second }
func (nopDeliverer) IsFailure(error) bool                                    { return true }

// concurrencies returns the concurrency of each asynq server registered on
// queue q, sorted.
func concurrencies(t *testing.T, insp *asynq.Inspector, q string) []int {
	t.Helper()
	srvs, err := insp.Servers()
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, s := range srvs {
		if _, ok := s.Queues[q]; ok {
			out = append(out, s.Concurrency)
		}
	}
	slices.Sort(out)
	return out
}

// A process runs DefaultDequeuers asynq servers on its queue, splitting its
// workers between them, so that their dequeues overlap; with a single
// worker it runs one, which takes the tasks one at a time in order.
func TestServersPerQueueShareTheWorkers(t *testing.T) {
	testenv.SkipShort(t, "starts asynq servers on the test Redis")
	rdb := testenv.Redis(t)
	insp := asynq.NewInspectorFromRedisClient(rdb)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, c := range []struct {
		conc int
		want []int
	}{{9, []int{4, 5}}, {1, []int{1}}} {
		q := testenv.Prefix("hgsrvq")
		srv := queue.NewServer(rdb, queue.ServerConfig{Queues: []string{q}, Concurrency: c.conc, PollInterval: 2 * time.Millisecond,
			ShutdownTimeout: time.Second, Logger: logger}, nopDeliverer{}, nil)
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		var got []int
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if got = concurrencies(t, insp, q); len(got) >= len(c.want) {
				break
			}
		}
		srv.Shutdown()
		_ = testenv.DeleteDeployment(context.Background(), rdb, q, q)
		if !slices.Equal(got, c.want) {
			t.Errorf("concurrency %d: servers on the queue have %v workers, want %v", c.conc, got, c.want)
		}
	}
}

// hookgate_queue_depth{state} sums each state's tasks over the queues (the
// shards), as asynq's inspector counts them.
func TestQueueDepthCountsEachStateOverTheShards(t *testing.T) {
	rdb := testenv.Redis(t)
	q := testenv.Prefix("hgdepth")
	shards := queue.ShardNames(q, 2)
	t.Cleanup(func() {
		for _, s := range shards {
			_ = queue.DeleteQueue(rdb, s)
		}
	})
	c := asynq.NewClientFromRedisClient(rdb)
	enqueue := func(s string, opts ...asynq.Option) {
		t.Helper()
		if _, err := c.Enqueue(asynq.NewTask("x", nil), append(opts, asynq.Queue(s))...); err != nil {
			t.Fatal(err)
		}
	}
	enqueue(shards[0])
	enqueue(shards[1])
	enqueue(shards[1])
	enqueue(shards[0], asynq.ProcessIn(time.Hour))
	reg := prometheus.NewRegistry()
	queue.RegisterQueueDepth(reg, rdb, shards)
	got := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			got[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
		}
	}
	want := map[string]float64{"pending": 3, "active": 0, "scheduled": 1, "retry": 0}
	insp := asynq.NewInspectorFromRedisClient(rdb)
	var pending, scheduled int
	for _, s := range shards {
		info, err := insp.GetQueueInfo(s)
		if err != nil {
			t.Fatal(err)
		}
		pending, scheduled = pending+info.Pending, scheduled+info.Scheduled
	}
	if pending != 3 || scheduled != 1 {
		t.Fatalf("asynq counts %d pending and %d scheduled; the test's setup is wrong", pending, scheduled)
	}
	if !maps.Equal(got, want) {
		t.Fatalf("hookgate_queue_depth %v, want %v", got, want)
	}
	if n, err := queue.Unfinished(context.Background(), rdb, shards); err != nil || n != 4 {
		t.Fatalf("Unfinished = %d (%v), want 4", n, err)
	}
}
