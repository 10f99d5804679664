package hookgate

import (
	"net/textproto"
	"slices"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// Limits on an endpoint's custom headers (endpoints[].headers).
const (
	MaxEndpointHeaders     = 20      // headers per endpoint
	MaxEndpointHeaderName  = 128     // bytes of a name
	MaxEndpointHeaderValue = 2 << 10 // bytes of a value
	MaxEndpointHeaderBytes = 8 << 10 // bytes of every name and value together
)

// hopHeaders are the hop-by-hop and connection headers (RFC 9110 7.6.1 and
// the like), by canonical name: they describe one connection, and net/http
// manages them itself.
var hopHeaders = []string{
	"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Upgrade", "Host", "Expect",
}

// ReservedHeader reports why name may not be one of an endpoint's custom
// headers, or "" when it may. Reserved are hookgate's signature and identity
// headers (Webhook-*, X-Webhook-*: a receiver must be able to trust them),
// the body's own headers (Content-*, Transfer-Encoding: the format decides
// them) and the hop-by-hop headers.
func ReservedHeader(name string) string {
	c := textproto.CanonicalMIMEHeaderKey(name)
	switch {
	case strings.HasPrefix(c, "Webhook-"), strings.HasPrefix(c, "X-Webhook-"):
		return "is set by hookgate's signature"
	case strings.HasPrefix(c, "Content-"), c == "Transfer-Encoding":
		return "describes the body, which the webhook's format decides"
	case slices.Contains(hopHeaders, c):
		return "is a hop-by-hop or connection header that hookgate manages"
	}
	return ""
}

// ValidateHeaders checks one endpoint's custom headers: valid HTTP names
// and values, no reserved name, none twice in another case, within the
// limits. Problems are added to v under field.headers or field.headers.Name.
func ValidateHeaders(v *Validation, field string, h map[string]string) {
	if len(h) == 0 {
		return
	}
	field += ".headers"
	if len(h) > MaxEndpointHeaders {
		v.Add(field, "at most %d headers are allowed", MaxEndpointHeaders)
		return
	}
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names) // report in a stable order
	seen := make(map[string]string, len(h))
	total := 0
	for _, k := range names {
		val := h[k]
		total += len(k) + len(val)
		f := field + "." + k
		switch {
		case k == "" || len(k) > MaxEndpointHeaderName || !httpguts.ValidHeaderFieldName(k):
			v.Add(field, "header name %q is not a valid HTTP header name of at most %d characters", trimForMessage(k), MaxEndpointHeaderName)
		case ReservedHeader(k) != "":
			v.Add(f, "header %s %s and cannot be set on an endpoint", k, ReservedHeader(k))
		case seen[textproto.CanonicalMIMEHeaderKey(k)] != "":
			v.Add(f, "header %s is given twice (as %s too); header names are case-insensitive", k, seen[textproto.CanonicalMIMEHeaderKey(k)])
		case len(val) > MaxEndpointHeaderValue:
			v.Add(f, "header value must be at most %d bytes", MaxEndpointHeaderValue)
		case !httpguts.ValidHeaderFieldValue(val):
			v.Add(f, "header value must not contain control characters or line breaks")
		}
		seen[textproto.CanonicalMIMEHeaderKey(k)] = k
	}
	if total > MaxEndpointHeaderBytes {
		v.Add(field, "headers must be at most %d bytes in all", MaxEndpointHeaderBytes)
	}
}

// trimForMessage cuts a long bad input for an error message.
func trimForMessage(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
