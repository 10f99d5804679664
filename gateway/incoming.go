package gateway

import (
	"bytes"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/hookgate/hookgate"
)

// deniedBody is seed 001's answer to every refused incoming call, whatever
// the reason, so that a caller learns nothing about which tokens exist.
var deniedBody = []byte(`{"errors":{"text":["Access is denied!"]},"status":true}`)

// admins manage incoming webhooks: always a tenant's, never system-wide.
var admins = []string{hookgate.RoleAdmin}

func (s *Server) registerIncoming() {
	if s.incomingProxy != nil {
		s.addRoutes(
			route{method: "GET", path: "/.well-known/jwks.json", handler: s.jwks},
			route{method: methodAll, path: "/in/*", handler: s.proxyIncoming},
		)
	}
	if s.incoming != nil {
		s.addRoutes(
			route{method: "POST", path: "/v1/incoming-webhooks", auth: true, roles: admins, handler: s.createIncoming},
			route{method: "GET", path: "/v1/incoming-webhooks", auth: true, roles: admins, handler: s.listIncoming},
			route{method: "GET", path: "/v1/incoming-webhooks/:id", auth: true, roles: admins, handler: s.getIncoming},
			route{method: "PATCH", path: "/v1/incoming-webhooks/:id", auth: true, roles: admins, handler: s.updateIncoming},
			route{method: "DELETE", path: "/v1/incoming-webhooks/:id", auth: true, roles: admins, handler: s.deleteIncoming},
			route{method: "POST", path: "/v1/incoming-webhooks/:id/rotate", auth: true, roles: admins, handler: s.rotateIncoming},
			route{method: "POST", path: "/v1/incoming-webhooks/:id/enable", auth: true, roles: admins, handler: s.enableIncoming(true)},
			route{method: "POST", path: "/v1/incoming-webhooks/:id/disable", auth: true, roles: admins, handler: s.enableIncoming(false)},
			route{method: "GET", path: "/v1/incoming-webhooks/:id/requests", auth: true, roles: admins, handler: s.incomingRequests},
			route{method: "GET", path: "/v1/incoming-scopes", auth: true, roles: admins, handler: s.listIncomingScopes},
		)
	}
}

// incomingPathGuard denies a request whose raw path is under /in/ but that
// the router's normalisation (which resolves ".." and decodes escapes)
// would send elsewhere: an incoming URL never reaches another route.
func (s *Server) incomingPathGuard(c *fiber.Ctx) error {
	raw := c.Request().URI().PathOriginal()
	if bytes.HasPrefix(raw, []byte("/in/")) && !strings.HasPrefix(c.Path(), "/in/") {
		return denied(c)
	}
	return c.Next()
}

func denied(c *fiber.Ctx) error {
	c.Status(fiber.StatusForbidden)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(deniedBody)
}

func (s *Server) jwks(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.Send(s.jwksDoc)
}

// maxTokenLength bounds what is hashed as a token (tokens are 43 characters).
const maxTokenLength = 128

// skipResponseHeaders are set by the server itself.
var skipResponseHeaders = map[string]bool{"Content-Length": true, "Date": true, "Server": true}

func (s *Server) proxyIncoming(c *fiber.Ctx) error {
	raw := string(c.Request().URI().PathOriginal())
	rest, ok := strings.CutPrefix(raw, "/in/")
	if !ok {
		return denied(c)
	}
	token, path, found := strings.Cut(rest, "/")
	if found {
		path = "/" + path
	}
	if token == "" || len(token) > maxTokenLength {
		return denied(c)
	}
	req := c.Request()
	if cl := req.Header.ContentLength(); cl > s.cfg.Incoming.MaxRequestBody {
		return s.writeError(c, hookgate.Errorf(hookgate.ETOOLARGE, "request body is larger than %d bytes", s.cfg.Incoming.MaxRequestBody))
	}
	h := make(http.Header, req.Header.Len())
	req.Header.VisitAll(func(k, v []byte) { h.Add(string(k), string(v)) })
	// Fiber's strings point into buffers reused once the handler returns;
	// the request log outlives it, so everything kept is copied. The body
	// is the raw one (fasthttp's Request.Body, not Fiber's c.Body(), which
	// would inflate every Content-Encoding with no bound): it is forwarded
	// as the caller sent it.
	in := &hookgate.IncomingRequest{
		Method: strings.Clone(c.Method()), Token: token, Path: path, Query: string(req.URI().QueryString()),
		Header: h, Body: req.Body(), CallerIP: s.clientIP(c), Scheme: scheme(c),
		Host: strings.Clone(c.Hostname()), RequestID: strings.Clone(requestID(c)),
	}
	resp, err := s.incomingProxy.Serve(c.UserContext(), in)
	if err != nil {
		var d *hookgate.IncomingDeniedError
		var rl *hookgate.IncomingRateLimitedError
		switch {
		case errors.As(err, &d):
			return denied(c)
		case errors.As(err, &rl):
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(max(rl.RetryAfter.Seconds(), 1)))))
			return s.writeError(c, hookgate.Errorf(hookgate.ERATELIMITED, "the rate limit of this URL is spent; retry later"))
		}
		return s.writeError(c, err)
	}
	c.Status(resp.Status)
	c.Response().Header.SetNoDefaultContentType(true)
	for k, vs := range resp.Header {
		if skipResponseHeaders[k] {
			continue
		}
		for _, v := range vs {
			c.Response().Header.Add(k, v)
		}
	}
	if resp.Bytes != nil {
		if c.Method() == fiber.MethodHead {
			c.Response().Header.SetContentLength(len(resp.Bytes))
			return nil
		}
		c.Response().SetBodyRaw(resp.Bytes)
		return nil
	}
	if resp.Body == nil {
		return nil
	}
	if c.Method() == fiber.MethodHead {
		resp.Body.Close()
		if resp.ContentLength >= 0 {
			c.Response().Header.SetContentLength(int(resp.ContentLength))
		}
		return nil
	}
	c.Context().SetBodyStream(resp.Body, int(resp.ContentLength))
	return nil
}

