package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate"
)

// Bounds on the optimistic-locking loop: a transaction that keeps losing the
// race is retried this many times, with a small random pause that grows with
// each attempt, before the store gives up with ECONFLICT.
const (
	maxTxAttempts = 64
	maxTxBackoff  = 5 * time.Millisecond
)

// Batch sizes for reading many records.
const (
	mgetChunk      = 500 // keys per MGET
	chunksPerTrip  = 8   // MGETs per pipelined round trip in ListAllWebhooks
	idPrefix       = "wh"
	endpointPrefix = "ep"
)

// watch runs fn under WATCH keys, retrying while the transaction fails
// because a watched key changed.
func (s *Store) watch(ctx context.Context, fn func(*redis.Tx) error, keys ...string) error {
	for attempt := 1; ; attempt++ {
		err := s.rdb.Watch(ctx, fn, keys...)
		if !errors.Is(err, redis.TxFailedErr) {
			return err
		}
		if attempt >= maxTxAttempts {
			return &hookgate.Error{Code: hookgate.ECONFLICT, Message: "the record is being changed by others; try again", Err: err}
		}
		pause := min(time.Duration(attempt)*200*time.Microsecond, maxTxBackoff)
		t := time.NewTimer(rand.N(pause) + 1)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// now is the store's clock: UTC, to the millisecond, which is the precision
// of the by_created index.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// assignEndpointIDs gives every endpoint without an id a new one.
func assignEndpointIDs(w *hookgate.Webhook) {
	for i := range w.Endpoints {
		if w.Endpoints[i].ID == "" {
			w.Endpoints[i].ID = hookgate.NewID(endpointPrefix)
		}
	}
}

// CreateWebhook stores a new webhook in w.Tenant. It assigns w.ID when empty,
// ids to endpoints without one, CreatedAt/UpdatedAt, and StatusChangedAt when
// unset. It does not
// validate w (the caller has), but refuses an id already taken with ECONFLICT.
func (s *Store) CreateWebhook(ctx context.Context, w *hookgate.Webhook) error {
	if err := checkTenant(w.Tenant); err != nil {
		return err
	}
	if w.ID == "" {
		w.ID = hookgate.NewID(idPrefix)
	}
	assignEndpointIDs(w)
	w.CreatedAt = now()
	w.UpdatedAt = w.CreatedAt
	if w.StatusChangedAt == nil {
		// A new webhook's status dates from its creation.
		t := w.CreatedAt
		w.StatusChangedAt = &t
	}
	data, err := s.encode(w)
	if err != nil {
		return err
	}
	// The tenants set is outside the transaction (under Redis Cluster it
	// lives in another slot). Adding first means a listed tenant may have no
	// webhook, which Tenants filters out, but a tenant with a webhook is
	// always listed.
	if err := s.rdb.SAdd(ctx, s.tenantsKey(), w.Tenant).Err(); err != nil {
		return wrap(ctx, err, "create webhook %s", w.ID)
	}
	key := s.webhookKey(w.Tenant, w.ID)
	err = s.watch(ctx, func(tx *redis.Tx) error {
		n, err := tx.Exists(ctx, key).Result()
		if err != nil {
			return err
		}
		if n > 0 {
			return hookgate.Errorf(hookgate.ECONFLICT, "webhook %s already exists", w.ID)
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, key, data, 0)
			p.ZAdd(ctx, s.byNameKey(w.Tenant), redis.Z{Member: nameMember(w.ID, w.Name)})
			p.ZAdd(ctx, s.byCreatedKey(w.Tenant), redis.Z{Member: createdMember(w.ID, w.Name, w.CreatedAt)})
			p.Publish(ctx, s.ChangesChannel(), w.Tenant)
			return nil
		})
		return err
	}, key)
	return wrap(ctx, err, "create webhook %s", w.ID)
}

// FindWebhookByID returns the tenant's webhook id, with its delivery counters.
func (s *Store) FindWebhookByID(ctx context.Context, tenant, id string) (*hookgate.Webhook, error) {
	if err := checkTenant(tenant); err != nil {
		return nil, err
	}
	if id == "" {
		return nil, notFound(id)
	}
	ws, err := s.fetch(ctx, tenant, []string{id}, true)
	if err != nil {
		return nil, wrap(ctx, err, "find webhook %s", id)
	}
	if ws[0] == nil {
		return nil, notFound(id)
	}
	return ws[0], nil
}

