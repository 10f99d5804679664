package gateway

import (
	"encoding/json"

	"github.com/gofiber/fiber/v2"

	"github.com/hookgate/hookgate"
)

// filterPreviewInput is the body of POST /v1/webhooks/filter/preview: a
// content filter and the event to try it on (the catalogue's example of
// event_type when data is absent).
type filterPreviewInput struct {
	Filter    json.RawMessage `json:"filter"`
	EventType string          `json:"event_type"`
	Data      json.RawMessage `json:"data,omitempty"`
}

type filterPreviewResult struct {
	// Matches is true when the event would be delivered: the filter
	// accepts it (an empty filter accepts everything).
	Matches bool                `json:"matches"`
	Event   filterPreviewTarget `json:"event"`
}

type filterPreviewTarget struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// previewFilter answers whether a filter lets an event through, before the
// webhook is saved: the console's "Try it on the example event".
func (s *Server) previewFilter(c *fiber.Ctx) error {
	var in filterPreviewInput
	if err := decodeJSON(c, &in); err != nil {
		return s.writeError(c, err)
	}
	var v hookgate.Validation
	if in.EventType == "" && len(s.cat.Types()) > 0 {
		in.EventType = s.cat.Types()[0].Name
	}
	typ, err := s.cat.CheckType(in.EventType)
	if err != nil {
		v.Add("event_type", "%s", hookgate.ErrorMessage(err))
	}
	data := in.Data
	switch {
	case len(data) == 0 || string(data) == "null":
		data = s.cat.Example(typ)
	case data[0] != '{':
		v.Add("data", "data must be a JSON object")
	}
	w := &hookgate.Webhook{Filter: in.Filter}
	if err := w.ValidateFilter(); err != nil {
		for f, msg := range err.(*hookgate.Error).Fields {
			v.Add(f, "%s", msg)
		}
	}
	if err := v.Err(); err != nil {
		return s.writeError(c, err)
	}
	return c.JSON(filterPreviewResult{Matches: w.Accepts(typ, data), Event: filterPreviewTarget{Type: typ, Data: data}})
}
