package store

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate"
)

// Replicas waits until the writes made so far reach replicas
// (redis.replica_acks): Redis's WAIT n timeout returns how many replicas
// acknowledged every write its own connection made. asynq enqueues on
// pooled connections, so WAIT on another connection would cover nothing of
// theirs. Instead Wait writes a small marker key and runs WAIT on one pinned
// connection: a master's replication stream is one ordered stream, and the
// marker is written after the writes that returned before Wait was called,
// so once replicas have the marker they have those writes too.
//
// In cluster mode every master has its own stream: Wait writes a marker on
// each master (its key's hash tag is chosen to fall in a slot that master
// serves) and waits on each, so the tasks of every queue shard and the held
// lists of every webhook are covered, wherever they live.
type Replicas struct {
	rdb     Client
	prefix  string
	n       int
	timeout time.Duration

	mu   sync.Mutex
	tags map[string]string // cluster: master address -> a hash tag it serves
}

// NewReplicas returns a Replicas waiting for n replicas at most timeout.
func NewReplicas(rdb Client, prefix string, n int, timeout time.Duration) *Replicas {
	return &Replicas{rdb: rdb, prefix: prefix, n: n, timeout: timeout, tags: map[string]string{}}
}

// markerTTL bounds the life of a marker key: it is rewritten by every wait.
const markerTTL = time.Minute

func (r *Replicas) marker(tag string) string { return r.prefix + ":acks:{" + tag + "}" }

// Wait returns nil once n replicas (of every master, in cluster mode)
// acknowledged every write that returned before it was called; an
// EUNAVAILABLE error when fewer did within the timeout, or Redis failed.
// The writes may then still be on the master alone.
func (r *Replicas) Wait(ctx context.Context) error {
	if c, ok := r.rdb.(*redis.ClusterClient); ok {
		return r.waitCluster(ctx, c)
	}
	return r.waitOn(ctx, r.rdb, "0")
}

// waitOn writes the marker with tag and waits, both on one connection of
// rdb (a single server's or a failover client, or one cluster master's).
func (r *Replicas) waitOn(ctx context.Context, rdb redis.UniversalClient, tag string) error {
	pinned, ok := rdb.(interface{ Conn() *redis.Conn })
	if !ok {
		return fmt.Errorf("replica wait: %T cannot pin a connection", rdb)
	}
	conn := pinned.Conn()
	defer conn.Close()
	// go-redis gives WAIT a read deadline past its timeout.
	var acked int64
	err := conn.Set(ctx, r.marker(tag), strconv.FormatInt(time.Now().UnixMilli(), 10), markerTTL).Err()
	if err == nil {
		acked, err = conn.Wait(ctx, r.n, r.timeout).Result()
	}
	if err != nil {
		return translate("replica wait", err)
	}
	if acked < int64(r.n) {
		return &hookgate.Error{Code: hookgate.EUNAVAILABLE, Message: "storage unavailable: too few replicas acknowledged the write",
			Err: fmt.Errorf("replica wait: %d of %d replicas acknowledged within %s", acked, r.n, r.timeout)}
	}
	return nil
}

func (r *Replicas) waitCluster(ctx context.Context, c *redis.ClusterClient) error {
	return c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		tag, err := r.tagOf(ctx, c, m.Options().Addr)
		if err != nil {
			return err
		}
		return r.waitOn(ctx, m, tag)
	})
}

// tagOf returns a hash tag whose slot master addr serves: the one found
// before while it still maps there, else the first of "0", "1", ... that
// does (a few tries for a handful of masters).
func (r *Replicas) tagOf(ctx context.Context, c *redis.ClusterClient, addr string) (string, error) {
	r.mu.Lock()
	tag, ok := r.tags[addr]
	r.mu.Unlock()
	if ok {
		if m, err := c.MasterForKey(ctx, r.marker(tag)); err == nil && m.Options().Addr == addr {
			return tag, nil
		}
	}
	for i := range 1 << 16 {
		tag := strconv.Itoa(i)
		m, err := c.MasterForKey(ctx, r.marker(tag))
		if err != nil {
			return "", translate("replica wait", err)
		}
		if m.Options().Addr == addr {
			r.mu.Lock()
			r.tags[addr] = tag
			r.mu.Unlock()
			return tag, nil
		}
	}
	return "", &hookgate.Error{Code: hookgate.EUNAVAILABLE, Message: "storage unavailable",
		Err: fmt.Errorf("replica wait: no slot found for master %s", addr)}
}
