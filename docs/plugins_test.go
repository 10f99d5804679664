// Package docs holds the tests that keep the documentation true.
package docs

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/internal/testenv"
)

// goBlock is one ```go block of a Markdown page.
type goBlock struct {
	line int    // where the block starts, for messages
	file string // the file its "// file: NAME" first line names
	src  string
}

func goBlocks(t *testing.T, page string) []goBlock {
	t.Helper()
	f, err := os.Open(page)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []goBlock
	var cur *goBlock
	s := bufio.NewScanner(f)
	for n := 1; s.Scan(); n++ {
		line := s.Text()
		switch {
		case cur == nil && strings.TrimSpace(line) == "```go":
			cur = &goBlock{line: n}
		case cur != nil && strings.TrimSpace(line) == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil && cur.src == "" && cur.file == "":
			name, ok := strings.CutPrefix(line, "// file: ")
			if !ok {
				t.Errorf("%s:%d: a Go block must start with `// file: NAME.go` (the file it compiles as)", page, cur.line)
				name = "unnamed.go"
			}
			cur.file = filepath.FromSlash(strings.TrimSpace(name))
		case cur != nil:
			cur.src += line + "\n"
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return blocks
}

// TestPluginsPageGoCompiles writes every Go block of plugins.md into a
// fresh module that requires the plugin SDK (replaced by this checkout's,
// as a plugin repository does before the SDK is published), then builds
// and vets it: a snippet that stops compiling fails here.
func TestPluginsPageGoCompiles(t *testing.T) {
	testenv.SkipShort(t, "builds a module with the Go toolchain")
	blocks := goBlocks(t, "plugins.md")
	if len(blocks) < 2 {
		t.Fatalf("plugins.md has %d Go blocks; the walk-through has at least the plugin and its test", len(blocks))
	}
	sdkDir, err := filepath.Abs("../plugins/sdk")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	seen := map[string]int{}
	for _, b := range blocks {
		if first, ok := seen[b.file]; ok {
			t.Fatalf("plugins.md:%d and :%d both name %s", first, b.line, b.file)
		}
		seen[b.file] = b.line
		path := filepath.Join(dir, b.file)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(b.src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gomod := "module example.com/docsplugin\n\ngo 1.24\n\n" +
		"require github.com/hookgate/hookgate/plugins/sdk v0.1.0\n\n" +
		"replace github.com/hookgate/hookgate/plugins/sdk => " + sdkDir + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(sdkDir, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"build", "./..."}, {"vet", "./..."}} {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		// -mod=mod completes go.mod from the module cache; no network.
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s of the plugins.md blocks: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestPluginsPageShowsTheExample: the plugin and test of the walk-through
// (main.go, main_test.go) are examples/go-plugin's, which runs them, from
// `package main` on.
func TestPluginsPageShowsTheExample(t *testing.T) {
	shown := 0
	for _, b := range goBlocks(t, "plugins.md") {
		if b.file != "main.go" && b.file != "main_test.go" {
			continue
		}
		shown++
		ex, err := os.ReadFile(filepath.Join("../examples/go-plugin", b.file))
		if err != nil {
			t.Fatal(err)
		}
		_, body, ok := strings.Cut(string(ex), "package main\n")
		if !ok || "package main\n"+body != b.src {
			t.Errorf("plugins.md:%d differs from examples/go-plugin/%s (from `package main` on): keep them the same", b.line, b.file)
		}
	}
	if shown != 2 {
		t.Fatalf("plugins.md shows %d of main.go and main_test.go; the walk-through shows both", shown)
	}
}
