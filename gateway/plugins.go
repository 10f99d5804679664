package gateway

import (
	"encoding/json"

	"github.com/gofiber/fiber/v2"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/outgoing"
	"github.com/hookgate/hookgate/plugins/host"
)

// PluginLister reports the loaded plugins and their health.
type PluginLister interface {
	Plugins() []host.Status
}

type pluginList struct {
	Data []host.Status `json:"data"`
}

func (s *Server) listPlugins(c *fiber.Ctx) error {
	list := s.plugins.Plugins()
	if list == nil {
		list = []host.Status{}
	}
	return c.JSON(pluginList{Data: list})
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
	var in outgoing.TransformationPreviewInput
	if err := decodeJSON(c, &in); err != nil {
		return s.writeError(c, err)
	}
	res, err := s.previewer.Run(c.UserContext(), ns, &in)
	if err != nil {
		return s.writeError(c, err)
	}
	return c.JSON(res)
}
