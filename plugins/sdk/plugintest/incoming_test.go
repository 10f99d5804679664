package plugintest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/plugins/sdk"
)

// The incoming golden files written by hand match what the plugin answers,
// header lookups in any spelling included; a golden file that says
// otherwise is a mismatch.
func TestIncomingGoldens(t *testing.T) {
	skipShort(t)
	p := Run(t, "./testdata/incomer", nil)
	if !p.Info().Incoming {
		t.Fatal("Info does not say incoming")
	}
	p.IncomingGoldens(t, "testdata/incoming", false)

	got, err := p.incomingGolden("testdata/incoming/named.request.json")
	if err != nil {
		t.Fatal(err)
	}
	if eq, _ := jsonEqual([]byte(`{"requests":[{"method":"POST","path":"/crm/v1/contacts","headers":{"Content-Type":"application/json"},"body":{"first_name":"Bea","source":"form"}}]}`), got); eq {
		t.Fatal("a golden file with another name would pass")
	}

	// Settings reach the plugin: the configured contacts path.
	res, err := p.Incoming(sdk.Incoming{Method: "POST", Path: "/", Body: []byte(`{"name":"Cy"}`),
		Settings: map[string]string{"contacts_path": "/crm/v2/people"}})
	if err != nil || len(res.Requests) != 1 || res.Requests[0].Path != "/crm/v2/people" {
		t.Fatalf("with settings: %+v, %v", res, err)
	}
}

func TestIncomingGoldensUpdateWritesTheAnswers(t *testing.T) {
	skipShort(t)
	p := Run(t, "./testdata/incomer", nil)
	dir := t.TempDir()
	req, err := os.ReadFile("testdata/incoming/named.request.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "named.request.json"), req, 0o644); err != nil {
		t.Fatal(err)
	}
	p.IncomingGoldens(t, dir, true)
	written, err := os.ReadFile(filepath.Join(dir, "named.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile("testdata/incoming/named.golden.json")
	if eq, err := jsonEqual(want, written); err != nil || !eq {
		t.Fatalf("update wrote %s", written)
	}
}

// A plugin without an incoming direction is told so by name, not sent a
// call that would answer Unimplemented.
func TestIncomingOnAPluginWithoutIt(t *testing.T) {
	skipShort(t)
	p := Run(t, "./testdata/contract", nil)
	_, err := p.Incoming(sdk.Incoming{Method: "POST", Path: "/"})
	if err == nil || !strings.Contains(err.Error(), "does not handle incoming requests") {
		t.Fatalf("got %v", err)
	}
}
