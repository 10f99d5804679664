package hookgate

import (
	"context"
	"time"
)

// IncomingWebhook is a secret URL through which a third party calls the
// CRM's API on behalf of the admin who created it (its Owner), within its
// Scopes. The token that makes the URL secret is never serialised with the
// record: the admin API shows it only as part of URL.
type IncomingWebhook struct {
	ID     string `json:"id"`
	Tenant string `json:"-"`
	Name   string `json:"name"`
	// Owner is the subject of the admin who created the webhook; the CRM is
	// called as this user.
	Owner  string   `json:"owner"`
	Scopes []string `json:"scopes"`
	// Enabled webhooks forward requests; disabled ones deny every call.
	Enabled bool `json:"enabled"`
	// Transform names a plugin (incoming direction) that rewrites the third
	// party's request into CRM API requests; empty forwards as is.
	Transform string `json:"transform,omitempty"`
	// Token is the secret part of the URL (at least 256 bits, URL-safe).
	Token     string    `json:"-"`
	URL       string    `json:"url,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	RotatedAt time.Time `json:"rotated_at"`
}

// IncomingPatch is the body of create and update; nil fields are left as
// they are on update.
type IncomingPatch struct {
	Name      *string   `json:"name"`
	Scopes    *[]string `json:"scopes"`
	Enabled   *bool     `json:"enabled"`
	Transform *string   `json:"transform"`
}

// IncomingFilter selects a tenant's incoming webhooks for a list.
type IncomingFilter struct {
	Tenant string
	Search string // case-insensitive substring of the name
	Sort   string // name | -name | created_at | -created_at (default -created_at)
	Limit  int
}

// IncomingRoute is what the proxy needs to know about the webhook a token
// opens: the lookup record kept beside the token's keyed hash.
type IncomingRoute struct {
	ID        string   `json:"id"`
	Tenant    string   `json:"tenant"`
	Owner     string   `json:"owner"`
	Scopes    []string `json:"scopes"`
	Enabled   bool     `json:"enabled"`
	Transform string   `json:"transform,omitempty"`
}

// IncomingRequestLog is one call to an incoming webhook, kept in its request
// log (the last N calls).
type IncomingRequestLog struct {
	At           time.Time `json:"at"`
	RequestID    string    `json:"request_id"`
	Method       string    `json:"method"`
	Path         string    `json:"path"`
	Query        string    `json:"query,omitempty"`
	Status       int       `json:"status"`
	LatencyMS    float64   `json:"latency_ms"`
	CallerIP     string    `json:"caller_ip"`
	RequestBody  string    `json:"request_body,omitempty"`
	ResponseBody string    `json:"response_body,omitempty"`
	// Denied says why the call was refused: disabled, out_of_scope,
	// method_not_allowed, bad_path, rate_limited; empty when forwarded.
	Denied string `json:"denied,omitempty"`
	// Upstream is the scope the call was forwarded to.
	Upstream string `json:"upstream,omitempty"`
	Error    string `json:"error,omitempty"`
}

// IncomingStore keeps incoming webhooks. Lookup takes the token itself and
// also takes one token from the webhook's rate-limit bucket, in one round
// trip: route is nil for an unknown token.
type IncomingStore interface {
	CreateIncoming(ctx context.Context, w *IncomingWebhook) error
	FindIncomingByID(ctx context.Context, tenant, id string) (*IncomingWebhook, error)
	FindIncoming(ctx context.Context, f IncomingFilter) ([]*IncomingWebhook, error)
	UpdateIncoming(ctx context.Context, w *IncomingWebhook, newToken string) error
	DeleteIncoming(ctx context.Context, tenant, id string) error
	CountIncoming(ctx context.Context, tenant string) (int, error)
}
