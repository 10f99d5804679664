package app_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/app"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/ingest"
	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/testenv"
)

// TestAStalledEndpointsNewDeliveriesWaitOutOfTheQueue: once an endpoint
// holds its 2 places with requests that hang and a delivery has been parked
// behind them, new deliveries to it are enqueued parked: scheduled tasks
// (not pending, never dequeued: the worker's parkings do not grow) listed in
// the endpoint's parked list. When the endpoint answers again, every one is
// delivered (woken by the freed places, not by its backstop, which the long
// timeout puts beyond the test), none spent a retry, and the endpoint's
// deliveries go through the queue again.
func TestAStalledEndpointsNewDeliveriesWaitOutOfTheQueue(t *testing.T) {
	h := start(t, func(c *config.Config) {
		c.Delivery.Concurrency = 8
		c.Delivery.EndpointInFlight = 2
		c.Delivery.Timeout = hookgate.Duration(25 * time.Second)
		c.Lifecycle.AutoPauseAfter = 0
	})
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	rec := receiver.NewRecorder()
	gate := make(chan struct{})
	rec.SetHandler(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-gate:
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(rec)
	defer srv.Close()
	wh := h.createWebhook(admin, map[string]any{"name": "Stalled", "endpoints": endpoints(srv.URL), "events": []string{"deal.*"}})
	ep := wh.Endpoints[0].ID
	count := func(name string) int {
		v, _ := strconv.Atoi(metric(t, h, name))
		return v
	}

	// Two requests hang; the deliveries after them are parked by the worker
	// until the publisher hears the endpoint is stalled and parks them itself.
	n := 0
	publish := func() publishAnswer {
		n++
		return h.publish(pub, "deal.created", map[string]any{"n": n})
	}
	publish()
	publish()
	testenv.Eventually(t, 10*time.Second, "both places held", func() bool { return rec.Count() == 2 })
	testenv.Eventually(t, 10*time.Second, "a delivery parked as it is enqueued", func() bool {
		publish()
		return count("hookgate_delivery_parked_enqueued_total") > 0
	})

	busy, parked := count("hookgate_delivery_endpoint_busy_total"), count("hookgate_delivery_parked_enqueued_total")
	insp := asynq.NewInspectorFromRedisClient(h.rdb)
	queue := app.QueueNames(h.cfg)[0]
	for range 4 {
		ev := publish()
		id := ingest.DeliveryID("acme", ev.ID, wh.ID, ep)
		info, err := insp.GetTaskInfo(queue, id)
		if err != nil {
			t.Fatal(err)
		}
		if info.State != asynq.TaskStateScheduled {
			t.Fatalf("a new delivery to the stalled endpoint is %s, want scheduled (parked)", info.State)
		}
		in, err := h.rdb.ZScore(testenv.Context(t), h.cfg.Redis.Prefix+":inf:{"+ep+"}:parked", queue+"\x00"+id).Result()
		if err != nil || in == 0 {
			t.Fatalf("delivery %s not in its endpoint's parked list: %v", id, err)
		}
	}
	if got := count("hookgate_delivery_parked_enqueued_total"); got != parked+4 {
		t.Fatalf("%d deliveries enqueued parked, want %d", got, parked+4)
	}
	if got := count("hookgate_delivery_endpoint_busy_total"); got != busy {
		t.Fatalf("a worker parked %d more deliveries: new ones were dequeued before a place freed", got-busy)
	}
	if rec.Count() != 2 {
		t.Fatalf("%d requests, the bound is 2", rec.Count())
	}

	// The endpoint answers again: every event arrives, none counted as a failure.
	close(gate)
	testenv.Eventually(t, 10*time.Second, "every event delivered", func() bool {
		seen := map[string]bool{}
		for _, d := range rec.Deliveries() {
			seen[string(d.Body)] = true
		}
		return len(seen) == n
	})
	if w := h.webhook(admin, wh.ID); w.ConsecutiveFailures != 0 || w.Status != hookgate.StatusActive {
		t.Fatalf("waiting parked counted as failures: %d, status %q", w.ConsecutiveFailures, w.Status)
	}
	// With nothing parked, the endpoint's deliveries are enqueued as usual.
	testenv.Eventually(t, 10*time.Second, "a delivery enqueued as usual", func() bool {
		before, got := count("hookgate_delivery_parked_enqueued_total"), rec.Count()
		ev := publish()
		info, err := insp.GetTaskInfo(queue, ingest.DeliveryID("acme", ev.ID, wh.ID, ep))
		if err == nil && info.State == asynq.TaskStateScheduled {
			return false
		}
		if _, err := rec.WaitFor(testenv.Context(t), got+1); err != nil {
			t.Fatal(err)
		}
		return count("hookgate_delivery_parked_enqueued_total") == before
	})
	t.Logf("%d events; %d parked by the worker, %d as enqueued", n, count("hookgate_delivery_endpoint_busy_total"),
		count("hookgate_delivery_parked_enqueued_total"))
}

// TestPlacesFreedTogetherWakeOneDeliveryEach: the 4 requests an endpoint
// may have in flight hang, 8 more deliveries are parked behind them, then
// the 4 requests end together (as a dead endpoint's time out together).
// Each freed place wakes one parked delivery: 4 wake-ups, which take the 4
// places, and no woken delivery finds the endpoint full and is parked again.
// Each release used to wake one delivery per place free at its moment
// (1+2+3+4 = 10 for 4 places), and the surplus went through the queue,
// ahead of other endpoints' deliveries, only to be parked again. Then every
// event is delivered.
func TestPlacesFreedTogetherWakeOneDeliveryEach(t *testing.T) {
	const limit = 4
	h := start(t, func(c *config.Config) {
		c.Delivery.Concurrency = 16
		c.Delivery.EndpointInFlight = limit
		c.Delivery.Timeout = hookgate.Duration(25 * time.Second)
		c.Lifecycle.AutoPauseAfter = 0
	})
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	rec := receiver.NewRecorder()
	first, then := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	requests := 0
	rec.SetHandler(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests++
		gate := first
		if requests > limit {
			gate = then
		}
		mu.Unlock()
		select {
		case <-gate:
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(rec)
	defer srv.Close()
	answer := sync.OnceFunc(func() { close(then) })
	defer answer()
	wh := h.createWebhook(admin, map[string]any{"name": "Together", "endpoints": endpoints(srv.URL), "events": []string{"deal.*"}})
	ep := wh.Endpoints[0].ID
	count := func(name string) int {
		v, _ := strconv.Atoi(metric(t, h, name))
		return v
	}
	const events = 3 * limit
	for i := range events {
		h.publish(pub, "deal.created", map[string]any{"n": i})
	}
	ctx := testenv.Context(t)
	parkedKey := h.cfg.Redis.Prefix + ":inf:{" + ep + "}:parked"
	testenv.Eventually(t, 30*time.Second, "4 requests hanging, 8 deliveries parked", func() bool {
		n, err := h.rdb.ZCard(ctx, parkedKey).Result()
		return err == nil && n == events-limit && rec.Count() == limit
	})
	busy, woken := count("hookgate_delivery_endpoint_busy_total"), count("hookgate_delivery_parked_woken_total")

	close(first)
	testenv.Eventually(t, 30*time.Second, "the woken deliveries on the freed places", func() bool { return rec.Count() == 2*limit })
	// Let any surplus wake-up reach a worker before counting.
	testenv.Eventually(t, 30*time.Second, "the queue to hold no pending or active task", func() bool {
		info, err := asynq.NewInspectorFromRedisClient(h.rdb).GetQueueInfo(app.QueueNames(h.cfg)[0])
		return err == nil && info.Pending == 0 && info.Active == limit
	})
	if got := count("hookgate_delivery_parked_woken_total") - woken; got != limit {
		t.Errorf("%d places freed together woke %d parked deliveries, want one each", limit, got)
	}
	if got := count("hookgate_delivery_endpoint_busy_total") - busy; got != 0 {
		t.Errorf("%d woken deliveries found the endpoint full and were parked again", got)
	}
	if n, _ := h.rdb.ZCard(ctx, parkedKey).Result(); n != events-2*limit {
		t.Errorf("%d deliveries left parked, want %d", n, events-2*limit)
	}
	answer()
	testenv.Eventually(t, 60*time.Second, "every event delivered", func() bool {
		seen := map[string]bool{}
		for _, d := range rec.Deliveries() {
			seen[string(d.Body)] = true
		}
		return len(seen) == events
	})
}
