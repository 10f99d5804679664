package store_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hookgate/hookgate"
)

func TestIncomingLookupRateLimitAndRotation(t *testing.T) {
	s, rdb, prefix := newStore(t)
	ctx := context.Background()
	w := &hookgate.IncomingWebhook{Tenant: "acme", Name: "form", Owner: "u1", Scopes: []string{"crm"}, Enabled: true, Token: "tok-one-" + strings.Repeat("x", 35)}
	if err := s.CreateIncoming(ctx, w); err != nil {
		t.Fatal(err)
	}
	route, ok, _, err := s.Lookup(ctx, w.Token, 0.001, 2)
	if err != nil || route == nil || !ok || route.ID != w.ID || route.Owner != "u1" || route.Tenant != "acme" {
		t.Fatalf("lookup: %+v %v %v", route, ok, err)
	}
	if _, ok, _, _ = s.Lookup(ctx, w.Token, 0.001, 2); !ok {
		t.Fatal("second request within a burst of 2 refused")
	}
	_, ok, wait, err := s.Lookup(ctx, w.Token, 0.001, 2)
	if err != nil || ok || wait <= 0 {
		t.Fatalf("third request: allowed %v, wait %s, %v; want refused with a wait", ok, wait, err)
	}
	// An unknown token has a bucket of its own, spent the same way, so the
	// rate limit does not tell which tokens exist; it expires once full.
	for i, want := range []bool{true, true, false} {
		r, ok, wait, err := s.Lookup(ctx, "no-such-token", 0.001, 2)
		if r != nil || err != nil || ok != want || (!ok && wait <= 0) {
			t.Fatalf("unknown token, call %d: %+v allowed %v wait %s %v; want no route, allowed %v", i+1, r, ok, wait, err, want)
		}
	}
	unknownBucket := prefix + ":in:{" + s.TokenHash("no-such-token") + "}:rl"
	if ttl := rdb.PTTL(ctx, unknownBucket).Val(); ttl <= 0 {
		t.Fatalf("an unknown token's bucket %s has TTL %s; want it to expire", unknownBucket, ttl)
	}

	// The token is sealed at rest; only its keyed hash is a key.
	keys, _ := rdb.Keys(ctx, prefix+":*").Result()
	for _, k := range keys {
		if strings.Contains(k, w.Token) {
			t.Fatalf("key %s holds the token", k)
		}
		if v, err := rdb.Get(ctx, k).Result(); err == nil && strings.Contains(v, w.Token) {
			t.Fatalf("%s holds the token in clear", k)
		}
	}
	got, err := s.FindIncomingByID(ctx, "acme", w.ID)
	if err != nil || got.Token != w.Token {
		t.Fatalf("token not recovered: %v", err)
	}
	if _, err := s.FindIncomingByID(ctx, "globex", w.ID); hookgate.ErrorCode(err) != hookgate.ENOTFOUND {
		t.Fatalf("other tenant: %v", err)
	}

	// Disable: the route says so; the token's bucket is spent all the same
	// (it was spent above), as for any token.
	got.Enabled = false
	if err := s.UpdateIncoming(ctx, got, ""); err != nil {
		t.Fatal(err)
	}
	if r, ok, _, _ := s.Lookup(ctx, w.Token, 0.001, 2); r == nil || r.Enabled || ok {
		t.Fatalf("disabled: %+v allowed %v; want the disabled route, refused", r, ok)
	}
	// Rotate: the old token is gone at once, the new one has a fresh bucket.
	got.Enabled = true
	if err := s.UpdateIncoming(ctx, got, "tok-two-"+strings.Repeat("y", 35)); err != nil {
		t.Fatal(err)
	}
	if r, _, _, _ := s.Lookup(ctx, w.Token, 1, 1); r != nil {
		t.Fatal("old token still opens the webhook after rotation")
	}
	if r, ok, _, _ := s.Lookup(ctx, "tok-two-"+strings.Repeat("y", 35), 0.001, 2); r == nil || !ok {
		t.Fatal("new token does not open the webhook")
	}
	// Log, then delete: everything goes.
	if err := s.AppendIncomingLog(ctx, []hookgate.IncomingLogEntry{
		{Tenant: "acme", ID: w.ID, Entry: hookgate.IncomingRequestLog{Path: "/a"}},
		{Tenant: "acme", ID: w.ID, Entry: hookgate.IncomingRequestLog{Path: "/b"}},
		{Tenant: "acme", ID: w.ID, Entry: hookgate.IncomingRequestLog{Path: "/c"}},
	}, 2); err != nil {
		t.Fatal(err)
	}
	log, err := s.IncomingLog(ctx, "acme", w.ID, 10)
	if err != nil || len(log) != 2 || log[0].Path != "/c" || log[1].Path != "/b" {
		t.Fatalf("log %+v %v; want /c, /b", log, err)
	}
	if err := s.DeleteIncoming(ctx, "acme", w.ID); err != nil {
		t.Fatal(err)
	}
	if r, _, _, _ := s.Lookup(ctx, "tok-two-"+strings.Repeat("y", 35), 1, 1); r != nil {
		t.Fatal("deleted webhook's token still opens it")
	}
	// Only buckets are left (of the lookups made after the rotation and
	// the deletion, as of any unknown token), each expiring.
	left, _ := rdb.Keys(ctx, prefix+":*in*").Result()
	for _, k := range left {
		if !strings.HasSuffix(k, "}:rl") || rdb.PTTL(ctx, k).Val() <= 0 {
			t.Fatalf("key %s left after delete (all left: %v)", k, left)
		}
	}
}

func TestIncomingConcurrentLookupsSpendTheBucketExactly(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	w := &hookgate.IncomingWebhook{Tenant: "acme", Name: "busy", Owner: "u1", Scopes: []string{"crm"}, Enabled: true, Token: strings.Repeat("z", 43)}
	if err := s.CreateIncoming(ctx, w); err != nil {
		t.Fatal(err)
	}
	const callers, burst = 64, 10
	var wg sync.WaitGroup
	var allowed, refused atomic.Int64
	for range callers {
		wg.Go(func() {
			r, ok, _, err := s.Lookup(ctx, w.Token, 0.001, burst)
			if err != nil || r == nil || r.ID != w.ID {
				t.Errorf("lookup: %+v %v", r, err)
				return
			}
			if ok {
				allowed.Add(1)
			} else {
				refused.Add(1)
			}
		})
	}
	wg.Wait()
	if allowed.Load() != burst || refused.Load() != callers-burst {
		t.Fatalf("allowed %d, refused %d; want %d and %d", allowed.Load(), refused.Load(), burst, callers-burst)
	}
	s.Close()
	if r, ok, _, err := s.Lookup(ctx, w.Token, 0.001, burst); err != nil || r == nil || ok {
		t.Fatalf("after Close: %+v %v %v; want the route, refused", r, ok, err)
	}
}
