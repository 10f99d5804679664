package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/store"
	"github.com/hookgate/hookgate/internal/testenv"
)

const redisDoc = "../../docs/redis.md"

// keyLiteral matches a Go string literal that names a part of a key: a
// colon-separated segment such as ":dlv:{" or "}:route".
var keyLiteral = regexp.MustCompile(`"(\}?:[a-z_]+(?::[a-z_]+)*:?\{?)"`)

// notKeys are the literals of that shape in the store's code that are not
// part of a key, with where they go instead.
var notKeys = map[string]string{
	":h":     "held item task ids (<delivery>:h<seq>)",
	":token": "the associated data sealing an incoming webhook's token",
}

// TestEveryStoreKeyIsDocumented holds docs/redis.md's table of hookgate's
// keys true in three ways:
//
//   - every key-name literal in the store's code appears in a documented
//     key or channel (a new kind of key, even one no test writes yet);
//   - every writer of the store run once on a fresh prefix leaves only keys
//     that match a documented pattern;
//   - and every documented pattern of hookgate's is matched by one of those
//     keys (no stale row, and no writer forgotten here).
func TestEveryStoreKeyIsDocumented(t *testing.T) {
	doc, err := os.ReadFile(redisDoc)
	if err != nil {
		t.Fatal(err)
	}
	sources, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	keyDoc := docKeysAndChannels(t, string(doc))
	for _, f := range sources {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range keyLiteral.FindAllStringSubmatch(string(src), -1) {
			lit := m[1]
			if _, ok := notKeys[lit]; ok {
				continue
			}
			if !strings.Contains(keyDoc, lit) {
				t.Errorf("%s: key part %q is in no key or channel of docs/redis.md's tables", f, lit)
			}
		}
	}

	rdb := testenv.Redis(t)
	prefix := testenv.KeyPrefix(t, rdb, "hgkeys")
	writeEveryKey(t, rdb, prefix)
	checkKeysDocumented(t, rdb, prefix, string(doc))
}

// checkKeysDocumented fails the test on a key under prefix that matches no
// row of docs/redis.md's tables, and on a row of hookgate's keys that no
// key matched (rows only one kind of server has, Redis Cluster or one
// Redis, are checked on that kind only).
func checkKeysDocumented(t *testing.T, rdb store.Client, prefix, doc string) {
	t.Helper()
	cluster := store.Clustered(rdb)
	patterns := testenv.DocumentedKeys(t, redisDoc, prefix)
	ours := map[string]int{}
	for p := range patterns {
		if strings.HasPrefix(p, "<prefix>:") {
			ours[p] = 0
		}
	}
	skip := map[string]bool{}
	for _, line := range strings.Split(doc, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 {
			continue
		}
		p := strings.Trim(strings.TrimSpace(cells[1]), "`")
		clusterOnly := strings.Contains(line, "Redis Cluster only")
		oneRedisOnly := strings.Contains(line, "on a Redis Cluster the key is the next row's")
		if _, ok := ours[p]; ok && (clusterOnly && !cluster || oneRedisOnly && cluster) {
			skip[p] = true
		}
	}
	ctx := context.Background()
	var keys []string
	var mu sync.Mutex
	scanAll := func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, prefix+":*", 1000).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			keys = append(keys, iter.Val())
			mu.Unlock()
		}
		return iter.Err()
	}
	var err error
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, scanAll) // every master's keys
	} else {
		err = scanAll(ctx, rdb.(*redis.Client))
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range keys {
		// A key counts for the most specific row it matches (the most
		// literal text): wh:by_name, not wh:<id>.
		best := ""
		for p := range ours {
			if patterns[p].MatchString(key) && (best == "" || literal(p) > literal(best)) {
				best = p
			}
		}
		if best == "" {
			t.Errorf("key %q is in no row of docs/redis.md's table", key)
			continue
		}
		ours[best]++
	}
	for p, n := range ours {
		if n == 0 && !skip[p] {
			t.Errorf("no key matched the documented %s: a stale row, or a writer this test does not run", p)
		}
	}
	t.Logf("keys per pattern: %v", ours)
}

// literal is how much of a documented pattern is literal text.
func literal(pattern string) int {
	return len(regexp.MustCompile(`<[^>]+>|\*`).ReplaceAllString(pattern, ""))
}

// docKeysAndChannels returns the first cells of the tables of docs/redis.md's
// "## Keys" section and of the channel table (the one of the next section
// whose first cells are in backquotes): the key and channel patterns.
func docKeysAndChannels(t *testing.T, doc string) string {
	t.Helper()
	var b strings.Builder
	section := ""
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "## ") {
			section = strings.TrimSpace(line)
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 3 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		if section == "## Keys" || section == "## Scripts and Pub/Sub channels" {
			b.WriteString(strings.TrimSpace(cells[1]) + "\n")
		}
	}
	if b.Len() == 0 {
		t.Fatal("docs/redis.md has no table of keys")
	}
	return b.String()
}

