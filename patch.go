package hookgate

import (
	"bytes"
	"encoding/json"
)

// EndpointInput is an endpoint as an admin sends it. Enabled defaults to true.
type EndpointInput struct {
	ID      string `json:"id,omitempty"`
	URL     string `json:"url"`
	Enabled *bool  `json:"enabled,omitempty"`
	// RateLimit is deliveries per second; absent or 0 is unlimited.
	RateLimit float64 `json:"rate_limit,omitempty"`
	// Headers replace the endpoint's custom headers (absent: none).
	Headers map[string]string `json:"headers,omitempty"`
}

// WebhookPatch is the body of webhook create (every field it needs) and
// update (only the fields present change; endpoints are replaced as a whole).
type WebhookPatch struct {
	Name        *string          `json:"name,omitempty"`
	Description *string          `json:"description,omitempty"`
	Endpoints   *[]EndpointInput `json:"endpoints,omitempty"`
	Events      *[]string        `json:"events,omitempty"`
	Format      *string          `json:"format,omitempty"`
	Transforms  *[]string        `json:"transforms,omitempty"`
	// Transformation replaces the inline transformation; "" removes it.
	Transformation *string            `json:"transformation,omitempty"`
	Settings       *map[string]string `json:"settings,omitempty"`
	Metadata       *map[string]string `json:"metadata,omitempty"`
	Enabled        *bool              `json:"enabled,omitempty"`
	Timeout        *Duration          `json:"timeout,omitempty"`
	Retry          *RetryPolicy       `json:"retry,omitempty"`
	// Filter replaces the content filter; null or {} removes it.
	Filter json.RawMessage `json:"filter,omitempty"`
	// Secret is a custom secret, on create only; omitted, one is generated.
	Secret *string `json:"secret,omitempty"`
	// Unsigned, on create only, sends deliveries without signature headers.
	Unsigned *bool `json:"unsigned,omitempty"`
	// System, on create only, makes a cross-tenant system webhook (role system).
	System bool `json:"system,omitempty"`
}

// Apply copies the fields present in p onto w. Endpoints keep their id when
// the input names it or repeats the URL of an existing endpoint; newID makes
// ids for new ones.
func (p *WebhookPatch) Apply(w *Webhook, newID func() string) {
	if p.Name != nil {
		w.Name = *p.Name
	}
	if p.Description != nil {
		w.Description = *p.Description
	}
	if p.Endpoints != nil {
		old := map[string]string{}
		ids := map[string]bool{}
		for _, e := range w.Endpoints {
			old[e.URL] = e.ID
			ids[e.ID] = true
		}
		eps := make([]Endpoint, 0, len(*p.Endpoints))
		for _, in := range *p.Endpoints {
			e := Endpoint{URL: in.URL, Enabled: in.Enabled == nil || *in.Enabled, Headers: in.Headers, RateLimit: in.RateLimit}
			// Matched in the form it is stored in (Validate stores it so), so
			// that a URL sent again with padding keeps its endpoint id.
			key := in.URL
			if u, err := normalizeEndpointURL(in.URL); err == nil {
				key = u
			}
			switch {
			case in.ID != "" && ids[in.ID]:
				e.ID = in.ID
			case old[key] != "":
				e.ID = old[key]
				delete(old, key)
			default:
				e.ID = newID()
			}
			eps = append(eps, e)
		}
		w.Endpoints = eps
	}
	if p.Events != nil {
		w.Events = append([]string(nil), (*p.Events)...)
	}
	if p.Format != nil {
		w.Format = *p.Format
	}
	if p.Transforms != nil {
		w.Transforms = append([]string(nil), (*p.Transforms)...)
	}
	if p.Transformation != nil && *p.Transformation != w.Transformation {
		w.Transformation = *p.Transformation
		w.TransformationVersion++
	}
	if p.Settings != nil {
		w.Settings = *p.Settings
	}
	if p.Metadata != nil {
		w.Metadata = *p.Metadata
	}
	if p.Enabled != nil {
		w.Enabled = *p.Enabled
	}
	if p.Timeout != nil {
		w.Timeout = *p.Timeout
	}
	if p.Retry != nil {
		w.Retry = p.Retry
	}
	if p.Filter != nil {
		w.Filter = append(json.RawMessage(nil), p.Filter...)
		if s := string(bytes.TrimSpace(w.Filter)); s == "null" || s == "{}" {
			w.Filter = nil
		}
	}
}
