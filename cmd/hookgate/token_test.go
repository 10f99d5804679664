package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hookgate/hookgate/auth"
	"github.com/hookgate/hookgate/config"
)

func TestTokenCommandMintsATokenTheServerAccepts(t *testing.T) {
	var out bytes.Buffer
	err := run([]string{"token", "--config", "../../config.yaml", "--tenant", "acme", "--sub", "alice", "--roles", "admin,publisher", "--ttl", "2h"}, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(out.String())
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
	if p.Tenant != "acme" || p.Subject != "alice" || !slices.Equal(p.Roles, []string{"admin", "publisher"}) {
		t.Fatalf("principal %+v", p)
	}
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, claims); err != nil {
		t.Fatal(err)
	}
	exp, _ := claims.GetExpirationTime()
	if d := time.Until(exp.Time); d < 119*time.Minute || d > 121*time.Minute {
		t.Fatalf("--ttl 2h gave a token expiring in %s", d)
	}
}

func TestTokenCommandRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"token", "--config", "../../config.yaml"},                                         // no tenant
		{"token", "--config", "../../config.yaml", "--tenant", "acme", "--roles", "root"},  // unknown role
		{"token", "--config", "../../config.yaml", "--tenant", "_system"},                  // not a tenant id
		{"token", "--config", "../../config.yaml", "--tenant", "acme", "--ttl", "-1h"},     // no lifetime
		{"token", "--config", "../../config.yaml", "--tenant", "acme", "--colour", "blue"}, // unknown flag
	} {
		var out bytes.Buffer
		err := run(args, &out, io.Discard)
		if err == nil || out.Len() != 0 {
			t.Errorf("%v: err %v, printed %q", args[3:], err, out.String())
		}
	}
	var u usageError
	if err := run([]string{"token", "--config", "../../config.yaml"}, io.Discard, io.Discard); !errors.As(err, &u) {
		t.Errorf("a missing --tenant is not a usage error: %v", err)
	}
}
