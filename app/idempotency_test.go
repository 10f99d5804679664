package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate/app"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/receiver"
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

// publishOne sends event n until it is accepted or ctx ends.
func (p *outagePublisher) publishOne(ctx context.Context, n int) error {
	body, _ := json.Marshal(map[string]any{"type": "contact.created", "data": map[string]any{"n": n}})
	key := fmt.Sprintf("%s-%d", p.stem, n)
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
// events with unique Idempotency-Keys are published, Redis (appendonly yes,
// appendfsync everysec) goes away twice (a clean SHUTDOWN, or a SIGKILL) and
// comes back on the same port and dir. Every refused event is retried with
// its key until accepted; every accepted event must then be delivered: an
// event is accepted or refused, never answered "duplicate" for a first try
// that was refused and left nothing in the queue.
func TestRefusedEventsRetriedWithTheirKeyAreDeliveredAcrossRedisRestarts(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(*ownRedis)
	}{
		{"shutdown", (*ownRedis).shutdown},
		{"kill9", (*ownRedis).stop},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := startOwnRedisAOF(t)
			h := start(t, func(c *config.Config) { c.Redis.Addr = rs.addr })
			rec := receiver.NewRecorder()
			srv := httptest.NewServer(rec)
			defer srv.Close()
			// Four endpoints: each event is four tasks, enqueued after the claim.
			paths := []string{"/a", "/b", "/c", "/d"}
			h.createWebhook(h.token("acme", "admin"), map[string]any{"name": "w", "events": []string{"contact.created"},
				"endpoints": endpoints(srv.URL+paths[0], srv.URL+paths[1], srv.URL+paths[2], srv.URL+paths[3])})

			ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
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
				eventually(t, 10*time.Second, "events to be accepted before the outage", func() bool { return p.accepted.Load() >= from+100 })
				tc.stop(rs)
				refusedBefore := p.refusals.Load()
				select { // the outage: Redis stays away this long
				case <-time.After(2 * time.Second):
				case <-ctx.Done():
				}
				if p.refusals.Load() == refusedBefore {
					t.Fatal("no event was refused while Redis was down")
				}
				rs.start()
			}
			from := p.accepted.Load()
			eventually(t, 15*time.Second, "events to be accepted after the last outage", func() bool { return p.accepted.Load() >= from+100 })
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

			// A task a worker held when Redis went away stays active until
			// asynq's recoverer finds its lease expired: 30 s after the lease
			// ran out, on a one-minute period. Stand for that wait as crashtest
			// does: stop hookgate, expire the leases of what it left active,
			// start it again (the recoverer runs at start).
			rdb := redis.NewClient(&redis.Options{Addr: rs.addr})
			defer rdb.Close()
			leases := "asynq:{" + app.QueueName(h.cfg) + "}:lease"
			h.restartWith(func() {
				ids, err := rdb.ZRange(context.Background(), leases, 0, -1).Result()
				if err != nil {
					t.Fatal(err)
				}
				past := float64(time.Now().Add(-61 * time.Second).Unix())
				for _, id := range ids {
					rdb.ZAdd(context.Background(), leases, redis.Z{Score: past, Member: id})
				}
				if len(ids) > 0 {
					t.Logf("%s: %d tasks left active by the outage, their leases expired", tc.name, len(ids))
				}
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
			deadline := time.Now().Add(15 * time.Second)
			for len(missing()) > 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			extra := 0
			for _, c := range deliveredNs(t, rec) {
				extra += c - 1
			}
			t.Logf("%s: %d events accepted (%d of them after a refusal; %d retries answered \"duplicate\"), %d refusals; %d deliveries for %d, %d of them duplicates",
				tc.name, len(answers), retried, dupAnswers, p.refusals.Load(), rec.Count(), len(answers)*len(paths), extra)
			if lost := missing(); len(lost) > 0 {
				var desc []string
				for _, n := range lost {
					desc = append(desc, fmt.Sprintf("%d (refused first: %v, answer %+v)", n, p.retried[n], answers[n]))
				}
				t.Fatalf("%d accepted events not delivered to every endpoint: %v", len(lost), desc)
			}
		})
	}
}
