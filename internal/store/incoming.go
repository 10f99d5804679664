package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate"
)

// Incoming webhooks. Key layout, P the prefix, T the tenant, H the keyed
// hash (HMAC-SHA256 under a key derived from the encryption key) of a token:
//
//	P:t:{T}:in:<id>       STRING  the record, JSON; the token AES-256-GCM sealed
//	P:t:{T}:in:ids        ZSET    the tenant's webhook ids, scored by creation (unix ms)
//	P:t:{T}:in:<id>:log   LIST    the request log, newest first, capped
//	P:in:{H}:route        STRING  "1" (enabled) or "0", then the IncomingRoute JSON
//	P:in:{H}:rl           HASH    the rate-limit bucket of token hash H (tokens, ts)
//
// The route and the bucket share a hash tag, so the proxy's lookup and rate
// limit run as one Lua script in one round trip. Only the hash of a token is
// ever a key; the token itself is readable only with the encryption key.
// A bucket exists per token called, whether a webhook has it or not (so the
// rate limit does not tell which tokens exist); it expires once it would be
// full again, so the buckets of guessed tokens last seconds.

var _ hookgate.IncomingStore = (*Store)(nil)

const incomingIDPrefix = "in"

type incomingRecord struct {
	ID          string    `json:"id"`
	Tenant      string    `json:"tenant"`
	Name        string    `json:"name"`
	Owner       string    `json:"owner"`
	Scopes      []string  `json:"scopes"`
	Enabled     bool      `json:"enabled"`
	Transform   string    `json:"transform,omitempty"`
	TokenSealed string    `json:"token_sealed"`
	TokenHash   string    `json:"token_hash"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	RotatedAt   time.Time `json:"rotated_at"`
}

func (s *Store) incomingKey(tenant, id string) string { return s.tenantKey(tenant) + ":in:" + id }
func (s *Store) incomingIDsKey(tenant string) string  { return s.tenantKey(tenant) + ":in:ids" }
func (s *Store) incomingLogKey(tenant, id string) string {
	return s.incomingKey(tenant, id) + ":log"
}
func (s *Store) routeKey(hash string) string  { return s.prefix + ":in:{" + hash + "}:route" }
func (s *Store) bucketKey(hash string) string { return s.prefix + ":in:{" + hash + "}:rl" }

// TokenHash is the keyed hash a token is looked up by.
func (s *Store) TokenHash(token string) string {
	mac, _ := s.macs.Get().(hash.Hash)
	if mac == nil {
		mac = hmac.New(sha256.New, s.lookupKey)
	}
	mac.Reset()
	io.WriteString(mac, token)
	var sum [sha256.Size]byte
	h := hex.EncodeToString(mac.Sum(sum[:0]))
	s.macs.Put(mac)
	return h
}

func incomingNotFound(id string) error {
	return hookgate.Errorf(hookgate.ENOTFOUND, "incoming webhook %s not found", id)
}

func tokenAAD(id string) string { return "incoming:" + id + ":token" }

func (s *Store) encodeIncoming(w *hookgate.IncomingWebhook, hash string) ([]byte, error) {
	r := incomingRecord{ID: w.ID, Tenant: w.Tenant, Name: w.Name, Owner: w.Owner, Scopes: w.Scopes, Enabled: w.Enabled,
		Transform: w.Transform, TokenSealed: s.seal.seal(w.Token, tokenAAD(w.ID)), TokenHash: hash,
		CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt, RotatedAt: w.RotatedAt}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode incoming webhook %s: %w", w.ID, err)
	}
	return b, nil
}

func (s *Store) decodeIncoming(b []byte) (*hookgate.IncomingWebhook, string, error) {
	var r incomingRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, "", fmt.Errorf("decode incoming webhook: %w", err)
	}
	tok, err := s.seal.open(r.TokenSealed, tokenAAD(r.ID))
	if err != nil {
		return nil, "", fmt.Errorf("incoming webhook %s: %w", r.ID, err)
	}
	return &hookgate.IncomingWebhook{ID: r.ID, Tenant: r.Tenant, Name: r.Name, Owner: r.Owner, Scopes: r.Scopes,
		Enabled: r.Enabled, Transform: r.Transform, Token: tok, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		RotatedAt: r.RotatedAt}, r.TokenHash, nil
}

func routeValue(w *hookgate.IncomingWebhook) (string, error) {
	b, err := json.Marshal(hookgate.IncomingRoute{ID: w.ID, Tenant: w.Tenant, Owner: w.Owner, Scopes: w.Scopes,
		Enabled: w.Enabled, Transform: w.Transform})
	if err != nil {
		return "", err
	}
	flag := "0"
	if w.Enabled {
		flag = "1"
	}
	return flag + string(b), nil
}

// CreateIncoming stores a new incoming webhook; w.Token must be set. It
// assigns the id (when empty) and the timestamps.
func (s *Store) CreateIncoming(ctx context.Context, w *hookgate.IncomingWebhook) error {
	if err := checkTenant(w.Tenant); err != nil {
		return err
	}
	if w.Token == "" {
		return errors.New("create incoming webhook: empty token")
	}
	if w.ID == "" {
		w.ID = hookgate.NewID(incomingIDPrefix)
	}
	w.CreatedAt = now()
	w.UpdatedAt, w.RotatedAt = w.CreatedAt, w.CreatedAt
	hash := s.TokenHash(w.Token)
	data, err := s.encodeIncoming(w, hash)
	if err != nil {
		return err
	}
	route, err := routeValue(w)
	if err != nil {
		return err
	}
	key := s.incomingKey(w.Tenant, w.ID)
	ok, err := s.rdb.SetNX(ctx, key, data, 0).Result()
	if err != nil {
		return wrap(ctx, err, "create incoming webhook %s", w.ID)
	}
	if !ok {
		return hookgate.Errorf(hookgate.ECONFLICT, "incoming webhook %s already exists", w.ID)
	}
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, s.incomingIDsKey(w.Tenant), redis.Z{Score: float64(w.CreatedAt.UnixMilli()), Member: w.ID})
		p.Set(ctx, s.routeKey(hash), route, 0)
		return nil
	})
	return wrap(ctx, err, "create incoming webhook %s", w.ID)
}

// FindIncomingByID returns the tenant's incoming webhook id, token included.
func (s *Store) FindIncomingByID(ctx context.Context, tenant, id string) (*hookgate.IncomingWebhook, error) {
	if err := checkTenant(tenant); err != nil {
		return nil, err
	}
	if id == "" || strings.ContainsAny(id, ":{}*") {
		return nil, incomingNotFound(id)
	}
	b, err := s.rdb.Get(ctx, s.incomingKey(tenant, id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, incomingNotFound(id)
	}
	if err != nil {
		return nil, wrap(ctx, err, "find incoming webhook %s", id)
	}
	w, _, err := s.decodeIncoming(b)
	return w, err
}

// FindIncoming lists a tenant's incoming webhooks, filtered by name and
// sorted. A tenant has at most incoming.max_per_tenant of them, so the list
// is read whole and sorted here.
func (s *Store) FindIncoming(ctx context.Context, f hookgate.IncomingFilter) ([]*hookgate.IncomingWebhook, error) {
	if err := checkTenant(f.Tenant); err != nil {
		return nil, err
	}
	ids, err := s.rdb.ZRange(ctx, s.incomingIDsKey(f.Tenant), 0, -1).Result()
	if err != nil {
		return nil, wrap(ctx, err, "list incoming webhooks")
	}
	out := []*hookgate.IncomingWebhook{}
	search := strings.ToLower(f.Search)
	for chunk := range slices.Chunk(ids, mgetChunk) {
		keys := make([]string, len(chunk))
		for i, id := range chunk {
			keys[i] = s.incomingKey(f.Tenant, id)
		}
		vals, err := s.rdb.MGet(ctx, keys...).Result()
		if err != nil {
			return nil, wrap(ctx, err, "list incoming webhooks")
		}
		for _, v := range vals {
			str, ok := v.(string)
			if !ok {
				continue
			}
			w, _, err := s.decodeIncoming([]byte(str))
			if err != nil {
				return nil, err
			}
			if search == "" || strings.Contains(strings.ToLower(w.Name), search) {
				out = append(out, w)
			}
		}
	}
	switch f.Sort {
	case "name":
		slices.SortStableFunc(out, func(a, b *hookgate.IncomingWebhook) int {
			return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
		})
	case "-name":
		slices.SortStableFunc(out, func(a, b *hookgate.IncomingWebhook) int {
			return strings.Compare(strings.ToLower(b.Name), strings.ToLower(a.Name))
		})
	case "created_at":
		slices.SortStableFunc(out, func(a, b *hookgate.IncomingWebhook) int { return a.CreatedAt.Compare(b.CreatedAt) })
	default:
		slices.SortStableFunc(out, func(a, b *hookgate.IncomingWebhook) int { return b.CreatedAt.Compare(a.CreatedAt) })
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// CountIncoming counts a tenant's incoming webhooks.
func (s *Store) CountIncoming(ctx context.Context, tenant string) (int, error) {
	n, err := s.rdb.ZCard(ctx, s.incomingIDsKey(tenant)).Result()
	return int(n), wrap(ctx, err, "count incoming webhooks")
}

// UpdateIncoming saves w over the stored record. With newToken set the token
// is rotated: the old token's route is deleted in the same transaction, so
// it stops opening the webhook at once. It returns once no process anywhere
// can answer from a lease taken before the change (LeaseLifetime).
func (s *Store) UpdateIncoming(ctx context.Context, w *hookgate.IncomingWebhook, newToken string) error {
	if err := checkTenant(w.Tenant); err != nil {
		return err
	}
	key := s.incomingKey(w.Tenant, w.ID)
	err := s.watch(ctx, func(tx *redis.Tx) error {
		b, err := tx.Get(ctx, key).Bytes()
		if errors.Is(err, redis.Nil) {
			return incomingNotFound(w.ID)
		}
		if err != nil {
			return err
		}
		old, oldHash, err := s.decodeIncoming(b)
		if err != nil {
			return err
		}
		w.CreatedAt, w.RotatedAt, w.Token, w.Owner = old.CreatedAt, old.RotatedAt, old.Token, old.Owner
		w.UpdatedAt = now()
		hash := oldHash
		if newToken != "" {
			w.Token, w.RotatedAt = newToken, w.UpdatedAt
			hash = s.TokenHash(newToken)
		}
		data, err := s.encodeIncoming(w, hash)
		if err != nil {
			return err
		}
		route, err := routeValue(w)
		if err != nil {
			return err
		}
		if Clustered(s.rdb) {
			// The route is in its token's slot, the record in the tenant's:
			// no transaction holds both on a Cluster. In the order that
			// fails safe: the old route is deleted first (the old token
			// stops at once, as asked), then the new route is written (it
			// opens only for a token no one has been given yet), then the
			// record. A failure half-way never leaves a token its holder
			// was told is gone still working, and a retry, which starts
			// again from the record, does every step again.
			if hash != oldHash {
				if err := s.rdb.Del(ctx, s.routeKey(oldHash), s.bucketKey(oldHash)).Err(); err != nil {
					return err
				}
			}
			if err := s.rdb.Set(ctx, s.routeKey(hash), route, 0).Err(); err != nil {
				return err
			}
			_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, key, data, 0)
				return nil
			})
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, key, data, 0)
			if hash != oldHash {
				p.Del(ctx, s.routeKey(oldHash), s.bucketKey(oldHash))
			}
			p.Set(ctx, s.routeKey(hash), route, 0)
			return nil
		})
		return err
	}, key)
	if err == nil {
		err = s.leases.outlive(ctx)
	}
	return wrap(ctx, err, "update incoming webhook %s", w.ID)
}

// DeleteIncoming removes the webhook, its route (the token stops working at
// once: the call returns after LeaseLifetime, as UpdateIncoming) and its
// request log.
func (s *Store) DeleteIncoming(ctx context.Context, tenant, id string) error {
	if err := checkTenant(tenant); err != nil {
		return err
	}
	key := s.incomingKey(tenant, id)
	err := s.watch(ctx, func(tx *redis.Tx) error {
		b, err := tx.Get(ctx, key).Bytes()
		if errors.Is(err, redis.Nil) {
			return incomingNotFound(id)
		}
		if err != nil {
			return err
		}
		var r incomingRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("decode incoming webhook: %w", err)
		}
		if Clustered(s.rdb) {
			// On a Cluster the route (its token's slot) goes first, so the
			// token stops working at once, then the record and its log
			// (the tenant's slot) in a transaction.
			if err := s.rdb.Del(ctx, s.routeKey(r.TokenHash), s.bucketKey(r.TokenHash)).Err(); err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Del(ctx, key, s.incomingLogKey(tenant, id))
				p.ZRem(ctx, s.incomingIDsKey(tenant), id)
				return nil
			})
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Del(ctx, key, s.incomingLogKey(tenant, id), s.routeKey(r.TokenHash), s.bucketKey(r.TokenHash))
			p.ZRem(ctx, s.incomingIDsKey(tenant), id)
			return nil
		})
		return err
	}, key)
	if err == nil {
		err = s.leases.outlive(ctx)
	}
	return wrap(ctx, err, "delete incoming webhook %s", id)
}

// lookupScript reads a token's route and takes tokens from the bucket of
// the token's hash (rate ARGV[1] per second, burst ARGV[2]) on Redis's
// clock, so every hookgate process shares one bucket: up to ARGV[3] of them
// (a lease, see lease.go) when that many are there, at least one or none.
// It runs the same commands whether the route exists, is enabled or not:
// the time it takes and the rate limit say nothing of the token. It
// answers {route or "", allowed (1/0), retry after ms, tokens taken}.
var lookupScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then v = '' end
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3]) or 1
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[2], 'tokens', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil or ts == nil then tokens = burst; ts = now end
if now > ts then tokens = math.min(burst, tokens + (now - ts) * rate / 1000) end
local allowed = 0
local wait = 0
local took = 0
if tokens >= 1 then
  took = math.max(1, math.min(want, math.floor(tokens)))
  tokens = tokens - took
  allowed = 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[2], 'tokens', tostring(tokens), 'ts', tostring(math.max(now, ts)))
redis.call('PEXPIRE', KEYS[2], math.ceil(burst * 1000 / rate) + 1000)
return {v, allowed, wait, took}
`)

