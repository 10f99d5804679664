package auth_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/auth"
	"github.com/hookgate/hookgate/config"
)

const testSecret = "test-secret-0123456789abcdef-0123456789"

// keys is the key material of one test, generated at test time and written
// into a temporary directory.
type keys struct {
	rsa, rsaOther, rsaJWKS *rsa.PrivateKey
	ec, ecJWKS             *ecdsa.PrivateKey
	ed, edJWKS             ed25519.PrivateKey

	rsaPEM, rsaOtherPEM, ecCertPEM, edPEM string // file paths
	rsaPEMBytes                           []byte
	jwks                                  string // file path
}

func newKeys(t testing.TB) *keys {
	t.Helper()
	dir := t.TempDir()
	k := &keys{
		rsa: mustRSA(t), rsaOther: mustRSA(t), rsaJWKS: mustRSA(t),
		ec: mustEC(t), ecJWKS: mustEC(t),
		ed: mustEd(t), edJWKS: mustEd(t),
	}
	k.rsaPEMBytes = publicPEM(t, &k.rsa.PublicKey)
	k.rsaPEM = writeFile(t, dir, "rsa.pem", k.rsaPEMBytes)
	k.rsaOtherPEM = writeFile(t, dir, "rsa-other.pem", publicPEM(t, &k.rsaOther.PublicKey))
	k.ecCertPEM = writeFile(t, dir, "ec-cert.pem", certPEM(t, k.ec))
	k.edPEM = writeFile(t, dir, "ed.pem", publicPEM(t, k.ed.Public()))

	ecPub, err := k.ecJWKS.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	set := map[string]any{"keys": []map[string]any{
		{"kty": "RSA", "kid": "rsa-1", "use": "sig", "alg": "RS256",
			"n": b64(k.rsaJWKS.N.Bytes()), "e": b64(big.NewInt(int64(k.rsaJWKS.E)).Bytes())},
		{"kty": "EC", "kid": "ec-1", "crv": "P-256", "x": b64(ecPub[1:33]), "y": b64(ecPub[33:])},
		{"kty": "OKP", "kid": "ed-1", "crv": "Ed25519", "x": b64(k.edJWKS.Public().(ed25519.PublicKey))},
		// Skipped: a symmetric key must never become a verification key,
		// and an encryption key is not for signatures.
		{"kty": "oct", "kid": "oct-1", "k": b64([]byte(testSecret))},
		{"kty": "RSA", "kid": "enc-1", "use": "enc",
			"n": b64(k.rsaOther.N.Bytes()), "e": b64(big.NewInt(int64(k.rsaOther.E)).Bytes())},
	}}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	k.jwks = writeFile(t, dir, "jwks.json", b)
	return k
}

