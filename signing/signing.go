// Package signing is the one place in hookgate that signs deliveries, and the
// one place that verifies those signatures (for `hookgate receive`, for tests
// and as the reference for receivers).
//
// Every signed delivery carries two schemes at once, so that a receiver of
// either school verifies without effort:
//
//   - The seed scheme: X-Webhook-Event, X-Webhook-Timestamp (unix seconds) and
//     X-Webhook-Signature, the lowercase hex HMAC-SHA256 of "{timestamp}.{body}".
//     The key is the bytes of the secret exactly as the admin sees it,
//     "whsec_" prefix included (as in `hmac.new(secret.encode(), ...)`).
//   - Standard Webhooks (standardwebhooks.com): webhook-id (the delivery id,
//     the same on every retry), webhook-timestamp (unix seconds) and
//     webhook-signature, "v1," followed by the standard base64 HMAC-SHA256 of
//     "{id}.{timestamp}.{body}". The key is the base64-decoded part after the
//     "whsec_" prefix; a secret that is not of that form (no prefix, or not
//     valid base64 after it) is used as raw bytes, whole.
//
// Secret rotation: during a grace period a delivery is signed with several
// keys, the current one first. webhook-signature then carries one
// space-separated "v1,<sig>" entry per key, as the Standard Webhooks
// specification allows. X-Webhook-Signature carries the current key's
// signature only, and X-Webhook-Signature-Previous carries the previous (second)
// key's hex signature, so a seed-style receiver still holding the old secret
// keeps verifying until it switches. After the grace period only the current
// key signs and X-Webhook-Signature-Previous is absent.
//
// AppendHeaders is on the delivery hot path: it does not use fmt, takes
// precomputed Keys (callers may cache them) and allocates once per call for all
// header values together. This package must not send anything, log secrets or
// decide which secrets apply; the caller passes the keys in.
package signing

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Header names. The Standard Webhooks names are lowercase as in their
// specification; HTTP header names are case-insensitive, so net/http's
// canonical forms (Webhook-Id, ...) are the same headers.
const (
	// HeaderEvent carries the event type, e.g. contact.created (seed scheme).
	HeaderEvent = "X-Webhook-Event"
	// HeaderTimestamp carries the signing time in unix seconds (seed scheme).
	HeaderTimestamp = "X-Webhook-Timestamp"
	// HeaderSignature carries the lowercase hex HMAC-SHA256 of
	// "{timestamp}.{body}" with the current secret (seed scheme).
	HeaderSignature = "X-Webhook-Signature"
	// HeaderSignaturePrevious carries the same signature made with the previous
	// secret, only while a rotated secret is in its grace period.
	HeaderSignaturePrevious = "X-Webhook-Signature-Previous"
	// HeaderWebhookID carries the delivery's stable id (Standard Webhooks).
	HeaderWebhookID = "webhook-id"
	// HeaderWebhookTimestamp carries the signing time in unix seconds
	// (Standard Webhooks).
	HeaderWebhookTimestamp = "webhook-timestamp"
	// HeaderWebhookSignature carries space-separated "v1,<base64>" signatures
	// of "{id}.{timestamp}.{body}", one per secret (Standard Webhooks).
	HeaderWebhookSignature = "webhook-signature"
)

// SecretPrefix marks a Standard Webhooks secret: the rest is the base64 of
// the key bytes.
const SecretPrefix = "whsec_"

// NewSecret returns a new webhook signing secret in the Standard Webhooks
// form: SecretPrefix followed by the standard base64 of 32 bytes from
// crypto/rand.
func NewSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails: crypto/rand.Read panics rather than return an error
	return SecretPrefix + base64.StdEncoding.EncodeToString(b[:])
}

// DefaultTolerance is how far a delivery's timestamp may be from the
// receiver's clock, in either direction, before VerifyRequest refuses it.
const DefaultTolerance = 5 * time.Minute

const (
	hexSigLen = 2 * sha256.Size             // 64
	b64SigLen = 4 * ((sha256.Size + 2) / 3) // 44, padded standard base64 of a SHA-256 sum
	v1Prefix  = "v1,"                       // version tag of a Standard Webhooks signature
	v1SigLen  = len(v1Prefix) + b64SigLen   // one "v1,<base64>" entry
	maxTSLen  = len("-9223372036854775808") // longest int64
	maxPooled = 1024                        // scratch buffers larger than this are not kept
)

// Header is one HTTP header to send, name and value.
type Header struct {
	Name, Value string
}

// Key is a signing secret with both derived keys precomputed: the seed
// scheme's (the secret's bytes) and the Standard Webhooks one (the decoded
// whsec_ bytes). A Key is safe for concurrent use and cheap to copy; callers
// may cache Keys per webhook. The zero Key signs with an empty secret.
type Key struct {
	k *key
}

type key struct {
	seed, std         []byte
	seedPool, stdPool sync.Pool // of *hasher, each an HMAC keyed once
}

// hasher is a reusable keyed HMAC with scratch space, so that signing does not
// allocate once the pool is warm.
type hasher struct {
	mac     hash.Hash
	scratch []byte
	sum     [sha256.Size]byte
}

