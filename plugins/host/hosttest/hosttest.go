// Package hosttest runs plugins under the real plugin host and pipeline, for
// hookgate's own tests (the built-in plugins, the pipeline, the API). A
// plugin's own tests use plugins/sdk/plugintest, which needs no part of the
// gateway.
package hosttest

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/testenv"
	"github.com/hookgate/hookgate/plugins/host"
	"github.com/hookgate/hookgate/plugins/sdk/plugintest"
	"github.com/hookgate/hookgate/render"
)

// Start starts the plugins under a real host, fails the test if any does not
// start, and shuts the host down when the test ends.
func Start(tb testing.TB, plugins []config.Plugin, opts ...host.Option) *host.Host {
	tb.Helper()
	testenv.SkipShort(tb, "runs plugin processes")
	log := slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h, err := host.New(plugins, log, nil, append([]host.Option{host.WithRequired(true)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := h.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.Shutdown(ctx); err != nil {
			tb.Errorf("shutdown: %v", err)
		}
	})
	return h
}

// Pipeline builds the Go main package pkg and returns a pipeline with it
// loaded as the plugin name, with the given plugin settings.
func Pipeline(tb testing.TB, name, pkg string, settings map[string]string) *render.Pipeline {
	tb.Helper()
	testenv.SkipShort(tb, "builds and runs a plugin")
	bin := plugintest.Build(tb, pkg)
	return render.New(Start(tb, []config.Plugin{{Name: name, Path: bin, Settings: settings}}))
}

// Build builds the Go main package pkg into a plugin executable, once per
// test process (testenv.Build: the package's TestMain calls testenv.Main);
// the test is skipped under -short.
func Build(tb testing.TB, pkg string) string {
	tb.Helper()
	return testenv.Build(tb, pkg)
}

// Builtin returns the executable of the built-in plugin name
// (plugins/<name>): bin/plugins/<name> when `make plugins` built it, else
// one built for this test process (Build). Skipped under -short.
func Builtin(tb testing.TB, name string) string {
	tb.Helper()
	testenv.SkipShort(tb, "runs the "+name+" plugin")
	for dir, _ := os.Getwd(); ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "bin", "plugins", name)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				return p
			}
			break
		}
		if dir == filepath.Dir(dir) {
			break
		}
	}
	return Build(tb, "github.com/hookgate/hookgate/plugins/"+name)
}

// testWriter sends the host's log lines to the test log.
type testWriter struct{ tb testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.tb.Log(string(bytes.TrimRight(b, "\n")))
	return len(b), nil
}
