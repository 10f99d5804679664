package store

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookgate/hookgate/internal/testenv"
)

func inFlight(t *testing.T) *InFlight {
	t.Helper()
	rdb := testenv.Redis(t)
	return NewInFlight(rdb, testenv.KeyPrefix(t, rdb, "hginf"))
}

// TestInFlightBoundHoldsAcrossCallers: many callers (standing for worker
// processes) race for 3 places; no more than 3 ever hold one, the ones
// turned away are parked oldest first, and each release pops one of them.
func TestInFlightBoundHoldsAcrossCallers(t *testing.T) {
	f := inFlight(t)
	ctx := context.Background()
	const limit = 3
	var held, most atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				lease := fmt.Sprintf("g%d-%d", g, i)
				ok, _, _, err := f.Acquire(ctx, "ep_b", lease, limit, time.Minute, "", false)
				if err != nil {
					t.Error(err)
					return
				}
				if !ok {
					continue
				}
				n := held.Add(1)
				for {
					m := most.Load()
					if n <= m || most.CompareAndSwap(m, n) {
						break
					}
				}
				held.Add(-1)
				if _, _, err := f.Release(ctx, "ep_b", lease, limit, limit); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if most.Load() > limit || most.Load() == 0 {
		t.Fatalf("at most %d held at once, want 1..%d", most.Load(), limit)
	}

	// Fill the places; three more park, in order, and count themselves.
	for i := range limit {
		if ok, _, _, _ := f.Acquire(ctx, "ep_p", fmt.Sprint("l", i), limit, time.Minute, "", false); !ok {
			t.Fatalf("place %d not free", i)
		}
	}
	for i, ref := range []string{"q\x00t1", "q\x00t2", "q\x00t3"} {
		ok, parked, _, err := f.Acquire(ctx, "ep_p", "x"+ref, limit, time.Minute, ref, true)
		if err != nil || ok || parked != int64(i+1) {
			t.Fatalf("acquire past the bound: ok %v parked %d err %v, want parked %d", ok, parked, err, i+1)
		}
	}
	// Parking again keeps the first place in line.
	if _, parked, _, _ := f.Acquire(ctx, "ep_p", "again", limit, time.Minute, "q\x00t1", true); parked != 3 {
		t.Fatalf("parked %d after parking again", parked)
	}
	refs, left, err := f.Release(ctx, "ep_p", "l0", limit, limit)
	if err != nil || !slices.Equal(refs, []string{"q\x00t1"}) || left != 2 {
		t.Fatalf("release woke %q, %d left (%v), want the oldest parked, 2 left", refs, left, err)
	}
	// The woken one takes the place; its parked entry (if any) goes.
	if ok, _, _, _ := f.Acquire(ctx, "ep_p", "t1", limit, time.Minute, "q\x00t1", true); !ok {
		t.Fatal("the woken delivery found no place")
	}
	if n, _ := f.Held(ctx, "ep_p"); n != limit {
		t.Fatalf("%d held, want %d", n, limit)
	}
}

