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
