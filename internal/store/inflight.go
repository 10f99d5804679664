package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// InFlight bounds the requests in flight to one endpoint across every
// worker process (delivery.endpoint_in_flight), with leases that expire, and
// parks the deliveries that find their endpoint at the bound until a place
// frees:
//
//	P:inf:{E}         ZSET  the leases held on endpoint E's places: members
//	                        are lease ids, scores the lease deadlines (unix ms)
//	P:inf:{E}:parked  ZSET  deliveries waiting for a place: members are the
//	                        waiter's reference (its queued task), scores the
//	                        time it first parked (unix ms), oldest first
//	P:inf:{E}:woken   ZSET  parked deliveries popped to be woken that have not
//	                        come back for a place yet: members are their
//	                        references, scores when they stop counting (unix
//	                        ms, WokenGrace after the pop)
//
// E is the endpoint id, a Redis Cluster hash tag: both keys of a call live in
// one slot. A lease whose holder died (a killed worker) stops counting at its
// deadline: every call drops the expired leases before it counts. A parked
// entry is only a wake-up call: the delivery itself stays in the queue (due
// again later by itself), so an entry that is lost or stale loses nothing.
//
// Acquiring is one script run; releasing is one script run that also pops
// the oldest parked deliveries, as many as there are free places, for the
// caller to wake. A place counts as free for a wake-up only when no
// delivery woken before is on its way to it: a popped delivery counts
// against the free places until it comes back for one (Acquire with its
// reference, whether it gets a place or parks again) or for WokenGrace at
// most. Without that count, releases in a row (an endpoint's hanging
// requests timing out together) each popped one delivery per place free at
// that moment, 1+2+...+limit in all, most of which found the endpoint full
// again and went back through the queue ahead of other endpoints'
// deliveries. The count never turns a caller away: Acquire gives a free
// place to whoever asks first, woken or not. Park parks a delivery that was never dequeued (the
// publisher's, for an endpoint it knows to be stalled) unless a place is
// free. Whether an endpoint has parked deliveries is announced on a Pub/Sub
// channel (Announce, WatchStalled), for publishers to park the endpoint's
// new deliveries straight away.
type InFlight struct {
	rdb    Client
	prefix string
}

// NewInFlight returns the in-flight bound of the deployment whose keys start
// with prefix + ":".
func NewInFlight(rdb Client, prefix string) *InFlight {
	return &InFlight{rdb: rdb, prefix: prefix}
}

// ParkedTTL is how long an endpoint's parked list is kept after the last
// delivery parked in it: longer than any delivery waits between two looks
// at its endpoint.
const ParkedTTL = time.Hour

// WokenGrace is how long a woken delivery counts against its endpoint's
// free places before it comes back for one: a queue's lag under load plus
// the wait in a worker of a rate-limited delivery (up to 1.1 s before it
// asks for its place). One that never comes back (its task deleted, or
// given a place by its own process without asking Redis) holds back a
// wake-up that long at most: the worker that woke it looks again after it
// (deliver's recheckWoken).
const WokenGrace = 2 * time.Second

