package crashtest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/testenv"
	"github.com/hookgate/hookgate/queue"
)

func endpoint(url string) []map[string]any { return []map[string]any{{"url": url}} }

// eventIDs returns the event ids (data.n) of the deliveries, in order.
func eventNs(t *testing.T, ds []receiver.Delivery) []int {
	t.Helper()
	out := make([]int, len(ds))
	for i, d := range ds {
		var b struct {
			Data struct {
				N int `json:"n"`
			} `json:"data"`
		}
		if err := json.Unmarshal(d.Body, &b); err != nil {
			t.Fatalf("body %s: %v", d.Body, err)
		}
		out[i] = b.Data.N
	}
	return out
}

func waitFor(t *testing.T, rec *receiver.Recorder, n int, within time.Duration) []receiver.Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	got, err := rec.WaitFor(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// expireLeases moves the lease of every active task of hookgate's queue
// 61 s into the past. asynq recovers a task whose worker died once its lease
// (30 s, extended every few seconds while the worker lives) has been expired
// for 30 s, which a real crash reaches within a minute; this stands for that
// wait, so the test takes seconds. HOOKGATE_TEST_REAL_LEASE=1 waits for real.
func expireLeases(t *testing.T, rdb *redis.Client, queue string) {
	t.Helper()
	if os.Getenv("HOOKGATE_TEST_REAL_LEASE") == "1" {
		return
	}
	ctx := context.Background()
	key := "asynq:{" + queue + "}:lease"
	ids, err := rdb.ZRange(ctx, key, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) == 0 {
		t.Fatal("no active task holds a lease: the delivery was not in flight")
	}
	past := float64(time.Now().Add(-61 * time.Second).Unix())
	for _, id := range ids {
		rdb.ZAdd(ctx, key, redis.Z{Score: past, Member: id})
	}
}

func redeliveryWait() time.Duration {
	if os.Getenv("HOOKGATE_TEST_REAL_LEASE") == "1" {
		return 3 * time.Minute
	}
	return 20 * time.Second
}

func TestWorkerKilledMidDeliveryIsRedeliveredWithTheSameID(t *testing.T) {
	// One worker, so that the order tasks are taken in is the order they arrive in.
	h := startHookgate(t, testenv.RedisAddr(), "HOOKGATE_DELIVERY_CONCURRENCY=1")
	rdb := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr()})
	defer rdb.Close()
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")

	rec := receiver.NewRecorder()
	var once sync.Once
	held := make(chan struct{})
	rec.SetHandler(func(w http.ResponseWriter, r *http.Request) {
		first := false
		once.Do(func() { first = true })
		if first {
			// Hold the first request until the worker sending it is dead.
			select {
			case <-held:
			case <-r.Context().Done():
			}
			return
		}
		w.WriteHeader(200)
	})
	srv := httptest.NewServer(rec)
	defer srv.Close()
	defer close(held)

	var w struct{ ID string }
	h.call("POST", "/v1/webhooks", admin, map[string]any{"name": "Crash", "endpoints": endpoint(srv.URL), "events": []string{"deal.*"}}, &w, 201)
	h.call("POST", "/v1/events", pub, map[string]any{"type": "deal.created", "data": map[string]any{"n": 1}}, nil, 202)
	first := waitFor(t, rec, 1, 10*time.Second)

	h.kill() // SIGKILL while the request is held
	expireLeases(t, rdb, h.prefix())
	h.start()
	got := waitFor(t, rec, 2, redeliveryWait())
	if got[1].ID != first[0].ID || got[1].ID == "" {
		t.Fatalf("redelivered with webhook-id %q, first attempt had %q", got[1].ID, first[0].ID)
	}

	// Held events survive a SIGKILL too.
	h.call("POST", "/v1/webhooks/"+w.ID+"/pause", admin, nil, nil, 200)
	for i := range 20 {
		h.call("POST", "/v1/events", pub, map[string]any{"type": "deal.created", "data": map[string]any{"n": 100 + i}}, nil, 202)
	}
	h.kill()
	h.start()
	var wh hookgate.Webhook
	h.call("GET", "/v1/webhooks/"+w.ID, admin, nil, &wh, 200)
	if wh.HeldEvents != 20 || wh.Status != hookgate.StatusPaused {
		t.Fatalf("after SIGKILL: %d held, status %q; want 20 paused", wh.HeldEvents, wh.Status)
	}
	h.call("POST", "/v1/webhooks/"+w.ID+"/resume", admin, nil, nil, 200)
	all := waitFor(t, rec, 22, 20*time.Second)
	for i, n := range eventNs(t, all[2:]) {
		if n != 100+i {
			t.Fatalf("after the SIGKILL and resume, delivery %d carries event %d: lost or not oldest first", i, n)
		}
	}

	// A scheduled retry survives a SIGKILL: it is in Redis, due later.
	flaky := receiver.NewRecorder()
	var calls sync.Mutex
	n := 0
	flaky.SetHandler(func(w http.ResponseWriter, r *http.Request) {
		calls.Lock()
		n++
		first := n == 1
		calls.Unlock()
		if first {
			w.WriteHeader(503)
			return
		}
		w.WriteHeader(200)
	})
	fsrv := httptest.NewServer(flaky)
	defer fsrv.Close()
	h.call("POST", "/v1/webhooks", admin, map[string]any{"name": "Flaky", "endpoints": endpoint(fsrv.URL), "events": []string{"invoice.*"},
		"retry": map[string]any{"delays": []string{"2s"}}}, nil, 201)
	h.call("POST", "/v1/events", pub, map[string]any{"type": "invoice.paid", "data": map[string]any{"n": 500}}, nil, 202)
	failed := waitFor(t, flaky, 1, 10*time.Second)
	testenv.Eventually(t, 10*time.Second, "the retry to be scheduled", func() bool {
		info, err := queue.QueueInfo(context.Background(), rdb, h.prefix())
		return err == nil && info.Retry == 1
	})
	h.kill()
	h.start()
	retried := waitFor(t, flaky, 2, 20*time.Second)
	if retried[1].ID != failed[0].ID {
		t.Fatalf("retry after the crash has webhook-id %q, first attempt %q", retried[1].ID, failed[0].ID)
	}
}

