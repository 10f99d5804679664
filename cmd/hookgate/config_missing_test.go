package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestTokenOutsideTheRepositoryExplainsWhereConfigComesFrom runs the real
// binary in an empty directory, where the default config.yaml does not
// exist: the error names the file looked for and how to set it.
func TestTokenOutsideTheRepositoryExplainsWhereConfigComesFrom(t *testing.T) {
	dir := t.TempDir()
	stdout, stderr, code := runBinary(t, dir, nil, "token", "--tenant", "acme")
	if code != 1 || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	for _, want := range []string{
		filepath.Join(dir, "config.yaml"), // the file looked for, in full
		"--config",                        // how to name another one
		"HOOKGATE_",                       // or configure without a file
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not mention %q:\n%s", want, stderr)
		}
	}
}
