package gateway

import (
	"encoding/json"

	"github.com/gofiber/fiber/v2"

	"github.com/hookgate/hookgate"
)

type pluginList struct {
	Data []hookgate.PluginStatus `json:"data"`
	// LastReload is the last reload (POST /v1/plugins/reload or SIGHUP),
	// absent before the first.
	LastReload *hookgate.PluginReloadReport `json:"last_reload,omitempty"`
	// ReloadError says what the last reload did not apply.
	ReloadError string `json:"reload_error,omitempty"`
}

func (s *Server) listPlugins(c *fiber.Ctx) error {
	var out pluginList
	if s.reloader != nil {
		// Before the list: a reload in progress finishes first, so the list
		// shows what the last reload reports.
		if out.LastReload = s.reloader.LastReload(); out.LastReload != nil {
			out.ReloadError = out.LastReload.Error
		}
	}
	if out.Data = s.plugins.Plugins(); out.Data == nil {
		out.Data = []hookgate.PluginStatus{}
	}
	return c.JSON(out)
}

// reloadPlugins answers the reload's report: 200 whatever each plugin's
// outcome (kept_old and failed say why), 409 invalid_config when the
// configuration cannot be read.
func (s *Server) reloadPlugins(c *fiber.Ctx) error {
	rep, err := s.reloader.ReloadPlugins(c.UserContext(), "api")
	if err != nil {
		return s.writeError(c, err)
	}
	return c.JSON(rep)
}

type previewInput struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

func (s *Server) previewWebhook(c *fiber.Ctx) error {
	ns, err := s.namespace(c, false)
	if err != nil {
		return s.writeError(c, err)
	}
	var in previewInput
	if err := decodeJSON(c, &in); err != nil {
		return s.writeError(c, err)
	}
	p, err := s.deliveries.Preview(c.UserContext(), ns, c.Params("id"), in.Type, in.Data)
	if err != nil {
		return s.writeError(c, err)
	}
	return c.JSON(p)
}

func (s *Server) previewTransformation(c *fiber.Ctx) error {
	if s.previewer == nil {
		return s.writeError(c, hookgate.Errorf(hookgate.EUNAVAILABLE, "inline transformations are disabled on this server (transformations.enabled)"))
	}
	ns, err := s.namespace(c, false)
	if err != nil {
		return s.writeError(c, err)
	}
	var in hookgate.TransformationPreviewInput
	if err := decodeJSON(c, &in); err != nil {
		return s.writeError(c, err)
	}
	res, err := s.previewer.Run(c.UserContext(), ns, &in)
	if err != nil {
		return s.writeError(c, err)
	}
	return c.JSON(res)
}
