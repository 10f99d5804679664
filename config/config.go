// Package config loads hookgate's configuration: built-in defaults, then a
// YAML file, then HOOKGATE_* environment variables, then one Validate that
// names the first bad field. Nothing else in hookgate reads the environment.
package config

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/caarlos0/env/v11"
	"gopkg.in/yaml.v3"

	"github.com/hookgate/hookgate"
)

// Duration is re-exported so config files read "5s" and "720h".
type Duration = hookgate.Duration

// Config is hookgate's whole configuration. Every limit has a name here and a
// documented default in Default and config.yaml.
type Config struct {
	Server    Server    `yaml:"server" envPrefix:"SERVER_"`
	Redis     Redis     `yaml:"redis" envPrefix:"REDIS_"`
	Auth      Auth      `yaml:"auth" envPrefix:"AUTH_"`
	Store     Store     `yaml:"store" envPrefix:"STORE_"`
	Webhooks  Webhooks  `yaml:"webhooks" envPrefix:"WEBHOOKS_"`
	Events    Events    `yaml:"events" envPrefix:"EVENTS_"`
	Delivery  Delivery  `yaml:"delivery" envPrefix:"DELIVERY_"`
	Lifecycle Lifecycle `yaml:"lifecycle" envPrefix:"LIFECYCLE_"`
	Log       Log       `yaml:"log" envPrefix:"LOG_"`
	Incoming  Incoming  `yaml:"incoming" envPrefix:"INCOMING_"`
	Ingest    Ingest    `yaml:"ingest" envPrefix:"INGEST_"`
	Telemetry Telemetry `yaml:"telemetry" envPrefix:"TELEMETRY_"`

	// Transformations bound webhooks' inline JavaScript transformations
	// (docs/transformations.md).
	Transformations Transformations `yaml:"transformations" envPrefix:"TRANSFORMATIONS_"`

	// Plugins are the plugin processes started at boot (YAML only).
	Plugins []Plugin `yaml:"plugins"`
	// PluginsRequired refuses to start when a plugin cannot be started;
	// default false: the plugin is reported unhealthy and retried.
	PluginsRequired bool `yaml:"plugins_required" env:"PLUGINS_REQUIRED"`

	// unknownEnv are the warnings about HOOKGATE_* variables no setting
	// reads, found by Load and reported by Warnings.
	unknownEnv []string
}

// Ingest is how events published to a message broker, instead of the HTTP
// API, come in (docs/ingest.md). A source is on when its url is set.
type Ingest struct {
	AMQP IngestAMQP `yaml:"amqp" envPrefix:"AMQP_"`
	NATS IngestNATS `yaml:"nats" envPrefix:"NATS_"`
	// Tenants, when not empty, are the only tenants a broker message may
	// name; others go to the dead letter. Default: any tenant.
	Tenants []string `yaml:"tenants" env:"TENANTS"`
	// RetryDelay is how long a message waits before it is tried again when
	// it could not be accepted for a passing reason (Redis unavailable).
	// Default 1s.
	RetryDelay Duration `yaml:"retry_delay" env:"RETRY_DELAY"`
}

// IngestAMQP consumes events from a RabbitMQ (AMQP 0-9-1) queue.
type IngestAMQP struct {
	URL   string `yaml:"url" env:"URL"`     // e.g. amqp://guest:guest@127.0.0.1:5672/; default none (off)
	Queue string `yaml:"queue" env:"QUEUE"` // declared durable if missing; default "hookgate.events"
	// DeadLetterQueue receives messages that can never be accepted, with
	// the reason in the x-hookgate-reason header. Default "<queue>.dead".
	DeadLetterQueue string `yaml:"dead_letter_queue" env:"DEAD_LETTER_QUEUE"`
	Prefetch        int    `yaml:"prefetch" env:"PREFETCH"` // unacknowledged messages per process; default 64
}

// IngestNATS consumes events from a NATS JetStream subject with a durable
// consumer.
type IngestNATS struct {
	URL     string `yaml:"url" env:"URL"`         // e.g. nats://127.0.0.1:4222; default none (off)
	Subject string `yaml:"subject" env:"SUBJECT"` // default "hookgate.events"
	// Stream holds Subject (and DeadLetterSubject); created when missing.
	// Default "HOOKGATE_EVENTS".
	Stream  string `yaml:"stream" env:"STREAM"`
	Durable string `yaml:"durable" env:"DURABLE"` // consumer name shared by every process; default "hookgate"
	// DeadLetterSubject receives messages that can never be accepted, with
	// the reason in the Hookgate-Reason header. Default "<subject>.dead".
	DeadLetterSubject string `yaml:"dead_letter_subject" env:"DEAD_LETTER_SUBJECT"`
}

// Plugin is one plugin executable (see docs/plugins.md).
type Plugin struct {
	Name   string   `yaml:"name"`   // unique; required
	Path   string   `yaml:"path"`   // executable, absolute, relative to the working directory, or looked up in PATH; required
	SHA256 string   `yaml:"sha256"` // hex checksum of the executable, verified at every start when set; default none
	Args   []string `yaml:"args"`   // command-line arguments; default none
	// Env is the plugin's environment; hookgate's own environment (its
	// secrets) is not passed on, only PATH (and GOMAXPROCS=1 unless Env sets
	// it). Default none.
	Env       map[string]string `yaml:"env"`
	Timeout   Duration          `yaml:"timeout"`    // per call; default 2s
	MaxOutput int               `yaml:"max_output"` // bytes of one answer; default 1 MiB
	// Settings are passed to every call, under the webhook's own settings.
	Settings map[string]string `yaml:"settings"`
	// AllowHTTP accepts http:// endpoint URLs for webhooks in this plugin's
	// formats (CloudCX allows them) while delivery.allow_http keeps every
	// other format https-only. Default false.
	AllowHTTP bool `yaml:"allow_http"`
	// Breaker is the plugin's circuit breaker.
	Breaker PluginBreaker `yaml:"breaker"`
}

