package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate"
)

// DeliveryLog keeps the delivery log: per webhook, the most recent deliveries
// within both a count and an age limit, each with its attempts. Keys of one
// webhook share the hash tag {wh_id}, so the log works on Redis Cluster.
//
//	{p}:dlv:{wh}:<delivery>       JSON: the delivery's summary and its event
//	{p}:dlv:{wh}:<delivery>:att   list of attempt JSON
//	{p}:dlvidx:{wh}               ZSET: delivery ids scored by creation (ms)
//	{p}:dlvref:<delivery>         "<namespace> <webhook>": finds a delivery by id
//	{p}:wh:<wh>:stats             hash: failure_count, consecutive_failures, last_triggered_at, last_status_code
type DeliveryLog struct {
	rdb        Client
	prefix     string
	maxEntries int
	maxAge     time.Duration
}

var _ hookgate.DeliveryLog = (*DeliveryLog)(nil)

// NewDeliveryLog returns the log. maxEntries and maxAge are the two retention
// limits (200 deliveries and 30 days by default); whichever is hit first wins.
func NewDeliveryLog(rdb Client, prefix string, maxEntries int, maxAge time.Duration) *DeliveryLog {
	return &DeliveryLog{rdb: rdb, prefix: prefix, maxEntries: maxEntries, maxAge: maxAge}
}

// storedForm is how a delivery's summary is kept in Redis: the event's data
// as the exact bytes published (a string), since encoding/json compacts a
// json.RawMessage it encodes, and a manual retry must send the body the
// first attempt sent, byte for byte (receivers hash bodies).
type storedForm struct {
	*hookgate.DeliveryRecord
	Data    json.RawMessage `json:"data,omitempty"` // older summaries (compacted)
	DataRaw string          `json:"data_raw,omitempty"`
}

func encodeDelivery(d *hookgate.DeliveryRecord) ([]byte, error) {
	return json.Marshal(storedForm{DeliveryRecord: d, DataRaw: string(d.Data)})
}

func decodeDelivery(b []byte, d *hookgate.DeliveryRecord) error {
	f := storedForm{DeliveryRecord: d}
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	d.Data = f.Data
	if f.DataRaw != "" {
		d.Data = json.RawMessage(f.DataRaw)
	}
	return nil
}

func (l *DeliveryLog) summaryKey(wh, id string) string {
	return l.prefix + ":dlv:{" + wh + "}:" + id
}
func (l *DeliveryLog) indexKey(wh string) string { return l.prefix + ":dlvidx:{" + wh + "}" }
func (l *DeliveryLog) refKey(id string) string   { return l.prefix + ":dlvref:" + id }

// StatsKey is the hash of a webhook's delivery counters.
func StatsKey(prefix, webhookID string) string { return prefix + ":wh:" + webhookID + ":stats" }

// recordScript writes a batch of attempts of one webhook, in order, and
// trims its log once for the whole batch.
//
// KEYS: index, stats, then per record its summary and attempts keys.
// ARGV: now ms, max entries, max age ms, ttl s, summary key prefix, then per
// record 8 values: summary JSON, attempt JSON ("" for none), delivery id,
// created ms, counted (0/1), ok (0/1), status code and streak ("", "r" reset,
// "f" one more failed delivery).
// Returns the webhook's consecutive failed deliveries after each record.
var recordScript = redis.NewScript(`
local now, maxn, maxage, ttl, pfx = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local n = (#ARGV - 5) / 8
local consecutive = tonumber(redis.call('HGET', KEYS[2], 'consecutive_failures') or '0') or 0
local failures, counted, code, streak = 0, false, nil, false
local out = {}
for i = 0, n - 1 do
  local a = 5 + i * 8
  local sk, ak = KEYS[3 + i * 2], KEYS[4 + i * 2]
  redis.call('SET', sk, ARGV[a + 1], 'EX', ttl)
  if ARGV[a + 2] ~= '' then
    redis.call('RPUSH', ak, ARGV[a + 2])
    redis.call('EXPIRE', ak, ttl)
  end
  redis.call('ZADD', KEYS[1], 'NX', ARGV[a + 4], ARGV[a + 3])
  if ARGV[a + 5] == '1' then
    counted, code = true, ARGV[a + 7]
    if ARGV[a + 6] ~= '1' then
      failures = failures + 1
    end
  end
  if ARGV[a + 8] == 'r' then
    consecutive, streak = 0, true
  elseif ARGV[a + 8] == 'f' then
    consecutive, streak = consecutive + 1, true
  end
  out[i + 1] = consecutive
end
redis.call('PEXPIRE', KEYS[1], maxage)
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - maxage))
local over = redis.call('ZCARD', KEYS[1]) - #gone - maxn
if over > 0 then
  local extra = redis.call('ZRANGE', KEYS[1], #gone, #gone + over - 1)
  for _, id in ipairs(extra) do gone[#gone + 1] = id end
end
if #gone > 0 then
  local dels = {}
  for _, id in ipairs(gone) do
    dels[#dels + 1] = pfx .. id
    dels[#dels + 1] = pfx .. id .. ':att'
  end
  for j = 1, #gone, 500 do
    redis.call('ZREM', KEYS[1], unpack(gone, j, math.min(j + 499, #gone)))
  end
  for j = 1, #dels, 500 do
    redis.call('DEL', unpack(dels, j, math.min(j + 499, #dels)))
  end
end
if counted then
  redis.call('HSET', KEYS[2], 'last_triggered_at', now, 'last_status_code', code)
  if failures > 0 then
    redis.call('HINCRBY', KEYS[2], 'failure_count', failures)
  end
end
if streak then
  redis.call('HSET', KEYS[2], 'consecutive_failures', consecutive)
end
return out
`)

