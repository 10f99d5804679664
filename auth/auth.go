// Package auth turns the bearer tokens of hookgate's admin and publish APIs
// into a verified hookgate.Principal, and mints development tokens.
//
// It owns the whole token rule: which JWS algorithms are accepted (pinned by
// configuration, never chosen by the token), which key verifies which
// algorithm (an HS256 token is only ever checked with the configured HMAC
// secret, an RS256 token only with an RSA public key, ES256 only with a P-256
// key, EdDSA only with an Ed25519 key), the registered claims that must hold
// (exp always, iat and nbf when present, iss and aud when configured), and
// how the subject, tenant and roles claims are read and translated into
// hookgate's own roles.
//
// Keys are read once, by NewVerifier, from PEM files and a JWKS file; Verify
// does no I/O. When a JWKS file is configured, a token carrying a kid is
// verified with that JWKS key alone (an unknown kid is refused, and the key
// must fit the token's algorithm); any other token is tried against the PEM
// keys, and the kid-less JWKS keys, of its algorithm. Every refusal is a *hookgate.Error with code EUNAUTHORIZED and
// a message that is safe to return to the caller: it never repeats the token.
// This package does not log, does not speak HTTP, and does not decide what a
// role may do: the gateway extracts the bearer token, calls Verify and
// authorises with Principal.Has.
package auth

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/golang-jwt/jwt/v5"
	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
)

// maxTokenLength bounds the bytes of a token Verify will parse; longer
// strings are refused before any decoding. Identity providers' tokens are a
// few KiB at most.
const maxTokenLength = 16 << 10

// maxSubjectLength bounds the subject claim, which ends up in logs and
// delivery records.
const maxSubjectLength = 256

// hookgateRoles lists hookgate's roles in the order Principal.Roles uses.
var hookgateRoles = [...]string{hookgate.RoleAdmin, hookgate.RolePublisher, hookgate.RoleSystem}

// Reasons a key function refuses a token; translated into messages by refuse.
var (
	errBadKID     = errors.New("kid header is not a string")
	errUnknownKID = errors.New("unknown key id")
	errNoKey      = errors.New("no key for the token's algorithm")
)

// Verifier checks bearer tokens against a fixed set of algorithms and keys.
// It is safe for concurrent use.
type Verifier struct {
	parser *jwt.Parser

	hsSecret []byte                        // HS256 only; nil when HS256 is not accepted
	keys     map[string][]crypto.PublicKey // keys without a kid, by the algorithm they verify
	jwks     map[string]jwksKey            // JWKS keys by kid; nil without a JWKS file

	subjectClaim, tenantClaim, rolesClaim string
	grants                                map[string][]string // token role value -> hookgate roles
}

