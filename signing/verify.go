package signing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Verification failures. VerifyRequest wraps one of these with the details;
// match them with errors.Is.
var (
	// ErrNoSecrets: VerifyRequest was given no secret to verify with.
	ErrNoSecrets = errors.New("no webhook secret to verify with")
	// ErrMissingHeader: a header of either scheme is absent or empty.
	ErrMissingHeader = errors.New("missing webhook signature header")
	// ErrInvalidTimestamp: a timestamp is not an integer, or the two schemes'
	// timestamps differ.
	ErrInvalidTimestamp = errors.New("invalid webhook timestamp")
	// ErrTimestampTooOld: the delivery was signed longer ago than the
	// tolerance (a possible replay).
	ErrTimestampTooOld = errors.New("webhook timestamp too old")
	// ErrTimestampTooNew: the delivery claims to be signed further in the
	// future than the tolerance.
	ErrTimestampTooNew = errors.New("webhook timestamp too far in the future")
	// ErrSignatureMismatch: no secret makes both schemes' signatures valid.
	ErrSignatureMismatch = errors.New("webhook signature mismatch")
)

// maxSignatures bounds how many "v1," entries of one webhook-signature header
// are checked, so that a hostile header cannot make verification expensive.
const maxSignatures = 16

// VerifySeed reports whether sigHex is the seed scheme's signature of body at
// timestamp ts with secret: the hex HMAC-SHA256, keyed with the secret's bytes
// as given, of "{ts}.{body}". ts is the X-Webhook-Timestamp header as
// received. The comparison is constant-time; upper-case hex is accepted.
func VerifySeed(secret string, ts string, body []byte, sigHex string) bool {
	var got [sha256.Size]byte
	if len(sigHex) != hexSigLen {
		return false
	}
	if _, err := hex.Decode(got[:], []byte(sigHex)); err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return hmac.Equal(mac.Sum(nil), got[:])
}

// VerifyStandard reports whether the webhook-signature header sigHeader holds
// at least one "v1,<base64>" entry that is the Standard Webhooks signature of
// "{id}.{ts}.{body}" keyed with secret's StandardKey. Entries are separated by
// spaces; entries of other versions are ignored, and at most 16 are checked.
// The comparisons are constant-time.
func VerifyStandard(secret, id, ts string, body []byte, sigHeader string) bool {
	mac := hmac.New(sha256.New, StandardKey(secret))
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	want := mac.Sum(nil)

	var got [sha256.Size + 2]byte // room for a decoder that writes past 32 on bad padding
	checked := 0
	rest := sigHeader
	for rest != "" && checked < maxSignatures {
		var entry string
		entry, rest, _ = strings.Cut(rest, " ")
		if entry == "" {
			continue
		}
		checked++
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" || len(sig) != b64SigLen {
			continue
		}
		n, err := base64.StdEncoding.Decode(got[:], []byte(sig))
		if err != nil || n != sha256.Size {
			continue
		}
		if hmac.Equal(got[:n], want) {
			return true
		}
	}
	return false
}

// VerifyRequest verifies a delivery as hookgate sends it: both schemes'
// headers must be present, both timestamps equal and within tolerance of now
// (zero or negative tolerance means DefaultTolerance), and one of secrets
// must make both signatures valid. During a rotation the seed signature may be
// found in X-Webhook-Signature-Previous instead, for a receiver that still
// holds the previous secret. It returns nil when the delivery is authentic,
// otherwise an error wrapping one of the Err* values of this package with the
// reason. body must be the raw bytes received.
func VerifyRequest(secrets []string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if len(secrets) == 0 {
		return ErrNoSecrets
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	seedTS := header(h, HeaderTimestamp)
	seedSig := header(h, HeaderSignature)
	seedPrev := header(h, HeaderSignaturePrevious)
	id := header(h, HeaderWebhookID)
	stdTS := header(h, HeaderWebhookTimestamp)
	stdSig := header(h, HeaderWebhookSignature)

	var missing []string
	for _, f := range [...]struct{ name, value string }{
		{HeaderTimestamp, seedTS}, {HeaderSignature, seedSig},
		{HeaderWebhookID, id}, {HeaderWebhookTimestamp, stdTS}, {HeaderWebhookSignature, stdSig},
	} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s", ErrMissingHeader, strings.Join(missing, ", "))
	}
	if seedTS != stdTS {
		return fmt.Errorf("%w: %s %q differs from %s %q", ErrInvalidTimestamp,
			HeaderTimestamp, clip(seedTS), HeaderWebhookTimestamp, clip(stdTS))
	}
	sec, err := strconv.ParseInt(seedTS, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %q is not unix seconds", ErrInvalidTimestamp, clip(seedTS))
	}
	// Compare in whole seconds: time.Unix of an absurd value would overflow
	// Duration arithmetic.
	n, tol := now.Unix(), int64(tolerance/time.Second)
	switch {
	case sec < n-tol:
		return fmt.Errorf("%w: signed %s ago, tolerance %s", ErrTimestampTooOld, gap(n, sec), tolerance)
	case sec > n+tol:
		return fmt.Errorf("%w: signed %s ahead, tolerance %s", ErrTimestampTooNew, gap(sec, n), tolerance)
	}

	anySeed, anyStd := false, false
	for _, s := range secrets {
		seedOK := VerifySeed(s, seedTS, body, seedSig) ||
			(seedPrev != "" && VerifySeed(s, seedTS, body, seedPrev))
		stdOK := VerifyStandard(s, id, stdTS, body, stdSig)
		if seedOK && stdOK {
			return nil
		}
		anySeed = anySeed || seedOK
		anyStd = anyStd || stdOK
	}
	switch {
	case !anySeed && !anyStd:
		return fmt.Errorf("%w: neither %s nor %s matches any secret", ErrSignatureMismatch, HeaderSignature, HeaderWebhookSignature)
	case !anySeed:
		return fmt.Errorf("%w: %s matches no secret (%s does)", ErrSignatureMismatch, HeaderSignature, HeaderWebhookSignature)
	case !anyStd:
		return fmt.Errorf("%w: %s matches no secret (%s does)", ErrSignatureMismatch, HeaderWebhookSignature, HeaderSignature)
	default:
		return fmt.Errorf("%w: %s and %s match different secrets", ErrSignatureMismatch, HeaderSignature, HeaderWebhookSignature)
	}
}

// header returns the first value of name in h, whether h was filled through
// Set/Add (canonical keys) or as a literal map with the name as spelt here.
func header(h http.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	if v := h[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// gap returns hi-lo seconds (hi > lo) as a duration, saturating instead of
// overflowing.
func gap(hi, lo int64) time.Duration {
	const maxSec = int64(time.Duration(math.MaxInt64) / time.Second)
	if lo < 0 && hi > math.MaxInt64+lo || hi-lo > maxSec {
		return time.Duration(maxSec) * time.Second
	}
	return time.Duration(hi-lo) * time.Second
}

// clip shortens an untrusted header value for an error message.
func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}
