package main

import (
	"flag"
	"testing"

	"github.com/hookgate/hookgate/plugins/sdk/plugintest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestGolden builds the plugin, starts it as hookgate does, and renders the
// example event of every declared event type (testdata/<type>.event.json)
// against its golden body (testdata/<type>.golden.json).
func TestGolden(t *testing.T) {
	p := plugintest.Run(t, ".", map[string]string{"prefix": "[crm] "})
	p.Goldens(t, "chat", "testdata", *update)
}
