package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hookgate/hookgate"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// ConfirmPath is the public route confirmation links point to.
const ConfirmPath = "/v1/subscriptions/confirm"

// Confirmation message type, as in the Type field and the
// X-Webhook-Message-Type header.
const MessageTypeConfirmation = "SubscriptionConfirmation"

// ConfirmationMessage is what hookgate POSTs to each endpoint of an
// unconfirmed webhook, in the shape of an Amazon SNS SubscriptionConfirmation.
type ConfirmationMessage struct {
	Type         string `json:"Type"`
	MessageID    string `json:"MessageId"`
	Token        string `json:"Token"`
	TopicArn     string `json:"TopicArn"`
	Message      string `json:"Message"`
	SubscribeURL string `json:"SubscribeURL"`
	Timestamp    string `json:"Timestamp"`
	WebhookID    string `json:"WebhookId"`
	ExpiresAt    string `json:"ExpiresAt"`
}

// expiredKept is how long tokens are kept past their expiry, so that an
// expired link gets "expired" rather than "invalid".
const expiredKept = 7 * 24 * time.Hour

// RequestConfirmation sends the confirmation message, with a fresh
// single-use token, to every enabled endpoint of w that waits for its
// confirmation, in parallel. Each token confirms its endpoint's URL only.
func (m *Manager) RequestConfirmation(ctx context.Context, w *hookgate.Webhook) ([]hookgate.ConfirmationSent, error) {
	var eps []*hookgate.Endpoint
	for i := range w.Endpoints {
		if w.Endpoints[i].Enabled && w.Endpoints[i].Pending() {
			eps = append(eps, &w.Endpoints[i])
		}
	}
	out := make([]hookgate.ConfirmationSent, len(eps))
	ttl := m.Config.ConfirmTTL.D()
	now := time.Now().UTC()
	exp := now.Add(ttl)
	tokens := make([]hookgate.ConfirmToken, len(eps))
	for i := range eps {
		tokens[i] = hookgate.ConfirmToken{Token: hookgate.NewToken(),
			Namespace: w.Tenant, WebhookID: w.ID, EndpointID: eps[i].ID, URL: eps[i].URL}
	}
	if err := m.Tokens.Save(ctx, w.ID, tokens, exp, expiredKept); err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	for i, ep := range eps {
		wg.Go(func() { out[i] = m.sendConfirmation(ctx, w, ep, tokens[i].Token, now, exp) })
	}
	wg.Wait()
	return out, nil
}

func (m *Manager) sendConfirmation(ctx context.Context, w *hookgate.Webhook, ep *hookgate.Endpoint, token string, now, exp time.Time) hookgate.ConfirmationSent {
	link := strings.TrimRight(m.PublicURL, "/") + ConfirmPath + "?token=" + url.QueryEscape(token)
	msg := ConfirmationMessage{
		Type: MessageTypeConfirmation, MessageID: m.NewID("msg"), Token: token,
		TopicArn: "hookgate:" + w.Tenant + ":" + w.ID,
		Message: fmt.Sprintf("You have been subscribed to webhook '%s' (events: %s). To confirm the subscription, visit the SubscribeURL included in this message (GET) before %s.",
			w.Name, strings.Join(w.Events, ", "), exp.Format(time.RFC3339)),
		SubscribeURL: link, Timestamp: now.Format("2006-01-02T15:04:05.000Z"), WebhookID: w.ID,
		ExpiresAt: exp.Format("2006-01-02T15:04:05.000Z"),
	}
	body, _ := json.Marshal(msg)
	res := m.Sender.SendMessage(ctx, w, ep, msg.MessageID, MessageTypeConfirmation, body,
		map[string]string{"X-Webhook-Message-Type": MessageTypeConfirmation})
	s := hookgate.ConfirmationSent{EndpointID: ep.ID, URL: ep.URL, StatusCode: res.StatusCode}
	switch {
	case res.ErrorClass == "" && res.StatusCode >= 200 && res.StatusCode < 300:
		s.OK, s.Message = true, "HTTP "+strconv.Itoa(res.StatusCode)
	case res.ErrorClass == hookgate.ClassHTTPStatus:
		s.Message = "Failed: " + strconv.Itoa(res.StatusCode)
	default:
		s.Message = "Failed: " + res.ErrorClass
	}
	outcome := "sent"
	if !s.OK {
		outcome = "send_failed"
	}
	m.Metrics.confirmations.WithLabelValues(outcome).Inc()
	m.Logger.Info("subscription confirmation sent", "webhook_id", w.ID, "tenant", w.Tenant, "endpoint_id", ep.ID, "result", s.Message)
	return s
}

// Manager starts the handshake of webhooks created unconfirmed.

// ResendConfirmation sends the confirmation message again to the endpoints
// of a webhook that wait for their confirmation. Earlier links stay valid
// until they expire.
func (m *Manager) ResendConfirmation(ctx context.Context, ns, id string) ([]hookgate.ConfirmationSent, error) {
	w, err := m.Store.FindWebhookByID(ctx, ns, id)
	if err != nil {
		return nil, err
	}
	if !w.Enabled {
		return nil, hookgate.Errorf(hookgate.EDISABLED, "webhook %s is disabled: enable it before confirming its endpoints", id)
	}
	pending := false
	for i := range w.Endpoints {
		pending = pending || (w.Endpoints[i].Enabled && w.Endpoints[i].Pending())
	}
	if !pending {
		return nil, hookgate.Errorf(hookgate.ECONFLICT, "webhook %s is %s: no endpoint waits for its confirmation", id, w.Status)
	}
	return m.RequestConfirmation(ctx, w)
}

