// Package plugintest runs hookgate plugins the way hookgate does, for a
// plugin's own tests: build the binary with `go build`, start it under the
// real plugin host, render events through the real pipeline, and compare
// the output with golden files.
package plugintest

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/pipeline"
	"github.com/hookgate/hookgate/plugins/host"
)

// Build compiles the Go main package pkg (a directory such as "." or an
// import path) into a temporary directory and returns the executable's path.
func Build(tb testing.TB, pkg string) string {
	tb.Helper()
	out := filepath.Join(tb.TempDir(), filepath.Base(pkg))
	if filepath.Base(pkg) == "." {
		out = filepath.Join(filepath.Dir(out), "plugin")
	}
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("go build %s: %v", pkg, err)
	}
	return out
}

// Start starts the plugins under a real host, fails the test if any does not
// start, and shuts the host down when the test ends.
func Start(tb testing.TB, plugins []config.Plugin, opts ...host.Option) *host.Host {
	tb.Helper()
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
func Pipeline(tb testing.TB, name, pkg string, settings map[string]string) *pipeline.Pipeline {
	tb.Helper()
	bin := Build(tb, pkg)
	return pipeline.New(Start(tb, []config.Plugin{{Name: name, Path: bin, Settings: settings}}))
}

// JSONEqual fails the test unless want and got are the same JSON value
// (same fields and values, in any order).
func JSONEqual(tb testing.TB, want, got []byte) {
	tb.Helper()
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		tb.Fatalf("want is not JSON: %v\n%s", err, want)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		tb.Fatalf("got is not JSON: %v\n%s", err, got)
	}
	if !reflect.DeepEqual(w, g) {
		tb.Fatalf("JSON differs\nwant: %s\n got: %s", compact(want), compact(got))
	}
}

// Golden compares got with the JSON in file; with update it rewrites the
// file (indented) instead.
func Golden(tb testing.TB, file string, got []byte, update bool) {
	tb.Helper()
	if update {
		var buf bytes.Buffer
		if err := json.Indent(&buf, got, "", "  "); err != nil {
			tb.Fatalf("output is not JSON: %v\n%s", err, got)
		}
		buf.WriteByte('\n')
		if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		tb.Fatalf("%v (run the test with -update to create it)", err)
	}
	JSONEqual(tb, want, got)
}

func compact(b []byte) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

// testWriter sends the host's log lines to the test log.
type testWriter struct{ tb testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.tb.Log(string(bytes.TrimRight(b, "\n")))
	return len(b), nil
}
