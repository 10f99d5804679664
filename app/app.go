// Package app wires hookgate together from its configuration: Redis, the
// stores, the subscription index, the publisher, the delivery workers, the
// plugin host and the HTTP gateway, started and stopped in a known order.
// cmd/hookgate and the end-to-end tests both run hookgate through it.
package app

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/auth"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/deliver"
	"github.com/hookgate/hookgate/gateway"
	"github.com/hookgate/hookgate/incoming"
	"github.com/hookgate/hookgate/ingest"
	"github.com/hookgate/hookgate/internal/eventschema"
	"github.com/hookgate/hookgate/internal/netguard"
	"github.com/hookgate/hookgate/internal/ownertoken"
	"github.com/hookgate/hookgate/internal/sender"
	"github.com/hookgate/hookgate/internal/store"
	"github.com/hookgate/hookgate/internal/telemetry"
	"github.com/hookgate/hookgate/internal/transformation"
	"github.com/hookgate/hookgate/lifecycle"
	"github.com/hookgate/hookgate/plugins/host"
	"github.com/hookgate/hookgate/queue"
	"github.com/hookgate/hookgate/render"
	"github.com/hookgate/hookgate/webhooks"
)

// App is a running hookgate.
type App struct {
	Config   config.Config
	Logger   *slog.Logger
	Redis    store.Client
	Registry *prometheus.Registry
	Store    *store.Store
	Index    *ingest.Index
	Log      *store.DeliveryLog
	Worker   *deliver.Worker
	Plugins  *host.Host
	Pipeline *render.Pipeline
	Gateway  *gateway.Server
	// Lifecycle pauses, resumes, auto-pauses, confirms and rotates webhooks,
	// and holds the events of webhooks that are not active.
	Lifecycle *lifecycle.Manager
	// Signer mints owner tokens for incoming webhooks.
	Signer *ownertoken.Signer
	// IncomingLog writes incoming webhooks' request logs.
	IncomingLog *incoming.LogWriter
	// ConfigSource reads the configuration again for ReloadPlugins (the
	// serve command re-reads its file); nil refuses reloads.
	ConfigSource func() (config.Config, error)
	// Tracing exports spans (telemetry.otlp_endpoint); nil when off.
	Tracing *telemetry.Tracing

	reloadMu   sync.Mutex // serialises reloads; guards Config after Start
	lastReload *hookgate.PluginReloadReport

	// ingest are the broker sources (ingest.amqp, ingest.nats) this
	// process consumes; API processes only.
	ingest       []func(context.Context) error
	ingestCancel context.CancelFunc
	ingestWG     sync.WaitGroup

	queues   []string
	writer   *deliver.LogWriter
	server   *queue.Server
	client   *queue.Client
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	ln       net.Listener
	serveErr chan error
}

// QueueName is the first asynq queue of a deployment: its Redis key
// prefix, so that deployments (and tests) sharing one Redis do not share
// tasks. It is the deployment's only queue unless delivery.queue_shards
// is more than 1 (QueueNames).
func QueueName(cfg config.Config) string { return cfg.Redis.Prefix }

// QueueNames are every asynq queue of a deployment: the
// delivery.queue_shards shards, the first of which is QueueName.
func QueueNames(cfg config.Config) []string {
	return queue.ShardNames(QueueName(cfg), cfg.Delivery.QueueShards)
}

