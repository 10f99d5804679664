package store

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate"
)

// The delivery log also keeps, per webhook, small aggregates that the stats
// and health routes read in a bounded number of commands, whatever the
// traffic (the log itself keeps only the latest log_max_entries deliveries):
//
//	{p}:dlvo:{wh}              LIST  the latest OutcomeWindow finished deliveries, newest first: "<ms> <ok 1|0> <duration ms> <endpoint>"
//	{p}:dlvh:{wh}:<hour>       HASH  s / f: deliveries that succeeded / failed in that hour (<hour> = Unix time / 3600)
//	{p}:dlvt:{wh}:<hour>       LIST  response times (ms) of that hour's latest HourSamples finished deliveries
//
// A delivery counts once, when it finishes (succeeded, or failed after its
// retries); test sends do not count. The hour keys expire after StatsHours+1
// hours, the outcome list with the log.

// Bounds of the aggregates.
const (
	// StatsHours is how many hours GET /v1/webhooks/{id}/stats covers.
	StatsHours = 24
	// OutcomeWindow is how many finished deliveries the outcome list keeps
	// per webhook, for the health of each endpoint (their latest
	// hookgate.HealthWindow among these).
	OutcomeWindow = 500
	// HourSamples is how many response times are kept per hour for the percentiles.
	HourSamples = 500
)

func (l *DeliveryLog) outcomeKey(wh string) string { return l.prefix + ":dlvo:{" + wh + "}" }
func (l *DeliveryLog) hourKey(wh string, hour int64) string {
	return l.prefix + ":dlvh:{" + wh + "}:" + strconv.FormatInt(hour, 10)
}
func (l *DeliveryLog) timesKey(wh string, hour int64) string {
	return l.prefix + ":dlvt:{" + wh + "}:" + strconv.FormatInt(hour, 10)
}

// finished reports whether a record ends its delivery and counts for the aggregates.
func finished(r hookgate.LogRecord) bool {
	d := r.Delivery
	return r.Attempt != nil && !d.Test && (d.Status == hookgate.DeliverySucceeded || d.Status == hookgate.DeliveryFailed)
}

// countOutcomes queues, on p, the aggregate updates of the finished
// deliveries of recs: per webhook, one push of every outcome and response
// time (in the records' order, so the lists end as one push per record
// would leave them), one trim and one expiry of each list, and one
// increment per field of the hour's counts.
func (l *DeliveryLog) countOutcomes(ctx context.Context, p redis.Pipeliner, recs []hookgate.LogRecord, now time.Time) {
	hour := now.Unix() / 3600
	hourTTL := time.Duration(StatsHours+1) * time.Hour
	type agg struct {
		wh              string
		outcomes, times []any
		s, f            int64
	}
	var aggs []*agg
	nowMS := strconv.FormatInt(now.UnixMilli(), 10)
	for _, r := range recs {
		if !finished(r) {
			continue
		}
		d := r.Delivery
		var a *agg
		for _, g := range aggs {
			if g.wh == d.WebhookID {
				a = g
				break
			}
		}
		if a == nil {
			a = &agg{wh: d.WebhookID}
			aggs = append(aggs, a)
		}
		ok := "0"
		if d.Status == hookgate.DeliverySucceeded {
			ok = "1"
			a.s++
		} else {
			a.f++
		}
		dur := strconv.FormatFloat(r.Attempt.DurationMS, 'f', 3, 64)
		a.outcomes = append(a.outcomes, nowMS+" "+ok+" "+dur+" "+d.EndpointID)
		a.times = append(a.times, dur)
	}
	for _, a := range aggs {
		ok_ := l.outcomeKey(a.wh)
		p.LPush(ctx, ok_, a.outcomes...)
		p.LTrim(ctx, ok_, 0, OutcomeWindow-1)
		p.PExpire(ctx, ok_, l.maxAge)
		hk, tk := l.hourKey(a.wh, hour), l.timesKey(a.wh, hour)
		if a.s > 0 {
			p.HIncrBy(ctx, hk, "s", a.s)
		}
		if a.f > 0 {
			p.HIncrBy(ctx, hk, "f", a.f)
		}
		p.Expire(ctx, hk, hourTTL)
		p.LPush(ctx, tk, a.times...)
		p.LTrim(ctx, tk, 0, HourSamples-1)
		p.Expire(ctx, tk, hourTTL)
	}
}

// count adds one finished delivery to h.
func count(h *hookgate.Health, ok bool) {
	h.Total++
	if ok {
		h.Succeeded++
	} else {
		h.Failed++
	}
	h.SuccessRate = float64(h.Succeeded) / float64(h.Total)
}

