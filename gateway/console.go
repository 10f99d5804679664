package gateway

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"strings"

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

// LoginCodeTaker redeems the one-time codes of console login links
// (implemented by store.LoginCodes).
type LoginCodeTaker interface {
	Take(ctx context.Context, code string) (string, error)
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