// Write records a batch of attempts in one round trip, with one script call
// per webhook of the batch, and returns, per record, the webhook's
// consecutive failed deliveries after it (0 after a success).
func (l *DeliveryLog) Write(ctx context.Context, recs []hookgate.LogRecord) ([]int64, error) {
	return l.write(ctx, recs, true)
}

// write is Write; count is false when the aggregates (stats.go) of recs are
// already counted (the second try after Redis lost the script).
func (l *DeliveryLog) write(ctx context.Context, recs []hookgate.LogRecord, count bool) ([]int64, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	// Group by webhook, keeping each webhook's records in order.
	type group struct {
		wh  string
		idx []int
	}
	var groups []*group
	byWH := make(map[string]*group, 4)
	for i, r := range recs {
		g := byWH[r.Delivery.WebhookID]
		if g == nil {
			g = &group{wh: r.Delivery.WebhookID}
			byWH[g.wh] = g
			groups = append(groups, g)
		}
		g.idx = append(g.idx, i)
	}
	at := time.Now()
	now := at.UnixMilli()
	ttl := int64(l.maxAge/time.Second) + 1
	cmds := make([]*redis.Cmd, len(groups))
	_, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for gi, g := range groups {
			keys := make([]string, 0, 2+2*len(g.idx))
			keys = append(keys, l.indexKey(g.wh), StatsKey(l.prefix, g.wh))
			args := make([]any, 0, 5+8*len(g.idx))
			args = append(args, now, l.maxEntries, l.maxAge.Milliseconds(), ttl, l.summaryKey(g.wh, ""))
			for _, i := range g.idx {
				r := recs[i]
				d := r.Delivery
				sum, err := encodeDelivery(d)
				if err != nil {
					return fmt.Errorf("encode delivery %s: %w", d.ID, err)
				}
				var att []byte
				code, ok := 0, "0"
				if r.Attempt != nil {
					if att, err = json.Marshal(r.Attempt); err != nil {
						return fmt.Errorf("encode attempt of %s: %w", d.ID, err)
					}
					code = r.Attempt.StatusCode
					if r.Attempt.OK() {
						ok = "1"
					}
				}
				counted := "0"
				if r.Counted {
					counted = "1"
				}
				sk := l.summaryKey(d.WebhookID, d.ID)
				keys = append(keys, sk, sk+":att")
				streak := ""
				switch r.Streak {
				case hookgate.StreakReset:
					streak = "r"
				case hookgate.StreakFail:
					streak = "f"
				}
				args = append(args, sum, att, d.ID, d.CreatedAt.UnixMilli(), counted, ok, code, streak)
				p.SetNX(ctx, l.refKey(d.ID), d.Namespace+" "+d.WebhookID, l.maxAge)
			}
			cmds[gi] = recordScript.EvalSha(ctx, p, keys, args...)
		}
		if count {
			l.countOutcomes(ctx, p, recs, at)
		}
		return nil
	})
	if err != nil && isNoScript(err) {
		if lerr := recordScript.Load(ctx, l.rdb).Err(); lerr != nil {
			return nil, translate("load record script", lerr)
		}
		return l.write(ctx, recs, false)
	}
	if err != nil {
		return nil, translate("write delivery log", err)
	}
	out := make([]int64, len(recs))
	for gi, g := range groups {
		vals, _ := cmds[gi].Int64Slice()
		for j, i := range g.idx {
			if j < len(vals) {
				out[i] = vals[j]
			}
		}
	}
	return out, nil
}