// Lookup is the proxy's one round trip: the route of token (nil when no
// webhook has it) and whether the token's rate limit lets this request
// through, and if not how long to wait. The limit is kept per token, known
// or not, and taken before anything else is decided, so it answers the
// same for every token.
//
// Lookups made at the same moment by concurrent requests share a round
// trip: each is still its own script run, checked against Redis, but they
// travel in one pipeline (see lookupBatcher).
//
// Where the rate is high enough (lease.go), a lookup takes a few of the
// bucket's tokens at once and the process answers the next lookups of the
// same token from them, with the route read alongside, for at most
// LeaseLifetime: whatever the token (known, unknown, disabled), as the
// round trip it replaces.
func (s *Store) Lookup(ctx context.Context, token string, rate float64, burst int) (*hookgate.IncomingRoute, bool, time.Duration, error) {
	hash := s.TokenHash(token)
	n := leaseSize(rate, burst)
	// One lookup per token at a time brings the next lease: a caller
	// finding none waits for the lookup under way, if any, and spends from
	// what it leased; when that ran out, it waits for (or makes) the next
	// one, so that concurrent callers do not each lease a batch that
	// replaces the others' (their tokens lost, and later callers refused).
	// A caller that still has none after joinRounds lookups (they were
	// refused) looks up on its own, as without leases.
	for round := 0; n > 1 && round < joinRounds; round++ {
		if route, ok := s.leases.take(hash, time.Now()); ok {
			return route, true, 0, nil
		}
		done, leader := s.leases.join(hash)
		if leader {
			// A lease may have landed between take and join.
			if route, ok := s.leases.take(hash, time.Now()); ok {
				s.leases.land(hash)
				return route, true, 0, nil
			}
			defer s.leases.land(hash)
			break
		}
		select {
		case <-done:
		case <-ctx.Done():
			return nil, false, 0, wrap(ctx, ctx.Err(), "look up incoming token")
		}
	}
	start := time.Now()
	route, allowed, wait, took, err := s.lookup(ctx, hash, rate, burst, n)
	if err == nil && allowed && took > 1 {
		s.leases.put(hash, route, took-1, start)
	}
	return route, allowed, wait, err
}

