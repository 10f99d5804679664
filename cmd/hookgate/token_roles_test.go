package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/auth"
	"github.com/hookgate/hookgate/config"
)

// TestTokenRolesAcceptThePermissionNamesTheServerGrants: `hookgate token
// --roles outbound_webhooks` (seed 003's permission, a value of auth.roles
// in the shipped config.yaml) mints a token the server verifies as admin;
// a name that grants nothing is refused with the names that do.
func TestTokenRolesAcceptThePermissionNamesTheServerGrants(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run([]string{"token", "--config", "../../config.yaml", "--tenant", "acme", "--roles", "outbound_webhooks"}, &out, &errOut); err != nil {
		t.Fatalf("token --roles outbound_webhooks: %v (%s)", err, errOut.String())
	}
	cfg, err := config.Load("../../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(cfg.Auth)
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(context.Background(), strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Roles, []string{"admin"}) {
		t.Fatalf("roles %v, want admin", p.Roles)
	}
	out.Reset()
	err = run([]string{"token", "--config", "../../config.yaml", "--tenant", "acme", "--roles", "superuser"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "outbound_webhooks") || out.Len() != 0 {
		t.Fatalf("token --roles superuser: %v, printed %q", err, out.String())
	}
}
