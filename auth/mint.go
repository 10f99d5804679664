package auth

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
)

// Mint signs an HS256 token for p with cfg.HS256Secret, valid for ttl from
// now: what `hookgate token` prints for development and scripts. The token
// carries the subject, tenant and roles under the configured claim names,
// iat and exp, and iss and aud when configured, so that a Verifier built
// from the same cfg accepts it.
//
// p.Roles may name hookgate roles (admin, publisher, system) or token role
// values that cfg.Roles grants (the CRM's own permission names, such as
// outbound_webhooks). A hookgate role is written as the token value that
// grants it in cfg.Roles: the role's own name when it is listed there (as
// in the default configuration), otherwise the first value listed for the
// role. A token role value is written as it is.
//
// Mint fails when HS256 is not among cfg.Algorithms or the secret is empty,
// and with an EINVALID *hookgate.Error when p or ttl is not acceptable.
func Mint(cfg config.Auth, p hookgate.Principal, ttl time.Duration) (string, error) {
	if !slices.Contains(cfg.Algorithms, algHS256) {
		return "", errors.New("mint token: HS256 is not among auth.algorithms")
	}
	if cfg.HS256Secret == "" {
		return "", errors.New("mint token: auth.hs256_secret is empty")
	}
	if cfg.SubjectClaim == "" || cfg.TenantClaim == "" || cfg.RolesClaim == "" {
		return "", errors.New("mint token: subject, tenant and roles claim names are required")
	}
	if p.Subject == "" || len(p.Subject) > maxSubjectLength {
		return "", hookgate.FieldError("sub", "subject must be 1 to %d bytes", maxSubjectLength)
	}
	if !hookgate.TenantPattern.MatchString(p.Tenant) {
		return "", hookgate.FieldError("tenant", "tenant must match %s", hookgate.TenantPattern)
	}
	if ttl <= 0 {
		return "", hookgate.FieldError("ttl", "ttl must be positive")
	}
	roles := []string{}
	for _, role := range p.Roles {
		value, ok := role, len(Grants(cfg, role)) > 0
		if slices.Contains(hookgateRoles[:], role) {
			if value, ok = tokenValue(cfg, role); !ok {
				return "", hookgate.FieldError("roles", "no token value grants role %q in auth.roles", role)
			}
		}
		if !ok {
			return "", hookgate.FieldError("roles", "unknown role %q: name a hookgate role (admin, publisher, system) "+
				"or a token role value that auth.roles grants (%s)", role, strings.Join(grantedValues(cfg), ", "))
		}
		if !slices.Contains(roles, value) {
			roles = append(roles, value)
		}
	}

	now := time.Now()
	claims := jwt.MapClaims{
		cfg.SubjectClaim: p.Subject,
		cfg.TenantClaim:  p.Tenant,
		cfg.RolesClaim:   roles,
		"iat":            now.Unix(),
		"exp":            now.Add(ttl).Unix(),
	}
	if cfg.Issuer != "" {
		claims["iss"] = cfg.Issuer
	}
	if cfg.Audience != "" {
		claims["aud"] = cfg.Audience
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(cfg.HS256Secret))
	if err != nil {
		return "", fmt.Errorf("mint token: %w", err)
	}
	return signed, nil
}

// Grants returns the hookgate roles that the token role value grants in
// cfg.Roles, in hookgate's order.
func Grants(cfg config.Auth, value string) []string {
	var out []string
	for _, role := range hookgateRoles {
		if slices.Contains(cfg.Roles[role], value) {
			out = append(out, role)
		}
	}
	return out
}

// grantedValues lists the token role values of cfg.Roles, sorted.
func grantedValues(cfg config.Auth) []string {
	var out []string
	for _, values := range cfg.Roles {
		for _, v := range values {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	slices.Sort(out)
	return out
}

// tokenValue returns the token role value Mint writes for a hookgate role.
func tokenValue(cfg config.Auth, role string) (string, bool) {
	values := cfg.Roles[role]
	if slices.Contains(values, role) {
		return role, true
	}
	if len(values) > 0 {
		return values[0], true
	}
	return "", false
}
