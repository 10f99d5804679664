package hookgate

import (
	"context"
	"time"
)

// LoginCodeIssuer stores a token under a new one-time code, valid for ttl,
// for a console login link (implemented by store.LoginCodes).
type LoginCodeIssuer interface {
	Issue(ctx context.Context, token string, ttl time.Duration) (string, error)
}

// LoginCodeTaker redeems the one-time code of a console login link: it
// returns the token once and forgets the code; an unknown, used or expired
// code is EUNAUTHORIZED (implemented by store.LoginCodes).
type LoginCodeTaker interface {
	Take(ctx context.Context, code string) (string, error)
}