// New builds hookgate from cfg without starting anything.
func New(cfg config.Config, logger *slog.Logger) (*App, error) {
	a := &App{Config: cfg, Logger: logger, Registry: prometheus.NewRegistry(), queues: QueueNames(cfg)}
	a.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		processInfo(cfg))
	a.Redis = store.NewClient(cfg.Redis)
	key, _ := base64.StdEncoding.DecodeString(cfg.Store.EncryptionKey)
	st, err := store.New(a.Redis, cfg.Redis.Prefix, key)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	a.Store = st
	cat, err := hookgate.LoadCatalogue(cfg.Events.ExtraTypes)
	if err != nil {
		return nil, fmt.Errorf("event catalogue: %w", err)
	}
	verifier, err := auth.NewVerifier(cfg.Auth)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	guard, err := netguard.New(cfg.Delivery.AllowedCIDRs)
	if err != nil {
		return nil, fmt.Errorf("delivery.allowed_cidrs: %w", err)
	}
	a.Index = ingest.NewIndex(st, st, 30*time.Second)
	a.Log = store.NewDeliveryLog(a.Redis, cfg.Redis.Prefix, cfg.Delivery.LogMaxEntries, cfg.Delivery.LogMaxAge.D())
	a.writer = deliver.NewLogWriter(a.Log, 2, 256, time.Millisecond)
	metrics := deliver.NewMetrics(a.Registry)
	d := cfg.Delivery
	policy := deliver.Policy{
		RetryDelays: durations(d.RetryDelays), Jitter: d.RetryJitter, RetryAfterMax: d.RetryAfterMax.D(),
		GonePolicy: d.GonePolicy, Timeout: d.Timeout.D(), EndpointLimit: d.EndpointInFlight,
		MaxRequestBody: d.MaxRequestBody, MaxResponseBody: d.MaxResponseBody, PluginWaitMax: d.PluginWaitMax.D(),
	}
	if a.Tracing, err = telemetry.New(cfg.Telemetry, cfg.Server.Role); err != nil {
		return nil, err
	}
	tracer := a.Tracing.Tracer() // nil when off
	plugins, err := host.New(cfg.Plugins, logger, a.Registry, host.WithRequired(cfg.PluginsRequired), host.WithTracer(tracer))
	if err != nil {
		return nil, fmt.Errorf("plugins: %w", err)
	}
	a.Plugins = plugins
	var js *transformation.Engine
	if t := cfg.Transformations; t.Enabled {
		js = transformation.New(transformation.Limits{
			Timeout: t.Timeout.D(), MaxSource: t.MaxSource, MaxOutput: t.MaxOutput, MaxMemory: int64(t.MaxMemory)})
	}
	a.Pipeline = render.New(plugins).WithTransformations(js)
	renderer := hookgate.Renderer(a.Pipeline)
	// Built in dependency order, so nothing is patched after construction:
	// the signer (which the lifecycle's confirmation requests share with
	// the worker), the holder, the publisher that holds through it, the
	// lifecycle manager that publishes through the publisher, and the
	// worker that reports to the manager.
	snd := sender.New(sender.Config{Guard: guard, Timeout: d.Timeout.D(), MaxResponseBody: d.MaxResponseBody,
		UserAgent: hookgate.UserAgent(), MaxIdleConnsPerHost: d.EndpointInFlight})
	signer := deliver.NewSigner(snd, d.Timeout.D())
	lm := lifecycle.NewMetrics(a.Registry)
	held := store.NewHeld(a.Redis, cfg.Redis.Prefix, cfg.Lifecycle.HoldMax)
	holder := &lifecycle.Holder{Store: st, Held: held, HoldMax: cfg.Lifecycle.HoldMax, Invalidate: a.Index.Invalidate,
		Logger: logger, Metrics: lm}
	a.client = queue.NewClient(a.Redis, a.queues, d.MaxTimeout.D()+d.PluginWaitMax.D()+30*time.Second)
	a.client.Tracer = tracer
	inflight := store.NewInFlight(a.Redis, cfg.Redis.Prefix)
	a.client.Stalled = queue.NewStalled(a.Redis, inflight, d.EndpointInFlight, func(parked int64) time.Duration {
		return deliver.ParkDelay(parked, d.EndpointInFlight, d.Timeout.D())
	})
	a.client.Stalled.Logger, a.client.Stalled.Parked = logger, metrics.EnqueuedParked
	schemas, enforce, onViolation, err := a.schemaCheck(cfg, cat, logger)
	if err != nil {
		return nil, err
	}
	pub := &ingest.Publisher{
		Catalogue: cat, Matcher: a.Index, Queue: a.client, Holder: holder,
		Idempotency: store.NewIdempotency(a.Redis, cfg.Redis.Prefix, cfg.Events.IdempotencyTTL.D()),
		MaxPayload:  cfg.Events.MaxPayload, MaxFanout: d.MaxFanout, Retries: policy.Retries, Now: time.Now,
		Accepted: func(events, deliveries int) {
			metrics.Events.Add(float64(events))
			metrics.Enqueued.Add(float64(deliveries))
		},
		Schemas: schemas, EnforceSchemas: enforce, OnViolation: onViolation, Tracer: tracer,
	}
	if r := cfg.Redis; r.ReplicaAcks > 0 {
		pub.Replicas = store.NewReplicas(a.Redis, r.Prefix, r.ReplicaAcks, r.ReplicaAckTimeout.D())
	}
	a.Lifecycle = &lifecycle.Manager{
		Store: st, Held: held, Queue: a.client,
		Tokens: store.NewConfirmTokens(a.Redis, cfg.Redis.Prefix), Counters: st,
		Publisher: pub, Sender: signer, Config: cfg.Lifecycle,
		PublicURL: cfg.Server.PublicURL, Retries: policy.Retries, Invalidate: a.Index.Invalidate, NewID: hookgate.NewID,
		Logger: logger, Metrics: lm,
	}
	a.Worker = &deliver.Worker{
		Webhooks: a.Index, Renderer: renderer, Log: a.writer, Policy: policy, Metrics: metrics, Logger: logger,
		Limiter: store.NewRateLimiter(a.Redis, cfg.Redis.Prefix),
		Places:  inflight, Waker: queue.NewWaker(a.Redis),
		Sender: snd, Signer: signer, Holder: holder, Lifecycle: a.Lifecycle,
		Tracing: deliver.Tracing{Tracer: tracer, PropagateToEndpoints: cfg.Telemetry.PropagateToEndpoints},
	}
	rules := webhooks.RulesFromConfig(cfg, cat, a.Pipeline.HasFormat, a.Pipeline.HasTransform)
	rules.FormatUnavailable = a.Pipeline.FormatUnavailable
	rules.EventTypes, rules.FormatAllowsHTTP = a.Pipeline.EventTypes, a.Pipeline.AllowsHTTP
	if js != nil {
		rules.Transformation = js.Check
	}
	svc := &webhooks.Service{Store: st, Counter: st, MaxPerTenant: cfg.Webhooks.MaxPerTenant, NewID: hookgate.NewID,
		Rules:             rules,
		NeedsConfirmation: a.Pipeline.NeedsConfirmation, Confirmer: a.Lifecycle, Held: a.Lifecycle, Logger: logger,
		Invalidate: a.Index.Invalidate}
	inSvc, proxy, err := a.newIncoming(cfg, st, logger)
	if err != nil {
		return nil, err
	}
	deliveries := &webhooks.Deliveries{Webhooks: st, Catalogue: cat, Log: a.Log, Queue: a.client, Worker: a.Worker,
		AllowHTTP: d.AllowHTTP, FormatAllowsHTTP: a.Pipeline.AllowsHTTP, EventTypes: a.Pipeline.EventTypes, NewID: hookgate.NewID, Logger: logger}
	// A worker process serves health, readiness and metrics only.
	deps := gateway.Deps{
		Config: cfg, Catalogue: cat, Verifier: verifier, Logger: logger, Registry: a.Registry, Formats: a.Pipeline.HasFormat,
		Ready: func(ctx context.Context) error { return store.Ready(ctx, a.Redis) },
	}
	if cfg.Server.Role != "worker" {
		deps = gateway.Deps{
			Config: deps.Config, Catalogue: deps.Catalogue, Verifier: deps.Verifier, Logger: deps.Logger,
			Registry: deps.Registry, Formats: deps.Formats, Ready: deps.Ready,
			Webhooks: svc, Publisher: pub, Deliveries: deliveries, Lifecycle: a.Lifecycle,
			Incoming: inSvc, IncomingProxy: proxy, JWKS: a.Signer.JWKS(),
			Transformations: a.transformationPreview(cat, hookgate.NewID),
			Plugins:         a.Plugins, PluginReloader: a, LoginCodes: store.NewLoginCodes(a.Redis, cfg.Redis.Prefix),
			Tracer: tracer,
		}
	}
	a.Gateway = gateway.New(deps)
	if cfg.Server.Role != "worker" {
		a.ingest = newIngest(cfg, pub, a.Registry, logger, tracer)
	}
	if cfg.Server.Role != "api" {
		a.server = queue.NewServer(a.Redis, queue.ServerConfig{
			Queues: a.queues, Concurrency: d.Concurrency, PollInterval: d.PollInterval.D(),
			ShutdownTimeout: cfg.Server.ShutdownTimeout.D(), Logger: logger,
		}, a.Worker, deliveries)
		queue.RegisterQueueDepth(a.Registry, a.Redis, a.queues)
	}
	return a, nil
}

