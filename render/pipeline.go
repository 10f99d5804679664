// The Pipeline renders an event for one webhook: the webhook's
// transforms in order (each may rewrite the event's data or skip it), then
// its format, either the in-process `standard` envelope or the plugin that
// provides the format, then its inline transformation (JavaScript, run by
// package transformation). It implements hookgate.Renderer, and translates
// incoming webhook requests through plugins.
//
// It owns the order of the steps and nothing else: running plugins is
// plugins/host's job, delivering the payload the queue's.

package render

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/transformation"
	"github.com/hookgate/hookgate/plugins/host"
	"github.com/hookgate/hookgate/plugins/sdk"
)

// ErrPlugin is wrapped by every error that comes from a plugin (crash,
// timeout, not running, plugin error, invalid answer). It is the same value
// as host.ErrPlugin.
var ErrPlugin = host.ErrPlugin

// Type aliases so callers of the incoming direction need not import host.
type (
	// IncomingRequest is a third party's request to an incoming webhook.
	IncomingRequest = host.IncomingRequest
	// IncomingResult is the API requests to make for it, or a rejection.
	IncomingResult = host.IncomingResult
	// APIRequest is one request on the CRM's API.
	APIRequest = host.APIRequest
	// Headers are the headers of incoming requests and of the API requests
	// made for them: the SDK's type, which plugins see.
	Headers = sdk.Headers
	// FormatInfo describes one available
	FormatInfo = host.FormatInfo
)

const formatStandard = StandardName

// Pipeline renders events for webhooks. It is safe for concurrent use.
type Pipeline struct {
	host *host.Host
	std  Standard
	js   *transformation.Engine
}

var _ hookgate.Renderer = (*Pipeline)(nil)

// New returns a pipeline over the plugins of h. With a nil host only the
// `standard` format is available.
func New(h *host.Host) *Pipeline { return &Pipeline{host: h} }

// WithTransformations makes the pipeline apply webhooks' inline
// transformations with e (nil: they are disabled, and a webhook that has one
// fails its deliveries with transformation_error). It returns p.
func (p *Pipeline) WithTransformations(e *transformation.Engine) *Pipeline {
	p.js = e
	return p
}

// Transformations returns the engine of inline transformations, nil when
// they are disabled.
func (p *Pipeline) Transformations() *transformation.Engine { return p.js }

// Render applies w's transforms, then its format, then its inline
// transformation. A skipped event returns a Payload with Skip set. Errors
// from plugins wrap ErrPlugin; those of the inline transformation wrap
// hookgate.ErrTransformation.
//
// The fast path (standard, no transforms, no transformation) is small enough
// to inline, so it costs what Standard costs.
func (p *Pipeline) Render(ctx context.Context, ev *hookgate.Event, w *hookgate.Webhook) (*hookgate.Payload, error) {
	if len(w.Transforms) == 0 && w.Transformation == "" && (w.Format == StandardName || w.Format == "") {
		return p.std.Render(ctx, ev, w)
	}
	return p.render(ctx, ev, w)
}

func (p *Pipeline) render(ctx context.Context, ev *hookgate.Event, w *hookgate.Webhook) (*hookgate.Payload, error) {
	pl, err := p.format(ctx, ev, w)
	if err != nil || pl.Skip || w.Transformation == "" {
		return pl, err
	}
	return p.transform(ctx, ev, w, pl)
}

// transform applies w's inline transformation to the payload its format
// rendered for ev.
func (p *Pipeline) transform(ctx context.Context, ev *hookgate.Event, w *hookgate.Webhook, pl *hookgate.Payload) (*hookgate.Payload, error) {
	if p.js == nil {
		return nil, &hookgate.Error{Code: hookgate.EINVALID, Message: "inline transformations are disabled on this server (transformations.enabled)", Err: hookgate.ErrTransformation}
	}
	res, err := p.js.Run(ctx, w, transformation.Input{Event: ev, Body: pl.Body, ContentType: pl.ContentType, Headers: pl.Headers})
	if err != nil {
		return nil, err
	}
	if res.Skip {
		return &hookgate.Payload{Skip: true, SkipReason: "transformation: the handler returned null"}, nil
	}
	return &hookgate.Payload{Body: res.Body, ContentType: pl.ContentType, Headers: res.Headers}, nil
}

// Preview renders ev in w's format, then applies the transformation source
// src (not yet saved) to it. An error of src itself is EINVALID; one of its
// run wraps hookgate.ErrTransformation.
func (p *Pipeline) Preview(ctx context.Context, ev *hookgate.Event, w *hookgate.Webhook, src string) (formatted, out *hookgate.Payload, err error) {
	if p.js == nil {
		return nil, nil, hookgate.Errorf(hookgate.EUNAVAILABLE, "inline transformations are disabled on this server (transformations.enabled)")
	}
	plain := *w
	plain.Transformation = ""
	formatted, err = p.Render(ctx, ev, &plain)
	if err != nil || formatted.Skip {
		return formatted, nil, err
	}
	res, err := p.js.Preview(ctx, src, transformation.Input{Event: ev, Body: formatted.Body, ContentType: formatted.ContentType, Headers: formatted.Headers})
	if err != nil {
		return formatted, nil, err
	}
	if res.Skip {
		return formatted, &hookgate.Payload{Skip: true, SkipReason: "transformation: the handler returned null"}, nil
	}
	return formatted, &hookgate.Payload{Body: res.Body, ContentType: formatted.ContentType, Headers: res.Headers}, nil
}

