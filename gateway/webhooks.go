package gateway

import (
	"context"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/hookgate/hookgate"
)

// namespace is the tenant whose records a request works on: the principal's
// tenant, or the system namespace when ?scope=system (or system:true on
// create) is asked by a principal with the system role. Never the body's or
// the path's tenant.
func (s *Server) namespace(c *fiber.Ctx, wantSystem bool) (string, error) {
	p := principal(c)
	scope := c.Query("scope")
	if scope != "" && scope != "system" {
		return "", hookgate.FieldError("scope", "scope must be system or absent")
	}
	if wantSystem || scope == "system" {
		if !p.Has(hookgate.RoleSystem) {
			return "", hookgate.Errorf(hookgate.EFORBIDDEN, "system webhooks require the system role")
		}
		return hookgate.SystemTenant, nil
	}
	if !p.Has(hookgate.RoleAdmin) {
		return "", hookgate.Errorf(hookgate.EFORBIDDEN, "this operation requires the admin role")
	}
	return p.Tenant, nil
}

// webhookWithSecret is the answer to create and rotation: the only places a
// secret is shown.
type webhookWithSecret struct {
	*hookgate.Webhook
	Secret string `json:"secret,omitempty"`
}

func (s *Server) createWebhook(c *fiber.Ctx) error {
	var in hookgate.WebhookPatch
	if err := decodeJSON(c, &in); err != nil {
		return s.writeError(c, err)
	}
	ns, err := s.namespace(c, in.System)
	if err != nil {
		return s.writeError(c, err)
	}
	w, err := s.webhooks.CreateWebhook(c.UserContext(), ns, principal(c).Subject, &in)
	if err != nil {
		return s.writeError(c, err)
	}
	c.Location("/v1/webhooks/" + w.ID)
	return c.Status(fiber.StatusCreated).JSON(webhookWithSecret{Webhook: w, Secret: w.Secret})
}

type webhookPage struct {
	Data       []*hookgate.Webhook `json:"data"`
	NextCursor string              `json:"next_cursor,omitempty"`
}

func (s *Server) listWebhooks(c *fiber.Ctx) error {
	ns, err := s.namespace(c, false)
	if err != nil {
		return s.writeError(c, err)
	}
	limit, err := s.pageLimit(c)
	if err != nil {
		return s.writeError(c, err)
	}
	f := hookgate.WebhookFilter{
		Tenant: ns, Search: c.Query("search"), Sort: c.Query("sort"),
		Status: hookgate.WebhookStatus(c.Query("status")), Event: c.Query("event"),
		Cursor: c.Query("cursor"), Limit: limit,
	}
	known := []string{}
	if s.stats() != nil {
		known = append(known, "health")
	}
	inc, err := includes(c, known...)
	if err != nil {
		return s.writeError(c, err)
	}
	list, next, err := s.webhooks.FindWebhooks(c.UserContext(), f)
	if err != nil {
		return s.writeError(c, err)
	}
	if list == nil {
		list = []*hookgate.Webhook{}
	}
	if inc["health"] {
		hs, err := s.stats().WebhookHealth(c.UserContext(), ns, list)
		if err != nil {
			return s.writeError(c, err)
		}
		out := make([]webhookWithHealth, len(list))
		for i, w := range list {
			out[i] = webhookWithHealth{Webhook: w, Health: showHealth(w, hs[w.ID])}
		}
		return c.JSON(struct {
			Data       []webhookWithHealth `json:"data"`
			NextCursor string              `json:"next_cursor,omitempty"`
		}{out, next})
	}
	return c.JSON(webhookPage{Data: list, NextCursor: next})
}

// pageLimit reads ?limit within the configured page sizes.
func (s *Server) pageLimit(c *fiber.Ctx) (int, error) {
	raw := c.Query("limit")
	if raw == "" {
		return s.cfg.Webhooks.PageSize, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > s.cfg.Webhooks.MaxPageSize {
		return 0, hookgate.FieldError("limit", "limit must be a number from 1 to %d", s.cfg.Webhooks.MaxPageSize)
	}
	return n, nil
}

func (s *Server) getWebhook(c *fiber.Ctx) error {
	return serveByID(s, c, fiber.StatusOK, s.webhooks.FindWebhookByID)
}

func (s *Server) updateWebhook(c *fiber.Ctx) error {
	ns, err := s.namespace(c, false)
	if err != nil {
		return s.writeError(c, err)
	}
	var p hookgate.WebhookPatch
	if err := decodeJSON(c, &p); err != nil {
		return s.writeError(c, err)
	}
	w, err := s.webhooks.UpdateWebhook(c.UserContext(), ns, c.Params("id"), &p)
	if err != nil {
		return s.writeError(c, err)
	}
	return c.JSON(w)
}

func (s *Server) deleteWebhook(c *fiber.Ctx) error {
	ns, err := s.namespace(c, false)
	if err != nil {
		return s.writeError(c, err)
	}
	if err := s.webhooks.DeleteWebhook(c.UserContext(), ns, c.Params("id")); err != nil {
		return s.writeError(c, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

type eventTypeList struct {
	Data []hookgate.EventType `json:"data"`
}

func (s *Server) listEventTypes(c *fiber.Ctx) error {
	return c.JSON(eventTypeList{Data: s.cat.Types()})
}

// serveByID serves a route acting on the resource :id in the caller's
// namespace: act's result is the JSON answer, with status; its error is
// written as the API's error.
func serveByID[T any](s *Server, c *fiber.Ctx, status int, act func(ctx context.Context, ns, id string) (T, error)) error {
	ns, err := s.namespace(c, false)
	if err != nil {
		return s.writeError(c, err)
	}
	v, err := act(c.UserContext(), ns, c.Params("id"))
	if err != nil {
		return s.writeError(c, err)
	}
	return c.Status(status).JSON(v)
}
