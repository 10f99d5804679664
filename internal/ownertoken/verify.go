package ownertoken

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/golang-jwt/jwt/v5"
)

// KeySet is the public keys of a JWKS document by kid: what a CRM written in
// Go needs to verify owner tokens (and what hookgate's tests use).
type KeySet map[string]crypto.PublicKey

// ParseJWKS reads a JWKS document (RSA and Ed25519 keys; others are skipped).
func ParseJWKS(doc []byte) (KeySet, error) {
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, fmt.Errorf("parse jwks: %w", err)
	}
	out := KeySet{}
	for _, k := range set.Keys {
		switch k["kty"] {
		case "OKP":
			x, err := base64.RawURLEncoding.DecodeString(k["x"])
			if err != nil || k["crv"] != "Ed25519" || len(x) != ed25519.PublicKeySize {
				return nil, fmt.Errorf("parse jwks: bad Ed25519 key %q", k["kid"])
			}
			out[k["kid"]] = ed25519.PublicKey(x)
		case "RSA":
			n, err1 := base64.RawURLEncoding.DecodeString(k["n"])
			e, err2 := base64.RawURLEncoding.DecodeString(k["e"])
			if err1 != nil || err2 != nil || len(e) > 4 {
				return nil, fmt.Errorf("parse jwks: bad RSA key %q", k["kid"])
			}
			out[k["kid"]] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		}
	}
	return out, nil
}

// Verify checks an owner token against the key set: the algorithm pinned
// to RS256 and EdDSA, the key chosen by kid, exp/nbf checked, and iss when
// issuer is not empty.
func (ks KeySet) Verify(token, issuer string) (*Claims, error) {
	var c Claims
	opts := []jwt.ParserOption{jwt.WithValidMethods([]string{"RS256", "EdDSA"}), jwt.WithExpirationRequired()}
	if issuer != "" {
		opts = append(opts, jwt.WithIssuer(issuer))
	}
	_, err := jwt.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, ok := ks[kid]
		if !ok {
			return nil, errors.New("unknown kid")
		}
		return k, nil
	}, opts...)
	if err != nil {
		return nil, err
	}
	return &c, nil
}
