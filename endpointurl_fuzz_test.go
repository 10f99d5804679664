package hookgate_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/hookgate/hookgate"
)

// FuzzEndpointURL checks CheckEndpointURL, which every endpoint URL passes
// before it is saved or test-sent. It never panics; a refusal is a
// validation error with a message; an accepted URL parses, is https (or
// http when allowed), names a host, carries no credentials or fragment,
// stays accepted when written back by net/url and when http is allowed.
//
// The URL is judged as CheckEndpointURL reads it, surrounding white space
// trimmed: whether the stored URL is the trimmed one is the API's business
// (it is being normalised on save), not this function's.
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
		"https://xn--e1afmkfd.xn--p1ai/путь",
		"",
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, raw string, allowHTTP bool) {
		err := hookgate.CheckEndpointURL(raw, allowHTTP)
		if err != nil {
			if hookgate.ErrorCode(err) != hookgate.EINVALID || hookgate.ErrorMessage(err) == "" {
				t.Fatalf("%q refused without a validation message: %v", raw, err)
			}
			return
		}
		u, perr := url.Parse(strings.TrimSpace(raw))
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
