package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

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

// The scaling suite, run by the real binary on a Redis of the test's own
// (AOF on, as make bench's), starts one API and one then two worker
// processes of itself, then a Redis Cluster of three masters, and prints
// one table: every run with deliveries/s, Redis commands and CPU per
// delivery and the processes' CPU, every master with its share. The
// numbers are checked for being there (non-zero), not for their size:
// speed is measured by the benchmark, not by a test. At the end the
// cluster is gone and the bench's Redis holds nothing of the run.
func TestBenchScalingSuitePrintsEveryRun(t *testing.T) {
	testenv.SkipShort(t, "end-to-end: starts hookgate processes and a Redis Cluster")
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Skip("redis-cli is not installed")
	}
	redis := testenv.StartRedisServer(t, "everysec")
	stdout, stderr, code := runBinary(t, "", []string{"HOOKGATE_REDIS_ADDR=" + redis.Addr},
		"bench", "--config", "../../config.yaml", "--suite", "scaling", "--events", "240", "--batch", "40", "--publishers", "2")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	rows := map[string][]float64{}
	var masters []string
	for _, line := range strings.Split(stdout, "\n") {
		cells := strings.Split(line, " | ")
		if len(cells) < 2 {
			continue
		}
		var nums []float64
		for _, c := range cells[1:] {
			var f float64
			if _, err := fmt.Sscanf(strings.TrimRight(strings.TrimSpace(c), "x%"), "%g", &f); err == nil {
				nums = append(nums, f)
			}
		}
		rows[cells[0]] = nums
		if strings.HasPrefix(cells[0], "master ") {
			masters = append(masters, cells[0])
		}
	}
	for _, run := range []string{"one Redis, 1 worker", "one Redis, 2 workers", "cluster of 3 masters, 2 workers, 3 shards"} {
		// deliveries/s, ÷ 1 worker, Redis cmds and CPU, workers, api, bench CPU
		n := rows[run]
		if len(n) != 7 {
			t.Fatalf("no row %q with 7 figures in:\n%s", run, stdout)
		}
		for i, v := range n {
			if v <= 0 {
				t.Errorf("%s: figure %d is %g, want > 0:\n%s", run, i+1, v, stdout)
			}
		}
	}
	if len(masters) != 3 {
		t.Fatalf("%d master rows, want 3:\n%s", len(masters), stdout)
	}
	var share float64
	for _, m := range masters {
		n := rows[m]
		if len(n) != 4 || n[0] <= 0 || n[1] <= 0 || n[2] <= 0 || n[3] <= 0 {
			t.Errorf("%s: %v, want a share of commands and CPU and per-delivery work, each > 0", m, n)
			continue
		}
		share += n[0]
		// The cluster was torn down.
		addr := m[strings.Index(m, "(")+1 : strings.Index(m, ")")]
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still answers after the run", m)
		}
	}
	if share < 98 || share > 102 {
		t.Errorf("the masters' shares of commands add up to %g%%", share)
	}
	for _, run := range []string{"one Redis, 1 worker", "one Redis, 2 workers", "cluster of 3 masters, 2 workers, 3 shards"} {
		var name string
		var calls float64
		if i := strings.Index(stdout, "\n  "+run+": "); i < 0 {
			t.Errorf("no commands per delivery for %q", run)
		} else if n, _ := fmt.Sscanf(stdout[i+len(run)+5:], "%s %g", &name, &calls); n != 2 || calls <= 0 {
			t.Errorf("%s: the most frequent command %q %g, want a name and a count > 0", run, name, calls)
		}
	}
	if !strings.Contains(stdout, "two workers ÷ one: ") {
		t.Errorf("no two-to-one ratio in:\n%s", stdout)
	}
	rdb := goredis.NewClient(&goredis.Options{Addr: redis.Addr})
	defer rdb.Close()
	if keys, err := rdb.Keys(context.Background(), "*").Result(); err != nil || len(keys) > 0 {
		t.Errorf("the bench's Redis keeps %v after the run (%v)", keys, err)
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
