package store_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/store"
	"github.com/hookgate/hookgate/internal/testenv"
)

// On a Redis Cluster of three masters every writer of the store works (no
// script, transaction or multi-key command spans two slots) and writes
// only the keys docs/redis.md lists for a Cluster, a change
// made through one master's connection is heard by a process subscribed
// through another (PUBLISH reaches every node), and the keyspace walks
// see every master.
func TestStoreOnARedisCluster(t *testing.T) {
	cl := testenv.StartRedisCluster(t, 3)
	rdb := cl.Client()
	prefix := testenv.Prefix("hgcl")
	writeEveryKey(t, rdb, prefix)
	doc, err := os.ReadFile(redisDoc)
	if err != nil {
		t.Fatal(err)
	}
	checkKeysDocumented(t, rdb, prefix, string(doc))

	ctx := context.Background()
	writer, err := store.New(rdb, prefix, testKey())
	if err != nil {
		t.Fatal(err)
	}
	// The watcher's own client, so its subscription and the writer's
	// commands do not share connections.
	other := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Addrs[2:]})
	t.Cleanup(func() { other.Close() })
	reader, err := store.New(other, prefix, testKey())
	if err != nil {
		t.Fatal(err)
	}
	w := watch(t, reader)
	// Tenants whose keys fall on different masters.
	for _, tenant := range []string{"t-a", "t-b", "t-c", "t-d", "t-e"} {
		if err := writer.CreateWebhook(ctx, hook(tenant, "cl")); err != nil {
			t.Fatal(err)
		}
		if ns := w.next(t); ns != tenant {
			t.Fatalf("heard %q, want %q", ns, tenant)
		}
		in := &hookgate.IncomingWebhook{Tenant: tenant, Name: "form", Owner: "u1", Scopes: []string{"crm"}, Enabled: true,
			Token: "tok-" + tenant + "-" + strings.Repeat("x", 40)}
		if err := writer.CreateIncoming(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	tenants, err := reader.IncomingTenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"acme", "t-a", "t-b", "t-c", "t-d", "t-e"} {
		if !slices.Contains(tenants, want) {
			t.Errorf("IncomingTenants %v misses %s", tenants, want)
		}
	}
	// Confirmation tokens land in any slot, apart from their webhook's
	// set: saved in two steps, a re-send still spends every one of them.
	ct := store.NewConfirmTokens(rdb, prefix)
	var toks []hookgate.ConfirmToken
	for _, s := range []string{"a", "b", "c", "d", "e", "f"} {
		toks = append(toks, hookgate.ConfirmToken{Token: "confirm-" + s, Namespace: "acme", WebhookID: "wh-c", EndpointID: "ep-" + s, URL: "https://x.example/" + s})
	}
	if err := ct.Save(ctx, "wh-c", toks, time.Now().Add(time.Hour), time.Hour); err != nil {
		t.Fatal(err)
	}
	ct.Spend(ctx, "wh-c", "")
	for _, tok := range toks {
		if state, _, err := ct.Use(ctx, tok.Token, time.Now()); err != nil || state != hookgate.TokenUsed {
			t.Errorf("token %s after the webhook's tokens were spent: %q, %v; want %q", tok.Token, state, err, hookgate.TokenUsed)
		}
	}
	if err := store.DeleteKeys(ctx, rdb, prefix+":"); err != nil {
		t.Fatal(err)
	}
	for i := range cl.Addrs {
		if n := len(cl.Node(i).Keys(ctx, prefix+":*").Val()); n != 0 {
			t.Errorf("DeleteKeys left %d keys on master %d", n, i)
		}
	}
}