func mustRSA(t testing.TB) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustEC(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustEd(t testing.TB) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func publicPEM(t testing.TB, pub crypto.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func certPEM(t testing.TB, key *ecdsa.PrivateKey) []byte {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "issuer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func writeFile(t testing.TB, dir, name string, b []byte) string {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// baseConfig is the default auth configuration with the test secret.
func baseConfig() config.Auth {
	c := config.Default().Auth
	c.HS256Secret = testSecret
	return c
}

// claims returns valid claims for tenant acme, changed by edits.
func claims(edits ...func(jwt.MapClaims)) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{
		"sub": "user-1", "tenant": "acme", "roles": []string{"admin"},
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
	for _, e := range edits {
		e(c)
	}
	return c
}

func set(k string, v any) func(jwt.MapClaims) { return func(c jwt.MapClaims) { c[k] = v } }
func drop(k string) func(jwt.MapClaims)       { return func(c jwt.MapClaims) { delete(c, k) } }

func sign(t testing.TB, m jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unsigned crafts an alg=none token by hand, as an attacker would.
func unsigned(c jwt.MapClaims) string {
	h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
	p, _ := json.Marshal(c)
	enc := base64.RawURLEncoding.EncodeToString
	return enc(h) + "." + enc(p) + "."
}

// tamper replaces the payload of a signed token, keeping its signature.
func tamper(t testing.TB, token string, c jwt.MapClaims) string {
	parts := strings.Split(token, ".")
	p, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString(p)
	return strings.Join(parts, ".")
}

func pins(algs ...string) func(*config.Auth) {
	return func(c *config.Auth) { c.Algorithms = algs }
}

func TestVerifyAcceptsValidTokens(t *testing.T) {
	k := newKeys(t)
	usePEM := func(paths ...string) func(*config.Auth) {
		return func(c *config.Auth) { c.PublicKeys = paths }
	}
	useJWKS := func(c *config.Auth) { c.JWKSFile = k.jwks }
	principal := func(roles ...string) *hookgate.Principal {
		return &hookgate.Principal{Subject: "user-1", Tenant: "acme", Roles: roles}
	}

	tests := []struct {
		name  string
		cfg   []func(*config.Auth)
		token string
		want  *hookgate.Principal
	}{
		{"HS256", nil, sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", claims()), principal("admin")},
		{"RS256 via PEM", []func(*config.Auth){pins("RS256"), usePEM(k.rsaPEM)},
			sign(t, jwt.SigningMethodRS256, k.rsa, "", claims()), principal("admin")},
		{"RS256 via PEM, kid ignored without JWKS", []func(*config.Auth){pins("RS256"), usePEM(k.rsaPEM)},
			sign(t, jwt.SigningMethodRS256, k.rsa, "whatever", claims()), principal("admin")},
		{"RS256 with several PEM keys", []func(*config.Auth){pins("RS256"), usePEM(k.rsaOtherPEM, k.rsaPEM)},
			sign(t, jwt.SigningMethodRS256, k.rsa, "", claims()), principal("admin")},
		{"ES256 via PEM certificate", []func(*config.Auth){pins("ES256"), usePEM(k.ecCertPEM)},
			sign(t, jwt.SigningMethodES256, k.ec, "", claims()), principal("admin")},
		{"EdDSA via PEM", []func(*config.Auth){pins("EdDSA"), usePEM(k.edPEM)},
			sign(t, jwt.SigningMethodEdDSA, k.ed, "", claims()), principal("admin")},
		{"RS256 via JWKS kid", []func(*config.Auth){pins("RS256"), useJWKS},
			sign(t, jwt.SigningMethodRS256, k.rsaJWKS, "rsa-1", claims()), principal("admin")},
		{"ES256 via JWKS kid", []func(*config.Auth){pins("ES256"), useJWKS},
			sign(t, jwt.SigningMethodES256, k.ecJWKS, "ec-1", claims()), principal("admin")},
		{"EdDSA via JWKS kid", []func(*config.Auth){pins("EdDSA"), useJWKS},
			sign(t, jwt.SigningMethodEdDSA, k.edJWKS, "ed-1", claims()), principal("admin")},
		{"RS256 when HS256 is accepted too", []func(*config.Auth){pins("HS256", "RS256"), usePEM(k.rsaPEM)},
			sign(t, jwt.SigningMethodRS256, k.rsa, "", claims()), principal("admin")},
		{"role mapping and dedup", nil,
			sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", claims(set("roles",
				[]string{"outbound_webhooks", "unknown", "admin", "publisher"}))),
			principal("admin", "publisher")},
		{"roles as a string", nil,
			sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", claims(set("roles", "system, publisher outbound_webhooks"))),
			principal("admin", "publisher", "system")},
		{"no roles claim", nil,
			sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", claims(drop("roles"))), principal()},
		{"custom claim names", []func(*config.Auth){func(c *config.Auth) {
			c.SubjectClaim, c.TenantClaim, c.RolesClaim = "uid", "org", "permissions"
		}}, sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", claims(
			set("uid", "user-1"), set("org", "acme"), set("permissions", []string{"outbound_webhooks"}))),
			principal("admin")},
		{"issuer and audience", []func(*config.Auth){func(c *config.Auth) { c.Issuer, c.Audience = "https://idp", "hookgate" }},
			sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", claims(set("iss", "https://idp"), set("aud", []string{"crm", "hookgate"}))),
			principal("admin")},
		{"expired within leeway", nil,
			sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", claims(set("exp", time.Now().Add(-5*time.Second).Unix()))),
			principal("admin")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			for _, f := range tt.cfg {
				f(&cfg)
			}
			v, err := auth.NewVerifier(cfg)
			if err != nil {
				t.Fatalf("NewVerifier: %v", err)
			}
			got, err := v.Verify(context.Background(), tt.token)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got.Subject != tt.want.Subject || got.Tenant != tt.want.Tenant || !slices.Equal(got.Roles, tt.want.Roles) {
				t.Fatalf("principal = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestVerifyRefusesBadTokens(t *testing.T) {
	k := newKeys(t)
	hs := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", c) }
	rsaPinned := func(c *config.Auth) { c.Algorithms, c.PublicKeys = []string{"RS256"}, []string{k.rsaPEM} }
	rsaAndHS := func(c *config.Auth) { c.Algorithms, c.PublicKeys = []string{"HS256", "RS256"}, []string{k.rsaPEM} }
	jwksAll := func(c *config.Auth) { c.Algorithms, c.JWKSFile = []string{"RS256", "ES256", "EdDSA"}, k.jwks }
	issAud := func(c *config.Auth) { c.Issuer, c.Audience = "https://idp", "hookgate" }
	now := time.Now()

	tests := []struct {
		name  string
		cfg   func(*config.Auth)
		token string
		msg   string // the exact message returned
	}{
		{"alg none", nil, unsigned(claims()), "invalid token: algorithm not accepted"},
		{"alg none with RS256 pinned", rsaPinned, unsigned(claims()), "invalid token: algorithm not accepted"},
		{"HS256 signed with the RSA public key, RS256 pinned", rsaPinned,
			sign(t, jwt.SigningMethodHS256, k.rsaPEMBytes, "", claims()), "invalid token: algorithm not accepted"},
		{"HS256 signed with the RSA public key, HS256 and RS256 accepted", rsaAndHS,
			sign(t, jwt.SigningMethodHS256, k.rsaPEMBytes, "", claims()), "invalid token: signature is invalid"},
		{"RS256 token where only HS256 is accepted", nil,
			sign(t, jwt.SigningMethodRS256, k.rsa, "", claims()), "invalid token: algorithm not accepted"},
		{"unknown algorithm", nil, func() string {
			parts := strings.Split(hs(claims()), ".")
			parts[0] = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS1024","typ":"JWT"}`))
			return strings.Join(parts, ".")
		}(), "invalid token: algorithm not accepted"},
		{"expired", nil, hs(claims(set("exp", now.Add(-time.Hour).Unix()))), "token expired"},
		{"not yet valid", nil, hs(claims(set("nbf", now.Add(time.Hour).Unix()))), "token not valid yet"},
		{"issued in the future", nil, hs(claims(set("iat", now.Add(time.Hour).Unix()))), "token issued in the future"},
		{"no exp", nil, hs(claims(drop("exp"))), "token has no expiry"},
		{"exp not a number", nil, hs(claims(set("exp", "tomorrow"))), "invalid token: a registered claim has the wrong type"},
		{"wrong issuer", issAud, hs(claims(set("iss", "https://evil"), set("aud", "hookgate"))), "token has the wrong issuer"},
		{"no issuer", issAud, hs(claims(set("aud", "hookgate"))), "token has no issuer"},
		{"wrong audience", issAud, hs(claims(set("iss", "https://idp"), set("aud", "other"))), "token has the wrong audience"},
		{"no audience", issAud, hs(claims(set("iss", "https://idp"))), "token has no audience"},
		{"tampered payload", nil, tamper(t, hs(claims()), claims(set("tenant", "victim"))), "invalid token: signature is invalid"},
		{"tampered RS256 payload", rsaPinned,
			tamper(t, sign(t, jwt.SigningMethodRS256, k.rsa, "", claims()), claims(set("roles", []string{"system"}))),
			"invalid token: signature is invalid"},
		{"missing tenant", nil, hs(claims(drop("tenant"))), "token has no tenant claim"},
		{"empty tenant", nil, hs(claims(set("tenant", ""))), "token has no tenant claim"},
		{"system tenant", nil, hs(claims(set("tenant", "_system"))), "token tenant claim is malformed"},
		{"tenant with a slash", nil, hs(claims(set("tenant", "a/b"))), "token tenant claim is malformed"},
		{"tenant not a string", nil, hs(claims(set("tenant", 42))), "token tenant claim is malformed"},
		{"missing subject", nil, hs(claims(drop("sub"))), "token has no subject claim"},
		{"subject too long", nil, hs(claims(set("sub", strings.Repeat("u", 257)))), "token subject claim is too long"},
		{"roles a number", nil, hs(claims(set("roles", 7))), "token roles claim must be a list of strings or a string"},
		{"roles with a non-string", nil, hs(claims(set("roles", []any{"admin", 1}))), "token roles claim must be a list of strings or a string"},
		{"unknown kid", jwksAll, sign(t, jwt.SigningMethodRS256, k.rsaJWKS, "nope", claims()), "invalid token: unknown key id"},
		{"kid not a string", jwksAll, func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims())
			tok.Header["kid"] = 5
			s, err := tok.SignedString(k.rsaJWKS)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}(), "invalid token: malformed key id"},
		{"kid of an RSA key on an ES256 token", jwksAll,
			sign(t, jwt.SigningMethodES256, k.ecJWKS, "rsa-1", claims()), "invalid token: no key for its algorithm"},
		{"kid of a skipped symmetric JWK", func(c *config.Auth) { jwksAll(c); c.Algorithms = append(c.Algorithms, "HS256") },
			sign(t, jwt.SigningMethodRS256, k.rsaJWKS, "oct-1", claims()), "invalid token: unknown key id"},
		{"kid of an encryption key", jwksAll, sign(t, jwt.SigningMethodRS256, k.rsaOther, "enc-1", claims()), "invalid token: unknown key id"},
		{"RS256 without kid when only JWKS keys with kids", jwksAll,
			sign(t, jwt.SigningMethodRS256, k.rsaJWKS, "", claims()), "invalid token: no key for its algorithm"},
		{"signed by another RSA key", rsaPinned, sign(t, jwt.SigningMethodRS256, k.rsaOther, "", claims()), "invalid token: signature is invalid"},
		{"signed by another RSA key with a known kid", jwksAll,
			sign(t, jwt.SigningMethodRS256, k.rsaOther, "rsa-1", claims()), "invalid token: signature is invalid"},
		{"HS256 with another secret", nil, sign(t, jwt.SigningMethodHS256, []byte("another-secret-0123456789abcdef-xyz"), "", claims()),
			"invalid token: signature is invalid"},
		{"garbage", nil, "this is not a token", "invalid token: malformed"},
		{"three garbage segments", nil, "a.b.c", "invalid token: malformed"},
		{"bad base64 payload", nil, func() string {
			parts := strings.Split(hs(claims()), ".")
			return parts[0] + ".!!!." + parts[2]
		}(), "invalid token: malformed"},
		{"too long", nil, strings.Repeat("a", 17<<10), "invalid token: too long"},
		{"empty", nil, "", "missing token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			v, err := auth.NewVerifier(cfg)
			if err != nil {
				t.Fatalf("NewVerifier: %v", err)
			}
			p, err := v.Verify(context.Background(), tt.token)
			if err == nil {
				t.Fatalf("Verify accepted the token: %+v", p)
			}
			var herr *hookgate.Error
			if !errors.As(err, &herr) || herr.Code != hookgate.EUNAUTHORIZED {
				t.Fatalf("error = %v, want code %s", err, hookgate.EUNAUTHORIZED)
			}
			if herr.Message != tt.msg {
				t.Errorf("message = %q, want %q", herr.Message, tt.msg)
			}
			for _, part := range strings.Split(tt.token, ".") {
				if len(part) > 8 && strings.Contains(err.Error(), part) {
					t.Errorf("error %q repeats part of the token", err)
				}
			}
		})
	}
}

func TestNewVerifierRefusesBadConfig(t *testing.T) {
	k := newKeys(t)
	dir := t.TempDir()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(k.rsa)
	if err != nil {
		t.Fatal(err)
	}
	privPEM := writeFile(t, dir, "private.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}))
	smallPEM := writeFile(t, dir, "small.pem", publicPEM(t, &small.PublicKey))
	p384PEM := writeFile(t, dir, "p384.pem", publicPEM(t, &p384.PublicKey))
	notPEM := writeFile(t, dir, "not.pem", []byte("hello"))
	jwks := func(name, body string) string { return writeFile(t, dir, name, []byte(body)) }

	tests := []struct {
		name string
		cfg  func(*config.Auth)
		want string // part of the error
	}{
		{"no algorithm", func(c *config.Auth) { c.Algorithms = nil }, "no algorithm"},
		{"unsupported algorithm", func(c *config.Auth) { c.Algorithms = []string{"none"} }, `"none" is not supported`},
		{"HS256 without secret", func(c *config.Auth) { c.HS256Secret = "" }, "hs256_secret is empty"},
		{"RS256 without key", func(c *config.Auth) { c.Algorithms = []string{"RS256"} }, "no RS256 key"},
		{"ES256 with only an RSA key", func(c *config.Auth) {
			c.Algorithms, c.PublicKeys = []string{"RS256", "ES256"}, []string{k.rsaPEM}
		}, "no ES256 key"},
		{"missing PEM file", func(c *config.Auth) {
			c.Algorithms, c.PublicKeys = []string{"RS256"}, []string{filepath.Join(dir, "nope.pem")}
		}, "nope.pem"},
		{"private key in PEM", func(c *config.Auth) { c.Algorithms, c.PublicKeys = []string{"RS256"}, []string{privPEM} }, "PRIVATE KEY"},
		{"RSA key too small", func(c *config.Auth) { c.Algorithms, c.PublicKeys = []string{"RS256"}, []string{smallPEM} }, "too small"},
		{"P-384 key", func(c *config.Auth) { c.Algorithms, c.PublicKeys = []string{"ES256"}, []string{p384PEM} }, "P-384"},
		{"not PEM", func(c *config.Auth) { c.Algorithms, c.PublicKeys = []string{"RS256"}, []string{notPEM} }, "no PEM"},
		{"JWKS not JSON", func(c *config.Auth) { c.Algorithms, c.JWKSFile = []string{"RS256"}, jwks("a.json", "{") }, "parse JSON"},
		{"JWKS without usable key", func(c *config.Auth) {
			c.Algorithms, c.JWKSFile = []string{"RS256"}, jwks("b.json", `{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`)
		}, "no RSA"},
		{"JWKS EC point off the curve", func(c *config.Auth) {
			c.Algorithms, c.JWKSFile = []string{"ES256"}, jwks("c.json",
				`{"keys":[{"kty":"EC","kid":"x","crv":"P-256","x":"`+strings.Repeat("A", 43)+`","y":"`+strings.Repeat("A", 42)+`E"}]}`)
		}, "EC point"},
		{"JWKS alg that does not fit the key", func(c *config.Auth) {
			c.Algorithms, c.JWKSFile = []string{"EdDSA"}, jwks("d.json",
				`{"keys":[{"kty":"OKP","kid":"x","crv":"Ed25519","alg":"HS256","x":"`+base64.RawURLEncoding.EncodeToString(make([]byte, 32))+`"}]}`)
		}, "does not fit"},
		{"JWKS duplicate kid", func(c *config.Auth) {
			x := base64.RawURLEncoding.EncodeToString(make([]byte, 32))
			key := `{"kty":"OKP","kid":"x","crv":"Ed25519","x":"` + x + `"}`
			c.Algorithms, c.JWKSFile = []string{"EdDSA"}, jwks("e.json", `{"keys":[`+key+`,`+key+`]}`)
		}, "twice"},
		{"JWKS RSA without e", func(c *config.Auth) {
			c.Algorithms, c.JWKSFile = []string{"RS256"}, jwks("f.json",
				`{"keys":[{"kty":"RSA","kid":"x","n":"`+base64.RawURLEncoding.EncodeToString(k.rsa.N.Bytes())+`"}]}`)
		}, "e is missing"},
		{"unknown hookgate role", func(c *config.Auth) { c.Roles = map[string][]string{"root": {"root"}} }, `"root"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			tt.cfg(&cfg)
			v, err := auth.NewVerifier(cfg)
			if err == nil {
				t.Fatalf("NewVerifier accepted the config: %+v", v)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %q, want it to mention %q", err, tt.want)
			}
		})
	}
}

// TestMintAcceptsThePermissionNamesTheServerGrants: seed 003's
// outbound_webhooks permission (a token role value of auth.roles) is
// written as it is and verifies as the role it grants; a name that grants
// nothing is refused with the names that do.
func TestMintAcceptsThePermissionNamesTheServerGrants(t *testing.T) {
	cfg := baseConfig()
	cfg.Roles = map[string][]string{"admin": {"admin", "outbound_webhooks"}, "publisher": {"publisher", "crm"}}
	token, err := auth.Mint(cfg, hookgate.Principal{Subject: "u", Tenant: "acme", Roles: []string{"outbound_webhooks", "crm"}}, time.Hour)
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	v, err := auth.NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Verify(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Roles, []string{"admin", "publisher"}) {
		t.Fatalf("roles %v, want admin and publisher", got.Roles)
	}
	parsed, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	if roles := parsed.Claims.(jwt.MapClaims)["roles"]; fmt.Sprint(roles) != "[outbound_webhooks crm]" {
		t.Fatalf("roles claim %v, want the permission names as given", roles)
	}
	_, err = auth.Mint(cfg, hookgate.Principal{Subject: "u", Tenant: "acme", Roles: []string{"root"}}, time.Hour)
	if err == nil || !strings.Contains(err.Error(), `"root"`) || !strings.Contains(err.Error(), "outbound_webhooks") {
		t.Fatalf("unknown role: %v", err)
	}
}

func TestMintedTokenVerifies(t *testing.T) {
	tests := []struct {
		name  string
		cfg   func(*config.Auth)
		roles []string
	}{
		{"default config", nil, []string{"admin", "publisher"}},
		{"all roles, duplicated", nil, []string{"system", "admin", "publisher", "admin"}},
		{"no roles", nil, nil},
		{"issuer and audience", func(c *config.Auth) { c.Issuer, c.Audience = "https://hookgate", "hookgate-api" }, []string{"publisher"}},
		{"role granted only by another value", func(c *config.Auth) {
			c.Roles = map[string][]string{"admin": {"outbound_webhooks"}}
		}, []string{"admin"}},
		{"custom claim names", func(c *config.Auth) { c.SubjectClaim, c.TenantClaim, c.RolesClaim = "uid", "org", "perms" }, []string{"admin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			in := hookgate.Principal{Subject: "cli-user", Tenant: "tenant-7", Roles: tt.roles}
			token, err := auth.Mint(cfg, in, time.Hour)
			if err != nil {
				t.Fatalf("Mint: %v", err)
			}
			v, err := auth.NewVerifier(cfg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Verify(context.Background(), token)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			var want []string
			for _, r := range []string{"admin", "publisher", "system"} {
				if slices.Contains(tt.roles, r) {
					want = append(want, r)
				}
			}
			if got.Subject != in.Subject || got.Tenant != in.Tenant || !slices.Equal(got.Roles, want) {
				t.Fatalf("principal = %+v, want %+v with roles %v", got, in, want)
			}

			// The token is HS256, carries exp about ttl ahead, and names
			// roles by their token values.
			parsed, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
			if err != nil {
				t.Fatal(err)
			}
			if parsed.Method.Alg() != "HS256" {
				t.Errorf("alg = %s", parsed.Method.Alg())
			}
			exp, err := parsed.Claims.GetExpirationTime()
			if err != nil || exp == nil || exp.Sub(time.Now()) > time.Hour || exp.Sub(time.Now()) < 50*time.Minute {
				t.Errorf("exp = %v (%v), want about an hour from now", exp, err)
			}
		})
	}
}

func TestMintWritesRoleNames(t *testing.T) {
	token, err := auth.Mint(baseConfig(), hookgate.Principal{Subject: "u", Tenant: "t", Roles: []string{"admin", "publisher"}}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	parsed, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	got := parsed.Claims.(jwt.MapClaims)["roles"]
	if b, _ := json.Marshal(got); string(b) != `["admin","publisher"]` {
		t.Fatalf("roles claim = %s", b)
	}
}

func TestMintRefuses(t *testing.T) {
	good := hookgate.Principal{Subject: "u", Tenant: "acme", Roles: []string{"admin"}}
	tests := []struct {
		name string
		cfg  func(*config.Auth)
		p    func(*hookgate.Principal)
		ttl  time.Duration
		code string // "" for a configuration error
	}{
		{"HS256 not accepted", func(c *config.Auth) { c.Algorithms = []string{"RS256"} }, nil, time.Hour, ""},
		{"empty secret", func(c *config.Auth) { c.HS256Secret = "" }, nil, time.Hour, ""},
		{"zero ttl", nil, nil, 0, hookgate.EINVALID},
		{"negative ttl", nil, nil, -time.Minute, hookgate.EINVALID},
		{"empty subject", nil, func(p *hookgate.Principal) { p.Subject = "" }, time.Hour, hookgate.EINVALID},
		{"system tenant", nil, func(p *hookgate.Principal) { p.Tenant = "_system" }, time.Hour, hookgate.EINVALID},
		{"unknown role", nil, func(p *hookgate.Principal) { p.Roles = []string{"root"} }, time.Hour, hookgate.EINVALID},
		{"role no value grants", func(c *config.Auth) { c.Roles = map[string][]string{} }, nil, time.Hour, hookgate.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			p := good
			p.Roles = slices.Clone(good.Roles)
			if tt.p != nil {
				tt.p(&p)
			}
			token, err := auth.Mint(cfg, p, tt.ttl)
			if err == nil {
				t.Fatalf("Mint returned %q", token)
			}
			if tt.code != "" && hookgate.ErrorCode(err) != tt.code {
				t.Fatalf("code = %s (%v), want %s", hookgate.ErrorCode(err), err, tt.code)
			}
		})
	}
}

func FuzzVerify(f *testing.F) {
	k := newKeys(f)
	cfg := baseConfig()
	cfg.Algorithms = []string{"HS256", "RS256", "ES256", "EdDSA"}
	cfg.PublicKeys = []string{k.rsaPEM, k.ecCertPEM, k.edPEM}
	cfg.JWKSFile = k.jwks
	cfg.Issuer, cfg.Audience = "https://idp", "hookgate"
	v, err := auth.NewVerifier(cfg)
	if err != nil {
		f.Fatal(err)
	}
	c := claims(set("iss", "https://idp"), set("aud", "hookgate"))
	for _, s := range []string{
		"", ".", "..", "a.b.c", "e30.e30.", unsigned(c),
		sign(f, jwt.SigningMethodHS256, []byte(testSecret), "", c),
		sign(f, jwt.SigningMethodRS256, k.rsa, "", c),
		sign(f, jwt.SigningMethodRS256, k.rsaJWKS, "rsa-1", c),
		sign(f, jwt.SigningMethodES256, k.ec, "", c),
		sign(f, jwt.SigningMethodEdDSA, k.edJWKS, "ed-1", c),
		sign(f, jwt.SigningMethodHS256, k.rsaPEMBytes, "", c),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		p, err := v.Verify(context.Background(), token)
		if err != nil {
			if hookgate.ErrorCode(err) != hookgate.EUNAUTHORIZED {
				t.Fatalf("error %v has code %s", err, hookgate.ErrorCode(err))
			}
			if len(token) > 8 && strings.Contains(err.Error(), token) {
				t.Fatalf("error %q repeats the token", err)
			}
			return
		}
		if p == nil || p.Subject == "" || !hookgate.TenantPattern.MatchString(p.Tenant) {
			t.Fatalf("accepted an invalid principal %+v", p)
		}
		for _, r := range p.Roles {
			if r != hookgate.RoleAdmin && r != hookgate.RolePublisher && r != hookgate.RoleSystem {
				t.Fatalf("principal has role %q", r)
			}
		}
	})
}
