package ownertoken

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeKey(t *testing.T, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOwnerTokensVerifyAgainstTheirJWKS(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	edDER, _ := x509.MarshalPKCS8PrivateKey(GenerateKey())
	rsaPKCS8, _ := x509.MarshalPKCS8PrivateKey(rk)
	for _, tt := range []struct {
		name, typ string
		der       []byte
		alg       string
	}{
		{"ed25519 pkcs8", "PRIVATE KEY", edDER, "EdDSA"},
		{"rsa pkcs8", "PRIVATE KEY", rsaPKCS8, "RS256"},
		{"rsa pkcs1", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rk), "RS256"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			key, err := LoadKey(writeKey(t, tt.typ, tt.der))
			if err != nil {
				t.Fatal(err)
			}
			s, err := New(key, Options{Issuer: "https://hooks.example.com", Audience: "crm", TTL: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if s.Algorithm() != tt.alg {
				t.Fatalf("alg %s, want %s", s.Algorithm(), tt.alg)
			}
			o := Owner{Subject: "user-7", Tenant: "acme", Scopes: []string{"crm", "tasks"}, WebhookID: "in_1"}
			tok, err := s.Token(o)
			if err != nil {
				t.Fatal(err)
			}
			ks, err := ParseJWKS(s.JWKS())
			if err != nil {
				t.Fatal(err)
			}
			c, err := ks.Verify(tok, "https://hooks.example.com")
			if err != nil {
				t.Fatal(err)
			}
			if c.Subject != "user-7" || c.Tenant != "acme" || c.Scope != "crm tasks" || c.IncomingWebhookID != "in_1" ||
				len(c.Audience) != 1 || c.Audience[0] != "crm" {
				t.Fatalf("claims %+v", c)
			}
			if d := c.ExpiresAt.Sub(c.IssuedAt.Time); d != time.Minute {
				t.Fatalf("lifetime %s, want 1m", d)
			}
			if _, err := ks.Verify(tok, "https://other"); err == nil {
				t.Fatal("wrong issuer accepted")
			}
			other, _ := New(GenerateKey(), Options{TTL: time.Minute})
			forged, _ := other.Mint(o, time.Now())
			if _, err := ks.Verify(forged, ""); err == nil {
				t.Fatal("token of another key accepted")
			}
		})
	}
}

func TestOwnerTokenIsReusedForHalfItsLife(t *testing.T) {
	s, err := New(GenerateKey(), Options{TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	s.now = func() time.Time { return now }
	o := Owner{Subject: "u", Tenant: "t", Scopes: []string{"crm"}, WebhookID: "in_1"}
	a, _ := s.Token(o)
	now = now.Add(29 * time.Second)
	if b, _ := s.Token(o); b != a {
		t.Fatal("token re-minted before half its life")
	}
	o2 := o
	o2.Scopes = []string{"crm", "tasks"}
	if c, _ := s.Token(o2); c == a {
		t.Fatal("a changed scope reused the old token")
	}
	now = now.Add(2 * time.Second)
	if b, _ := s.Token(o); b == a {
		t.Fatal("token reused past half its life")
	}
}

func TestLoadKeyRefusesWeakOrWrongKeys(t *testing.T) {
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	for name, path := range map[string]string{
		"rsa 1024":   writeKey(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(small)),
		"public key": writeKey(t, "PUBLIC KEY", []byte{1, 2, 3}),
		"missing":    filepath.Join(t.TempDir(), "none.pem"),
	} {
		if _, err := LoadKey(path); err == nil || strings.Contains(err.Error(), "%!") {
			t.Errorf("%s: LoadKey = %v, want a clear error", name, err)
		}
	}
}
