package queue

import (
	"context"
	"testing"
	"time"
)

func newSlot(n int) *endpointSlot {
	s := &endpointSlot{n: make(chan struct{}, n)}
	s.released.Store(time.Now().UnixNano())
	return s
}

// A full endpoint that keeps finishing requests is waited on, not skipped.
func TestSlotWaitsWhileEndpointProgresses(t *testing.T) {
	s := newSlot(1)
	if !s.acquire(context.Background()) {
		t.Fatal("first acquire failed on an empty slot")
	}
	done := make(chan bool)
	go func() { done <- s.acquire(context.Background()) }()
	time.Sleep(stallAfter / 4)
	s.release() // the endpoint finished a request: the waiter gets the slot
	if !<-done {
		t.Fatal("waiter was turned away although the endpoint made progress")
	}
}

// A full endpoint that has not finished anything for stallAfter turns
// deliveries away at once so they can be re-scheduled.
func TestSlotTurnsAwayWhenEndpointStalls(t *testing.T) {
	s := newSlot(2)
	s.acquire(context.Background())
	s.acquire(context.Background())
	s.released.Store(time.Now().Add(-2 * stallAfter).UnixNano())
	if s.acquire(context.Background()) {
		t.Fatal("acquired a third slot of two")
	}
	// A fresh release makes the endpoint count as progressing again.
	s.release()
	if !s.acquire(context.Background()) {
		t.Fatal("slot freed by a release was not acquired")
	}
}

func TestSlotWaitEndsWithContext(t *testing.T) {
	s := newSlot(1)
	s.acquire(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if s.acquire(ctx) {
		t.Fatal("acquired a taken slot after the context ended")
	}
}
