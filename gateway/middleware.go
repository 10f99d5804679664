package gateway

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/hookgate/hookgate"
)

const (
	headerRequestID = "X-Request-Id"
	localsRequestID = "request_id"
	localsPrincipal = "principal"
)

// b32 is base32 (RFC 4648) in lower case, unpadded.
var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func newRequestID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	var id [4 + 16]byte // "req_" and 10 bytes in base32
	copy(id[:], "req_")
	b32.Encode(id[4:], b[:])
	return string(id[:])
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
		return c.Next()
	}
}

func principal(c *fiber.Ctx) *hookgate.Principal {
	p, _ := c.Locals(localsPrincipal).(*hookgate.Principal)
	return p
}

// refuseEncodedBodies answers 415 to any request that declares a
// Content-Encoding other than identity, before any handler runs. Fiber's
// Ctx.Body (and BodyParser, FormValue, MultipartForm) decode every listed
// coding, stacked, with no bound on the decoded size: a few hundred bytes of
// gzip inside the body limit become gigabytes in memory. No API route takes
// a compressed body, so refusing here, once, keeps a future handler from
// reaching the decoder by accident. Incoming webhook URLs are proxied byte
// for byte and are not the API's to refuse: a path the router sends to the
// proxy passes untouched.
func (s *Server) refuseEncodedBodies(c *fiber.Ctx) error {
	if s.incomingProxy != nil && strings.HasPrefix(c.Path(), "/in/") {
		return c.Next()
	}
	// Every Content-Encoding line counts: Fiber's decoder reads the last,
	// a Peek would see the first.
	var refused string
	c.Request().Header.VisitAll(func(k, v []byte) {
		if refused == "" && bytes.EqualFold(k, []byte(fiber.HeaderContentEncoding)) && !onlyIdentity(string(v)) {
			refused = string(v)
		}
	})
	if refused != "" {
		return s.writeError(c, hookgate.Errorf(hookgate.EUNSUPPORTED,
			"Content-Encoding %q is not accepted; send an uncompressed body", truncate(refused, 64)))
	}
	return c.Next()
}

// onlyIdentity reports whether a Content-Encoding value lists no coding but
// identity (RFC 9110 section 8.4: a comma-separated list, case-insensitive).
func onlyIdentity(v string) bool {
	for coding := range strings.SplitSeq(v, ",") {
		if c := strings.TrimSpace(coding); c != "" && !strings.EqualFold(c, "identity") {
			return false
		}
	}
	return true
}

// truncate cuts s to at most n bytes, on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// requestBody is the one accessor of the request body in the gateway: the
// bytes as received, never decoded (refuseEncodedBodies has refused any
// encoding). Handlers never call Ctx.Body, which decodes; a test scans the
// package for it.
func requestBody(c *fiber.Ctx) []byte { return c.Request().Body() }

// decodeJSON reads the request body into v: application/json, valid UTF-8,
// one JSON value, no unknown fields. It is the one JSON reader of the API.
func decodeJSON(c *fiber.Ctx, v any) error {
	ct := c.Get(fiber.HeaderContentType)
	if mt, _, _ := strings.Cut(ct, ";"); !strings.EqualFold(strings.TrimSpace(mt), fiber.MIMEApplicationJSON) {
		return hookgate.Errorf(hookgate.EUNSUPPORTED, "Content-Type must be application/json")
	}
	body := requestBody(c)
	if len(body) == 0 {
		return hookgate.Errorf(hookgate.EMALFORMED, "request body is empty; expected a JSON object")
	}
	// encoding/json replaces invalid UTF-8 in strings with U+FFFD but copies
	// a json.RawMessage (event data) as is, and that reaches receivers as
	// invalid JSON. JSON text is UTF-8 (RFC 8259 section 8.1): refuse the rest.
	if at := invalidUTF8At(body); at >= 0 {
		return hookgate.Errorf(hookgate.EMALFORMED, "request body is not valid UTF-8 at byte %d (counting from 0)", at)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var he *hookgate.Error
		if errors.As(err, &he) {
			return he
		}
		return hookgate.Errorf(hookgate.EMALFORMED, "malformed JSON body: %s", jsonErrorText(err))
	}
	if dec.More() {
		return hookgate.Errorf(hookgate.EMALFORMED, "malformed JSON body: unexpected data after the object")
	}
	return nil
}

// decodeOptionalJSON is decodeJSON for routes whose body may be absent: an
// empty body leaves v as it is.
func decodeOptionalJSON(c *fiber.Ctx, v any) error {
	if len(requestBody(c)) == 0 {
		return nil
	}
	return decodeJSON(c, v)
}

// invalidUTF8At returns the offset of the first byte of b that does not
// start a valid UTF-8 sequence, or -1 when b is valid UTF-8.
func invalidUTF8At(b []byte) int {
	if utf8.Valid(b) {
		return -1
	}
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
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
