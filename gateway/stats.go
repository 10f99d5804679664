package gateway

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/hookgate/hookgate"
)

// stats is the delivery service's StatsService, or nil when it has none.
func (s *Server) stats() hookgate.StatsService {
	sv, _ := s.deliveries.(hookgate.StatsService)
	return sv
}

func (s *Server) webhookStats(c *fiber.Ctx) error {
	ns, err := s.namespace(c, false)
	if err != nil {
		return s.writeError(c, err)
	}
	st, err := s.stats().WebhookStats(c.UserContext(), ns, c.Params("id"))
	if err != nil {
		return s.writeError(c, err)
	}
	return c.JSON(st)
}

// webhookWithHealth is a webhook of a list asked with ?include=health.
type webhookWithHealth struct {
	*hookgate.Webhook
	Health *endpointsHealth `json:"health"`
}

// endpointsHealth is hookgate.Health with the endpoints' health as a list in
// the webhook's order of endpoints, each with its URL.
type endpointsHealth struct {
	Window      int               `json:"window"`
	Total       int               `json:"total"`
	Succeeded   int               `json:"succeeded"`
	Failed      int               `json:"failed"`
	SuccessRate float64           `json:"success_rate"`
	Endpoints   []*endpointHealth `json:"endpoints"`
}

type endpointHealth struct {
	EndpointID string `json:"endpoint_id"`
	URL        string `json:"url"`
	hookgate.Health
}

func showHealth(w *hookgate.Webhook, h *hookgate.Health) *endpointsHealth {
	if h == nil {
		h = &hookgate.Health{Window: hookgate.HealthWindow}
	}
	out := &endpointsHealth{Window: h.Window, Total: h.Total, Succeeded: h.Succeeded, Failed: h.Failed,
		SuccessRate: h.SuccessRate, Endpoints: make([]*endpointHealth, 0, len(w.Endpoints))}
	for _, e := range w.Endpoints {
		eh := hookgate.Health{Window: h.Window}
		if v := h.Endpoints[e.ID]; v != nil {
			eh = *v
		}
		eh.Endpoints = nil
		out.Endpoints = append(out.Endpoints, &endpointHealth{EndpointID: e.ID, URL: e.URL, Health: eh})
	}
	return out
}

// includes reads ?include=a,b and refuses what is unknown.
func includes(c *fiber.Ctx, known ...string) (map[string]bool, error) {
	out := map[string]bool{}
	raw := c.Query("include")
	if raw == "" {
		return out, nil
	}
	for _, v := range strings.Split(raw, ",") {
		v = strings.TrimSpace(v)
		ok := false
		for _, k := range known {
			ok = ok || v == k
		}
		if !ok {
			return nil, hookgate.FieldError("include", "include must be %s", strings.Join(known, ", "))
		}
		out[v] = true
	}
	return out, nil
}
