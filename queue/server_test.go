package queue_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/hibiken/asynq"

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
