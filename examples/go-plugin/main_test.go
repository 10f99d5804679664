package main

import (
	"flag"
	"testing"

	"github.com/hookgate/hookgate/plugins/sdk/plugintest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestGolden(t *testing.T) {
	p := plugintest.Run(t, ".", map[string]string{"prefix": "[crm] "})
	p.Goldens(t, "chat", "testdata", *update) // -update rewrites the golden files
}
