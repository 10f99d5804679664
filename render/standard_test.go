package render

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
)

func TestStandardEnvelopeIsSeedShape(t *testing.T) {
	ev := &hookgate.Event{ID: "evt_1", Type: "extension.created", OccurredAt: time.Unix(1710700000, 0),
		Data: json.RawMessage(`{"name":"john","extension":"1001","first_name":"John","last_name":"Doe"}`)}
	p, err := Standard{}.Render(context.Background(), ev, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(p.Body, &got); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, p.Body)
	}
	if got["event"] != "extension.created" || got["timestamp"] != float64(1710700000) || got["id"] != "evt_1" {
		t.Fatalf("envelope fields wrong: %v", got)
	}
	data := got["data"].(map[string]any)
	if data["extension"] != "1001" || data["first_name"] != "John" {
		t.Fatalf("data not carried through: %v", data)
	}
	if p.ContentType != "application/json" {
		t.Fatalf("content type %q", p.ContentType)
	}
}

func TestStandardEscapesOddStrings(t *testing.T) {
	for _, typ := range []string{`a"b`, "a\\b", "a\nb", "ünï", "<x>&"} {
		b := AppendStandard(nil, &hookgate.Event{ID: typ, Type: typ, Data: json.RawMessage(`1`)})
		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q: invalid JSON %s: %v", typ, b, err)
		}
		if got["event"] != typ || got["id"] != typ {
			t.Fatalf("%q round-tripped as %v", typ, got)
		}
	}
}

func BenchmarkAppendStandard(b *testing.B) {
	ev := &hookgate.Event{ID: "evt_2KZ9Xq", Type: "contact.created", OccurredAt: time.Now(),
		Data: json.RawMessage(`{"id":"392a0465","firstName":"Allen","lastName":"Ji","email":"allen@example.com"}`)}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendStandard(buf[:0], ev)
	}
}