func TestRedisKilledAndRestartedDeliversEveryAcceptedEvent(t *testing.T) {
	// appendfsync always: an event answered 202 is on disk before the answer.
	rs := testenv.StartRedisServer(t, "always")
	h := startHookgate(t, rs.Addr, "HOOKGATE_DELIVERY_CONCURRENCY=1")
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")

	// Endpoint A takes nothing until released, and the one worker waits on
	// it: the other deliveries wait in the queue.
	a := receiver.NewRecorder()
	gate := make(chan struct{})
	a.SetHandler(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-gate:
			w.WriteHeader(200)
		case <-r.Context().Done():
		}
	})
	b := receiver.NewRecorder()
	sa, sb := httptest.NewServer(a), httptest.NewServer(b)
	defer sa.Close()
	defer sb.Close()
	var wa, wb struct{ ID string }
	h.call("POST", "/v1/webhooks", admin, map[string]any{"name": "Queued", "endpoints": endpoint(sa.URL), "events": []string{"deal.*"}}, &wa, 201)
	h.call("POST", "/v1/webhooks", admin, map[string]any{"name": "Paused", "endpoints": endpoint(sb.URL), "events": []string{"deal.*"}}, &wb, 201)
	h.call("POST", "/v1/webhooks/"+wb.ID+"/pause", admin, nil, nil, 200)
	const n = 30
	for i := range n {
		h.call("POST", "/v1/events", pub, map[string]any{"type": "deal.created", "data": map[string]any{"n": i}}, nil, 202)
	}

	rs.Kill()
	rs.Start()
	// hookgate reconnects by itself.
	testenv.Eventually(t, 30*time.Second, "hookgate to be ready again", func() bool {
		resp, err := http.Get(h.base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	close(gate)
	h.call("POST", "/v1/webhooks/"+wb.ID+"/resume", admin, nil, nil, 200)
	// One more after the restart: the publish path works again.
	h.call("POST", "/v1/events", pub, map[string]any{"type": "deal.created", "data": map[string]any{"n": n}}, nil, 202)

	for name, rec := range map[string]*receiver.Recorder{"queued": a, "paused": b} {
		testenv.Eventually(t, 60*time.Second, name+" endpoint to get every event", func() bool {
			seen := map[int]bool{}
			for _, x := range eventNs(t, rec.Deliveries()) {
				seen[x] = true
			}
			return len(seen) == n+1
		})
	}
	t.Logf("queued endpoint: %d requests for %d events; paused endpoint: %d", a.Count(), n+1, b.Count())
	_ = strconv.Itoa
}
