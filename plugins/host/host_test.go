package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/testenv"
)

// faultyBinary builds testdata/faulty once per test run; a child test
// process is handed its parent's build (a child is killed, so it could not
// remove one of its own).
func faultyBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("HOOKGATE_TEST_FAULTY"); p != "" {
		return p
	}
	return testenv.Build(t, "./testdata/faulty")
}

func TestMain(m *testing.M) { testenv.Main(m) }

func startHost(t *testing.T, reg prometheus.Registerer, plugins ...config.Plugin) *Host {
	t.Helper()
	testenv.SkipShort(t, "runs plugin processes")
	h, err := New(plugins, nil, reg, WithBackoff(10*time.Millisecond, 200*time.Millisecond), WithHealthInterval(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shutdownAndCheckOrphans(t, h) })
	return h
}

// shutdownAndCheckOrphans stops the host and checks that every process it
// ever started is gone.
func shutdownAndCheckOrphans(t *testing.T, h *Host) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	for _, p := range h.procs {
		p.mu.RLock()
		pids := append([]int(nil), p.pids...)
		p.mu.RUnlock()
		for _, pid := range pids {
			waitGone(t, pid)
		}
	}
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Errorf("plugin process %d still running after shutdown", pid)
			return
		}
		time.Sleep(10 * time.Millisecond) // polling the process table, not waiting for an event
	}
}

func event(n int) *hookgate.Event {
	return &hookgate.Event{ID: "evt", Type: "contact.created", OccurredAt: time.Now(), Data: json.RawMessage(`{"i":` + string(rune('0'+n%10)) + `}`)}
}

func faulty(t *testing.T, fault string) config.Plugin {
	return config.Plugin{Name: "faulty", Path: faultyBinary(t), Timeout: config.Duration(2 * time.Second),
		MaxOutput: 1 << 20, Env: map[string]string{"FAULT": fault}}
}

func TestCrashingPluginIsRestartedAndLaterCallsSucceed(t *testing.T) {
	eachTransport(t, func(t *testing.T, tr string) {
		reg := prometheus.NewRegistry()
		h := startHost(t, reg, on(tr, faulty(t, "crash:3")))
		wantTransport(t, h, "faulty", tr)
		w := &hookgate.Webhook{ID: "w", Format: "faulty"}
		firstPID := h.procs[0].pid
		for i := 1; i <= 2; i++ {
			if _, err := h.Format(context.Background(), "faulty", event(i), w); err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
		}
		// The process exits under call 3: the call is made once more on the
		// restarted process (its first call there), which answers.
		if _, err := h.Format(context.Background(), "faulty", event(3), w); err != nil {
			t.Fatalf("call 3 should be retried on the restarted process, got %v", err)
		}
		st := h.Plugins()[0]
		if !st.Healthy || st.Restarts < 1 || h.procs[0].pid == firstPID {
			t.Fatalf("want a restarted healthy plugin, got %+v (pid %d, first %d)", st, h.procs[0].pid, firstPID)
		}
		if n := counter(t, h.metrics.restarts.WithLabelValues("faulty")); n < 1 {
			t.Fatalf("restarts metric = %v", n)
		}
		if n := counter(t, h.metrics.errors.WithLabelValues("faulty", KindCrash)); n != 1 {
			t.Fatalf("errors metric {kind=crash} = %v", n)
		}
	})
}

// A call whose own event kills the process every time is retried once, then
// fails as the plugin's crash.
func TestEventThatKillsTheProcessFailsAfterOneRetry(t *testing.T) {
	eachTransport(t, func(t *testing.T, tr string) {
		h := startHost(t, nil, on(tr, faulty(t, "exiton:deal.lost")))
		wantTransport(t, h, "faulty", tr)
		bad := event(1)
		bad.Type = "deal.lost"
		_, err := h.Format(context.Background(), "faulty", bad, &hookgate.Webhook{Format: "faulty"})
		if Kind(err) != KindCrash || hookgate.ErrorCode(err) != hookgate.EBADGATEWAY || !strings.Contains(err.Error(), "exited") {
			t.Fatalf("want a crash (502), got kind %q: %v", Kind(err), err)
		}
		if n := counter(t, h.metrics.errors.WithLabelValues("faulty", KindCrash)); n != 2 {
			t.Fatalf("errors{kind=crash} = %v, want 2 (the call and its one retry)", n)
		}
	})
}