// acquireScript takes a place on an endpoint or parks the caller. KEYS[1]
// holds the leases, KEYS[2] the parked deliveries, KEYS[3] the woken ones
// on their way. ARGV: the lease id, the bound, the lease's time to live
// (ms), the caller's reference ("": it has none), whether it parks at the
// bound ("1") or not, the parked list's TTL (ms), WokenGrace (ms). The
// caller's reference stops counting as woken either way. With a place
// taken it answers {1, 0, refs...}: refs are parked deliveries popped to be
// woken, one per place still free that no woken delivery is on its way to
// (places that lapsed with no release to wake anyone); else {0, deliveries
// parked} (0 when the caller does not park). The second number, with a
// place taken and refs popped, is the deliveries left parked.
var acquireScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if ARGV[4] ~= '' then redis.call('ZREM', KEYS[3], ARGV[4]) end
local n = redis.call('ZCARD', KEYS[1])
local limit = tonumber(ARGV[2])
if n < limit then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
  if ARGV[4] ~= '' then redis.call('ZREM', KEYS[2], ARGV[4]) end
  local out = {1, 0}
  local free = limit - n - 1 - redis.call('ZCARD', KEYS[3])
  if free > 0 then
    local popped = redis.call('ZPOPMIN', KEYS[2], free)
    local grace = tonumber(ARGV[7])
    for i = 1, #popped, 2 do
      out[#out + 1] = popped[i]
      redis.call('ZADD', KEYS[3], now + grace, popped[i])
    end
    if #popped > 0 then
      redis.call('PEXPIRE', KEYS[3], grace)
      out[2] = redis.call('ZCARD', KEYS[2])
    end
  end
  return out
end
if ARGV[4] == '' or ARGV[5] ~= '1' then return {0, 0} end
redis.call('ZADD', KEYS[2], 'NX', now, ARGV[4])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[6]))
return {0, redis.call('ZCARD', KEYS[2])}
`)

// freeScript gives a place back and pops the oldest parked deliveries,
// one per free place that no woken delivery is on its way to (at most
// ARGV[3]), and counts them as woken. KEYS as acquireScript's. ARGV: the
// lease id ("": none), the bound, the most to pop, WokenGrace (ms), a woken
// delivery's reference that stops counting ("": none; Forget). It answers
// {deliveries left parked, popped references...}; nothing left is 0 only
// when something was popped (a release with nothing parked does not count
// them).
var freeScript = redis.NewScript(`
if ARGV[1] ~= '' then redis.call('ZREM', KEYS[1], ARGV[1]) end
if ARGV[5] ~= '' then redis.call('ZREM', KEYS[3], ARGV[5]) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local free = math.min(tonumber(ARGV[2]) - redis.call('ZCARD', KEYS[1]) - redis.call('ZCARD', KEYS[3]), tonumber(ARGV[3]))
if free <= 0 then return {-1} end
local popped = redis.call('ZPOPMIN', KEYS[2], free)
if #popped == 0 then return {-1} end
local out = {redis.call('ZCARD', KEYS[2])}
local grace = tonumber(ARGV[4])
for i = 1, #popped, 2 do
  out[#out + 1] = popped[i]
  redis.call('ZADD', KEYS[3], now + grace, popped[i])
end
redis.call('PEXPIRE', KEYS[3], grace)
return out
`)

// parkScript parks a delivery not yet dequeued unless a place is free that
// no woken delivery is on its way to. KEYS as acquireScript's. ARGV: the
// delivery's reference, the bound, the parked list's TTL (ms). It answers
// {1, deliveries parked} when parked, {0, deliveries parked} when a place
// is free (not parked).
var parkScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[3]) < tonumber(ARGV[2]) then
  return {0, redis.call('ZCARD', KEYS[2])}
end
redis.call('ZADD', KEYS[2], 'NX', now, ARGV[1])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[3]))
return {1, redis.call('ZCARD', KEYS[2])}
`)

func (f *InFlight) keys(endpointID string) []string {
	k := f.prefix + ":inf:{" + endpointID + "}"
	return []string{k, k + ":parked", k + ":woken"}
}

// Acquire takes one of endpointID's limit places under lease, which holds it
// for ttl at most. ref is the caller's reference (its queued task; "" when
// it has none): a delivery woken by a release stops counting against the
// free places when it comes back here. When every place is held, park
// parks the caller (ref, handed back by a later Release) and parked is the
// number of deliveries parked on the endpoint, the caller included. With a
// place taken, wake are parked deliveries the caller should wake: places
// were free beyond its own that no woken delivery is on its way to (leases
// of a dead holder lapsed, which no release announced), and parked is the
// number left parked after them (0 when it wakes none).
func (f *InFlight) Acquire(ctx context.Context, endpointID, lease string, limit int, ttl time.Duration, ref string, park bool) (ok bool, parked int64, wake []string, err error) {
	parks := "0"
	if park {
		parks = "1"
	}
	res, err := acquireScript.Run(ctx, f.rdb, f.keys(endpointID), lease, max(limit, 1), max(ttl.Milliseconds(), 1), ref, parks,
		ParkedTTL.Milliseconds(), WokenGrace.Milliseconds()).Slice()
	if err != nil {
		return false, 0, nil, wrap(ctx, err, "take a place on endpoint %s", endpointID)
	}
	if len(res) < 2 {
		return false, 0, nil, fmt.Errorf("take a place on endpoint %s: unexpected answer %v", endpointID, res)
	}
	got, _ := res[0].(int64)
	parked, _ = res[1].(int64)
	for _, r := range res[2:] {
		if s, ok := r.(string); ok {
			wake = append(wake, s)
		}
	}
	return got == 1, parked, wake, nil
}

