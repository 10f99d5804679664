package deliver

import (
	"context"
	"net/http"
	"net/textproto"
	"slices"
	"sync"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/sender"
	"github.com/hookgate/hookgate/signing"
)

// Signer builds signed requests, for deliveries and for the control messages
// of the webhook lifecycle (the subscription confirmation): the one place
// that signs. It keeps each webhook's derived signing keys until its secrets
// change. It depends on nothing but the HTTP sender, so the lifecycle can
// send through it without a loop back to the worker.
type Signer struct {
	sender  Sender
	timeout time.Duration // a request's timeout unless its webhook sets one
	cache   sync.Map      // webhook id -> *keyEntry
}

// NewSigner returns a Signer that sends control messages with s, and whose
// requests time out after timeout unless their webhook sets its own.
func NewSigner(s Sender, timeout time.Duration) *Signer {
	return &Signer{sender: s, timeout: timeout}
}

type keyEntry struct {
	secret, prev string
	until        time.Time
	keys         []signing.Key
}

// keys returns the webhook's derived signing keys, cached until its
// secrets change.
func (s *Signer) keys(w *hookgate.Webhook, now time.Time) []signing.Key {
	secrets := w.Secrets(now)
	if len(secrets) == 0 {
		return nil
	}
	if v, ok := s.cache.Load(w.ID); ok {
		e := v.(*keyEntry)
		if e.secret == w.Secret && e.prev == w.PreviousSecret && e.until.Equal(w.PreviousSecretUntil) && len(e.keys) == len(secrets) {
			return e.keys
		}
	}
	e := &keyEntry{secret: w.Secret, prev: w.PreviousSecret, until: w.PreviousSecretUntil}
	for _, s := range secrets {
		e.keys = append(e.keys, signing.NewKey(s))
	}
	s.cache.Store(w.ID, e)
	return e.keys
}

// Request builds the signed request: the one place that signs deliveries.
// The endpoint's custom headers (ep may be nil) replace the format's of the
// same name; Validate has refused the reserved ones.
func (s *Signer) Request(w *hookgate.Webhook, ep *hookgate.Endpoint, url, id, eventType string, p *hookgate.Payload, now time.Time) *sender.Request {
	var custom map[string]string
	if ep != nil {
		custom = ep.Headers
	}
	hs := make([]signing.Header, 0, 8+len(p.Headers)+len(custom))
	ct := p.ContentType
	if ct == "" {
		ct = "application/json"
	}
	hs = append(hs, signing.Header{Name: "Content-Type", Value: ct})
	for k, v := range p.Headers {
		hs = append(hs, signing.Header{Name: k, Value: v})
	}
	if len(custom) > 0 {
		hs = appendCustom(hs, custom)
	}
	hs = signing.AppendHeaders(hs, id, eventType, now.Unix(), p.Body, s.keys(w, now)...)
	// One backing array for every header value slice: two allocations in all.
	h := make(http.Header, len(hs)+1)
	vals := make([]string, len(hs))
	for i, x := range hs {
		vals[i] = x.Value
		h[x.Name] = vals[i : i+1 : i+1]
	}
	timeout := s.timeout
	if w.Timeout > 0 {
		timeout = w.Timeout.D()
	}
	return &sender.Request{URL: url, Body: p.Body, Headers: h, Timeout: timeout}
}

// appendCustom adds an endpoint's custom headers to hs under their canonical
// names, dropping a header of the same name the format set.
func appendCustom(hs []signing.Header, custom map[string]string) []signing.Header {
	for k, v := range custom {
		c := textproto.CanonicalMIMEHeaderKey(k)
		hs = slices.DeleteFunc(hs, func(h signing.Header) bool { return textproto.CanonicalMIMEHeaderKey(h.Name) == c })
		hs = append(hs, signing.Header{Name: c, Value: v})
	}
	return hs
}

// SendMessage signs body as the webhook's deliveries are signed and sends it
// once to ep, with no retry and no delivery log: for control messages such
// as the subscription confirmation. extra headers are added before signing.
func (s *Signer) SendMessage(ctx context.Context, w *hookgate.Webhook, ep *hookgate.Endpoint, id, eventType string, body []byte, extra map[string]string) *sender.Result {
	p := &hookgate.Payload{Body: body, ContentType: "application/json", Headers: extra}
	return s.sender.Send(ctx, s.Request(w, ep, ep.URL, id, eventType, p, time.Now()))
}
