package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate"
)

// Held keeps, in Redis, the deliveries of webhooks that are not active, in
// the order they were held, within a cap per webhook. Keys of one webhook
// share the hash tag {wh}:
//
//	P:held:{wh}                 LIST   "<seq>:<task payload>", oldest first (the webhook is paused or auto-paused)
//	P:held:{wh}:releasing       LIST   items taken from the list by a release, until they are in the queue
//	P:held:{wh}:ep:<ep>         LIST   the same, for one endpoint waiting for its confirmation
//	P:held:{wh}:ep:<ep>:releasing
//	P:held:{wh}:eps             SET    endpoint ids that may have held items
//	P:held:{wh}:seq             STRING a counter numbering held items (part of their task id on release)
//	P:held:{wh}:dropped         STRING how many items the cap dropped
//	P:held:webhooks             SET    "<namespace>\x00<wh>" of webhooks that may have held items
//
// The cap applies to each list: the webhook's, and each endpoint's.
// A release moves items atomically from the list to the releasing list
// (a Lua script), enqueues them in order, then removes them from the
// releasing list. A process killed in between leaves them in the releasing
// list, which the next release enqueues first: nothing is lost, and the task
// id (delivery id + sequence number) makes a second enqueue of an item still
// queued a no-op.
type Held struct {
	rdb    redis.UniversalClient
	prefix string
	max    int
}

// NewHeld returns the held-event store with keys under prefix, keeping at
// most max items per webhook.
func NewHeld(rdb redis.UniversalClient, prefix string, max int) *Held {
	return &Held{rdb: rdb, prefix: prefix, max: max}
}

func (h *Held) listKey(wh string) string    { return h.prefix + ":held:{" + wh + "}" }
func (h *Held) relKey(wh string) string     { return h.listKey(wh) + ":releasing" }
func (h *Held) epKey(wh, ep string) string  { return h.listKey(wh) + ":ep:" + ep }
func (h *Held) epsKey(wh string) string     { return h.listKey(wh) + ":eps" }
func (h *Held) seqKey(wh string) string     { return h.listKey(wh) + ":seq" }
func (h *Held) droppedKey(wh string) string { return h.listKey(wh) + ":dropped" }
func (h *Held) setKey() string              { return h.prefix + ":held:webhooks" }

// holdScript appends items and trims the oldest past the cap.
// KEYS: list, seq, dropped. ARGV: cap, payloads... Returns how many were dropped.
var holdScript = redis.NewScript(`
for i = 2, #ARGV do
  local s = redis.call('INCR', KEYS[2])
  redis.call('RPUSH', KEYS[1], s .. ':' .. ARGV[i])
end
local over = redis.call('LLEN', KEYS[1]) - tonumber(ARGV[1])
if over > 0 then
  redis.call('LTRIM', KEYS[1], over, -1)
  redis.call('INCRBY', KEYS[3], over)
  return over
end
return 0
`)

// takeScript moves up to ARGV[1] items from the head of KEYS[1] to the tail
// of KEYS[2] and returns them, oldest first.
var takeScript = redis.NewScript(`
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items == 0 then return items end
redis.call('LTRIM', KEYS[1], #items, -1)
redis.call('RPUSH', KEYS[2], unpack(items))
return items
`)

// Hold appends the deliveries of webhook wh (in namespace ns) and returns
// how many older items the cap dropped.
func (h *Held) Hold(ctx context.Context, ns, wh string, ds []*hookgate.Task) (int64, error) {
	return h.hold(ctx, ns, wh, "", ds)
}

// HoldEndpoint appends deliveries to endpoint ep of webhook wh, which waits
// for its confirmation, and returns how many older items the cap dropped.
func (h *Held) HoldEndpoint(ctx context.Context, ns, wh, ep string, ds []*hookgate.Task) (int64, error) {
	if ep == "" {
		return 0, fmt.Errorf("hold deliveries of %s: no endpoint", wh)
	}
	return h.hold(ctx, ns, wh, ep, ds)
}

// lists returns the list and releasing keys of wh, or of its endpoint ep.
func (h *Held) lists(wh, ep string) (list, rel string) {
	if ep == "" {
		return h.listKey(wh), h.relKey(wh)
	}
	return h.epKey(wh, ep), h.epKey(wh, ep) + ":releasing"
}

