package store

import (
	"context"
	"errors"
	"sync"
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

// NewClusterClient returns a Redis Cluster client of the seed addresses
// addrs (any of the cluster's nodes; it finds the others), with the
// credentials, pool and timeouts of cfg (redis.db does not apply: a
// Cluster has database 0 only). Like NewClient it connects on the first
// command.
func NewClusterClient(cfg config.Redis, addrs []string) Client {
	return redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: addrs, Username: cfg.Username, Password: cfg.Password,
		PoolSize: cfg.PoolSize, MinIdleConns: 8,
		ReadTimeout: 3 * time.Second, WriteTimeout: 3 * time.Second, DialTimeout: 2 * time.Second,
	})
}

// Clustered reports whether rdb is a Redis Cluster client. The store then
// names a few keys with a hash tag they do not carry on one Redis (see
// docs/redis.md), so that every script and transaction stays in one slot.
func Clustered(rdb Client) bool {
	_, ok := rdb.(*redis.ClusterClient)
	return ok
}

// scan calls found with every key matching pattern (SCAN MATCH), on every
// master of a Redis Cluster (SCAN reads one node), one call at a time.
func scan(ctx context.Context, rdb Client, pattern string, found func(key string)) error {
	one := func(ctx context.Context, c redis.Cmdable) error {
		iter := c.Scan(ctx, 0, pattern, 500).Iterator()
		for iter.Next(ctx) {
			found(iter.Val())
		}
		return iter.Err()
	}
	cc, ok := rdb.(*redis.ClusterClient)
	if !ok {
		return one(ctx, rdb)
	}
	var mu sync.Mutex
	return cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		var keys []string
		iter := node.Scan(ctx, 0, pattern, 500).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		mu.Lock()
		defer mu.Unlock()
		for _, k := range keys {
			found(k)
		}
		return iter.Err()
	})
}

// IsClosed reports whether err says the client was already closed (closing
// it twice is not a failure of a shutdown).
func IsClosed(err error) bool { return errors.Is(err, redis.ErrClosed) }