// Confirm follows a confirmation link: the token's webhook becomes active
// and its held events are released. A token works once; every other token
// of the webhook is spent with it. Unknown, used and expired tokens are told
// apart in the error, and change nothing.
func (m *Manager) Confirm(ctx context.Context, token string) (*hookgate.ConfirmResult, error) {
	if token == "" || len(token) > 256 {
		return nil, hookgate.Errorf(hookgate.ENOTFOUND, "this confirmation link is not valid")
	}
	state, tok, err := m.Tokens.Use(ctx, token, time.Now())
	if err != nil {
		return nil, fmt.Errorf("confirm subscription: %w", err)
	}
	switch state {
	case hookgate.TokenInvalid:
		m.Metrics.confirmations.WithLabelValues("invalid").Inc()
		return nil, hookgate.Errorf(hookgate.ENOTFOUND, "this confirmation link is not valid")
	case hookgate.TokenUsed:
		m.Metrics.confirmations.WithLabelValues("used").Inc()
		return nil, hookgate.Errorf(hookgate.ECONFLICT, "this confirmation link has already been used")
	case hookgate.TokenExpired:
		m.Metrics.confirmations.WithLabelValues("expired").Inc()
		return nil, hookgate.Errorf(hookgate.EEXPIRED, "this confirmation link has expired; ask the webhook's admin to resend the confirmation")
	}
	ns, id, epID, epURL := tok.Namespace, tok.WebhookID, tok.EndpointID, tok.URL
	errAlready := errors.New("already confirmed")
	errGone := errors.New("endpoint removed")
	errMoved := errors.New("endpoint URL changed")
	var confirmed []string // endpoint ids
	w, err := m.Store.UpdateWebhook(ctx, ns, id, func(w *hookgate.Webhook) error {
		confirmed = confirmed[:0]
		now := time.Now().UTC()
		for i := range w.Endpoints {
			e := &w.Endpoints[i]
			if epID != "" {
				if e.ID != epID {
					continue
				}
				if e.URL != epURL {
					return errMoved
				}
			}
			if e.Pending() {
				e.Confirmation, e.ConfirmedAt = hookgate.ConfirmationConfirmed, &now
				confirmed = append(confirmed, e.ID)
			}
		}
		if epID != "" && endpointOf(w, epID) == nil {
			return errGone
		}
		if len(confirmed) == 0 {
			return errAlready
		}
		w.SettleStatus(now)
		return nil
	})
	switch {
	case errors.Is(err, errAlready):
		return &hookgate.ConfirmResult{Confirmed: true, WebhookID: id, EndpointID: epID, URL: epURL, Message: "the subscription was already confirmed"}, nil
	case errors.Is(err, errGone):
		m.Metrics.confirmations.WithLabelValues("invalid").Inc()
		return nil, hookgate.Errorf(hookgate.ENOTFOUND, "this confirmation link is for an endpoint the webhook no longer has")
	case errors.Is(err, errMoved):
		m.Metrics.confirmations.WithLabelValues("invalid").Inc()
		return nil, hookgate.Errorf(hookgate.ECONFLICT, "this confirmation link is for an earlier URL of the endpoint; "+
			"the endpoint's current URL confirms with the link it was sent")
	case hookgate.ErrorCode(err) == hookgate.ENOTFOUND:
		return nil, hookgate.Errorf(hookgate.ENOTFOUND, "this confirmation link is not valid")
	case err != nil:
		// Give the token back: the state did not change.
		_ = m.Tokens.GiveBack(context.WithoutCancel(ctx), token)
		return nil, err
	}
	m.Tokens.Spend(ctx, id, epID)
	if m.Invalidate != nil {
		m.Invalidate(ns)
	}
	m.Metrics.confirmations.WithLabelValues("confirmed").Inc()
	// What the endpoints kept, and what the webhook kept for them (held
	// while confirmation was for the whole webhook), go back to the queue.
	n, err := m.release(ctx, w, "")
	for _, ep := range confirmed {
		if err != nil {
			break
		}
		var k int
		k, err = m.release(ctx, w, ep)
		n += k
	}
	if err != nil {
		m.Logger.Error("releasing held events failed; the sweep will retry", "webhook_id", id, "err", err)
	}
	m.Logger.Info("subscription confirmed", "webhook_id", id, "tenant", ns, "endpoint_id", epID, "released", n)
	msg := "subscription confirmed: the webhook is active"
	switch w.Status {
	case hookgate.StatusPendingConfirmation:
		msg = "subscription confirmed for this endpoint; other endpoints of the webhook still wait for their confirmation"
	case hookgate.StatusPaused, hookgate.StatusError:
		msg = "subscription confirmed; the webhook is " + string(w.Status) + ": its events are delivered once it is resumed"
	}
	return &hookgate.ConfirmResult{Confirmed: true, WebhookID: id, EndpointID: epID, URL: epURL, Status: w.Status, Released: n,
		Message: msg}, nil
}