func (h *Held) hold(ctx context.Context, ns, wh, ep string, ds []*hookgate.Task) (int64, error) {
	if len(ds) == 0 {
		return 0, nil
	}
	args := make([]any, 0, len(ds)+1)
	args = append(args, h.max)
	for _, d := range ds {
		b, err := d.MarshalBinary()
		if err != nil {
			return 0, fmt.Errorf("hold delivery %s: %w", d.ID, err)
		}
		args = append(args, b)
	}
	// The sets first: a webhook (endpoint) with held items is always in them.
	if err := h.rdb.SAdd(ctx, h.setKey(), ns+"\x00"+wh).Err(); err != nil {
		return 0, fmt.Errorf("hold deliveries of %s: %w", wh, err)
	}
	if ep != "" {
		if err := h.rdb.SAdd(ctx, h.epsKey(wh), ep).Err(); err != nil {
			return 0, fmt.Errorf("hold deliveries of %s: %w", wh, err)
		}
	}
	list, _ := h.lists(wh, ep)
	n, err := holdScript.Run(ctx, h.rdb, []string{list, h.seqKey(wh), h.droppedKey(wh)}, args...).Int64()
	if err != nil {
		return 0, fmt.Errorf("hold deliveries of %s: %w", wh, err)
	}
	return n, nil
}

// Counts returns how many items each webhook has held (waiting or being
// released), for the webhook and for its endpoints together.
func (h *Held) Counts(ctx context.Context, ids []string) ([]int64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	p := h.rdb.Pipeline()
	cmds := make([][2]*redis.IntCmd, len(ids))
	eps := make([]*redis.StringSliceCmd, len(ids))
	for i, id := range ids {
		cmds[i] = [2]*redis.IntCmd{p.LLen(ctx, h.listKey(id)), p.LLen(ctx, h.relKey(id))}
		eps[i] = p.SMembers(ctx, h.epsKey(id))
	}
	if _, err := p.Exec(ctx); err != nil {
		return nil, fmt.Errorf("count held events: %w", err)
	}
	out := make([]int64, len(ids))
	var more []*redis.IntCmd
	var owner []int
	for i, c := range cmds {
		out[i] = c[0].Val() + c[1].Val()
		for _, ep := range eps[i].Val() {
			list, rel := h.lists(ids[i], ep)
			more = append(more, p.LLen(ctx, list), p.LLen(ctx, rel))
			owner = append(owner, i, i)
		}
	}
	if len(more) > 0 {
		if _, err := p.Exec(ctx); err != nil {
			return nil, fmt.Errorf("count held events: %w", err)
		}
		for j, c := range more {
			out[owner[j]] += c.Val()
		}
	}
	return out, nil
}

// Endpoints returns the endpoints of wh that may have held items.
func (h *Held) Endpoints(ctx context.Context, wh string) ([]string, error) {
	eps, err := h.rdb.SMembers(ctx, h.epsKey(wh)).Result()
	if err != nil {
		return nil, fmt.Errorf("list endpoints with held events of %s: %w", wh, err)
	}
	return eps, nil
}

// Dropped returns how many held items of wh the cap has dropped.
func (h *Held) Dropped(ctx context.Context, wh string) (int64, error) {
	n, err := h.rdb.Get(ctx, h.droppedKey(wh)).Int64()
	if err == redis.Nil {
		return 0, nil
	}
	return n, err
}

func parseItem(raw string) (*hookgate.HeldItem, error) {
	seq, payload, ok := strings.Cut(raw, ":")
	if _, err := strconv.ParseUint(seq, 10, 64); !ok || err != nil {
		return nil, fmt.Errorf("held item without a sequence number")
	}
	d := &hookgate.Task{}
	if err := d.UnmarshalBinary([]byte(payload)); err != nil {
		return nil, err
	}
	return &hookgate.HeldItem{TaskID: d.ID + ":h" + seq, Task: d}, nil
}

// releaseBatch is how many items one release step moves.
const releaseBatch = 100

// Release hands every held item of wh to enqueue, oldest first, one at a
// time, and returns how many it handed. It stops at the first error of
// enqueue; what was not enqueued stays held. Items left in the releasing
// list by a release that died go first.
func (h *Held) Release(ctx context.Context, wh string, enqueue func(context.Context, *hookgate.HeldItem) error) (int, error) {
	return h.release(ctx, wh, "", enqueue)
}

// ReleaseEndpoint is Release for what endpoint ep of wh has held (it has
// confirmed, or needs no confirmation any more).
func (h *Held) ReleaseEndpoint(ctx context.Context, wh, ep string, enqueue func(context.Context, *hookgate.HeldItem) error) (int, error) {
	if ep == "" {
		return 0, nil
	}
	return h.release(ctx, wh, ep, enqueue)
}

