// Package gateway is hookgate's HTTP face, built on Fiber: the admin API, event
// ingestion, incoming webhook URLs, the console, health and metrics. Handlers
// are thin: parse, authorise, call the domain, map errors to HTTP. Every route
// and the role it requires are declared in one table (routes.go).
package gateway

import (
	"context"
	"io/fs"
	"log/slog"
	"net"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/console"
)

// Pinger reports whether a dependency (Redis) answers; used by /readyz.
type Pinger func(ctx context.Context) error

// Deps are what the gateway needs. Optional fields may be nil; the routes that
// need them are then not registered.
type Deps struct {
	Config     config.Config
	Catalogue  *hookgate.Catalogue
	Verifier   hookgate.TokenVerifier
	Webhooks   hookgate.WebhookService
	Publisher  hookgate.EventPublisher
	Deliveries hookgate.DeliveryService
	Ready      Pinger
	Logger     *slog.Logger
	Registry   *prometheus.Registry
	// Formats reports whether a payload format exists (plugins); nil accepts only "standard".
	Formats func(name string) bool
	// Plugins lists the loaded plugins for GET /v1/plugins. Optional.
	Plugins hookgate.PluginLister
	// PluginReloader reloads the plugins section for POST
	// /v1/plugins/reload and reports the last reload. Optional.
	PluginReloader hookgate.PluginReloader
	// Lifecycle pauses, resumes, confirms and rotates webhooks. Optional.
	Lifecycle hookgate.LifecycleService
	// Incoming manages incoming webhooks; IncomingProxy serves their URLs
	// and JWKS is the owner-token key set served at /.well-known/jwks.json.
	// Optional (together).
	Incoming      hookgate.IncomingService
	IncomingProxy hookgate.IncomingProxy
	JWKS          []byte
	// LoginCodes redeems console login links (POST /v1/console/login). Optional.
	LoginCodes hookgate.LoginCodeTaker
	// Transformations previews inline transformations
	// (POST /v1/webhooks/transformation/preview). Optional.
	Transformations hookgate.TransformationPreviewer
	// Tracer makes a server span of each request; nil: tracing is off.
	Tracer trace.Tracer
}

// Server is the Fiber app with its dependencies.
type Server struct {
	app        *fiber.App
	cfg        config.Config
	cat        *hookgate.Catalogue
	verifier   hookgate.TokenVerifier
	webhooks   hookgate.WebhookService
	publisher  hookgate.EventPublisher
	deliveries hookgate.DeliveryService
	previewer  hookgate.TransformationPreviewer
	formats    func(string) bool
	plugins    hookgate.PluginLister
	reloader   hookgate.PluginReloader
	lifecycle  hookgate.LifecycleService
	ready      Pinger
	log        *slog.Logger
	reg        *prometheus.Registry
	metrics    *httpMetrics
	routes     []route
	openapiDoc []byte
	trusted    proxyTrust

	incoming      hookgate.IncomingService
	incomingProxy hookgate.IncomingProxy
	jwksDoc       []byte
	consoleFS     fs.FS
	loginCodes    hookgate.LoginCodeTaker
	tracer        trace.Tracer
}

// New builds the app and registers every route.
func New(d Deps) *Server {
	s := &Server{
		cfg: d.Config, cat: d.Catalogue, verifier: d.Verifier, webhooks: d.Webhooks, publisher: d.Publisher, deliveries: d.Deliveries, plugins: d.Plugins, reloader: d.PluginReloader, previewer: d.Transformations,
		lifecycle: d.Lifecycle,
		ready:     d.Ready, log: d.Logger, reg: d.Registry,
		incoming: d.Incoming, incomingProxy: d.IncomingProxy, jwksDoc: d.JWKS,
		consoleFS: console.Files(), loginCodes: d.LoginCodes, tracer: d.Tracer,
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.reg == nil {
		s.reg = prometheus.NewRegistry()
	}
	formats := d.Formats
	if formats == nil {
		formats = func(name string) bool { return name == "standard" }
	}
	s.formats = formats
	s.metrics = newHTTPMetrics(s.reg)
	s.trusted = newProxyTrust(d.Config.Server.TrustedProxies)
	s.app = fiber.New(fiber.Config{
		AppName:               "hookgate",
		DisableStartupMessage: true,
		BodyLimit:             d.Config.Server.BodyLimit,
		ReadTimeout:           d.Config.Server.ReadTimeout.D(),
		WriteTimeout:          d.Config.Server.WriteTimeout.D(),
		IdleTimeout:           d.Config.Server.IdleTimeout.D(),
		ErrorHandler:          s.errorHandler,
		// Forwarding headers (X-Forwarded-*, X-Url-Scheme) are believed
		// only from server.trusted_proxies, for the API as for incoming
		// URLs; Fiber believes any caller's by default. ProxyHeader stays
		// unset: see clientIP.
		EnableTrustedProxyCheck: true,
		TrustedProxies:          d.Config.Server.TrustedProxies,
		// fasthttp reads the request line and headers into this buffer and
		// refuses what does not fit (431, errors.go).
		ReadBufferSize: s.headerLimit(),
	})
	s.app.Use(s.requestIDs, s.metrics.middleware, s.recoverPanics, s.refuseEncodedBodies)
	if s.tracer != nil {
		s.app.Use(s.traceRequests)
	}
	if s.incomingProxy != nil {
		s.app.Use(s.incomingPathGuard) // before every route, so no /in/ path reaches another
	}
	s.register()
	return s
}

// App returns the Fiber app (for tests and for mounting extra routes).
func (s *Server) App() *fiber.App { return s.app }

// Serve serves on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.app.Listener(ln) }

// Shutdown stops accepting connections and waits for in-flight requests,
// at most until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error { return s.app.ShutdownWithContext(ctx) }

// headerLimit is server.header_limit, or its default for a Server built
// from a zero Config (tests).
func (s *Server) headerLimit() int {
	if s.cfg.Server.HeaderLimit > 0 {
		return s.cfg.Server.HeaderLimit
	}
	return config.Default().Server.HeaderLimit
}

// ReadyTimeout bounds the /readyz dependency check.
const ReadyTimeout = 2 * time.Second
