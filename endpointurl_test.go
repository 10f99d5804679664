package hookgate_test

import (
	"strings"
	"testing"

	"github.com/hookgate/hookgate"
)

func TestEndpointURLIsTheFormValidatedAndStored(t *testing.T) {
	for _, tc := range []struct {
		raw, want string
		allowHTTP bool
		problem   string // in the message; "" when accepted
	}{
		{raw: "https://x.example/hook", want: "https://x.example/hook"},
		{raw: " https://x.example/hook", want: "https://x.example/hook"},
		{raw: "\t https://x.example/hook?a=1&b=%20 \r\n", want: "https://x.example/hook?a=1&b=%20"},
		{raw: "\u00a0\u2003https://x.example/hook\u3000", want: "https://x.example/hook"},
		{raw: "HTTPS://X.example/Hook", want: "HTTPS://X.example/Hook"}, // nothing but the padding is rewritten
		{raw: "https://bücher.example/ü", want: "https://bücher.example/ü"},
		{raw: " http://x.example/hook", want: "http://x.example/hook", allowHTTP: true},
		{raw: " http://x.example/hook", problem: "HTTPS"},
		{raw: "", problem: "required"},
		{raw: " \t\n", problem: "required"},
		{raw: "https://x.example/a b", problem: "U+0020 at byte 19"},
		{raw: "  https://x.example/a b ", problem: "U+0020 at byte 21"}, // counted in what was sent
		{raw: "https://x .example/", problem: "spaces or control characters"},
		{raw: "https://x.example/\thook", problem: "U+0009"},
		{raw: "https://x.example/hook\r\nHost: evil", problem: "U+000D"},
		{raw: "https://x.example/\x00", problem: "U+0000"},
		{raw: "\x7fhttps://x.example/", problem: "U+007F at byte 0"},
		{raw: "https://x.example/\u0085x", problem: "U+0085"},
		{raw: "https://x.example/\u00a0x", problem: "U+00A0"},
		{raw: "https://x.example/\u200bx", problem: "U+200B"},
		{raw: "https://x.example/\u202ex", problem: "U+202E"},
		{raw: "https://x.example/\ufeffx", problem: "U+FEFF"},
		{raw: "https://x.example/\xff", problem: "UTF-8"},
		{raw: "x.example/hook", problem: "absolute"},
		{raw: "https://user:pw@x.example/", problem: "credentials"},
		{raw: "https://x.example/#frag", problem: "fragment"},
		{raw: "ftp://x.example/", problem: "not supported"},
	} {
		got, err := hookgate.EndpointURL(tc.raw, tc.allowHTTP)
		if tc.problem == "" {
			if err != nil || got != tc.want {
				t.Errorf("EndpointURL(%q) = %q, %v; want %q", tc.raw, got, err, tc.want)
			}
			if again, err := hookgate.EndpointURL(got, tc.allowHTTP); err != nil || again != got {
				t.Errorf("EndpointURL is not idempotent on %q: %q, %v", got, again, err)
			}
			continue
		}
		if hookgate.ErrorCode(err) != hookgate.EINVALID || !strings.Contains(hookgate.ErrorMessage(err), tc.problem) {
			t.Errorf("EndpointURL(%q) = %q, %v; want EINVALID mentioning %q", tc.raw, got, err, tc.problem)
		}
	}
}
