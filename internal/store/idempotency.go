package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate"
)

// Idempotency binds, per tenant, an Idempotency-Key (or an event id) to the
// first event published with it, for a retention window:
//
//	{p}:idem:<tenant>:<sha256(key)[:16]>   STRING  state, digest, record; the window as TTL
//
// The value is one state byte, the event's content digest (32 hex digits)
// and the record the publisher keeps (its answer, JSON). The state is
// ClaimPending from the moment a publish takes the key until every task of
// the event is in Redis, then ClaimDone. A pending claim is how a publish
// refused half-way (Redis gone after the claim) stays retryable: the retry
// finds it and publishes again under the same event id instead of being told
// "duplicate". Values written before states existed are a bare JSON answer:
// they read as ClaimDone without a digest. It implements
// hookgate.Idempotency, whose IdempotencyClaim and ClaimState it stores.
type Idempotency struct {
	rdb    Client
	prefix string
	ttl    time.Duration
}

var _ hookgate.Idempotency = (*Idempotency)(nil)

// NewIdempotency returns the store; ttl is the retention window (24 h by default).
func NewIdempotency(rdb Client, prefix string, ttl time.Duration) *Idempotency {
	return &Idempotency{rdb: rdb, prefix: prefix, ttl: ttl}
}

// digestLen is the length of a content digest in a stored value.
const digestLen = 32

func (s *Idempotency) key(tenant, k string) string {
	sum := sha256.Sum256([]byte(k))
	return s.prefix + ":idem:" + tenant + ":" + hex.EncodeToString(sum[:16])
}

// claimValue is what a claim stores: its state byte, digest and record.
func claimValue(c *hookgate.IdempotencyClaim) string {
	return string(c.State) + c.Digest + string(c.Record)
}

func parseClaim(key, v string) hookgate.IdempotencyClaim {
	if len(v) > digestLen && (v[0] == byte(hookgate.ClaimPending) || v[0] == byte(hookgate.ClaimDone)) {
		return hookgate.IdempotencyClaim{Key: key, State: hookgate.ClaimState(v[0]), Digest: v[1 : 1+digestLen], Record: []byte(v[1+digestLen:])}
	}
	return hookgate.IdempotencyClaim{Key: key, State: hookgate.ClaimDone, Record: []byte(v)} // an answer stored before states existed
}

// Claim takes, in one round trip, each key of cs that is free, storing its
// state, digest and record for the window. It returns, for each claim, what
// the key held before: State hookgate.ClaimFree when this call took it. Claims with
// an empty key are skipped (reported hookgate.ClaimFree).
func (s *Idempotency) Claim(ctx context.Context, tenant string, cs []hookgate.IdempotencyClaim) ([]hookgate.IdempotencyClaim, error) {
	cmds := make([]*redis.StatusCmd, len(cs))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range cs {
			if cs[i].Key != "" {
				cmds[i] = p.SetArgs(ctx, s.key(tenant, cs[i].Key), claimValue(&cs[i]), redis.SetArgs{Mode: "NX", Get: true, TTL: s.ttl})
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, translate("claim idempotency keys", err)
	}
	out := make([]hookgate.IdempotencyClaim, len(cs))
	for i, c := range cmds {
		if c == nil {
			continue
		}
		if v, err := c.Result(); err == nil {
			out[i] = parseClaim(cs[i].Key, v)
		} else if !errors.Is(err, redis.Nil) {
			return nil, translate("claim idempotency key", err)
		}
	}
	return out, nil
}

// confirmScript marks a claim done, unless the key is bound to another
// content (it expired and another publish took it: that one owns it now).
// KEYS[1]: the key. ARGV: the done value, its digest, the TTL in ms.
// Returns 1 when stored, 0 when the key holds another content.
var confirmScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 2, 1 + #ARGV[2]) ~= ARGV[2] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
`)

// Confirm marks the claims cs done (State is ignored), in one round trip,
// after every task of their events is in Redis. A key that another content
// took meanwhile is left alone. The window starts again at confirmation.
func (s *Idempotency) Confirm(ctx context.Context, tenant string, cs []hookgate.IdempotencyClaim) error {
	return translate("confirm idempotency keys", s.eachKey(ctx, confirmScript, tenant, cs, func(c hookgate.IdempotencyClaim) []any {
		c.State = hookgate.ClaimDone
		return []any{claimValue(&c), c.Digest, s.ttl.Milliseconds()}
	}))
}

// releaseScript deletes a key if it still holds exactly ARGV[1].
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// Release frees the keys of claims cs that still hold exactly what cs
// stored (a publish refused before it enqueued anything), in one round trip.
// A key confirmed or changed by another publish meanwhile is left alone.
func (s *Idempotency) Release(ctx context.Context, tenant string, cs []hookgate.IdempotencyClaim) error {
	return translate("release idempotency keys", s.eachKey(ctx, releaseScript, tenant, cs, func(c hookgate.IdempotencyClaim) []any {
		return []any{claimValue(&c)}
	}))
}

// eachKey runs script once per claim with a key, pipelined: one round trip,
// two after Redis lost its script cache (a restart).
func (s *Idempotency) eachKey(ctx context.Context, script *redis.Script, tenant string, cs []hookgate.IdempotencyClaim, args func(hookgate.IdempotencyClaim) []any) error {
	run := func(p redis.Pipeliner) error {
		for _, c := range cs {
			if c.Key != "" {
				script.EvalSha(ctx, p, []string{s.key(tenant, c.Key)}, args(c)...)
			}
		}
		return nil
	}
	_, err := s.rdb.Pipelined(ctx, run)
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		if err = script.Load(ctx, s.rdb).Err(); err == nil {
			_, err = s.rdb.Pipelined(ctx, run)
		}
	}
	return err
}
