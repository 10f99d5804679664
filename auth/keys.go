package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
)

// Limits on the key material read at start-up.
const (
	maxKeyFileSize = 1 << 20 // bytes of one PEM or JWKS file
	minRSABits     = 2048    // smaller RSA keys are refused
)

// The JWS algorithms hookgate accepts, as they appear in a token's "alg".
const (
	algHS256 = "HS256"
	algRS256 = "RS256"
	algES256 = "ES256"
	algEdDSA = "EdDSA"
)

// keyAlg returns the one asymmetric algorithm a public key may verify, or ""
// when hookgate has no use for the key. An RSA key only ever verifies RS256,
// a P-256 key ES256, an Ed25519 key EdDSA: this is what keeps a token from
// choosing how its key is interpreted.
func keyAlg(k crypto.PublicKey) string {
	switch k := k.(type) {
	case *rsa.PublicKey:
		return algRS256
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return algES256
		}
	case ed25519.PublicKey:
		return algEdDSA
	}
	return ""
}

// checkPublicKey refuses keys hookgate will not verify with.
func checkPublicKey(k crypto.PublicKey) error {
	switch k := k.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return fmt.Errorf("RSA key of %d bits is too small (at least %d)", k.N.BitLen(), minRSABits)
		}
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return fmt.Errorf("EC key on %s is not supported (P-256 only, for ES256)", k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return errors.New("Ed25519 key has the wrong size")
		}
	default:
		return fmt.Errorf("%T keys are not supported (RSA, EC P-256, Ed25519)", k)
	}
	return nil
}

// readKeyFile reads a key file, refusing one larger than maxKeyFileSize.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxKeyFileSize {
		return nil, fmt.Errorf("larger than %d bytes", maxKeyFileSize)
	}
	return b, nil
}

// loadPEMKeys reads every public key in a PEM file: PUBLIC KEY (PKIX),
// RSA PUBLIC KEY (PKCS #1) or CERTIFICATE blocks, in any number. The
// certificate's validity period is not checked: only its key is used.
func loadPEMKeys(path string) ([]crypto.PublicKey, error) {
	b, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	var keys []crypto.PublicKey
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		var k crypto.PublicKey
		switch block.Type {
		case "PUBLIC KEY":
			k, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			k, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var cert *x509.Certificate
			if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
				k = cert.PublicKey
			}
		default:
			// A private key here is a mistake worth stopping for: it
			// should not be on the verifying side at all.
			return nil, fmt.Errorf("holds a %q block; give PUBLIC KEY or CERTIFICATE blocks", block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("parse %s block: %w", block.Type, err)
		}
		if err := checkPublicKey(k); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("holds no PEM public key or certificate")
	}
	return keys, nil
}

// jwk holds the fields of a JSON Web Key (RFC 7517, 7518, 8037) that
// hookgate reads. Private members, if any, are ignored.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Crv string `json:"crv"`
	N   string `json:"n"`
	E   string `json:"e"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// jwksKey is a verification key from a JWKS file.
type jwksKey struct {
	key crypto.PublicKey
	alg string // the one algorithm this key verifies
}

// loadJWKS reads a JWKS file into a map by kid. Keys meant for encryption
// ("use": "enc") and key types hookgate does not verify with (symmetric
// "oct" keys, other curves) are skipped, so that an identity provider's set
// can be used as it is; a malformed key of a supported type is an error.
// Keys without a kid are returned apart: they are tried for tokens that
// carry no kid.
func loadJWKS(path string) (map[string]jwksKey, []jwksKey, error) {
	b, err := readKeyFile(path)
	if err != nil {
		return nil, nil, err
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, nil, fmt.Errorf("parse JSON: %w", err)
	}
	byKID := map[string]jwksKey{}
	var noKID []jwksKey
	for i, raw := range set.Keys {
		var j jwk
		if err := json.Unmarshal(raw, &j); err != nil {
			return nil, nil, fmt.Errorf("key %d: %w", i, err)
		}
		if j.Use != "" && j.Use != "sig" {
			continue
		}
		k, err := j.publicKey()
		if err != nil {
			return nil, nil, fmt.Errorf("key %d (kid %q): %w", i, j.Kid, err)
		}
		if k == nil {
			continue
		}
		alg := keyAlg(k)
		if j.Alg != "" && j.Alg != alg {
			return nil, nil, fmt.Errorf("key %d (kid %q): alg %q does not fit a %s key", i, j.Kid, j.Alg, j.Kty)
		}
		if j.Kid == "" {
			noKID = append(noKID, jwksKey{key: k, alg: alg})
			continue
		}
		if _, dup := byKID[j.Kid]; dup {
			return nil, nil, fmt.Errorf("kid %q appears twice", j.Kid)
		}
		byKID[j.Kid] = jwksKey{key: k, alg: alg}
	}
	if len(byKID) == 0 && len(noKID) == 0 {
		return nil, nil, errors.New("holds no RSA, EC P-256 or Ed25519 signing key")
	}
	return byKID, noKID, nil
}

// publicKey decodes the key, returning nil (and no error) for key types that
// hookgate does not verify with.
func (j *jwk) publicKey() (crypto.PublicKey, error) {
	var k crypto.PublicKey
	switch {
	case j.Kty == "RSA":
		n, err := b64Field("n", j.N, 0)
		if err != nil {
			return nil, err
		}
		e, err := b64Field("e", j.E, 0)
		if err != nil {
			return nil, err
		}
		ei := new(big.Int).SetBytes(e)
		if !ei.IsInt64() || ei.Int64() < 3 || ei.Int64() > 1<<31-1 || ei.Bit(0) == 0 {
			return nil, errors.New("e is out of range")
		}
		k = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(ei.Int64())}
	case j.Kty == "EC" && j.Crv == "P-256":
		x, err := b64Field("x", j.X, 32)
		if err != nil {
			return nil, err
		}
		y, err := b64Field("y", j.Y, 32)
		if err != nil {
			return nil, err
		}
		point := append(append([]byte{4}, x...), y...)
		ek, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
		if err != nil {
			return nil, fmt.Errorf("EC point: %w", err)
		}
		k = ek
	case j.Kty == "OKP" && j.Crv == "Ed25519":
		x, err := b64Field("x", j.X, ed25519.PublicKeySize)
		if err != nil {
			return nil, err
		}
		k = ed25519.PublicKey(x)
	default:
		return nil, nil
	}
	if err := checkPublicKey(k); err != nil {
		return nil, err
	}
	return k, nil
}

// b64Field decodes a base64url (unpadded) member; size, when not 0, is the
// exact length the decoded bytes must have.
func b64Field(name, s string, size int) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("%s is missing", name)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s is not base64url: %w", name, err)
	}
	if size != 0 && len(b) != size {
		return nil, fmt.Errorf("%s is %d bytes, want %d", name, len(b), size)
	}
	return b, nil
}