// Calls in flight when the process dies are made again on the restarted
// process and answer: one bad event costs only its own call.
func TestCallsInFlightWhenTheProcessDiesAreRetried(t *testing.T) {
	eachTransport(t, func(t *testing.T, tr string) {
		p := on(tr, faulty(t, "exitonce:deal.lost"))
		state := filepath.Join(t.TempDir(), "state")
		p.Env["FAULT_STATE"] = state
		h := startHost(t, nil, p)
		w := &hookgate.Webhook{ID: "w", Format: "faulty"}
		const n = 8
		errs := make(chan error, n)
		for i := range n {
			ev := &hookgate.Event{ID: "evt_" + strconv.Itoa(i), Type: "contact.created", OccurredAt: time.Now(), Data: json.RawMessage(`{"wait":true}`)}
			go func() {
				_, err := h.Format(context.Background(), "faulty", ev, w)
				errs <- err
			}()
		}
		testenv.Eventually(t, 15*time.Second, "every call to be in flight", func() bool {
			m, _ := filepath.Glob(state + ".evt_*")
			return len(m) == n
		})
		bad := event(1)
		bad.Type = "deal.lost"
		if _, err := h.Format(context.Background(), "faulty", bad, w); err != nil {
			t.Fatalf("the bad event itself is retried on the new process, which answers it: %v", err)
		}
		for range n {
			if err := <-errs; err != nil {
				t.Fatalf("a call in flight when the process died failed: %v", err)
			}
		}
		if st := h.Plugins()[0]; st.Restarts != 1 {
			t.Fatalf("want exactly one restart, got %+v", st)
		}
	})
}

// The breaker opens after breaker.failures panics in a row, fails calls at
// once as unavailable, and closes on the first good call after cooldown.
func TestBreakerOpensAndCloses(t *testing.T) {
	eachTransport(t, func(t *testing.T, tr string) {
		reg := prometheus.NewRegistry()
		p := on(tr, faulty(t, "panic:deal.lost"))
		p.Breaker = config.PluginBreaker{Failures: 2, Cooldown: config.Duration(100 * time.Millisecond)}
		h := startHost(t, reg, p)
		w := &hookgate.Webhook{ID: "w", Format: "faulty"}
		bad := event(1)
		bad.Type = "deal.lost"
		for range 2 {
			if _, err := h.Format(context.Background(), "faulty", bad, w); Kind(err) != KindPanic {
				t.Fatalf("want a panic, got %v", err)
			}
		}
		gauge := func() float64 {
			var m dto.Metric
			_ = h.metrics.breaker.WithLabelValues("faulty").Write(&m)
			return m.GetGauge().GetValue()
		}
		if gauge() != 1 {
			t.Fatal("hookgate_plugin_breaker_open should be 1")
		}
		_, err := h.Format(context.Background(), "faulty", event(2), w)
		if Kind(err) != KindUnavailable || hookgate.ErrorCode(err) != hookgate.EUNAVAILABLE || !strings.Contains(err.Error(), "circuit breaker open") {
			t.Fatalf("an open breaker answers unavailable at once, got %v", err)
		}
		if !h.WaitAvailable(context.Background(), "faulty", 10*time.Second) {
			t.Fatal("the breaker should let a trial call through after its cooldown")
		}
		if _, err := h.Format(context.Background(), "faulty", event(3), w); err != nil {
			t.Fatalf("trial call: %v", err)
		}
		if gauge() != 0 {
			t.Fatal("a good trial call closes the breaker")
		}
		if n := counter(t, h.metrics.errors.WithLabelValues("faulty", KindPanic)); n != 2 {
			t.Fatalf("errors{kind=panic} = %v", n)
		}
	})
}

func TestHangingPluginTimesOutAndIsRestarted(t *testing.T) {
	eachTransport(t, func(t *testing.T, tr string) {
		p := on(tr, faulty(t, "hang:2"))
		p.Timeout = config.Duration(300 * time.Millisecond)
		h := startHost(t, nil, p)
		w := &hookgate.Webhook{ID: "w", Format: "faulty"}
		if _, err := h.Format(context.Background(), "faulty", event(1), w); err != nil {
			t.Fatal(err)
		}
		_, err := h.Format(context.Background(), "faulty", event(2), w)
		if !errors.Is(err, ErrPlugin) || !strings.Contains(err.Error(), "did not answer") || Kind(err) != KindTimeout ||
			hookgate.ErrorCode(err) != hookgate.ETIMEOUT {
			t.Fatalf("want a timeout plugin error, got %v", err)
		}
		testenv.Eventually(t, 15*time.Second, "a successful call after the restart", func() bool {
			_, err := h.Format(context.Background(), "faulty", event(3), w)
			return err == nil
		})
		if st := h.Plugins()[0]; st.Restarts < 1 {
			t.Fatalf("want a restart, got %+v", st)
		}
	})
}

