package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/redis/go-redis/v9"
)

// ConfirmTokens keeps the single-use tokens of subscription confirmation
// links: a hash per token, keyed by the SHA-256 of the token so that Redis
// never holds a usable link, and a set per webhook of its token keys.
//
//	P:confirm:<sha256 hex>   HASH ns, wh, ep, url, exp (unix ms), used ("1")
//	P:confirm:wh:<wh>        SET  token keys of the webhook
//
// Both expire keep after the tokens do, so that an expired link gets
// "expired" rather than "invalid".
type ConfirmTokens struct {
	rdb    Client
	prefix string
}

// NewConfirmTokens returns the token store with keys under prefix.
func NewConfirmTokens(rdb Client, prefix string) *ConfirmTokens {
	return &ConfirmTokens{rdb: rdb, prefix: prefix}
}

func (c *ConfirmTokens) key(token string) string {
	sum := sha256.Sum256([]byte(token))
	return c.prefix + ":confirm:" + hex.EncodeToString(sum[:])
}
func (c *ConfirmTokens) webhookKey(wh string) string { return c.prefix + ":confirm:wh:" + wh }

// Save stores the tokens of webhook wh, valid until exp and kept keep after.
func (c *ConfirmTokens) Save(ctx context.Context, wh string, tokens []hookgate.ConfirmToken, exp time.Time, keep time.Duration) error {
	ttl := time.Until(exp) + keep
	if Clustered(c.rdb) {
		return c.saveOrdered(ctx, wh, tokens, exp, ttl)
	}
	// One transaction on one Redis.
	p := c.rdb.TxPipeline()
	for _, t := range tokens {
		k := c.key(t.Token)
		c.writeToken(ctx, p, k, t, exp, ttl)
		p.SAdd(ctx, c.webhookKey(wh), k)
	}
	p.Expire(ctx, c.webhookKey(wh), ttl)
	if _, err := p.Exec(ctx); err != nil {
		return fmt.Errorf("store confirmation tokens of %s: %w", wh, err)
	}
	return nil
}

// saveOrdered is Save on a Cluster, where the token keys (by their hash)
// fall in any slot and cannot share a transaction with the webhook's set:
// the set first, then the tokens. A failure half-way leaves at most set
// members with no token behind them, which Spend skips; a token never
// exists outside its webhook's set, so a later re-send always spends it.
func (c *ConfirmTokens) saveOrdered(ctx context.Context, wh string, tokens []hookgate.ConfirmToken, exp time.Time, ttl time.Duration) error {
	p := c.rdb.TxPipeline()
	for _, t := range tokens {
		p.SAdd(ctx, c.webhookKey(wh), c.key(t.Token))
	}
	p.Expire(ctx, c.webhookKey(wh), ttl)
	if _, err := p.Exec(ctx); err != nil {
		return fmt.Errorf("store confirmation tokens of %s: %w", wh, err)
	}
	p = c.rdb.Pipeline()
	for _, t := range tokens {
		c.writeToken(ctx, p, c.key(t.Token), t, exp, ttl)
	}
	if _, err := p.Exec(ctx); err != nil {
		return fmt.Errorf("store confirmation tokens of %s: %w", wh, err)
	}
	return nil
}

func (c *ConfirmTokens) writeToken(ctx context.Context, p redis.Pipeliner, k string, t hookgate.ConfirmToken, exp time.Time, ttl time.Duration) {
	p.HSet(ctx, k, "ns", t.Namespace, "wh", t.WebhookID, "ep", t.EndpointID, "url", t.URL, "exp", exp.UnixMilli())
	p.Expire(ctx, k, ttl)
}

// useScript uses a token once. KEYS[1] token key; ARGV[1] now (ms).
var useScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'ns', 'wh', 'exp', 'used', 'ep', 'url')
if not v[1] then return {'invalid'} end
if v[4] == '1' then return {'used'} end
if tonumber(ARGV[1]) > tonumber(v[3]) then return {'expired'} end
redis.call('HSET', KEYS[1], 'used', '1')
return {'ok', v[1], v[2], v[5] or '', v[6] or ''}
`)

// Use spends token at now and returns its state (hookgate.TokenOK and what it
// confirms, or hookgate.TokenInvalid, hookgate.TokenUsed, hookgate.TokenExpired with nothing changed).
func (c *ConfirmTokens) Use(ctx context.Context, token string, now time.Time) (string, hookgate.ConfirmToken, error) {
	v, err := useScript.Run(ctx, c.rdb, []string{c.key(token)}, now.UnixMilli()).StringSlice()
	if err != nil {
		return "", hookgate.ConfirmToken{}, fmt.Errorf("use confirmation token: %w", err)
	}
	if v[0] != hookgate.TokenOK || len(v) < 5 {
		return v[0], hookgate.ConfirmToken{}, nil
	}
	return hookgate.TokenOK, hookgate.ConfirmToken{Token: token, Namespace: v[1], WebhookID: v[2], EndpointID: v[3], URL: v[4]}, nil
}

// GiveBack makes a used token usable again (what it confirms did not change).
func (c *ConfirmTokens) GiveBack(ctx context.Context, token string) error {
	return c.rdb.HDel(ctx, c.key(token), "used").Err()
}

// spendScript marks a token used, on an existing hash only (an expired key
// is not brought back), when it is for endpoint ARGV[1] or ARGV[1] is "".
var spendScript = redis.NewScript(`if redis.call('EXISTS', KEYS[1]) == 1 and (ARGV[1] == '' or redis.call('HGET', KEYS[1], 'ep') == ARGV[1]) then
  redis.call('HSET', KEYS[1], 'used', '1') end return 0`)

// Spend marks used every token of the webhook's endpoint ep (every token of
// the webhook when ep is ""). Best effort: a token left usable confirms
// what is already confirmed.
func (c *ConfirmTokens) Spend(ctx context.Context, wh, ep string) {
	keys, err := c.rdb.SMembers(ctx, c.webhookKey(wh)).Result()
	if err != nil || len(keys) == 0 {
		return
	}
	p := c.rdb.Pipeline()
	for _, k := range keys {
		spendScript.Eval(ctx, p, []string{k}, ep)
	}
	_, _ = p.Exec(ctx)
}

// ResetConsecutiveFailures sets webhook id's consecutive failed deliveries
// (the count auto-pause watches) to zero: a resumed webhook starts afresh.
func (s *Store) ResetConsecutiveFailures(ctx context.Context, id string) error {
	return s.rdb.HSet(ctx, s.StatsKey(id), StatsConsecutiveFailures, 0).Err()
}
