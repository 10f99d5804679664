package host

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

// Plugin output in go-hclog's JSON shape keeps its level and fields; debug
// lines are dropped at level info; plain lines are logged at info.
func TestLineLoggerKeepsPluginLevels(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo})).With("plugin", "p")
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
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3 (debug dropped): %s", len(lines), out.String())
	}
	if lines[0]["level"] != "ERROR" || lines[0]["msg"] != "render failed" || lines[0]["event"] != "contact.created" || lines[0]["plugin"] != "p" {
		t.Fatalf("hclog line = %v", lines[0])
	}
	if lines[1]["level"] != "INFO" || lines[1]["msg"] != "plain line" || lines[2]["msg"] != "partial end" {
		t.Fatalf("plain lines = %v, %v", lines[1], lines[2])
	}
}