func (h *Held) release(ctx context.Context, wh, ep string, enqueue func(context.Context, *hookgate.HeldItem) error) (int, error) {
	n := 0
	list, rel := h.lists(wh, ep)
	left, err := h.rdb.LRange(ctx, rel, 0, -1).Result()
	if err != nil {
		return 0, fmt.Errorf("release held events of %s: %w", wh, err)
	}
	if k, err := h.enqueueAll(ctx, rel, left, enqueue); err != nil {
		return k, err
	} else {
		n += k
	}
	for {
		items, err := takeScript.Run(ctx, h.rdb, []string{list, rel}, releaseBatch).StringSlice()
		if err != nil {
			return n, fmt.Errorf("release held events of %s: %w", wh, err)
		}
		if len(items) == 0 {
			return n, nil
		}
		k, err := h.enqueueAll(ctx, rel, items, enqueue)
		n += k
		if err != nil {
			return n, err
		}
	}
}

func (h *Held) enqueueAll(ctx context.Context, rel string, items []string, enqueue func(context.Context, *hookgate.HeldItem) error) (int, error) {
	done := 0
	for _, raw := range items {
		it, err := parseItem(raw)
		if err == nil {
			if err := enqueue(ctx, it); err != nil {
				return done, fmt.Errorf("release held event %s: %w", it.Task.ID, err)
			}
			done++
		}
		// Enqueued (or unreadable, which no retry would fix): off the list.
		if err := h.rdb.LRem(ctx, rel, 1, raw).Err(); err != nil {
			return done, fmt.Errorf("release held events (%s): %w", rel, err)
		}
	}
	return done, nil
}

// Drop deletes everything held for wh (a deleted or disabled webhook).
func (h *Held) Drop(ctx context.Context, ns, wh string) (int64, error) {
	counts, err := h.Counts(ctx, []string{wh})
	if err != nil {
		return 0, err
	}
	eps, err := h.Endpoints(ctx, wh)
	if err != nil {
		return 0, err
	}
	keys := []string{h.listKey(wh), h.relKey(wh), h.epsKey(wh)}
	for _, ep := range eps {
		list, rel := h.lists(wh, ep)
		keys = append(keys, list, rel)
	}
	if err := h.rdb.Del(ctx, keys...).Err(); err != nil {
		return 0, fmt.Errorf("drop held events of %s: %w", wh, err)
	}
	h.rdb.SRem(ctx, h.setKey(), ns+"\x00"+wh)
	return counts[0], nil
}

// DropEndpoint deletes what endpoint ep of wh has held (it was removed or
// disabled) and returns how many items that was.
func (h *Held) DropEndpoint(ctx context.Context, wh, ep string) (int64, error) {
	list, rel := h.lists(wh, ep)
	p := h.rdb.TxPipeline()
	a, b := p.LLen(ctx, list), p.LLen(ctx, rel)
	p.Del(ctx, list, rel)
	p.SRem(ctx, h.epsKey(wh), ep)
	if _, err := p.Exec(ctx); err != nil {
		return 0, fmt.Errorf("drop held events of %s endpoint %s: %w", wh, ep, err)
	}
	return a.Val() + b.Val(), nil
}

// ForgetEndpoint removes ep from the endpoints of wh with held items if it
// has none (re-adding it if an item arrived meanwhile).
func (h *Held) ForgetEndpoint(ctx context.Context, wh, ep string) error {
	if err := h.rdb.SRem(ctx, h.epsKey(wh), ep).Err(); err != nil {
		return err
	}
	list, rel := h.lists(wh, ep)
	p := h.rdb.Pipeline()
	a, b := p.LLen(ctx, list), p.LLen(ctx, rel)
	if _, err := p.Exec(ctx); err != nil {
		return err
	}
	if a.Val()+b.Val() > 0 {
		return h.rdb.SAdd(ctx, h.epsKey(wh), ep).Err()
	}
	return nil
}

// Webhooks lists the (namespace, webhook) pairs that may have held items.
func (h *Held) Webhooks(ctx context.Context) ([][2]string, error) {
	ms, err := h.rdb.SMembers(ctx, h.setKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("list webhooks with held events: %w", err)
	}
	out := make([][2]string, 0, len(ms))
	for _, m := range ms {
		if ns, wh, ok := strings.Cut(m, "\x00"); ok {
			out = append(out, [2]string{ns, wh})
		}
	}
	return out, nil
}

// Forget removes wh from the set of webhooks with held items if it has none
// (re-adding it if an item arrived meanwhile).
func (h *Held) Forget(ctx context.Context, ns, wh string) error {
	member := ns + "\x00" + wh
	if err := h.rdb.SRem(ctx, h.setKey(), member).Err(); err != nil {
		return err
	}
	c, err := h.Counts(ctx, []string{wh})
	if err != nil {
		return err
	}
	if c[0] > 0 {
		return h.rdb.SAdd(ctx, h.setKey(), member).Err()
	}
	return nil
}