// PluginBreaker opens after Failures consecutive calls that show the
// plugin broken (panic, crash, timeout, invalid answer); while open, calls
// fail at once as unavailable and deliveries wait. After Cooldown one call
// is let through: its success closes the breaker.
type PluginBreaker struct {
	Failures int      `yaml:"failures"` // consecutive failures that open it; default 5, -1 turns it off
	Cooldown Duration `yaml:"cooldown"` // how long it stays open before a trial call; default 10s
}

// Plugin defaults applied by Validate to entries that leave them zero.
const (
	DefaultPluginTimeout   = Duration(2 * time.Second)
	DefaultPluginMaxOutput = 1 << 20
	DefaultBreakerFailures = 5
	DefaultBreakerCooldown = Duration(10 * time.Second)
)

// Server is the HTTP listener.
type Server struct {
	Listen          string   `yaml:"listen" env:"LISTEN"`                     // default ":8080"
	PublicURL       string   `yaml:"public_url" env:"PUBLIC_URL"`             // base of URLs hookgate hands out; default "http://localhost:8080"
	Role            string   `yaml:"role" env:"ROLE"`                         // all | api | worker; default all
	ReadTimeout     Duration `yaml:"read_timeout" env:"READ_TIMEOUT"`         // default 10s
	WriteTimeout    Duration `yaml:"write_timeout" env:"WRITE_TIMEOUT"`       // default 30s
	IdleTimeout     Duration `yaml:"idle_timeout" env:"IDLE_TIMEOUT"`         // default 120s
	ShutdownTimeout Duration `yaml:"shutdown_timeout" env:"SHUTDOWN_TIMEOUT"` // default 20s
	BodyLimit       int      `yaml:"body_limit" env:"BODY_LIMIT"`             // bytes of any request body; default 1 MiB
	// TrustedProxies are the peers (CIDR ranges or addresses) whose
	// X-Forwarded-For, -Proto, -Host, -Ssl and X-Url-Scheme hookgate
	// believes, e.g. the load balancer in front of it. Default none: every
	// caller's forwarding headers are ignored.
	TrustedProxies []string `yaml:"trusted_proxies" env:"TRUSTED_PROXIES"`
	HeaderLimit    int      `yaml:"header_limit" env:"HEADER_LIMIT"` // bytes of a request's line and headers; default 16 KiB
}

// Redis is the one Redis hookgate and its queues use: a single server, a
// master watched by Sentinels, or a Cluster (docs/scaling.md).
type Redis struct {
	// Mode is standalone (one server at Addr), sentinel (the master named
	// MasterName, found through the Sentinels at Addrs) or cluster (a Redis
	// Cluster, seeded by Addrs). Default standalone.
	Mode string `yaml:"mode" env:"MODE"`
	Addr string `yaml:"addr" env:"ADDR"` // standalone; default "127.0.0.1:6379"
	// Addrs are the Sentinels' (sentinel) or some cluster nodes' (cluster)
	// host:port; comma-separated in the environment. Default none.
	Addrs      []string `yaml:"addrs" env:"ADDRS"`
	MasterName string   `yaml:"master_name" env:"MASTER_NAME"` // sentinel: the monitored master's name; default none
	Username   string   `yaml:"username" env:"USERNAME"`       // default none
	Password   string   `yaml:"password" env:"PASSWORD"`       // default none
	// SentinelUsername and SentinelPassword authenticate to the Sentinels
	// themselves (their requirepass or ACL), which may differ from the
	// master's. Default none.
	SentinelUsername string `yaml:"sentinel_username" env:"SENTINEL_USERNAME"`
	SentinelPassword string `yaml:"sentinel_password" env:"SENTINEL_PASSWORD"`
	DB               int    `yaml:"db" env:"DB"`         // default 0; must be 0 in cluster mode
	Prefix           string `yaml:"prefix" env:"PREFIX"` // key prefix of every hookgate key; default "hookgate"
	PoolSize         int    `yaml:"pool_size" env:"POOL_SIZE"`
	// TLS connects with TLS (managed Redis services); the server's
	// certificate is verified against TLSCAFile, or the system's roots when
	// it is empty. TLSCertFile and TLSKeyFile present a client certificate
	// when the server asks for one; TLSServerName overrides the name checked
	// in the server's certificate (default: the host dialed).
	TLS           bool   `yaml:"tls" env:"TLS"`
	TLSCAFile     string `yaml:"tls_ca_file" env:"TLS_CA_FILE"`
	TLSCertFile   string `yaml:"tls_cert_file" env:"TLS_CERT_FILE"`
	TLSKeyFile    string `yaml:"tls_key_file" env:"TLS_KEY_FILE"`
	TLSServerName string `yaml:"tls_server_name" env:"TLS_SERVER_NAME"`
	// ReplicaAcks is how many replicas must acknowledge an event's tasks
	// (Redis WAIT) before it is accepted; when fewer do within
	// ReplicaAckTimeout the event is refused with 503 (retriable). Default
	// 0: accepted once the master has the tasks.
	ReplicaAcks       int      `yaml:"replica_acks" env:"REPLICA_ACKS"`
	ReplicaAckTimeout Duration `yaml:"replica_ack_timeout" env:"REPLICA_ACK_TIMEOUT"` // default 1s
}

// Redis modes (redis.mode).
const (
	RedisStandalone = "standalone"
	RedisSentinel   = "sentinel"
	RedisCluster    = "cluster"
)

// Auth says how API tokens are verified.
type Auth struct {
	// Algorithms pins the accepted JWT algorithms; default [HS256] with the
	// dev secret, set [RS256] (or ES256, EdDSA) with public keys in production.
	Algorithms []string `yaml:"algorithms" env:"ALGORITHMS"`
	// HS256Secret verifies HS256 tokens and signs `hookgate token` tokens.
	HS256Secret string `yaml:"hs256_secret" env:"HS256_SECRET"`
	// PublicKeys are PEM files of RSA, ECDSA or Ed25519 public keys.
	PublicKeys []string `yaml:"public_keys" env:"PUBLIC_KEYS"`
	// JWKSFile is a JSON Web Key Set file; keys are selected by `kid`.
	JWKSFile     string `yaml:"jwks_file" env:"JWKS_FILE"`
	Issuer       string `yaml:"issuer" env:"ISSUER"`     // checked when set
	Audience     string `yaml:"audience" env:"AUDIENCE"` // checked when set
	SubjectClaim string `yaml:"subject_claim" env:"SUBJECT_CLAIM"`
	TenantClaim  string `yaml:"tenant_claim" env:"TENANT_CLAIM"`
	RolesClaim   string `yaml:"roles_claim" env:"ROLES_CLAIM"`
	// Roles maps each hookgate role to the token role values that grant it,
	// e.g. admin: [admin, outbound_webhooks].
	Roles map[string][]string `yaml:"roles"`
	// Leeway tolerates clock skew on exp/nbf/iat; default 30s.
	Leeway Duration `yaml:"leeway" env:"LEEWAY"`
}

