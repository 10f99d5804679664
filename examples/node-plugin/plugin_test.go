// Package nodeplugin holds the tests that run the Node.js example plugin
// through the real hookgate plugin host, in place and copied out of the tree.
package nodeplugin

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/testenv"
	"github.com/hookgate/hookgate/plugins/host"
	"github.com/hookgate/hookgate/plugins/host/hosttest"
	"github.com/hookgate/hookgate/plugins/sdk"
	"github.com/hookgate/hookgate/plugins/sdk/plugintest"
	"github.com/hookgate/hookgate/render"
)

// node returns the node executable, or skips the test saying why.
func node(t *testing.T) string {
	t.Helper()
	testenv.SkipShort(t, "runs the plugin under Node.js")
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not on PATH: skipping the Node.js plugin test")
	}
	if _, err := os.Stat("node_modules/@grpc/grpc-js"); err != nil {
		t.Skip("node_modules missing: run `npm ci` in examples/node-plugin to run the Node.js plugin test")
	}
	return node
}

// TestNodePluginThroughTheHost starts plugin.js under the host and renders
// an event with its format. It needs node on PATH and `npm ci` run here.
func TestNodePluginThroughTheHost(t *testing.T) {
	node := node(t)
	h := hosttest.Start(t, []config.Plugin{{Name: "node-example", Path: node, Args: []string{"plugin.js"},
		Settings: map[string]string{"prefix": "p"}}})
	st := h.Plugins()[0]
	if !st.Healthy || st.Version != "1.0.0" || len(st.Formats) != 1 || st.Formats[0] != "node-example" {
		t.Fatalf("status %+v", st)
	}
	// The example offers no call socket: hookgate calls it over gRPC.
	if tr := h.Transport("node-example"); tr != host.TransportGRPC {
		t.Fatalf("calls go by %q, want gRPC", tr)
	}
	p := render.New(h)
	ev := &hookgate.Event{ID: "evt_1", Type: "contact.created", Data: json.RawMessage(`{"first_name":"Allen"}`)}
	pl, err := p.Render(context.Background(), ev, &hookgate.Webhook{ID: "wh", Format: "node-example"})
	if err != nil {
		t.Fatal(err)
	}
	plugintest.JSONEqual(t, []byte(`{"source":"hookgate-node","event":"contact.created","id":"evt_1","data":{"first_name":"Allen"},"prefix":"p"}`), pl.Body)
}

// TestNodePluginWorksCopiedOutOfTheTree copies the example's files (not the
// rest of the repository) into a temporary directory and runs it from there,
// as a developer who copies the example to start their own plugin does.
func TestNodePluginWorksCopiedOutOfTheTree(t *testing.T) {
	node := node(t)
	dir := t.TempDir()
	for _, f := range []string{"plugin.js", "package.json", "package-lock.json", "proto/plugin.proto", "proto/health.proto", "proto/controller.proto"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	abs, err := filepath.Abs("node_modules")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(abs, filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	p := plugintest.Start(t, nil, node, filepath.Join(dir, "plugin.js"))
	if in := p.Info(); in.Name != "node-example" || in.Version != "1.0.0" {
		t.Fatalf("info %+v", in)
	}
	res, err := p.Format("node-example", sdk.Event{ID: "evt_1", Type: "contact.created", Data: json.RawMessage(`{"first_name":"Allen"}`)})
	if err != nil {
		t.Fatal(err)
	}
	plugintest.JSONEqual(t, []byte(`{"source":"hookgate-node","event":"contact.created","id":"evt_1","data":{"first_name":"Allen"}}`), res.Body)
}

// TestNodePluginCarriesTheCurrentContract: the example's copy of
// plugin.proto is the SDK's.
func TestNodePluginCarriesTheCurrentContract(t *testing.T) {
	mine, err := os.ReadFile("proto/plugin.proto")
	if err != nil {
		t.Fatal(err)
	}
	sdkProto, err := os.ReadFile("../../plugins/sdk/proto/plugin.proto")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mine, sdkProto) {
		t.Fatal("examples/node-plugin/proto/plugin.proto differs from plugins/sdk/proto/plugin.proto: copy it again")
	}
}
