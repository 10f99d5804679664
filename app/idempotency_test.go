package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate/app"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/ingest"
	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/testenv"
	"github.com/hookgate/hookgate/queue"
)

// outagePublisher publishes events with unique Idempotency-Keys at a fixed
// rate from a pool of workers, and retries every refused event (503 or no
// answer) with the same key and body until it is accepted, as docs/api.md
// tells clients to.
type outagePublisher struct {
	t      *testing.T
	url    string
	token  string
	stem   string // makes the keys of one run unique
	client *http.Client

	accepted  atomic.Int64 // events answered 202 (each counted once)
	refusals  atomic.Int64 // 503s and failed requests
	mu        sync.Mutex
	answers   map[int]outageAnswer // by data.n
	retried   map[int]bool         // events refused at least once
	duplicate int                  // retries answered 202 "duplicate": true
}

type outageAnswer struct {
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate"`
}

func newOutagePublisher(t *testing.T, base, token, stem string) *outagePublisher {
	return &outagePublisher{t: t, url: base + "/v1/events", token: token, stem: stem,
		// A request stuck on a dead Redis connection counts as refused and is retried.
		client:  &http.Client{Timeout: 5 * time.Second},
		answers: map[int]outageAnswer{}, retried: map[int]bool{}}
}

func (p *outagePublisher) key(n int) string { return fmt.Sprintf("%s-%d", p.stem, n) }

// publishOne sends event n until it is accepted or ctx ends.
func (p *outagePublisher) publishOne(ctx context.Context, n int) error {
	body, _ := json.Marshal(map[string]any{"type": "contact.created", "data": map[string]any{"n": n}})
	key := p.key(n)
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			p.mu.Lock()
			p.retried[n] = true
			p.mu.Unlock()
			select { // pace retries; this is the client's back-off, not a wait for a condition
			case <-ctx.Done():
				return fmt.Errorf("event %d: still refused: %w", n, ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
		req, _ := http.NewRequestWithContext(ctx, "POST", p.url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+p.token)
		req.Header.Set("Idempotency-Key", key)
		resp, err := p.client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("event %d: %w", n, ctx.Err())
			}
			p.refusals.Add(1)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusAccepted:
			var a outageAnswer
			if err := json.Unmarshal(b, &a); err != nil {
				return fmt.Errorf("event %d: answer %s: %v", n, b, err)
			}
			p.mu.Lock()
			p.answers[n] = a
			if a.Duplicate {
				p.duplicate++
			}
			p.mu.Unlock()
			p.accepted.Add(1)
			return nil
		case http.StatusServiceUnavailable:
			p.refusals.Add(1)
		default:
			return fmt.Errorf("event %d: status %d: %s", n, resp.StatusCode, b)
		}
	}
}

