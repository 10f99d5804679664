package hookgate

import (
	"context"
	"encoding/json"
)

// TransformationPreviewInput is the body of POST
// /v1/webhooks/transformation/preview: an unsaved inline transformation and
// the event (an example of its type when data is absent) and format it
// runs on.
type TransformationPreviewInput struct {
	Transformation string            `json:"transformation"`
	EventType      string            `json:"event_type,omitempty"`
	Format         string            `json:"format,omitempty"`
	Settings       map[string]string `json:"settings,omitempty"`
	Data           json.RawMessage   `json:"data,omitempty"`
}

// PreviewPayload is a body and its headers as a transformation preview
// shows them.
type PreviewPayload struct {
	ContentType string            `json:"content_type,omitempty"`
	Body        string            `json:"body"`
	Headers     map[string]string `json:"headers"`
}

// TransformationPreviewResult is the answer of a transformation preview:
// what the format rendered (the transformation's input) and what the
// transformation returned, or why it failed.
type TransformationPreviewResult struct {
	OK         bool            `json:"ok"`
	Event      *Event          `json:"event"`
	Input      *PreviewPayload `json:"input,omitempty"`
	Output     *PreviewPayload `json:"output,omitempty"`
	Skip       bool            `json:"skip,omitempty"`
	SkipReason string          `json:"skip_reason,omitempty"`
	Error      string          `json:"error,omitempty"`
}

// TransformationPreviewer runs an unsaved inline transformation on an
// example event for tenant ns (implemented by
// webhooks.TransformationPreview). A source that does not compile is
// EINVALID; a failing run is an answer with OK false.
type TransformationPreviewer interface {
	Run(ctx context.Context, ns string, in *TransformationPreviewInput) (*TransformationPreviewResult, error)
}
