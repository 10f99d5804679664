package store_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/store"
	"github.com/hookgate/hookgate/internal/testenv"
)

func newHeld(t *testing.T, max int) (*store.Held, *redis.Client, string) {
	t.Helper()
	rdb := testenv.Redis(t)
	prefix := testenv.KeyPrefix(t, rdb, "hgheld")
	return store.NewHeld(rdb, prefix, max), rdb, prefix
}

func deliveries(wh string, from, n int) []*hookgate.Task {
	out := make([]*hookgate.Task, n)
	for i := range out {
		id := strconv.Itoa(from + i)
		out[i] = &hookgate.Task{ID: "dl_" + id, Namespace: "acme", WebhookID: wh, EndpointID: "ep_1",
			Event: hookgate.Event{ID: "evt_" + id, Type: "deal.created", Tenant: "acme", Data: []byte(`{"n":` + id + `}`)}}
	}
	return out
}

func TestHeldReleasesOldestFirstAndCapsDroppingTheOldest(t *testing.T) {
	ctx := context.Background()
	h, _, _ := newHeld(t, 10)
	for i := 0; i < 15; i += 5 {
		dropped, err := h.Hold(ctx, "acme", "wh_1", deliveries("wh_1", i, 5))
		if err != nil {
			t.Fatal(err)
		}
		if want := int64(max(0, i+5-10)); dropped != want {
			t.Fatalf("hold %d: dropped %d, want %d", i, dropped, want)
		}
	}
	if c, _ := h.Counts(ctx, []string{"wh_1"}); c[0] != 10 {
		t.Fatalf("count %d, want 10", c[0])
	}
	if d, _ := h.Dropped(ctx, "wh_1"); d != 5 {
		t.Fatalf("dropped %d, want 5", d)
	}
	var got []string
	n, err := h.Release(ctx, "wh_1", func(_ context.Context, it *hookgate.HeldItem) error {
		got = append(got, it.Task.Event.ID)
		return nil
	})
	if err != nil || n != 10 {
		t.Fatalf("released %d, %v", n, err)
	}
	for i, id := range got {
		if id != "evt_"+strconv.Itoa(i+5) {
			t.Fatalf("released %v: not oldest first, or the wrong ones dropped", got)
		}
	}
	if c, _ := h.Counts(ctx, []string{"wh_1"}); c[0] != 0 {
		t.Fatalf("%d left after release", c[0])
	}
}

func TestHeldReleaseInterruptedLosesNothing(t *testing.T) {
	ctx := context.Background()
	h, _, _ := newHeld(t, 1000)
	if _, err := h.Hold(ctx, "acme", "wh_1", deliveries("wh_1", 0, 250)); err != nil {
		t.Fatal(err)
	}
	// The queue fails after 130 items, as when Redis or the process goes away mid-release.
	var first []string
	boom := errors.New("queue down")
	n, err := h.Release(ctx, "wh_1", func(_ context.Context, it *hookgate.HeldItem) error {
		if len(first) == 130 {
			return boom
		}
		first = append(first, it.TaskID)
		return nil
	})
	if !errors.Is(err, boom) || n != 130 {
		t.Fatalf("released %d, %v", n, err)
	}
	if c, _ := h.Counts(ctx, []string{"wh_1"}); c[0] != 120 {
		t.Fatalf("%d still held after the interrupted release, want 120", c[0])
	}
	var rest []*hookgate.HeldItem
	if _, err := h.Release(ctx, "wh_1", func(_ context.Context, it *hookgate.HeldItem) error {
		rest = append(rest, it)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(rest) != 120 || rest[0].Task.Event.ID != "evt_130" || rest[119].Task.Event.ID != "evt_249" {
		t.Fatalf("second release got %d items from %s", len(rest), rest[0].Task.Event.ID)
	}
}

func TestConcurrentReleasesHandOutEveryItem(t *testing.T) {
	ctx := context.Background()
	h, _, _ := newHeld(t, 10000)
	if _, err := h.Hold(ctx, "acme", "wh_1", deliveries("wh_1", 0, 2000)); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := h.Release(ctx, "wh_1", func(_ context.Context, it *hookgate.HeldItem) error {
				mu.Lock()
				seen[it.Task.ID]++
				mu.Unlock()
				return nil
			}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if len(seen) != 2000 {
		t.Fatalf("%d distinct items released, want 2000", len(seen))
	}
}

// An endpoint waiting for its confirmation keeps its own list: counted with
// the webhook's, released alone (oldest first, the other endpoint's and the
// webhook's items untouched), and dropped alone.
func TestHeldPerEndpointListsAreCountedReleasedAndDroppedApart(t *testing.T) {
	ctx := context.Background()
	h, rdb, prefix := newHeld(t, 3)
	if _, err := h.Hold(ctx, "acme", "wh_1", deliveries("wh_1", 0, 2)); err != nil {
		t.Fatal(err)
	}
	dropped, err := h.HoldEndpoint(ctx, "acme", "wh_1", "ep_b", deliveries("wh_1", 10, 4))
	if err != nil || dropped != 1 {
		t.Fatalf("hold for ep_b: dropped %d (want the cap to drop 1), %v", dropped, err)
	}
	if _, err := h.HoldEndpoint(ctx, "acme", "wh_1", "ep_c", deliveries("wh_1", 20, 1)); err != nil {
		t.Fatal(err)
	}
	if c, _ := h.Counts(ctx, []string{"wh_1"}); c[0] != 2+3+1 {
		t.Fatalf("count %d, want 6 (2 of the webhook, 3 of ep_b, 1 of ep_c)", c[0])
	}
	if eps, _ := h.Endpoints(ctx, "wh_1"); len(eps) != 2 {
		t.Fatalf("endpoints with held items %v", eps)
	}
	var got []string
	n, err := h.ReleaseEndpoint(ctx, "wh_1", "ep_b", func(_ context.Context, it *hookgate.HeldItem) error {
		got = append(got, it.Task.Event.ID)
		return nil
	})
	if err != nil || n != 3 || got[0] != "evt_11" || got[2] != "evt_13" {
		t.Fatalf("released %d %v (%v); want evt_11..evt_13 oldest first", n, got, err)
	}
	if err := h.ForgetEndpoint(ctx, "wh_1", "ep_b"); err != nil {
		t.Fatal(err)
	}
	if eps, _ := h.Endpoints(ctx, "wh_1"); len(eps) != 1 || eps[0] != "ep_c" {
		t.Fatalf("after ep_b's release, endpoints with held items %v", eps)
	}
	if n, err := h.DropEndpoint(ctx, "wh_1", "ep_c"); err != nil || n != 1 {
		t.Fatalf("drop ep_c: %d %v", n, err)
	}
	if c, _ := h.Counts(ctx, []string{"wh_1"}); c[0] != 2 {
		t.Fatalf("count %d, want the webhook's own 2", c[0])
	}
	if _, err := h.HoldEndpoint(ctx, "acme", "wh_1", "ep_d", deliveries("wh_1", 30, 1)); err != nil {
		t.Fatal(err)
	}
	if n, err := h.Drop(ctx, "acme", "wh_1"); err != nil || n != 3 {
		t.Fatalf("drop the webhook: %d %v, want 3", n, err)
	}
	if keys := rdb.Keys(ctx, prefix+":held:{wh_1}*").Val(); len(keys) != 2 { // seq and dropped stay
		t.Fatalf("keys left after drop: %v", keys)
	}
}
