package gateway

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/gofiber/fiber/v2"
	"gopkg.in/yaml.v3"
)

// openapiYAML is the OpenAPI 3 document of the whole API, kept as YAML for
// people and served as JSON. A test checks that every registered route is in it.
//
//go:embed openapi.yaml
var openapiYAML []byte

// OpenAPIJSON returns the OpenAPI document as JSON.
func OpenAPIJSON() ([]byte, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(openapiYAML, &doc); err != nil {
		return nil, fmt.Errorf("parse openapi.yaml: %w", err)
	}
	return json.Marshal(doc)
}

func (s *Server) openapi(c *fiber.Ctx) error {
	if s.openapiDoc == nil {
		doc, err := OpenAPIJSON()
		if err != nil {
			return s.writeError(c, err)
		}
		s.openapiDoc = doc
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(s.openapiDoc)
}
