package app_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/testenv"
)

// documentedACL returns the words of docs/redis.md's ACL SETUSER command for
// prefix and password, without redis-cli.
func documentedACL(t *testing.T, prefix, password string) []any {
	t.Helper()
	for _, line := range docCommands(t, "../docs/redis.md") {
		words := shellWords(line, map[string]string{"PREFIX": prefix, "REDIS_PASSWORD": password})
		if len(words) > 3 && words[0] == "redis-cli" && words[1] == "ACL" && words[2] == "SETUSER" {
			args := make([]any, len(words)-1)
			for i, w := range words[1:] {
				args[i] = w
			}
			return args
		}
	}
	t.Fatal("docs/redis.md has no redis-cli ACL SETUSER command")
	return nil
}

// TestRedisKeysStayWithinTheDocumentedLayout runs hookgate on a Redis of its
// own, as a user restricted by the ACL docs/redis.md gives, through
// publishing and delivering (with an idempotency key, a retried failure, a
// pause that holds an event), a test send, an incoming webhook call and a
// metrics scrape. Redis refuses nothing (the ACL is enough), and every key
// in the keyspace is one of the documented ones: hookgate's under the
// prefix, asynq's as listed. A new key outside that layout fails the test.
func TestRedisKeysStayWithinTheDocumentedLayout(t *testing.T) {
	r := testenv.StartRedisServer(t, "")
	ctx := context.Background()
	root := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer root.Close()
	var prefix string
	e := startIncoming(t, func(c *config.Config) {
		prefix = c.Redis.Prefix
		if err := root.Do(ctx, documentedACL(t, prefix, "keys-test-password")...).Err(); err != nil {
			t.Fatalf("ACL SETUSER from docs/redis.md: %v", err)
		}
		c.Redis.Addr, c.Redis.Username, c.Redis.Password = r.Addr, "hookgate-"+prefix, "keys-test-password"
	})
	// The harness deletes its keys as the default user; the server is ours.

	ok := receiver.NewRecorder()
	bad := receiver.NewRecorder()
	bad.SetStatus(503)
	sOK, sBad := httptest.NewServer(ok), httptest.NewServer(bad)
	defer sOK.Close()
	defer sBad.Close()
	admin, pub := e.token("acme", "admin"), e.token("acme", "publisher")
	wOK := e.createWebhook(admin, map[string]any{"name": "ok", "endpoints": endpoints(sOK.URL), "events": []string{"deal.won"}})
	wBad := e.createWebhook(admin, map[string]any{"name": "bad", "endpoints": endpoints(sBad.URL), "events": []string{"deal.won"}})
	ev := map[string]any{"type": "deal.won", "data": map[string]any{"id": 1}}
	e.do("POST", "/v1/events", pub, ev, "Idempotency-Key", "k1").must(t, 202)
	e.do("POST", "/v1/events", pub, ev, "Idempotency-Key", "k1").must(t, 202)
	testenv.Eventually(t, 10*time.Second, "the delivery and the failure after its retries", func() bool {
		return ok.Count() == 1 && len(e.deliveries(admin, wBad.ID, "?status=failed")) == 1
	})
	e.do("POST", "/v1/webhooks/"+wOK.ID+"/pause", admin, nil).must(t, 200)
	if a := e.publish(pub, "deal.won", map[string]any{"id": 2}); a.Held != 1 {
		t.Fatalf("publish while paused answered %+v, want one held", a)
	}
	e.do("POST", "/v1/webhooks/"+wOK.ID+"/resume", admin, nil).must(t, 200)
	testenv.Eventually(t, 10*time.Second, "the held event delivered on resume", func() bool { return ok.Count() == 2 })
	e.do("POST", "/v1/webhooks/"+wOK.ID+"/rotate-secret", admin, map[string]any{}).must(t, 200)
	e.do("POST", "/v1/webhooks/"+wOK.ID+"/test", admin, nil).must(t, 200)
	in := e.create(admin, map[string]any{"name": "zap", "scopes": []string{"crm"}})
	e.do("GET", e.path(in)+"/crm/v1/entities/leads", "", nil).must(t, 201)
	testenv.Eventually(t, 5*time.Second, "the incoming call in its request log", func() bool {
		return strings.Contains(string(e.do("GET", "/v1/incoming-webhooks/"+in.ID+"/requests", admin, nil).must(t, 200).Body), "/crm/v1/entities/leads")
	})
	if m := e.do("GET", "/metrics", "", nil).must(t, 200); !strings.Contains(string(m.Body), "hookgate_queue_depth") {
		t.Fatal("no queue depth in /metrics")
	}

	// Refused commands, had the documented ACL been too narrow.
	denied, err := root.Do(ctx, "ACL", "LOG").Slice()
	if err != nil {
		t.Fatal(err)
	}
	if len(denied) > 0 {
		t.Errorf("Redis refused %d commands of the documented ACL user: %v", len(denied), denied)
	}
	for _, line := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(line, "NOPERM") {
			t.Errorf("hookgate logged a refused command: %s", line)
		}
	}

	patterns := testenv.DocumentedKeys(t, "../docs/redis.md", prefix)
	seen := map[string]int{}
	iter := root.Scan(ctx, 0, "*", 1000).Iterator()
	n := 0
	for iter.Next(ctx) {
		key := iter.Val()
		n++
		matched := ""
		for p, re := range patterns {
			if re.MatchString(key) {
				matched = p
				break
			}
		}
		if matched == "" {
			t.Errorf("key %q is not in docs/redis.md's layout", key)
		}
		seen[matched]++
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d keys: %v", n, seen)
	// The run did write both kinds: a layout that matched nothing would
	// prove nothing.
	for _, p := range []string{"<prefix>:t:{<namespace>}:wh:<id>", "<prefix>:dlv:{<webhook>}:<delivery>", "<prefix>:in:{<hash>}:route",
		"asynq:{<prefix>}:*", "asynq:queues", "asynq:servers", "asynq:workers"} {
		if seen[p] == 0 {
			t.Errorf("no key matched %s", p)
		}
	}
}
