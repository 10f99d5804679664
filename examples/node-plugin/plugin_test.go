// Package nodeplugin holds the test that runs the Node.js example plugin
// through the real hookgate plugin host.
package nodeplugin

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"testing"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/pipeline"
	"github.com/hookgate/hookgate/plugins/sdk/plugintest"
)

// TestNodePluginThroughTheHost starts plugin.js under the host and renders
// an event with its format. It needs node on PATH and `npm ci` run here.
func TestNodePluginThroughTheHost(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not on PATH: skipping the Node.js plugin test")
	}
	if _, err := os.Stat("node_modules/@grpc/grpc-js"); err != nil {
		t.Skip("node_modules missing: run `npm ci` in examples/node-plugin to run the Node.js plugin test")
	}
	h := plugintest.Start(t, []config.Plugin{{Name: "node-example", Path: node, Args: []string{"plugin.js"},
		Settings: map[string]string{"prefix": "p"}}})
	st := h.Plugins()[0]
	if !st.Healthy || st.Version != "1.0.0" || len(st.Formats) != 1 || st.Formats[0] != "node-example" {
		t.Fatalf("status %+v", st)
	}
	p := pipeline.New(h)
	ev := &hookgate.Event{ID: "evt_1", Type: "contact.created", Data: json.RawMessage(`{"first_name":"Allen"}`)}
	pl, err := p.Render(context.Background(), ev, &hookgate.Webhook{ID: "wh", Format: "node-example"})
	if err != nil {
		t.Fatal(err)
	}
	plugintest.JSONEqual(t, []byte(`{"source":"hookgate-node","event":"contact.created","id":"evt_1","data":{"first_name":"Allen"},"prefix":"p"}`), pl.Body)
}
