package store_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate"

	"github.com/hookgate/hookgate/internal/store"
	"github.com/hookgate/hookgate/internal/testenv"
)

func TestPercentileIsNearestRank(t *testing.T) {
	vs := []float64{}
	for i := 100; i >= 1; i-- {
		vs = append(vs, float64(i))
	}
	for _, c := range []struct{ p, want float64 }{{50, 50}, {95, 95}, {100, 100}, {1, 1}} {
		if got := store.Percentile(vs, c.p); got != c.want {
			t.Errorf("p%v of 1..100 = %v, want %v", c.p, got, c.want)
		}
	}
	if got := store.Percentile([]float64{12.34}, 95); got != 12.3 {
		t.Errorf("p95 of one value = %v", got)
	}
	if got := store.Percentile(nil, 50); got != 0 {
		t.Errorf("p50 of none = %v", got)
	}
}

// finishedRec is a delivery that ended (it counts in the aggregates).
func finishedRec(wh, id string, ok bool, ms float64) hookgate.LogRecord {
	r := rec(wh, id, time.Now(), ok)
	r.Delivery.Status = hookgate.DeliverySucceeded
	if !ok {
		r.Delivery.Status = hookgate.DeliveryFailed
	}
	r.Attempt.DurationMS = ms
	return r
}

// fillOutcomes writes n finished deliveries (one in ten failed) to each webhook of whs.
func fillOutcomes(tb testing.TB, log *store.DeliveryLog, whs []string, n int) {
	tb.Helper()
	for _, wh := range whs {
		var recs []hookgate.LogRecord
		for i := range n {
			recs = append(recs, finishedRec(wh, fmt.Sprintf("dl_%s_%d", wh, i), i%10 != 0, float64(i%97)))
			if len(recs) == 200 || i == n-1 {
				if _, err := log.Write(context.Background(), recs); err != nil {
					tb.Fatal(err)
				}
				recs = recs[:0]
			}
		}
	}
}

// Stats and health count finished deliveries once, per hour and per endpoint.
func TestStatsCountFinishedDeliveries(t *testing.T) {
	rdb := testenv.Redis(t)
	prefix := testenv.KeyPrefix(t, rdb, "hgstore")
	log := store.NewDeliveryLog(rdb, prefix, 100, time.Hour)
	fillOutcomes(t, log, []string{"wh_s"}, 150)
	st, err := log.Stats(context.Background(), "wh_s", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if st.Succeeded != 135 || st.Failed != 15 || len(st.Hours) != store.StatsHours {
		t.Fatalf("stats %d succeeded %d failed over %d hours", st.Succeeded, st.Failed, len(st.Hours))
	}
	if st.Health.Total != hookgate.HealthWindow || st.Health.Failed != 10 {
		t.Fatalf("health %+v, want the latest 100 with 10 failed", st.Health)
	}
}

// BenchmarkWebhookStats reads one webhook's 24 hours (49 reads, one round trip).
func BenchmarkWebhookStats(b *testing.B) {
	rdb := testenv.Redis(b)
	prefix := testenv.KeyPrefix(b, rdb, "hgstore")
	log := store.NewDeliveryLog(rdb, prefix, 200, time.Hour)
	fillOutcomes(b, log, []string{"wh_b"}, 1000)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := log.Stats(ctx, "wh_b", time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListHealth reads the health of a page of 50 webhooks, each with a full outcome list.
func BenchmarkListHealth(b *testing.B) {
	rdb := testenv.Redis(b)
	prefix := testenv.KeyPrefix(b, rdb, "hgstore")
	log := store.NewDeliveryLog(rdb, prefix, 200, time.Hour)
	var whs []string
	for i := range 50 {
		whs = append(whs, fmt.Sprintf("wh_%02d", i))
	}
	fillOutcomes(b, log, whs, store.OutcomeWindow)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := log.Health(ctx, whs); err != nil {
			b.Fatal(err)
		}
	}
}

// A batch of records leaves the aggregates (outcome list, hour counts,
// response times) as the same records written one at a time do: the
// batch's pushes and increments are merged per webhook, in order.
func TestBatchedAggregatesEqualOneAtATime(t *testing.T) {
	rdb := testenv.Redis(t)
	ctx := context.Background()
	one := testenv.KeyPrefix(t, rdb, "hgstore")
	batched := testenv.KeyPrefix(t, rdb, "hgstore")
	logOne := store.NewDeliveryLog(rdb, one, 1000, time.Hour)
	logBatched := store.NewDeliveryLog(rdb, batched, 1000, time.Hour)
	hour := time.Now().Unix() / 3600
	var recs []hookgate.LogRecord
	for i := range 1100 { // wh_a past OutcomeWindow and HourSamples: the trims count
		wh := []string{"wh_a", "wh_b"}[i%3/2]
		r := finishedRec(wh, fmt.Sprintf("dl_%d", i), i%7 != 0, float64(i)/8)
		if i%11 == 0 {
			r.Delivery.Status = hookgate.DeliveryRetrying // not finished: not counted
		}
		recs = append(recs, r)
	}
	for i := range recs {
		if _, err := logOne.Write(ctx, recs[i:i+1]); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < len(recs); i += 37 {
		if _, err := logBatched.Write(ctx, recs[i:min(i+37, len(recs))]); err != nil {
			t.Fatal(err)
		}
	}
	if time.Now().Unix()/3600 != hour {
		t.Skip("the hour changed during the test")
	}
	// The outcome entries start with the time of their write: compare the rest.
	outcomes := func(prefix, wh string) []string {
		vs, err := rdb.LRange(ctx, prefix+":dlvo:{"+wh+"}", 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range vs {
			_, vs[i], _ = strings.Cut(v, " ")
		}
		return vs
	}
	h := fmt.Sprint(hour)
	for _, wh := range []string{"wh_a", "wh_b"} {
		if a, b := outcomes(one, wh), outcomes(batched, wh); len(a) == 0 || (wh == "wh_a" && len(a) != store.OutcomeWindow) || !slices.Equal(a, b) {
			t.Errorf("%s outcomes: one at a time %d entries, batched %d, equal %v", wh, len(a), len(b), slices.Equal(a, b))
		}
		ta, _ := rdb.LRange(ctx, one+":dlvt:{"+wh+"}:"+h, 0, -1).Result()
		tb, _ := rdb.LRange(ctx, batched+":dlvt:{"+wh+"}:"+h, 0, -1).Result()
		if len(ta) == 0 || !slices.Equal(ta, tb) {
			t.Errorf("%s response times: one at a time %d, batched %d, equal %v", wh, len(ta), len(tb), slices.Equal(ta, tb))
		}
		ca, _ := rdb.HGetAll(ctx, one+":dlvh:{"+wh+"}:"+h).Result()
		cb, _ := rdb.HGetAll(ctx, batched+":dlvh:{"+wh+"}:"+h).Result()
		if len(ca) != 2 || !maps.Equal(ca, cb) {
			t.Errorf("%s hour counts: one at a time %v, batched %v", wh, ca, cb)
		}
		for _, k := range []string{":dlvo:{" + wh + "}", ":dlvt:{" + wh + "}:" + h, ":dlvh:{" + wh + "}:" + h} {
			if ttl, _ := rdb.TTL(ctx, batched+k).Result(); ttl <= 0 {
				t.Errorf("%s%s has no expiry (%v)", batched, k, ttl)
			}
		}
	}
}
