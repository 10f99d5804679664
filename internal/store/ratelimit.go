package store

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/redis/go-redis/v9"
)

// RateLimiter spaces the deliveries to an endpoint that has a rate limit
// (endpoints[].rate_limit) so that every worker process together sends at
// most that many per second. It is GCRA (the generic cell rate algorithm)
// in one Lua script, on Redis's clock, with reservations:
//
//	P:rl:{E}              STRING  the endpoint's theoretical arrival time: the
//	                              next free send time, unix µs; expires once past
//	P:rl:{E}:d:<delivery> STRING  the send time reserved for one delivery, unix µs;
//	                              expires ReservationGrace after that time
//
// E is the endpoint id, a Redis Cluster hash tag: both keys of a call live
// in one slot. A delivery that asks when its endpoint is busy gets the next
// free send time and keeps it: asking again (it comes back from the queue
// at that time) finds its reservation and is admitted without taking
// another. So a burst of N deliveries costs about 2N script runs however
// long they wait, and the deliveries never compete for free times.
type RateLimiter struct {
	rdb    Client
	prefix string
}

// NewRateLimiter returns the limiter for the deployment whose keys start
// with prefix + ":".
func NewRateLimiter(rdb Client, prefix string) *RateLimiter {
	return &RateLimiter{rdb: rdb, prefix: prefix}
}

// ReservationGrace is how long a reservation is kept after its time: a
// delivery that comes back later than that (a queue stopped for longer)
// takes a new one.
const ReservationGrace = 10 * time.Minute

// reserveScript is GCRA with per-delivery reservations. KEYS[1] holds the
// endpoint's theoretical arrival time (TAT), KEYS[2] the delivery's
// reservation. ARGV: the emission interval (µs, 1/rate), the look-ahead
// (µs: a send time at most this far ahead is admitted), now (unix µs; 0
// reads Redis's clock), the reservation grace (ms). It answers {admitted
// (1/0), wait in µs}.
//
// There is no burst allowance: after a quiet spell the first delivery goes
// at once and the next one interval later, so the rate the receiver sees
// is the rate limit even at the start of a burst.
var reserveScript = redis.NewScript(`
local interval = tonumber(ARGV[1])
local ahead = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if now == 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local at = tonumber(redis.call('GET', KEYS[2]))
if not at then
  local tat = tonumber(redis.call('GET', KEYS[1]))
  if not tat or tat < now then tat = now end
  at = tat
  local nxt = at + interval
  redis.call('SET', KEYS[1], string.format('%d', nxt), 'PX', math.floor((nxt - now) / 1000) + 1000)
  if at - now > ahead then
    redis.call('SET', KEYS[2], string.format('%d', at), 'PX', math.floor((at - now) / 1000) + tonumber(ARGV[4]))
    return {0, at - now}
  end
  return {1, at - now}
end
if at - now > ahead then
  return {0, at - now}
end
redis.call('DEL', KEYS[2])
if at < now then at = now end
return {1, at - now}
`)

func (l *RateLimiter) endpointKey(endpointID string) string {
	return l.prefix + ":rl:{" + endpointID + "}"
}

// Reserve asks for a send time for delivery deliveryID to endpoint
// endpointID, limited to perSecond deliveries per second: the delivery's
// reservation if it has one, else the endpoint's next free time. A time at
// most ahead from now is admitted (and the reservation used up); a later
// one is kept for the delivery, which should come back then.
func (l *RateLimiter) Reserve(ctx context.Context, endpointID, deliveryID string, perSecond float64, ahead time.Duration) (hookgate.Reservation, error) {
	return l.reserve(ctx, endpointID, deliveryID, perSecond, ahead, time.Time{})
}

// reserve is Reserve at time now (the zero time: Redis's clock). Tests pass
// a clock of their own.
func (l *RateLimiter) reserve(ctx context.Context, endpointID, deliveryID string, perSecond float64, ahead time.Duration, now time.Time) (hookgate.Reservation, error) {
	if !(perSecond > 0) {
		return hookgate.Reservation{Admitted: true}, nil
	}
	interval := int64(math.Round(1e6 / perSecond))
	var nowUS int64
	if !now.IsZero() {
		nowUS = now.UnixMicro()
	}
	key := l.endpointKey(endpointID)
	res, err := reserveScript.Run(ctx, l.rdb, []string{key, key + ":d:" + deliveryID},
		max(interval, 1), ahead.Microseconds(), nowUS, ReservationGrace.Milliseconds()).Int64Slice()
	if err != nil {
		return hookgate.Reservation{}, wrap(ctx, err, "reserve a send time for %s", deliveryID)
	}
	if len(res) != 2 {
		return hookgate.Reservation{}, fmt.Errorf("reserve a send time for %s: unexpected answer %v", deliveryID, res)
	}
	return hookgate.Reservation{Admitted: res[0] == 1, Wait: time.Duration(max(res[1], 0)) * time.Microsecond}, nil
}
