package host

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/testenv"
)

// versioned is the faulty plugin in waitfile mode reporting version v, with
// a timeout long enough that only the test decides when a call ends.
func versioned(t *testing.T, v string) config.Plugin {
	p := faulty(t, "waitfile")
	p.Env["FAULT_VERSION"] = v
	p.Timeout = config.Duration(time.Minute)
	return p
}

func reload(t *testing.T, h *Host, guard Guard, plugins ...config.Plugin) map[string]hookgate.PluginReloadResult {
	t.Helper()
	res, err := h.Reload(context.Background(), plugins, guard)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]hookgate.PluginReloadResult{}
	for _, r := range res {
		out[r.Name] = r
	}
	return out
}

// renderedVersion is the version of the process that rendered one event.
func renderedVersion(t *testing.T, h *Host, format string) string {
	t.Helper()
	pl, err := h.Format(context.Background(), format, event(1), &hookgate.Webhook{ID: "w", Format: format})
	if err != nil {
		t.Fatalf("render %s: %v", format, err)
	}
	var body struct{ Version string }
	if err := json.Unmarshal(pl.Body, &body); err != nil {
		t.Fatal(err)
	}
	return body.Version
}

func alive(pid int) bool { return pid > 0 && syscall.Kill(pid, 0) == nil }

func currentPID(h *Host, name string) int {
	for _, st := range h.Plugins() {
		if st.Name == name {
			return st.PID
		}
	}
	return 0
}

// An upgrade starts the new process, routes new calls to it at once, lets
// the call in flight on the old process finish there, and only then stops
// the old process.
func TestReloadUpgradeDrainsCallsInFlight(t *testing.T) {
	h := startHost(t, nil, versioned(t, "1"))
	oldPID := currentPID(h, "faulty")
	dir := t.TempDir()
	started, release := filepath.Join(dir, "started"), filepath.Join(dir, "release")
	data, _ := json.Marshal(map[string]string{"started": started, "release": release})
	type answer struct {
		pl  *hookgate.Payload
		err error
	}
	inflight := make(chan answer, 1)
	go func() {
		pl, err := h.Format(context.Background(), "faulty", &hookgate.Event{ID: "evt_wait", Type: "wait", Data: data},
			&hookgate.Webhook{ID: "w", Format: "faulty"})
		inflight <- answer{pl, err}
	}()
	testenv.Eventually(t, 15*time.Second, "the call to reach the old process", func() bool { _, err := os.Stat(started); return err == nil })

	reloaded := make(chan map[string]hookgate.PluginReloadResult, 1)
	go func() { reloaded <- reload(t, h, nil, versioned(t, "2")) }()
	testenv.Eventually(t, 15*time.Second, "the new version to take new calls", func() bool { return h.Plugins()[0].Version == "2" })
	if v := renderedVersion(t, h, "faulty"); v != "2" {
		t.Fatalf("a call after the swap was rendered by version %s", v)
	}
	select {
	case r := <-reloaded:
		t.Fatalf("the reload finished with a call still in flight on the old process: %+v", r)
	default:
	}
	if !alive(oldPID) {
		t.Fatal("the old process was stopped with a call in flight")
	}

	if err := os.WriteFile(release, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	a := <-inflight
	if a.err != nil {
		t.Fatalf("the call in flight during the upgrade failed: %v", a.err)
	}
	if !strings.Contains(string(a.pl.Body), `"version":"1"`) {
		t.Fatalf("the call in flight was not finished by the old process: %s", a.pl.Body)
	}
	r := (<-reloaded)["faulty"]
	if r.Result != ReloadUpgraded || r.Version != "2" || r.PreviousVersion != "1" {
		t.Fatalf("reload result = %+v, want upgraded 1 -> 2", r)
	}
	waitGone(t, oldPID)
	if currentPID(h, "faulty") == oldPID {
		t.Fatal("the plugin still runs the old process")
	}
}

// A new version that does not start (here: its checksum does not match, or
// its executable is missing) keeps the old process serving.
func TestReloadFailedNewVersionKeepsTheOld(t *testing.T) {
	h := startHost(t, nil, versioned(t, "1"))
	pid := currentPID(h, "faulty")
	for _, tc := range []struct {
		name, reason string
		change       func(*config.Plugin)
	}{
		{"checksum", "checksum", func(p *config.Plugin) { p.SHA256 = strings.Repeat("0", 64) }},
		{"missing", "does not exist", func(p *config.Plugin) { p.Path = filepath.Join(t.TempDir(), "gone") }},
	} {
		next := versioned(t, "2")
		tc.change(&next)
		r := reload(t, h, nil, next)["faulty"]
		if r.Result != ReloadKeptOld || !strings.Contains(r.Reason, tc.reason) || r.Version != "1" {
			t.Fatalf("%s: reload result = %+v, want kept_old saying %q", tc.name, r, tc.reason)
		}
		if v := renderedVersion(t, h, "faulty"); v != "1" {
			t.Fatalf("%s: after a failed upgrade calls reach version %s", tc.name, v)
		}
		if got := currentPID(h, "faulty"); got != pid {
			t.Fatalf("%s: the old process %d was replaced by %d", tc.name, pid, got)
		}
	}
}

// Added, unchanged and removed plugins, and a changed executable at the
// same path, which is an upgrade.
func TestReloadAddsRemovesAndNoticesANewExecutable(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "faulty")
	copyFile(t, faultyBinary(t), bin, "")
	a := versioned(t, "1")
	a.Path = bin
	h := startHost(t, nil, a)
	pidA := currentPID(h, "faulty")

	if r := reload(t, h, nil, a)["faulty"]; r.Result != ReloadUnchanged || currentPID(h, "faulty") != pidA {
		t.Fatalf("the same configuration: %+v (pid %d, was %d)", r, currentPID(h, "faulty"), pidA)
	}

	b := versioned(t, "7")
	b.Name, b.Env["FAULT_NAME"] = "second", "second"
	rs := reload(t, h, nil, a, b)
	if rs["faulty"].Result != ReloadUnchanged || rs["second"].Result != ReloadAdded || rs["second"].Version != "7" {
		t.Fatalf("adding a plugin: %+v", rs)
	}
	if v := renderedVersion(t, h, "second"); v != "7" {
		t.Fatalf("the added plugin's format renders with version %q", v)
	}

	// A new build installed over the old one (trailing bytes do not stop an
	// ELF executable from running, and change its checksum).
	copyFile(t, faultyBinary(t), bin, "a new build")
	rs = reload(t, h, nil, a, b)
	if rs["faulty"].Result != ReloadUpgraded || rs["second"].Result != ReloadUnchanged {
		t.Fatalf("after replacing the executable: %+v", rs)
	}
	waitGone(t, pidA)

	pidB := currentPID(h, "second")
	rs = reload(t, h, nil, a)
	if rs["second"].Result != ReloadRemoved {
		t.Fatalf("removing a plugin: %+v", rs)
	}
	waitGone(t, pidB)
	if _, err := h.Format(context.Background(), "second", event(1), &hookgate.Webhook{Format: "second"}); err == nil {
		t.Fatal("the removed plugin's format still renders")
	}
	if len(h.Plugins()) != 1 {
		t.Fatalf("plugins after the removal: %+v", h.Plugins())
	}

	// A new plugin that cannot start is failed, and nothing runs for it.
	c := versioned(t, "1")
	c.Name, c.Path = "broken", filepath.Join(t.TempDir(), "missing")
	if r := reload(t, h, nil, a, c)["broken"]; r.Result != ReloadFailed || !strings.Contains(r.Reason, "does not exist") {
		t.Fatalf("a plugin that cannot start: %+v", r)
	}
	if len(h.Plugins()) != 1 {
		t.Fatalf("a plugin that failed to start is listed: %+v", h.Plugins())
	}
}

