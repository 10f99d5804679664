package hookgate

import (
	"context"
	"regexp"
	"slices"
)

// Roles a principal may hold. Tokens carry roles under names the operator
// configures (for example an `outbound_webhooks` permission grants RoleAdmin);
// the auth layer translates them into these.
const (
	RoleAdmin     = "admin"     // manages the tenant's webhooks
	RolePublisher = "publisher" // publishes events
	RoleSystem    = "system"    // manages cross-tenant system webhooks
)

// SystemTenant is the namespace of system webhooks, which receive matching
// events of every tenant. It cannot collide with a real tenant: tenant ids
// must match TenantPattern, which forbids a leading underscore.
const SystemTenant = "_system"

// TenantPattern is what a tenant id taken from a token must look like.
var TenantPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`)

// Principal is the verified identity behind a request. Tenant always comes
// from a verified token, never from a request body or path.
type Principal struct {
	Subject string   `json:"sub"`
	Tenant  string   `json:"tenant"`
	Roles   []string `json:"roles"`
}

// Has reports whether the principal holds role.
func (p *Principal) Has(role string) bool {
	return p != nil && slices.Contains(p.Roles, role)
}

// TokenVerifier turns a bearer token into a verified principal
// (implemented by auth.Verifier); a token it refuses is EUNAUTHORIZED.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (*Principal, error)
}
