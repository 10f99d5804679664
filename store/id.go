package store

import (
	"crypto/rand"
	"encoding/base64"
)

// secretPrefix marks a webhook signing secret in the Standard Webhooks form.
const secretPrefix = "whsec_"

// GenerateSecret returns a new webhook signing secret in the Standard Webhooks
// form: "whsec_" followed by the standard base64 of 32 random bytes.
func GenerateSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails: crypto/rand.Read panics rather than return an error
	return secretPrefix + base64.StdEncoding.EncodeToString(b)
}