// Stats returns a webhook's last StatsHours hours, oldest first, ending with
// the hour of now, and its health: 2*StatsHours+1 reads in one round trip.
// The caller has checked the webhook's tenant.
func (l *DeliveryLog) Stats(ctx context.Context, wh string, now time.Time) (*hookgate.WebhookStats, error) {
	last := now.Unix() / 3600
	first := last - StatsHours + 1
	counts := make([]*redis.MapStringStringCmd, StatsHours)
	times := make([]*redis.StringSliceCmd, StatsHours)
	var outcomes *redis.StringSliceCmd
	_, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range StatsHours {
			counts[i] = p.HGetAll(ctx, l.hourKey(wh, first+int64(i)))
			times[i] = p.LRange(ctx, l.timesKey(wh, first+int64(i)), 0, -1)
		}
		outcomes = p.LRange(ctx, l.outcomeKey(wh), 0, OutcomeWindow-1)
		return nil
	})
	if err != nil {
		return nil, translate("read webhook stats", err)
	}
	st := &hookgate.WebhookStats{WebhookID: wh, Since: time.Unix(first*3600, 0).UTC(), Until: now.UTC(), Hours: make([]hookgate.HourStats, StatsHours)}
	var all []float64
	for i := range StatsHours {
		h := &st.Hours[i]
		h.Start = time.Unix((first+int64(i))*3600, 0).UTC()
		m := counts[i].Val()
		h.Succeeded, _ = strconv.ParseInt(m["s"], 10, 64)
		h.Failed, _ = strconv.ParseInt(m["f"], 10, 64)
		st.Succeeded += h.Succeeded
		st.Failed += h.Failed
		ms := parseFloats(times[i].Val())
		h.P50MS, h.P95MS = Percentile(ms, 50), Percentile(ms, 95)
		all = append(all, ms...)
	}
	st.P50MS, st.P95MS = Percentile(all, 50), Percentile(all, 95)
	st.Health = health(outcomes.Val())
	return st, nil
}

// Health returns the health of each webhook of whs: one read per webhook, in
// one round trip.
func (l *DeliveryLog) Health(ctx context.Context, whs []string) (map[string]*hookgate.Health, error) {
	cmds := make([]*redis.StringSliceCmd, len(whs))
	_, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, wh := range whs {
			cmds[i] = p.LRange(ctx, l.outcomeKey(wh), 0, OutcomeWindow-1)
		}
		return nil
	})
	if err != nil {
		return nil, translate("read webhook health", err)
	}
	out := make(map[string]*hookgate.Health, len(whs))
	for i, wh := range whs {
		out[wh] = health(cmds[i].Val())
	}
	return out, nil
}

// health counts outcome entries (newest first): the webhook's latest
// hookgate.HealthWindow, and each endpoint's latest hookgate.HealthWindow.
func health(entries []string) *hookgate.Health {
	h := &hookgate.Health{Window: hookgate.HealthWindow, Endpoints: map[string]*hookgate.Health{}}
	for _, e := range entries {
		f := strings.SplitN(e, " ", 4)
		if len(f) != 4 {
			continue
		}
		ok := f[1] == "1"
		if h.Total < hookgate.HealthWindow {
			count(h, ok)
		}
		ep := h.Endpoints[f[3]]
		if ep == nil {
			ep = &hookgate.Health{Window: hookgate.HealthWindow}
			h.Endpoints[f[3]] = ep
		}
		if ep.Total < hookgate.HealthWindow {
			count(ep, ok)
		}
	}
	return h
}

func parseFloats(ss []string) []float64 {
	out := make([]float64, 0, len(ss))
	for _, s := range ss {
		if v, err := strconv.ParseFloat(s, 64); err == nil {
			out = append(out, v)
		}
	}
	return out
}

// Percentile is the nearest-rank p-th percentile of vs (sorted in place),
// rounded to 0.1 ms; 0 for none.
func Percentile(vs []float64, p float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	slices.Sort(vs)
	rank := int(math.Ceil(p / 100 * float64(len(vs))))
	rank = max(1, min(rank, len(vs)))
	return math.Round(vs[rank-1]*10) / 10
}

// AggregateKeys are the keys of a webhook's aggregates at time now (all in
// the slot of {wh}).
func AggregateKeys(prefix, wh string, now time.Time) []string {
	l := &DeliveryLog{prefix: prefix}
	last := now.Unix() / 3600
	keys := []string{l.outcomeKey(wh)}
	for h := last - StatsHours - 1; h <= last; h++ {
		keys = append(keys, l.hourKey(wh, h), l.timesKey(wh, h))
	}
	return keys
}

// deleteAggregates queues, on p, the removal of a webhook's aggregates.
func (l *DeliveryLog) deleteAggregates(ctx context.Context, p redis.Pipeliner, wh string, now time.Time) {
	p.Del(ctx, AggregateKeys(l.prefix, wh, now)...)
}