// schemaCheck compiles the event catalogue's schemas when events.validate
// asks for it (a schema that does not compile stops the start) and returns
// the publisher's checker, whether it refuses violations, and what it does
// with one it accepts (events.validate: warn). All nil when off.
func (a *App) schemaCheck(cfg config.Config, cat *hookgate.Catalogue, logger *slog.Logger) (ingest.SchemaChecker, bool, func(string, error), error) {
	mode := cfg.Events.Validate
	if mode != eventschema.Warn && mode != eventschema.Enforce {
		return nil, false, nil, nil
	}
	schemas, err := eventschema.New(cat)
	if err != nil {
		return nil, false, nil, fmt.Errorf("event schemas: %w", err)
	}
	violations := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hookgate_event_schema_violations_total",
		Help: "Published events whose data did not match their type's schema, by event type (events.validate: warn)."}, []string{"type"})
	a.Registry.MustRegister(violations)
	return schemas, mode == eventschema.Enforce, func(typ string, err error) {
		violations.WithLabelValues(typ).Inc()
		logger.Warn("event data does not match its schema; accepted (events.validate: warn)", "type", typ, "violation", hookgate.ErrorMessage(err))
	}, nil
}

// newIncoming builds the incoming webhook service and proxy: the scopes
// from config, the owner-token signer, the request log writer.
func (a *App) newIncoming(cfg config.Config, st *store.Store, logger *slog.Logger) (*incoming.Service, *incoming.Proxy, error) {
	in := cfg.Incoming
	scopes, err := incoming.ScopesFromConfig(in.Scopes)
	if err != nil {
		return nil, nil, fmt.Errorf("incoming.scopes: %w", err)
	}
	forward, err := incoming.NewHeaderSet(in.ForwardHeaders)
	if err != nil {
		return nil, nil, fmt.Errorf("incoming.forward_headers: %w", err)
	}
	key := ownertoken.GenerateKey()
	if in.SigningKey != "" {
		if key, err = ownertoken.LoadKey(in.SigningKey); err != nil {
			return nil, nil, fmt.Errorf("incoming.signing_key: %w", err)
		}
	}
	issuer := in.Issuer
	if issuer == "" {
		issuer = cfg.Server.PublicURL
	}
	if a.Signer, err = ownertoken.New(key, ownertoken.Options{Issuer: issuer, Audience: in.Audience, TTL: in.TokenTTL.D()}); err != nil {
		return nil, nil, err
	}
	a.IncomingLog = incoming.NewLogWriter(st, in.LogEntries, 4096, 0, logger)
	svc := &incoming.Service{
		Store: st, Scopes: scopes, PublicURL: cfg.Server.PublicURL, MaxPerTenant: in.MaxPerTenant,
		MaxNameLength: cfg.Webhooks.MaxNameLength, LogEntries: in.LogEntries,
		TransformProblem: func(name string) string {
			// The running plugins, which a reload changes.
			st, ok := a.Plugins.Plugin(name)
			switch {
			case !ok:
				return fmt.Sprintf("no plugin named %q is configured", name)
			case st.Version == "" && !st.Healthy:
				return fmt.Sprintf("plugin %s is not running (%s), so whether it translates incoming requests is unknown", name, st.Reason)
			case !st.Incoming:
				return fmt.Sprintf("plugin %s does not translate incoming requests (it has no Incoming method; see docs/plugins.md)", name)
			}
			return ""
		},
	}
	// Updates and deletes wait out the rate-limit leases other processes
	// may hold (internal/store/lease.go).
	st.SetIncomingLimits(in.Rate, in.Burst)
	proxy := &incoming.Proxy{
		Lookup: st, Scopes: scopes, Signer: a.Signer, Transformer: a.Pipeline, Log: a.IncomingLog,
		Client: incoming.NewClient(1024, in.Timeout.D()), Forward: forward,
		Limits: incoming.Limits{Rate: in.Rate, Burst: in.Burst, Timeout: in.Timeout.D(), MaxRequestBody: min(in.MaxRequestBody, cfg.Server.BodyLimit),
			MaxResponseBody: in.MaxResponseBody, LogBodyBytes: in.LogBodyBytes},
	}
	return svc, proxy, nil
}

