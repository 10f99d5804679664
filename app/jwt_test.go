package app_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
)

// mintRaw signs claims with HS256 and secret, adding exp an hour ahead
// unless claims name it (a nil exp leaves it out).
func mintRaw(t *testing.T, secret string, claims map[string]any) string {
	t.Helper()
	return signRaw(t, jwt.SigningMethodHS256, []byte(secret), "", claims)
}

func signRaw(t *testing.T, m jwt.SigningMethod, key any, kid string, claims map[string]any) string {
	t.Helper()
	mc := jwt.MapClaims{"exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range claims {
		if v == nil {
			delete(mc, k)
			continue
		}
		mc[k] = v
	}
	tok := jwt.NewWithClaims(m, mc)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func writePEM(t *testing.T, dir, name string, pub crypto.PublicKey) (string, []byte) {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, b
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// TestJWTAttacksAreRefusedOverHTTP drives the real app configured the way a
// CRM's identity provider would be (RS256 public key, issuer, audience) and
// sends it the classic forged tokens: each one is a 401 with the error body.
func TestJWTAttacksAreRefusedOverHTTP(t *testing.T) {
	dir := t.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pubPath, pubPEM := writePEM(t, dir, "idp.pem", &key.PublicKey)
	h := start(t, func(c *config.Config) {
		c.Auth.Algorithms = []string{"RS256"}
		c.Auth.PublicKeys = []string{pubPath}
		c.Auth.Issuer = "https://idp.example.com"
		c.Auth.Audience = "hookgate"
		c.Auth.Leeway = 0
	})
	base := func() map[string]any {
		return map[string]any{"sub": "u1", "tenant": "acme", "roles": []string{"admin"},
			"iss": "https://idp.example.com", "aud": "hookgate"}
	}
	with := func(k string, v any) map[string]any {
		c := base()
		c[k] = v
		return c
	}
	without := func(k string) map[string]any {
		c := base()
		delete(c, k)
		return c
	}

	valid := signRaw(t, jwt.SigningMethodRS256, key, "", base())
	h.do("GET", "/v1/webhooks", valid, nil).must(t, 200) // the control: the setup accepts a good token

	parts := strings.Split(valid, ".")
	var payload map[string]any
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	_ = json.Unmarshal(raw, &payload)
	payload["tenant"] = "victim"
	forged, _ := json.Marshal(payload)
	tampered := parts[0] + "." + b64url(forged) + "." + parts[2]

	noneHeader := b64url([]byte(`{"alg":"none","typ":"JWT"}`))
	algNone := noneHeader + "." + parts[1] + "."
	noneLib, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims(base())).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, token, message string
	}{
		{"alg none, empty signature", algNone, "algorithm"},
		{"alg none, library-made", noneLib, "algorithm"},
		{"HS256 signed with the RSA public key (key confusion)", mintRaw(t, string(pubPEM), base()), "algorithm"},
		{"signed by another key", signRaw(t, jwt.SigningMethodRS256, other, "", base()), "signature"},
		{"payload tampered after signing", tampered, "signature"},
		{"expired", signRaw(t, jwt.SigningMethodRS256, key, "", with("exp", time.Now().Add(-time.Minute).Unix())), "expired"},
		{"no exp", signRaw(t, jwt.SigningMethodRS256, key, "", with("exp", nil)), "expiry"},
		{"wrong issuer", signRaw(t, jwt.SigningMethodRS256, key, "", with("iss", "https://evil.example.com")), "issuer"},
		{"no issuer", signRaw(t, jwt.SigningMethodRS256, key, "", without("iss")), "issuer"},
		{"wrong audience", signRaw(t, jwt.SigningMethodRS256, key, "", with("aud", "someone-else")), "audience"},
		{"no tenant", signRaw(t, jwt.SigningMethodRS256, key, "", without("tenant")), "tenant"},
		{"empty tenant", signRaw(t, jwt.SigningMethodRS256, key, "", with("tenant", "")), "tenant"},
		{"system namespace as tenant", signRaw(t, jwt.SigningMethodRS256, key, "", with("tenant", hookgate.SystemTenant)), "tenant"},
		{"no subject", signRaw(t, jwt.SigningMethodRS256, key, "", without("sub")), "subject"},
		{"PS256, not pinned", signRaw(t, jwt.SigningMethodPS256, key, "", base()), "algorithm"},
		{"garbage", "eyJhbGciOi.x.y", "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/v1/webhooks", "/v1/event-types"} {
				r := h.do("GET", path, tc.token, nil)
				e := r.apiErr(t, 401, hookgate.EUNAUTHORIZED)
				if !strings.Contains(e.Error.Message, tc.message) {
					t.Errorf("%s: message %q does not say %q", path, e.Error.Message, tc.message)
				}
				if strings.Contains(string(r.Body), tc.token) {
					t.Errorf("the token is echoed back")
				}
			}
			h.do("POST", "/v1/events", tc.token, map[string]any{"type": "contact.created", "data": map[string]any{}}).
				apiErr(t, 401, hookgate.EUNAUTHORIZED)
		})
	}
}