// fetch reads the tenant's webhooks ids in one round trip (MGET of the
// records, plus one HGETALL of the stats per record when withStats). The
// result is aligned with ids; a missing record is nil.
func (s *Store) fetch(ctx context.Context, tenant string, ids []string, withStats bool) ([]*hookgate.Webhook, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.webhookKey(tenant, id)
	}
	p := s.rdb.Pipeline()
	mget := p.MGet(ctx, keys...)
	var stats []*redis.MapStringStringCmd
	if withStats {
		stats = make([]*redis.MapStringStringCmd, len(ids))
		for i, id := range ids {
			stats[i] = p.HGetAll(ctx, s.StatsKey(id))
		}
	}
	if _, err := p.Exec(ctx); err != nil {
		return nil, err
	}
	vals := mget.Val()
	out := make([]*hookgate.Webhook, len(ids))
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue // no such record
		}
		w, err := s.decode([]byte(str))
		if err != nil {
			return nil, err
		}
		// The key holds tenant and id; a record that disagrees is corrupt
		// and must not leak across tenants.
		if w.Tenant != tenant || w.ID != ids[i] {
			continue
		}
		if withStats {
			mergeStats(w, stats[i].Val())
		}
		out[i] = w
	}
	return out, nil
}

// errAborted stops a transaction whose update function failed.
var errAborted = errors.New("update aborted")

// UpdateWebhook applies fn to the tenant's webhook id and stores the result
// atomically (WATCH/MULTI, retried when another writer got there first, so fn
// may run more than once and must not have side effects). fn's error aborts
// the update and is returned unchanged. fn cannot change the id, tenant or
// creation time; the delivery counters it sees are not stored by this method
// (they belong to the stats hash). UpdatedAt is set, endpoints without an id
// get one, and the name indexes follow a renamed webhook.
func (s *Store) UpdateWebhook(ctx context.Context, tenant, id string, fn func(*hookgate.Webhook) error) (*hookgate.Webhook, error) {
	if err := checkTenant(tenant); err != nil {
		return nil, err
	}
	if id == "" {
		return nil, notFound(id)
	}
	key := s.webhookKey(tenant, id)
	// Counters are read before, not under, the transaction: the delivery
	// path changes them all the time and this method does not write them.
	// Reading them inside would also hold a second pooled connection per
	// update, which many concurrent updates could exhaust.
	stats, err := s.rdb.HGetAll(ctx, s.StatsKey(id)).Result()
	if err != nil {
		return nil, wrap(ctx, err, "update webhook %s", id)
	}
	var (
		out   *hookgate.Webhook
		fnErr error
	)
	err = s.watch(ctx, func(tx *redis.Tx) error {
		out, fnErr = nil, nil
		b, err := tx.Get(ctx, key).Bytes()
		if errors.Is(err, redis.Nil) {
			return notFound(id)
		} else if err != nil {
			return err
		}
		w, err := s.decode(b)
		if err != nil {
			return err
		}
		if w.Tenant != tenant || w.ID != id {
			return notFound(id)
		}
		mergeStats(w, stats)
		oldName, oldCreated := nameMember(w.ID, w.Name), createdMember(w.ID, w.Name, w.CreatedAt)
		created := w.CreatedAt
		if err := fn(w); err != nil {
			fnErr = err
			return errAborted
		}
		w.ID, w.Tenant, w.CreatedAt = id, tenant, created
		assignEndpointIDs(w)
		w.UpdatedAt = now()
		data, err := s.encode(w)
		if err != nil {
			return err
		}
		newName, newCreated := nameMember(w.ID, w.Name), createdMember(w.ID, w.Name, w.CreatedAt)
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, key, data, 0)
			if newName != oldName {
				p.ZRem(ctx, s.byNameKey(tenant), oldName)
				p.ZAdd(ctx, s.byNameKey(tenant), redis.Z{Member: newName})
			}
			if newCreated != oldCreated {
				p.ZRem(ctx, s.byCreatedKey(tenant), oldCreated)
				p.ZAdd(ctx, s.byCreatedKey(tenant), redis.Z{Member: newCreated})
			}
			p.Publish(ctx, s.ChangesChannel(), tenant)
			return nil
		})
		if err != nil {
			return err
		}
		out = w
		return nil
	}, key)
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, wrap(ctx, err, "update webhook %s", id)
	}
	return out, nil
}

