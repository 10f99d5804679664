// Package ownertoken mints the short-lived JWTs with which hookgate calls
// the CRM on behalf of an incoming webhook's owner, and publishes the public
// half of its signing key as a JSON Web Key Set (/.well-known/jwks.json) so
// the CRM can verify them. It owns hookgate's own signing key; it must not
// verify tokens of callers (that is package auth).
package ownertoken

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims are the claims of an owner token.
type Claims struct {
	// Scope is the webhook's scopes, space-separated (OAuth style).
	Scope string `json:"scope"`
	// Tenant is the owner's tenant.
	Tenant string `json:"tenant"`
	// IncomingWebhookID is the incoming webhook the call came through.
	IncomingWebhookID string `json:"incoming_webhook_id"`
	jwt.RegisteredClaims
}

// Signer mints owner tokens with one private key. It caches each minted
// token and hands it out again until half its lifetime has passed, so the
// proxy signs about once per webhook per half TTL, not per request. It is
// safe for concurrent use.
type Signer struct {
	key      crypto.Signer
	method   jwt.SigningMethod
	kid      string
	jwks     []byte
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	token     string
	refreshAt time.Time
}

// maxCached bounds the token cache; when full, expired entries are dropped,
// and if none are, the whole cache.
const maxCached = 10000

// Options configure a Signer.
type Options struct {
	Issuer   string        // iss
	Audience string        // aud, omitted when empty
	TTL      time.Duration // lifetime of each token
}

// LoadKey reads a PEM private key: PKCS#8 (RSA or Ed25519) or PKCS#1 RSA.
// RSA keys must have at least 2048 bits.
func LoadKey(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("signing key %s: no PEM block", path)
	}
	var k any
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("signing key %s: PEM block %q is not a private key (RSA or Ed25519, PKCS#8)", path, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	switch key := k.(type) {
	case *rsa.PrivateKey:
		if key.N.BitLen() < 2048 {
			return nil, fmt.Errorf("signing key %s: RSA keys need at least 2048 bits", path)
		}
		return key, nil
	case ed25519.PrivateKey:
		return key, nil
	}
	return nil, fmt.Errorf("signing key %s: only RSA (RS256) and Ed25519 (EdDSA) keys are supported", path)
}

// GenerateKey returns a new Ed25519 key, for a single process without a
// configured key.
func GenerateKey() crypto.Signer {
	_, k, _ := ed25519.GenerateKey(rand.Reader) // crypto/rand never fails
	return k
}

// New returns a Signer for key (*rsa.PrivateKey or ed25519.PrivateKey).
func New(key crypto.Signer, o Options) (*Signer, error) {
	if o.TTL <= 0 {
		return nil, errors.New("owner tokens: ttl must be positive")
	}
	s := &Signer{key: key, issuer: o.Issuer, audience: o.Audience, ttl: o.TTL, now: time.Now, cache: map[string]cached{}}
	var jwk map[string]string
	switch k := key.(type) {
	case *rsa.PrivateKey:
		s.method = jwt.SigningMethodRS256
		jwk = map[string]string{"kty": "RSA", "e": b64(big.NewInt(int64(k.E)).Bytes()), "n": b64(k.N.Bytes())}
		s.kid = thumbprint(`{"e":"` + jwk["e"] + `","kty":"RSA","n":"` + jwk["n"] + `"}`)
		jwk["alg"] = "RS256"
	case ed25519.PrivateKey:
		s.method = jwt.SigningMethodEdDSA
		jwk = map[string]string{"kty": "OKP", "crv": "Ed25519", "x": b64(k.Public().(ed25519.PublicKey))}
		s.kid = thumbprint(`{"crv":"Ed25519","kty":"OKP","x":"` + jwk["x"] + `"}`)
		jwk["alg"] = "EdDSA"
	default:
		return nil, fmt.Errorf("owner tokens: unsupported key type %T", key)
	}
	jwk["use"], jwk["kid"] = "sig", s.kid
	doc, err := json.Marshal(map[string]any{"keys": []any{jwk}})
	if err != nil {
		return nil, fmt.Errorf("owner tokens: jwks: %w", err)
	}
	s.jwks = doc
	return s, nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// thumbprint is the RFC 7638 thumbprint of a JWK's required members.
func thumbprint(canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return b64(sum[:])
}

// JWKS is the JSON Web Key Set of the public key.
func (s *Signer) JWKS() []byte { return s.jwks }

// KeyID is the kid of the key (its RFC 7638 thumbprint).
func (s *Signer) KeyID() string { return s.kid }

// Algorithm is RS256 or EdDSA.
func (s *Signer) Algorithm() string { return s.method.Alg() }

// Owner is whom a token is minted for.
type Owner struct {
	Subject   string
	Tenant    string
	Scopes    []string
	WebhookID string
}

// Token returns a token for o: a cached one while it is in the first half
// of its life, else a freshly minted one.
func (s *Signer) Token(o Owner) (string, error) {
	key := o.WebhookID + "\x00" + o.Tenant + "\x00" + o.Subject + "\x00" + strings.Join(o.Scopes, " ")
	now := s.now()
	s.mu.Lock()
	c, ok := s.cache[key]
	s.mu.Unlock()
	if ok && now.Before(c.refreshAt) {
		return c.token, nil
	}
	tok, err := s.Mint(o, now)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	if len(s.cache) >= maxCached {
		for k, v := range s.cache {
			if !now.Before(v.refreshAt) {
				delete(s.cache, k)
			}
		}
		if len(s.cache) >= maxCached {
			clear(s.cache)
		}
	}
	s.cache[key] = cached{token: tok, refreshAt: now.Add(s.ttl / 2)}
	s.mu.Unlock()
	return tok, nil
}

// Mint signs a new token for o, issued at now.
func (s *Signer) Mint(o Owner, now time.Time) (string, error) {
	c := Claims{
		Scope: strings.Join(o.Scopes, " "), Tenant: o.Tenant, IncomingWebhookID: o.WebhookID,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: s.issuer, Subject: o.Subject,
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now.Add(-5 * time.Second)),
			ExpiresAt: jwt.NewNumericDate(now.Add(s.ttl)),
		},
	}
	if s.audience != "" {
		c.Audience = jwt.ClaimStrings{s.audience}
	}
	t := jwt.NewWithClaims(s.method, c)
	t.Header["kid"] = s.kid
	signed, err := t.SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("mint owner token: %w", err)
	}
	return signed, nil
}