// TestHS256SecretAndPublicKeysDoNotMix accepts HS256 and RS256 at once: a
// token made with the RSA public key as HMAC secret is still refused, because
// an HS256 token is only ever checked with the HS256 secret.
func TestHS256SecretAndPublicKeysDoNotMix(t *testing.T) {
	dir := t.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pubPath, pubPEM := writePEM(t, dir, "idp.pem", &key.PublicKey)
	h := start(t, func(c *config.Config) {
		c.Auth.Algorithms = []string{"HS256", "RS256"}
		c.Auth.PublicKeys = []string{pubPath}
	})
	claims := map[string]any{"sub": "u", "tenant": "acme", "roles": []string{"admin"}}
	h.do("GET", "/v1/webhooks", signRaw(t, jwt.SigningMethodRS256, key, "", claims), nil).must(t, 200)
	h.do("GET", "/v1/webhooks", h.token("acme", "admin"), nil).must(t, 200)
	e := h.do("GET", "/v1/webhooks", mintRaw(t, string(pubPEM), claims), nil).apiErr(t, 401, hookgate.EUNAUTHORIZED)
	if !strings.Contains(e.Error.Message, "signature") {
		t.Fatalf("message %q", e.Error.Message)
	}
}

// TestIdentityProviderKeysOverHTTP accepts ES256 from a PEM file and EdDSA
// from a JWKS file, with claim names of the provider's choosing.
func TestIdentityProviderKeysOverHTTP(t *testing.T) {
	dir := t.TempDir()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edPub, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecPath, _ := writePEM(t, dir, "ec.pem", &ec.PublicKey)
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]any{
		{"kty": "OKP", "crv": "Ed25519", "kid": "ed-1", "x": b64url(edPub)},
	}})
	jwksPath := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(jwksPath, jwks, 0o600); err != nil {
		t.Fatal(err)
	}
	h := start(t, func(c *config.Config) {
		c.Auth.Algorithms = []string{"ES256", "EdDSA"}
		c.Auth.PublicKeys = []string{ecPath}
		c.Auth.JWKSFile = jwksPath
		c.Auth.SubjectClaim = "user_id"
		c.Auth.TenantClaim = "org"
		c.Auth.RolesClaim = "permissions"
	})
	claims := map[string]any{"user_id": "u", "org": "acme", "permissions": []string{"outbound_webhooks"}}
	es := signRaw(t, jwt.SigningMethodES256, ec, "", claims)
	ed := signRaw(t, jwt.SigningMethodEdDSA, edKey, "ed-1", claims)
	w := h.createWebhook(es, hook("via-es256"))
	var got hookgate.Webhook
	h.do("GET", "/v1/webhooks/"+w.ID, ed, nil).must(t, 200).json(t, &got)
	if got.Tenant != "acme" || got.Owner != "u" {
		t.Fatalf("claims not read from the configured names: %+v", got)
	}
	// The default claim names mean nothing here.
	h.do("GET", "/v1/webhooks", signRaw(t, jwt.SigningMethodES256, ec, "", map[string]any{"sub": "u", "tenant": "acme", "roles": []string{"admin"}}), nil).
		apiErr(t, 401, hookgate.EUNAUTHORIZED)
	// An unknown kid is refused even with a valid signature by a known key.
	h.do("GET", "/v1/webhooks", signRaw(t, jwt.SigningMethodEdDSA, edKey, "ed-2", claims), nil).apiErr(t, 401, hookgate.EUNAUTHORIZED)
}