// DeleteWebhook removes the tenant's webhook id, its index entries and its
// delivery counters.
func (s *Store) DeleteWebhook(ctx context.Context, tenant, id string) error {
	if err := checkTenant(tenant); err != nil {
		return err
	}
	if id == "" {
		return notFound(id)
	}
	key := s.webhookKey(tenant, id)
	err := s.watch(ctx, func(tx *redis.Tx) error {
		b, err := tx.Get(ctx, key).Bytes()
		if errors.Is(err, redis.Nil) {
			return notFound(id)
		} else if err != nil {
			return err
		}
		// Only the index entries are needed: the secrets are not opened,
		// so a record sealed with a lost key can still be deleted.
		var r record
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("decode webhook: %w", err)
		}
		if r.Tenant != tenant || r.ID != id {
			return notFound(id)
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Del(ctx, key)
			p.ZRem(ctx, s.byNameKey(tenant), nameMember(r.ID, r.Name))
			p.ZRem(ctx, s.byCreatedKey(tenant), createdMember(r.ID, r.Name, r.CreatedAt))
			p.Publish(ctx, s.ChangesChannel(), tenant)
			return nil
		})
		return err
	}, key)
	if err != nil {
		return wrap(ctx, err, "delete webhook %s", id)
	}
	// The stats hash is in another slot under Redis Cluster, so it goes
	// after the transaction. Should this fail, the leftover hash is never
	// read (it is only merged into an existing record), so the delete stands.
	_ = s.rdb.Del(ctx, s.StatsKey(id)).Err()
	// So do the delivery aggregates (one slot: {id}); they expire anyway.
	_ = s.rdb.Del(ctx, AggregateKeys(s.prefix, id, time.Now())...).Err()
	return nil
}

// CountWebhooks returns how many webhooks the tenant has, for the
// per-tenant limit.
func (s *Store) CountWebhooks(ctx context.Context, tenant string) (int64, error) {
	if err := checkTenant(tenant); err != nil {
		return 0, err
	}
	n, err := s.rdb.ZCard(ctx, s.byCreatedKey(tenant)).Result()
	if err != nil {
		return 0, wrap(ctx, err, "count webhooks of %s", tenant)
	}
	return n, nil
}

// ListAllWebhooks returns every webhook of the tenant, oldest first, without
// their delivery counters. It is meant for building an in-memory
// subscription index, and reads records with pipelined MGETs in chunks.
func (s *Store) ListAllWebhooks(ctx context.Context, tenant string) ([]*hookgate.Webhook, error) {
	if err := checkTenant(tenant); err != nil {
		return nil, err
	}
	members, err := s.rdb.ZRange(ctx, s.byCreatedKey(tenant), 0, -1).Result()
	if err != nil {
		return nil, wrap(ctx, err, "list webhooks of %s", tenant)
	}
	keys := make([]string, 0, len(members))
	for _, m := range members {
		if id, _, ok := parseMember(false, m); ok {
			keys = append(keys, s.webhookKey(tenant, id))
		}
	}
	out := make([]*hookgate.Webhook, 0, len(keys))
	for trip := range slices.Chunk(keys, mgetChunk*chunksPerTrip) {
		p := s.rdb.Pipeline()
		var cmds []*redis.SliceCmd
		for chunk := range slices.Chunk(trip, mgetChunk) {
			cmds = append(cmds, p.MGet(ctx, chunk...))
		}
		if _, err := p.Exec(ctx); err != nil {
			return nil, wrap(ctx, err, "list webhooks of %s", tenant)
		}
		for _, c := range cmds {
			for _, v := range c.Val() {
				str, ok := v.(string)
				if !ok {
					continue // deleted since the index was read
				}
				w, err := s.decode([]byte(str))
				if err != nil {
					return nil, wrap(ctx, err, "list webhooks of %s", tenant)
				}
				if w.Tenant == tenant {
					out = append(out, w)
				}
			}
		}
	}
	return out, nil
}

// Tenants returns, sorted, the tenants that have at least one webhook.
func (s *Store) Tenants(ctx context.Context) ([]string, error) {
	all, err := s.rdb.SMembers(ctx, s.tenantsKey()).Result()
	if err != nil {
		return nil, wrap(ctx, err, "list tenants")
	}
	p := s.rdb.Pipeline()
	counts := make([]*redis.IntCmd, len(all))
	for i, t := range all {
		counts[i] = p.ZCard(ctx, s.byCreatedKey(t))
	}
	if len(all) > 0 {
		if _, err := p.Exec(ctx); err != nil {
			return nil, wrap(ctx, err, "list tenants")
		}
	}
	out := make([]string, 0, len(all))
	for i, t := range all {
		if counts[i].Val() > 0 {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out, nil
}