// Store is how records are kept in Redis.
type Store struct {
	// EncryptionKey is the base64 of 32 bytes; secrets are AES-256-GCM
	// encrypted with it at rest.
	EncryptionKey string `yaml:"encryption_key" env:"ENCRYPTION_KEY"`
}

// Webhooks are the limits on outgoing webhook definitions.
type Webhooks struct {
	MaxNameLength   int `yaml:"max_name_length" env:"MAX_NAME_LENGTH"`     // default 200
	MaxEndpoints    int `yaml:"max_endpoints" env:"MAX_ENDPOINTS"`         // per webhook; default 10
	MaxEvents       int `yaml:"max_events" env:"MAX_EVENTS"`               // patterns per webhook; default 100
	MinSecretLength int `yaml:"min_secret_length" env:"MIN_SECRET_LENGTH"` // custom secrets; default 24
	MaxPerTenant    int `yaml:"max_per_tenant" env:"MAX_PER_TENANT"`       // default 10000
	PageSize        int `yaml:"page_size" env:"PAGE_SIZE"`                 // default list page; default 50
	MaxPageSize     int `yaml:"max_page_size" env:"MAX_PAGE_SIZE"`         // default 200
	MaxMetadataKeys int `yaml:"max_metadata_keys" env:"MAX_METADATA_KEYS"` // default 32
}

// Events are the limits on published events.
type Events struct {
	MaxPayload     int                  `yaml:"max_payload" env:"MAX_PAYLOAD"`         // bytes of one event; default 256 KiB
	MaxBatch       int                  `yaml:"max_batch" env:"MAX_BATCH"`             // events per batch; default 100
	IdempotencyTTL Duration             `yaml:"idempotency_ttl" env:"IDEMPOTENCY_TTL"` // default 24h
	ExtraTypes     []hookgate.EventType `yaml:"extra_types"`                           // added to the built-in catalogue
	// Validate checks published data against its type's schema: off (no
	// check), warn (accept, log, count hookgate_event_schema_violations_total)
	// or enforce (refuse with 400 schema_violation). Default off.
	Validate string `yaml:"validate" env:"VALIDATE"`
}

// Delivery is how outgoing deliveries are sent, retried and logged.
type Delivery struct {
	AllowHTTP        bool       `yaml:"allow_http" env:"ALLOW_HTTP"`                 // accept http:// endpoints; default false
	AllowedCIDRs     []string   `yaml:"allowed_cidrs" env:"ALLOWED_CIDRS"`           // ranges opened past the SSRF guard; default none
	Timeout          Duration   `yaml:"timeout" env:"TIMEOUT"`                       // per request; default 5s
	MaxTimeout       Duration   `yaml:"max_timeout" env:"MAX_TIMEOUT"`               // per-webhook timeout cap; default 30s
	RetryDelays      []Duration `yaml:"retry_delays" env:"RETRY_DELAYS"`             // default [1m, 5m, 30m]
	MaxRetries       int        `yaml:"max_retries" env:"MAX_RETRIES"`               // cap on a per-webhook schedule; default 10
	RetryJitter      float64    `yaml:"retry_jitter" env:"RETRY_JITTER"`             // ± fraction of each delay; default 0.1
	RetryAfterMax    Duration   `yaml:"retry_after_max" env:"RETRY_AFTER_MAX"`       // cap on a receiver's Retry-After; default 1h
	GonePolicy       string     `yaml:"gone_policy" env:"GONE_POLICY"`               // on 410: retry | fail | disable_endpoint; default disable_endpoint
	MaxResponseBody  int        `yaml:"max_response_body" env:"MAX_RESPONSE_BODY"`   // bytes read back and kept; default 64 KiB
	MaxRequestBody   int        `yaml:"max_request_body" env:"MAX_REQUEST_BODY"`     // bytes of the sent body kept in the log; default 64 KiB
	LogMaxEntries    int        `yaml:"log_max_entries" env:"LOG_MAX_ENTRIES"`       // per webhook; default 200
	LogMaxAge        Duration   `yaml:"log_max_age" env:"LOG_MAX_AGE"`               // default 720h (30 days)
	Concurrency      int        `yaml:"concurrency" env:"CONCURRENCY"`               // worker goroutines per process; default 256
	EndpointInFlight int        `yaml:"endpoint_in_flight" env:"ENDPOINT_IN_FLIGHT"` // concurrent requests per endpoint; default 32
	PollInterval     Duration   `yaml:"poll_interval" env:"POLL_INTERVAL"`           // asynq TaskCheckInterval; default 2ms
	MaxFanout        int        `yaml:"max_fanout" env:"MAX_FANOUT"`                 // deliveries one event may create; default 1000
	// QueueShards is how many asynq queues deliveries are spread over,
	// by endpoint (default 1: the one queue named by redis.prefix; at
	// most 64). On a Redis Cluster each queue sits on one master.
	QueueShards int `yaml:"queue_shards" env:"QUEUE_SHARDS"`
	// PluginWaitMax is how long a delivery waits for an unavailable plugin
	// (restarting, circuit breaker open) before it spends an attempt;
	// default 15s, 0 does not wait, at most 5m.
	PluginWaitMax Duration `yaml:"plugin_wait_max" env:"PLUGIN_WAIT_MAX"`
}