// format applies w's transforms, then its
func (p *Pipeline) format(ctx context.Context, ev *hookgate.Event, w *hookgate.Webhook) (*hookgate.Payload, error) {
	if len(w.Transforms) > 0 {
		if p.host == nil {
			return nil, noPlugins(w.Transforms[0])
		}
		cur := ev
		for _, name := range w.Transforms {
			res, err := p.host.Transform(ctx, name, cur, w)
			if err != nil {
				return nil, fmt.Errorf("transform %s: %w", name, err)
			}
			if res.Skip {
				return &hookgate.Payload{Skip: true, SkipReason: "transform " + name + ": " + res.SkipReason}, nil
			}
			if res.Data != nil {
				next := *cur
				next.Data = res.Data
				cur = &next
			}
		}
		ev = cur
	}
	if w.Format == StandardName || w.Format == "" {
		return p.std.Render(ctx, ev, w)
	}
	if p.host == nil {
		return nil, noPlugins(w.Format)
	}
	pl, err := p.host.Format(ctx, w.Format, ev, w)
	if err != nil {
		return nil, fmt.Errorf("format %s: %w", w.Format, err)
	}
	if pl.Skip {
		pl.SkipReason = "format " + w.Format + ": " + pl.SkipReason
	}
	return pl, nil
}

// HasFormat reports whether the format can be used by a webhook: `standard`
// or one a loaded plugin provides. For webhook validation on save.
func (p *Pipeline) HasFormat(name string) bool {
	return name == StandardName || (p.host != nil && p.host.HasFormat(name))
}

// HasTransform reports whether a loaded plugin provides the transform.
func (p *Pipeline) HasTransform(name string) bool {
	return p.host != nil && p.host.HasTransform(name)
}

// FormatUnavailable says why a format no running plugin provides may be
// provided by a configured plugin that did not start; "" when none could.
func (p *Pipeline) FormatUnavailable(name string) string {
	if p.host == nil {
		return ""
	}
	return p.host.FormatUnavailable(name)
}

// Unavailable explains why a format or transform cannot be used right now
// ("" when it can), for a clear message when a webhook is refused.
func (p *Pipeline) Unavailable(name string) string {
	if name == StandardName {
		return ""
	}
	if p.host == nil {
		return fmt.Sprintf("no plugins are loaded to provide %q", name)
	}
	return p.host.Unavailable(name)
}

// Formats lists every available format, `standard` first.
func (p *Pipeline) Formats() []FormatInfo {
	out := []FormatInfo{{Name: StandardName, Plugin: "", Version: hookgate.Version, Healthy: true}}
	if p.host != nil {
		out = append(out, p.host.Formats()...)
	}
	return out
}

// EventTypes returns the event types the format renders: nil (any) for
// `standard` and for plugins that declare none.
func (p *Pipeline) EventTypes(format string) []string {
	if p.host == nil || format == "" || format == formatStandard {
		return nil
	}
	return p.host.EventTypes(format)
}

// AllowsHTTP reports whether the format's plugin accepts http:// endpoints
// (plugins[].allow_http).
func (p *Pipeline) AllowsHTTP(format string) bool {
	return p.host != nil && p.host.AllowsHTTP(format)
}

// NeedsConfirmation reports whether webhooks with the format need the
// subscription confirmation handshake (Uspacy's), as the plugin's Info says.
func (p *Pipeline) NeedsConfirmation(format string) bool {
	return p.host != nil && p.host.NeedsConfirmation(format)
}

// TransformIncoming asks the named plugin to translate a third party's
// request to an incoming webhook into requests on the CRM's API.
func (p *Pipeline) TransformIncoming(ctx context.Context, plugin string, req IncomingRequest) (*IncomingResult, error) {
	if p.host == nil {
		return nil, noPlugins(plugin)
	}
	res, err := p.host.Incoming(ctx, plugin, req)
	if err != nil {
		return nil, fmt.Errorf("incoming via %s: %w", plugin, err)
	}
	return res, nil
}

// WaitPlugins waits until every plugin w's transforms and format need can
// take calls (running, circuit breaker closed), up to max in all, and
// reports whether they can.
func (p *Pipeline) WaitPlugins(ctx context.Context, w *hookgate.Webhook, max time.Duration) bool {
	if p.host == nil {
		return false
	}
	deadline := time.Now().Add(max)
	names := w.Transforms
	if w.Format != StandardName && w.Format != "" {
		names = append(names[:len(names):len(names)], w.Format)
	}
	for _, n := range names {
		if !p.host.WaitAvailable(ctx, n, time.Until(deadline)) {
			return false
		}
	}
	return true
}

// HeadersOf converts net/http's headers to Headers, joining the values of
// a name with ", ".
func HeadersOf(h http.Header) Headers { return sdk.HeadersOf(h) }

func noPlugins(name string) error {
	return &hookgate.Error{Code: hookgate.EUNAVAILABLE, Message: fmt.Sprintf("no plugins are loaded to provide %q", name),
		Err: &host.Failure{Plugin: name, Kind: host.KindUnavailable}}
}