// joinRounds bounds how many lookups of other callers a lookup waits for
// before it makes its own (each lease serves up to 64 callers; a refused
// lookup leases nothing).
const joinRounds = 8

// lookup runs the lookup script for hash, asking for up to n tokens.
func (s *Store) lookup(ctx context.Context, hash string, rate float64, burst, n int) (*hookgate.IncomingRoute, bool, time.Duration, int, error) {
	keys := []string{s.routeKey(hash), s.bucketKey(hash)}
	rateArg := strconv.FormatFloat(rate, 'f', -1, 64)
	// Alone: no batch to share, so no hand-off to a sender either.
	if s.lookupsInFlight.Add(1) == 1 {
		res, err := lookupScript.Run(ctx, s.rdb, keys, rateArg, burst, n).Result()
		s.lookupsInFlight.Add(-1)
		if err != nil {
			return nil, false, 0, 0, wrap(ctx, err, "look up incoming token")
		}
		return parseLookup(res)
	}
	defer s.lookupsInFlight.Add(-1)
	req := &lookupReq{ctx: ctx, keys: keys, rate: rateArg, burst: burst, n: n, done: make(chan struct{})}
	s.lookupMu.RLock()
	if s.lookupsClosed {
		s.lookupMu.RUnlock()
		s.runLookups([]*lookupReq{req})
	} else {
		s.lookupOnce.Do(s.startLookups)
		select {
		case s.lookups <- req:
		case <-ctx.Done():
			s.lookupMu.RUnlock()
			return nil, false, 0, 0, ctx.Err()
		}
		s.lookupMu.RUnlock()
	}
	<-req.done
	if req.err != nil {
		return nil, false, 0, 0, wrap(ctx, req.err, "look up incoming token")
	}
	return parseLookup(req.res)
}

