package plugintest

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/plugins/sdk"
)

// skipShort skips a test that builds and runs a plugin process under -short
// (make test-short, the fast suite).
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipped under -short: builds and runs a plugin process")
	}
}

// TestContractChecks runs a real plugin process and checks that each way a
// declared event type can break the contract is reported, naming the type.
func TestContractChecks(t *testing.T) {
	skipShort(t)
	p := Run(t, "./testdata/contract", map[string]string{"who": "tests"})
	in := p.Info()
	if in.Name != "contract" || in.Incoming || len(in.EventTypes) != 6 || in.Formats[0] != "t" {
		t.Fatalf("info %+v", in)
	}
	for typ, want := range map[string]string{
		"a.rendered": "",
		"f.text":     "",
		"b.skipped":  "b.skipped is skipped (not this one)",
		"c.failing":  "c.failing does not render: plugin error: the CRM field is missing",
		"d.badjson":  "not valid JSON",
		"e.missing":  "e.missing has no example event: write testdata/golden/e_missing.event.json",
	} {
		err := p.checkType("t", "testdata/golden", typ, false)
		if want == "" && err != nil {
			t.Errorf("%s: %v", typ, err)
		}
		if want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%s: want an error with %q, got %v", typ, want, err)
		}
	}
}

func TestGoldenMismatchAndUpdate(t *testing.T) {
	skipShort(t)
	p := Run(t, "./testdata/contract", map[string]string{"who": "someone else"})
	dir := t.TempDir()
	for _, f := range []string{"a_rendered.event.json", "a_rendered.golden.json", "f_text.event.json", "f_text.golden.json"} {
		b, err := os.ReadFile(filepath.Join("testdata/golden", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, typ := range []string{"a.rendered", "f.text"} {
		if err := p.checkType("t", dir, typ, false); err == nil || !strings.Contains(err.Error(), "differs") {
			t.Fatalf("%s: a changed body must differ from the golden file, got %v", typ, err)
		}
		if err := p.checkType("t", dir, typ, true); err != nil {
			t.Fatal(err)
		}
		if err := p.checkType("t", dir, typ, false); err != nil {
			t.Fatalf("%s after -update: %v", typ, err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "a_rendered.golden.json"))
	if !strings.Contains(string(b), `"who": "someone else"`) {
		t.Fatalf("golden file not rewritten indented: %s", b)
	}
}

func TestFormatAndTransform(t *testing.T) {
	skipShort(t)
	p := Run(t, "./testdata/contract", nil)
	ev := sdk.Event{ID: "evt_1", Type: "a.rendered", Data: json.RawMessage(`{"secret":1}`)}
	if _, err := p.Format("other", ev); err == nil || !strings.Contains(err.Error(), `does not declare the format "other"`) {
		t.Fatalf("undeclared format: %v", err)
	}
	res, err := p.Transform("redact", ev)
	if err != nil || string(res.Data) != `{"redacted":true}` {
		t.Fatalf("transform: %+v %v", res, err)
	}
	ev.Type = "c.failing"
	_, err = p.Format("t", ev)
	var pe *Error
	if !errors.As(err, &pe) || pe.Message != "the CRM field is missing" {
		t.Fatalf("want the plugin's error message, got %v", err)
	}
}
