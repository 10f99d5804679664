package app_test

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/testenv"
	"github.com/hookgate/hookgate/plugins/host/hosttest"
)

// withCloudCX runs hookgate with the real cloudcx plugin process.
func withCloudCX(t *testing.T, mutate func(*config.Config)) *harness {
	t.Helper()
	bin := hosttest.Build(t, "github.com/hookgate/hookgate/plugins/cloudcx")
	return start(t, func(c *config.Config) {
		c.Plugins = []config.Plugin{{Name: "cloudcx", Path: bin, Timeout: hookgate.Duration(2 * time.Second)}}
		c.PluginsRequired = true
		if mutate != nil {
			mutate(c)
		}
	})
}

func contactCreated(t *testing.T) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "plugins", "cloudcx", "testdata", "contact_created.event.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	return map[string]any{"type": ev["type"], "data": ev["data"]}
}

// A webhook in the cloudcx format receives CloudCX's payload, rendered by
// the plugin process and signed like every delivery; an event the format
// does not carry (a webhook on "*" gets every event) is skipped, logged as
// such, and never sent.
func TestCloudCXWebhookReceivesThePluginsPayload(t *testing.T) {
	h := withCloudCX(t, nil)
	rec := receiver.NewRecorder()
	srv := httptest.NewServer(rec)
	defer srv.Close()
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	w := h.createWebhook(admin, map[string]any{"name": "cloudcx", "format": "cloudcx", "endpoints": endpoints(srv.URL),
		"events": []string{"*"}})
	h.do("POST", "/v1/events", pub, map[string]any{"type": "deal.won", "data": map[string]any{"id": "d1"}}).must(t, 202)
	h.do("POST", "/v1/events", pub, contactCreated(t)).must(t, 202)
	got, err := rec.WaitFor(testenv.Context(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Event    string           `json:"event"`
		Contacts []map[string]any `json:"contacts"`
	}
	if err := json.Unmarshal(got[0].Body, &body); err != nil {
		t.Fatalf("body %s: %v", got[0].Body, err)
	}
	if body.Event != "ContactCreated" || len(body.Contacts) != 1 || body.Contacts[0]["firstName"] != "Allen" ||
		body.Contacts[0]["phoneNumber"] != "12345678" || body.Contacts[0]["contactId"] != "987654321" {
		t.Fatalf("cloudcx payload %s", got[0].Body)
	}
	verifyIndependently(t, w.Secret, got[0])
	testenv.Eventually(t, 5*time.Second, "the deal.won delivery logged as skipped", func() bool {
		for _, d := range h.deliveries(admin, w.ID, "?event=deal.won") {
			return d.ErrorClass == hookgate.ClassSkipped
		}
		return false
	})
	if rec.Count() != 1 {
		t.Fatalf("receiver got %d requests; the skipped event was sent", rec.Count())
	}
}

// A plugin that dies costs no attempt: the delivery waits for the host to
// restart it (delivery.plugin_wait_max), or its call, in flight when the
// process died, is made again on the restarted process. The delivery
// succeeds at its first attempt.
func TestPluginCrashCostsNoAttempt(t *testing.T) {
	h := withCloudCX(t, nil)
	rec := receiver.NewRecorder()
	srv := httptest.NewServer(rec)
	defer srv.Close()
	admin := h.token("acme", "admin")
	w := h.createWebhook(admin, map[string]any{"name": "cloudcx", "format": "cloudcx", "endpoints": endpoints(srv.URL), "events": []string{"contact.*"}})
	before := pluginStatus(t, h)
	pid := pluginPID(t, before)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill plugin %d: %v", pid, err)
	}
	h.do("POST", "/v1/events", h.token("acme", "publisher"), contactCreated(t)).must(t, 202)
	got, err := rec.WaitFor(testenv.Context(t), 1)
	if err != nil {
		t.Fatalf("the delivery was lost with the plugin: %v", err)
	}
	if !json.Valid(got[0].Body) {
		t.Fatalf("body %s", got[0].Body)
	}
	testenv.Eventually(t, 5*time.Second, "the plugin restarted", func() bool { return pluginStatus(t, h).Restarts > before.Restarts })
	var ds []hookgate.Delivery
	testenv.Eventually(t, 5*time.Second, "the delivery logged as succeeded", func() bool {
		ds = h.deliveries(admin, w.ID, "")
		return len(ds) == 1 && ds[0].Status == hookgate.DeliverySucceeded
	})
	if ds[0].Attempts != 1 {
		t.Fatalf("the plugin's death cost the receiver an attempt: %+v", ds[0])
	}
}

func pluginStatus(t *testing.T, h *harness) hookgate.PluginStatus {
	t.Helper()
	var res struct{ Data []hookgate.PluginStatus }
	h.do("GET", "/v1/plugins", h.token("acme", "admin"), nil).must(t, 200).json(t, &res)
	for _, p := range res.Data {
		if p.Name == "cloudcx" {
			return p
		}
	}
	t.Fatalf("cloudcx not listed: %+v", res.Data)
	return hookgate.PluginStatus{}
}

func pluginPID(t *testing.T, st hookgate.PluginStatus) int {
	t.Helper()
	if !st.Healthy || st.PID <= 0 {
		t.Fatalf("plugin not running: %+v", st)
	}
	return st.PID
}