func durations(ds []hookgate.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.D()
	}
	return out
}

// Start starts the background parts and serves HTTP on ln (nil: listen on
// server.listen; role worker serves only health and metrics).
func (a *App) Start(ctx context.Context, ln net.Listener) error {
	pingCtx, cancelPing := context.WithTimeout(ctx, 5*time.Second)
	err := a.Redis.Ping(pingCtx).Err()
	cancelPing()
	if err != nil {
		hint := ""
		switch tlsOn := a.Config.Redis.TLS; {
		case !tlsOn && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)):
			hint = " (the connection was closed at once, as a Redis that speaks TLS only does: set redis.tls?)"
		case tlsOn && errors.Is(err, context.DeadlineExceeded):
			hint = " (no TLS handshake completed: does the server speak TLS on that port?)"
		}
		return fmt.Errorf("%s does not answer: %w%s", redisTarget(a.Config.Redis), err, hint)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.cancel = cancel
	if err := a.watchChanges(ctx, runCtx); err != nil {
		cancel()
		a.wg.Wait()
		return err
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.client.Stalled.Run(runCtx)
	}()
	if err := a.Plugins.Start(ctx); err != nil {
		cancel()
		return fmt.Errorf("plugins: %w", err)
	}
	a.writer.Start()
	a.IncomingLog.Start()
	if a.server != nil {
		if err := a.server.Start(); err != nil {
			cancel()
			return err
		}
		a.Lifecycle.Start()
	}
	if ln == nil {
		if ln, err = net.Listen("tcp", a.Config.Server.Listen); err != nil {
			cancel()
			return fmt.Errorf("listen on %s: %w", a.Config.Server.Listen, err)
		}
	}
	a.ln = ln
	ingestCtx, ingestCancel := context.WithCancel(context.WithoutCancel(ctx))
	a.ingestCancel = ingestCancel
	for _, run := range a.ingest {
		a.ingestWG.Add(1)
		go func() {
			defer a.ingestWG.Done()
			_ = run(ingestCtx)
		}()
	}
	a.serveErr = make(chan error, 1)
	go func() { a.serveErr <- a.Gateway.Serve(ln) }()
	return nil
}