func TestGarbageOnStdoutBeforeHandshakeIsRetried(t *testing.T) {
	p := faulty(t, "garbage")
	p.Env["FAULT_STATE"] = filepath.Join(t.TempDir(), "started")
	h := startHost(t, nil, p)
	st := h.Plugins()[0]
	if st.Healthy || st.Reason == "" {
		t.Fatalf("first start should fail with a reason, got %+v", st)
	}
	w := &hookgate.Webhook{ID: "w", Format: "faulty"}
	testenv.Eventually(t, 15*time.Second, "the plugin to come up on restart", func() bool { return h.Plugins()[0].Healthy })
	// Garbage printed on stdout after the handshake is logged, not fatal.
	for i := range 3 {
		if _, err := h.Format(context.Background(), "faulty", event(i), w); err != nil {
			t.Fatal(err)
		}
	}
}

func TestInvalidAnswersArePluginErrors(t *testing.T) {
	for _, tc := range []struct{ fault, want string }{
		{"badjson", "invalid JSON"},
		{"oversize", "max_output"},
		// Answers net/http would refuse to send: refused here, as the
		// plugin's fault, not left to fail every attempt as "connect".
		{"badheader", "malformed header"},
		{"badtype", "content type"},
		{"dupheader", "twice"},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			eachTransport(t, func(t *testing.T, tr string) {
				h := startHost(t, nil, on(tr, faulty(t, tc.fault)))
				_, err := h.Format(context.Background(), "faulty", event(1), &hookgate.Webhook{Format: "faulty"})
				if !errors.Is(err, ErrPlugin) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("want plugin error %q, got %v", tc.want, err)
				}
				if hookgate.ErrorCode(err) != hookgate.EBADGATEWAY || Kind(err) != KindInvalid {
					t.Fatalf("code %q, kind %q", hookgate.ErrorCode(err), Kind(err))
				}
			})
		})
	}
}

func TestBadExecutablesAreReportedUnhealthy(t *testing.T) {
	bin := faultyBinary(t)
	notExec := filepath.Join(t.TempDir(), "plain")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wrong := sha256.Sum256([]byte("not the binary"))
	for _, tc := range []struct {
		name   string
		plugin config.Plugin
		reason string
	}{
		{"missing", config.Plugin{Name: "missing", Path: filepath.Join(t.TempDir(), "nope")}, "does not exist"},
		{"not executable", config.Plugin{Name: "plain", Path: notExec}, "not an executable"},
		{"checksum mismatch", config.Plugin{Name: "sum", Path: bin, SHA256: hex.EncodeToString(wrong[:])}, "checksum"},
		{"not in PATH", config.Plugin{Name: "path", Path: "hookgate-no-such-plugin"}, "not found in PATH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startHost(t, nil, tc.plugin)
			st := h.Plugins()[0]
			if st.Healthy || !strings.Contains(st.Reason, tc.reason) {
				t.Fatalf("want unhealthy with %q, got %+v", tc.reason, st)
			}
			if h.HasFormat("faulty") {
				t.Fatal("a plugin that never started provides no format")
			}
			if msg := h.Unavailable(tc.plugin.Name); !strings.Contains(msg, tc.reason) {
				t.Fatalf("Unavailable = %q", msg)
			}
			// Required: Start fails and leaves nothing running.
			req, err := New([]config.Plugin{tc.plugin}, nil, nil, WithRequired(true))
			if err != nil {
				t.Fatal(err)
			}
			if err := req.Start(context.Background()); err == nil || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("required start: want error with %q, got %v", tc.reason, err)
			}
		})
	}
	t.Run("checksum mismatch names both digests", func(t *testing.T) {
		b, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		actual := sha256.Sum256(b)
		h := startHost(t, nil, config.Plugin{Name: "faulty", Path: bin, SHA256: hex.EncodeToString(wrong[:])})
		want := "sha256 checksum mismatch: expected " + hex.EncodeToString(wrong[:]) + ", actual " + hex.EncodeToString(actual[:])
		if st := h.Plugins()[0]; !strings.Contains(st.Reason, want) {
			t.Fatalf("reason %q, want %q", st.Reason, want)
		}
		// A webhook naming the format hears why it cannot have it.
		if msg := h.FormatUnavailable("faulty"); !strings.Contains(msg, "plugin faulty is not running: "+want) {
			t.Fatalf("FormatUnavailable = %q", msg)
		}
		if msg := h.FormatUnavailable("slack"); !strings.Contains(msg, "faulty (sha256 checksum mismatch") {
			t.Fatalf("FormatUnavailable(another name) = %q", msg)
		}
	})
	t.Run("a format no plugin provides is just unknown", func(t *testing.T) {
		h := startHost(t, nil, faulty(t, ""))
		if msg := h.FormatUnavailable("slack"); msg != "" {
			t.Fatalf("every plugin started: FormatUnavailable = %q", msg)
		}
		if msg := h.FormatUnavailable("faulty"); msg != "" {
			t.Fatalf("a provided format: FormatUnavailable = %q", msg)
		}
	})
	t.Run("matching checksum starts", func(t *testing.T) {
		b, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		h := startHost(t, nil, config.Plugin{Name: "sum", Path: bin, SHA256: hex.EncodeToString(sum[:])})
		if st := h.Plugins()[0]; !st.Healthy || st.Version != "0.0.1" {
			t.Fatalf("want healthy, got %+v", st)
		}
	})
}

