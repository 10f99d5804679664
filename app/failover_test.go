package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/testenv"
)

// sentinelRedis is a master, one replica and three Sentinels (quorum 2) of
// the test's own, on free loopback ports.
type sentinelRedis struct {
	master, replica *testenv.RedisServer
	sentinels       []string
}

const failoverMaster = "hookgate"

func startSentinelRedis(t *testing.T) *sentinelRedis {
	t.Helper()
	s := &sentinelRedis{master: testenv.StartRedisServer(t, "")}
	s.replica = testenv.StartRedisReplica(t, s.master.Addr)
	waitInSync(t, s.replica.Addr)
	for range 3 {
		s.sentinels = append(s.sentinels, testenv.StartSentinel(t, failoverMaster, s.master.Addr, 2, time.Second, 3*time.Second).Addr)
	}
	return s
}

// waitInSync waits until the replica at addr has finished its first sync.
func waitInSync(t *testing.T, addr string) {
	t.Helper()
	rc := redis.NewClient(&redis.Options{Addr: addr})
	defer rc.Close()
	testenv.Eventually(t, 30*time.Second, "the replica to sync", func() bool {
		info, _ := rc.Info(context.Background(), "replication").Result()
		return bytes.Contains([]byte(info), []byte("master_link_status:up"))
	})
}

// masterAddr is the master the Sentinels name now.
func (s *sentinelRedis) masterAddr(ctx context.Context) string {
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.sentinels[0]})
	defer sc.Close()
	a, err := sc.GetMasterAddrByName(ctx, failoverMaster).Result()
	if err != nil || len(a) != 2 {
		return ""
	}
	return a[0] + ":" + a[1]
}

// idReceiver records the event ids of the deliveries it receives.
type idReceiver struct {
	mu   sync.Mutex
	seen map[string]int
}

func (r *idReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var body struct {
		ID string `json:"id"`
	}
	b, _ := io.ReadAll(req.Body)
	if json.Unmarshal(b, &body) != nil || body.ID == "" {
		w.WriteHeader(400)
		return
	}
	r.mu.Lock()
	r.seen[body.ID]++
	r.mu.Unlock()
}

func (r *idReceiver) has(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[id] > 0
}

// failoverRun is what a publisher saw across a failover.
type failoverRun struct {
	accepted []string // event ids answered 202
	refused  int      // answers 503 or connection errors, each retried
	gaveUp   int      // events never accepted before the deadline
}

