package gateway

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/hookgate/hookgate"
)

type deliveryPage struct {
	Data       []*hookgate.Delivery `json:"data"`
	NextCursor string               `json:"next_cursor,omitempty"`
}

func (s *Server) listDeliveries(c *fiber.Ctx) error {
	ns, err := s.namespace(c, false)
	if err != nil {
		return s.writeError(c, err)
	}
	limit, err := s.pageLimit(c)
	if err != nil {
		return s.writeError(c, err)
	}
	f := hookgate.DeliveryFilter{Tenant: ns, WebhookID: c.Params("id"), Status: hookgate.DeliveryStatus(c.Query("status")),
		EventType: c.Query("event"), EndpointID: c.Query("endpoint"), Cursor: c.Query("cursor"), Limit: limit}
	for name, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if raw := c.Query(name); raw != "" {
			t, err := time.Parse(time.RFC3339, raw)
			if err != nil {
				return s.writeError(c, hookgate.FieldError(name, "%s must be an RFC 3339 time such as 2026-01-02T15:04:05Z", name))
			}
			*dst = t
		}
	}
	list, next, err := s.deliveries.ListDeliveries(c.UserContext(), ns, f)
	if err != nil {
		return s.writeError(c, err)
	}
	if list == nil {
		list = []*hookgate.Delivery{}
	}
	return c.JSON(deliveryPage{Data: list, NextCursor: next})
}

func (s *Server) getDelivery(c *fiber.Ctx) error {
	return serveByID(s, c, fiber.StatusOK, s.deliveries.FindDelivery)
}

func (s *Server) retryDelivery(c *fiber.Ctx) error {
	return serveByID(s, c, fiber.StatusAccepted, s.deliveries.RetryDelivery)
}

// recoverWebhook sends again the deliveries of a webhook that ended failed
// in a window; the work is done by a queued task, the answer says how many.
func (s *Server) recoverWebhook(c *fiber.Ctx) error {
	ns, err := s.namespace(c, false)
	if err != nil {
		return s.writeError(c, err)
	}
	var req hookgate.RecoverRequest
	if err := decodeJSON(c, &req); err != nil {
		return s.writeError(c, err)
	}
	rv, err := s.deliveries.RecoverWebhook(c.UserContext(), ns, c.Params("id"), req)
	if err != nil {
		return s.writeError(c, err)
	}
	return c.Status(fiber.StatusAccepted).JSON(rv)
}

type testResults struct {
	Data []hookgate.TestResult `json:"data"`
}

func (s *Server) testWebhook(c *fiber.Ctx) error {
	ns, err := s.namespace(c, false)
	if err != nil {
		return s.writeError(c, err)
	}
	var req hookgate.TestRequest
	if err := decodeOptionalJSON(c, &req); err != nil {
		return s.writeError(c, err)
	}
	rs, err := s.deliveries.TestWebhook(c.UserContext(), ns, c.Params("id"), req)
	if err != nil {
		return s.writeError(c, err)
	}
	return c.JSON(testResults{Data: rs})
}

type testURLsInput struct {
	URLs []string `json:"urls"`
	// Headers are the custom headers of each URL, by index.
	Headers []map[string]string `json:"headers,omitempty"`
	Format  string              `json:"format,omitempty"`
	Events  []string            `json:"events,omitempty"`
	Secret  string              `json:"secret,omitempty"`
}

func (s *Server) testURLs(c *fiber.Ctx) error {
	ns, err := s.namespace(c, false)
	if err != nil {
		return s.writeError(c, err)
	}
	var in testURLsInput
	if err := decodeJSON(c, &in); err != nil {
		return s.writeError(c, err)
	}
	if in.Format != "" && !s.formats(in.Format) {
		return s.writeError(c, hookgate.FieldError("format", "unknown format %q", in.Format))
	}
	rs, err := s.deliveries.TestURLs(c.UserContext(), ns, hookgate.TestRequest{URLs: in.URLs, Headers: in.Headers, Format: in.Format, Events: in.Events}, in.Secret)
	if err != nil {
		return s.writeError(c, err)
	}
	return c.JSON(testResults{Data: rs})
}
