package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate"
)

// LoginCodes keeps the one-time codes of console login links
// (`hookgate token --console`). A code is 256 random bits; Redis holds only
// a hash of it as the key and the token sealed with a key derived from it,
// so the stored value alone does not yield the token. Taking a code deletes
// it (GETDEL): each link signs in once, and expires with the key's TTL.
//
//	{p}:login:<sha256("id:"+code)>   AES-GCM(sha256("key:"+code), token)
type LoginCodes struct {
	rdb    Client
	prefix string
}

var (
	_ hookgate.LoginCodeIssuer = (*LoginCodes)(nil)
	_ hookgate.LoginCodeTaker  = (*LoginCodes)(nil)
)

// NewLoginCodes returns the store of login codes under prefix.
func NewLoginCodes(rdb Client, prefix string) *LoginCodes {
	return &LoginCodes{rdb: rdb, prefix: prefix}
}

// errLoginCode is the one answer to a code that is unknown, used or expired:
// the caller learns nothing more.
var errLoginCode = hookgate.Errorf(hookgate.EUNAUTHORIZED, "this login link is unknown, expired or already used; ask for a new one with `hookgate token --console`")

func (s *LoginCodes) key(code string) string {
	sum := sha256.Sum256([]byte("id:" + code))
	return s.prefix + ":login:" + hex.EncodeToString(sum[:])
}

func codeAEAD(code string) cipher.AEAD {
	k := sha256.Sum256([]byte("key:" + code))
	block, _ := aes.NewCipher(k[:]) // a 32-byte key never fails
	aead, _ := cipher.NewGCM(block)
	return aead
}

// Issue stores token under a fresh one-time code valid for ttl and returns
// the code (URL-safe).
func (s *LoginCodes) Issue(ctx context.Context, token string, ttl time.Duration) (string, error) {
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	code := base64.RawURLEncoding.EncodeToString(raw[:])
	aead := codeAEAD(code)
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	sealed := aead.Seal(nonce, nonce, []byte(token), nil)
	if err := s.rdb.Set(ctx, s.key(code), sealed, ttl).Err(); err != nil {
		return "", translate("store login code", err)
	}
	return code, nil
}

// Take returns the token of code and forgets the code. An unknown, used or
// expired code is EUNAUTHORIZED, said only once Redis has answered: every
// code is looked up, even one that cannot have been issued (its hash is no
// key), so that with Redis down the answer is EUNAVAILABLE whatever the
// code, not a claim that the link is dead, which would send its holder
// after a new link that cannot be issued either.
func (s *LoginCodes) Take(ctx context.Context, code string) (string, error) {
	b, err := s.rdb.GetDel(ctx, s.key(code)).Bytes()
	if errors.Is(err, redis.Nil) {
		return "", errLoginCode
	}
	if err != nil {
		return "", translate("take login code", err)
	}
	aead := codeAEAD(code)
	if len(b) < aead.NonceSize() {
		return "", errLoginCode
	}
	plain, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], nil)
	if err != nil {
		return "", errLoginCode
	}
	return string(plain), nil
}