// publishThroughFailover publishes n events at about rate per second, each
// with an Idempotency-Key and retried with the same key while refused;
// killAfter events in, it calls kill.
func publishThroughFailover(t *testing.T, h *harness, n, rate, killAfter int, kill func()) failoverRun {
	t.Helper()
	pub := h.token("acme", "publisher")
	client := &http.Client{Timeout: 5 * time.Second}
	var mu sync.Mutex
	var run failoverRun
	var wg sync.WaitGroup
	deadline := time.Now().Add(40 * time.Second)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for i := range n {
		<-tick.C
		if i == killAfter {
			kill()
		}
		id := fmt.Sprintf("evt-%04d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(map[string]any{"id": id, "type": "contact.created", "data": map[string]any{"n": id}})
			for time.Now().Before(deadline) {
				req, _ := http.NewRequest("POST", h.base+"/v1/events", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+pub)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", "key-"+id)
				resp, err := client.Do(req)
				status := 0
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					status = resp.StatusCode
				}
				mu.Lock()
				switch {
				case status == 202:
					run.accepted = append(run.accepted, id)
					mu.Unlock()
					return
				case err != nil || status == 503:
					run.refused++
				default:
					mu.Unlock()
					t.Errorf("event %s: status %d", id, status)
					return
				}
				mu.Unlock()
				time.Sleep(100 * time.Millisecond)
			}
			mu.Lock()
			run.gaveUp++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return run
}

// failover runs hookgate in sentinel mode with replica_acks acks on a
// master, a replica and three Sentinels of its own, publishes 400 events at
// 100 a second (each retried with its Idempotency-Key while refused), and
// 150 events in freezes the replica and cuts its link for 300 ms (its
// replication falls behind, as over a slow or broken link), SIGKILLs the
// master, and lets the replica go: the Sentinels promote it. The old master
// is started again, empty, once they have; they make it the new master's
// replica. /readyz must answer 503 while no master answers. It returns
// what the publisher saw and the accepted events that
// were not delivered within wait.
func failover(t *testing.T, acks int, wait time.Duration) (failoverRun, []string) {
	t.Helper()
	rs := startSentinelRedis(t)
	rcv := &idReceiver{seen: map[string]int{}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	h := start(t, func(c *config.Config) {
		c.Redis.Mode, c.Redis.Addrs, c.Redis.MasterName = config.RedisSentinel, rs.sentinels, failoverMaster
		c.Redis.Addr = ""
		c.Redis.ReplicaAcks, c.Redis.ReplicaAckTimeout = acks, hookgate.Duration(time.Second)
		c.Delivery.RetryDelays = []hookgate.Duration{}
		for range 10 {
			c.Delivery.RetryDelays = append(c.Delivery.RetryDelays, hookgate.Duration(200*time.Millisecond))
		}
		c.Log.Level = "info"
	})
	admin := h.token("acme", "admin")
	h.createWebhook(admin, map[string]any{"name": "failover", "endpoints": endpoints(srv.URL + "/hook"), "events": []string{"contact.created"}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	oldMaster := rs.master.Addr
	promoted := make(chan struct{})
	var notReady atomic.Int32 // /readyz answers 503 between the kill and the promotion
	run := publishThroughFailover(t, h, 400, 100, 150, func() {
		go func() {
			for {
				select {
				case <-promoted:
					return
				case <-time.After(50 * time.Millisecond):
				}
				if resp, err := http.Get(h.base + "/readyz"); err == nil {
					resp.Body.Close()
					if resp.StatusCode == 503 {
						notReady.Add(1)
					}
				}
			}
		}()
		go func() {
			defer close(promoted)
			// The replica frozen and its link cut: what the master writes
			// now reaches no replica (a lagging link in production).
			rs.replica.Stop()
			mc := redis.NewClient(&redis.Options{Addr: rs.master.Addr})
			_ = mc.ClientKillByFilter(ctx, "TYPE", "replica").Err()
			mc.Close()
			time.Sleep(300 * time.Millisecond)
			rs.master.Kill()
			rs.replica.Continue()
			for a := rs.masterAddr(ctx); (a == oldMaster || a == "") && ctx.Err() == nil; a = rs.masterAddr(ctx) {
				time.Sleep(100 * time.Millisecond)
			}
			rs.master.Start()
		}()
	})
	<-promoted
	if now := rs.masterAddr(ctx); now != rs.replica.Addr {
		t.Fatalf("the Sentinels name %s as master, want the promoted replica %s", now, rs.replica.Addr)
	}
	if run.refused == 0 {
		t.Errorf("no publish was refused: the failover happened outside the stream")
	}
	if notReady.Load() == 0 {
		t.Errorf("/readyz never answered 503 while the master was down")
	}
	missing := func() []string {
		var out []string
		for _, id := range run.accepted {
			if !rcv.has(id) {
				out = append(out, id)
			}
		}
		return out
	}
	end := time.Now().Add(wait)
	for len(missing()) > 0 && time.Now().Before(end) {
		time.Sleep(100 * time.Millisecond)
	}
	h.do("GET", "/readyz", "", nil).must(t, 200)
	return run, missing()
}

// With redis.replica_acks: 1, every event answered 202 across a Sentinel
// failover is delivered (at least once: the receiver counts event ids).
// The replica frozen before the master dies holds no write the master
// acknowledged a 202 for, since each 202 waited for it.
func TestSentinelFailoverLosesNoAcceptedEvent(t *testing.T) {
	testenv.SkipShort(t, "a master, a replica and three Sentinels, killed mid-stream")
	run, lost := failover(t, 1, 60*time.Second)
	t.Logf("sentinel failover, replica_acks 1: %d of 400 events accepted, %d refusals retried, %d never accepted, %d accepted and not delivered",
		len(run.accepted), run.refused, run.gaveUp, len(lost))
	if len(run.accepted) != 400 {
		t.Errorf("%d of 400 events accepted within the deadline", len(run.accepted))
	}
	if len(lost) > 0 {
		t.Fatalf("%d events answered 202 were never delivered: %v", len(lost), lost)
	}
}

// The same failover with replica_acks: 0 measures what is lost without the
// wait: the events accepted while the replica lagged are on the dead master
// only. A figure for docs/scaling.md, not an assertion: how many depends on
// the timing.
func TestSentinelFailoverWithoutReplicaAcksMeasuresTheLoss(t *testing.T) {
	testenv.SkipShort(t, "a master, a replica and three Sentinels, killed mid-stream")
	run, lost := failover(t, 0, 10*time.Second)
	t.Logf("sentinel failover, replica_acks 0: %d of 400 events accepted, %d refusals retried, %d accepted and never delivered",
		len(run.accepted), run.refused, len(lost))
}
