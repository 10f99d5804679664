package hookgate_test

import (
	"bytes"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
)

// idShape is the public shape of every id: a prefix, "_", then 26 characters
// of lowercase Crockford base32; the last carries 3 bits, so it is one of 8.
var idShape = regexp.MustCompile(`^([a-z]+)_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$`)

// idAlphabet decodes ids, to check what they carry.
var idAlphabet = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		for _, p := range []string{"wh", "ep", "in", "evt", "dl", "msg", "rcv"} {
			before := time.Now().UnixMilli()
			id := hookgate.NewID(p)
			after := time.Now().UnixMilli()
			m := idShape.FindStringSubmatch(id)
			if m == nil || m[1] != p {
				t.Fatalf("NewID(%q) = %q, not %s_ and 26 characters of the id alphabet", p, id, p)
			}
			if seen[id] {
				t.Fatalf("NewID(%q) = %q twice", p, id)
			}
			seen[id] = true
			// The first 48 bits are the time in milliseconds, so ids of a
			// later millisecond sort after.
			b, err := idAlphabet.DecodeString(id[len(p)+1:])
			if err != nil || len(b) != 16 {
				t.Fatalf("%s: %d bytes, %v", id, len(b), err)
			}
			ms := int64(binary.BigEndian.Uint64(append([]byte{0, 0}, b[:6]...)))
			if ms < before || ms > after {
				t.Fatalf("%s carries %d ms, made between %d and %d", id, ms, before, after)
			}
		}
	}
	a := hookgate.NewID("evt")
	time.Sleep(2 * time.Millisecond)
	if b := hookgate.NewID("evt"); b <= a {
		t.Fatalf("%q made 2 ms after %q sorts before it", b, a)
	}
}

func TestHashID(t *testing.T) {
	for _, tc := range []struct {
		sum  []byte
		want string
	}{
		{make([]byte, 32), "dl_" + strings.Repeat("0", 26)},
		{bytes.Repeat([]byte{0xff}, 16), "dl_" + strings.Repeat("z", 25) + "w"},
		{[]byte("0123456789abcdefIGNORED"), "dl_60rk4csm6mv3ee1sc5h66s35cr"},
	} {
		if got := hookgate.HashID("dl", tc.sum); got != tc.want {
			t.Errorf("HashID(%x) = %q, want %q", tc.sum, got, tc.want)
		}
	}
}

func BenchmarkNewID(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		_ = hookgate.NewID("evt")
	}
}

func TestNewToken(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		tok := hookgate.NewToken()
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(b) != 32 || len(tok) != 43 || seen[tok] {
			t.Fatalf("token %q: not the base64url of 32 new bytes (%v)", tok, err)
		}
		seen[tok] = true
	}
}
