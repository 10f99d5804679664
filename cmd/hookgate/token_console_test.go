package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/auth"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/store"
	"github.com/hookgate/hookgate/internal/testenv"
)

// TestTokenConsolePrintsAOneTimeLoginLink runs `hookgate token --console`
// against real Redis: it prints {public_url}/console/#login=<code>, and the
// code redeems once for an admin token of the tenant.
func TestTokenConsolePrintsAOneTimeLoginLink(t *testing.T) {
	rdb := testenv.Redis(t)
	prefix := testenv.KeyPrefix(t, rdb, "hgtoken")
	t.Setenv("HOOKGATE_REDIS_ADDR", testenv.RedisAddr())
	t.Setenv("HOOKGATE_REDIS_PREFIX", prefix)
	t.Setenv("HOOKGATE_SERVER_PUBLIC_URL", "https://hooks.example.com/")

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

// TestTokenConsoleMintsThroughTheRunningServer: `hookgate token --console`
// asks the hookgate at server.public_url to mint the link, so a shell whose
// Redis prefix differs from the server's still gets a link that signs in
// (it used to be stored under the shell's prefix, where the server never
// looks); a shell whose auth secret differs is refused with a message that
// names the settings to compare.
func TestTokenConsoleMintsThroughTheRunningServer(t *testing.T) {
	path, addr, _, prefix := serveConfig(t, "")
	defer startServe(t, addr, io.Discard, "serve", "--config", path)()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, from, to string) string {
		if !strings.Contains(string(raw), from) {
			t.Fatalf("config has no %q", from)
		}
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, []byte(strings.ReplaceAll(string(raw), from, to)), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	// Another Redis prefix in the shell: the link still works.
	other := write("other-prefix.yaml", "prefix: "+prefix, "prefix: elsewhere"+prefix)
	var out, errOut bytes.Buffer
	if err := run([]string{"token", "--config", other, "--tenant", "acme", "--sub", "ada", "--console"}, &out, &errOut); err != nil {
		t.Fatalf("token --console: %v\n%s", err, errOut.String())
	}
	link := strings.TrimSpace(out.String())
	code, ok := strings.CutPrefix(link, "http://"+addr+"/console/#login=")
	if !ok {
		t.Fatalf("printed %q", link)
	}
	status, body := call(t, "POST", "http://"+addr+"/v1/console/login", "", `{"code":"`+code+`"}`)
	if status != 200 || !strings.Contains(body, `"token"`) {
		t.Fatalf("the link minted through the server does not sign in: %d %s", status, body)
	}

	// Another auth secret in the shell: refused, naming the settings.
	secret := write("other-secret.yaml", config.DevHS256Secret, "another-secret-of-at-least-32-characters-0123")
	out.Reset()
	errOut.Reset()
	err = run([]string{"token", "--config", secret, "--tenant", "acme", "--console"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "auth.hs256_secret") || !strings.Contains(err.Error(), "HOOKGATE_AUTH_HS256_SECRET") || out.Len() != 0 {
		t.Fatalf("a shell with another secret: err %v, printed %q", err, out.String())
	}
}
