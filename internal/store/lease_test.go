package store_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/store"
	"github.com/hookgate/hookgate/internal/testenv"
)

// twoStores are two processes' stores on the same Redis, prefix and
// encryption key: each its own client and its own leases.
func twoStores(t *testing.T) (*store.Store, *store.Store, *redis.Client, string) {
	t.Helper()
	rdb := testenv.Redis(t)
	prefix := testenv.KeyPrefix(t, rdb, "hglease")
	key := testKey()
	a, err := store.New(rdb, prefix, key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := store.New(testenv.Redis(t), prefix, key)
	if err != nil {
		t.Fatal(err)
	}
	return a, b, rdb, prefix
}

func TestLeasedLookupsSpendTheSharedBucketAndAnswerLocally(t *testing.T) {
	s, rdb, prefix := newStore(t)
	ctx := context.Background()
	w := &hookgate.IncomingWebhook{Tenant: "acme", Name: "form", Owner: "u1", Scopes: []string{"crm"}, Enabled: true, Token: "tok-lease-" + strings.Repeat("x", 33)}
	if err := s.CreateIncoming(ctx, w); err != nil {
		t.Fatal(err)
	}
	// rate 1000/s, burst 100: a lookup leases 50 tokens (50 ms of the rate).
	const rate, burst = 1000.0, 100
	tokens := func(token string) float64 {
		v, err := rdb.HGet(ctx, prefix+":in:{"+s.TokenHash(token)+"}:rl", "tokens").Result()
		if err != nil {
			t.Fatal(err)
		}
		f, _ := strconv.ParseFloat(v, 64)
		return f
	}
	for _, token := range []string{w.Token, "no-such-token-" + strings.Repeat("y", 29)} {
		if _, ok, _, err := s.Lookup(ctx, token, rate, burst); err != nil || !ok {
			t.Fatalf("lookup: %v %v", ok, err)
		}
		// The lease is taken from the shared bucket at once, known token
		// or not: 100 − 50.
		if got := tokens(token); got != 50 {
			t.Fatalf("%s: bucket holds %v after one leased lookup, want 50", token[:8], got)
		}
	}
	// The next 49 lookups of the token are answered from the lease: the
	// bucket is not touched, the route is the one read with the lease.
	for i := range 49 {
		r, ok, _, err := s.Lookup(ctx, w.Token, rate, burst)
		if err != nil || !ok || r == nil || r.ID != w.ID {
			t.Fatalf("lookup %d from the lease: %+v %v %v", i, r, ok, err)
		}
	}
	if got := tokens(w.Token); got != 50 {
		t.Fatalf("bucket holds %v after lookups answered from the lease, want 50", got)
	}
	// A rate under 40/s leases nothing: every lookup is a round trip.
	other := "tok-slow-" + strings.Repeat("z", 34)
	for range 3 {
		s.Lookup(ctx, other, 10, 20)
	}
	if got := tokens(other); got < 17 || got > 17.5 {
		t.Fatalf("rate 10/s: bucket holds %v after 3 lookups, want 17 (one token each)", got)
	}
}

// TestLeasedLimitHoldsAcrossProcesses: two processes leasing from one bucket
// are let through at most what the bucket allows plus what each holds
// unspent, (lease − 1) each.
func TestLeasedLimitHoldsAcrossProcesses(t *testing.T) {
	a, b, _, _ := twoStores(t)
	ctx := context.Background()
	token := "tok-shared-" + strings.Repeat("s", 32)
	const rate, burst, lease = 1000.0, 100, 50
	start := time.Now()
	allowed := 0
	for i := range 2000 {
		s := a
		if i%2 == 1 {
			s = b
		}
		if _, ok, _, err := s.Lookup(ctx, token, rate, burst); err != nil {
			t.Fatal(err)
		} else if ok {
			allowed++
		}
	}
	// Refill over the run, plus a millisecond of Redis's clock on each side.
	max := burst + int(rate*(time.Since(start).Seconds()+0.002)) + 2*(lease-1)
	if allowed > max {
		t.Fatalf("%d lookups allowed; the bucket and the leases allow at most %d", allowed, max)
	}
}

// TestRotateAndDisableReachOtherProcessesAtOnce: a process answering a
// token from a lease refuses it as soon as another process's rotation,
// disable or delete has returned.
func TestRotateAndDisableReachOtherProcessesAtOnce(t *testing.T) {
	api, proxy, _, _ := twoStores(t)
	const rate, burst = 1000.0, 1000
	api.SetIncomingLimits(rate, burst)
	ctx := context.Background()
	w := &hookgate.IncomingWebhook{Tenant: "acme", Name: "form", Owner: "u1", Scopes: []string{"crm"}, Enabled: true, Token: "tok-rot-" + strings.Repeat("r", 35)}
	if err := api.CreateIncoming(ctx, w); err != nil {
		t.Fatal(err)
	}
	lookup := func(token string) *hookgate.IncomingRoute {
		r, ok, _, err := proxy.Lookup(ctx, token, rate, burst)
		if err != nil || !ok {
			t.Fatalf("lookup: %v %v", ok, err)
		}
		return r
	}
	if r := lookup(w.Token); r == nil || !r.Enabled {
		t.Fatalf("before: %+v", r)
	}
	// Disable: the proxy process holds a lease with the enabled route.
	w.Enabled = false
	if err := api.UpdateIncoming(ctx, w, ""); err != nil {
		t.Fatal(err)
	}
	if r := lookup(w.Token); r == nil || r.Enabled {
		t.Fatalf("after disable: %+v, want the disabled route", r)
	}
	w.Enabled = true
	if err := api.UpdateIncoming(ctx, w, ""); err != nil {
		t.Fatal(err)
	}
	if r := lookup(w.Token); r == nil || !r.Enabled {
		t.Fatalf("after enable: %+v", r)
	}
	old := w.Token
	if err := api.UpdateIncoming(ctx, w, "tok-new-"+strings.Repeat("n", 35)); err != nil {
		t.Fatal(err)
	}
	if r := lookup(old); r != nil {
		t.Fatalf("old token after rotation: %+v, want no route", r)
	}
	if r := lookup(w.Token); r == nil || r.ID != w.ID {
		t.Fatalf("new token after rotation: %+v", r)
	}
	if err := api.DeleteIncoming(ctx, "acme", w.ID); err != nil {
		t.Fatal(err)
	}
	if r := lookup(w.Token); r != nil {
		t.Fatalf("after delete: %+v, want no route", r)
	}
}

// scriptCounter is a go-redis hook counting the lookup scripts a client
// sends (pipelined ones one by one).
type scriptCounter struct{ n atomic.Int64 }

func (c *scriptCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *scriptCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.count(cmd)
		return next(ctx, cmd)
	}
}

