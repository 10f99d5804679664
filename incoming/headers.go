package incoming

import (
	"fmt"
	"net/http"
	"strings"
)

// DefaultForwardHeaders are the caller's headers passed to the upstream:
// what a REST call needs to describe its body, negotiate its answer, make a
// conditional or idempotent change, and say which client it is. Every other
// header of the caller is dropped, because some reach further than their
// name suggests: X-HTTP-Method-Override and its kin turn a GET (allowed by
// a GET-only scope) into a DELETE on frameworks that honour them,
// X-Original-URL and X-Rewrite-URL re-route the request past the checked
// path, and X-Forwarded-*, Forwarded, X-Real-IP, True-Client-IP, Client-IP
// and X-Client-IP let a caller pose as another address, host or scheme.
// hookgate sets its own X-Forwarded-For, X-Forwarded-Proto,
// X-Forwarded-Host, X-Request-Id, X-Hookgate-Incoming-Webhook and
// Authorization (the owner token).
var DefaultForwardHeaders = []string{
	"Accept", "Accept-Encoding", "Accept-Language",
	"Content-Encoding", "Content-Language", "Content-Type",
	"Idempotency-Key",
	"If-Match", "If-Modified-Since", "If-None-Match", "If-Unmodified-Since",
	"User-Agent",
}

// neverForward are headers incoming.forward_headers may not add: the
// caller's credentials, those hookgate sets itself, hop-by-hop ones, and
// those that steer the upstream's view of the method, the URL or the client.
var neverForward = map[string]bool{
	"Authorization": true, "Cookie": true, "Host": true, "Content-Length": true,
	"Forwarded": true, "X-Real-Ip": true, "X-Request-Id": true,
	"True-Client-Ip": true, "Client-Ip": true, "X-Client-Ip": true, "X-Cluster-Client-Ip": true,
	"X-Http-Method-Override": true, "X-Method-Override": true, "X-Http-Method": true,
	"X-Original-Url": true, "X-Rewrite-Url": true, "X-Original-Uri": true, "X-Url-Scheme": true,
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// HeaderSet is the set of caller headers forwarded upstream, by canonical
// name (see NewHeaderSet).
type HeaderSet map[string]bool

// NewHeaderSet is DefaultForwardHeaders plus extra (incoming.forward_headers).
// It refuses a name that is not a header name or that may never be
// forwarded (see DefaultForwardHeaders for why).
func NewHeaderSet(extra []string) (HeaderSet, error) {
	s := HeaderSet{}
	for _, h := range DefaultForwardHeaders {
		s[http.CanonicalHeaderKey(h)] = true
	}
	for _, h := range extra {
		k := http.CanonicalHeaderKey(strings.TrimSpace(h))
		switch {
		case !isToken(k):
			return nil, fmt.Errorf("%q is not a header name", h)
		case neverForward[k] || strings.HasPrefix(k, "X-Forwarded-") || strings.HasPrefix(k, "X-Hookgate-"):
			return nil, fmt.Errorf("%s is never forwarded: it carries credentials, is set by hookgate, or steers how the upstream reads the request", k)
		}
		s[k] = true
	}
	return s, nil
}

var defaultHeaderSet, _ = NewHeaderSet(nil)

// has reports whether the canonical header name k is forwarded.
func (s HeaderSet) has(k string) bool {
	if s == nil {
		return defaultHeaderSet[k]
	}
	return s[k]
}

// isToken reports whether s is an HTTP token (RFC 9110 5.6.2), the syntax
// of a header name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}