// redisTarget names the Redis of r for an error: the address in standalone
// mode, the Sentinels and master name, or the cluster's seeds; and TLS.
func redisTarget(r config.Redis) string {
	var s string
	switch r.Mode {
	case config.RedisSentinel:
		s = fmt.Sprintf("redis master %q of the sentinels at %s", r.MasterName, strings.Join(r.Addrs, ","))
	case config.RedisCluster:
		s = "redis cluster at " + strings.Join(r.Addrs, ",")
	default:
		s = "redis at " + r.Addr
	}
	if r.TLS {
		s += " (tls)"
	}
	return s
}

// watchChanges keeps the subscription index listening for webhook changes
// until runCtx ends (subscribing again a second after the subscription
// ends) and waits, at most 5 s, for the first subscription: from then on a
// change made anywhere reaches this process's index.
func (a *App) watchChanges(ctx, runCtx context.Context) error {
	up := make(chan struct{})
	var once sync.Once
	var mu sync.Mutex
	var last error
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.Index.Run(runCtx, func(err error) {
			if err == nil {
				once.Do(func() { close(up) })
				return
			}
			mu.Lock()
			last = err
			mu.Unlock()
			a.Logger.Warn("webhook change subscription ended; subscribing again", "err", err)
		})
	}()
	timer := time.NewTimer(5 * time.Second)
	defer timer.Stop()
	select {
	case <-up:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("subscribe to webhook changes: %w", ctx.Err())
	case <-timer.C:
		mu.Lock()
		defer mu.Unlock()
		if last == nil {
			last = errors.New("no confirmation from Redis")
		}
		return fmt.Errorf("subscribe to webhook changes: not subscribed within 5s: %w", last)
	}
}

