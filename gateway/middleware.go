package gateway

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/hookgate/hookgate"
)

const (
	headerRequestID = "X-Request-Id"
	localsRequestID = "request_id"
	localsPrincipal = "principal"
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

func newRequestID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return "req_" + strings.ToLower(b32.EncodeToString(b[:]))
}

// requestIDs gives every request an id (the caller's X-Request-Id when it is
// sane), echoes it, and logs the request when it ends.
func (s *Server) requestIDs(c *fiber.Ctx) error {
	rid := c.Get(headerRequestID)
	if len(rid) == 0 || len(rid) > 64 || strings.ContainsFunc(rid, func(r rune) bool { return r < '!' || r > '~' }) {
		rid = newRequestID()
	}
	c.Locals(localsRequestID, rid)
	c.Set(headerRequestID, rid)
	start := time.Now()
	err := c.Next()
	if err != nil {
		if herr := s.errorHandler(c, err); herr != nil {
			return herr
		}
	}
	if s.cfg.Log.Level == "debug" || c.Response().StatusCode() >= 500 {
		s.log.Info("request", "request_id", rid, "method", c.Method(), "route", c.Route().Path,
			"status", c.Response().StatusCode(), "duration_ms", float64(time.Since(start).Microseconds())/1000)
	}
	return nil
}

// recoverPanics turns a panic in a handler into a logged 500 with the error
// shape, instead of a dead process: one bad request must not take the
// gateway down for everyone.
func (s *Server) recoverPanics(c *fiber.Ctx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("handler panicked", "request_id", requestID(c), "method", c.Method(), "route", c.Route().Path,
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = s.writeError(c, &hookgate.Error{Code: hookgate.EINTERNAL, Message: "Internal error.", Err: fmt.Errorf("panic: %v", r)})
		}
	}()
	return c.Next()
}

func requestID(c *fiber.Ctx) string {
	rid, _ := c.Locals(localsRequestID).(string)
	return rid
}

// authenticate verifies the bearer token and requires role (any of roles).
func (s *Server) authenticate(roles ...string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		h := c.Get(fiber.HeaderAuthorization)
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			tok, ok = strings.CutPrefix(h, "bearer ")
		}
		if !ok || strings.TrimSpace(tok) == "" {
			return s.writeError(c, hookgate.Errorf(hookgate.EUNAUTHORIZED, "missing bearer token in the Authorization header"))
		}
		p, err := s.verifier.Verify(c.UserContext(), strings.TrimSpace(tok))
		if err != nil {
			if hookgate.ErrorCode(err) == hookgate.EINTERNAL {
				err = &hookgate.Error{Code: hookgate.EUNAUTHORIZED, Message: "invalid token", Err: err}
			}
			return s.writeError(c, err)
		}
		allowed := len(roles) == 0
		for _, r := range roles {
			allowed = allowed || p.Has(r)
		}
		if !allowed {
			return s.writeError(c, hookgate.Errorf(hookgate.EFORBIDDEN, "this operation requires the %s role", strings.Join(roles, " or ")))
		}
		c.Locals(localsPrincipal, p)
		c.SetUserContext(hookgate.NewContextWithPrincipal(c.UserContext(), p))
		return c.Next()
	}
}

func principal(c *fiber.Ctx) *hookgate.Principal {
	p, _ := c.Locals(localsPrincipal).(*hookgate.Principal)
	return p
}

// decodeJSON reads the raw request body (never decompressed: a compressed
// body is refused, so no decompression bomb can pass the size limit) into v.
func decodeJSON(c *fiber.Ctx, v any) error {
	if enc := c.Get(fiber.HeaderContentEncoding); enc != "" && !strings.EqualFold(enc, "identity") {
		return hookgate.Errorf(hookgate.EUNSUPPORTED, "Content-Encoding %q is not accepted; send an uncompressed body", enc)
	}
	ct := c.Get(fiber.HeaderContentType)
	if mt, _, _ := strings.Cut(ct, ";"); !strings.EqualFold(strings.TrimSpace(mt), fiber.MIMEApplicationJSON) {
		return hookgate.Errorf(hookgate.EUNSUPPORTED, "Content-Type must be application/json")
	}
	body := c.Request().Body()
	if len(body) == 0 {
		return hookgate.Errorf(hookgate.EMALFORMED, "request body is empty; expected a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var he *hookgate.Error
		if e, ok := err.(*hookgate.Error); ok {
			he = e
			return he
		}
		return hookgate.Errorf(hookgate.EMALFORMED, "malformed JSON body: %s", jsonErrorText(err))
	}
	if dec.More() {
		return hookgate.Errorf(hookgate.EMALFORMED, "malformed JSON body: unexpected data after the object")
	}
	return nil
}

// jsonErrorText describes a decoding error without echoing the input.
func jsonErrorText(err error) string {
	switch e := err.(type) {
	case *json.SyntaxError:
		return "syntax error at byte " + strconv.FormatInt(e.Offset, 10)
	case *json.UnmarshalTypeError:
		return "field " + e.Field + " must be " + e.Type.String()
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "json: unknown field") {
		return strings.TrimPrefix(msg, "json: ")
	}
	if len(msg) > 120 {
		msg = msg[:120]
	}
	return msg
}