func parseLookup(res any) (*hookgate.IncomingRoute, bool, time.Duration, int, error) {
	arr, ok := res.([]any)
	if !ok || len(arr) != 4 {
		return nil, false, 0, 0, fmt.Errorf("look up incoming token: unexpected answer %T", res)
	}
	v, _ := arr[0].(string)
	allowed, _ := arr[1].(int64)
	wait, _ := arr[2].(int64)
	took, _ := arr[3].(int64)
	retry := time.Duration(min(wait, math.MaxInt32)) * time.Millisecond
	if v == "" {
		return nil, allowed == 1, retry, int(took), nil
	}
	var r hookgate.IncomingRoute
	if len(v) < 2 || json.Unmarshal([]byte(v[1:]), &r) != nil {
		return nil, false, 0, 0, fmt.Errorf("look up incoming token: corrupt route record")
	}
	return &r, allowed == 1, retry, int(took), nil
}

type lookupReq struct {
	ctx   context.Context
	keys  []string
	rate  string
	burst int
	n     int // tokens asked for
	res   any
	err   error
	done  chan struct{}
}

// Bounds of the lookup batcher: goroutines sending pipelines, and lookups
// in one pipeline.
const (
	lookupSenders = 4
	lookupBatch   = 128
)

// Close stops the goroutines that send shared lookup pipelines, after they
// have sent what is queued; later lookups each make their own round trip.
// It does not close the Redis client, which the Store does not own.
func (s *Store) Close() {
	s.lookupMu.Lock()
	defer s.lookupMu.Unlock()
	if s.lookupsClosed {
		return
	}
	s.lookupsClosed = true
	s.lookupOnce.Do(func() {}) // never start them now
	if s.lookups != nil {
		close(s.lookups)
	}
}

