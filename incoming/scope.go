package incoming

import (
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
)

// Scope is one configured scope: the path prefixes it opens, the upstream
// serving them and the methods allowed (nil: all).
type Scope struct {
	Name     string
	Prefixes []string
	Upstream *url.URL
	base     string // upstream without a trailing slash
	Methods  []string
}

// Scopes are the configured scopes by name.
type Scopes map[string]*Scope

// ScopesFromConfig compiles the incoming.scopes section (already validated).
func ScopesFromConfig(cfg map[string]config.Scope) (Scopes, error) {
	out := Scopes{}
	for name, sc := range cfg {
		u, err := url.Parse(sc.Upstream)
		if err != nil {
			return nil, err
		}
		out[name] = &Scope{Name: name, Prefixes: slices.Clone(sc.Prefixes), Upstream: u,
			base: strings.TrimRight(sc.Upstream, "/"), Methods: slices.Clone(sc.Methods)}
	}
	return out, nil
}

// Info describes every scope, sorted by name.
func (s Scopes) Info() []hookgate.IncomingScope {
	out := make([]hookgate.IncomingScope, 0, len(s))
	for _, name := range s.Names() {
		sc := s[name]
		m := sc.Methods
		if m == nil {
			m = []string{}
		}
		out = append(out, hookgate.IncomingScope{Name: name, Prefixes: slices.Clone(sc.Prefixes), Methods: slices.Clone(m)})
	}
	return out
}

// Names lists the scope names, sorted.
func (s Scopes) Names() []string {
	out := make([]string, 0, len(s))
	for n := range s {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Denial reasons, as kept in the request log (never told to the caller,
// who always reads the same "Access is denied!").
const (
	DeniedUnknownToken = "unknown_token"
	DeniedDisabled     = "disabled"
	DeniedBadPath      = "bad_path"
	DeniedOutOfScope   = "out_of_scope"
	DeniedMethod       = "method_not_allowed"
)

// Match finds the scope among granted that opens method on path (a path
// CleanPath accepted): the one with the longest matching prefix. It returns
// the scope, or "" and the denial reason.
func (s Scopes) Match(granted []string, method, path string) (*Scope, string) {
	var best *Scope
	bestLen := 0
	for _, name := range granted {
		sc, ok := s[name]
		if !ok {
			continue // a scope removed from config since: it opens nothing
		}
		for _, p := range sc.Prefixes {
			if len(p) > bestLen && strings.HasPrefix(path, p) {
				best, bestLen = sc, len(p)
			}
		}
	}
	if best == nil {
		return nil, DeniedOutOfScope
	}
	if len(best.Methods) > 0 && !slices.Contains(best.Methods, method) && !(method == "HEAD" && slices.Contains(best.Methods, "GET")) {
		return nil, DeniedMethod
	}
	return best, ""
}

// maxPath bounds the path below the token.
const maxPath = 4096

// CleanPath checks the raw (still percent-encoded) path below an incoming
// URL and returns it unchanged when it is safe to append to an upstream:
// it starts with "/", every escape is well-formed and encodes none of
// "/", "\", ".", "%" or a control character (no encoded traversal, no
// double encoding), it holds no raw backslash, control, space, non-ASCII or
// ";" byte, no "." or ".." segment and no empty segment but a trailing one,
// and it decodes to valid UTF-8 (no overlong encodings of "." or "/").
// Anything else is refused: the caller gets Access denied.
func CleanPath(raw string) (string, bool) {
	if raw == "" || raw[0] != '/' || len(raw) > maxPath {
		return "", false
	}
	var decoded []byte // only when there are escapes
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '%':
			if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
				return "", false
			}
			v := unhex(raw[i+1])<<4 | unhex(raw[i+2])
			if v == '/' || v == '\\' || v == '.' || v == '%' || v < 0x20 || v == 0x7f {
				return "", false
			}
			if decoded == nil {
				decoded = append(make([]byte, 0, len(raw)), raw[:i]...)
			}
			decoded = append(decoded, v)
			i += 2
			continue
		case c <= ' ' || c >= 0x7f || c == '\\' || c == ';' || c == '?' || c == '#':
			return "", false
		}
		if decoded != nil {
			decoded = append(decoded, c)
		}
	}
	if decoded != nil && !utf8.Valid(decoded) {
		return "", false
	}
	segs := strings.Split(raw[1:], "/")
	for i, seg := range segs {
		switch {
		case seg == "." || seg == "..":
			return "", false
		case seg == "" && i != len(segs)-1:
			return "", false
		}
	}
	return raw, true
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