// run publishes events at rate per second with workers in parallel until
// stop is closed, then waits for every event started to be accepted. It
// returns how many events it started.
func (p *outagePublisher) run(ctx context.Context, rate, workers int, stop <-chan struct{}) (int, error) {
	jobs := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range jobs {
				if err := p.publishOne(ctx, n); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	n := 0
loop:
	for {
		select {
		case <-stop:
			break loop
		case <-ctx.Done():
			break loop
		case <-tick.C:
			select { // every worker busy retrying: the offered rate drops, as a real client's would
			case jobs <- n:
				n++
			case <-stop:
				break loop
			case err := <-errs:
				close(jobs)
				wg.Wait()
				return n, err
			}
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return n, err
	default:
		return n, nil
	}
}

// delivery names one delivery: the event (data.n) and the endpoint (path).
type delivery struct {
	n    int
	path string
}

// deliveredNs counts the deliveries the receiver got, per event and endpoint.
func deliveredNs(t *testing.T, rec *receiver.Recorder) map[delivery]int {
	t.Helper()
	seen := map[delivery]int{}
	for _, d := range rec.Deliveries() {
		var b struct {
			Data struct {
				N int `json:"n"`
			} `json:"data"`
		}
		if err := json.Unmarshal(d.Body, &b); err != nil {
			t.Fatalf("delivery body %s: %v", d.Body, err)
		}
		seen[delivery{b.Data.N, d.Path}]++
	}
	return seen
}

// TestRefusedEventsRetriedWithTheirKeyAreDeliveredAcrossRedisRestarts: while
// events with unique Idempotency-Keys are published, Redis (appendonly yes)
// goes away twice for about 2 s, mid-publish, and comes back on the same
// port and dir: a clean SHUTDOWN, or a SIGKILL. Every refused event is
// retried with its key until accepted; every accepted event must then be
// delivered: an event is accepted or refused, never answered "duplicate"
// for a first try that was refused and left nothing in the queue.
//
// With appendfsync everysec a SIGKILL may lose writes Redis acknowledged
// (its write to the AOF is postponed while an fsync runs): an event whose
// acceptance Redis lost is no fault of hookgate's; the test tells them
// apart by the key's record, which hookgate writes done only after every
// task of the event (the AOF keeps write order), counts and logs them. The
// appendfsync always case allows none.
func TestRefusedEventsRetriedWithTheirKeyAreDeliveredAcrossRedisRestarts(t *testing.T) {
	testenv.SkipShort(t, "crash test: restarts and kills redis-server under a whole hookgate")
	for _, tc := range []struct {
		name  string
		fsync string
		stop  func(*testenv.RedisServer)
	}{
		{"shutdown", "everysec", (*testenv.RedisServer).Shutdown},
		{"kill9", "everysec", (*testenv.RedisServer).Kill},
		{"kill9-fsync-always", "always", (*testenv.RedisServer).Kill},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := testenv.StartRedisServer(t, tc.fsync)
			h := start(t, func(c *config.Config) { c.Redis.Addr = rs.Addr })
			rec := receiver.NewRecorder()
			srv := httptest.NewServer(rec)
			defer srv.Close()
			// Four endpoints: each event is four tasks, enqueued after the claim.
			paths := []string{"/a", "/b", "/c", "/d"}
			w := h.createWebhook(h.token("acme", "admin"), map[string]any{"name": "w", "events": []string{"contact.created"},
				"endpoints": endpoints(srv.URL+paths[0], srv.URL+paths[1], srv.URL+paths[2], srv.URL+paths[3])})

			// Deadlines, not durations: on an idle machine a case takes under 10 s.
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			p := newOutagePublisher(t, h.base, h.token("acme", "publisher"), "k-"+tc.name)
			stop := make(chan struct{})
			var started int
			var runErr error
			done := make(chan struct{})
			go func() {
				defer close(done)
				started, runErr = p.run(ctx, 400, 32, stop)
			}()

			// Two outages of about 2 s, each while events are being published.
			for range 2 {
				from := p.accepted.Load()
				testenv.Eventually(t, 30*time.Second, "events to be accepted before the outage", func() bool { return p.accepted.Load() >= from+100 })
				tc.stop(rs)
				select { // the outage: Redis stays away this long
				case <-time.After(2 * time.Second):
				case <-ctx.Done():
				}
				rs.Start()
			}
			from := p.accepted.Load()
			testenv.Eventually(t, 30*time.Second, "events to be accepted after the last outage", func() bool { return p.accepted.Load() >= from+100 })
			close(stop)
			<-done
			if runErr != nil {
				t.Fatal(runErr)
			}
			p.mu.Lock()
			answers, retried, dupAnswers := p.answers, len(p.retried), p.duplicate
			p.mu.Unlock()
			if len(answers) != started {
				t.Fatalf("%d events started, %d accepted", started, len(answers))
			}
			if retried == 0 {
				t.Fatal("the outages refused no event")
			}

			// After the outage the worker leaves deliveries late, not lost:
			// tasks it held when Redis went away wait for asynq's recoverer
			// (30 s after their lease ran out, on a one-minute period), and
			// deliveries to an endpoint it found stalled are put back for up
			// to a minute. Stand for those waits as crashtest does: stop
			// hookgate, expire the leases it left, make what is scheduled due,
			// start it again (the recoverer runs at start).
			p.client.CloseIdleConnections() // idle keep-alive connections would hold the drain
			rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
			defer rdb.Close()
			queueName := app.QueueName(h.cfg)
			insp := asynq.NewInspectorFromRedisClient(rdb)
			h.restartWith(func() {
				leases := "asynq:{" + queueName + "}:lease"
				ids, err := rdb.ZRange(context.Background(), leases, 0, -1).Result()
				if err != nil {
					t.Fatal(err)
				}
				past := float64(time.Now().Add(-61 * time.Second).Unix())
				for _, id := range ids {
					rdb.ZAdd(context.Background(), leases, redis.Z{Score: past, Member: id})
				}
				scheduled, _ := insp.RunAllScheduledTasks(queueName)
				retrying, _ := insp.RunAllRetryTasks(queueName)
				t.Logf("%s: after the outages, %d tasks left active, %d put back for later, %d retrying: made due now",
					tc.name, len(ids), scheduled, retrying)
			})

			missing := func() []int {
				seen := deliveredNs(t, rec)
				var out []int
				for n := range answers {
					for _, path := range paths {
						if seen[delivery{n, path}] == 0 {
							out = append(out, n)
							break
						}
					}
				}
				sort.Ints(out)
				return out
			}
			deadline := time.Now().Add(60 * time.Second)
			for len(missing()) > 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			extra := 0
			for _, c := range deliveredNs(t, rec) {
				extra += c - 1
			}
			t.Logf("%s: %d events accepted (%d of them after a refusal; %d retries answered \"duplicate\"), %d refusals; %d deliveries for %d, %d of them duplicates",
				tc.name, len(answers), retried, dupAnswers, p.refusals.Load(), rec.Count(), len(answers)*len(paths), extra)

			var lost, lostByRedis []string
			for _, n := range missing() {
				desc := fmt.Sprintf("%d (refused first: %v, answer %+v)", n, p.retried[n], answers[n])
				if tc.fsync == "everysec" && tc.name != "shutdown" && !keyDone(t, rdb, h.cfg.Redis.Prefix, "acme", p.key(n)) {
					lostByRedis = append(lostByRedis, desc)
					continue
				}
				lost = append(lost, desc)
				// Where its tasks are, to tell a lost task from a late one.
				for _, ep := range w.Endpoints {
					id := ingest.DeliveryID("acme", answers[n].ID, w.ID, ep.ID)
					if ti, err := insp.GetTaskInfo(queueName, id); err != nil {
						t.Logf("event %d, endpoint %s: task %s: %v", n, ep.URL, id, err)
					} else {
						t.Logf("event %d, endpoint %s: task %s %s, retried %d, next at %s, last error %q", n, ep.URL, id, ti.State, ti.Retried, ti.NextProcessAt.Format(time.RFC3339Nano), ti.LastErr)
					}
				}
			}
			if len(lostByRedis) > 0 {
				t.Logf("%s: %d accepted events lost by Redis (appendfsync everysec; their record is not done after the restart): %v", tc.name, len(lostByRedis), lostByRedis)
			}
			if len(lost) > 0 {
				t.Fatalf("%d accepted events not delivered to every endpoint: %v", len(lost), lost)
			}
		})
	}
}

