package gateway

import (
	"encoding/base32"
	"regexp"
	"strings"
	"testing"
)

// TestNewRequestID: "req_" then 10 random bytes in lower-case, unpadded
// base32 (16 characters), distinct each time.
func TestNewRequestID(t *testing.T) {
	shape := regexp.MustCompile(`^req_[a-z2-7]{16}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := newRequestID()
		if !shape.MatchString(id) {
			t.Fatalf("request id %q", id)
		}
		raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(id[4:]))
		if err != nil || len(raw) != 10 {
			t.Fatalf("request id %q does not decode to 10 bytes: %v", id, err)
		}
		if seen[id] {
			t.Fatalf("request id %q twice", id)
		}
		seen[id] = true
	}
}