// MaxQueueShards bounds delivery.queue_shards: a worker process runs one
// asynq server per shard.
const MaxQueueShards = 64

// maxLoggedRequestBody bounds delivery.max_request_body: what the log keeps
// of each attempt's sent body lives in Redis for the log's lifetime.
const maxLoggedRequestBody = 16 << 20

// Lifecycle is how webhooks are paused, auto-paused, confirmed and rotated
// (docs/lifecycle.md).
type Lifecycle struct {
	// HoldMax caps the events kept per webhook while it is paused, auto-paused
	// or unconfirmed; past it the oldest are dropped and counted
	// (hookgate_held_dropped_total). Default 10000.
	HoldMax int `yaml:"hold_max" env:"HOLD_MAX"`
	// AutoPauseAfter is how many consecutive failed deliveries (each after its
	// retries) put a webhook in
	// status error; 0 turns auto-pause off. Default 10.
	AutoPauseAfter int `yaml:"auto_pause_after" env:"AUTO_PAUSE_AFTER"`
	// ConfirmTTL is how long a confirmation link stays valid. Default 72h.
	ConfirmTTL Duration `yaml:"confirm_ttl" env:"CONFIRM_TTL"`
	// RotationGrace is the default grace period of a secret rotation, during
	// which deliveries are signed with both secrets. Default 24h.
	RotationGrace Duration `yaml:"rotation_grace" env:"ROTATION_GRACE"`
	// MaxRotationGrace caps a requested grace period. Default 168h (7 days).
	MaxRotationGrace Duration `yaml:"max_rotation_grace" env:"MAX_ROTATION_GRACE"`
	// SweepInterval is how often a worker process releases events still held
	// for webhooks that are active again (after a crash mid-resume, or a hold
	// decided on a stale view). Default 5s.
	SweepInterval Duration `yaml:"sweep_interval" env:"SWEEP_INTERVAL"`
}

// Transformations are the limits of inline transformations: the JavaScript
// function a webhook may carry to rewrite its payload after the format.
type Transformations struct {
	Enabled   bool     `yaml:"enabled" env:"ENABLED"`       // webhooks may carry one; default true
	Timeout   Duration `yaml:"timeout" env:"TIMEOUT"`       // wall time of one run; default 100ms
	MaxSource int      `yaml:"max_source" env:"MAX_SOURCE"` // bytes of a source; default 64 KiB
	MaxOutput int      `yaml:"max_output" env:"MAX_OUTPUT"` // bytes of the body (and headers) in and out; default 1 MiB
	// MaxMemory is how many bytes the heap may grow while one run goes on
	// before it is interrupted; default 64 MiB.
	MaxMemory int `yaml:"max_memory" env:"MAX_MEMORY"`
}

// Incoming is how incoming webhooks (secret URLs proxied to the CRM's API on
// the owner's behalf) behave. See docs/incoming.md.
type Incoming struct {
	// Scopes maps a scope name (crm, tasks, ...) to the path prefixes it
	// opens and the CRM service that serves them (YAML only). Webhooks may
	// only name scopes listed here.
	Scopes map[string]Scope `yaml:"scopes"`
	// SigningKey is a PEM file holding the private key owner tokens are
	// signed with: RSA (RS256, 2048 bits or more) or Ed25519 (EdDSA). Empty:
	// an Ed25519 key is generated at start, which suits one process only.
	SigningKey string   `yaml:"signing_key" env:"SIGNING_KEY"`
	Issuer     string   `yaml:"issuer" env:"ISSUER"`       // iss of owner tokens; default server.public_url
	Audience   string   `yaml:"audience" env:"AUDIENCE"`   // aud of owner tokens; default none
	TokenTTL   Duration `yaml:"token_ttl" env:"TOKEN_TTL"` // lifetime of an owner token; default 60s
	// Rate and Burst are each webhook's token bucket, shared by every
	// hookgate process through Redis: Rate requests per second on average,
	// up to Burst at once. Defaults 10 and 20.
	Rate            float64  `yaml:"rate" env:"RATE"`
	Burst           int      `yaml:"burst" env:"BURST"`
	Timeout         Duration `yaml:"timeout" env:"TIMEOUT"`                     // whole upstream call; default 30s
	MaxRequestBody  int      `yaml:"max_request_body" env:"MAX_REQUEST_BODY"`   // bytes; default 1 MiB (at most server.body_limit)
	MaxResponseBody int      `yaml:"max_response_body" env:"MAX_RESPONSE_BODY"` // bytes passed back; default 10 MiB
	LogEntries      int      `yaml:"log_entries" env:"LOG_ENTRIES"`             // requests kept per webhook; default 100
	LogBodyBytes    int      `yaml:"log_body_bytes" env:"LOG_BODY_BYTES"`       // bytes of each body kept in the log; default 2048
	MaxPerTenant    int      `yaml:"max_per_tenant" env:"MAX_PER_TENANT"`       // default 1000
	// ForwardHeaders are caller headers forwarded to upstreams on top of
	// the built-in list (docs/incoming.md); headers that carry credentials
	// or steer the upstream are refused. Default none.
	ForwardHeaders []string `yaml:"forward_headers" env:"FORWARD_HEADERS"`
}

// Scope is one tool of the CRM an incoming webhook can be given access to.
type Scope struct {
	// Prefixes are the paths it opens, each starting and ending with "/",
	// such as /crm/.
	Prefixes []string `yaml:"prefixes"`
	// Upstream is the base URL of the CRM service serving them; the path is
	// appended as it came: {upstream}/crm/v1/entities/leads.
	Upstream string `yaml:"upstream"`
	// Methods allowed; default all.
	Methods []string `yaml:"methods"`
}

// Log is the structured log.
type Log struct {
	Level  string `yaml:"level" env:"LEVEL"`   // debug | info | warn | error; default info
	Format string `yaml:"format" env:"FORMAT"` // json | text; default json
}

// DevHS256Secret is the HS256 secret of the shipped config.yaml, for trying
// hookgate out. Validate warns (through Warnings) when it is in use.
const DevHS256Secret = "hookgate-dev-secret-change-me-0123456789abcdef"

