package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// Idempotency remembers, per tenant, the answer given to an event published
// with an Idempotency-Key (or an event id) for a retention window, so that a
// repeat is answered the same and enqueues nothing.
//
//	{p}:idem:<tenant>:<sha256(key)>   the first answer, with the window as TTL
type Idempotency struct {
	rdb    redis.UniversalClient
	prefix string
	ttl    time.Duration
}

// NewIdempotency returns the store; ttl is the retention window (24 h by default).
func NewIdempotency(rdb redis.UniversalClient, prefix string, ttl time.Duration) *Idempotency {
	return &Idempotency{rdb: rdb, prefix: prefix, ttl: ttl}
}

func (s *Idempotency) key(tenant, k string) string {
	sum := sha256.Sum256([]byte(k))
	return s.prefix + ":idem:" + tenant + ":" + hex.EncodeToString(sum[:16])
}

// ClaimMany claims keys for tenant in one round trip, storing answers[i] for
// keys[i]. For each key it returns the earlier answer when the key was
// already claimed (nil when this call claimed it). Empty keys are skipped.
func (s *Idempotency) ClaimMany(ctx context.Context, tenant string, keys []string, answers [][]byte) ([][]byte, error) {
	cmds := make([]*redis.StatusCmd, len(keys))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			if k != "" {
				cmds[i] = p.SetArgs(ctx, s.key(tenant, k), answers[i], redis.SetArgs{Mode: "NX", Get: true, TTL: s.ttl})
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, translate("claim idempotency keys", err)
	}
	out := make([][]byte, len(keys))
	for i, c := range cmds {
		if c == nil {
			continue
		}
		if v, err := c.Result(); err == nil {
			out[i] = []byte(v)
		} else if !errors.Is(err, redis.Nil) {
			return nil, translate("claim idempotency key", err)
		}
	}
	return out, nil
}

// Release forgets keys (after a failed enqueue), so a retry is processed anew.
func (s *Idempotency) Release(ctx context.Context, tenant string, keys ...string) error {
	full := make([]string, 0, len(keys))
	for _, k := range keys {
		if k != "" {
			full = append(full, s.key(tenant, k))
		}
	}
	if len(full) == 0 {
		return nil
	}
	return translate("release idempotency keys", s.rdb.Del(ctx, full...).Err())
}
