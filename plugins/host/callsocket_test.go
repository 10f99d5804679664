package host

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/testenv"
	pb "github.com/hookgate/hookgate/plugins/sdk/proto"
)

// transports are the two ways a call reaches a plugin; a plugin built with
// the SDK offers the call socket unless its env forces gRPC.
var transports = []string{TransportCallSocket, TransportGRPC}

// on returns the plugin configured to use transport tr.
func on(tr string, p config.Plugin) config.Plugin {
	if tr == TransportGRPC {
		env := map[string]string{pb.TransportEnv: "grpc"}
		for k, v := range p.Env {
			env[k] = v
		}
		p.Env = env
	}
	return p
}

// eachTransport runs f once per transport, with the plugin set up for it.
func eachTransport(t *testing.T, f func(t *testing.T, tr string)) {
	for _, tr := range transports {
		t.Run(strings.ReplaceAll(tr, " ", "_"), func(t *testing.T) { f(t, tr) })
	}
}

// wantTransport fails the test unless the plugin's calls go by tr.
func wantTransport(t *testing.T, h *Host, name, tr string) {
	t.Helper()
	if got := h.Transport(name); got != tr {
		t.Fatalf("plugin %s: calls go by %q, want %q", name, got, tr)
	}
}

// An SDK plugin gets a private directory for its call socket (0700, in the
// host's temporary directory), calls go there, and the directory goes with
// the process: at a restart and at shutdown.
func TestCallSocketDirectoryLivesWithTheProcess(t *testing.T) {
	h := startHost(t, nil, faulty(t, "crash:2"))
	wantTransport(t, h, "faulty", TransportCallSocket)
	p := h.procs[0]
	p.mu.RLock()
	dir, sock := p.sockDir, p.sock
	p.mu.RUnlock()
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("socket directory %s: %v, %v", dir, fi, err)
	}
	if sock.path != filepath.Join(dir, "calls.sock") {
		t.Fatalf("socket %s is not in %s", sock.path, dir)
	}
	p.mu.RLock()
	grpcAddr := p.client.ReattachConfig().Addr
	p.mu.RUnlock()
	if grpcAddr.Network() != "unix" || !strings.HasPrefix(grpcAddr.String(), dir+string(filepath.Separator)) {
		t.Fatalf("go-plugin's gRPC socket %s %s is not in the process's directory %s", grpcAddr.Network(), grpcAddr, dir)
	}
	w := &hookgate.Webhook{ID: "w", Format: "faulty"}
	if _, err := h.Format(context.Background(), "faulty", event(1), w); err != nil {
		t.Fatal(err)
	}
	sock.mu.Lock()
	idle := len(sock.idle)
	sock.mu.Unlock()
	if idle != 1 {
		t.Fatalf("the call should have used (and given back) the one connection: %d idle", idle)
	}
	// Call 2 kills the process: the call is retried on the new one, which
	// has a directory of its own; the old one is removed.
	if _, err := h.Format(context.Background(), "faulty", event(2), w); err != nil {
		t.Fatal(err)
	}
	wantTransport(t, h, "faulty", TransportCallSocket)
	p.mu.RLock()
	dir2 := p.sockDir
	p.mu.RUnlock()
	if dir2 == dir || dir2 == "" {
		t.Fatalf("the restarted process has directory %q (the first was %q)", dir2, dir)
	}
	testenv.Eventually(t, 10*time.Second, "the dead process's directory to be removed", func() bool {
		_, err := os.Stat(dir)
		return os.IsNotExist(err)
	})
	shutdownAndCheckOrphans(t, h)
	if _, err := os.Stat(dir2); !os.IsNotExist(err) {
		t.Fatalf("directory %s left after shutdown: %v", dir2, err)
	}
}

