package webhooks

import (
	"context"
	"errors"
	"time"

	"github.com/hookgate/hookgate"
)

// TransformationRunner renders an event in a webhook's format and applies a
// transformation source to it (pipeline.Pipeline).
type TransformationRunner interface {
	Preview(ctx context.Context, ev *hookgate.Event, w *hookgate.Webhook, src string) (formatted, out *hookgate.Payload, err error)
}

// TransformationPreview runs an unsaved transformation on an example event:
// POST /v1/webhooks/transformation/preview (hookgate.TransformationPreviewer).
type TransformationPreview struct {
	Catalogue *hookgate.Catalogue
	Runner    TransformationRunner
	Formats   func(name string) bool // nil: only standard
	NewID     func(prefix string) string
}

var _ hookgate.TransformationPreviewer = (*TransformationPreview)(nil)

// Run previews in for tenant ns. A source that does not compile, an unknown
// type or format are EINVALID; a failing run is an answer with OK false.
func (p *TransformationPreview) Run(ctx context.Context, ns string, in *hookgate.TransformationPreviewInput) (*hookgate.TransformationPreviewResult, error) {
	var v hookgate.Validation
	if in.Transformation == "" {
		v.Add("transformation", "transformation is required")
	}
	typ := in.EventType
	if typ == "" && len(p.Catalogue.Types()) > 0 {
		typ = p.Catalogue.Types()[0].Name
	}
	typ, err := p.Catalogue.CheckType(typ)
	if err != nil {
		v.Add("event_type", "%s", hookgate.ErrorMessage(err))
	}
	if in.Format == "" {
		in.Format = "standard"
	}
	if in.Format != "standard" && (p.Formats == nil || !p.Formats(in.Format)) {
		v.Add("format", "unknown format %q", in.Format)
	}
	data := in.Data
	if len(data) == 0 {
		data = p.Catalogue.Example(typ)
	} else if data[0] != '{' {
		v.Add("data", "data must be a JSON object")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	ev := &hookgate.Event{ID: p.NewID("evt"), Type: typ, Tenant: ns, OccurredAt: time.Now().UTC(), Data: data}
	w := &hookgate.Webhook{ID: "wh_preview", Tenant: ns, Name: "preview", Format: in.Format, Settings: in.Settings, Events: []string{typ}}
	formatted, out, err := p.Runner.Preview(ctx, ev, w, in.Transformation)
	res := &hookgate.TransformationPreviewResult{Event: ev}
	if formatted != nil && !formatted.Skip {
		res.Input = payloadView(formatted)
	}
	switch {
	case err != nil && errors.Is(err, hookgate.ErrTransformation):
		res.Error = hookgate.ErrorMessage(err)
	case err != nil && hookgate.ErrorCode(err) == hookgate.EINVALID && formatted != nil:
		// The source itself does not compile: as on create.
		return nil, hookgate.FieldError("transformation", "%s", hookgate.ErrorMessage(err))
	case err != nil:
		return nil, err
	case formatted.Skip:
		res.OK, res.Skip, res.SkipReason = true, true, formatted.SkipReason
	case out.Skip:
		res.OK, res.Skip, res.SkipReason = true, true, out.SkipReason
	default:
		res.OK, res.Output = true, payloadView(out)
	}
	return res, nil
}

func payloadView(p *hookgate.Payload) *hookgate.PreviewPayload {
	ct := p.ContentType
	if ct == "" {
		ct = "application/json"
	}
	hs := p.Headers
	if hs == nil {
		hs = map[string]string{}
	}
	return &hookgate.PreviewPayload{ContentType: ct, Body: string(p.Body), Headers: hs}
}
