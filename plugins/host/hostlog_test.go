package host

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestGoPluginExitIsNotLoggedAsAnError: go-plugin reports a plugin stopped
// by hookgate's shutdown (SIGTERM) as "[ERROR] plugin process exited"; that
// line reaches hookgate's log at debug only, never as an error nor as the
// raw "[ERROR]" text at info, while go-plugin's other errors keep their
// level.
func TestGoPluginExitIsNotLoggedAsAnError(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	hl := hostLogger(log)
	hl.Error("plugin process exited", "path", "bin/plugins/cloudcx", "pid", 42, "error", "signal: terminated")
	if out := buf.String(); out != "" {
		t.Fatalf("a plugin's exit on stop was logged at info or above: %s", out)
	}
	hl.Error("plugin failed to handshake", "error", "boom")
	out := buf.String()
	if !strings.Contains(out, `"level":"ERROR"`) || !strings.Contains(out, `"msg":"plugin failed to handshake"`) || strings.Contains(out, "[ERROR]") {
		t.Fatalf("go-plugin's other errors lose their level: %s", out)
	}
}

// go-plugin echoes each line of a plugin's stderr through its logger
// (module go-plugin.<executable>); the stderr stream already logs it, so
// the echo is dropped: no line twice.
func TestGoPluginEchoOfPluginOutputIsDropped(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	hl := hostLogger(log)
	hl.Named("faulty").Error("panic: assignment to entry in nil map")
	if out := buf.String(); out != "" {
		t.Fatalf("go-plugin's echo of the plugin's stderr was logged: %s", out)
	}
	hl.Warn("plugin failed to exit gracefully")
	if out := buf.String(); !strings.Contains(out, `"msg":"plugin failed to exit gracefully"`) {
		t.Fatalf("go-plugin's own line was dropped: %q", out)
	}
}
