package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/internal/testenv"
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

// The ratelimit suite measures each limit asked for and reports the rate
// the receiver saw; a limit that is not a positive number is refused.
func TestBenchRateLimitSuiteReportsTheRateSeen(t *testing.T) {
	err := run([]string{"bench", "--config", "../../config.yaml", "--suite", "ratelimit", "--limits", "20,x"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `--limits: "x"`) {
		t.Fatalf("err = %v, want the bad limit named", err)
	}
	testenv.SkipShort(t, "end-to-end: runs the benchmark for two seconds")
	if a := os.Getenv("REDIS_ADDR"); a != "" {
		t.Setenv("HOOKGATE_REDIS_ADDR", a)
	}
	var out strings.Builder
	if err := run([]string{"bench", "--config", "../../config.yaml", "--suite", "ratelimit", "--limits", "20", "--seconds", "2"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var limit, seen float64
	for _, line := range strings.Split(out.String(), "\n") {
		if n, _ := fmt.Sscanf(strings.TrimSpace(line), "%g/s 40 %fs %g/s", &limit, new(float64), &seen); n == 3 {
			break
		}
	}
	// 40 events reserved 50 ms apart: 20/s, more only by the jitter of
	// the first and last requests (the accuracy itself is tested end to
	// end in app and crashtest).
	if limit != 20 || seen <= 0 || seen > 25 {
		t.Fatalf("limit %g, rate seen %g/s in:\n%s", limit, seen, out.String())
	}
}
