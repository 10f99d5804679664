package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/store"
	"github.com/hookgate/hookgate/internal/testenv"
)

func rec(wh, id string, created time.Time, ok bool) hookgate.LogRecord {
	code := 200
	if !ok {
		code = 500
	}
	streak := hookgate.StreakReset
	if !ok {
		streak = hookgate.StreakFail
	}
	return hookgate.LogRecord{
		Delivery: &hookgate.DeliveryRecord{Namespace: "acme", Delivery: hookgate.Delivery{ID: id, WebhookID: wh, Tenant: "acme",
			EventType: "contact.created", CreatedAt: created, StatusCode: code}},
		Attempt: &hookgate.Attempt{N: 1, StatusCode: code, At: created},
		Counted: true,
		Streak:  streak,
	}
}

// Failed attempts that will be retried count as failures (failure_count,
// last_status_code) but not as failed deliveries: consecutive_failures moves
// only when a delivery succeeds or fails for good.
func TestRetriedAttemptsDoNotCountAsFailedDeliveries(t *testing.T) {
	ctx := context.Background()
	rdb := testenv.Redis(t)
	prefix := testenv.KeyPrefix(t, rdb, "hgstore")
	log := store.NewDeliveryLog(rdb, prefix, 100, time.Hour)
	now := time.Now()
	retried := func(id string) hookgate.LogRecord {
		r := rec("wh_r", id, now, false)
		r.Streak = hookgate.StreakKeep
		return r
	}
	got, err := log.Write(ctx, []hookgate.LogRecord{retried("dl_1"), retried("dl_1"), retried("dl_1"), rec("wh_r", "dl_1", now, false),
		retried("dl_2"), retried("dl_2")})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{0, 0, 0, 1, 1, 1}; !equalInts(got, want) {
		t.Fatalf("consecutive failed deliveries after each record = %v, want %v", got, want)
	}
	stats := rdb.HGetAll(ctx, store.StatsKey(prefix, "wh_r")).Val()
	if stats["failure_count"] != "6" || stats["consecutive_failures"] != "1" {
		t.Fatalf("stats = %v, want failure_count 6 (attempts) and consecutive_failures 1 (deliveries)", stats)
	}
	// A success on a retry resets the streak.
	if got, err = log.Write(ctx, []hookgate.LogRecord{rec("wh_r", "dl_2", now, true)}); err != nil || got[0] != 0 {
		t.Fatalf("after a success: %v %v", got, err)
	}
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// One batch carrying interleaved records of two webhooks: each webhook's
// consecutive failures run in order, its counters add up, and its log is
// trimmed to the cap, oldest first.
func TestWriteBatchKeepsPerWebhookOrderCountersAndCap(t *testing.T) {
	ctx := context.Background()
	rdb := testenv.Redis(t)
	prefix := testenv.KeyPrefix(t, rdb, "hgstore")
	log := store.NewDeliveryLog(rdb, prefix, 3, time.Hour)
	t0 := time.Now().Add(-time.Minute)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	batch := []hookgate.LogRecord{
		rec("wh_a", "dl_a1", at(1), false),
		rec("wh_b", "dl_b1", at(1), true),
		rec("wh_a", "dl_a2", at(2), false),
		rec("wh_b", "dl_b2", at(2), false),
		rec("wh_a", "dl_a3", at(3), true),
		rec("wh_a", "dl_a4", at(4), false),
		rec("wh_a", "dl_a5", at(5), false),
	}
	got, err := log.Write(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{1, 0, 2, 1, 0, 1, 2}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("consecutive failures after each record = %v, want %v", got, want)
		}
	}
	stats := rdb.HGetAll(ctx, store.StatsKey(prefix, "wh_a")).Val()
	if stats["failure_count"] != "4" || stats["consecutive_failures"] != "2" || stats["last_status_code"] != "500" {
		t.Fatalf("wh_a stats = %v", stats)
	}
	// A later batch continues from the stored count.
	got, err = log.Write(ctx, []hookgate.LogRecord{rec("wh_a", "dl_a6", at(6), false)})
	if err != nil || got[0] != 3 {
		t.Fatalf("next batch: consecutive %v, err %v; want 3", got, err)
	}
	ds, _, err := log.List(ctx, hookgate.DeliveryFilter{WebhookID: "wh_a", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	if len(ids) != 3 || ids[0] != "dl_a6" || ids[2] != "dl_a4" {
		t.Fatalf("wh_a log = %v, want the 3 newest (dl_a6, dl_a5, dl_a4)", ids)
	}
	for _, gone := range []string{"dl_a1", "dl_a2", "dl_a3"} {
		if n := rdb.Exists(ctx, prefix+":dlv:{wh_a}:"+gone, prefix+":dlv:{wh_a}:"+gone+":att").Val(); n != 0 {
			t.Fatalf("trimmed delivery %s still has %d keys", gone, n)
		}
	}
	if d, err := log.Find(ctx, "acme", "dl_b2"); err != nil || len(d.AttemptLog) != 1 {
		t.Fatalf("find dl_b2: %v, %+v", err, d)
	}
}
