package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/internal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.RemoveBuilds()
	if pluginsDir != "" {
		os.RemoveAll(pluginsDir)
	}
	os.Exit(code)
}

// hookgateBinary builds this command with `go build` (once per test run) and
// returns the path of the executable.
func hookgateBinary(t *testing.T) string {
	t.Helper()
	return testenv.Build(t, ".")
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
