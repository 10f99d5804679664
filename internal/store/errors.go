package store

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate"
)

// translate turns a go-redis error into hookgate's: a connection problem is
// EUNAVAILABLE, anything else is wrapped with the operation. nil stays nil.
func translate(op string, err error) error {
	if err == nil {
		return nil
	}
	var he *hookgate.Error
	if errors.As(err, &he) {
		return err
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, redis.ErrClosed) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, redis.ErrPoolTimeout) || isLoading(err) {
		return &hookgate.Error{Code: hookgate.EUNAVAILABLE, Message: "storage unavailable", Err: fmt.Errorf("%s: %w", op, err)}
	}
	return fmt.Errorf("%s: %w", op, err)
}

func isLoading(err error) bool {
	s := err.Error()
	return len(s) >= 7 && (s[:7] == "LOADING" || s[:7] == "MASTERD" || s[:7] == "READONL")
}
