package gateway

import (
	"github.com/gofiber/fiber/v2"

	"github.com/hookgate/hookgate"
)

// route is one entry of the route table: where it is, who may call it, and
// what handles it. Public routes have no roles and auth=false.
type route struct {
	method  string
	path    string
	auth    bool
	roles   []string // any of; empty with auth = any verified principal
	handler fiber.Handler
}

// methodAll in a route's method registers it for every method.
const methodAll = "ANY"

// addRoutes registers routes; every registration goes through here so that
// the auth requirement of each route is stated in one place.
func (s *Server) addRoutes(rs ...route) {
	for _, r := range rs {
		handlers := []fiber.Handler{}
		if r.auth {
			handlers = append(handlers, s.authenticate(r.roles...))
		}
		handlers = append(handlers, r.handler)
		if r.method == methodAll {
			s.app.All(r.path, handlers...)
		} else {
			s.app.Add(r.method, r.path, handlers...)
		}
		s.routes = append(s.routes, r)
	}
}

// managers are the roles that manage webhooks: admins their tenant's, system
// principals the cross-tenant ones (see namespace).
var managers = []string{hookgate.RoleAdmin, hookgate.RoleSystem}

func (s *Server) register() {
	s.addRoutes(
		route{method: "GET", path: "/healthz", handler: s.healthz},
		route{method: "GET", path: "/readyz", handler: s.readyz},
		route{method: "GET", path: "/metrics", handler: s.metricsHandler()},
		route{method: "GET", path: "/v1/openapi.json", handler: s.openapi},
		route{method: "GET", path: "/v1/event-types", auth: true, handler: s.listEventTypes},
		// The console's static files: public, since they hold no data; the
		// console signs in against the API like any other client.
		route{method: "GET", path: "/console/*", handler: s.consoleAsset},
	)
	if s.publisher != nil {
		s.addRoutes(
			route{method: "POST", path: "/v1/events", auth: true, roles: []string{hookgate.RolePublisher}, handler: s.publishEvent},
			route{method: "POST", path: "/v1/events/batch", auth: true, roles: []string{hookgate.RolePublisher}, handler: s.publishBatch},
		)
	}
	if s.webhooks != nil {
		s.addRoutes(
			route{method: "POST", path: "/v1/webhooks/test", auth: true, roles: managers, handler: s.testURLs},
			route{method: "POST", path: "/v1/webhooks/transformation/preview", auth: true, roles: managers, handler: s.previewTransformation},
			route{method: "POST", path: "/v1/webhooks/filter/preview", auth: true, roles: managers, handler: s.previewFilter},
			route{method: "POST", path: "/v1/webhooks", auth: true, roles: managers, handler: s.createWebhook},
			route{method: "GET", path: "/v1/webhooks", auth: true, roles: managers, handler: s.listWebhooks},
			route{method: "GET", path: "/v1/webhooks/:id", auth: true, roles: managers, handler: s.getWebhook},
			route{method: "PATCH", path: "/v1/webhooks/:id", auth: true, roles: managers, handler: s.updateWebhook},
			route{method: "DELETE", path: "/v1/webhooks/:id", auth: true, roles: managers, handler: s.deleteWebhook},
		)
	}
	if s.deliveries != nil {
		s.addRoutes(
			route{method: "POST", path: "/v1/webhooks/:id/test", auth: true, roles: managers, handler: s.testWebhook},
			route{method: "GET", path: "/v1/webhooks/:id/deliveries", auth: true, roles: managers, handler: s.listDeliveries},
			route{method: "GET", path: "/v1/deliveries/:id", auth: true, roles: managers, handler: s.getDelivery},
			route{method: "POST", path: "/v1/deliveries/:id/retry", auth: true, roles: managers, handler: s.retryDelivery},
			route{method: "POST", path: "/v1/webhooks/:id/recover", auth: true, roles: managers, handler: s.recoverWebhook},
			route{method: "POST", path: "/v1/webhooks/:id/preview", auth: true, roles: managers, handler: s.previewWebhook},
		)
		if s.stats() != nil {
			s.addRoutes(route{method: "GET", path: "/v1/webhooks/:id/stats", auth: true, roles: managers, handler: s.webhookStats})
		}
	}
	if s.lifecycle != nil {
		s.addRoutes(
			route{method: "POST", path: "/v1/webhooks/:id/pause", auth: true, roles: managers, handler: s.pauseWebhook},
			route{method: "POST", path: "/v1/webhooks/:id/resume", auth: true, roles: managers, handler: s.resumeWebhook},
			route{method: "POST", path: "/v1/webhooks/:id/rotate-secret", auth: true, roles: managers, handler: s.rotateSecret},
			route{method: "POST", path: "/v1/webhooks/:id/confirmation/resend", auth: true, roles: managers, handler: s.resendConfirmation},
			// Public: the receiver follows this link with no credentials but
			// the unguessable token in it.
			route{method: "GET", path: "/v1/subscriptions/confirm", handler: s.confirmSubscription},
		)
	}
	if s.loginCodes != nil {
		// Public: the one-time code is the credential (see docs/console.md).
		s.addRoutes(route{method: "POST", path: "/v1/console/login", handler: s.redeemLoginCode},
			route{method: "POST", path: "/v1/console/links", auth: true, roles: []string{hookgate.RoleSystem}, handler: s.issueLoginLink})
	}
	if s.plugins != nil {
		s.addRoutes(route{method: "GET", path: "/v1/plugins", auth: true, roles: managers, handler: s.listPlugins})
	}
	if s.reloader != nil {
		// Operators only: a reload changes what every tenant's webhooks run.
		s.addRoutes(route{method: "POST", path: "/v1/plugins/reload", auth: true, roles: []string{hookgate.RoleSystem}, handler: s.reloadPlugins})
	}
	s.registerIncoming()
}

// Routes lists the registered routes as "METHOD /path" (Fiber's :param form).
func (s *Server) Routes() []string {
	out := make([]string, 0, len(s.routes))
	for _, r := range s.routes {
		out = append(out, r.method+" "+r.path)
	}
	return out
}