// startLookups starts the goroutines that send lookups. Each takes one
// waiting lookup and whatever others are already waiting (never waiting
// for more), so a lone request goes out at once and a burst shares round
// trips. They run until Close.
func (s *Store) startLookups() {
	s.lookups = make(chan *lookupReq, lookupBatch*lookupSenders)
	for range lookupSenders {
		go func() {
			batch := make([]*lookupReq, 0, lookupBatch)
			for first := range s.lookups {
				batch = append(batch[:0], first)
			more:
				for len(batch) < lookupBatch {
					select {
					case r := <-s.lookups:
						batch = append(batch, r)
					default:
						break more
					}
				}
				s.runLookups(batch)
			}
		}()
	}
}

func (s *Store) runLookups(batch []*lookupReq) {
	ctx := context.Background()
	if len(batch) == 1 {
		ctx = batch[0].ctx
	}
	cmds := make([]*redis.Cmd, len(batch))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, r := range batch {
			cmds[i] = lookupScript.EvalSha(ctx, p, r.keys, r.rate, r.burst, r.n)
		}
		return nil
	})
	// Each command carries its own error (the first try's NOSCRIPT when the
	// script cannot be loaded again), which is what each lookup answers.
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		if lookupScript.Load(ctx, s.rdb).Err() == nil {
			_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				for i, r := range batch {
					cmds[i] = lookupScript.EvalSha(ctx, p, r.keys, r.rate, r.burst, r.n)
				}
				return nil
			})
		}
	}
	for i, r := range batch {
		r.res, r.err = cmds[i].Result()
		if errors.Is(r.err, redis.Nil) {
			r.err = nil
		}
		close(r.done)
	}
}

