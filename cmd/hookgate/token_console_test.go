package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate/auth"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/store"
)

// TestTokenConsolePrintsAOneTimeLoginLink runs `hookgate token --console`
// against real Redis: it prints {public_url}/console/#login=<code>, and the
// code redeems once for an admin token of the tenant.
func TestTokenConsolePrintsAOneTimeLoginLink(t *testing.T) {
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "hgtoken" + hex.EncodeToString(b[:])
	t.Setenv("HOOKGATE_REDIS_ADDR", addr)
	t.Setenv("HOOKGATE_REDIS_PREFIX", prefix)
	t.Setenv("HOOKGATE_SERVER_PUBLIC_URL", "https://hooks.example.com/")
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+":*", 100).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
		rdb.Close()
	})

	var out, errOut bytes.Buffer
	if err := run([]string{"token", "--config", "../../config.yaml", "--tenant", "acme", "--sub", "ada", "--console"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	link := strings.TrimSpace(out.String())
	code, ok := strings.CutPrefix(link, "https://hooks.example.com/console/#login=")
	if !ok || len(code) != 43 {
		t.Fatalf("printed %q", link)
	}
	if !strings.Contains(errOut.String(), "works once") {
		t.Fatalf("no explanation on stderr: %q", errOut.String())
	}
	codes := store.NewLoginCodes(rdb, prefix)
	tok, err := codes.Take(context.Background(), code)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load("../../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(cfg.Auth)
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.Tenant != "acme" || p.Subject != "ada" || !p.Has("admin") {
		t.Fatalf("token principal %+v", p)
	}
	if _, err := codes.Take(context.Background(), code); err == nil {
		t.Fatal("the login code worked twice")
	}

	// Without the admin role there is no console link.
	err = run([]string{"token", "--config", "../../config.yaml", "--tenant", "acme", "--roles", "publisher", "--console"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "admin role") {
		t.Fatalf("publisher --console: %v", err)
	}
}