func isNoScript(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") }

// Find returns one delivery of namespace ns with its attempts.
func (l *DeliveryLog) Find(ctx context.Context, ns, id string) (*hookgate.DeliveryRecord, error) {
	ref, err := l.rdb.Get(ctx, l.refKey(id)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, hookgate.Errorf(hookgate.ENOTFOUND, "delivery %s not found", shortID(id))
	} else if err != nil {
		return nil, translate("find delivery", err)
	}
	refNS, wh, _ := strings.Cut(ref, " ")
	if refNS != ns {
		return nil, hookgate.Errorf(hookgate.ENOTFOUND, "delivery %s not found", shortID(id))
	}
	var sum *redis.StringCmd
	var atts *redis.StringSliceCmd
	_, err = l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		sum = p.Get(ctx, l.summaryKey(wh, id))
		atts = p.LRange(ctx, l.summaryKey(wh, id)+":att", 0, 99)
		return nil
	})
	if errors.Is(err, redis.Nil) {
		return nil, hookgate.Errorf(hookgate.ENOTFOUND, "delivery %s not found", shortID(id))
	} else if err != nil {
		return nil, translate("find delivery", err)
	}
	var d hookgate.DeliveryRecord
	if err := decodeDelivery([]byte(sum.Val()), &d); err != nil {
		return nil, fmt.Errorf("decode delivery %s: %w", id, err)
	}
	for _, a := range atts.Val() {
		var at hookgate.Attempt
		if err := json.Unmarshal([]byte(a), &at); err == nil {
			d.AttemptLog = append(d.AttemptLog, at)
		}
	}
	return &d, nil
}

// List returns one page of a webhook's deliveries, newest first, and the
// cursor of the next page. The caller has checked the webhook's tenant.
func (l *DeliveryLog) List(ctx context.Context, f hookgate.DeliveryFilter) ([]*hookgate.Delivery, string, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	hi := "+inf"
	if !f.Until.IsZero() {
		hi = strconv.FormatInt(f.Until.UnixMilli(), 10)
	}
	lo := "-inf"
	if !f.Since.IsZero() {
		lo = strconv.FormatInt(f.Since.UnixMilli(), 10)
	}
	var afterScore int64
	var afterID string
	if f.Cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(f.Cursor)
		s, id, ok := strings.Cut(string(raw), " ")
		n, perr := strconv.ParseInt(s, 10, 64)
		if err != nil || !ok || perr != nil {
			return nil, "", hookgate.FieldError("cursor", "invalid cursor")
		}
		afterScore, afterID = n, id
		hi = strconv.FormatInt(n, 10)
	}
	// The index holds at most maxEntries ids: read them in one go.
	zs, err := l.rdb.ZRevRangeByScoreWithScores(ctx, l.indexKey(f.WebhookID), &redis.ZRangeBy{Max: hi, Min: lo}).Result()
	if err != nil {
		return nil, "", translate("list deliveries", err)
	}
	ids := make([]string, 0, len(zs))
	scores := make([]int64, 0, len(zs))
	for _, z := range zs {
		id := z.Member.(string)
		sc := int64(z.Score)
		if f.Cursor != "" && (sc > afterScore || sc == afterScore && id >= afterID) {
			continue
		}
		ids = append(ids, id)
		scores = append(scores, sc)
	}
	var out []*hookgate.Delivery
	next := ""
	for start := 0; start < len(ids) && len(out) < f.Limit; start += 100 {
		end := min(start+100, len(ids))
		keys := make([]string, 0, end-start)
		for _, id := range ids[start:end] {
			keys = append(keys, l.summaryKey(f.WebhookID, id))
		}
		vals, err := l.rdb.MGet(ctx, keys...).Result()
		if err != nil {
			return nil, "", translate("list deliveries", err)
		}
		for i, v := range vals {
			s, ok := v.(string)
			if !ok {
				continue
			}
			var d hookgate.Delivery
			if json.Unmarshal([]byte(s), &d) != nil {
				continue
			}
			if f.Status != "" && d.Status != f.Status || f.EventType != "" && d.EventType != f.EventType ||
				f.EndpointID != "" && d.EndpointID != f.EndpointID {
				continue
			}
			out = append(out, &d)
			if len(out) == f.Limit {
				if start+i+1 < len(ids) {
					next = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(scores[start+i], 10) + " " + ids[start+i]))
				}
				break
			}
		}
	}
	return out, next, nil
}

// DeleteWebhookLog removes a webhook's log and counters (on webhook deletion).
func (l *DeliveryLog) DeleteWebhookLog(ctx context.Context, webhookID string) error {
	ids, err := l.rdb.ZRange(ctx, l.indexKey(webhookID), 0, -1).Result()
	if err != nil {
		return translate("delete delivery log", err)
	}
	_, err = l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			p.Del(ctx, l.summaryKey(webhookID, id), l.summaryKey(webhookID, id)+":att")
			p.Del(ctx, l.refKey(id))
		}
		p.Del(ctx, l.indexKey(webhookID))
		p.Del(ctx, StatsKey(l.prefix, webhookID))
		l.deleteAggregates(ctx, p, webhookID, time.Now())
		return nil
	})
	return translate("delete delivery log", err)
}