func TestTransformRewritesData(t *testing.T) {
	h := startHost(t, nil, faulty(t, ""))
	res, err := h.Transform(context.Background(), "faulty-redact", event(1), nil)
	if err != nil || string(res.Data) != `{"redacted":true}` {
		t.Fatalf("got %+v, %v", res, err)
	}
	if !h.HasTransform("faulty-redact") || h.HasTransform("nope") {
		t.Fatal("HasTransform wrong")
	}
}

// TestPluginsDieWithTheHost kills a host process with SIGKILL (no chance to
// clean up) and checks its plugin goes too: the parent-death signal.
func TestPluginsDieWithTheHost(t *testing.T) {
	if os.Getenv("HOOKGATE_TEST_HOST_CHILD") == "1" {
		h, err := New([]config.Plugin{faulty(t, "")}, nil, nil, WithRequired(true))
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		_, _ = os.Stdout.WriteString("PID " + strconv.Itoa(h.procs[0].pid) + "\n")
		select {} // wait to be killed
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestPluginsDieWithTheHost$")
	cmd.Env = append(os.Environ(), "HOOKGATE_TEST_HOST_CHILD=1", "HOOKGATE_TEST_FAULTY="+faultyBinary(t))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 64)
	one := make([]byte, 1)
	for !strings.Contains(string(buf), "\n") {
		if _, err := out.Read(one); err != nil {
			t.Fatalf("child said %q: %v", buf, err)
		}
		buf = append(buf, one[0])
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(string(buf), "PID ")))
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		t.Fatalf("plugin pid %d from %q is not running", pid, buf)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	waitGone(t, pid)
}

func counter(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// A panic in one call answers that call with the panic's message; the
// process lives on and answers the next call.
func TestPanicCostsOneCallNotTheProcess(t *testing.T) {
	eachTransport(t, func(t *testing.T, tr string) {
		h := startHost(t, nil, on(tr, faulty(t, "panic:deal.lost")))
		wantTransport(t, h, "faulty", tr)
		w := &hookgate.Webhook{ID: "w", Format: "faulty"}
		pid := h.Plugins()[0].PID
		bad := event(1)
		bad.Type = "deal.lost"
		_, err := h.Format(context.Background(), "faulty", bad, w)
		if !errors.Is(err, ErrPlugin) || !strings.Contains(err.Error(), "panic: assignment to entry in nil map") ||
			Kind(err) != KindPanic || hookgate.ErrorCode(err) != hookgate.EBADGATEWAY {
			t.Fatalf("want the panic's message, got %v", err)
		}
		if _, err := h.Format(context.Background(), "faulty", event(2), w); err != nil {
			t.Fatalf("the call after a panic: %v", err)
		}
		if st := h.Plugins()[0]; !st.Healthy || st.PID != pid || st.Restarts != 0 {
			t.Fatalf("the process should live on: %+v (pid was %d)", st, pid)
		}
	})
}

// A plugin runs with GOMAXPROCS=1 (fewer thread wake-ups per call) unless
// its env sets GOMAXPROCS, which then wins; hookgate's own environment
// still does not reach it.
func TestPluginGOMAXPROCSIsOneUnlessConfigured(t *testing.T) {
	if _, err := os.Stat("/proc/self/environ"); err != nil {
		t.Skip("needs /proc/<pid>/environ")
	}
	t.Setenv("HOOKGATE_TEST_SECRET", "s3cret")
	for _, c := range []struct{ set, want string }{{"", "1"}, {"2", "2"}} {
		p := faulty(t, "none")
		if c.set != "" {
			p.Env["GOMAXPROCS"] = c.set
		}
		h := startHost(t, nil, p)
		pid := h.Plugins()[0].PID
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, kv := range strings.Split(strings.TrimRight(string(b), "\x00"), "\x00") {
			if strings.HasPrefix(kv, "GOMAXPROCS=") || strings.HasPrefix(kv, "HOOKGATE_TEST_SECRET=") {
				got = append(got, kv)
			}
		}
		if len(got) != 1 || got[0] != "GOMAXPROCS="+c.want {
			t.Fatalf("env GOMAXPROCS %q: plugin environment has %q, want exactly GOMAXPROCS=%s", c.set, got, c.want)
		}
	}
}
