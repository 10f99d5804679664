package hookgate_test

import (
	"strings"
	"testing"

	"github.com/hookgate/hookgate"
)

func TestRedactHidesEveryIncomingToken(t *testing.T) {
	const tok = "Yq3v0m1kq7o3ZpUu2m0Q4bq1f2Rzq9JbVb5nH8x4mWc"
	for _, tc := range []struct{ in, want string }{
		{"/in/" + tok + "/crm/v1/x", "/in/{token}/crm/v1/x"},
		{"/in/" + tok, "/in/{token}"},
		{"/in/" + tok + "?a=1", "/in/{token}?a=1"},
		{"/IN/" + tok + "/crm", "/IN/{token}/crm"},
		{"https://hooks.example.com/in/" + tok + "/crm", "https://hooks.example.com/in/{token}/crm"},
		{`Cannot GET /in/` + tok + `/x`, `Cannot GET /in/{token}/x`},
		{`contents: "GET /in/` + tok + ` HTTP/1.1\r\nHost: x"`, `contents: "GET /in/{token} HTTP/1.1\r\nHost: x"`},
		{"/in/a/in/" + tok, "/in/{token}/in/{token}"},
		{"/in//crm", "/in//crm"},
		{"/v1/incoming-webhooks/in_01", "/v1/incoming-webhooks/in_01"},
		{"", ""},
		{"/in/", "/in/"},
	} {
		if got := hookgate.RedactTokens(tc.in); got != tc.want {
			t.Errorf("RedactTokens(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzRedact: whatever the text, what follows "/in/" in the redacted text
// is the placeholder or a delimiter, and redacting twice changes nothing.
func FuzzRedact(f *testing.F) {
	for _, s := range []string{"/in/abc/x", "GET /In/abc?x HTTP/1.1", "/in/", "a/in/b/in/c", "/in/{token}x", "%2Fin%2Fabc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := hookgate.RedactTokens(s)
		if hookgate.RedactTokens(r) != r {
			t.Fatalf("RedactTokens is not idempotent on %q: %q then %q", s, r, hookgate.RedactTokens(r))
		}
		low := []byte(r) // lower case, byte for byte (ToLower would remap invalid UTF-8)
		for i, c := range low {
			if 'A' <= c && c <= 'Z' {
				low[i] = c + 'a' - 'A'
			}
		}
		for i := strings.Index(string(low), "/in/"); i >= 0; {
			rest := r[i+4:]
			if rest != "" && !strings.HasPrefix(rest, hookgate.RedactedToken) && !strings.ContainsAny(rest[:1], "/?# \t\r\n\"'`<>()[],;\\") && rest[0] >= 0x20 && rest[0] != 0x7f {
				t.Fatalf("RedactTokens(%q) = %q leaves %q after /in/", s, r, rest)
			}
			j := strings.Index(string(low[i+1:]), "/in/")
			if j < 0 {
				break
			}
			i += 1 + j
		}
	})
}
