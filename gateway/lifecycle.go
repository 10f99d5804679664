package gateway

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/hookgate/hookgate"
)

type pauseInput struct {
	Reason string `json:"reason"`
}

// pauseWebhook pauses with an optional body {"reason": "..."}, kept as the
// webhook's status_reason.
func (s *Server) pauseWebhook(c *fiber.Ctx) error {
	var in pauseInput
	if err := decodeOptionalJSON(c, &in); err != nil {
		return s.writeError(c, err)
	}
	return serveByID(s, c, fiber.StatusOK, func(ctx context.Context, ns, id string) (*hookgate.Webhook, error) {
		return s.lifecycle.Pause(ctx, ns, id, in.Reason)
	})
}

func (s *Server) resumeWebhook(c *fiber.Ctx) error {
	return serveByID(s, c, fiber.StatusOK, s.lifecycle.Resume)
}

type confirmationSends struct {
	Data []hookgate.ConfirmationSent `json:"data"`
}

func (s *Server) resendConfirmation(c *fiber.Ctx) error {
	ns, err := s.namespace(c, false)
	if err != nil {
		return s.writeError(c, err)
	}
	sent, err := s.lifecycle.ResendConfirmation(c.UserContext(), ns, c.Params("id"))
	if err != nil {
		return s.writeError(c, err)
	}
	return c.JSON(confirmationSends{Data: sent})
}

// confirmSubscription is the public link a receiver follows. It needs no
// token but the link's own: 256 random bits, looked up by their hash.
func (s *Server) confirmSubscription(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	res, err := s.lifecycle.Confirm(c.UserContext(), c.Query("token"))
	if err != nil {
		return s.writeError(c, err)
	}
	return c.JSON(res)
}

type rotateInput struct {
	GracePeriod *hookgate.Duration `json:"grace_period"`
}

func (s *Server) rotateSecret(c *fiber.Ctx) error {
	ns, err := s.namespace(c, false)
	if err != nil {
		return s.writeError(c, err)
	}
	var in rotateInput
	if err := decodeOptionalJSON(c, &in); err != nil {
		return s.writeError(c, err)
	}
	w, err := s.lifecycle.RotateSecret(c.UserContext(), ns, c.Params("id"), in.GracePeriod)
	if err != nil {
		return s.writeError(c, err)
	}
	return c.JSON(webhookWithSecret{Webhook: w, Secret: w.Secret})
}
