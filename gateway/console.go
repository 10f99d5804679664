package gateway

import (
	"errors"
	"io/fs"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/console"
)

// consoleRedirect sends /console to /console/ so relative asset URLs resolve.
func (s *Server) consoleRedirect(c *fiber.Ctx) error {
	return c.Redirect("/console/", fiber.StatusMovedPermanently)
}

// consoleAsset serves one embedded console file. The console is a
// single-page app routed by the URL fragment, so every page is index.html and
// only files that exist are served; nothing here reads the request beyond
// its path.
func (s *Server) consoleAsset(c *fiber.Ctx) error {
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
