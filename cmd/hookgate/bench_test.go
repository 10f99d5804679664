package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The bench command refuses an unknown suite by name, after starting the
// CPU profile it was asked for exactly once.
func TestBenchRefusesAnUnknownSuiteAndProfilesOnce(t *testing.T) {
	prof := filepath.Join(t.TempDir(), "cpu.prof")
	err := run([]string{"bench", "--config", "../../config.yaml", "--cpuprofile", prof, "--suite", "nope"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `unknown --suite "nope"`) {
		t.Fatalf("err = %v, want the unknown suite named", err)
	}
	if st, err := os.Stat(prof); err != nil || st.Size() == 0 {
		t.Fatalf("profile %s: %v (size %v)", prof, err, st)
	}
}
