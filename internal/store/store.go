// Package store keeps hookgate's outgoing webhooks in Redis. It implements
// hookgate.WebhookStore and owns the webhook key layout; it must not hold any
// business rule (validation, limits, permissions), which belong to the caller.
//
// It is the one package that speaks Redis: the shared client (NewClient),
// every key, script and Pub/Sub channel hookgate writes (docs/redis.md lists
// them all; TestEveryStoreKeyIsDocumented holds that list true), the
// subscription to webhook changes (WatchChanges), and the server readings
// the bench takes. asynq's own keys are asynq's, reached through queue/.
//
// Key layout, where P is the prefix given to New and T a tenant (the tenant is
// a Redis Cluster hash tag, so one tenant's keys live in one slot and every
// transaction below stays within it):
//
//	P:t:{T}:wh:<id>          STRING  the webhook record, JSON; secrets AES-256-GCM sealed
//	P:t:{T}:wh:by_name       ZSET    all scores 0; members "lower(name)\x00id" (ZRANGEBYLEX)
//	P:t:{T}:wh:by_created    ZSET    all scores 0; members "<created unix ms, 15 digits>\x00id\x00lower(name)"
//	P:wh:<id>:stats          HASH    delivery counters, written by the delivery path (see StatsKey)
//	P:tenants                SET     tenants that have (or had) webhooks
//	P:webhooks:changed       channel a tenant name is published on every create, update and delete
//
// Both indexes hold the lowercased name, so a search reads only the index and
// fetches just the records of the page. The by_created index counts the
// tenant's webhooks (ZCARD). Records are written with WATCH/MULTI (optimistic
// locking), so a record and its index entries always change together.
package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate"
)

// Store keeps outgoing webhooks in Redis. It is safe for concurrent use.
type Store struct {
	rdb    Client
	prefix string
	seal   *sealer
	// lookupKey keys the HMAC under which incoming webhook tokens are
	// looked up (derived from the encryption key, never the key itself).
	lookupKey []byte
	// macs pools HMACs under lookupKey (hash.Hash), reset before each use:
	// a token is hashed on every proxied request.
	macs sync.Pool

	lookupOnce      sync.Once
	lookups         chan *lookupReq
	lookupsInFlight atomic.Int64
	lookupMu        sync.RWMutex // guards lookupsClosed against sends racing Close
	lookupsClosed   bool

	leases leaseCache // rate-limit tokens leased with a route (lease.go)
}

var _ hookgate.WebhookStore = (*Store)(nil)

// New returns a Store on rdb whose keys all start with prefix + ":".
// encryptionKey is the 32-byte AES-256 key secrets are sealed with (the
// base64-decoded store.encryption_key). prefix must not contain '{' or '}',
// which Redis Cluster reads as a hash tag.
func New(rdb Client, prefix string, encryptionKey []byte) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("new store: nil redis client")
	}
	if prefix == "" || strings.ContainsAny(prefix, "{}") {
		return nil, fmt.Errorf("new store: prefix %q must be non-empty and contain no braces", prefix)
	}
	s, err := newSealer(encryptionKey)
	if err != nil {
		return nil, fmt.Errorf("new store: %w", err)
	}
	mac := hmac.New(sha256.New, encryptionKey)
	mac.Write([]byte("hookgate incoming token lookup v1"))
	return &Store{rdb: rdb, prefix: prefix, seal: s, lookupKey: mac.Sum(nil)}, nil
}

// ChangesChannel is the Pub/Sub channel on which the tenant of every created,
// updated or deleted webhook is published, so that other processes can
// invalidate what they cache about that tenant's webhooks.
func (s *Store) ChangesChannel() string { return s.prefix + ":webhooks:changed" }

// StatsKey is the key of the hash holding a webhook's delivery counters. The
// delivery path writes it; the store merges it into the webhooks it returns.
// Its fields are the Stats* constants.
func (s *Store) StatsKey(id string) string { return StatsKey(s.rdb, s.prefix, id) }

// Fields of the hash at StatsKey. Counts and the status code are decimal
// integers; StatsLastTriggeredAt is unix milliseconds.
const (
	StatsFailureCount        = "failure_count"
	StatsConsecutiveFailures = "consecutive_failures"
	StatsLastTriggeredAt     = "last_triggered_at"
	StatsLastStatusCode      = "last_status_code"
)

func (s *Store) tenantKey(tenant string) string { return s.prefix + ":t:{" + tenant + "}" }
func (s *Store) webhookKey(tenant, id string) string {
	return s.tenantKey(tenant) + ":wh:" + id
}
func (s *Store) byNameKey(tenant string) string    { return s.tenantKey(tenant) + ":wh:by_name" }
func (s *Store) byCreatedKey(tenant string) string { return s.tenantKey(tenant) + ":wh:by_created" }
func (s *Store) tenantsKey() string                { return s.prefix + ":tenants" }

// notFound is the error for a webhook that does not exist in the tenant.
func notFound(id string) error {
	return hookgate.Errorf(hookgate.ENOTFOUND, "webhook %s not found", shortID(id))
}

// shortID bounds an id the caller sent before it is repeated in a message:
// ids hookgate makes are far shorter, and a path of any length may be sent.
func shortID(id string) string {
	const max = 64
	if len(id) <= max {
		return id
	}
	return strings.ToValidUTF8(id[:max], "") + "..."
}

// checkTenant refuses an empty tenant: it is a programming error, and would
// break the key layout's hash tag.
func checkTenant(tenant string) error {
	if tenant == "" {
		return hookgate.Errorf(hookgate.EINVALID, "tenant is required")
	}
	return nil
}

// wrap translates a Redis error at the package boundary: connection failures
// become EUNAVAILABLE, hookgate errors pass unchanged, others are wrapped with
// the operation that failed.
func wrap(ctx context.Context, err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	var he *hookgate.Error
	if errors.As(err, &he) {
		return err
	}
	op := fmt.Sprintf(format, args...)
	if ctx.Err() == nil && unavailable(err) {
		return &hookgate.Error{Code: hookgate.EUNAVAILABLE, Message: "storage unavailable", Err: fmt.Errorf("%s: %w", op, err)}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// unavailable reports whether err means Redis cannot be reached or cannot
// serve right now, as opposed to a bug or a bad record.
func unavailable(err error) bool {
	var ne net.Error
	switch {
	case errors.As(err, &ne),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, redis.ErrClosed), errors.Is(err, redis.ErrPoolTimeout),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		redis.IsLoadingError(err), redis.IsReadOnlyError(err), redis.IsClusterDownError(err),
		redis.IsTryAgainError(err), redis.IsMasterDownError(err), redis.IsMaxClientsError(err):
		return true
	}
	return false
}