// NewVerifier reads the keys named in cfg and returns a Verifier. It fails
// when an algorithm is unsupported, when an accepted algorithm has no key to
// verify it, or when a key file cannot be read or holds an unusable key.
func NewVerifier(cfg config.Auth) (*Verifier, error) {
	v := &Verifier{
		keys:         map[string][]crypto.PublicKey{},
		subjectClaim: cfg.SubjectClaim,
		tenantClaim:  cfg.TenantClaim,
		rolesClaim:   cfg.RolesClaim,
		grants:       map[string][]string{},
	}
	if len(cfg.Algorithms) == 0 {
		return nil, errors.New("auth: no algorithm accepted: set auth.algorithms")
	}
	if cfg.SubjectClaim == "" || cfg.TenantClaim == "" || cfg.RolesClaim == "" {
		return nil, errors.New("auth: subject, tenant and roles claim names are required")
	}
	for _, path := range cfg.PublicKeys {
		keys, err := loadPEMKeys(path)
		if err != nil {
			return nil, fmt.Errorf("auth: public key %s: %w", path, err)
		}
		for _, k := range keys {
			alg := keyAlg(k)
			v.keys[alg] = append(v.keys[alg], k)
		}
	}
	if cfg.JWKSFile != "" {
		byKID, noKID, err := loadJWKS(cfg.JWKSFile)
		if err != nil {
			return nil, fmt.Errorf("auth: jwks file %s: %w", cfg.JWKSFile, err)
		}
		v.jwks = byKID
		for _, k := range noKID {
			v.keys[k.alg] = append(v.keys[k.alg], k.key)
		}
	}
	for _, alg := range cfg.Algorithms {
		switch alg {
		case algHS256:
			if cfg.HS256Secret == "" {
				return nil, errors.New("auth: HS256 is accepted but auth.hs256_secret is empty")
			}
			v.hsSecret = []byte(cfg.HS256Secret)
		case algRS256, algES256, algEdDSA:
			if !v.hasKeyFor(alg) {
				return nil, fmt.Errorf("auth: %s is accepted but no %s key is configured (auth.public_keys, auth.jwks_file)", alg, alg)
			}
		default:
			return nil, fmt.Errorf("auth: algorithm %q is not supported (HS256, RS256, ES256, EdDSA)", alg)
		}
	}
	for _, role := range hookgateRoles {
		for _, value := range cfg.Roles[role] {
			if !slices.Contains(v.grants[value], role) {
				v.grants[value] = append(v.grants[value], role)
			}
		}
	}
	for role := range cfg.Roles {
		if !slices.Contains(hookgateRoles[:], role) {
			return nil, fmt.Errorf("auth: auth.roles: unknown hookgate role %q (admin, publisher, system)", role)
		}
	}

	opts := []jwt.ParserOption{
		jwt.WithValidMethods(slices.Clone(cfg.Algorithms)),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(cfg.Leeway.D()),
		jwt.WithIssuedAt(),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	v.parser = jwt.NewParser(opts...)
	return v, nil
}

// hasKeyFor reports whether any configured public key verifies alg.
func (v *Verifier) hasKeyFor(alg string) bool {
	if len(v.keys[alg]) > 0 {
		return true
	}
	for _, k := range v.jwks {
		if k.alg == alg {
			return true
		}
	}
	return false
}

// Verify checks token (the bearer value, without the "Bearer " prefix) and
// returns the principal it names. Every failure is a *hookgate.Error with
// code EUNAUTHORIZED whose message may be shown to the caller. Verify does
// not block; ctx is accepted for symmetry with the rest of hookgate.
func (v *Verifier) Verify(ctx context.Context, token string) (*hookgate.Principal, error) {
	if token == "" {
		return nil, unauthorized("missing token")
	}
	if len(token) > maxTokenLength {
		return nil, unauthorized("invalid token: too long")
	}
	keyfuncCalled := false
	claims := jwt.MapClaims{}
	_, err := v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		keyfuncCalled = true
		return v.key(t)
	})
	if err != nil {
		return nil, refuse(err, keyfuncCalled, claims)
	}
	return v.principal(claims)
}

// key picks the key for a token whose algorithm the parser has already
// found among the accepted ones. The key's type is decided by the algorithm,
// so a token cannot have an RSA public key used as an HMAC secret, nor the
// HMAC secret used where a public key belongs.
func (v *Verifier) key(t *jwt.Token) (any, error) {
	alg := t.Method.Alg()
	if alg == algHS256 {
		if _, ok := t.Method.(*jwt.SigningMethodHMAC); !ok || v.hsSecret == nil {
			return nil, errNoKey
		}
		return v.hsSecret, nil
	}
	if raw, ok := t.Header["kid"]; ok && v.jwks != nil {
		kid, ok := raw.(string)
		if !ok {
			return nil, errBadKID
		}
		k, ok := v.jwks[kid]
		if !ok {
			return nil, errUnknownKID
		}
		if k.alg != alg {
			return nil, errNoKey
		}
		return k.key, nil
	}
	keys := v.keys[alg]
	switch len(keys) {
	case 0:
		return nil, errNoKey
	case 1:
		return keys[0], nil
	}
	set := jwt.VerificationKeySet{Keys: make([]jwt.VerificationKey, len(keys))}
	for i, k := range keys {
		set.Keys[i] = k
	}
	return set, nil
}