// Default returns the configuration used where the file and the environment
// say nothing.
func Default() Config {
	return Config{
		Server: Server{
			Listen: ":8080", PublicURL: "http://localhost:8080", Role: "all",
			ReadTimeout: Duration(10 * time.Second), WriteTimeout: Duration(30 * time.Second),
			IdleTimeout: Duration(120 * time.Second), ShutdownTimeout: Duration(20 * time.Second),
			BodyLimit: 1 << 20, HeaderLimit: 16 << 10,
		},
		Redis: Redis{Mode: RedisStandalone, Addr: "127.0.0.1:6379", Prefix: "hookgate", ReplicaAckTimeout: Duration(time.Second)},
		Auth: Auth{
			Algorithms: []string{"HS256"}, SubjectClaim: "sub", TenantClaim: "tenant", RolesClaim: "roles",
			Roles: map[string][]string{
				hookgate.RoleAdmin:     {"admin", "outbound_webhooks"},
				hookgate.RolePublisher: {"publisher"},
				hookgate.RoleSystem:    {"system"},
			},
			Leeway: Duration(30 * time.Second),
		},
		Webhooks: Webhooks{
			MaxNameLength: 200, MaxEndpoints: 10, MaxEvents: 100, MinSecretLength: 24,
			MaxPerTenant: 10000, PageSize: 50, MaxPageSize: 200, MaxMetadataKeys: 32,
		},
		Events: Events{MaxPayload: 256 << 10, MaxBatch: 100, IdempotencyTTL: Duration(24 * time.Hour), Validate: "off"},
		Delivery: Delivery{
			Timeout: Duration(5 * time.Second), MaxTimeout: Duration(30 * time.Second),
			RetryDelays: []Duration{Duration(time.Minute), Duration(5 * time.Minute), Duration(30 * time.Minute)},
			MaxRetries:  10, RetryJitter: 0.1, RetryAfterMax: Duration(time.Hour), GonePolicy: "disable_endpoint",
			MaxResponseBody: 64 << 10, MaxRequestBody: 64 << 10, LogMaxEntries: 200, LogMaxAge: Duration(30 * 24 * time.Hour),
			Concurrency: 256, QueueShards: 1, EndpointInFlight: 32, PollInterval: Duration(2 * time.Millisecond), MaxFanout: 1000,
			PluginWaitMax: Duration(15 * time.Second),
		},
		Lifecycle: Lifecycle{
			HoldMax: 10000, AutoPauseAfter: 10, ConfirmTTL: Duration(72 * time.Hour),
			RotationGrace: Duration(24 * time.Hour), MaxRotationGrace: Duration(7 * 24 * time.Hour),
			SweepInterval: Duration(5 * time.Second),
		},
		Log:       Log{Level: "info", Format: "json"},
		Telemetry: Telemetry{ServiceName: "hookgate", SampleRatio: 1},
		Ingest: Ingest{
			AMQP:       IngestAMQP{Queue: "hookgate.events", Prefetch: 64},
			NATS:       IngestNATS{Subject: "hookgate.events", Stream: "HOOKGATE_EVENTS", Durable: "hookgate"},
			RetryDelay: Duration(time.Second),
		},
		Transformations: Transformations{
			Enabled: true, Timeout: Duration(100 * time.Millisecond), MaxSource: 64 << 10, MaxOutput: 1 << 20, MaxMemory: 64 << 20,
		},
		Incoming: Incoming{
			TokenTTL: Duration(60 * time.Second), Rate: 10, Burst: 20, Timeout: Duration(30 * time.Second),
			MaxRequestBody: 1 << 20, MaxResponseBody: 10 << 20, LogEntries: 100, LogBodyBytes: 2048, MaxPerTenant: 1000,
		},
	}
}

// Load reads path (when not empty) over the defaults, then the environment
// (HOOKGATE_SECTION_FIELD, lists comma-separated), then validates.
func Load(path string) (Config, error) {
	return load(path, os.Environ())
}

func load(path string, environ []string) (Config, error) {
	var b []byte
	if path != "" {
		var err error
		if b, err = os.ReadFile(path); err != nil {
			return Default(), fmt.Errorf("read config: %w", err)
		}
	}
	return parse(path, b, environ)
}

// parse reads the YAML b (named path in errors) over the defaults, then the
// environment, and validates the result.
func parse(path string, b []byte, environ []string) (Config, error) {
	cfg := Default()
	if len(b) > 0 {
		var root yaml.Node
		if err := yaml.Unmarshal(b, &root); err != nil {
			return cfg, fmt.Errorf("parse %s: %w", path, err)
		}
		if err := checkYAML(path, &root, &cfg); err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return cfg, fmt.Errorf("parse %s: %w", path, err)
		}
	}
	envMap := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			envMap[k] = v
		}
	}
	cfg.unknownEnv = unknownEnv(envMap)
	if err := checkEnv("HOOKGATE_", envMap, &cfg); err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	if err := env.ParseWithOptions(&cfg, env.Options{Prefix: "HOOKGATE_", Environment: envMap}); err != nil {
		return cfg, fmt.Errorf("environment: %w", err)
	}
	return cfg, cfg.Validate()
}

