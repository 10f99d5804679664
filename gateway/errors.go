package gateway

import (
	"errors"
	"log/slog"

	"github.com/gofiber/fiber/v2"

	"github.com/hookgate/hookgate"
)

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
	status := hookgate.HTTPStatus(code)
	rid := requestID(c)
	if status >= 500 {
		// The path and the error may hold an incoming webhook's token.
		s.log.Error("request failed", "request_id", rid, "method", c.Method(), "path", hookgate.RedactTokens(c.Path()),
			"code", code, "err", hookgate.RedactTokens(err.Error()))
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
// 404 for an unknown route) into the error shape.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	if requestID(c) == "" {
		// No middleware ran: fasthttp could not read the request.
		return s.refusedBeforeRouting(c, err)
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
			// Fiber's and fasthttp's messages may quote the request line.
			return s.writeError(c, hookgate.Errorf(code, "%s", hookgate.RedactTokens(fe.Message)))
		}
	}
	s.log.Error("unhandled error", slog.String("request_id", requestID(c)), slog.String("err", hookgate.RedactTokens(err.Error())))
	return s.writeError(c, err)
}

// refusedBeforeRouting answers a request fasthttp could not read, as Fiber
// maps its errors (app.serverErrorHandler): an oversize body or header, a
// timeout, a connection that failed mid-request, bytes that are not HTTP.
// Each is the client's doing, and anyone can cause one without credentials,
// so none is logged above debug, and none is answered or logged with
// fasthttp's own text, which quotes the raw request (a bearer token with it).
func (s *Server) refusedBeforeRouting(c *fiber.Ctx, err error) error {
	rid := newRequestID()
	c.Locals(localsRequestID, rid)
	c.Set(headerRequestID, rid)
	status := fiber.StatusInternalServerError
	var fe *fiber.Error
	if errors.As(err, &fe) {
		status = fe.Code
	}
	s.log.Debug("request refused before routing", "request_id", rid, "status", status)
	switch status {
	case fiber.StatusRequestEntityTooLarge:
		return s.writeError(c, hookgate.Errorf(hookgate.ETOOLARGE, "request body is larger than %d bytes", s.cfg.Server.BodyLimit))
	case fiber.StatusRequestHeaderFieldsTooLarge:
		// fasthttp's ErrSmallBuffer: the request line and headers do not
		// fit the read buffer (server.header_limit).
		return s.writeError(c, hookgate.Errorf(hookgate.EHDRTOOLARGE,
			"request headers are too large: the request line and headers must fit in %d bytes", s.headerLimit()))
	case fiber.StatusRequestTimeout:
		return c.Status(status).JSON(errorBody{Error: errorDetail{Code: "timeout", Message: "Request timed out.", RequestID: rid}})
	case fiber.StatusMethodNotAllowed:
		return c.Status(status).JSON(errorBody{Error: errorDetail{Code: "method_not_allowed", Message: "Method not allowed.", RequestID: rid}})
	case fiber.StatusBadGateway:
		// Fiber's name for a net.Error while reading the request: the
		// client's connection failed (reset, closed). The answer rarely
		// arrives; it is still the client's fault, not a gateway error.
		return s.writeError(c, hookgate.Errorf(hookgate.EMALFORMED, "the connection failed while the request was being read"))
	case fiber.StatusBadRequest:
		return s.writeError(c, hookgate.Errorf(hookgate.EMALFORMED, "the request is not valid HTTP/1.1"))
	}
	s.log.Error("unhandled error reading a request", "request_id", rid, "err", err)
	return s.writeError(c, err)
}
