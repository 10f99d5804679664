// Package sdk is what a hookgate plugin author imports. Implement Plugin (and
// IncomingPlugin to translate incoming webhook requests), then call Serve
// from main:
//
//	func main() { sdk.Serve(myPlugin{}) }
//
// Serve speaks go-plugin's handshake and the gRPC contract of plugins/sdk/proto;
// the author never sees either. See docs/plugins.md for a walk-through.
package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	pb "github.com/hookgate/hookgate/plugins/sdk/proto"
)

// Version is the version of this SDK module.
const Version = "v0.1.0"

// ProtocolVersion is the version of the contract this SDK speaks (the
// go-plugin application protocol version); hookgate refuses a plugin built
// for another.
const ProtocolVersion = pb.ProtocolVersion

// Plugin is a hookgate plugin: it describes itself and builds outgoing
// payloads (formats) or rewrites events (transforms). Implementations must
// be safe for concurrent use: hookgate calls them from many deliveries at once.
type Plugin interface {
	// Info describes the plugin: its name, version and what it provides.
	Info() Info
	// Outgoing runs one format or transform step for one event.
	Outgoing(ctx context.Context, req Outgoing) (Result, error)
}

// IncomingPlugin is a Plugin that also translates a third party's request to
// an incoming webhook into requests on the CRM's API.
type IncomingPlugin interface {
	Plugin
	Incoming(ctx context.Context, req Incoming) (IncomingResult, error)
}

// Info describes a plugin.
type Info struct {
	Name    string
	Version string
	// Formats this plugin builds payloads for (webhook `format`).
	Formats []string
	// Transforms this plugin provides (webhook `transforms`).
	Transforms []string
	// EventTypes are the event types this plugin's formats render: its
	// contract. hookgate refuses a webhook that names one of the formats
	// and subscribes to a type not listed here, so every listed type must
	// render (plugintest's Goldens checks it). Empty means any type.
	EventTypes []string
	// NeedsConfirmation is true when receivers of this plugin's formats must
	// confirm their subscription before deliveries start.
	NeedsConfirmation bool
}

// Kind is the role of an outgoing step.
type Kind int

// Kinds of outgoing steps.
const (
	KindFormat    Kind = 1 // build the body to send
	KindTransform Kind = 2 // rewrite or skip the event before the format
)

// Event is one hookgate event. Data is hookgate's canonical JSON for the
// event type (docs/formats.md).
type Event struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	Tenant     string          `json:"tenant"`
	OccurredAt time.Time       `json:"occurred_at"`
	Data       json.RawMessage `json:"data"`
}

// Outgoing is one step of an outgoing delivery.
type Outgoing struct {
	Kind Kind
	// Name is the format or transform asked for.
	Name  string
	Event Event
	// Settings are the plugin's settings from config.yaml overlaid with the
	// webhook's own settings.
	Settings  map[string]string
	WebhookID string
}

// Result is what an outgoing step returns. A format sets Body (and
// ContentType, default application/json); a transform sets Data to replace
// the event's data, or leaves it nil to keep it. Either may Skip.
type Result struct {
	Body        []byte
	ContentType string
	Headers     Headers
	Skip        bool
	SkipReason  string
	Data        json.RawMessage
}

// JSON returns a format Result whose body is v encoded as JSON.
func JSON(v any) (Result, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return Result{}, fmt.Errorf("encode payload: %w", err)
	}
	return Result{Body: b, ContentType: "application/json"}, nil
}

// Skip returns a Result that drops the event, with the reason hookgate logs.
func Skip(format string, args ...any) Result {
	return Result{Skip: true, SkipReason: fmt.Sprintf(format, args...)}
}

// Incoming is a third party's request to an incoming webhook URL, after
// hookgate checked its token and scopes.
type Incoming struct {
	Method string
	// Path below the incoming webhook URL, starting with "/".
	Path     string
	Query    string
	Headers  Headers
	Body     []byte
	Settings map[string]string
}

// Request is one request hookgate makes to the CRM's API.
type Request struct {
	Method  string
	Path    string
	Headers Headers
	Body    []byte
}

// Headers are HTTP headers as they travel between hookgate and a plugin,
// in both directions: one value per name, the values of a name sent
// several times joined with ", " (RFC 9110 5.3). hookgate's pipeline uses
// this same type. Names keep the spelling they arrived with; Get finds
// a name in any spelling.
type Headers map[string]string

// HeadersOf converts net/http's headers, joining the values of each name.
func HeadersOf(h http.Header) Headers {
	out := make(Headers, len(h))
	for k, v := range h {
		out[k] = strings.Join(v, ", ")
	}
	return out
}

// Get returns the value of the header name, in any spelling ("" when
// absent).
func (h Headers) Get(name string) string {
	if v, ok := h[name]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// IncomingResult is the translation of an incoming request: the API
// requests to make, in order, or a rejection.
type IncomingResult struct {
	Requests []Request
	Reject   bool
	Reason   string
}

// Reject returns an IncomingResult that refuses the request with a reason
// shown to the caller.
func Reject(format string, args ...any) IncomingResult {
	return IncomingResult{Reject: true, Reason: fmt.Sprintf(format, args...)}
}
