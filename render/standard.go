// The in-process payload formats: hookgate's in-process payload formats. The `standard`
// format is the envelope of the outbound-webhook product document:
//
//	{"event":"contact.created","timestamp":1710700000,"id":"evt_...","data":{...}}
//
// It is built by appending bytes around the event's raw data, so the data the
// publisher sent is never decoded or re-encoded on the delivery path. Other
// formats come from plugins (see plugins/).

package render

import (
	"context"
	"strconv"
	"time"

	"github.com/hookgate/hookgate"
)

// StandardName is the name of the built-in format.
const StandardName = "standard"

// Standard renders the seed envelope. It implements hookgate.Renderer for
// webhooks with format "standard" and no transforms.
type Standard struct{}

var _ hookgate.Renderer = Standard{}

// Render returns the envelope for ev. It never fails.
func (Standard) Render(_ context.Context, ev *hookgate.Event, _ *hookgate.Webhook) (*hookgate.Payload, error) {
	return &hookgate.Payload{Body: AppendStandard(nil, ev), ContentType: "application/json"}, nil
}

// AppendStandard appends the standard envelope of ev to dst. Event types and
// ids are validated to be JSON-safe tokens at ingest, so they are written
// with strconv.AppendQuote's escaping only as a defence.
func AppendStandard(dst []byte, ev *hookgate.Event) []byte {
	ts := ev.OccurredAt
	if ts.IsZero() {
		ts = time.Now()
	}
	dst = append(dst, `{"event":`...)
	dst = appendJSONString(dst, ev.Type)
	dst = append(dst, `,"timestamp":`...)
	dst = strconv.AppendInt(dst, ts.Unix(), 10)
	dst = append(dst, `,"id":`...)
	dst = appendJSONString(dst, ev.ID)
	dst = append(dst, `,"data":`...)
	if len(ev.Data) == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, ev.Data...)
	}
	return append(dst, '}')
}

// appendJSONString writes s as a JSON string. Anything outside printable
// ASCII or needing escapes goes through the slow path.
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return appendJSONSlow(dst, s)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

func appendJSONSlow(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			dst = append(dst, '\\', byte(r))
		case r < 0x20 || r == '<' || r == '>' || r == '&' || r == 0x2028 || r == 0x2029:
			dst = append(dst, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
		default:
			dst = append(dst, string(r)...)
		}
	}
	return append(dst, '"')
}
