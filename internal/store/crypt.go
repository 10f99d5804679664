package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// sealedVersion prefixes every sealed value so that a later key rotation can
// tell the key or scheme a value was written with.
const sealedVersion = "v1."

// sealer encrypts webhook secrets at rest with AES-256-GCM. Each value gets a
// fresh random nonce, and the additional data binds it to one record and one
// field, so a ciphertext copied into another record does not decrypt.
type sealer struct {
	aead cipher.AEAD
}

func newSealer(key []byte) (*sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("encryption key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	return &sealer{aead: aead}, nil
}

// seal returns "v1." + base64url(nonce || ciphertext), or "" for "".
func (s *sealer) seal(plain, aad string) string {
	if plain == "" {
		return ""
	}
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	_, _ = rand.Read(nonce) // never fails: crypto/rand.Read panics rather than return an error
	out := s.aead.Seal(nonce, nonce, []byte(plain), []byte(aad))
	return sealedVersion + base64.RawURLEncoding.EncodeToString(out)
}

// errSealed is returned for a sealed value that cannot be opened: written with
// another key, tampered with, or moved to another record.
var errSealed = errors.New("sealed secret cannot be decrypted (wrong encryption key or corrupted record)")

// open reverses seal.
func (s *sealer) open(sealed, aad string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	rest, ok := strings.CutPrefix(sealed, sealedVersion)
	if !ok {
		return "", errSealed
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(b) < s.aead.NonceSize()+s.aead.Overhead() {
		return "", errSealed
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, b[:n], b[n:], []byte(aad))
	if err != nil {
		return "", errSealed
	}
	return string(plain), nil
}