func (c *scriptCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			c.count(cmd)
		}
		return next(ctx, cmds)
	}
}

func (c *scriptCounter) count(cmd redis.Cmder) {
	if n := cmd.Name(); n == "evalsha" || n == "eval" {
		c.n.Add(1)
	}
}

// TestConcurrentLookupsShareOneLease: requests of one token arriving
// together while the process holds no lease wait for the one lookup under
// way and spend its lease, rather than each leasing a batch of the bucket
// (which the next would replace, wasting its tokens).
func TestConcurrentLookupsShareOneLease(t *testing.T) {
	rdb := testenv.Redis(t)
	prefix := testenv.KeyPrefix(t, rdb, "hglease")
	counter := &scriptCounter{}
	rdb.AddHook(counter)
	s, err := store.New(rdb, prefix, testKey())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ctx := context.Background()
	// rate 1000/s, burst 1000: a lookup leases 50 tokens.
	const rate, burst, callers = 1000.0, 1000, 32
	for _, token := range []string{"tok-herd-" + strings.Repeat("h", 34), "no-such-herd-" + strings.Repeat("u", 30)} {
		s.Lookup(ctx, "warm-up-"+token, rate, burst) // the script is loaded
		counter.n.Store(0)
		start := make(chan struct{})
		var wg sync.WaitGroup
		var refused atomic.Int64
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if _, ok, _, err := s.Lookup(ctx, token, rate, burst); err != nil {
					t.Error(err)
				} else if !ok {
					refused.Add(1)
				}
			}()
		}
		close(start)
		wg.Wait()
		if refused.Load() != 0 {
			t.Fatalf("%d of %d lookups refused", refused.Load(), callers)
		}
		if n := counter.n.Load(); n != 1 {
			t.Errorf("%d concurrent lookups of one token sent %d lookup scripts, want 1 (one lease of 50 tokens)", callers, n)
		}
		v, err := rdb.HGet(ctx, prefix+":in:{"+s.TokenHash(token)+"}:rl", "tokens").Result()
		if err != nil {
			t.Fatal(err)
		}
		if f, _ := strconv.ParseFloat(v, 64); f != burst-50 {
			t.Errorf("bucket holds %v after %d concurrent lookups, want %d (one lease)", f, callers, burst-50)
		}
	}
}

// Many more concurrent lookups of one token than a lease serves: lookups
// follow one another, each serving the callers that waited for it, and
// none of the 300 is refused (the bucket of 1,000 holds them all); when
// each lookup leased a batch of its own, replacing the others', the
// tokens of the replaced leases were lost and most callers refused.
func TestConcurrentLookupsBeyondOneLeaseAreNotRefused(t *testing.T) {
	rdb := testenv.Redis(t)
	prefix := testenv.KeyPrefix(t, rdb, "hgleaseherd")
	counter := &scriptCounter{}
	rdb.AddHook(counter)
	s, err := store.New(rdb, prefix, testKey())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ctx := context.Background()
	const rate, burst, callers = 1000.0, 1000, 300 // a lookup leases 50 tokens
	token := "tok-big-herd-" + strings.Repeat("b", 30)
	s.Lookup(ctx, "warm-up-"+token, rate, burst)
	counter.n.Store(0)
	start := make(chan struct{})
	var wg sync.WaitGroup
	var refused atomic.Int64
	for range callers {
		wg.Go(func() {
			<-start
			if _, ok, _, err := s.Lookup(ctx, token, rate, burst); err != nil {
				t.Error(err)
			} else if !ok {
				refused.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if refused.Load() != 0 {
		t.Fatalf("%d of %d lookups refused by a bucket of %d", refused.Load(), callers, burst)
	}
	if n := counter.n.Load(); n > callers/50+1 {
		t.Errorf("%d concurrent lookups sent %d lookup scripts, want about %d (one per lease of 50)", callers, n, callers/50)
	}
}
