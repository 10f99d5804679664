package store

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookgate/hookgate"
)

// Leases of rate-limit tokens for the incoming proxy.
//
// Without them every proxied request costs one Redis round trip (the lookup
// script: the token's route and one token of its bucket). With a high
// enough rate limit, a lookup takes up to leaseSize tokens at once and the
// process answers the next requests for the same token from them, with the
// route it read alongside, until they run out or LeaseLifetime has passed
// since the lookup was sent, whichever comes first.
//
// What that keeps:
//
//   - The limit holds across processes: tokens are taken from the one shared
//     bucket before they are spent. In any window of time, a token's
//     requests through P processes exceed what the bucket allows by at most
//     P × (leaseSize − 1) (the tokens each process holds unspent when the
//     window opens). leaseSize is at most rate/20 (50 ms of the rate) and
//     64, and 1 (no lease, every request a round trip, as before) when the
//     rate is under 40/s, so the default limit (10/s) is exact.
//   - Every token, known, unknown or disabled, is leased the same way and
//     spends its lease the same way: the Redis commands, the answers and
//     their timing still say nothing of whether a token exists.
//   - Rotate, disable and delete take effect at once: UpdateIncoming and
//     DeleteIncoming return only once LeaseLifetime has passed after their
//     write (outlive), when every lease read before the write, in any
//     process, has expired. A request that reaches any process after the
//     call returned is answered from Redis or from a lease read after the
//     change.
type leaseCache struct {
	mu      sync.Mutex
	entries map[string]*lease
	// flights are the lookups under way that will bring a lease, by token
	// hash: a request finding no lease waits for the one under way rather
	// than sending its own (concurrent requests of one token would each
	// lease a batch, and each lease would replace the last, wasting its
	// tokens and a round trip each).
	flights map[string]chan struct{}
	// used is set once this process leased: its writes then wait out
	// the leases even when SetIncomingLimits was not called.
	used atomic.Bool
	// limits are the deployment's incoming rate limit, when known
	// (SetIncomingLimits): a write waits out leases only when they can
	// exist.
	rate  atomic.Uint64 // math.Float64bits
	burst atomic.Int64
}

type lease struct {
	route   *hookgate.IncomingRoute
	left    int
	expires time.Time
}

// LeaseLifetime bounds how long a lease of rate-limit tokens, and the route
// read with it, is used after its lookup was sent.
const LeaseLifetime = 200 * time.Millisecond

// maxLeases bounds the tokens a process holds leases for; past it, lookups
// are made one request at a time until leases expire.
const maxLeases = 10000

// leaseSize is the number of tokens a lookup asks for at rate per second
// and burst: 50 ms of the rate, at most 64 and half the burst, 1 (no lease)
// below 2.
func leaseSize(rate float64, burst int) int {
	n := min(int(rate/20), 64, burst/2)
	return max(n, 1)
}

// take spends one leased token of hash at now, and returns the route read
// with the lease; ok is false when there is no live lease with a token left.
func (c *leaseCache) take(hash string, now time.Time) (*hookgate.IncomingRoute, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.entries[hash]
	if l == nil {
		return nil, false
	}
	if l.left <= 0 || !now.Before(l.expires) {
		delete(c.entries, hash)
		return nil, false
	}
	l.left--
	return l.route, true
}

// join returns, when a lookup of hash is under way, a channel closed when
// it is done (leader false); otherwise it registers the caller's lookup,
// which must call land(hash) when it is done (leader true).
func (c *leaseCache) join(hash string) (done <-chan struct{}, leader bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch, ok := c.flights[hash]; ok {
		return ch, false
	}
	if c.flights == nil {
		c.flights = make(map[string]chan struct{})
	}
	ch := make(chan struct{})
	c.flights[hash] = ch
	return ch, true
}

// land ends the lookup of hash registered by join, waking those waiting.
func (c *leaseCache) land(hash string) {
	c.mu.Lock()
	ch := c.flights[hash]
	delete(c.flights, hash)
	c.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

// put keeps a lease of left tokens of hash, with its route, taken by a
// lookup sent at sent. It replaces an earlier lease of hash (whose tokens
// are then lost: the bucket is spent less, never more).
func (c *leaseCache) put(hash string, route *hookgate.IncomingRoute, left int, sent time.Time) {
	c.used.Store(true)
	exp := sent.Add(LeaseLifetime)
	now := time.Now()
	if !now.Before(exp) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[string]*lease)
	}
	if len(c.entries) >= maxLeases {
		for h, l := range c.entries {
			if !now.Before(l.expires) {
				delete(c.entries, h)
			}
		}
		if len(c.entries) >= maxLeases {
			return
		}
	}
	c.entries[hash] = &lease{route: route, left: left, expires: exp}
}

// outlive waits until every lease taken before now, by any process, has
// expired, when leases can exist; ctx ending first is its error.
func (c *leaseCache) outlive(ctx context.Context) error {
	if !c.used.Load() && leaseSize(float64frombits(c.rate.Load()), int(c.burst.Load())) <= 1 {
		return nil
	}
	t := time.NewTimer(LeaseLifetime)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SetIncomingLimits tells the store the deployment's incoming rate limit
// (incoming.rate and incoming.burst, which every process of a deployment
// shares): with a rate that leases tokens (see lease.go), UpdateIncoming
// and DeleteIncoming wait out the leases other processes may hold even
// before this process leased any itself.
func (s *Store) SetIncomingLimits(rate float64, burst int) {
	s.leases.rate.Store(float64bits(rate))
	s.leases.burst.Store(int64(burst))
}

func float64bits(f float64) uint64     { return math.Float64bits(f) }
func float64frombits(b uint64) float64 { return math.Float64frombits(b) }
