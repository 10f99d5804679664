package store

import (
	"bytes"
	"testing"
)

// FuzzDecodeCursor feeds untrusted cursors: they must be refused or resume
// after a well-formed index member, never panic.
func FuzzDecodeCursor(f *testing.F) {
	for _, o := range []order{{tag: 'n', byName: true}, {tag: 'C', desc: true}} {
		f.Add(encodeCursor(o, nameMember("wh_1", "Name")))
		f.Add(encodeCursor(o, createdMember("wh_1", "Name", now())))
	}
	f.Add("")
	f.Add("!!!")
	f.Fuzz(func(t *testing.T, c string) {
		for _, o := range []order{{tag: 'n', byName: true}, {tag: 'N', byName: true, desc: true}, {tag: 'c'}, {tag: 'C', desc: true}} {
			m, err := decodeCursor(o, c)
			if err != nil {
				continue
			}
			if _, _, ok := parseMember(o.byName, m); !ok {
				t.Fatalf("accepted malformed member %q", m)
			}
			if back, err := decodeCursor(o, encodeCursor(o, m)); err != nil || back != m {
				t.Fatalf("member %q does not round-trip: %q %v", m, back, err)
			}
		}
	})
}

// FuzzOpenSealed feeds corrupted sealed secrets: they must fail, never panic
// or open to something other than what was sealed.
func FuzzOpenSealed(f *testing.F) {
	s, err := newSealer(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(s.seal("whsec_secret", "aad"), "aad")
	f.Add("v1.", "aad")
	f.Add("v1.AAAA", "")
	f.Fuzz(func(t *testing.T, sealed, aad string) {
		plain, err := s.open(sealed, aad)
		if err == nil && sealed != "" && plain != "whsec_secret" {
			t.Fatalf("%q opened to %q", sealed, plain)
		}
	})
}