func (s *Server) incomingNS(c *fiber.Ctx) (string, error) { return s.namespace(c, false) }

func (s *Server) createIncoming(c *fiber.Ctx) error {
	ns, err := s.incomingNS(c)
	if err != nil {
		return s.writeError(c, err)
	}
	var in hookgate.IncomingPatch
	if err := decodeJSON(c, &in); err != nil {
		return s.writeError(c, err)
	}
	w, err := s.incoming.Create(c.UserContext(), ns, principal(c).Subject, &in)
	if err != nil {
		return s.writeError(c, err)
	}
	c.Location("/v1/incoming-webhooks/" + w.ID)
	return c.Status(fiber.StatusCreated).JSON(w)
}

type incomingPage struct {
	Data []*hookgate.IncomingWebhook `json:"data"`
}

func (s *Server) listIncoming(c *fiber.Ctx) error {
	ns, err := s.incomingNS(c)
	if err != nil {
		return s.writeError(c, err)
	}
	limit, err := s.pageLimit(c)
	if err != nil {
		return s.writeError(c, err)
	}
	list, err := s.incoming.List(c.UserContext(), hookgate.IncomingFilter{Tenant: ns, Search: c.Query("search"), Sort: c.Query("sort"), Limit: limit})
	if err != nil {
		return s.writeError(c, err)
	}
	return c.JSON(incomingPage{Data: list})
}

func (s *Server) getIncoming(c *fiber.Ctx) error {
	ns, err := s.incomingNS(c)
	if err != nil {
		return s.writeError(c, err)
	}
	w, err := s.incoming.Get(c.UserContext(), ns, c.Params("id"))
	if err != nil {
		return s.writeError(c, err)
	}
	return c.JSON(w)
}

func (s *Server) updateIncoming(c *fiber.Ctx) error {
	ns, err := s.incomingNS(c)
	if err != nil {
		return s.writeError(c, err)
	}
	var p hookgate.IncomingPatch
	if err := decodeJSON(c, &p); err != nil {
		return s.writeError(c, err)
	}
	w, err := s.incoming.Update(c.UserContext(), ns, c.Params("id"), &p)
	if err != nil {
		return s.writeError(c, err)
	}
	return c.JSON(w)
}

func (s *Server) deleteIncoming(c *fiber.Ctx) error {
	ns, err := s.incomingNS(c)
	if err != nil {
		return s.writeError(c, err)
	}
	if err := s.incoming.Delete(c.UserContext(), ns, c.Params("id")); err != nil {
		return s.writeError(c, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) rotateIncoming(c *fiber.Ctx) error {
	ns, err := s.incomingNS(c)
	if err != nil {
		return s.writeError(c, err)
	}
	w, err := s.incoming.Rotate(c.UserContext(), ns, c.Params("id"))
	if err != nil {
		return s.writeError(c, err)
	}
	return c.JSON(w)
}

func (s *Server) enableIncoming(on bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ns, err := s.incomingNS(c)
		if err != nil {
			return s.writeError(c, err)
		}
		w, err := s.incoming.SetEnabled(c.UserContext(), ns, c.Params("id"), on)
		if err != nil {
			return s.writeError(c, err)
		}
		return c.JSON(w)
	}
}

type requestLogPage struct {
	Data []hookgate.IncomingRequestLog `json:"data"`
}

func (s *Server) incomingRequests(c *fiber.Ctx) error {
	ns, err := s.incomingNS(c)
	if err != nil {
		return s.writeError(c, err)
	}
	limit := 0
	if raw := c.Query("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 {
			return s.writeError(c, hookgate.FieldError("limit", "limit must be a positive number"))
		}
		limit = n
	}
	list, err := s.incoming.Requests(c.UserContext(), ns, c.Params("id"), limit)
	if err != nil {
		return s.writeError(c, err)
	}
	return c.JSON(requestLogPage{Data: list})
}

// listIncomingScopes lists the scopes an incoming webhook may be given, as
// configured (the console offers them as checkboxes). Upstream addresses
// are internal and not shown.
func (s *Server) listIncomingScopes(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"data": s.incoming.ScopeList()})
}
