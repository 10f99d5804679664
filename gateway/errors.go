package gateway

import (
	"errors"
	"log/slog"

	"github.com/gofiber/fiber/v2"

	"github.com/hookgate/hookgate"
)

// statusOf is the one table from domain error codes to HTTP statuses.
var statusOf = map[string]int{
	hookgate.EINVALID:      fiber.StatusBadRequest,
	hookgate.EMALFORMED:    fiber.StatusBadRequest,
	hookgate.ENOTFOUND:     fiber.StatusNotFound,
	hookgate.ECONFLICT:     fiber.StatusConflict,
	hookgate.EIDEMPOTENCY:  fiber.StatusConflict,
	hookgate.EUNAUTHORIZED: fiber.StatusUnauthorized,
	hookgate.EFORBIDDEN:    fiber.StatusForbidden,
	hookgate.ETOOLARGE:     fiber.StatusRequestEntityTooLarge,
	hookgate.EUNSUPPORTED:  fiber.StatusUnsupportedMediaType,
	hookgate.ERATELIMITED:  fiber.StatusTooManyRequests,
	hookgate.EEXPIRED:      fiber.StatusGone,
	hookgate.EUNAVAILABLE:  fiber.StatusServiceUnavailable,
	hookgate.EINTERNAL:     fiber.StatusInternalServerError,
	hookgate.EBADGATEWAY:   fiber.StatusBadGateway,
	hookgate.ETIMEOUT:      fiber.StatusGatewayTimeout,
}

// errorBody is the one error shape of the API.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      string            `json:"code"`
	Message   string            `json:"message"`
	Fields    map[string]string `json:"fields,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
}

// writeError answers with err's code and message. Internal errors are logged
// with the request id and answered with a generic message.
func (s *Server) writeError(c *fiber.Ctx, err error) error {
	code := hookgate.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = fiber.StatusInternalServerError
	}
	rid := requestID(c)
	if status >= 500 {
		s.log.Error("request failed", "request_id", rid, "method", c.Method(), "path", c.Path(), "code", code, "err", err)
	}
	body := errorBody{Error: errorDetail{Code: code, Message: hookgate.ErrorMessage(err), RequestID: rid}}
	var he *hookgate.Error
	if errors.As(err, &he) {
		body.Error.Fields = he.Fields
	}
	if code == hookgate.EUNAUTHORIZED {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="hookgate"`)
	}
	return c.Status(status).JSON(body)
}

// errorHandler turns errors escaping handlers (including Fiber's own, such as
// 413 for an oversize body or 404 for an unknown route) into the error shape.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	if requestID(c) == "" {
		// Fasthttp refuses an oversize body before any middleware runs;
		// the answer still carries a request id.
		rid := newRequestID()
		c.Locals(localsRequestID, rid)
		c.Set(headerRequestID, rid)
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		code := hookgate.EINTERNAL
		switch fe.Code {
		case fiber.StatusRequestEntityTooLarge:
			code = hookgate.ETOOLARGE
		case fiber.StatusNotFound:
			code = hookgate.ENOTFOUND
		case fiber.StatusMethodNotAllowed:
			return c.Status(fe.Code).JSON(errorBody{Error: errorDetail{Code: "method_not_allowed", Message: "Method not allowed.", RequestID: requestID(c)}})
		case fiber.StatusBadRequest:
			code = hookgate.EMALFORMED
		case fiber.StatusRequestTimeout:
			return c.Status(fe.Code).JSON(errorBody{Error: errorDetail{Code: "timeout", Message: "Request timed out.", RequestID: requestID(c)}})
		}
		if code != hookgate.EINTERNAL {
			return s.writeError(c, hookgate.Errorf(code, "%s", fe.Message))
		}
	}
	s.log.Error("unhandled error", slog.String("request_id", requestID(c)), slog.Any("err", err))
	return s.writeError(c, err)
}
