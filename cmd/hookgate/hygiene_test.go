package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestNoBuildOutputIsTrackedOrSentToDocker: no compiled executable is in the
// repository, Git ignores what `go build` and `make build` write, and
// .dockerignore keeps the same out of the image's build context.
func TestNoBuildOutputIsTrackedOrSentToDocker(t *testing.T) {
	root := filepath.Join("..", "..")
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Skipf("not a Git checkout: %v", err)
	}
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		head := make([]byte, 4)
		fh, err := os.Open(filepath.Join(root, f))
		if err != nil {
			continue // deleted in the work tree
		}
		n, _ := fh.Read(head)
		fh.Close()
		if bytes.Equal(head[:n], []byte("\x7fELF")) {
			t.Errorf("%s is a compiled executable tracked by Git", f)
		}
	}

	outputs := []string{"hookgate", "bin/hookgate", "bin/plugins/cloudcx", "cmd/hookgate/hookgate",
		"plugins/cloudcx/cloudcx", "plugins/ucrm/ucrm", "plugins/uspacy/uspacy", "app/app.test", "cpu.prof"}
	cmd := exec.Command("git", "-C", root, "check-ignore", "--no-index", "--stdin")
	cmd.Stdin = strings.NewReader(strings.Join(outputs, "\n") + "\n")
	ignored, _ := cmd.Output() // exit 1 when none is ignored
	got := strings.Fields(string(ignored))
	for _, o := range outputs {
		if !slices.Contains(got, o) {
			t.Errorf(".gitignore does not ignore %s", o)
		}
	}

	docker, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(docker))
	for _, want := range []string{"/hookgate", "bin/", ".git/", "**/*.test"} {
		if !slices.Contains(lines, want) {
			t.Errorf(".dockerignore has no line %q", want)
		}
	}
}
