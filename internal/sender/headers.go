package sender

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	// MaxResultHeaders is how many response headers a Result keeps.
	MaxResultHeaders = 32
	// MaxHeaderValue is how many bytes of each kept header value a Result keeps.
	MaxHeaderValue = 1 << 10
	// maxRetryAfter bounds a parsed Retry-After, against overflow; callers
	// apply their own, smaller cap.
	maxRetryAfter = 365 * 24 * time.Hour
)

// keptFirst are the headers kept whatever else the answer carries, when it
// carries more than MaxResultHeaders.
var keptFirst = [...]string{"Location", "Retry-After", "Content-Type", "Content-Length", "Date", "Server"}

// captureHeaders returns a bounded copy of h for the delivery log. The keys
// are http's canonical forms. Values are shared with h, not copied.
func captureHeaders(h http.Header) map[string]string {
	if len(h) == 0 {
		return nil
	}
	m := make(map[string]string, min(len(h), MaxResultHeaders))
	if len(h) <= MaxResultHeaders {
		for k, vs := range h {
			m[k] = headerValue(vs)
		}
		return m
	}
	// More than the bound (rare): the useful ones first, then by name, so
	// the choice does not depend on map order.
	for _, k := range keptFirst {
		if vs, ok := h[k]; ok {
			m[k] = headerValue(vs)
		}
	}
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if len(m) >= MaxResultHeaders {
			break
		}
		if _, ok := m[k]; !ok {
			m[k] = headerValue(h[k])
		}
	}
	return m
}

// headerValue joins a header's values and cuts the result to MaxHeaderValue
// bytes, at a UTF-8 boundary.
func headerValue(vs []string) string {
	var v string
	switch len(vs) {
	case 0:
		return ""
	case 1:
		v = vs[0]
	default:
		v = strings.Join(vs, ", ")
	}
	if len(v) <= MaxHeaderValue {
		return v
	}
	cut := MaxHeaderValue
	for cut > MaxHeaderValue-utf8.UTFMax && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return v[:cut]
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP date
// (RFC 9110 10.2.3), relative to now. Anything else, or a date in the past,
// is 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if v[0] >= '0' && v[0] <= '9' {
		secs, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return maxRetryAfter
			}
			return 0
		}
		if secs >= uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(secs) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	d := t.Sub(now)
	if d <= 0 {
		return 0
	}
	return min(d, maxRetryAfter)
}
