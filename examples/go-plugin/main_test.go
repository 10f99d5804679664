package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/plugins/sdk/plugintest"
)

// TestDocsExamplePluginRunsThroughTheHost builds the example of
// docs/plugins.md and renders an event with it through the real host.
func TestDocsExamplePluginRunsThroughTheHost(t *testing.T) {
	p := plugintest.Pipeline(t, "chat", ".", map[string]string{"prefix": "[crm] "})
	ev := &hookgate.Event{ID: "evt_1", Type: "contact.created", Data: json.RawMessage(`{"first_name":"Allen"}`)}
	pl, err := p.Render(context.Background(), ev, &hookgate.Webhook{ID: "wh", Format: "chat"})
	if err != nil {
		t.Fatal(err)
	}
	plugintest.JSONEqual(t, []byte(`{"text":"[crm] contact.created Allen"}`), pl.Body)
}
