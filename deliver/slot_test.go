package deliver

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"
)

func busyDelay(t *testing.T, err error) time.Duration {
	t.Helper()
	var be *busyError
	if !errors.As(err, &be) || !errors.Is(err, errEndpointBusy) || IsFailure(err) {
		t.Fatalf("busy returned %v: want a busyError that is not a failure", err)
	}
	if RetryDelay(err) != be.delay {
		t.Fatal("RetryDelay does not use the busy delay")
	}
	return be.delay
}

func TestBusyEndpointPacesWaitingDeliveriesByServiceTime(t *testing.T) {
	s := newEndpointSlot(2)
	if !s.acquire(bg) || !s.acquire(bg) {
		t.Fatal("places free")
	}
	if s.acquire(bg) {
		t.Fatal("a third place past the bound of 2")
	}
	// Nothing has finished: the requests may hang, so waiters wait at least
	// 250 ms (x0.5 to x1.5), and longer the more of them there are.
	var last time.Duration
	for i := range 10 {
		last = busyDelay(t, s.busy("w"+strconv.Itoa(i)))
	}
	if last < 5*250*time.Millisecond/2 || last > 5*250*time.Millisecond*3/2 {
		t.Fatalf("10 waiting for 2 places behind hanging requests: delay %s, want 1.25 s x0.5..1.5", last)
	}
	// A fast endpoint: one place frees after 1 ms; the waiters come back soon.
	s.release(time.Millisecond)
	s.release(time.Millisecond)
	f := newEndpointSlot(2)
	f.acquire(bg)
	f.release(time.Millisecond)
	f.acquire(bg)
	f.acquire(bg)
	if d := busyDelay(t, f.busy("w")); d > 30*time.Millisecond {
		t.Fatalf("a fast endpoint's waiter waits %s", d)
	}
	if d := busyDelay(t, s.busy("w0")); d > maxBusyDelay*3/2 {
		t.Fatalf("delay %s over the cap", d)
	}
}

var bg = context.Background()

// A full endpoint that keeps finishing requests is waited on, not skipped.
func TestSlotWaitsWhileEndpointProgresses(t *testing.T) {
	s := newEndpointSlot(1)
	s.acquire(bg)
	s.release(time.Millisecond) // the endpoint answers fast
	if !s.acquire(bg) {
		t.Fatal("first acquire failed on an empty slot")
	}
	done := make(chan bool)
	go func() { done <- s.acquire(bg) }()
	time.Sleep(stallAfter / 4)
	s.release(time.Millisecond) // the endpoint finished a request
	if !<-done {
		t.Fatal("waiter was turned away although the endpoint made progress")
	}
}

// A full endpoint that has finished nothing for stallAfter turns deliveries
// away at once so they can be re-scheduled.
func TestSlotTurnsAwayWhenEndpointStalls(t *testing.T) {
	s := newEndpointSlot(2)
	s.acquire(bg)
	s.release(time.Millisecond)
	s.acquire(bg)
	s.acquire(bg)
	s.released.Store(time.Now().Add(-2 * stallAfter).UnixNano())
	if s.acquire(bg) {
		t.Fatal("acquired a third place of two")
	}
	s.release(time.Millisecond)
	if !s.acquire(bg) {
		t.Fatal("place freed by a release was not acquired")
	}
}

func TestSlotWaitEndsWithContext(t *testing.T) {
	s := newEndpointSlot(1)
	s.acquire(bg)
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if s.acquire(ctx) {
		t.Fatal("acquired a taken place after the context ended")
	}
}

// An endpoint whose requests are slow (or that has not answered yet) is
// never waited on, however recently a request of it finished: a timeout
// ending is not progress.
func TestSlotDoesNotWaitForSlowEndpoints(t *testing.T) {
	fresh := newEndpointSlot(1)
	fresh.acquire(bg)
	if fresh.acquire(bg) {
		t.Fatal("acquired a taken place")
	}
	slow := newEndpointSlot(1)
	slow.acquire(bg)
	slow.release(5 * time.Second) // a request that ran into the timeout
	slow.acquire(bg)
	done := make(chan bool, 1)
	go func() { done <- slow.acquire(bg) }()
	select {
	case ok := <-done:
		if ok {
			t.Fatal("acquired a taken place")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a delivery waited on an endpoint that times out")
	}
}

// A fast endpoint that starts hanging: its mean still says milliseconds,
// but nothing has finished for seconds, so waiters are paced by that.
func TestBusyDelayFollowsRequestsThatStartedHanging(t *testing.T) {
	s := newEndpointSlot(2)
	s.acquire(bg)
	s.release(time.Millisecond)
	s.acquire(bg)
	s.acquire(bg)
	s.released.Store(time.Now().Add(-3 * time.Second).UnixNano())
	if d := busyDelay(t, s.busy("w")); d < 1500*time.Millisecond {
		t.Fatalf("delay %s behind requests hanging for 3 s, want at least 1.5 s", d)
	}
}
