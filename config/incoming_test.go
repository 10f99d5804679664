package config

import (
	"strings"
	"testing"
	"time"
)

func TestIncomingSectionIsValidated(t *testing.T) {
	ok := Scope{Prefixes: []string{"/crm/"}, Upstream: "http://crm:8080"}
	for _, tc := range []struct {
		name   string
		change func(*Incoming)
		field  string
	}{
		{"ok", func(in *Incoming) {}, ""},
		{"methods", func(in *Incoming) { s := ok; s.Methods = []string{"GET", "POST"}; in.Scopes["crm"] = s }, ""},
		{"lower-case method", func(in *Incoming) { s := ok; s.Methods = []string{"get"}; in.Scopes["crm"] = s }, "incoming.scopes.crm.methods"},
		{"no prefixes", func(in *Incoming) { in.Scopes["crm"] = Scope{Upstream: "http://crm"} }, "incoming.scopes.crm.prefixes"},
		{"prefix without slashes", func(in *Incoming) { in.Scopes["crm"] = Scope{Prefixes: []string{"crm"}, Upstream: "http://crm"} }, "incoming.scopes.crm.prefixes"},
		{"prefix with traversal", func(in *Incoming) { in.Scopes["crm"] = Scope{Prefixes: []string{"/crm/../"}, Upstream: "http://crm"} }, "incoming.scopes.crm.prefixes"},
		{"prefix with escape", func(in *Incoming) { in.Scopes["crm"] = Scope{Prefixes: []string{"/c%72m/"}, Upstream: "http://crm"} }, "incoming.scopes.crm.prefixes"},
		{"upstream not http", func(in *Incoming) { in.Scopes["crm"] = Scope{Prefixes: []string{"/crm/"}, Upstream: "ftp://crm"} }, "incoming.scopes.crm.upstream"},
		{"upstream with query", func(in *Incoming) { in.Scopes["crm"] = Scope{Prefixes: []string{"/crm/"}, Upstream: "http://crm/?a=b"} }, "incoming.scopes.crm.upstream"},
		{"scope name with slash", func(in *Incoming) { in.Scopes["a/b"] = ok }, "incoming.scopes.a/b"},
		{"zero rate", func(in *Incoming) { in.Rate = 0 }, "incoming.rate"},
		{"zero burst", func(in *Incoming) { in.Burst = 0 }, "incoming.burst"},
		{"short ttl", func(in *Incoming) { in.TokenTTL = Duration(time.Second) }, "incoming.token_ttl"},
		{"zero timeout", func(in *Incoming) { in.Timeout = 0 }, "incoming.timeout"},
		{"zero log", func(in *Incoming) { in.LogEntries = 0 }, "incoming.log_entries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			c.Auth.HS256Secret = DevHS256Secret
			c.Store.EncryptionKey = DevEncryptionKey
			c.Incoming.Scopes = map[string]Scope{"crm": ok}
			tc.change(&c.Incoming)
			err := c.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("want an error naming %s, got %v", tc.field, err)
			}
		})
	}
}

func TestShippedConfigHasTheSeedScopes(t *testing.T) {
	c, err := load("../config.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"crm", "tasks", "chats", "activities"} {
		if _, ok := c.Incoming.Scopes[name]; !ok {
			t.Errorf("config.yaml has no %s scope", name)
		}
	}
	if c.Incoming.TokenTTL.D() != 60*time.Second {
		t.Errorf("token_ttl %s", c.Incoming.TokenTTL.D())
	}
	env, err := load("../config.yaml", []string{"HOOKGATE_INCOMING_RATE=2.5", "HOOKGATE_INCOMING_SIGNING_KEY=/k.pem"})
	if err != nil {
		t.Fatal(err)
	}
	if env.Incoming.Rate != 2.5 || env.Incoming.SigningKey != "/k.pem" {
		t.Errorf("environment not read: %+v", env.Incoming)
	}
	found := false
	for _, w := range c.Warnings() {
		found = found || strings.Contains(w, "incoming.signing_key")
	}
	if !found {
		t.Error("no warning for a missing incoming.signing_key")
	}
}
