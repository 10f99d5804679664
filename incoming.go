package hookgate

import (
	"context"
	"io"
	"net/http"
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

// IncomingLogEntry is one call to append to an incoming webhook's request
// log: the webhook (tenant and id) and the entry.
type IncomingLogEntry struct {
	Tenant, ID string
	Entry      IncomingRequestLog
}

// IncomingScope is what admins see of a scope an incoming webhook may be
// given: its name, the paths it opens and the methods it allows (empty:
// all). The upstream stays internal.
type IncomingScope struct {
	Name     string   `json:"name"`
	Prefixes []string `json:"prefixes"`
	Methods  []string `json:"methods"`
}

// IncomingService holds the rules of the incoming webhook admin API
// (implemented by incoming.Service). Calls are scoped to a tenant.
type IncomingService interface {
	// Create makes a webhook owned by owner (the admin's subject) with a
	// fresh token.
	Create(ctx context.Context, tenant, owner string, p *IncomingPatch) (*IncomingWebhook, error)
	Get(ctx context.Context, tenant, id string) (*IncomingWebhook, error)
	List(ctx context.Context, f IncomingFilter) ([]*IncomingWebhook, error)
	Update(ctx context.Context, tenant, id string, p *IncomingPatch) (*IncomingWebhook, error)
	// Rotate gives the webhook a new token: the old URL stops working.
	Rotate(ctx context.Context, tenant, id string) (*IncomingWebhook, error)
	SetEnabled(ctx context.Context, tenant, id string, on bool) (*IncomingWebhook, error)
	Delete(ctx context.Context, tenant, id string) error
	// Requests returns the newest limit calls of the webhook's request log
	// (0: all it keeps).
	Requests(ctx context.Context, tenant, id string, limit int) ([]IncomingRequestLog, error)
	// ScopeList describes the configured scopes, sorted by name.
	ScopeList() []IncomingScope
}

// IncomingRequest is a third party's call to an incoming URL, as the
// gateway read it.
type IncomingRequest struct {
	Method string
	Token  string
	// Path is the raw (still percent-encoded) path below the token.
	Path   string
	Query  string
	Header http.Header
	// Body is the caller's body as it arrived: never decoded, whatever its
	// Content-Encoding (only a transform's copy is, within a bound).
	Body []byte
	// CallerIP, Scheme and Host are the client's address, the scheme and the
	// host as hookgate sees them: from the connection, or from the
	// forwarding headers of a trusted proxy (server.trusted_proxies), never
	// from the caller's own. They become X-Forwarded-For, -Proto and -Host.
	CallerIP  string
	Scheme    string
	Host      string
	RequestID string
}

// IncomingResponse is what to answer an incoming call: the upstream's
// status, headers and body. The body is either Bytes, read whole already
// (a short answer), or Body, streamed (the caller must Close it); both
// nil: no body.
type IncomingResponse struct {
	Status        int
	Header        http.Header
	Bytes         []byte
	Body          io.ReadCloser
	ContentLength int64 // -1 when unknown
}

// IncomingProxy serves incoming webhook URLs (implemented by
// incoming.Proxy). A refused call is an *IncomingDeniedError or an
// *IncomingRateLimitedError.
type IncomingProxy interface {
	Serve(ctx context.Context, req *IncomingRequest) (*IncomingResponse, error)
}

// IncomingDeniedError is the one answer for an unknown token, a disabled
// webhook and a path outside the scopes: the caller is told nothing more.
type IncomingDeniedError struct{ Reason string }

func (e *IncomingDeniedError) Error() string { return "access denied: " + e.Reason }

// IncomingRateLimitedError says the rate limit of the token called is spent
// (the same answer whether a webhook has the token or not).
type IncomingRateLimitedError struct{ RetryAfter time.Duration }

func (e *IncomingRateLimitedError) Error() string { return "rate limited" }
