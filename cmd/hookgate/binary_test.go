package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hookgate/hookgate/internal/testenv"
)

// binDir holds the hookgate binary built once for the tests that run it as a
// user would; TestMain removes it.
var (
	binDir   string
	binOnce  sync.Once
	binPath  string
	binBuild error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	if pluginsDir != "" {
		os.RemoveAll(pluginsDir)
	}
	os.Exit(code)
}

// hookgateBinary builds this command with `go build` (once per test run) and
// returns the path of the executable.
func hookgateBinary(t *testing.T) string {
	t.Helper()
	testenv.SkipShort(t, "builds and runs the hookgate binary")
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hookgate-bin")
		if err != nil {
			binBuild = err
			return
		}
		binDir = dir
		binPath = filepath.Join(dir, "hookgate")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binBuild = errors.New("go build: " + err.Error() + "\n" + string(out))
		}
	})
	if binBuild != nil {
		t.Fatal(binBuild)
	}
	return binPath
}

// runBinary runs the built hookgate with args in dir (empty: the package
// directory) and environment env on top of a minimal one, and returns its
// stdout, stderr and exit code.
func runBinary(t *testing.T, dir string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(hookgateBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("run hookgate %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), code
}
