package store

import (
	"crypto/rand"
	"encoding/base64"
	"strings"

	"github.com/oklog/ulid/v2"
)

// GenerateID returns a new random id with the given prefix, such as
// "wh_01jc3v6w5x8z9k2m4n6p8q0r2s". The part after the prefix is a ULID in
// lowercase Crockford base32: 26 URL-safe characters, 48 bits of millisecond
// time followed by 80 bits from crypto/rand, so ids sort by creation time (to
// the millisecond) and cannot be guessed. Records of every kind (webhooks,
// endpoints, deliveries, events) use it.
func GenerateID(prefix string) string {
	// crypto/rand.Reader never fails, so MustNew cannot panic for it.
	return prefix + strings.ToLower(ulid.MustNew(ulid.Now(), rand.Reader).String())
}

// secretPrefix marks a webhook signing secret in the Standard Webhooks form.
const secretPrefix = "whsec_"

// GenerateSecret returns a new webhook signing secret in the Standard Webhooks
// form: "whsec_" followed by the standard base64 of 32 random bytes.
func GenerateSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails: crypto/rand.Read panics rather than return an error
	return secretPrefix + base64.StdEncoding.EncodeToString(b)
}
