package app_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/testenv"
)

// faultyPlugin builds the deliberately broken test plugin once per run.
func faultyPlugin(t *testing.T) string {
	t.Helper()
	return testenv.Build(t, "../plugins/host/testdata/faulty")
}

// withFaulty runs hookgate with the faulty plugin in the given FAULT mode,
// auto-pause after a single counted failure (so a plugin failure counted
// as the receiver's would pause the webhook at once), and retries an hour
// apart (a failed delivery stays visible as retrying).
func withFaulty(t *testing.T, fault string, mutate func(*config.Config)) *harness {
	t.Helper()
	bin := faultyPlugin(t)
	return start(t, func(c *config.Config) {
		c.Plugins = []config.Plugin{{Name: "faulty", Path: bin, Timeout: hookgate.Duration(2 * time.Second),
			Env: map[string]string{"FAULT": fault}}}
		c.PluginsRequired = true
		c.Lifecycle.AutoPauseAfter = 1
		c.Delivery.RetryDelays = []hookgate.Duration{hookgate.Duration(time.Hour)}
		if mutate != nil {
			mutate(c)
		}
	})
}

// runBadBatch publishes 60 contact.created and one deal.lost to a faulty
// webhook and waits for the 60 good deliveries and the bad one's log.
func runBadBatch(t *testing.T, h *harness) (createdWebhook, hookgate.Delivery) {
	t.Helper()
	rec := receiver.NewRecorder()
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	w := h.createWebhook(admin, map[string]any{"name": "faulty", "format": "faulty", "endpoints": endpoints(srv.URL),
		"events": []string{"contact.created", "deal.lost"}})
	var wg sync.WaitGroup
	for i := range 61 {
		typ := "contact.created"
		if i == 30 {
			typ = "deal.lost"
		}
		wg.Go(func() { h.publish(pub, typ, map[string]any{"i": i}) })
	}
	wg.Wait()
	if _, err := rec.WaitFor(testenv.Context(t), 60); err != nil {
		t.Fatalf("the 60 good events were not all delivered: %v", err)
	}
	var bad hookgate.Delivery
	testenv.Eventually(t, 10*time.Second, "the deal.lost delivery logged", func() bool {
		ds := h.deliveries(admin, w.ID, "?event=deal.lost")
		if len(ds) == 1 && ds[0].ErrorClass != "" {
			bad = ds[0]
			return true
		}
		return false
	})
	var good []hookgate.Delivery
	testenv.Eventually(t, 10*time.Second, "60 contact.created deliveries logged as succeeded", func() bool {
		good = h.deliveries(admin, w.ID, "?event=contact.created&status=succeeded&limit=100")
		return len(good) == 60
	})
	for _, d := range good {
		if d.Attempts != 1 {
			t.Fatalf("a good event needed %d attempts: %+v", d.Attempts, d)
		}
	}
	if rec.Count() != 60 {
		t.Fatalf("the receiver got %d requests, want 60 (the bad event is never sent)", rec.Count())
	}
	if st := h.webhook(admin, w.ID).Status; st != hookgate.StatusActive {
		t.Fatalf("the webhook is %q: a plugin's failure was counted as the receiver's", st)
	}
	return w, bad
}

// One event that makes the plugin panic costs that event's attempt only:
// the 60 others are delivered at their first attempt, the delivery log
// shows the panic's message as the plugin's error, the server log has one
// line with it, and the webhook is not auto-paused.
func TestPluginPanicCostsOnlyTheBadEvent(t *testing.T) {
	h := withFaulty(t, "panic:deal.lost", nil)
	w, bad := runBadBatch(t, h)
	if bad.ErrorClass != hookgate.ClassPluginError || bad.Status != hookgate.DeliveryRetrying ||
		!strings.Contains(bad.Error, "panic: assignment to entry in nil map") {
		t.Fatalf("bad delivery = %+v", bad)
	}
	// One structured line for the panic; the plugin's own output (the
	// stack the SDK prints) at debug, once, never echoed by go-plugin.
	var panics int
	for _, line := range strings.Split(h.logs.String(), "\n") {
		if strings.Contains(line, `"msg":"plugin panicked","plugin":"faulty","panic":"assignment to entry in nil map"`) &&
			strings.Contains(line, `"level":"WARN"`) {
			panics++
		}
		if strings.Contains(line, `"stream":"stderr"`) && !strings.Contains(line, `"level":"DEBUG"`) {
			t.Fatalf("plugin output above debug: %s", line)
		}
		if strings.Contains(line, "go-plugin") || strings.Contains(line, `"stream":"host"`) {
			t.Fatalf("go-plugin echoed the plugin's output: %s", line)
		}
	}
	if panics != 1 {
		t.Fatalf("%d log lines for the panic, want 1:\n%s", panics, h.logs.String())
	}
	if n := strings.Count(h.logs.String(), `"msg":"panic: assignment to entry in nil map","plugin":"faulty","stream":"stderr"`); n != 1 {
		t.Fatalf("the plugin's panic output logged %d times, want once:\n%s", n, h.logs.String())
	}
	if st := pluginStatusOf(t, h, "faulty"); st.Restarts != 0 {
		t.Fatalf("a panic restarted the plugin: %+v", st)
	}
	// Preview of the bad event: 502 with the plugin's error, not 400.
	admin := h.token("acme", "admin")
	r := h.do("POST", "/v1/webhooks/"+w.ID+"/preview", admin, map[string]any{"type": "deal.lost", "data": map[string]any{}}).must(t, 502)
	var e struct {
		Error struct{ Code, Message string }
	}
	r.json(t, &e)
	if e.Error.Code != hookgate.EBADGATEWAY || !strings.Contains(e.Error.Message, "panic: assignment to entry in nil map") {
		t.Fatalf("preview answered %s", r.Body)
	}
	h.do("POST", "/v1/webhooks/"+w.ID+"/preview", admin, map[string]any{"type": "contact.created", "data": map[string]any{}}).must(t, 200)
}

