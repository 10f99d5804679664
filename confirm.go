package hookgate

import (
	"context"
	"time"
)

// ConfirmToken is what a confirmation link's token confirms: one endpoint
// URL of one webhook. Tokens sent before confirmation was per endpoint have
// no endpoint and URL.
type ConfirmToken struct {
	Token      string // the secret in the link; only its hash is stored
	Namespace  string
	WebhookID  string
	EndpointID string
	URL        string
}

// The states of a confirmation token, as ConfirmTokens.Use answers them.
const (
	TokenOK      = "ok"
	TokenInvalid = "invalid"
	TokenUsed    = "used"
	TokenExpired = "expired"
)

// ConfirmTokens keeps the single-use tokens of subscription confirmation
// links (internal/store.ConfirmTokens).
type ConfirmTokens interface {
	// Save stores the tokens of webhook wh, valid until exp and kept keep
	// after (so that an expired link gets "expired", not "invalid").
	Save(ctx context.Context, wh string, tokens []ConfirmToken, exp time.Time, keep time.Duration) error
	// Use marks a token used and returns its state and what it confirms.
	Use(ctx context.Context, token string, now time.Time) (string, ConfirmToken, error)
	// GiveBack makes a used token usable again (its use failed half-way).
	GiveBack(ctx context.Context, token string) error
	// Spend invalidates every token of endpoint ep of wh.
	Spend(ctx context.Context, wh, ep string)
}
