package host

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

// Plugin output in go-hclog's JSON shape keeps its level and fields; plain
// lines (what a plugin prints, a panic's stack) are logged at debug, so at
// level info only the plugin's own warnings and errors show.
func TestLineLoggerKeepsPluginLevels(t *testing.T) {
	write := func(level slog.Level) []map[string]any {
		var out bytes.Buffer
		log := slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: level})).With("plugin", "p")
		w := newLineLogger(log, "stderr")
		w.Write([]byte(`{"@level":"debug","@message":"plugin address","address":"/tmp/x"}` + "\n"))
		w.Write([]byte(`{"@level":"error","@message":"render failed","event":"contact.created"}` + "\n"))
		w.Write([]byte("plain line\npartial"))
		w.Write([]byte(" end\n"))
		var lines []map[string]any
		for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("bad log line %q", l)
			}
			lines = append(lines, m)
		}
		return lines
	}
	lines := write(slog.LevelInfo)
	if len(lines) != 1 || lines[0]["level"] != "ERROR" || lines[0]["msg"] != "render failed" ||
		lines[0]["event"] != "contact.created" || lines[0]["plugin"] != "p" {
		t.Fatalf("at info, want only the plugin's error line, got %v", lines)
	}
	lines = write(slog.LevelDebug)
	if len(lines) != 4 {
		t.Fatalf("at debug, got %d lines, want 4: %v", len(lines), lines)
	}
	if lines[2]["level"] != "DEBUG" || lines[2]["msg"] != "plain line" || lines[2]["stream"] != "stderr" ||
		lines[3]["level"] != "DEBUG" || lines[3]["msg"] != "partial end" {
		t.Fatalf("plain lines = %v, %v", lines[2], lines[3])
	}
}
