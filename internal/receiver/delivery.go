package receiver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/hookgate/hookgate/signing"
)

// Limits of the receiver, fixed because it is a tool for trying and testing,
// not a production endpoint.
const (
	// MaxBodyBytes is the largest request body read; a larger one is answered
	// 413 and counted as failed.
	MaxBodyBytes = 1 << 20
	// MaxPrintedBody is how much of a body (pretty-printed when JSON) is
	// printed per delivery.
	MaxPrintedBody = 2 << 10
	// ConfirmTimeout bounds the GET of a SubscribeURL.
	ConfirmTimeout = 10 * time.Second
	// maxConfirmResponse is how much of the confirmation answer is read.
	maxConfirmResponse = 64 << 10
)

// ErrBodyTooLarge: the request body was over MaxBodyBytes.
var ErrBodyTooLarge = errors.New("request body over 1 MiB")

// Delivery is one request as the receiver saw it. Header and Body belong to
// the Delivery and must not be modified by its readers.
type Delivery struct {
	Received time.Time
	Method   string
	Path     string // the request URI: path and query
	ID       string // webhook-id
	Event    string // X-Webhook-Event
	Header   http.Header
	Body     []byte // the raw body, at most MaxBodyBytes
	// Verified is true when both signature schemes are valid for one of the
	// receiver's secrets and the timestamp is within tolerance.
	Verified bool
	// Err says why the delivery is not verified: nil when Verified,
	// signing.ErrNoSecrets when the receiver has no secret (nothing is
	// checked), ErrBodyTooLarge, a read error or one of the signing.Err*
	// errors.
	Err error
	// Confirmation is set when the receiver followed a SubscribeURL.
	Confirmation *Confirmation
}

// Confirmation is the outcome of following a SubscriptionConfirmation's
// SubscribeURL.
type Confirmation struct {
	URL        string
	StatusCode int   // 0 when no answer was received
	Err        error // nil when the answer was 2xx
}

// Stats counts deliveries by verification outcome.
type Stats struct {
	OK        uint64 // both schemes verified
	Failed    uint64 // verification failed (or the body was too large or unreadable)
	Unchecked uint64 // no secret given: nothing verified
}

// inspector reads, verifies and (optionally) confirms one request; it is the
// part the Receiver and the Recorder share.
type inspector struct {
	secrets     []string
	tolerance   time.Duration
	autoConfirm bool
	client      *http.Client
}

// inspect reads the request and returns what was received and the status to
// answer if nothing custom is done: ok on success or when nothing is checked,
// 401 when verification fails, 413 or 400 when the body cannot be read.
func (in inspector) inspect(r *http.Request, ok int) (Delivery, int) {
	d := Delivery{
		Received: time.Now(),
		Method:   r.Method,
		Path:     r.URL.RequestURI(),
		ID:       r.Header.Get(signing.HeaderWebhookID),
		Event:    r.Header.Get(signing.HeaderEvent),
		Header:   r.Header.Clone(),
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	switch {
	case err != nil:
		d.Body, d.Err = body, fmt.Errorf("read body: %w", err)
		return d, http.StatusBadRequest
	case len(body) > MaxBodyBytes:
		d.Body, d.Err = body[:MaxBodyBytes], ErrBodyTooLarge
		return d, http.StatusRequestEntityTooLarge
	}
	d.Body = body

	if len(in.secrets) == 0 {
		d.Err = signing.ErrNoSecrets
	} else if d.Err = signing.VerifyRequest(in.secrets, r.Header, body, d.Received, in.tolerance); d.Err == nil {
		d.Verified = true
	}
	// Follow a confirmation link only from an authentic sender (or when the
	// user chose to check nothing): otherwise anyone could make this receiver
	// fetch any URL.
	if in.autoConfirm && (d.Verified || errors.Is(d.Err, signing.ErrNoSecrets)) {
		d.Confirmation = in.confirm(r.Context(), body)
	}
	if len(in.secrets) > 0 && !d.Verified {
		return d, http.StatusUnauthorized
	}
	return d, ok
}

// subscriptionMessage is the part of an SNS-style SubscriptionConfirmation
// the receiver needs.
type subscriptionMessage struct {
	Type         string
	SubscribeURL string
}

// confirm GETs the SubscribeURL of an SNS-style SubscriptionConfirmation
// body. It returns nil when body is not such a message.
func (in inspector) confirm(ctx context.Context, body []byte) *Confirmation {
	var m subscriptionMessage
	if json.Unmarshal(body, &m) != nil || m.Type != "SubscriptionConfirmation" || m.SubscribeURL == "" {
		return nil
	}
	c := &Confirmation{URL: m.SubscribeURL}
	u, err := url.Parse(m.SubscribeURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.Err = errors.New("confirm: SubscribeURL is not an http(s) URL")
		return c
	}
	ctx, cancel := context.WithTimeout(ctx, ConfirmTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		c.Err = fmt.Errorf("confirm: %w", err)
		return c
	}
	resp, err := in.client.Do(req)
	if err != nil {
		c.Err = fmt.Errorf("confirm: %w", err)
		return c
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxConfirmResponse))
	c.StatusCode = resp.StatusCode
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		c.Err = fmt.Errorf("confirm: GET answered %s", resp.Status)
	}
	return c
}

// answer writes the default response: the reason in plain text when the
// delivery is refused, so that the sender's delivery log shows it.
func answer(w http.ResponseWriter, d Delivery, code int) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	if code >= 400 && d.Err != nil {
		_, _ = io.WriteString(w, d.Err.Error()+"\n")
		return
	}
	_, _ = io.WriteString(w, "ok\n")
}