// TestInFlightLeaseOfADeadHolderExpires: a holder that never releases (a
// killed worker) holds its place until its lease's deadline only, and the
// next release then wakes a parked delivery for each place so freed.
func TestInFlightLeaseOfADeadHolderExpires(t *testing.T) {
	f := inFlight(t)
	ctx := context.Background()
	if ok, _, _, _ := f.Acquire(ctx, "ep_d", "dead", 2, 300*time.Millisecond, "", false); !ok {
		t.Fatal("no place")
	}
	if ok, _, _, _ := f.Acquire(ctx, "ep_d", "live", 2, time.Minute, "", false); !ok {
		t.Fatal("no second place")
	}
	for _, ref := range []string{"a", "b", "c"} {
		if ok, _, _, _ := f.Acquire(ctx, "ep_d", ref, 2, time.Minute, ref, true); ok {
			t.Fatal("a third place")
		}
	}
	// Wait (without a timed assertion) for the dead lease to lapse.
	for {
		n, err := f.Held(ctx, "ep_d")
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A new delivery takes the lapsed place; it wakes no one (none free).
	ok, _, wake, err := f.Acquire(ctx, "ep_d", "new", 2, time.Minute, "", false)
	if err != nil || !ok || len(wake) != 0 {
		t.Fatalf("acquire of the lapsed place: %v %q %v", ok, wake, err)
	}
	refs, _, err := f.Release(ctx, "ep_d", "live", 2, 10)
	if err != nil || !slices.Equal(refs, []string{"a"}) {
		t.Fatalf("release woke %q (%v), want a", refs, err)
	}
	// The woken delivery comes back and takes the freed place (and wakes
	// no one: no place is free beyond its own).
	ok, _, wake, err = f.Acquire(ctx, "ep_d", "a-lease", 2, time.Minute, "a", true)
	if err != nil || !ok || len(wake) != 0 {
		t.Fatalf("acquire of the woken delivery: %v %q %v", ok, wake, err)
	}
	// Both leases lapse with nobody releasing: the first parked delivery
	// to come back by itself takes a place and wakes one for the other.
	for _, l := range []string{"new", "a-lease"} {
		if _, _, err := f.Release(ctx, "ep_d", l, 2, 0); err != nil {
			t.Fatal(err)
		}
	}
	ok, _, wake, err = f.Acquire(ctx, "ep_d", "b", 2, time.Minute, "b", true)
	if err != nil || !ok || !slices.Equal(wake, []string{"c"}) {
		t.Fatalf("acquire with two places free: %v, woke %q (%v); want c woken", ok, wake, err)
	}
}

// TestInFlightReleasesInARowWakeOnePerPlace: the requests on every place
// of an endpoint end together (a dead endpoint's timeouts) and release
// their places before any woken delivery has come back for one. Each
// release wakes one parked delivery, the one for its place: limit in all,
// not one per place free at that moment (1+2+...+limit), and a woken
// delivery that comes back wakes nobody more. Until they are back, the
// publisher parks new deliveries (the places are promised), and a woken
// delivery whose task is gone passes its place to the next parked one.
func TestInFlightReleasesInARowWakeOnePerPlace(t *testing.T) {
	f := inFlight(t)
	ctx := context.Background()
	const limit = 4
	for i := range limit {
		if ok, _, _, _ := f.Acquire(ctx, "ep_r", fmt.Sprint("l", i), limit, time.Minute, "", false); !ok {
			t.Fatalf("place %d not free", i)
		}
	}
	var parked []string
	for i := range 10 {
		ref := fmt.Sprintf("q\x00p%02d", i)
		time.Sleep(2 * time.Millisecond) // parked in a later millisecond: the order is the score's
		if ok, _, _, err := f.Acquire(ctx, "ep_r", "x"+ref, limit, time.Minute, ref, true); ok || err != nil {
			t.Fatalf("acquire past the bound: %v %v", ok, err)
		}
		parked = append(parked, ref)
	}
	var woken []string
	for i := range limit {
		refs, _, err := f.Release(ctx, "ep_r", fmt.Sprint("l", i), limit, limit)
		if err != nil {
			t.Fatal(err)
		}
		woken = append(woken, refs...)
	}
	if !slices.Equal(woken, parked[:limit]) {
		t.Fatalf("%d releases in a row woke %q, want one each, oldest first: %q", limit, woken, parked[:limit])
	}
	// Places are free but promised: a new delivery from the publisher parks.
	if ok, n, err := f.Park(ctx, "ep_r", "q\x00new", limit); err != nil || !ok || n != 7 {
		t.Fatalf("park while woken deliveries are on their way: ok %v, %d parked (%v); want parked, 7", ok, n, err)
	}
	// The first woken delivery comes back: it takes a place, wakes no one.
	ok, _, wake, err := f.Acquire(ctx, "ep_r", "w0", limit, time.Minute, woken[0], true)
	if err != nil || !ok || len(wake) != 0 {
		t.Fatalf("acquire of a woken delivery: %v, woke %q (%v); want a place and no one woken", ok, wake, err)
	}
	// The second one's task is gone: its place goes to the next parked.
	refs, _, err := f.Forget(ctx, "ep_r", woken[1], limit)
	if err != nil || !slices.Equal(refs, parked[limit:limit+1]) {
		t.Fatalf("forget woke %q (%v), want %q", refs, err, parked[limit:limit+1])
	}
	// A delivery that asks for a place gets one though others are promised
	// it (the count holds back wake-ups, never a delivery).
	if ok, _, _, err := f.Acquire(ctx, "ep_r", "other", limit, time.Minute, "", false); !ok || err != nil {
		t.Fatalf("acquire with places free but promised: %v %v; want a place", ok, err)
	}
}

// TestInFlightParkOfANewDelivery: a delivery not yet dequeued (the
// publisher's) parks only while every place is held, behind those parked
// before it, and is popped by a release like them; the release that pops
// the last says none is left, one that pops nothing says so too (-1).
func TestInFlightParkOfANewDelivery(t *testing.T) {
	f := inFlight(t)
	ctx := context.Background()
	if ok, parked, err := f.Park(ctx, "ep_n", "q\x00early", 1); err != nil || ok || parked != 0 {
		t.Fatalf("park with a place free: ok %v parked %d (%v), want not parked", ok, parked, err)
	}
	if ok, _, _, _ := f.Acquire(ctx, "ep_n", "l1", 1, time.Minute, "", false); !ok {
		t.Fatal("no place")
	}
	if _, _, _, err := f.Acquire(ctx, "ep_n", "w", 1, time.Minute, "q\x00worker", true); err != nil {
		t.Fatal(err)
	}
	for i, ref := range []string{"q\x00new1", "q\x00new2"} {
		time.Sleep(2 * time.Millisecond) // parked in a later millisecond: the order is the score's
		ok, parked, err := f.Park(ctx, "ep_n", ref, 1)
		if err != nil || !ok || parked != int64(i+2) {
			t.Fatalf("park at the bound: ok %v parked %d (%v), want parked %d", ok, parked, err, i+2)
		}
	}
	var woken []string
	for _, want := range []int64{2, 1, 0} {
		refs, left, err := f.Release(ctx, "ep_n", "l1", 1, 1)
		if err != nil || len(refs) != 1 || left != want {
			t.Fatalf("release: woke %q, %d left (%v); want one woken, %d left", refs, left, err, want)
		}
		woken = append(woken, refs...)
		if ok, _, _, _ := f.Acquire(ctx, "ep_n", "l1", 1, time.Minute, refs[0], true); !ok {
			t.Fatal("the woken delivery found no place")
		}
	}
	if !slices.Equal(woken, []string{"q\x00worker", "q\x00new1", "q\x00new2"}) {
		t.Fatalf("woken in the order %q", woken)
	}
	if refs, left, err := f.Release(ctx, "ep_n", "l1", 1, 1); err != nil || len(refs) != 0 || left != -1 {
		t.Fatalf("release with nothing parked: %q, %d left (%v); want nothing, -1", refs, left, err)
	}
}

// TestInFlightAnnouncementsReachWatchers: what Announce publishes,
// WatchStalled hears, in order.
func TestInFlightAnnouncementsReachWatchers(t *testing.T) {
	f := inFlight(t)
	ctx, cancel := context.WithCancel(context.Background())
	type heard struct {
		ep string
		n  int64
	}
	got := make(chan heard, 4)
	done := make(chan error, 1)
	go func() {
		done <- f.WatchStalled(ctx, func(ep string, n int64) { got <- heard{ep, n} })
	}()
	// Announce until the subscription is up and hears one.
	var first heard
	for first.ep == "" {
		if err := f.Announce(ctx, "ep:a b", 7); err != nil {
			t.Fatal(err)
		}
		select {
		case first = <-got:
		case <-time.After(50 * time.Millisecond):
		}
	}
	if first != (heard{"ep:a b", 7}) {
		t.Fatalf("heard %+v", first)
	}
	if err := f.Announce(ctx, "ep_2", 0); err != nil {
		t.Fatal(err)
	}
	for h := range got {
		if h.ep == "ep_2" {
			if h.n != 0 {
				t.Fatalf("heard %+v, want ep_2 with 0", h)
			}
			break
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