// Validate checks the configuration and names the first bad field.
func (c *Config) Validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("config: %s: %s", field, fmt.Sprintf(format, args...))
	}
	if c.Server.Listen == "" {
		return bad("server.listen", "is required")
	}
	if _, _, err := net.SplitHostPort(c.Server.Listen); err != nil {
		return bad("server.listen", "must be host:port (%v)", err)
	}
	if u, err := url.Parse(c.Server.PublicURL); err != nil || !u.IsAbs() || u.Host == "" {
		return bad("server.public_url", "must be an absolute URL such as https://hooks.example.com")
	}
	switch c.Server.Role {
	case "all", "api", "worker":
	default:
		return bad("server.role", "must be all, api or worker, not %q", c.Server.Role)
	}
	for name, d := range map[string]Duration{
		"server.read_timeout": c.Server.ReadTimeout, "server.write_timeout": c.Server.WriteTimeout,
		"server.idle_timeout": c.Server.IdleTimeout, "server.shutdown_timeout": c.Server.ShutdownTimeout,
		"delivery.timeout": c.Delivery.Timeout, "delivery.max_timeout": c.Delivery.MaxTimeout,
		"delivery.poll_interval": c.Delivery.PollInterval, "delivery.log_max_age": c.Delivery.LogMaxAge,
		"events.idempotency_ttl": c.Events.IdempotencyTTL,
		"lifecycle.confirm_ttl":  c.Lifecycle.ConfirmTTL, "lifecycle.sweep_interval": c.Lifecycle.SweepInterval,
		"lifecycle.max_rotation_grace": c.Lifecycle.MaxRotationGrace,
	} {
		if d <= 0 {
			return bad(name, "must be a positive duration")
		}
	}
	if c.Server.BodyLimit < 1024 {
		return bad("server.body_limit", "must be at least 1024 bytes")
	}
	for _, p := range c.Server.TrustedProxies {
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			return bad("server.trusted_proxies", "%q is neither a CIDR range nor an IP address", p)
		}
	}
	if c.Server.HeaderLimit < 4<<10 || c.Server.HeaderLimit > 1<<20 {
		return bad("server.header_limit", "must be from 4096 to 1048576 bytes")
	}
	if err := c.Redis.validate(bad); err != nil {
		return err
	}
	if !validPrefix(c.Redis.Prefix) {
		return bad("redis.prefix", "must be a non-empty word without spaces, braces or the glob characters * ? [ ] \\")
	}
	if err := c.Auth.validate(bad); err != nil {
		return err
	}
	key, err := base64.StdEncoding.DecodeString(c.Store.EncryptionKey)
	if err != nil || len(key) != 32 {
		return bad("store.encryption_key", "must be the base64 of 32 random bytes (openssl rand -base64 32)")
	}
	w := c.Webhooks
	for name, n := range map[string]int{
		"webhooks.max_name_length": w.MaxNameLength, "webhooks.max_endpoints": w.MaxEndpoints,
		"webhooks.max_events": w.MaxEvents, "webhooks.max_per_tenant": w.MaxPerTenant,
		"webhooks.page_size": w.PageSize, "webhooks.max_page_size": w.MaxPageSize,
		"events.max_payload": c.Events.MaxPayload, "events.max_batch": c.Events.MaxBatch,
		"delivery.max_response_body": c.Delivery.MaxResponseBody, "delivery.log_max_entries": c.Delivery.LogMaxEntries,
		"delivery.concurrency": c.Delivery.Concurrency, "delivery.endpoint_in_flight": c.Delivery.EndpointInFlight,
		"delivery.max_fanout": c.Delivery.MaxFanout, "lifecycle.hold_max": c.Lifecycle.HoldMax,
		"transformations.max_source": c.Transformations.MaxSource, "transformations.max_output": c.Transformations.MaxOutput,
		"transformations.max_memory": c.Transformations.MaxMemory,
	} {
		if n <= 0 {
			return bad(name, "must be positive")
		}
	}
	if n := c.Delivery.QueueShards; n < 1 || n > MaxQueueShards {
		return bad("delivery.queue_shards", "must be from 1 to %d", MaxQueueShards)
	}
	if c.Delivery.QueueShards > c.Delivery.Concurrency {
		return bad("delivery.queue_shards", "must not exceed delivery.concurrency (each shard needs a worker)")
	}
	if w.MinSecretLength < 16 {
		return bad("webhooks.min_secret_length", "must be at least 16")
	}
	if w.PageSize > w.MaxPageSize {
		return bad("webhooks.page_size", "must not exceed webhooks.max_page_size")
	}
	if c.Events.MaxPayload > c.Server.BodyLimit {
		return bad("events.max_payload", "must not exceed server.body_limit")
	}
	if n := c.Delivery.MaxRequestBody; n <= 0 || n > maxLoggedRequestBody {
		return bad("delivery.max_request_body", "must be from 1 to %d (16 MiB)", maxLoggedRequestBody)
	}
	if c.Delivery.PluginWaitMax < 0 || c.Delivery.PluginWaitMax > Duration(5*time.Minute) {
		return bad("delivery.plugin_wait_max", "must be from 0 to 5m")
	}
	if c.Delivery.Timeout > c.Delivery.MaxTimeout {
		return bad("delivery.timeout", "must not exceed delivery.max_timeout")
	}
	if len(c.Delivery.RetryDelays) > c.Delivery.MaxRetries {
		return bad("delivery.retry_delays", "has more entries than delivery.max_retries")
	}
	for _, d := range c.Delivery.RetryDelays {
		if d <= 0 {
			return bad("delivery.retry_delays", "every delay must be positive")
		}
	}
	// Written so that NaN (YAML .nan) fails too.
	if !(c.Delivery.RetryJitter >= 0 && c.Delivery.RetryJitter < 1) {
		return bad("delivery.retry_jitter", "must be in [0, 1)")
	}
	switch c.Events.Validate {
	case "", "off", "warn", "enforce":
	default:
		return bad("events.validate", "must be off, warn or enforce")
	}
	switch c.Delivery.GonePolicy {
	case "retry", "fail", "disable_endpoint":
	default:
		return bad("delivery.gone_policy", "must be retry, fail or disable_endpoint")
	}
	for _, cidr := range c.Delivery.AllowedCIDRs {
		// The SSRF guard's own parser (netip), stricter than net.ParseCIDR
		// ("::1/000" passes the latter): what passes here starts the guard.
		if _, err := netip.ParsePrefix(strings.TrimSpace(cidr)); err != nil {
			return bad("delivery.allowed_cidrs", "%q is not a CIDR range", cidr)
		}
	}
	if c.Transformations.Timeout <= 0 || c.Transformations.Timeout > Duration(10*time.Second) {
		return bad("transformations.timeout", "must be between 1ns and 10s")
	}
	if c.Lifecycle.AutoPauseAfter < 0 {
		return bad("lifecycle.auto_pause_after", "must be 0 (off) or positive")
	}
	if c.Lifecycle.RotationGrace < 0 || c.Lifecycle.RotationGrace > c.Lifecycle.MaxRotationGrace {
		return bad("lifecycle.rotation_grace", "must be between 0 and lifecycle.max_rotation_grace")
	}
	if err := c.validatePlugins(bad); err != nil {
		return err
	}
	if err := c.validateIncoming(bad); err != nil {
		return err
	}
	if err := c.validateIngest(bad); err != nil {
		return err
	}
	if err := c.Telemetry.validate(bad); err != nil {
		return err
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return bad("log.level", "must be debug, info, warn or error")
	}
	switch c.Log.Format {
	case "json", "text":
	default:
		return bad("log.format", "must be json or text")
	}
	return nil
}