// A caller that gives up ends the call at once, on either transport: the
// plugin's call context is cancelled, the call fails as unavailable (not
// the plugin's fault), the process lives on and answers the next call.
func TestCancelledCallEndsAtOnceAndReachesThePlugin(t *testing.T) {
	eachTransport(t, func(t *testing.T, tr string) {
		p := on(tr, faulty(t, "waitctx"))
		state := filepath.Join(t.TempDir(), "state")
		p.Env["FAULT_STATE"] = state
		h := startHost(t, nil, p)
		wantTransport(t, h, "faulty", tr)
		pid := h.Plugins()[0].PID
		w := &hookgate.Webhook{ID: "w", Format: "faulty"}
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			_, err := h.Format(ctx, "faulty", &hookgate.Event{ID: "evt_w", Type: "wait", Data: json.RawMessage(`{}`)}, w)
			errc <- err
		}()
		testenv.Eventually(t, 10*time.Second, "the call to start in the plugin", func() bool {
			_, err := os.Stat(state + ".started")
			return err == nil
		})
		cancel()
		select {
		case err := <-errc:
			if Kind(err) != KindUnavailable || !strings.Contains(err.Error(), "call cancelled") {
				t.Fatalf("want a cancelled call, got %v", err)
			}
		case <-time.After(time.Second):
			t.Fatal("the call did not end when its context was cancelled")
		}
		testenv.Eventually(t, 10*time.Second, "the plugin's call context to end", func() bool {
			b, _ := os.ReadFile(state + ".ended")
			return string(b) == context.Canceled.Error()
		})
		if _, err := h.Format(context.Background(), "faulty", event(1), w); err != nil {
			t.Fatalf("the call after a cancelled one: %v", err)
		}
		if st := h.Plugins()[0]; !st.Healthy || st.PID != pid || st.Restarts != 0 {
			t.Fatalf("a cancelled call must not cost the process: %+v (pid was %d)", st, pid)
		}
	})
}

// A plugin that offers no call socket (forced to gRPC here; an older
// plugin or one in another language alike) is called over gRPC, with the
// same answers.
func TestPluginWithoutCallSocketIsCalledOverGRPC(t *testing.T) {
	testenv.SkipShort(t, "runs plugin processes")
	bodies := map[string]string{}
	eachTransport(t, func(t *testing.T, tr string) {
		h := startHost(t, nil, on(tr, faulty(t, "")))
		wantTransport(t, h, "faulty", tr)
		p := h.procs[0]
		p.mu.RLock()
		sock := p.sock
		p.mu.RUnlock()
		if (sock != nil) != (tr == TransportCallSocket) {
			t.Fatalf("transport %s with call pool %v", tr, sock)
		}
		pl, err := h.Format(context.Background(), "faulty", &hookgate.Event{ID: "evt_1", Type: "contact.created",
			Data: json.RawMessage(`{"a":1}`)}, &hookgate.Webhook{ID: "w", Format: "faulty"})
		if err != nil {
			t.Fatal(err)
		}
		bodies[tr] = string(pl.Body)
	})
	if bodies[TransportGRPC] == "" || bodies[TransportGRPC] != bodies[TransportCallSocket] {
		t.Fatalf("answers differ by transport: %q", bodies)
	}
}

// A request over what a plugin reads from its call socket goes over gRPC,
// where the plugin refuses it as before (so the call fails the same way
// on both transports, and the socket stays usable).
func TestOversizeRequestFailsAlikeOnBothTransports(t *testing.T) {
	big := json.RawMessage(`{"x":"` + strings.Repeat("a", pb.MaxCallRequest) + `"}`)
	eachTransport(t, func(t *testing.T, tr string) {
		h := startHost(t, nil, on(tr, faulty(t, "")))
		w := &hookgate.Webhook{ID: "w", Format: "faulty"}
		_, err := h.Format(context.Background(), "faulty", &hookgate.Event{ID: "evt_big", Type: "contact.created", Data: big}, w)
		if err == nil || Kind(err) == KindCrash || Kind(err) == KindTimeout {
			t.Fatalf("an oversize request: %v", err)
		}
		if _, err := h.Format(context.Background(), "faulty", event(1), w); err != nil {
			t.Fatalf("the call after: %v", err)
		}
		if st := h.Plugins()[0]; st.Restarts != 0 {
			t.Fatalf("an oversize request must not cost the process: %+v", st)
		}
	})
}