// keyDone tells whether Redis holds the record of Idempotency-Key key as
// done: every task of its event was written before it. (The record's
// layout is store.Idempotency's: a key hashed under the tenant, a state
// byte first; a bare JSON answer is the layout before states, done too.)
func keyDone(t *testing.T, rdb *redis.Client, prefix, tenant, key string) bool {
	t.Helper()
	sum := sha256.Sum256([]byte("key:" + key))
	v, err := rdb.Get(context.Background(), prefix+":idem:"+tenant+":"+hex.EncodeToString(sum[:16])).Result()
	if errors.Is(err, redis.Nil) {
		return false
	} else if err != nil {
		t.Fatal(err)
	}
	return v[0] == 'd' || v[0] == '{'
}

// TestIdempotencyKeyReusedForOtherContentIsRefused: a key (or an event id)
// is bound to its event's content. The same content again, however laid
// out, is answered with the first answer; other content is a 409
// idempotency_conflict and is not delivered. In a batch, one reused id with
// other content refuses the whole batch, naming the event.
func TestIdempotencyKeyReusedForOtherContentIsRefused(t *testing.T) {
	h := start(t, nil)
	rec := receiver.NewRecorder()
	srv := httptest.NewServer(rec)
	defer srv.Close()
	h.createWebhook(h.token("acme", "admin"), map[string]any{"name": "w", "endpoints": endpoints(srv.URL), "events": []string{"lead.created"}})
	pub := h.token("acme", "publisher")

	var first, again struct {
		ID         string
		Deliveries int
		Duplicate  bool
	}
	h.do("POST", "/v1/events", pub, `{"type": "lead.created", "data": {"v": "A", "n": 1}}`, "Idempotency-Key", "k-11").must(t, 202).json(t, &first)
	h.do("POST", "/v1/events", pub, "{\"data\":{\"v\":\"A\",\"n\":1},\n\"type\":\"lead.created\"}", "Idempotency-Key", "k-11").must(t, 202).json(t, &again)
	if !again.Duplicate || again.ID != first.ID || again.Deliveries != first.Deliveries || first.Duplicate {
		t.Fatalf("same event again: %+v, first %+v", again, first)
	}
	e := h.do("POST", "/v1/events", pub, map[string]any{"type": "lead.created", "data": map[string]any{"v": "B"}}, "Idempotency-Key", "k-11").
		apiErr(t, 409, "idempotency_conflict")
	if e.Error.Fields["Idempotency-Key"] == "" {
		t.Fatalf("conflict does not name the key: %+v", e.Error)
	}

	batch := func(evs ...map[string]any) response {
		return h.do("POST", "/v1/events/batch", pub, map[string]any{"events": evs})
	}
	ev := func(id, v string) map[string]any {
		return map[string]any{"id": id, "type": "lead.created", "data": map[string]any{"v": v}}
	}
	batch(ev("crm-1", "C")).must(t, 202)
	e = batch(ev("crm-2", "D"), ev("crm-1", "E")).apiErr(t, 409, "idempotency_conflict")
	if len(e.Error.Fields) != 1 || e.Error.Fields["events[1].id"] == "" {
		t.Fatalf("batch conflict fields %v, want events[1].id only", e.Error.Fields)
	}
	h.do("POST", "/v1/events", pub, ev("crm-1", "F")).apiErr(t, 409, "idempotency_conflict")

	// Everything accepted was enqueued before this point: once the queue is
	// empty, what the receiver has is all it will get.
	h.do("POST", "/v1/events", pub, map[string]any{"type": "lead.created", "data": map[string]any{"v": "sentinel"}}).must(t, 202)
	if _, err := rec.WaitFor(testenv.Context(t), 3); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "the queue to drain", func() bool {
		info, err := queue.QueueInfo(context.Background(), h.rdb, app.QueueName(h.cfg))
		return err == nil && info.Pending+info.Active+info.Retry+info.Scheduled == 0
	})
	var got []string
	for _, d := range rec.Deliveries() {
		var b struct {
			Data struct{ V string } `json:"data"`
		}
		if err := json.Unmarshal(d.Body, &b); err != nil {
			t.Fatal(err)
		}
		got = append(got, b.Data.V)
	}
	sort.Strings(got)
	if fmt.Sprint(got) != "[A C sentinel]" {
		t.Fatalf("delivered %v, want [A C sentinel]: refused events must not be delivered", got)
	}
}