// The guard refuses removing a plugin, or upgrading to a version that no
// longer provides a format, while something uses it; the old one runs on.
func TestReloadGuardKeepsPluginsInUse(t *testing.T) {
	h := startHost(t, nil, versioned(t, "1"))
	pid := currentPID(h, "faulty")
	var asked []Provides
	guard := func(_ context.Context, plugin string, lost Provides) string {
		asked = append(asked, lost)
		return "used by webhook wh_1 (Orders)"
	}
	if r := reload(t, h, guard)["faulty"]; r.Result != ReloadKeptOld || r.Reason != "used by webhook wh_1 (Orders)" {
		t.Fatalf("removal in use: %+v", r)
	}
	renamed := versioned(t, "2")
	renamed.Env["FAULT_NAME"] = "other"
	if r := reload(t, h, guard, renamed)["faulty"]; r.Result != ReloadKeptOld {
		t.Fatalf("an upgrade dropping a used format: %+v", r)
	}
	if len(asked) != 2 || !asked[0].Incoming || len(asked[1].Formats) != 1 || asked[1].Formats[0] != "faulty" {
		t.Fatalf("the guard was asked about %+v", asked)
	}
	if currentPID(h, "faulty") != pid || renderedVersion(t, h, "faulty") != "1" {
		t.Fatal("the plugin in use was replaced")
	}
	// An upgrade that loses nothing is not the guard's business.
	if r := reload(t, h, guard, versioned(t, "2"))["faulty"]; r.Result != ReloadUpgraded {
		t.Fatalf("an upgrade that keeps every format: %+v", r)
	}
}

func copyFile(t *testing.T, from, to, extra string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	tmp := to + ".new"
	dst, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.WriteString(extra); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, to); err != nil { // as an installer does: the running file is not written to
		t.Fatal(err)
	}
}

// BenchmarkReloadUpgrade measures one upgrade of one idle plugin: start the
// new process, handshake and Info, swap, stop the old one gracefully.
func BenchmarkReloadUpgrade(b *testing.B) {
	bin := faultyBinary(b)
	cfg := func(v string) config.Plugin {
		return config.Plugin{Name: "faulty", Path: bin, Timeout: config.Duration(30 * time.Second), MaxOutput: 1 << 20,
			Env: map[string]string{"FAULT": "none", "FAULT_VERSION": v}}
	}
	h, err := New([]config.Plugin{cfg("0")}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer h.Shutdown(context.Background())
	b.ResetTimer()
	for i := range b.N {
		res, err := h.Reload(context.Background(), []config.Plugin{cfg(strconv.Itoa(i + 1))}, nil)
		if err != nil || res[0].Result != ReloadUpgraded {
			b.Fatalf("%+v %v", res, err)
		}
	}
}
