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

// The delivery suite runs the single-event burst beside the batches, with
// bare asynq in the same run, and ends with the table of its figures and
// their targets, the burst's row included.
func TestBenchDeliverySuitePrintsTheBurstRow(t *testing.T) {
	testenv.SkipShort(t, "end-to-end: runs the delivery benchmark with small counts")
	if a := os.Getenv("REDIS_ADDR"); a != "" {
		t.Setenv("HOOKGATE_REDIS_ADDR", a)
	}
	var out strings.Builder
	if err := run([]string{"bench", "--config", "../../config.yaml", "--events", "200", "--burst-events", "96", "--burst-publishers", "8",
		"--rate", "50", "--duration", "1s"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		"(b') hookgate end to end, 96 single events (POST /v1/events with an Idempotency-Key) from 8 clients:",
		"delivered/s, 96 single-event burst (8 clients) ÷ bare asynq processing with HTTP POST | ",
		"delivered/s, batches of the throughput run ÷ bare asynq | ",
		"healthy p99 beside a dead endpoint ÷ without, at 50 events/s | ",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	var ratio float64
	for _, line := range strings.Split(s, "\n") {
		if rest, ok := strings.CutPrefix(line, "delivered/s, 96 single-event burst (8 clients) ÷ bare asynq processing with HTTP POST | "); ok {
			fmt.Sscanf(rest, "%fx", &ratio)
		}
	}
	if ratio <= 0 {
		t.Fatalf("no burst ratio in:\n%s", s)
	}
}