// validatePlugins checks the plugins list and fills in defaults.
func (c *Config) validatePlugins(bad func(string, string, ...any) error) error {
	seen := map[string]bool{}
	for i := range c.Plugins {
		p := &c.Plugins[i]
		field := fmt.Sprintf("plugins[%d]", i)
		switch {
		case p.Name == "" || strings.ContainsAny(p.Name, " /\\"):
			return bad(field+".name", "must be a non-empty word")
		case seen[p.Name]:
			return bad(field+".name", "%q is used twice", p.Name)
		case p.Path == "":
			return bad(field+".path", "is required")
		case p.Timeout < 0:
			return bad(field+".timeout", "must not be negative")
		case p.MaxOutput < 0:
			return bad(field+".max_output", "must not be negative")
		case p.Breaker.Failures < -1:
			return bad(field+".breaker.failures", "must be a count of failures, or -1 to turn the breaker off")
		case p.Breaker.Cooldown < 0:
			return bad(field+".breaker.cooldown", "must not be negative")
		}
		if p.SHA256 != "" {
			if b, err := hex.DecodeString(p.SHA256); err != nil || len(b) != 32 {
				return bad(field+".sha256", "must be 64 hex digits (sha256sum of the executable)")
			}
		}
		seen[p.Name] = true
		if p.Timeout == 0 {
			p.Timeout = DefaultPluginTimeout
		}
		if p.MaxOutput == 0 {
			p.MaxOutput = DefaultPluginMaxOutput
		}
		if p.Breaker.Failures == 0 {
			p.Breaker.Failures = DefaultBreakerFailures
		}
		if p.Breaker.Cooldown == 0 {
			p.Breaker.Cooldown = DefaultBreakerCooldown
		}
	}
	return nil
}

// validateIncoming checks the incoming section.
func (c *Config) validateIncoming(bad func(string, string, ...any) error) error {
	in := c.Incoming
	if in.TokenTTL < Duration(5*time.Second) || in.TokenTTL > Duration(time.Hour) {
		return bad("incoming.token_ttl", "must be between 5s and 1h")
	}
	if in.Timeout <= 0 {
		return bad("incoming.timeout", "must be a positive duration")
	}
	// NaN and +Inf (YAML .nan, .inf) would reach the rate limiter's script,
	// which cannot read them, and fail every incoming call.
	if !(in.Rate > 0) || math.IsInf(in.Rate, 1) {
		return bad("incoming.rate", "must be a positive number (requests per second)")
	}
	for name, n := range map[string]int{
		"incoming.burst": in.Burst, "incoming.max_request_body": in.MaxRequestBody,
		"incoming.max_response_body": in.MaxResponseBody, "incoming.log_entries": in.LogEntries,
		"incoming.max_per_tenant": in.MaxPerTenant,
	} {
		if n <= 0 {
			return bad(name, "must be positive")
		}
	}
	if in.LogBodyBytes < 0 {
		return bad("incoming.log_body_bytes", "must not be negative")
	}
	for name, sc := range in.Scopes {
		field := "incoming.scopes." + name
		if name == "" || strings.ContainsAny(name, " /\\") {
			return bad(field, "scope names are single words")
		}
		u, err := url.Parse(sc.Upstream)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return bad(field+".upstream", "must be an http(s) base URL such as http://crm-tasks:8080")
		}
		if len(sc.Prefixes) == 0 {
			return bad(field+".prefixes", "name at least one path prefix such as /%s/", name)
		}
		for _, p := range sc.Prefixes {
			if len(p) < 3 || p[0] != '/' || p[len(p)-1] != '/' || strings.Contains(p, "//") || strings.ContainsAny(p, "%\\?#") || strings.Contains(p, "/../") || strings.Contains(p, "/./") {
				return bad(field+".prefixes", "%q must be a clean path starting and ending with /", p)
			}
		}
		for _, m := range sc.Methods {
			switch m {
			case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
			default:
				return bad(field+".methods", "%q is not an HTTP method (upper case)", m)
			}
		}
	}
	return nil
}

func (a *Auth) validate(bad func(string, string, ...any) error) error {
	if len(a.Algorithms) == 0 {
		return bad("auth.algorithms", "pin at least one algorithm")
	}
	needSecret, needKeys := false, false
	for _, alg := range a.Algorithms {
		switch alg {
		case "HS256":
			needSecret = true
		case "RS256", "ES256", "EdDSA":
			needKeys = true
		default:
			return bad("auth.algorithms", "%q is not supported (HS256, RS256, ES256, EdDSA)", alg)
		}
	}
	if needSecret && len(a.HS256Secret) < 32 {
		return bad("auth.hs256_secret", "must be at least 32 characters when HS256 is accepted")
	}
	if needSecret && (strings.TrimSpace(a.HS256Secret) != a.HS256Secret || strings.ContainsFunc(a.HS256Secret, unicode.IsControl)) {
		// A newline pasted with the secret (a mounted secret file, a YAML
		// block) makes every token fail to verify, with nothing to say why.
		return bad("auth.hs256_secret", "must not hold control characters or start or end with white space (a pasted newline?)")
	}
	if needKeys && len(a.PublicKeys) == 0 && a.JWKSFile == "" {
		return bad("auth.public_keys", "set public_keys or jwks_file for RS256/ES256/EdDSA")
	}
	if a.TenantClaim == "" || a.RolesClaim == "" || a.SubjectClaim == "" {
		return bad("auth.tenant_claim", "subject, tenant and roles claim names are required")
	}
	granted := 0
	for _, values := range a.Roles {
		granted += len(values)
	}
	if granted == 0 {
		// "roles:" left empty in YAML replaces the defaults with nothing:
		// no token could then do anything, which is never what was meant.
		return bad("auth.roles", "grants no hookgate role to any token role value; list them (admin: [admin]) or remove the key for the defaults")
	}
	for role := range a.Roles {
		switch role {
		case hookgate.RoleAdmin, hookgate.RolePublisher, hookgate.RoleSystem:
		default:
			return bad("auth.roles", "unknown hookgate role %q (admin, publisher, system)", role)
		}
	}
	if a.Leeway < 0 || a.Leeway.D() > 5*time.Minute {
		return bad("auth.leeway", "must be between 0 and 5m")
	}
	return nil
}

