package incoming

import (
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/config"
)

func TestCleanPathRefusesTraversalAndEncodingTricks(t *testing.T) {
	ok := []string{
		"/crm/v1/entities/leads",
		"/tasks/v1/tasks/816",
		"/crm/v1/entities/contacts/",
		"/crm/v1/search/John%20Smith",
		"/crm/v1/entities/caf%C3%A9",
		"/crm/v1/a-b_c~d.e",
		"/crm/v1/..x/x..",
	}
	for _, p := range ok {
		if got, good := CleanPath(p); !good || got != p {
			t.Errorf("CleanPath(%q) = %q, %v; want accepted unchanged", p, got, good)
		}
	}
	bad := []string{
		"", "crm/v1", "/crm/../tasks/1", "/crm/./x", "/crm/..", "/crm/.",
		"/crm/%2e%2e/tasks", "/crm/%2E%2E/tasks", "/crm/.%2e/x", "/crm/%2e./x", "/crm/..%2ftasks",
		"/crm/%2Ftasks", "/crm/%5c..%5ctasks", "/crm\\..\\tasks", "/crm/%252e%252e/x", "/crm/%25",
		"/crm/%", "/crm/%2", "/crm/%zz", "/crm/%00", "/crm/%0a", "/crm/%7f", "//crm/x", "/crm//x",
		"/crm/..;/tasks", "/crm/x;y", "/crm/%C0%AE%C0%AE/x", "/crm/%E0%80%AE/x", "/crm/%FF",
		"/crm/x y", "/crm/\x00", "/crm/é", "/crm/x?y", "/crm/x#y", "/" + strings.Repeat("a", maxPath),
	}
	for _, p := range bad {
		if got, good := CleanPath(p); good {
			t.Errorf("CleanPath(%q) = %q, accepted; want refused", p, got)
		}
	}
}

func testScopes(t *testing.T) Scopes {
	t.Helper()
	s, err := ScopesFromConfig(map[string]config.Scope{
		"crm":   {Prefixes: []string{"/crm/"}, Upstream: "http://crm"},
		"tasks": {Prefixes: []string{"/tasks/"}, Upstream: "http://tasks/"},
		"chats": {Prefixes: []string{"/chats/", "/messenger/"}, Upstream: "http://chats", Methods: []string{"GET"}},
		"deep":  {Prefixes: []string{"/crm/v1/admin/"}, Upstream: "http://admin"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestScopeMatch(t *testing.T) {
	s := testScopes(t)
	tests := []struct {
		granted      []string
		method, path string
		want, reason string
	}{
		{[]string{"crm"}, "POST", "/crm/v1/entities/leads", "crm", ""},
		{[]string{"crm", "tasks"}, "GET", "/tasks/v1/tasks/816", "tasks", ""},
		{[]string{"crm"}, "GET", "/tasks/v1/tasks/816", "", DeniedOutOfScope},
		{[]string{"crm"}, "GET", "/crm", "", DeniedOutOfScope},
		{[]string{"crm"}, "GET", "/CRM/v1", "", DeniedOutOfScope},
		{[]string{"crm"}, "GET", "/crmx/v1", "", DeniedOutOfScope},
		{[]string{"chats"}, "GET", "/messenger/v1/chats", "chats", ""},
		{[]string{"chats"}, "HEAD", "/messenger/v1/chats", "chats", ""},
		{[]string{"chats"}, "POST", "/messenger/v1/chats", "", DeniedMethod},
		{[]string{"crm", "deep"}, "GET", "/crm/v1/admin/x", "deep", ""},
		{[]string{"removed"}, "GET", "/crm/v1", "", DeniedOutOfScope},
		{nil, "GET", "/crm/v1", "", DeniedOutOfScope},
	}
	for _, tt := range tests {
		sc, reason := s.Match(tt.granted, tt.method, tt.path)
		got := ""
		if sc != nil {
			got = sc.Name
		}
		if got != tt.want || reason != tt.reason {
			t.Errorf("Match(%v, %s %s) = %q, %q; want %q, %q", tt.granted, tt.method, tt.path, got, reason, tt.want, tt.reason)
		}
	}
}

// FuzzPathScoping checks the promise the proxy rests on: whatever the raw
// path, if it is accepted and matched to a scope, then the path the
// upstream sees, once decoded and resolved as a server would, still lies
// under that scope's prefix and is the path that was checked.
func FuzzPathScoping(f *testing.F) {
	for _, seed := range []string{"/crm/v1/x", "/crm/../tasks", "/crm/%2e%2e/x", "/crm//x", "/crm/%252e", "/crm/..%2f", "/tasks/1", "/crm/a%20b"} {
		f.Add(seed)
	}
	s, _ := ScopesFromConfig(map[string]config.Scope{
		"crm":   {Prefixes: []string{"/crm/"}, Upstream: "http://crm"},
		"tasks": {Prefixes: []string{"/tasks/"}, Upstream: "http://tasks"},
	})
	f.Fuzz(func(t *testing.T, raw string) {
		clean, ok := CleanPath(raw)
		if !ok {
			return
		}
		if clean != raw {
			t.Fatalf("CleanPath changed %q to %q", raw, clean)
		}
		sc, _ := s.Match([]string{"crm"}, "GET", clean)
		if sc == nil {
			return
		}
		u, err := url.Parse("http://crm" + clean)
		if err != nil {
			t.Fatalf("accepted path %q does not parse: %v", raw, err)
		}
		decoded := u.Path
		resolved := path.Clean(decoded)
		if strings.HasSuffix(decoded, "/") && resolved != "/" {
			resolved += "/"
		}
		if resolved != decoded {
			t.Fatalf("accepted path %q resolves to %q, not %q", raw, resolved, decoded)
		}
		if !strings.HasPrefix(resolved, "/crm/") {
			t.Fatalf("accepted path %q for scope crm resolves outside it: %q", raw, resolved)
		}
		if strings.ContainsAny(decoded, "\\\x00") {
			t.Fatalf("accepted path %q decodes to %q", raw, decoded)
		}
	})
}
