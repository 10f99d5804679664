package gateway

import (
	"errors"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/console"
)

// consoleAsset serves one embedded console file. The console is a
// single-page app routed by the URL fragment, so every page is index.html and
// only files that exist are served (/console itself redirects to /console/); nothing here reads the request beyond
// its path.
func (s *Server) consoleAsset(c *fiber.Ctx) error {
	if c.Path() == "/console" {
		// Relative asset URLs resolve only under /console/.
		return c.Redirect("/console/", fiber.StatusMovedPermanently)
	}
	name := path.Clean("/" + c.Params("*"))
	name = strings.TrimPrefix(name, "/")
	if name == "" {
		name = "index.html"
	}
	b, err := fs.ReadFile(s.consoleFS, name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) {
			return s.writeError(c, hookgate.Errorf(hookgate.ENOTFOUND, "no console file %q", name))
		}
		return s.writeError(c, err)
	}
	for k, v := range console.Headers {
		c.Set(k, v)
	}
	c.Set(fiber.HeaderContentType, console.ContentType(name))
	return c.Send(b)
}

type loginInput struct {
	Code string `json:"code"`
}

type loginAnswer struct {
	Token string `json:"token"`
}

// redeemLoginCode exchanges the one-time code of a login link for the token
// it was issued with. The code works once; the answer to an unknown, used
// or expired code is the same 401. The token is verified like any bearer
// token before it is handed out, so a link minted with a key the server no
// longer accepts does not sign in.
func (s *Server) redeemLoginCode(c *fiber.Ctx) error {
	var in loginInput
	if err := decodeJSON(c, &in); err != nil {
		return s.writeError(c, err)
	}
	if in.Code == "" {
		return s.writeError(c, hookgate.FieldError("code", "code is required"))
	}
	tok, err := s.loginCodes.Take(c.UserContext(), in.Code)
	if err != nil {
		return s.writeError(c, err)
	}
	if _, err := s.verifier.Verify(c.UserContext(), tok); err != nil {
		return s.writeError(c, &hookgate.Error{Code: hookgate.EUNAUTHORIZED, Message: "the token of this login link is not valid any more", Err: err})
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(loginAnswer{Token: tok})
}

type linkInput struct {
	Token string             `json:"token"`
	TTL   *hookgate.Duration `json:"ttl"`
}

type linkAnswer struct {
	Link      string    `json:"link"`
	ExpiresAt time.Time `json:"expires_at"`
}

// maxLinkTTL bounds how long a console login link can be used.
const maxLinkTTL = 24 * time.Hour

// issueLoginLink mints a one-time console login link for a token, in this
// server's Redis under this server's prefix, so that the link works with
// this server whatever the caller's settings (`hookgate token --console`
// calls it). Role system; the token must be one this server accepts, with
// the admin role.
func (s *Server) issueLoginLink(c *fiber.Ctx) error {
	issuer, ok := s.loginCodes.(hookgate.LoginCodeIssuer)
	if !ok {
		return s.writeError(c, hookgate.Errorf(hookgate.ENOTFOUND, "console login links are not available"))
	}
	var in linkInput
	if err := decodeJSON(c, &in); err != nil {
		return s.writeError(c, err)
	}
	var v hookgate.Validation
	if in.Token == "" {
		v.Add("token", "token is required: the bearer token the link signs in with")
	}
	ttl := 15 * time.Minute
	if in.TTL != nil {
		ttl = in.TTL.D()
		if ttl <= 0 || ttl > maxLinkTTL {
			v.Add("ttl", "ttl must be more than 0 and at most 24h")
		}
	}
	if err := v.Err(); err != nil {
		return s.writeError(c, err)
	}
	p, err := s.verifier.Verify(c.UserContext(), in.Token)
	if err != nil {
		return s.writeError(c, hookgate.FieldError("token", "this server does not accept the token (its auth settings differ from the ones it was signed with?): %s", err.Error()))
	}
	if !slices.Contains(p.Roles, hookgate.RoleAdmin) {
		return s.writeError(c, hookgate.FieldError("token", "the console needs a token with the admin role"))
	}
	code, err := issuer.Issue(c.UserContext(), in.Token, ttl)
	if err != nil {
		return s.writeError(c, err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(linkAnswer{
		Link:      strings.TrimRight(s.cfg.Server.PublicURL, "/") + "/console/#login=" + code,
		ExpiresAt: time.Now().Add(ttl).UTC(),
	})
}