// NewKey derives both keys of secret. It never fails: a secret that is not of
// the whsec_ form is used as raw bytes for the Standard Webhooks scheme too.
func NewKey(secret string) Key {
	k := &key{seed: []byte(secret), std: StandardKey(secret)}
	k.seedPool.New = func() any { return newHasher(k.seed) }
	k.stdPool.New = func() any { return newHasher(k.std) }
	return Key{k: k}
}

// StandardKey returns the Standard Webhooks HMAC key of secret: the
// base64-decoded bytes after the whsec_ prefix, or the raw bytes of the whole
// secret when it is not of that form.
func StandardKey(secret string) []byte {
	if rest, ok := strings.CutPrefix(secret, SecretPrefix); ok && rest != "" {
		if b, err := base64.StdEncoding.DecodeString(rest); err == nil {
			return b
		}
	}
	return []byte(secret)
}

func newHasher(k []byte) *hasher {
	return &hasher{mac: hmac.New(sha256.New, k), scratch: make([]byte, 0, 64)}
}

func (k Key) seedHasher() (*hasher, *sync.Pool) {
	if k.k == nil {
		return newHasher(nil), nil
	}
	return k.k.seedPool.Get().(*hasher), &k.k.seedPool
}

func (k Key) stdHasher() (*hasher, *sync.Pool) {
	if k.k == nil {
		return newHasher(nil), nil
	}
	return k.k.stdPool.Get().(*hasher), &k.k.stdPool
}

func release(h *hasher, p *sync.Pool) {
	if p == nil {
		return
	}
	if cap(h.scratch) > maxPooled {
		h.scratch = make([]byte, 0, 64)
	}
	p.Put(h)
}

// seedSum computes HMAC(seed key, "{ts}.{body}") into dst, hex-encoded.
func (k Key) seedSum(dst *[hexSigLen]byte, ts int64, body []byte) {
	h, p := k.seedHasher()
	h.mac.Reset()
	h.scratch = append(strconv.AppendInt(h.scratch[:0], ts, 10), '.')
	h.mac.Write(h.scratch)
	h.mac.Write(body)
	sum := h.mac.Sum(h.sum[:0])
	hex.Encode(dst[:], sum)
	release(h, p)
}

// stdSum computes HMAC(standard key, "{id}.{ts}.{body}") into dst, base64.
func (k Key) stdSum(dst *[b64SigLen]byte, id string, ts int64, body []byte) {
	h, p := k.stdHasher()
	h.mac.Reset()
	h.scratch = append(h.scratch[:0], id...)
	h.scratch = append(strconv.AppendInt(append(h.scratch, '.'), ts, 10), '.')
	h.mac.Write(h.scratch)
	h.mac.Write(body)
	sum := h.mac.Sum(h.sum[:0])
	base64.StdEncoding.Encode(dst[:], sum)
	release(h, p)
}

// AppendHeaders appends the signing headers of one delivery to dst and
// returns the extended slice:
//
//	X-Webhook-Event: eventType
//	X-Webhook-Timestamp: ts
//	X-Webhook-Signature: hex HMAC of "{ts}.{body}" with keys[0]       (if keys)
//	X-Webhook-Signature-Previous: the same with keys[1]               (if 2+ keys)
//	webhook-id: id
//	webhook-timestamp: ts
//	webhook-signature: v1,<sig keys[0]> v1,<sig keys[1]> ...          (if keys)
//
// With no keys the delivery is unsigned: the four other headers are still
// appended. keys are in order of preference, the current secret first. body
// must be the exact bytes sent.
func AppendHeaders(dst []Header, id, eventType string, ts int64, body []byte, keys ...Key) []Header {
	n := len(keys)
	size := maxTSLen
	if n > 0 {
		size += hexSigLen + n*v1SigLen + n - 1
		if n > 1 {
			size += hexSigLen
		}
	}
	var b strings.Builder
	b.Grow(size)

	var tsBuf [maxTSLen]byte
	b.Write(strconv.AppendInt(tsBuf[:0], ts, 10))
	tsEnd := b.Len()

	var hx [hexSigLen]byte
	var sigEnd, prevEnd int
	if n > 0 {
		keys[0].seedSum(&hx, ts, body)
		b.Write(hx[:])
		sigEnd = b.Len()
		prevEnd = sigEnd
		if n > 1 {
			keys[1].seedSum(&hx, ts, body)
			b.Write(hx[:])
			prevEnd = b.Len()
		}
		var sig [b64SigLen]byte
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(' ')
			}
			k.stdSum(&sig, id, ts, body)
			b.WriteString(v1Prefix)
			b.Write(sig[:])
		}
	}

	all := b.String()
	tsStr := all[:tsEnd]
	dst = append(dst,
		Header{HeaderEvent, eventType},
		Header{HeaderTimestamp, tsStr},
	)
	if n > 0 {
		dst = append(dst, Header{HeaderSignature, all[tsEnd:sigEnd]})
		if n > 1 {
			dst = append(dst, Header{HeaderSignaturePrevious, all[sigEnd:prevEnd]})
		}
	}
	dst = append(dst,
		Header{HeaderWebhookID, id},
		Header{HeaderWebhookTimestamp, tsStr},
	)
	if n > 0 {
		dst = append(dst, Header{HeaderWebhookSignature, all[prevEnd:]})
	}
	return dst
}
