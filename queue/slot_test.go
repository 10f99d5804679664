package queue

import (
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
	if RetryDelay(0, err, nil) != be.delay {
		t.Fatal("RetryDelay does not use the busy delay")
	}
	return be.delay
}

func TestBusyEndpointPacesWaitingDeliveriesByServiceTime(t *testing.T) {
	s := newEndpointSlot(2)
	if !s.acquire("a") || !s.acquire("b") {
		t.Fatal("places free")
	}
	if s.acquire("c") {
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
	s.release("a", time.Millisecond)
	s.release("b", time.Millisecond)
	f := newEndpointSlot(2)
	f.acquire("x")
	f.release("x", time.Millisecond)
	f.acquire("y")
	f.acquire("z")
	if d := busyDelay(t, f.busy("w")); d > 30*time.Millisecond {
		t.Fatalf("a fast endpoint's waiter waits %s", d)
	}
	if d := busyDelay(t, s.busy("w0")); d > maxBusyDelay*3/2 {
		t.Fatalf("delay %s over the cap", d)
	}
}
