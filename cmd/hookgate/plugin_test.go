package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/testenv"
	"github.com/hookgate/hookgate/plugins/host/hosttest"
	"github.com/hookgate/hookgate/plugins/sdk/plugintest"
	"github.com/hookgate/hookgate/render"
)

// goEnv is the Go environment the scaffolded repository builds with: this
// machine's module and build caches and its module proxy (go mod tidy reads
// the go.mod of every module in the graph, test-only ones included, which a
// cache warmed by builds alone does not hold), and -mod=mod so go.mod may be
// completed.
func goEnv(t *testing.T) []string {
	t.Helper()
	var env []string
	for _, k := range []string{"GOMODCACHE", "GOCACHE", "GOPATH", "GOPROXY", "GOSUMDB", "GONOSUMDB", "GOPRIVATE"} {
		out, err := exec.Command("go", "env", k).Output()
		if err != nil {
			t.Fatal(err)
		}
		env = append(env, k+"="+strings.TrimSpace(string(out)))
	}
	return append(env, "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
}

// TestPluginNewBuildsAndPassesItsTest generates a plugin repository outside
// this module, with the replace pointing at this checkout's SDK, and runs
// go vet, go test and go build there, as a plugin author does; then loads
// the binary into hookgate's plugin host and renders an event with it.
func TestPluginNewBuildsAndPassesItsTest(t *testing.T) {
	testenv.SkipShort(t, "builds a plugin repository")
	sdkDir, err := filepath.Abs("../../plugins/sdk")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	env := goEnv(t)
	stdout, stderr, code := runBinary(t, work, env, "plugin", "new", "acme-chat", "--module", "example.com/acme-chat", "--sdk", sdkDir)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	dir := filepath.Join(work, "acme-chat")
	for _, f := range []string{"main.go", "main_test.go", "go.mod", "go.sum", "Makefile", "README.md", ".gitignore",
		"testdata/contact_created.event.json", "testdata/contact_created.golden.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	gomod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	for _, w := range []string{"module example.com/acme-chat", "require github.com/hookgate/hookgate/plugins/sdk v0.1.0",
		"replace github.com/hookgate/hookgate/plugins/sdk => " + sdkDir} {
		if !strings.Contains(string(gomod), w) {
			t.Errorf("go.mod lacks %q:\n%s", w, gomod)
		}
	}
	if strings.Contains(string(gomod), "prometheus") || strings.Contains(string(gomod), "fiber") {
		t.Errorf("a plugin must not pull in the gateway's dependencies:\n%s", gomod)
	}
	for _, args := range [][]string{{"vet", "./..."}, {"test", "-count=1", "-v", "./..."}, {"build", "-o", "bin/acme-chat", "."}} {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		if args[0] == "test" {
			for _, w := range []string{"--- PASS: TestGolden/contact.created", "--- PASS: TestGolden/contact.updated"} {
				if !strings.Contains(string(out), w) {
					t.Fatalf("the golden test did not render every declared type (%q):\n%s", w, out)
				}
			}
		}
	}

	// The binary it built runs under hookgate's own host and pipeline.
	p := render.New(hosttest.Start(t, []config.Plugin{{Name: "acme-chat", Path: filepath.Join(dir, "bin", "acme-chat")}}))
	ev := &hookgate.Event{ID: "evt_9", Type: "contact.created", Data: json.RawMessage(`{"id":"c1","first_name":"Ada"}`)}
	pl, err := p.Render(context.Background(), ev, &hookgate.Webhook{ID: "wh_1", Format: "acme-chat"})
	if err != nil {
		t.Fatal(err)
	}
	plugintest.JSONEqual(t, []byte(`{"event":"contact.created","id":"evt_9","contact":{"id":"c1","first_name":"Ada","last_name":"","email":""}}`), pl.Body)

	// A second run into the same directory is refused, and so is a bad name.
	_, stderr, code = runBinary(t, work, env, "plugin", "new", "acme-chat", "--sdk", sdkDir)
	if code == 0 || !strings.Contains(stderr, "already exists and is not empty") {
		t.Fatalf("existing directory: exit %d, stderr %q", code, stderr)
	}
	_, stderr, code = runBinary(t, work, env, "plugin", "new", "Bad_Name", "--sdk", sdkDir)
	if code != 2 || !strings.Contains(stderr, "lowercase letters, digits and dashes") {
		t.Fatalf("bad name: exit %d, stderr %q", code, stderr)
	}
}
