package deliver

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
)

// soonLimiter answers like store.RateLimiter for deliveries whose reserved
// time is wait away: admitted when the look-ahead covers it.
type soonLimiter struct {
	wait  time.Duration
	calls atomic.Int64
}

func (l *soonLimiter) Reserve(_ context.Context, _, _ string, _ float64, ahead time.Duration) (hookgate.Reservation, error) {
	l.calls.Add(1)
	return hookgate.Reservation{Admitted: l.wait <= ahead, Wait: l.wait}, nil
}

// At most Policy.EndpointLimit deliveries of one endpoint wait for their
// send time in this process's workers; the others go back to the queue
// (not as attempts), so a high rate limit cannot park every worker.
func TestPacingHoldsAtMostTheEndpointsPlacesInWorkers(t *testing.T) {
	lim := &soonLimiter{wait: time.Second} // the sleepers hold their places while the others ask
	wk := &Worker{Limiter: lim, Policy: Policy{EndpointLimit: 3}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ep := &hookgate.Endpoint{ID: "ep_1", RateLimit: 1000}
	var waited, requeued atomic.Int64
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := wk.pace(context.Background(), ep, &hookgate.Task{ID: "d"}, nil)
			var rl *rateLimitedError
			switch {
			case err == nil:
				waited.Add(1)
			case errors.As(err, &rl) && !IsFailure(err) && RetryDelay(err) == lim.wait:
				requeued.Add(1)
			default:
				t.Errorf("pace: %v", err)
			}
		}()
	}
	wg.Wait()
	if waited.Load() != 3 || requeued.Load() != 7 {
		t.Fatalf("%d waited in a worker, %d went back to the queue; want 3 and 7", waited.Load(), requeued.Load())
	}
	if n := wk.slot(ep.ID).pacing.Load(); n != 0 {
		t.Fatalf("%d still counted as waiting", n)
	}
}

// An admitted delivery takes its place under the in-flight bound only
// placeLead before its send time, not for the whole wait, and is sent no
// earlier than that time.
func TestPacingTakesThePlaceJustBeforeTheSendTime(t *testing.T) {
	lim := &soonLimiter{wait: 300 * time.Millisecond}
	wk := &Worker{Limiter: lim, Policy: Policy{EndpointLimit: 3}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ep := &hookgate.Endpoint{ID: "ep_1", RateLimit: 10}
	began := time.Now()
	var placed time.Duration
	err := wk.pace(context.Background(), ep, &hookgate.Task{ID: "d"}, func() error {
		placed = time.Since(began)
		return nil
	})
	sent := time.Since(began)
	if err != nil {
		t.Fatalf("pace: %v", err)
	}
	if placed < lim.wait-placeLead {
		t.Fatalf("the place was taken %s into a %s wait: held while waiting for the send time", placed, lim.wait)
	}
	if sent < lim.wait {
		t.Fatalf("sent %s into a %s wait: before its send time", sent, lim.wait)
	}

	// A place refused (the endpoint at its bound) is returned as is.
	busy := &busyError{delay: time.Second}
	if err := wk.pace(context.Background(), ep, &hookgate.Task{ID: "d"}, func() error { return busy }); err != busy {
		t.Fatalf("pace with the place refused: %v, want the place's error", err)
	}
}