// Release gives lease's place on endpointID back and returns the references
// of up to wake parked deliveries, oldest first, one per place now free
// that no woken delivery is on its way to: the caller wakes them (they are
// no longer parked, and count as woken for WokenGrace or until they come
// back). left is the number of deliveries still parked after them, or -1
// when none was popped.
func (f *InFlight) Release(ctx context.Context, endpointID, lease string, limit, wake int) (refs []string, left int64, err error) {
	return f.free(ctx, endpointID, lease, "", limit, wake)
}

// Forget tells that ref, a delivery woken by Release or Acquire, will not
// come back for a place (its task is gone), and returns, as Release does,
// a parked delivery to wake in its stead when a place is free.
func (f *InFlight) Forget(ctx context.Context, endpointID, ref string, limit int) (refs []string, left int64, err error) {
	return f.free(ctx, endpointID, "", ref, limit, 1)
}

func (f *InFlight) free(ctx context.Context, endpointID, lease, forget string, limit, wake int) (refs []string, left int64, err error) {
	res, err := freeScript.Run(ctx, f.rdb, f.keys(endpointID), lease, max(limit, 1), max(wake, 0), WokenGrace.Milliseconds(), forget).Slice()
	if err != nil {
		return nil, 0, wrap(ctx, err, "give back a place on endpoint %s", endpointID)
	}
	if len(res) == 0 {
		return nil, 0, fmt.Errorf("give back a place on endpoint %s: unexpected answer %v", endpointID, res)
	}
	left, _ = res[0].(int64)
	for _, r := range res[1:] {
		if s, ok := r.(string); ok {
			refs = append(refs, s)
		}
	}
	return refs, left, nil
}

// Park parks ref, a delivery that has not taken a place yet (a publisher's,
// already in the queue and due by itself later), on endpointID when its
// limit places are all held or promised to woken deliveries: a release
// wakes it like a delivery parked by Acquire. When a place is free it parks nothing and answers false: the
// caller makes the delivery due now. parked is the number of deliveries
// parked on the endpoint (the caller's included when it parked).
func (f *InFlight) Park(ctx context.Context, endpointID, ref string, limit int) (ok bool, parked int64, err error) {
	res, err := parkScript.Run(ctx, f.rdb, f.keys(endpointID), ref, max(limit, 1), ParkedTTL.Milliseconds()).Int64Slice()
	if err != nil {
		return false, 0, wrap(ctx, err, "park a delivery on endpoint %s", endpointID)
	}
	if len(res) < 2 {
		return false, 0, fmt.Errorf("park a delivery on endpoint %s: unexpected answer %v", endpointID, res)
	}
	return res[0] == 1, res[1], nil
}

// StalledChannel is the Pub/Sub channel on which workers announce the
// endpoints that have deliveries parked, and those whose last parked
// delivery was woken (Announce).
func (f *InFlight) StalledChannel() string { return f.prefix + ":inf:stalled" }

// Announce tells every process watching (WatchStalled) that endpointID has
// parked deliveries (parked > 0, their number), or that its last parked
// delivery was woken (parked 0).
func (f *InFlight) Announce(ctx context.Context, endpointID string, parked int64) error {
	err := f.rdb.Publish(ctx, f.StalledChannel(), strconv.FormatInt(max(parked, 0), 10)+" "+endpointID).Err()
	return wrap(ctx, err, "announce endpoint %s's parked deliveries", endpointID)
}

// WatchStalled subscribes to the announcements of Announce and calls
// changed with each, in order, from this goroutine, until ctx ends (nil)
// or the subscription is lost (its error: announcements after that are
// missed).
func (f *InFlight) WatchStalled(ctx context.Context, changed func(endpointID string, parked int64)) error {
	return watch(ctx, f.rdb, f.StalledChannel(), "watch stalled endpoints", nil, func(msg string) {
		n, ep, ok := strings.Cut(msg, " ")
		if v, err := strconv.ParseInt(n, 10, 64); ok && err == nil {
			changed(ep, v)
		}
	})
}

// Held reports the leases in force on endpointID (for tests and the bench).
func (f *InFlight) Held(ctx context.Context, endpointID string) (int64, error) {
	now := fmt.Sprint(time.Now().UnixMilli())
	n, err := f.rdb.ZCount(ctx, f.keys(endpointID)[0], "("+now, "+inf").Result()
	return n, wrap(ctx, err, "count the places held on endpoint %s", endpointID)
}
