package crashtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/testenv"
)

// TestRolesSplitHoldsTheEndpointBoundAndLosesNothing runs the real binary
// as one API process and two worker processes on a Redis of the test's own,
// and publishes 300 events to a receiver that answers each request after
// 100 ms, so that the endpoint's bound of 4 requests in flight is saturated
// and deliveries wait (parked) for places held by the other process. Once
// both workers deliver, one is SIGKILLed mid-load (and restarted). Every
// event still arrives (at least once: the killed worker's deliveries are
// recovered), and the receiver never has more than 4 requests in flight at
// once, across both workers and the killed one's lapsing places.
func TestRolesSplitHoldsTheEndpointBoundAndLosesNothing(t *testing.T) {
	binary(t)
	addr := testenv.StartRedis(t)
	env := []string{"HOOKGATE_DELIVERY_ENDPOINT_IN_FLIGHT=4", "HOOKGATE_DELIVERY_CONCURRENCY=16",
		"HOOKGATE_DELIVERY_TIMEOUT=2s", "HOOKGATE_DELIVERY_PLUGIN_WAIT_MAX=0s"}
	api := startHookgate(t, addr, append(env, "HOOKGATE_SERVER_ROLE=api")...)
	workers := []*hookgateProc{
		startShared(t, api, append(env, "HOOKGATE_SERVER_ROLE=worker")...),
		startShared(t, api, append(env, "HOOKGATE_SERVER_ROLE=worker")...),
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	admin, pub := api.token("acme", "admin"), api.token("acme", "publisher")

	const n, bound = 300, 4
	var cur, most atomic.Int64
	rec := receiver.NewRecorder()
	rec.SetHandler(func(w http.ResponseWriter, r *http.Request) {
		c := cur.Add(1)
		defer cur.Add(-1)
		for m := most.Load(); c > m && !most.CompareAndSwap(m, c); m = most.Load() {
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		w.WriteHeader(200)
	})
	srv := httptest.NewServer(rec)
	defer srv.Close()

	api.call("POST", "/v1/webhooks", admin, map[string]any{"name": "Slow", "events": []string{"deal.*"}, "endpoints": endpoint(srv.URL)}, nil, 201)
	for b := 0; b < n; b += 100 {
		evs := make([]map[string]any, 100)
		for i := range evs {
			evs[i] = map[string]any{"id": fmt.Sprint("ev-", b+i), "type": "deal.won", "data": map[string]any{"n": b + i}}
		}
		api.call("POST", "/v1/events/batch", pub, map[string]any{"events": evs}, nil, 202)
	}

	// Each process says its role on /metrics.
	for _, p := range append([]*hookgateProc{api}, workers...) {
		role := "worker"
		if p == api {
			role = "api"
		}
		if !strings.Contains(p.metricsText(), `hookgate_process_info{role="`+role+`"`) {
			t.Fatalf("%s process: no hookgate_process_info{role=%q} on /metrics", role, role)
		}
	}

	// Both workers deliver to the one endpoint before one dies.
	testenv.Eventually(t, 60*time.Second, "both workers to deliver", func() bool {
		return workers[0].metric("hookgate_delivery_attempts_total") > 0 && workers[1].metric("hookgate_delivery_attempts_total") > 0
	})
	before := rec.Count()
	if before >= n {
		t.Fatalf("all %d delivered before the kill: the load is too light for the test", before)
	}
	// Parked deliveries are woken in cohorts as places free, so there are
	// moments with no task active in either worker: kill when one is, and
	// try again (the worker restarted) if the kill fell in such a moment.
	ctx := testenv.Context(t)
	leases := "asynq:{" + api.prefix() + "}:lease"
	for try := 1; ; try++ {
		testenv.Eventually(t, 30*time.Second, "a delivery in flight", func() bool { return rdb.ZCard(ctx, leases).Val() > 0 })
		workers[0].kill()
		if rdb.ZCard(ctx, leases).Val() > 0 {
			break
		}
		if try == 5 {
			t.Fatal("five kills fell where no delivery was in flight")
		}
		workers[0].start()
	}
	// asynq hands a dead worker's tasks back to the queue once their lease
	// has lapsed, when a worker's recoverer next runs: at its start and
	// every minute. expireLeases stands for the lease's wait, and the
	// killed worker comes back (as its supervisor would restart it) so that
	// the test need not wait for the survivor's next minute; its places in
	// the bound stay held until their own leases lapse.
	expireLeases(t, rdb, api.prefix())
	workers[0].start()

	// At least once: duplicates (the killed worker's requests in flight)
	// are allowed, a missing event is not.
	var got []receiver.Delivery
	testenv.Eventually(t, 120*time.Second, "every event delivered", func() bool {
		got = rec.Deliveries()
		seen := map[int]bool{}
		for _, v := range eventNs(t, got) {
			seen[v] = true
		}
		return len(seen) == n
	})
	if m := most.Load(); m > bound || m < 2 {
		t.Fatalf("the receiver had up to %d requests in flight; the bound is %d (and it must be reached to test it)", m, bound)
	}
	t.Logf("%d delivered before the kill, %d requests in all for %d events; at most %d in flight (bound %d)",
		before, len(got), n, most.Load(), bound)
}

// TestWorkerKilledWhileDeliveriesAreParkedLosesNothing: an API process and
// a worker process on a Redis of the test's own; the endpoint (a bound of 2)
// hangs, so that once a delivery is parked behind its two requests the API
// process enqueues the next ones parked (scheduled tasks that no worker
// dequeues before a place frees). The worker is SIGKILLed holding both
// places, the endpoint answers again, and a worker comes back: every event
// is acknowledged by the receiver, the parked ones included.
func TestWorkerKilledWhileDeliveriesAreParkedLosesNothing(t *testing.T) {
	binary(t)
	addr := testenv.StartRedis(t)
	env := []string{"HOOKGATE_DELIVERY_ENDPOINT_IN_FLIGHT=2", "HOOKGATE_DELIVERY_CONCURRENCY=8",
		"HOOKGATE_DELIVERY_TIMEOUT=10s", "HOOKGATE_DELIVERY_PLUGIN_WAIT_MAX=0s", "HOOKGATE_LIFECYCLE_AUTO_PAUSE_AFTER=0"}
	api := startHookgate(t, addr, append(env, "HOOKGATE_SERVER_ROLE=api")...)
	worker := startShared(t, api, append(env, "HOOKGATE_SERVER_ROLE=worker")...)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	admin, pub := api.token("acme", "admin"), api.token("acme", "publisher")

	var open atomic.Bool
	var mu sync.Mutex
	acked := map[int]bool{}
	gate := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			Data struct {
				N int `json:"n"`
			} `json:"data"`
		}
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			w.WriteHeader(400)
			return
		}
		if !open.Load() {
			select {
			case <-gate:
			case <-r.Context().Done():
				return
			}
		}
		mu.Lock()
		acked[b.Data.N] = true
		mu.Unlock()
		w.WriteHeader(200)
	}))
	defer srv.Close()
	api.call("POST", "/v1/webhooks", admin, map[string]any{"name": "Stalled", "events": []string{"deal.*"}, "endpoints": endpoint(srv.URL)}, nil, 201)

	n := 0
	publish := func() {
		n++
		api.call("POST", "/v1/events", pub, map[string]any{"type": "deal.won", "data": map[string]any{"n": n}}, nil, 202)
	}
	testenv.Eventually(t, 60*time.Second, "deliveries parked as they are enqueued", func() bool {
		publish()
		return api.metric("hookgate_delivery_parked_enqueued_total") >= 5
	})
	worker.kill()
	// The killed worker's places stay taken until their leases lapse
	// (2 × timeout + 5 s), and its tasks until asynq's lease does: move both
	// into the past, standing for that wait (as expireLeases does).
	expireLeases(t, rdb, api.prefix())
	ctx := testenv.Context(t)
	keys, err := rdb.Keys(ctx, api.prefix()+":inf:{*}").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("the endpoint's places: %q (%v)", keys, err)
	}
	if held := rdb.ZCard(ctx, keys[0]).Val(); held != 2 {
		t.Fatalf("%d places held by the killed worker, want 2", held)
	}
	rdb.ZRemRangeByScore(ctx, keys[0], "-inf", "+inf")
	open.Store(true)
	close(gate)
	worker.start()

	testenv.Eventually(t, 60*time.Second, "every event acknowledged", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) == n
	})
	t.Logf("%d events; %.0f enqueued parked", n, api.metric("hookgate_delivery_parked_enqueued_total"))
}