// AppendIncomingLog appends entries (oldest first) to their webhooks' request
// logs in one round trip, keeping the newest max of each: one LPUSH of all
// of a webhook's entries and one LTRIM per webhook.
func (s *Store) AppendIncomingLog(ctx context.Context, entries []hookgate.IncomingLogEntry, max int) error {
	type group struct {
		key  string
		vals []any
	}
	var groups []*group
	byKey := map[string]*group{}
	for _, e := range entries {
		b, err := json.Marshal(e.Entry)
		if err != nil {
			return fmt.Errorf("encode incoming request log: %w", err)
		}
		key := s.incomingLogKey(e.Tenant, e.ID)
		g, ok := byKey[key]
		if !ok {
			g = &group{key: key}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.vals = append(g.vals, b)
	}
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, g := range groups {
			if len(g.vals) > max {
				g.vals = g.vals[len(g.vals)-max:]
			}
			p.LPush(ctx, g.key, g.vals...)
			p.LTrim(ctx, g.key, 0, int64(max-1))
		}
		return nil
	})
	return wrap(ctx, err, "append incoming request log")
}

// IncomingLog returns the newest limit entries of a webhook's request log.
func (s *Store) IncomingLog(ctx context.Context, tenant, id string, limit int) ([]hookgate.IncomingRequestLog, error) {
	vals, err := s.rdb.LRange(ctx, s.incomingLogKey(tenant, id), 0, int64(limit-1)).Result()
	if err != nil {
		return nil, wrap(ctx, err, "read incoming request log %s", id)
	}
	out := make([]hookgate.IncomingRequestLog, 0, len(vals))
	for _, v := range vals {
		var e hookgate.IncomingRequestLog
		if err := json.Unmarshal([]byte(v), &e); err == nil {
			out = append(out, e)
		}
	}
	return out, nil
}

// IncomingTenants returns, sorted, the tenants that have incoming webhooks.
// It scans the keyspace (there is no tenant index for incoming webhooks), so
// it is for rare administrative questions such as a plugin reload's, never
// a request path.
func (s *Store) IncomingTenants(ctx context.Context) ([]string, error) {
	head, tail := s.tenantKey(""), ":in:ids"
	head = head[:len(head)-1] // up to and including "{"
	var out []string
	err := scan(ctx, s.rdb, head+"*}"+tail, func(k string) {
		if t, ok := strings.CutSuffix(strings.TrimPrefix(k, head), "}"+tail); ok && !slices.Contains(out, t) {
			out = append(out, t)
		}
	})
	if err != nil {
		return nil, wrap(ctx, err, "list incoming tenants")
	}
	slices.Sort(out)
	return out, nil
}
