package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/store"
	"github.com/hookgate/hookgate/internal/testenv"
)

func TestLoginCodeSignsInOnce(t *testing.T) {
	rdb, prefix := loginRedis(t)
	codes := store.NewLoginCodes(rdb, prefix)
	ctx := context.Background()
	code, err := codes.Issue(ctx, "the.jwt.token", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	// Redis holds neither the code nor the token in clear.
	keys, _ := rdb.Keys(ctx, prefix+":login:*").Result()
	if len(keys) != 1 {
		t.Fatalf("keys %v", keys)
	}
	if v, _ := rdb.Get(ctx, keys[0]).Result(); v == "" || strings.Contains(v, "the.jwt.token") || strings.Contains(keys[0], code) {
		t.Fatal("the login code or token is stored in clear")
	}
	tok, err := codes.Take(ctx, code)
	if err != nil || tok != "the.jwt.token" {
		t.Fatalf("take: %q, %v", tok, err)
	}
	for _, c := range []string{code, "short", code[:42] + "A", ""} {
		if _, err := codes.Take(ctx, c); hookgate.ErrorCode(err) != hookgate.EUNAUTHORIZED {
			t.Fatalf("take %q again: %v, want EUNAUTHORIZED", c, err)
		}
	}
}

func TestLoginCodeExpiresWithItsTTL(t *testing.T) {
	rdb, prefix := loginRedis(t)
	codes := store.NewLoginCodes(rdb, prefix)
	ctx := context.Background()
	if _, err := codes.Issue(ctx, "tok", 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	keys, _ := rdb.Keys(ctx, prefix+":login:*").Result()
	if len(keys) != 1 {
		t.Fatalf("keys %v", keys)
	}
	if ttl := rdb.TTL(ctx, keys[0]).Val(); ttl <= 0 || ttl > 10*time.Minute {
		t.Fatalf("login code TTL %s, want (0, 10m]", ttl)
	}
}

func loginRedis(t *testing.T) (*redis.Client, string) {
	rdb := testenv.Redis(t)
	return rdb, testenv.KeyPrefix(t, rdb, "hgstore")
}

// With Redis unreachable, no code is called unknown: every shape of code is
// EUNAVAILABLE, the answer Redis being down gets everywhere.
func TestLoginCodeTakeWithRedisDownIsUnavailable(t *testing.T) {
	addr := testenv.FreeAddr(t) // nothing listens there now
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer rdb.Close()
	codes := store.NewLoginCodes(rdb, "hookgate-test-down")
	for _, c := range []string{strings.Repeat("A", 43), "short", strings.Repeat("A", 44), "", "\x00"} {
		if _, err := codes.Take(context.Background(), c); hookgate.ErrorCode(err) != hookgate.EUNAVAILABLE {
			t.Errorf("take %q with Redis down: %v, want EUNAVAILABLE", c, err)
		}
	}
}
