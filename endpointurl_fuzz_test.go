package hookgate_test

import (
	"net/url"
	"strings"
	"testing"
	"unicode"

	"github.com/hookgate/hookgate"
)

// FuzzEndpointURL checks EndpointURL, which every endpoint URL passes
// before it is saved or test-sent. It never panics; a refusal is a
// validation error with a message; what it accepts is the input less its
// surrounding whitespace (nothing else rewritten), has no space or control
// character left, parses, is https (or http when allowed), names a host,
// carries no credentials or fragment, is accepted again as is, stays
// accepted when written back by net/url and when http is allowed.
func FuzzEndpointURL(f *testing.F) {
	for _, seed := range []string{
		"https://erp.example.com/hook",
		"https://erp.example.com:8443/hooks/in?token=abc&x=1",
		"http://127.0.0.1:9000/hook",
		"  https://a.example/\t",
		"https://[::1]:443/",
		"https://[fe80::1%25eth0]/",
		"https://user:pw@a.example/",
		"https://a.example/#frag",
		"https://a.example/%zz",
		"https://:443/",
		"https://a.example:port/",
		"HTTPS://A.EXAMPLE/",
		"ftp://a.example/",
		"mailto:a@example.com",
		"//a.example/",
		"https:a.example",
		"https://a.example\x00/",
		" https://x.example/hook\n",
		"https://x.example/a b",
		"https://x.example/\u202e",
		"\xffhttps://x",
		"https://xn--e1afmkfd.xn--p1ai/путь",
		"",
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, raw string, allowHTTP bool) {
		got, err := hookgate.EndpointURL(raw, allowHTTP)
		if err != nil {
			if hookgate.ErrorCode(err) != hookgate.EINVALID || hookgate.ErrorMessage(err) == "" {
				t.Fatalf("%q refused without a validation message: %v", raw, err)
			}
			return
		}
		if got != strings.TrimSpace(raw) {
			t.Fatalf("EndpointURL(%q) = %q: more than the padding changed", raw, got)
		}
		if strings.IndexFunc(got, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			t.Fatalf("EndpointURL(%q) = %q keeps a space or control character", raw, got)
		}
		if again, err := hookgate.EndpointURL(got, allowHTTP); err != nil || again != got {
			t.Fatalf("EndpointURL is not idempotent on %q: %q, %v", got, again, err)
		}
		u, perr := url.Parse(got)
		if perr != nil {
			t.Fatalf("%q accepted but does not parse: %v", raw, perr)
		}
		switch {
		case u.Scheme != "https" && !(allowHTTP && u.Scheme == "http"):
			t.Fatalf("%q accepted with scheme %q (allow http %v)", raw, u.Scheme, allowHTTP)
		case u.Hostname() == "":
			t.Fatalf("%q accepted without a host", raw)
		case u.User != nil || u.Fragment != "":
			t.Fatalf("%q accepted with credentials or a fragment", raw)
		}
		if err := hookgate.CheckEndpointURL(u.String(), allowHTTP); err != nil {
			t.Fatalf("%q accepted, but its written form %q is refused: %v", raw, u.String(), err)
		}
		if !allowHTTP {
			if err := hookgate.CheckEndpointURL(raw, true); err != nil {
				t.Fatalf("%q accepted as https only, refused when http is allowed: %v", raw, err)
			}
		}
	})
}
