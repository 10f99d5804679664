package store

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate/config"
)

// Client is the connection to Redis that every part of hookgate shares: the
// store's records, the asynq queue (queue/ hands it to asynq), readiness
// checks. It is go-redis's universal client: a single server's, a Sentinel
// failover client's or a Cluster client's, as redis.mode says, without the
// callers changing.
type Client = redis.UniversalClient

// Timeouts of every client NewClient builds.
const (
	dialTimeout = 2 * time.Second
	ioTimeout   = 3 * time.Second
)

// NewClient returns the Redis client of a configuration (redis.*): the
// app's, and the CLI's for commands that write to Redis such as token
// --console. In standalone mode it talks to redis.addr; in sentinel mode
// it asks the Sentinels at redis.addrs for the master named
// redis.master_name and follows it when they promote a replica; in cluster
// mode it discovers the cluster from the seeds at redis.addrs and follows
// its slot map. With redis.tls every connection (to the Sentinels too) uses
// TLS. It does not connect until the first command.
//
// The configuration is expected to have passed Validate; should the TLS
// files have become unreadable since, every command fails with that error.
func NewClient(cfg config.Redis) Client {
	tlsConfig, tlsErr := cfg.TLSConfig()
	var dialer func(ctx context.Context, network, addr string) (net.Conn, error)
	switch {
	case tlsErr != nil:
		dialer = func(context.Context, string, string) (net.Conn, error) { return nil, fmt.Errorf("redis: %w", tlsErr) }
	case tlsConfig != nil:
		dialer = tlsDialer(tlsConfig)
	}
	switch cfg.Mode {
	case config.RedisSentinel:
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: cfg.MasterName, SentinelAddrs: cfg.Addrs,
			SentinelUsername: cfg.SentinelUsername, SentinelPassword: cfg.SentinelPassword,
			Username: cfg.Username, Password: cfg.Password, DB: cfg.DB,
			PoolSize: cfg.PoolSize, MinIdleConns: 8, TLSConfig: tlsConfig, Dialer: dialer,
			ReadTimeout: ioTimeout, WriteTimeout: ioTimeout, DialTimeout: dialTimeout,
		})
	case config.RedisCluster:
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: cfg.Addrs, Username: cfg.Username, Password: cfg.Password,
			// MinIdleConns is per node here: a few, not the single server's 8.
			PoolSize: cfg.PoolSize, MinIdleConns: 2, TLSConfig: tlsConfig, Dialer: dialer,
			ReadTimeout: ioTimeout, WriteTimeout: ioTimeout, DialTimeout: dialTimeout,
		})
	}
	return redis.NewClient(&redis.Options{
		Addr: cfg.Addr, Username: cfg.Username, Password: cfg.Password, DB: cfg.DB,
		PoolSize: cfg.PoolSize, MinIdleConns: 8, TLSConfig: tlsConfig, Dialer: dialer,
		ReadTimeout: ioTimeout, WriteTimeout: ioTimeout, DialTimeout: dialTimeout,
	})
}

// tlsDialer connects with TLS (config's settings; the name checked is the
// host dialed unless redis.tls_server_name says another), the handshake
// bounded by the dial's deadline, and says what failed: a handshake error
// names the address, and a server that never answers the handshake (one
// that does not speak TLS on that port) is named as such rather than
// leaving a bare deadline error.
func tlsDialer(config *tls.Config) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		d := &net.Dialer{Timeout: dialTimeout, KeepAlive: 5 * time.Minute}
		raw, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		c := config
		if c.ServerName == "" {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				host = addr
			}
			c = c.Clone()
			c.ServerName = host
		}
		hctx, cancel := context.WithTimeout(ctx, dialTimeout)
		defer cancel()
		conn := tls.Client(raw, c)
		if err := conn.HandshakeContext(hctx); err != nil {
			raw.Close()
			if hctx.Err() != nil {
				return nil, fmt.Errorf("tls handshake with %s: no answer (does the server speak TLS on this port?): %w", addr, err)
			}
			return nil, fmt.Errorf("tls handshake with %s: %w", addr, err)
		}
		return conn, nil
	}
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

// Ready reports whether Redis can take hookgate's writes now, in every
// mode: a single server answers PING; in sentinel mode the client's
// connections go to the address the Sentinels give for the master, so a
// PING fails while the master is down and before they promote a replica;
// in cluster mode every master answers and the cluster says its state is
// ok (every slot served). Only commands the documented ACL allows.
func Ready(ctx context.Context, rdb Client) error {
	c, ok := rdb.(*redis.ClusterClient)
	if !ok {
		return rdb.Ping(ctx).Err()
	}
	if err := c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		return m.Ping(ctx).Err()
	}); err != nil {
		return fmt.Errorf("redis cluster: %w", err)
	}
	info, err := c.ClusterInfo(ctx).Result()
	if err != nil {
		return fmt.Errorf("redis cluster: %w", err)
	}
	if !strings.Contains(info, "cluster_state:ok") {
		return errors.New("redis cluster: cluster_state is not ok (slots unserved)")
	}
	return nil
}
