package deliver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/store"
	"github.com/hookgate/hookgate/internal/testenv"
)

// refWaker stands for the queue: a task's reference rides in its context,
// and waking records it.
type refWaker struct {
	mu    sync.Mutex
	woken []string
	got   chan string
}

type refKey struct{}

func (w *refWaker) Ref(ctx context.Context) string { s, _ := ctx.Value(refKey{}).(string); return s }
func (w *refWaker) Wake(_ context.Context, ref string) error {
	w.mu.Lock()
	w.woken = append(w.woken, ref)
	w.mu.Unlock()
	if w.got != nil {
		w.got <- ref
	}
	return nil
}
func (w *refWaker) NotQueued(error) bool { return false }

func sharedWorkers(t *testing.T, n, limit int, wk Waker) []*Worker {
	t.Helper()
	rdb := testenv.Redis(t)
	places := store.NewInFlight(rdb, testenv.KeyPrefix(t, rdb, "hgplaces"))
	var out []*Worker
	for range n {
		out = append(out, &Worker{Places: places, Waker: wk, Policy: Policy{EndpointLimit: limit, Timeout: 5 * time.Second},
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	}
	return out
}

// Two workers (two processes) share an endpoint's bound of 3: however their
// deliveries race, at most 3 hold a place at once, and every delivery gets
// one in the end (fast requests hand places over inside a process).
func TestSharedBoundHoldsAcrossWorkers(t *testing.T) {
	const limit = 3
	wks := sharedWorkers(t, 2, limit, nil)
	ep := &hookgate.Endpoint{ID: "ep_shared"}
	var cur, most, done atomic.Int64
	var wg sync.WaitGroup
	for i := range 40 {
		wk := wks[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			slot := wk.slot(ep.ID)
			for range 5 {
				for {
					l, err := wk.take(bg, slot, nil, ep, &hookgate.Task{ID: fmt.Sprint("d", i)})
					if err != nil {
						if IsFailure(err) {
							t.Error(err)
							return
						}
						time.Sleep(time.Millisecond)
						continue
					}
					n := cur.Add(1)
					for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
					}
					time.Sleep(time.Millisecond)
					cur.Add(-1)
					wk.give(bg, slot, nil, ep, l, time.Millisecond)
					done.Add(1)
					break
				}
			}
		}()
	}
	wg.Wait()
	if most.Load() > limit || done.Load() != 200 {
		t.Fatalf("%d requests at once (bound %d), %d of 200 done", most.Load(), limit, done.Load())
	}
}

// A delivery that finds every place held by another process is parked: it
// goes back to the queue far off (not as an attempt), and the release of a
// place wakes it.
func TestParkedDeliveryIsWokenByARelease(t *testing.T) {
	wkr := &refWaker{got: make(chan string, 4)}
	wks := sharedWorkers(t, 2, 1, wkr)
	a, b := wks[0], wks[1]
	ep := &hookgate.Endpoint{ID: "ep_park"}
	l, err := a.take(bg, a.slot(ep.ID), nil, ep, &hookgate.Task{ID: "d1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.WithValue(bg, refKey{}, "q\x00task2")
	_, err = b.take(ctx, b.slot(ep.ID), nil, ep, &hookgate.Task{ID: "d2"})
	var be *busyError
	if !errors.As(err, &be) || IsFailure(err) || be.delay < parkMin {
		t.Fatalf("take at the bound: %v, want a parked busyError of at least %s", err, parkMin)
	}
	a.give(bg, a.slot(ep.ID), nil, ep, l, time.Millisecond)
	if ref := <-wkr.got; ref != "q\x00task2" {
		t.Fatalf("woke %q", ref)
	}
	if _, err := b.take(ctx, b.slot(ep.ID), nil, ep, &hookgate.Task{ID: "d2"}); err != nil {
		t.Fatalf("the woken delivery found no place: %v", err)
	}
}

// A woken delivery that never comes to Redis for its place (here: it
// does not come back at all, as when it took a place its own process held)
// holds back the place it was promised only until the promise lapses: the
// process that woke it looks at the endpoint again and wakes the next
// parked delivery, with no release to prompt it.
func TestPlacePromisedToAWokenDeliveryThatNeverAsksGoesToTheNext(t *testing.T) {
	waker := &refWaker{got: make(chan string, 4)}
	wk := sharedWorkers(t, 1, 1, waker)[0]
	ep := &hookgate.Endpoint{ID: "ep_promised"}
	ctx := context.Background()
	if ok, _, _, err := wk.Places.Acquire(ctx, ep.ID, "l0", 1, time.Minute, "", false); !ok || err != nil {
		t.Fatalf("first place: %v %v", ok, err)
	}
	for _, ref := range []string{"q\x00p0", "q\x00p1"} {
		if ok, _, _, err := wk.Places.Acquire(ctx, ep.ID, "l-"+ref, 1, time.Minute, ref, true); ok || err != nil {
			t.Fatalf("%q took a place at the bound (%v)", ref, err)
		}
		time.Sleep(2 * time.Millisecond) // parked in this order
	}
	slot := wk.slot(ep.ID)
	slot.local.Add(1)
	wk.release(ctx, slot, ep, lease{id: "l0"})
	if got := <-waker.got; got != "q\x00p0" {
		t.Fatalf("the release woke %q, want the oldest parked", got)
	}
	// p0 never asks. p1 is woken once p0's promise lapses.
	select {
	case got := <-waker.got:
		if got != "q\x00p1" {
			t.Fatalf("woke %q, want p1", got)
		}
	case <-time.After(wokenRecheck + 3*time.Second):
		t.Fatal("p1 was not woken after p0's promised place went unasked: it waits for its backstop")
	}
}
