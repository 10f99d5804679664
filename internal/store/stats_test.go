package store_test

import (
	"context"
	"fmt"
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