// Warnings lists settings that work but are unsafe in production, and the
// HOOKGATE_* environment variables that Load found but no setting reads
// (with the closest known name): serve logs them at start and runs on.
func (c *Config) Warnings() []string {
	w := slices.Clone(c.unknownEnv)
	if c.Auth.HS256Secret == DevHS256Secret {
		w = append(w, "auth.hs256_secret is the shipped development secret: anyone can mint tokens; set HOOKGATE_AUTH_HS256_SECRET")
	}
	if c.Store.EncryptionKey == DevEncryptionKey {
		w = append(w, "store.encryption_key is the shipped development key; set HOOKGATE_STORE_ENCRYPTION_KEY")
	}
	if c.Delivery.AllowHTTP {
		w = append(w, "delivery.allow_http is on: deliveries may travel unencrypted")
	}
	if c.Incoming.SigningKey == "" {
		w = append(w, "incoming.signing_key is not set: owner tokens are signed with a key generated at start, which other hookgate processes do not share and which changes on restart")
	}
	if len(c.Delivery.AllowedCIDRs) > 0 {
		w = append(w, fmt.Sprintf("delivery.allowed_cidrs opens %v past the SSRF guard", c.Delivery.AllowedCIDRs))
	}
	return w
}

// DevEncryptionKey is the encryption key of the shipped config.yaml.
const DevEncryptionKey = "aG9va2dhdGUtZGV2LWtleS0zMi1ieXRlcy1sb25nISE="

// validPrefix reports whether p can prefix Redis keys and name the asynq
// queue: braces would break the hash tag of the queue's keys, and glob
// characters would make an ACL key pattern or a SCAN for "<prefix>:*" match
// other deployments' keys.
func validPrefix(p string) bool {
	if p == "" || strings.ContainsAny(p, "{}*?[]\\") {
		return false
	}
	for _, r := range p {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// DevCIDRs are the ranges development mode opens past the SSRF guard: this
// machine, where a newcomer's receiver and stand-in CRM listen.
var DevCIDRs = []string{"127.0.0.0/8", "::1/128"}

// Dev turns c into development mode (`hookgate serve --dev`, what `make run`
// starts): http:// endpoints and loopback receivers are accepted, and the
// listener is bound to 127.0.0.1 on its port, so the shipped development
// secret is not offered to the network. Production settings are untouched
// otherwise; Validate runs again after it.
func (c *Config) Dev() error {
	c.Delivery.AllowHTTP = true
	for _, cidr := range DevCIDRs {
		if !slices.Contains(c.Delivery.AllowedCIDRs, cidr) {
			c.Delivery.AllowedCIDRs = append(c.Delivery.AllowedCIDRs, cidr)
		}
	}
	_, port, err := net.SplitHostPort(c.Server.Listen)
	if err != nil {
		return fmt.Errorf("server.listen %q: %w", c.Server.Listen, err)
	}
	c.Server.Listen = net.JoinHostPort("127.0.0.1", port)
	return c.Validate()
}

func (c *Config) validateIngest(bad func(string, string, ...any) error) error {
	in := &c.Ingest
	if in.AMQP.URL != "" {
		u, err := url.Parse(in.AMQP.URL)
		if err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps") || u.Host == "" {
			return bad("ingest.amqp.url", "must be amqp://user:password@host:port/vhost or amqps://...")
		}
		if in.AMQP.Queue == "" {
			return bad("ingest.amqp.queue", "must name the queue to consume")
		}
		if in.AMQP.DeadLetterQueue == "" {
			in.AMQP.DeadLetterQueue = in.AMQP.Queue + ".dead"
		}
		if in.AMQP.DeadLetterQueue == in.AMQP.Queue {
			return bad("ingest.amqp.dead_letter_queue", "must differ from ingest.amqp.queue")
		}
		if in.AMQP.Prefetch < 1 || in.AMQP.Prefetch > 65535 {
			return bad("ingest.amqp.prefetch", "must be between 1 and 65535")
		}
	}
	if in.NATS.URL != "" {
		u, err := url.Parse(strings.Split(in.NATS.URL, ",")[0])
		if err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" {
			return bad("ingest.nats.url", "must be nats://host:port (comma-separated for a cluster) or tls://...")
		}
		if in.NATS.Subject == "" || strings.ContainsAny(in.NATS.Subject, " \t*>") {
			return bad("ingest.nats.subject", "must be a subject without spaces or wildcards")
		}
		if in.NATS.DeadLetterSubject == "" {
			in.NATS.DeadLetterSubject = in.NATS.Subject + ".dead"
		}
		if in.NATS.DeadLetterSubject == in.NATS.Subject {
			return bad("ingest.nats.dead_letter_subject", "must differ from ingest.nats.subject")
		}
		if in.NATS.Stream == "" || strings.ContainsAny(in.NATS.Stream, " .*>") {
			return bad("ingest.nats.stream", "must be a stream name without spaces, dots or wildcards")
		}
		if in.NATS.Durable == "" || strings.ContainsAny(in.NATS.Durable, " .*>") {
			return bad("ingest.nats.durable", "must be a consumer name without spaces, dots or wildcards")
		}
	}
	if in.RetryDelay <= 0 || in.RetryDelay.D() > time.Hour {
		return bad("ingest.retry_delay", "must be between 1ns and 1h")
	}
	return nil
}