func TestCallSocketIn(t *testing.T) {
	for _, c := range []struct {
		dir, sock string
		want      bool
	}{
		{"/tmp/hookgate-plugin-1", "/tmp/hookgate-plugin-1/calls.sock", true},
		{"/tmp/hookgate-plugin-1", "/tmp/hookgate-plugin-1/../x/calls.sock", false},
		{"/tmp/hookgate-plugin-1", "/tmp/hookgate-plugin-1/a/calls.sock", false},
		{"/tmp/hookgate-plugin-1", "/run/other.sock", false},
		{"/tmp/hookgate-plugin-1", "", false},
		{"", "calls.sock", false},
	} {
		if got := callSocketIn(c.dir, c.sock); got != c.want {
			t.Errorf("callSocketIn(%q, %q) = %v", c.dir, c.sock, got)
		}
	}
}

// A call that finds every connection to the call socket in use goes over
// gRPC rather than wait: calls that are slow in the plugin are not held to
// callConnsMax at a time.
func TestCallsBeyondTheSocketsConnectionsGoOverGRPC(t *testing.T) {
	h := startHost(t, nil, faulty(t, ""))
	wantTransport(t, h, "faulty", TransportCallSocket)
	p := h.procs[0]
	p.mu.RLock()
	sock := p.sock
	p.mu.RUnlock()
	for range callConnsMax {
		sock.sem <- struct{}{} // as if every connection were in a call
	}
	before := counter(t, h.metrics.calls.WithLabelValues("faulty", "transform"))
	if _, err := h.Format(context.Background(), "faulty", event(1), &hookgate.Webhook{ID: "w", Format: "faulty"}); err != nil {
		t.Fatalf("a call with every connection busy: %v", err)
	}
	if n := counter(t, h.metrics.calls.WithLabelValues("faulty", "transform")); n != before+1 {
		t.Fatalf("calls %v, want %v", n, before+1)
	}
	for range callConnsMax {
		<-sock.sem
	}
	if h.Plugins()[0].Restarts != 0 {
		t.Fatal("the plugin was restarted")
	}
}

// Without a writable temporary directory for the call socket, the plugin
// still starts, and is called over gRPC.
func TestNoSocketDirectoryMeansGRPC(t *testing.T) {
	p := faulty(t, "") // built before TMPDIR goes
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
	h := startHost(t, nil, p)
	wantTransport(t, h, "faulty", TransportGRPC)
	if _, err := h.Format(context.Background(), "faulty", event(1), &hookgate.Webhook{ID: "w", Format: "faulty"}); err != nil {
		t.Fatal(err)
	}
}

// The call socket directories of hookgate processes that are gone (killed
// with SIGKILL, they could not remove their own) are swept; those of live
// processes, and others, are left alone.
func TestSocketDirsOfGoneProcessesAreSwept(t *testing.T) {
	tmp := t.TempDir()
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Skipf("no process to outlive: %v", err)
	}
	dead := filepath.Join(tmp, socketDirPrefix+strconv.Itoa(gone.Process.Pid)+"-123")
	live := filepath.Join(tmp, socketDirPrefix+strconv.Itoa(os.Getpid())+"-456")
	old := filepath.Join(tmp, socketDirPrefix+"789")
	other := filepath.Join(tmp, "something-else-1-2")
	for _, d := range []string{dead, live, old, other} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dead, "call.sock"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	sweepSocketDirs(tmp)
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Fatalf("the directory of a process that is gone is still there (%v)", err)
	}
	for _, d := range []string{live, old, other} {
		if _, err := os.Stat(d); err != nil {
			t.Fatalf("%s was swept: %v", filepath.Base(d), err)
		}
	}
}
