package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
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
// they read as ClaimDone without a digest.
type Idempotency struct {
	rdb    Client
	prefix string
	ttl    time.Duration
}

// NewIdempotency returns the store; ttl is the retention window (24 h by default).
func NewIdempotency(rdb Client, prefix string, ttl time.Duration) *Idempotency {
	return &Idempotency{rdb: rdb, prefix: prefix, ttl: ttl}
}

// ClaimState is where a claimed key stands.
type ClaimState byte

// The states of a key. ClaimFree is never stored: it is what Claim reports
// for a key it took.
const (
	ClaimFree    ClaimState = 0
	ClaimPending ClaimState = 'p' // taken; the event's tasks may not all be in Redis
	ClaimDone    ClaimState = 'd' // every task of the event is in Redis (or nothing was to be)
)

// digestLen is the length of a content digest in a stored value.
const digestLen = 32

// Claim is one key of a publish: what it claims, or what it found.
type Claim struct {
	Key    string     // the Idempotency-Key or event id; empty: no key, skipped
	State  ClaimState // what to store (ClaimPending or ClaimDone); what was found
	Digest string     // the event's content digest: 32 hex digits; empty in old values
	Record []byte     // the publisher's record (the answer)
}

func (s *Idempotency) key(tenant, k string) string {
	sum := sha256.Sum256([]byte(k))
	return s.prefix + ":idem:" + tenant + ":" + hex.EncodeToString(sum[:16])
}

func (c *Claim) value() string {
	return string(c.State) + c.Digest + string(c.Record)
}

func parseClaim(key, v string) Claim {
	if len(v) > digestLen && (v[0] == byte(ClaimPending) || v[0] == byte(ClaimDone)) {
		return Claim{Key: key, State: ClaimState(v[0]), Digest: v[1 : 1+digestLen], Record: []byte(v[1+digestLen:])}
	}
	return Claim{Key: key, State: ClaimDone, Record: []byte(v)} // an answer stored before states existed
}

// Claim takes, in one round trip, each key of cs that is free, storing its
// state, digest and record for the window. It returns, for each claim, what
// the key held before: State ClaimFree when this call took it. Claims with
// an empty key are skipped (reported ClaimFree).
func (s *Idempotency) Claim(ctx context.Context, tenant string, cs []Claim) ([]Claim, error) {
	cmds := make([]*redis.StatusCmd, len(cs))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range cs {
			if cs[i].Key != "" {
				cmds[i] = p.SetArgs(ctx, s.key(tenant, cs[i].Key), cs[i].value(), redis.SetArgs{Mode: "NX", Get: true, TTL: s.ttl})
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, translate("claim idempotency keys", err)
	}
	out := make([]Claim, len(cs))
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
func (s *Idempotency) Confirm(ctx context.Context, tenant string, cs []Claim) error {
	return translate("confirm idempotency keys", s.eachKey(ctx, confirmScript, tenant, cs, func(c Claim) []any {
		c.State = ClaimDone
		return []any{c.value(), c.Digest, s.ttl.Milliseconds()}
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
func (s *Idempotency) Release(ctx context.Context, tenant string, cs []Claim) error {
	return translate("release idempotency keys", s.eachKey(ctx, releaseScript, tenant, cs, func(c Claim) []any {
		return []any{c.value()}
	}))
}

// eachKey runs script once per claim with a key, pipelined: one round trip,
// two after Redis lost its script cache (a restart).
func (s *Idempotency) eachKey(ctx context.Context, script *redis.Script, tenant string, cs []Claim, args func(Claim) []any) error {
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
