package gateway

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/hookgate/hookgate"
)

const maxIdempotencyKey = 255

func (s *Server) publishEvent(c *fiber.Ctx) error {
	var in hookgate.EventInput
	if err := decodeJSON(c, &in); err != nil {
		return s.writeError(c, err)
	}
	raw := c.Request().Header.Peek("Idempotency-Key")
	key := strings.TrimSpace(string(raw))
	switch {
	case raw != nil && key == "":
		// A blank key would silently mean "no key": repeats would then be
		// new events. Say so instead.
		return s.writeError(c, hookgate.FieldError("Idempotency-Key", "Idempotency-Key is blank; send a key or leave the header out"))
	case len(key) > maxIdempotencyKey:
		return s.writeError(c, hookgate.FieldError("Idempotency-Key", "Idempotency-Key must be at most %d characters", maxIdempotencyKey))
	}
	if err := s.publisher.Validate(&in); err != nil {
		return s.writeError(c, err)
	}
	rs, err := s.publisher.Publish(c.UserContext(), principal(c).Tenant, []hookgate.EventInput{in}, key)
	if err != nil {
		return s.writeError(c, err)
	}
	return c.Status(fiber.StatusAccepted).JSON(rs[0])
}

type batchInput struct {
	Events []hookgate.EventInput `json:"events"`
}

type batchResult struct {
	Data []hookgate.PublishResult `json:"data"`
}

func (s *Server) publishBatch(c *fiber.Ctx) error {
	var in batchInput
	if err := decodeJSON(c, &in); err != nil {
		return s.writeError(c, err)
	}
	if len(in.Events) == 0 {
		return s.writeError(c, hookgate.FieldError("events", "events must hold at least one event"))
	}
	if len(in.Events) > s.cfg.Events.MaxBatch {
		return s.writeError(c, hookgate.Errorf(hookgate.ETOOLARGE, "a batch holds at most %d events; this one has %d", s.cfg.Events.MaxBatch, len(in.Events)))
	}
	var v hookgate.Validation
	for i := range in.Events {
		if err := s.publisher.Validate(&in.Events[i]); err != nil {
			if hookgate.ErrorCode(err) == hookgate.ETOOLARGE {
				return s.writeError(c, err)
			}
			var he *hookgate.Error
			if errors.As(err, &he) && he.Code == hookgate.ESCHEMA {
				// The whole batch is refused with the first violation, named
				// by its place in the batch.
				fields := make(map[string]string, len(he.Fields))
				for f, msg := range he.Fields {
					fields["events["+strconv.Itoa(i)+"]."+f] = msg
				}
				return s.writeError(c, &hookgate.Error{Code: he.Code, Message: "events[" + strconv.Itoa(i) + "]: " + he.Message, Fields: fields})
			}
			v.Add("events["+strconv.Itoa(i)+"]", "%s", hookgate.ErrorMessage(err))
		}
	}
	if err := v.Err(); err != nil {
		return s.writeError(c, err)
	}
	rs, err := s.publisher.Publish(c.UserContext(), principal(c).Tenant, in.Events, "")
	if err != nil {
		return s.writeError(c, err)
	}
	return c.Status(fiber.StatusAccepted).JSON(batchResult{Data: rs})
}
