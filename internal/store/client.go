package store

import (
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate/config"
)

// Client is the connection to Redis that every part of hookgate shares: the
// store's records, the asynq queue (queue/ hands it to asynq), readiness
// checks. It is go-redis's universal client, so that a Redis Cluster or
// Sentinel client can replace the single-node one without the callers
// changing.
type Client = redis.UniversalClient

// NewClient returns the Redis client of a configuration (redis.*): the
// app's, and the CLI's for commands that write to Redis such as token
// --console. It does not connect until the first command.
func NewClient(cfg config.Redis) Client {
	return redis.NewClient(&redis.Options{
		Addr: cfg.Addr, Username: cfg.Username, Password: cfg.Password, DB: cfg.DB,
		PoolSize: cfg.PoolSize, MinIdleConns: 8,
		ReadTimeout: 3 * time.Second, WriteTimeout: 3 * time.Second, DialTimeout: 2 * time.Second,
	})
}

// IsClosed reports whether err says the client was already closed (closing
// it twice is not a failure of a shutdown).
func IsClosed(err error) bool { return errors.Is(err, redis.ErrClosed) }
