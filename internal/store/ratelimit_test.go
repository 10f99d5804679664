package store

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/testenv"
)

func rateLimiter(t *testing.T) (*RateLimiter, *redis.Client) {
	t.Helper()
	rdb := testenv.Redis(t)
	prefix := testenv.KeyPrefix(t, rdb, "hgrl")
	return NewRateLimiter(rdb, prefix), rdb
}

// TestRateLimitSpacesABurstAndKeepsReservations drives the script on a fake
// clock the way the queue does: 50 deliveries to a 5/s endpoint arrive at
// once, each is told when to come back, comes back then (not before), and is
// sent. No 1 s window holds more than 5 sends, all 50 go out in 10 s, and a
// delivery that comes back keeps its time instead of taking a new one.
func TestRateLimitSpacesABurstAndKeepsReservations(t *testing.T) {
	l, _ := rateLimiter(t)
	ctx := context.Background()
	t0 := time.Unix(1_800_000_000, 0)
	const n, rate = 50, 5
	due := map[string]time.Time{}
	var sends []time.Time
	for i := range n {
		id := fmt.Sprintf("msg_%d", i)
		r, err := l.reserve(ctx, "ep_a", id, rate, 0, t0)
		if err != nil {
			t.Fatal(err)
		}
		if want := time.Duration(i) * time.Second / rate; r.Wait != want || r.Admitted != (i == 0) {
			t.Fatalf("delivery %d: %+v, want wait %s, admitted only the first", i, r, want)
		}
		if r.Admitted {
			sends = append(sends, t0)
		} else {
			due[id] = t0.Add(r.Wait)
		}
	}
	// Asking again early keeps the reservation and takes nothing from others.
	if r, _ := l.reserve(ctx, "ep_a", "msg_10", rate, 0, t0.Add(time.Second)); r.Admitted || r.Wait != time.Second {
		t.Fatalf("msg_10 asking 1 s early: %+v, want its reservation 1 s away", r)
	}
	for now := t0; len(due) > 0 && now.Before(t0.Add(11*time.Second)); now = now.Add(10 * time.Millisecond) {
		for id, at := range due {
			if now.Before(at) {
				continue
			}
			r, err := l.reserve(ctx, "ep_a", id, rate, 0, now)
			if err != nil {
				t.Fatal(err)
			}
			if !r.Admitted {
				t.Fatalf("%s came back at its time and was turned away: %+v", id, r)
			}
			sends = append(sends, now)
			delete(due, id)
		}
	}
	if len(due) > 0 || len(sends) != n {
		t.Fatalf("%d sent, %d still waiting after 11 s", len(sends), len(due))
	}
	if m := testenv.MostInWindow(sends, time.Second); m > rate {
		t.Fatalf("%d sends in one second, limit %d", m, rate)
	}
	// The next delivery gets the time after the burst's last one.
	end := t0.Add(10 * time.Second)
	if r, _ := l.reserve(ctx, "ep_a", "msg_late", rate, 0, t0.Add(9*time.Second)); r.Admitted || r.Wait != end.Sub(t0.Add(9*time.Second)) {
		t.Fatalf("after the burst: %+v, want the time 10 s after its start", r)
	}
	// Another endpoint is not affected.
	if r, _ := l.reserve(ctx, "ep_b", "msg_0", rate, 0, t0); !r.Admitted || r.Wait != 0 {
		t.Fatalf("another endpoint: %+v", r)
	}
}

// TestRateLimitRetryTakesANewTime: a delivery admitted once has used its
// time; its next attempt (a retry) counts against the rate again.
func TestRateLimitRetryTakesANewTime(t *testing.T) {
	l, _ := rateLimiter(t)
	ctx := context.Background()
	t0 := time.Unix(1_800_000_000, 0)
	if r, _ := l.reserve(ctx, "ep", "msg_1", 2, 0, t0); !r.Admitted {
		t.Fatalf("first: %+v", r)
	}
	if r, _ := l.reserve(ctx, "ep", "msg_1", 2, 0, t0.Add(100*time.Millisecond)); r.Admitted || r.Wait != 400*time.Millisecond {
		t.Fatalf("the retry 100 ms later: %+v, want 400 ms to wait", r)
	}
	// After a quiet spell there is no burst credit: one now, the next one interval later.
	t1 := t0.Add(time.Hour)
	a, _ := l.reserve(ctx, "ep", "msg_2", 2, 0, t1)
	b, _ := l.reserve(ctx, "ep", "msg_3", 2, 0, t1)
	if !a.Admitted || b.Admitted || b.Wait != 500*time.Millisecond {
		t.Fatalf("after an hour idle: %+v %+v", a, b)
	}
}

