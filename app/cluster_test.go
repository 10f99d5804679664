package app_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/app"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/apptest"
	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/store"
	"github.com/hookgate/hookgate/internal/testenv"
)

// TestEverythingWorksOnARedisCluster runs hookgate on a Redis Cluster of
// three masters of its own, with its deliveries spread over three queue
// shards: webhooks are created, listed, updated and deleted; events are
// published and delivered; a paused webhook holds its events and releases
// them on resume; the delivery log reads back; an incoming webhook proxies
// a call (and its token's rotation and deletion take effect); the same
// Idempotency-Key gets the same answer. Every master ends up with some of
// the delivery work (asynq's processed counter of the shard it holds).
func TestEverythingWorksOnARedisCluster(t *testing.T) {
	cl := testenv.StartRedisCluster(t, 3)
	crm := newCRMService(t, "crm")
	srv := apptest.StartOn(t, cl.Client(), testConfig(t), slog.LevelInfo, func(c *config.Config) {
		c.Redis.Mode, c.Redis.Addrs = config.RedisCluster, cl.Addrs
		c.Delivery.QueueShards = 3
		c.Incoming.Scopes = map[string]config.Scope{"crm": {Prefixes: []string{"/crm/"}, Upstream: crm.srv.URL}}
		c.Incoming.Rate, c.Incoming.Burst = 1000, 1000
	})
	h := harnessOf(t, srv)
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	rec := receiver.NewRecorder()
	rs := httptest.NewServer(rec)
	defer rs.Close()

	// Webhooks: three of ten endpoints each, so that the endpoints' hashes
	// reach every shard.
	var ids []string
	for i := range 3 {
		var urls []string
		for j := range 10 {
			urls = append(urls, fmt.Sprintf("%s/w%d/e%d", rs.URL, i, j))
		}
		w := h.createWebhook(admin, map[string]any{"name": "hook " + strconv.Itoa(i), "endpoints": endpoints(urls...),
			"events": []string{"deal.*"}})
		ids = append(ids, w.ID)
	}
	h.do("PATCH", "/v1/webhooks/"+ids[0], admin, map[string]any{"name": "renamed"}).must(t, 200)
	var list struct {
		Data []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"data"`
	}
	h.do("GET", "/v1/webhooks", admin, nil).must(t, 200).json(t, &list)
	if len(list.Data) != 3 {
		t.Fatalf("list: %+v, want 3 webhooks", list.Data)
	}
	if got := h.webhook(admin, ids[0]).Name; got != "renamed" {
		t.Fatalf("after update the webhook is named %q", got)
	}

	// Events, each to 30 endpoints.
	for n := range 5 {
		h.publish(pub, "deal.won", map[string]any{"n": n})
	}
	if _, err := rec.WaitFor(testenv.Context(t), 150); err != nil {
		t.Fatalf("deliveries: %v (%d received)", err, rec.Count())
	}
	var page struct {
		Data []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"data"`
	}
	testenv.Eventually(t, 10*time.Second, "the delivery log to show the 50 deliveries of a webhook", func() bool {
		h.do("GET", "/v1/webhooks/"+ids[1]+"/deliveries?limit=100", admin, nil).must(t, 200).json(t, &page)
		ok := 0
		for _, d := range page.Data {
			if d.Status == "succeeded" {
				ok++
			}
		}
		return ok == 50
	})
	h.do("GET", "/v1/deliveries/"+page.Data[0].ID, admin, nil).must(t, 200)

	// Pause: events are held; resume: they are delivered.
	h.do("POST", "/v1/webhooks/"+ids[2]+"/pause", admin, nil).must(t, 200)
	before := rec.Count()
	a := h.publish(pub, "deal.won", map[string]any{"n": 100})
	if a.Held != 10 || a.Deliveries != 20 {
		t.Fatalf("publish while one webhook is paused: %+v, want 20 deliveries and 10 held", a)
	}
	if _, err := rec.WaitFor(testenv.Context(t), before+20); err != nil {
		t.Fatal(err)
	}
	if got := h.webhook(admin, ids[2]).HeldEvents; got != 10 {
		t.Fatalf("paused webhook holds %d events, want 10", got)
	}
	h.do("POST", "/v1/webhooks/"+ids[2]+"/resume", admin, nil).must(t, 200)
	if _, err := rec.WaitFor(testenv.Context(t), before+30); err != nil {
		t.Fatalf("held events after resume: %v", err)
	}

	// Idempotency: the same key, the same answer (and no second delivery).
	body := `{"type": "deal.lost", "data": {"n": 7}}`
	var first, again publishAnswer
	h.do("POST", "/v1/events", pub, body, "Idempotency-Key", "k-cluster").must(t, 202).json(t, &first)
	h.do("POST", "/v1/events", pub, body, "Idempotency-Key", "k-cluster").must(t, 202).json(t, &again)
	if first.ID == "" || again != first {
		t.Fatalf("the same Idempotency-Key answered %+v then %+v", first, again)
	}
	if _, err := rec.WaitFor(testenv.Context(t), before+60); err != nil {
		t.Fatal(err)
	}

	// Incoming webhooks: a proxied call, then rotation and deletion.
	var in incomingHook
	h.do("POST", "/v1/incoming-webhooks", admin, map[string]any{"name": "Zapier", "scopes": []string{"crm"}, "enabled": true}).
		must(t, 201).json(t, &in)
	path := in.URL[len(h.cfg.Server.PublicURL):]
	h.do("GET", path+"/crm/v1/leads", "", nil).must(t, 201)
	if n := len(crm.Calls()); n != 1 {
		t.Fatalf("the upstream got %d calls, want 1", n)
	}
	var rotated incomingHook
	h.do("POST", "/v1/incoming-webhooks/"+in.ID+"/rotate", admin, nil).must(t, 200).json(t, &rotated)
	mustDenied(t, "the old token after rotation", h.do("GET", path+"/crm/v1/leads", "", nil))
	newPath := rotated.URL[len(h.cfg.Server.PublicURL):]
	h.do("GET", newPath+"/crm/v1/leads", "", nil).must(t, 201)
	h.do("GET", "/v1/incoming-webhooks/"+in.ID+"/requests", admin, nil).must(t, 200)
	h.do("DELETE", "/v1/incoming-webhooks/"+in.ID, admin, nil).must(t, 204)
	mustDenied(t, "the token of a deleted incoming webhook", h.do("GET", newPath+"/crm/v1/leads", "", nil))

	// Deleting a webhook (its counters with it, which on a Cluster carry
	// the webhook's hash tag).
	ctx := context.Background()
	rdb := cl.Client()
	stats := store.StatsKey(rdb, h.cfg.Redis.Prefix, ids[0])
	if !strings.Contains(stats, "{"+ids[0]+"}") || rdb.Exists(ctx, stats).Val() != 1 {
		t.Fatalf("the webhook's counters are not at %s", stats)
	}
	h.do("DELETE", "/v1/webhooks/"+ids[0], admin, nil).must(t, 204)
	h.do("GET", "/v1/webhooks/"+ids[0], admin, nil).must(t, 404)
	h.do("GET", "/v1/webhooks", admin, nil).must(t, 200).json(t, &list)
	if len(list.Data) != 2 {
		t.Fatalf("list after a delete: %+v", list.Data)
	}
	if rdb.Exists(ctx, stats).Val() != 0 {
		t.Fatal("the deleted webhook's counters are left")
	}
	// Each master processed a share of the deliveries: the shard whose
	// slot it holds has a processed counter above zero there.
	for i := range cl.Addrs {
		node, got := cl.Node(i), int64(0)
		for _, q := range app.QueueNames(h.cfg) {
			n, _ := node.Get(ctx, "asynq:{"+q+"}:processed").Int64() // MOVED (another master's) or nil: 0
			got += n
		}
		if got == 0 {
			t.Errorf("master %s processed no delivery", cl.Addrs[i])
		}
		t.Logf("master %s processed %d tasks", cl.Addrs[i], got)
	}
	if strings.Contains(h.logs.String(), `"level":"ERROR"`) {
		t.Errorf("hookgate logged errors:\n%s", h.logs)
	}
}