// Addr is the address HTTP is served on.
func (a *App) Addr() string { return a.ln.Addr().String() }

// Wait blocks until the HTTP server stops by itself (an error) or ctx ends.
func (a *App) Wait(ctx context.Context) error {
	select {
	case err := <-a.serveErr:
		return err
	case <-ctx.Done():
		return nil
	}
}

// Shutdown stops in reverse start order: HTTP (drains requests), workers
// (drain in-flight deliveries), the log writer, the plugins, the index, Redis.
func (a *App) Shutdown(ctx context.Context) error {
	var errs []error
	if err := a.Gateway.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("http: %w", err))
	}
	// Broker consumers stop taking messages; those not acknowledged yet
	// go back to the broker.
	if a.ingestCancel != nil {
		a.ingestCancel()
	}
	a.ingestWG.Wait()
	if a.server != nil {
		a.Lifecycle.Shutdown()
		a.server.Shutdown()
	}
	a.writer.Shutdown()
	a.IncomingLog.Shutdown()
	a.Store.Close()
	if err := a.Plugins.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("plugins: %w", err))
	}
	if a.cancel != nil {
		a.cancel()
	}
	a.wg.Wait()
	if err := a.Tracing.Shutdown(ctx); err != nil {
		// Spans not exported in time are lost; nothing else is.
		a.Logger.Warn("telemetry: spans not exported at shutdown", "err", err)
	}
	if err := a.Redis.Close(); err != nil && !store.IsClosed(err) {
		errs = append(errs, fmt.Errorf("redis: %w", err))
	}
	return errors.Join(errs...)
}

// transformationPreview serves POST /v1/webhooks/transformation/preview;
// nil (the route answers 503) when inline transformations are disabled.
func (a *App) transformationPreview(cat *hookgate.Catalogue, newID func(string) string) hookgate.TransformationPreviewer {
	if a.Pipeline.Transformations() == nil {
		return nil
	}
	return &webhooks.TransformationPreview{Catalogue: cat, Runner: a.Pipeline, Formats: a.Pipeline.HasFormat, NewID: newID}
}

// processInfo is hookgate_process_info{role,version} 1: the Prometheus info
// metric that says what a scraped process is (server.role: all, api or
// worker), to join onto its other series (`* on(instance) group_left(role)
// hookgate_process_info`) rather than a label repeated on every series.
func processInfo(cfg config.Config) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "hookgate_process_info",
		Help:        "Always 1: what this process is. role is server.role (all, api or worker).",
		ConstLabels: prometheus.Labels{"role": cfg.Server.Role, "version": hookgate.Version}})
	g.Set(1)
	return g
}