// writeEveryKey runs every writer of the store once, so that each kind of
// key it writes exists under prefix.
func writeEveryKey(t *testing.T, rdb store.Client, prefix string) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	s, err := store.New(rdb, prefix, testKey())
	must(err)

	// Webhooks: records, indexes, tenants, counters.
	w := hook("acme", "keys")
	must(s.CreateWebhook(ctx, w))
	must(s.ResetConsecutiveFailures(ctx, w.ID))

	// The marker a replica wait writes (no replica to wait for here).
	must(store.NewReplicas(rdb, prefix, 0, time.Second).Wait(ctx))

	// The delivery log and its aggregates: a finished delivery.
	log := store.NewDeliveryLog(rdb, prefix, 200, 24*time.Hour)
	now := time.Now()
	_, err = log.Write(ctx, []hookgate.LogRecord{{
		Delivery: &hookgate.DeliveryRecord{Namespace: "acme", Delivery: hookgate.Delivery{ID: "dl_1", WebhookID: w.ID, Tenant: "acme",
			EventType: "contact.created", CreatedAt: now, StatusCode: 200, Status: hookgate.DeliverySucceeded}},
		Attempt: &hookgate.Attempt{N: 1, StatusCode: 200, At: now}, Counted: true, Streak: hookgate.StreakReset,
	}})
	must(err)

	// Held events, for the webhook and for one endpoint, past the cap
	// (dropped), and a release cut short by the queue (releasing lists).
	held := store.NewHeld(rdb, prefix, 1)
	task := func(id string) *hookgate.Task {
		return &hookgate.Task{ID: id, Namespace: "acme", WebhookID: w.ID, EndpointID: "ep_1",
			Event: hookgate.Event{ID: "evt_" + id, Type: "contact.created", Tenant: "acme", Data: []byte(`{}`)}}
	}
	_, err = held.Hold(ctx, "acme", w.ID, []*hookgate.Task{task("dl_h1"), task("dl_h2"), task("dl_h3")})
	must(err)
	_, err = held.HoldEndpoint(ctx, "acme", w.ID, "ep_1", []*hookgate.Task{task("dl_e1"), task("dl_e2")})
	must(err)
	down := func(context.Context, *hookgate.HeldItem) error { return errors.New("queue down") }
	if _, err := held.Release(ctx, w.ID, down); err == nil {
		t.Fatal("release with the queue down succeeded")
	}
	if _, err := held.ReleaseEndpoint(ctx, w.ID, "ep_1", down); err == nil {
		t.Fatal("endpoint release with the queue down succeeded")
	}
	_, err = held.Hold(ctx, "acme", w.ID, []*hookgate.Task{task("dl_h4")}) // the list again beside its releasing list
	must(err)
	_, err = held.HoldEndpoint(ctx, "acme", w.ID, "ep_1", []*hookgate.Task{task("dl_e3")})
	must(err)

	// Confirmation tokens, idempotency keys, login codes.
	must(store.NewConfirmTokens(rdb, prefix).Save(ctx, w.ID, []hookgate.ConfirmToken{{Token: hookgate.NewToken(), Namespace: "acme",
		WebhookID: w.ID, EndpointID: "ep_1", URL: "https://example.com/hook"}}, now.Add(time.Hour), time.Hour))
	_, err = store.NewIdempotency(rdb, prefix, time.Hour).Claim(ctx, "acme", []hookgate.IdempotencyClaim{{Key: "k1", State: hookgate.ClaimPending,
		Digest: strings.Repeat("0", 32), Record: []byte(`{}`)}})
	must(err)
	_, err = store.NewLoginCodes(rdb, prefix).Issue(ctx, "a-token", time.Minute)
	must(err)

	// An endpoint rate limit with a delivery that must wait (a reservation).
	lim := store.NewRateLimiter(rdb, prefix)
	for _, d := range []string{"dl_r1", "dl_r2"} {
		_, err := lim.Reserve(ctx, "ep_1", d, 1, 0)
		must(err)
	}

	// An endpoint's in-flight bound: a place held, and a delivery parked.
	inf := store.NewInFlight(rdb, prefix)
	_, _, _, err = inf.Acquire(ctx, "ep_1", "lease_1", 1, time.Minute, "", false)
	must(err)
	_, _, _, err = inf.Acquire(ctx, "ep_1", "lease_2", 1, time.Minute, "q\x00dl_p1", true)
	must(err)
	// ... and, on another endpoint, one woken by a release, on its way to
	// the freed place.
	_, _, _, err = inf.Acquire(ctx, "ep_2", "lease_3", 1, time.Minute, "", false)
	must(err)
	_, _, _, err = inf.Acquire(ctx, "ep_2", "lease_4", 1, time.Minute, "q\x00dl_p2", true)
	must(err)
	_, _, err = inf.Release(ctx, "ep_2", "lease_3", 1, 1)
	must(err)

	// Incoming webhooks: record, ids, route, a call's bucket, the request log.
	in := &hookgate.IncomingWebhook{Tenant: "acme", Name: "form", Owner: "u1", Scopes: []string{"crm"}, Enabled: true,
		Token: "tok-keys-" + strings.Repeat("x", 35)}
	must(s.CreateIncoming(ctx, in))
	_, _, _, err = s.Lookup(ctx, in.Token, 1, 1)
	must(err)
	must(s.AppendIncomingLog(ctx, []hookgate.IncomingLogEntry{{Tenant: "acme", ID: in.ID,
		Entry: hookgate.IncomingRequestLog{Method: "GET", Path: "/crm/v1/leads", Status: 200}}}, 10))
}