// principal reads subject, tenant and roles from verified claims.
func (v *Verifier) principal(claims jwt.MapClaims) (*hookgate.Principal, error) {
	sub, _ := claims[v.subjectClaim].(string)
	if sub == "" {
		return nil, unauthorized("token has no subject claim")
	}
	if len(sub) > maxSubjectLength {
		return nil, unauthorized("token subject claim is too long")
	}
	raw, ok := claims[v.tenantClaim]
	if !ok || raw == nil || raw == "" {
		return nil, unauthorized("token has no tenant claim")
	}
	tenant, _ := raw.(string)
	if !hookgate.TenantPattern.MatchString(tenant) {
		return nil, unauthorized("token tenant claim is malformed")
	}
	values, err := roleValues(claims[v.rolesClaim])
	if err != nil {
		return nil, err
	}
	granted := map[string]bool{}
	for _, value := range values {
		for _, role := range v.grants[value] {
			granted[role] = true
		}
	}
	roles := []string{}
	for _, role := range hookgateRoles {
		if granted[role] {
			roles = append(roles, role)
		}
	}
	return &hookgate.Principal{Subject: sub, Tenant: tenant, Roles: roles}, nil
}

// roleValues reads a roles claim: absent, a JSON array of strings, or one
// string of values separated by spaces and/or commas (the OAuth "scope"
// style).
func roleValues(raw any) ([]string, error) {
	switch r := raw.(type) {
	case nil:
		return nil, nil
	case string:
		return strings.FieldsFunc(r, func(c rune) bool { return c == ' ' || c == ',' }), nil
	case []any:
		values := make([]string, 0, len(r))
		for _, item := range r {
			s, ok := item.(string)
			if !ok {
				return nil, unauthorized("token roles claim must be a list of strings or a string")
			}
			values = append(values, s)
		}
		return values, nil
	}
	return nil, unauthorized("token roles claim must be a list of strings or a string")
}

// refuse translates a parse error into a message safe to show. The library's
// own error text is not kept: it may repeat header values chosen by the
// caller.
func refuse(err error, keyfuncCalled bool, claims jwt.MapClaims) *hookgate.Error {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return unauthorized("invalid token: malformed")
	case errors.Is(err, errBadKID):
		return unauthorized("invalid token: malformed key id")
	case errors.Is(err, errUnknownKID):
		return unauthorized("invalid token: unknown key id")
	case errors.Is(err, errNoKey):
		return unauthorized("invalid token: no key for its algorithm")
	case !keyfuncCalled && (errors.Is(err, jwt.ErrTokenSignatureInvalid) || errors.Is(err, jwt.ErrTokenUnverifiable)):
		// The parser refuses an algorithm outside the pinned set, or one
		// it does not know, before asking for a key.
		return unauthorized("invalid token: algorithm not accepted")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return unauthorized("invalid token: signature is invalid")
	case errors.Is(err, jwt.ErrTokenExpired):
		return unauthorized("token expired")
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return unauthorized("token not valid yet")
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return unauthorized("token issued in the future")
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		for _, c := range [...]struct{ claim, msg string }{
			{"exp", "token has no expiry"}, {"iss", "token has no issuer"}, {"aud", "token has no audience"},
		} {
			if v, ok := claims[c.claim]; !ok || v == "" || v == nil {
				return unauthorized(c.msg)
			}
		}
		return unauthorized("token is missing a required claim")
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return unauthorized("token has the wrong issuer")
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return unauthorized("token has the wrong audience")
	case errors.Is(err, jwt.ErrInvalidType):
		return unauthorized("invalid token: a registered claim has the wrong type")
	}
	return unauthorized("invalid token")
}

// unauthorized returns an EUNAUTHORIZED error with message msg.
func unauthorized(msg string) *hookgate.Error {
	return &hookgate.Error{Code: hookgate.EUNAUTHORIZED, Message: msg}
}