// A plugin that hangs on one event: that call times out (the plugin's
// failure, class plugin_error), the process is restarted, the calls in
// flight with it are made again on the new process, and the others are
// delivered.
func TestPluginHangCostsOnlyTheBadEvent(t *testing.T) {
	h := withFaulty(t, "hangon:deal.lost", func(c *config.Config) {
		c.Plugins[0].Timeout = hookgate.Duration(500 * time.Millisecond)
	})
	_, bad := runBadBatch(t, h)
	if bad.ErrorClass != hookgate.ClassPluginError || !strings.Contains(bad.Error, "did not answer within 500ms") {
		t.Fatalf("bad delivery = %+v", bad)
	}
	if !strings.Contains(h.logs.String(), `"msg":"plugin exited; restarting","plugin":"faulty"`) {
		t.Fatalf("no log line for the restart:\n%s", h.logs.String())
	}
}

func pluginStatusOf(t *testing.T, h *harness, name string) struct {
	Healthy  bool
	Reason   string
	Restarts int
} {
	t.Helper()
	var res struct {
		Data []struct {
			Name     string
			Healthy  bool
			Reason   string
			Restarts int
		}
	}
	h.do("GET", "/v1/plugins", h.token("acme", "admin"), nil).must(t, 200).json(t, &res)
	for _, p := range res.Data {
		if p.Name == name {
			return struct {
				Healthy  bool
				Reason   string
				Restarts int
			}{p.Healthy, p.Reason, p.Restarts}
		}
	}
	t.Fatalf("%s not listed", name)
	return struct {
		Healthy  bool
		Reason   string
		Restarts int
	}{}
}

// A plugin whose executable does not match its sha256 is not started; the
// log names both digests, and a webhook naming its format is refused with
// 503 format_unavailable saying so, not "unknown format".
func TestChecksumMismatchSaysWhyEverywhere(t *testing.T) {
	bin := faultyPlugin(t)
	wrong := strings.Repeat("ab", 32)
	h := start(t, func(c *config.Config) {
		c.Plugins = []config.Plugin{{Name: "faulty", Path: bin, SHA256: wrong}}
	})
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	want := "sha256 checksum mismatch: expected " + wrong + ", actual " + hex.EncodeToString(sum[:])
	if !strings.Contains(h.logs.String(), want) {
		t.Fatalf("the log does not name both digests:\n%s", h.logs.String())
	}
	if strings.Contains(h.logs.String(), `"retry_in":1`) {
		t.Fatalf("a duration logged as nanoseconds:\n%s", h.logs.String())
	}
	if st := pluginStatusOf(t, h, "faulty"); st.Healthy || !strings.Contains(st.Reason, want) {
		t.Fatalf("GET /v1/plugins: %+v", st)
	}
	srv := httptest.NewServer(receiver.NewRecorder())
	defer srv.Close()
	r := h.do("POST", "/v1/webhooks", h.token("acme", "admin"), map[string]any{"name": "f", "format": "faulty",
		"endpoints": endpoints(srv.URL), "events": []string{"contact.created"}}).must(t, 503)
	var e struct {
		Error struct {
			Code, Message string
			Fields        map[string]string
		}
	}
	r.json(t, &e)
	if e.Error.Code != hookgate.EFORMATUNAVAILABLE || !strings.Contains(e.Error.Message, `format "faulty" is unavailable: plugin faulty is not running: `+want) ||
		!strings.Contains(e.Error.Fields["format"], want) {
		t.Fatalf("create answered %s", r.Body)
	}
	// With another mistake too, it is the caller's to fix first: 400.
	h.do("POST", "/v1/webhooks", h.token("acme", "admin"), map[string]any{"name": "f", "format": "faulty",
		"endpoints": endpoints(srv.URL), "events": []string{"no.such.event"}}).must(t, 400)
}
