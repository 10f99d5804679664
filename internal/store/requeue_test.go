package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/store"
	"github.com/hookgate/hookgate/internal/testenv"
)

// Of callers racing to queue one failed delivery again (a manual retry, two
// recovers), one only gets it: Swap changes a summary only while it has the
// status and attempts the caller read.
func TestSwapLetsOneCallerQueueAFailedDelivery(t *testing.T) {
	ctx := context.Background()
	rdb := testenv.Redis(t)
	prefix := testenv.KeyPrefix(t, rdb, "hgstore")
	log := store.NewDeliveryLog(rdb, prefix, 100, time.Hour)
	r := rec("wh_s", "dl_s", time.Now(), false)
	r.Delivery.Status, r.Delivery.Attempts = hookgate.DeliveryFailed, 2
	if _, err := log.Write(ctx, []hookgate.LogRecord{r}); err != nil {
		t.Fatal(err)
	}
	var won atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := log.Find(ctx, "acme", "dl_s")
			if err != nil {
				t.Error(err)
				return
			}
			d.Status, d.AttemptLog = hookgate.DeliveryPending, nil
			ok, err := log.Swap(ctx, d, hookgate.DeliveryFailed, 2)
			if err != nil {
				t.Error(err)
			}
			if ok {
				won.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := won.Load(); n != 1 {
		t.Fatalf("%d callers marked the failed delivery pending, want 1", n)
	}
	d, err := log.Find(ctx, "acme", "dl_s")
	if err != nil || d.Status != hookgate.DeliveryPending || len(d.AttemptLog) != 1 {
		t.Fatalf("after the swap: %+v %v; want pending with its attempt kept", d, err)
	}
	// Another attempt count, or a summary that is gone, is not swapped.
	d.Status = hookgate.DeliveryFailed
	if ok, err := log.Swap(ctx, d, hookgate.DeliveryPending, 3); ok || err != nil {
		t.Fatalf("swap with the wrong attempts: %v %v", ok, err)
	}
	d.ID = "dl_gone"
	if ok, err := log.Swap(ctx, d, hookgate.DeliveryPending, 2); ok || err != nil {
		t.Fatalf("swap of a missing delivery: %v %v", ok, err)
	}
	if ttl := rdb.TTL(ctx, prefix+":dlv:{wh_s}:dl_s").Val(); ttl <= 0 {
		t.Fatalf("the summary lost its expiry: %v", ttl)
	}
}
