package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/testenv"
)

// startOnCluster runs hookgate in cluster mode on cl with three queue
// shards and a webhook of ten endpoints (so that the endpoints' hashes
// reach every shard, hence every master) subscribed to deal.*, delivering
// to rec.
func startOnCluster(t *testing.T, cl *testenv.RedisCluster, rec *receiver.Recorder, mutate func(*config.Config)) *harness {
	t.Helper()
	cfg := testConfig(t)
	cfg.Redis.Mode, cfg.Redis.Addrs, cfg.Redis.Addr = config.RedisCluster, cl.Addrs, ""
	cfg.Delivery.QueueShards = 3
	cfg.Log.Level = "info"
	if mutate != nil {
		mutate(&cfg)
	}
	h := startOnConfig(t, cfg)
	rs := httptest.NewServer(rec)
	t.Cleanup(rs.Close)
	var urls []string
	for j := range 10 {
		urls = append(urls, fmt.Sprintf("%s/e%d", rs.URL, j))
	}
	h.createWebhook(h.token("acme", "admin"), map[string]any{"name": "cluster", "endpoints": endpoints(urls...), "events": []string{"deal.*"}})
	return h
}

// waitDelivered waits until each of the events reached every one of the
// webhook's ten endpoints. Deliveries are at least once: a publish refused
// after its tasks were enqueued may still deliver them, and its retry with
// the same key enqueues the same deliveries again, so the receiver may see
// more.
func waitDelivered(t *testing.T, rec *receiver.Recorder, events []string) {
	t.Helper()
	missing := func() int {
		reached := map[string]map[string]bool{}
		for _, d := range rec.Deliveries() {
			var b struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(d.Body, &b) == nil {
				if reached[b.ID] == nil {
					reached[b.ID] = map[string]bool{}
				}
				reached[b.ID][d.Path] = true
			}
		}
		n := 0
		for _, id := range events {
			n += 10 - len(reached[id])
		}
		return n
	}
	testenv.Eventually(t, testenv.Wait, fmt.Sprintf("the deliveries of %d accepted events", len(events)), func() bool { return missing() == 0 })
}

func readyz(base string) int {
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// On a Redis Cluster of three masters with a replica each, and
// redis.replica_acks 1: events are accepted (202) once a replica of every
// master has them, and delivered; with one master's replica frozen a publish is
// refused with 503 unavailable (a JSON error), and accepted again, once,
// when retried with its Idempotency-Key after they are back. /readyz
// answers 200 while the cluster is whole, 503 once a master is SIGKILLed
// and before its replica takes over, and 200 again after.
func TestReadyzAndReplicaAcksOnARedisClusterWithReplicas(t *testing.T) {
	cl := testenv.StartRedisClusterWith(t, testenv.ClusterOptions{Masters: 3, Replicas: 1, NodeTimeout: 2 * time.Second})
	rec := receiver.NewRecorder()
	h := startOnCluster(t, cl, rec, func(c *config.Config) {
		c.Redis.ReplicaAcks, c.Redis.ReplicaAckTimeout = 1, hookgate.Duration(500*time.Millisecond)
	})
	pub := h.token("acme", "publisher")
	if got := readyz(h.base); got != 200 {
		t.Fatalf("/readyz of a whole cluster: %d", got)
	}
	var accepted []string // the ids of the events answered 202
	for n := range 3 {
		a := h.publish(pub, "deal.won", map[string]any{"n": n})
		if a.Deliveries != 10 {
			t.Fatalf("publish: %+v, want 10 deliveries", a)
		}
		accepted = append(accepted, a.ID)
	}
	waitDelivered(t, rec, accepted)

	// One master's replica frozen (the second master's, not the one whose
	// slot the marker of a single server would fall in): the event's
	// deliveries on that master reach no replica.
	if len(cl.Replicas[cl.Addrs[1]]) != 1 {
		t.Fatalf("replicas %v, want one per master", cl.Replicas)
	}
	replicas := cl.Replicas[cl.Addrs[1]]
	for _, r := range replicas {
		cl.StopNode(r)
	}
	body := `{"type": "deal.lost", "data": {"n": 100}}`
	refused := h.do("POST", "/v1/events", pub, body, "Idempotency-Key", "k-acks")
	for _, r := range replicas {
		cl.ContinueNode(r)
	}
	if refused.Status != 503 || refused.errorCode(t) != "unavailable" {
		t.Fatalf("publish with a replica frozen: %d %s, want 503 unavailable", refused.Status, refused.Body)
	}
	if got := readyz(h.base); got != 200 {
		t.Errorf("/readyz with every master up: %d", got) // readiness is the masters'; replicas are the publish's
	}
	// Retried with its key once they are back: accepted, delivered once.
	var again publishAnswer
	testenv.Eventually(t, 10*time.Second, "the retried publish to be accepted", func() bool {
		r := h.do("POST", "/v1/events", pub, body, "Idempotency-Key", "k-acks")
		if r.Status == 202 {
			r.json(t, &again)
		}
		return r.Status == 202
	})
	accepted = append(accepted, again.ID)
	waitDelivered(t, rec, accepted)

	// A master SIGKILLed: /readyz says so before the failover and, once
	// its replica is promoted and the cluster serves every slot again, is
	// ready again.
	dead := cl.Addrs[0]
	cl.KillNode(dead)
	if got := readyz(h.base); got != 503 {
		t.Fatalf("/readyz right after a master died: %d, want 503", got)
	}
	testenv.Eventually(t, 30*time.Second, "/readyz to answer 200 after the failover", func() bool {
		return readyz(h.base) == 200
	})
	// The promoted replica has no replica of its own: publishes are
	// refused until the old master is back, as its replica.
	if r := h.do("POST", "/v1/events", pub, `{"type": "deal.won", "data": {"n": 200}}`); r.Status != 503 || r.errorCode(t) != "unavailable" {
		t.Fatalf("publish with a master without replica: %d %s, want 503 unavailable", r.Status, r.Body)
	}
	cl.StartNode(dead)
	var back publishAnswer
	testenv.Eventually(t, 30*time.Second, "a publish to be accepted once the old master replicates the new one", func() bool {
		r := h.do("POST", "/v1/events", pub, `{"type": "deal.won", "data": {"n": 300}}`, "Idempotency-Key", "k-back")
		if r.Status == 202 {
			r.json(t, &back)
		}
		return r.Status == 202
	})
	accepted = append(accepted, back.ID)
	waitDelivered(t, rec, accepted)
}