// TestRateLimitLookAheadAdmitsSoonTimes: a time within the look-ahead is
// admitted with the wait left, and the reservation is used up.
func TestRateLimitLookAheadAdmitsSoonTimes(t *testing.T) {
	l, rdb := rateLimiter(t)
	ctx := context.Background()
	t0 := time.Unix(1_800_000_000, 0)
	var got []hookgate.Reservation
	for i := range 4 {
		r, err := l.reserve(ctx, "ep", fmt.Sprint("msg_", i), 4, time.Second, t0)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	want := []hookgate.Reservation{{Admitted: true, Wait: 0}, {Admitted: true, Wait: 250 * time.Millisecond}, {Admitted: true, Wait: 500 * time.Millisecond}, {Admitted: true, Wait: 750 * time.Millisecond}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if r, _ := l.reserve(ctx, "ep", "msg_4", 4, time.Second, t0); !r.Admitted || r.Wait != time.Second {
		t.Fatalf("1 s ahead with a 1 s look-ahead: %+v", r)
	}
	r, _ := l.reserve(ctx, "ep", "msg_far", 4, time.Second, t0)
	if r.Admitted || r.Wait != 1250*time.Millisecond {
		t.Fatalf("1.25 s ahead with a 1 s look-ahead: %+v", r)
	}
	key := l.endpointKey("ep")
	if ttl := rdb.PTTL(ctx, key+":d:msg_far").Val(); ttl <= ReservationGrace || ttl > ReservationGrace+2*time.Second {
		t.Fatalf("reservation TTL %s, want its wait plus %s", ttl, ReservationGrace)
	}
	if ttl := rdb.PTTL(ctx, key).Val(); ttl <= 0 || ttl > 3*time.Second {
		t.Fatalf("TAT key TTL %s", ttl)
	}
	if n := rdb.Exists(ctx, key+":d:msg_1").Val(); n != 0 {
		t.Fatal("an admitted delivery's reservation is kept")
	}
	r, _ = l.reserve(ctx, "ep", "msg_far", 4, time.Second, t0.Add(500*time.Millisecond))
	if !r.Admitted || r.Wait != 750*time.Millisecond {
		t.Fatalf("msg_far within the look-ahead: %+v", r)
	}
	if n := rdb.Exists(ctx, key+":d:msg_far").Val(); n != 0 {
		t.Fatal("the reservation is not used up on admission")
	}
}

// TestRateLimitIsSharedByClients: deliveries asking at once through two
// Redis clients (two processes) get distinct times, one interval apart, on
// Redis's own clock.
func TestRateLimitIsSharedByClients(t *testing.T) {
	l, _ := rateLimiter(t)
	other := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr()})
	defer other.Close()
	l2 := NewRateLimiter(other, l.prefix)
	ctx := context.Background()
	var mu sync.Mutex
	var waits []time.Duration
	var wg sync.WaitGroup
	began := time.Now()
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lim := l
			if i%2 == 1 {
				lim = l2
			}
			r, err := lim.Reserve(ctx, "ep", fmt.Sprint("msg_", i), 10, 0)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			waits = append(waits, r.Wait)
			mu.Unlock()
		}()
	}
	wg.Wait()
	took := time.Since(began)
	slices.Sort(waits)
	// Redis's clock moves on while they ask: each wait is one interval
	// after the one before, less the time between the two asks.
	for i := 1; i < len(waits); i++ {
		if d := waits[i] - waits[i-1]; d > 100*time.Millisecond || d <= 0 {
			t.Fatalf("waits %s and %s: two deliveries share a time or one is skipped", waits[i-1], waits[i])
		}
	}
	if last := waits[len(waits)-1]; last < 3900*time.Millisecond-took || last > 3900*time.Millisecond {
		t.Fatalf("40 at 10/s asked within %s: the last waits %s, want 3.9 s less that", took, last)
	}
}
