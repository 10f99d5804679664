package app_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/testenv"
	"github.com/hookgate/hookgate/plugins/host"
)

// versionedFaulty is the host's test plugin: format "faulty", reporting
// version, with every payload carrying its version.
func versionedFaulty(t *testing.T, version string) config.Plugin {
	t.Helper()
	return config.Plugin{Name: "faulty", Path: faultyPlugin(t), Timeout: hookgate.Duration(30 * time.Second),
		Env: map[string]string{"FAULT": "none", "FAULT_VERSION": version}}
}

// withReloadablePlugins runs hookgate whose configuration source answers
// the plugins *plugins holds at the time of the reload.
func withReloadablePlugins(t *testing.T, plugins *atomic.Pointer[[]config.Plugin]) *harness {
	t.Helper()
	h := start(t, func(c *config.Config) {
		c.Plugins = *plugins.Load()
		c.PluginsRequired = true
		// The load test reads every delivery back from the log, and it
		// publishes as many as the machine allows: past the default 200
		// the log would drop the oldest.
		c.Delivery.LogMaxEntries = 100_000
		c.Incoming.Scopes = map[string]config.Scope{"crm": {Prefixes: []string{"/crm/"}, Upstream: "http://127.0.0.1:9"}}
	})
	h.app.ConfigSource = func() (config.Config, error) {
		c := h.cfg
		c.Plugins = *plugins.Load()
		if err := c.Validate(); err != nil {
			return c, err
		}
		return c, nil
	}
	return h
}

func (h *harness) reload(t *testing.T) map[string]hookgate.PluginReloadResult {
	t.Helper()
	var rep hookgate.PluginReloadReport
	h.do("POST", "/v1/plugins/reload", h.token("ops", hookgate.RoleSystem), nil).must(t, 200).json(t, &rep)
	out := map[string]hookgate.PluginReloadResult{}
	for _, r := range rep.Plugins {
		out[r.Name] = r
	}
	return out
}

// Plugins are upgraded twice while events are published and delivered
// through them: every event is delivered exactly once, at its first
// attempt, and deliveries rendered by each version reach the receiver.
func TestPluginReloadUnderLoadLosesNoDelivery(t *testing.T) {
	var plugins atomic.Pointer[[]config.Plugin]
	plugins.Store(&[]config.Plugin{versionedFaulty(t, "1")})
	h := withReloadablePlugins(t, &plugins)
	rec := receiver.NewRecorder()
	srv := httptest.NewServer(rec)
	defer srv.Close()
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	w := h.createWebhook(admin, map[string]any{"name": "faulty", "format": "faulty", "endpoints": endpoints(srv.URL), "events": []string{"contact.*"}})

	// Publish one event after another until told to stop, so that events
	// are rendered before, during and after each reload.
	stop := make(chan struct{})
	published := make(chan int, 1)
	go func() {
		i := 0
		defer func() { published <- i }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			r := h.do("POST", "/v1/events", pub, map[string]any{"type": "contact.created", "data": map[string]any{"i": i}})
			if r.Status != 202 {
				t.Errorf("publish %d: %d %s", i, r.Status, r.Body)
				return
			}
			i++
		}
	}()
	for _, version := range []string{"2", "3"} {
		mark := rec.Count() + 20
		testenv.Eventually(t, 30*time.Second, fmt.Sprintf("%d deliveries", mark), func() bool { return rec.Count() >= mark })
		plugins.Store(&[]config.Plugin{versionedFaulty(t, version)})
		if r := h.reload(t)["faulty"]; r.Result != host.ReloadUpgraded || r.Version != version {
			t.Fatalf("reload to %s under load: %+v", version, r)
		}
	}
	mark := rec.Count() + 20
	testenv.Eventually(t, 30*time.Second, fmt.Sprintf("%d deliveries", mark), func() bool { return rec.Count() >= mark })
	close(stop)
	n := <-published
	got, err := rec.WaitFor(testenv.Context(t), n)
	if err != nil {
		t.Fatalf("deliveries lost across the reloads: %d of %d arrived", rec.Count(), n)
	}
	seen, versions := map[float64]int{}, map[string]int{}
	for _, d := range got {
		var body struct {
			Version string
			Data    struct{ I float64 }
		}
		if err := json.Unmarshal(d.Body, &body); err != nil {
			t.Fatalf("body %s: %v", d.Body, err)
		}
		seen[body.Data.I]++
		versions[body.Version]++
	}
	if len(seen) != n || rec.Count() != n {
		t.Fatalf("%d distinct events in %d deliveries, want %d once each", len(seen), rec.Count(), n)
	}
	if versions["1"] == 0 || versions["2"] == 0 || versions["3"] == 0 {
		t.Fatalf("deliveries by version %v: the reloads did not happen under load", versions)
	}
	testenv.Eventually(t, 10*time.Second, "every delivery logged as succeeded at its first attempt", func() bool {
		ds := h.allDeliveries(admin, w.ID)
		ok := 0
		for _, d := range ds {
			if d.Status == hookgate.DeliverySucceeded && d.Attempts == 1 {
				ok++
			} else if d.Attempts > 1 || d.ErrorClass != "" {
				t.Fatalf("delivery %s: %s after %d attempts (%s %s); a reload cost an attempt", d.ID, d.Status, d.Attempts, d.ErrorClass, d.Error)
			}
		}
		return ok == n
	})
	var list struct {
		Data        []hookgate.PluginStatus
		LastReload  *hookgate.PluginReloadReport `json:"last_reload"`
		ReloadError string                       `json:"reload_error"`
	}
	h.do("GET", "/v1/plugins", admin, nil).must(t, 200).json(t, &list)
	if list.LastReload == nil || list.LastReload.Trigger != "api" || list.ReloadError != "" || list.Data[0].Version != "3" {
		t.Fatalf("GET /v1/plugins after the reloads: %+v", list)
	}
}

// A new version that does not start keeps the old one serving, and GET
// /v1/plugins says so; a configuration that does not validate changes
// nothing and answers 409 invalid_config.
func TestPluginReloadFailuresKeepTheRunningPlugins(t *testing.T) {
	var plugins atomic.Pointer[[]config.Plugin]
	plugins.Store(&[]config.Plugin{versionedFaulty(t, "1")})
	h := withReloadablePlugins(t, &plugins)
	admin := h.token("acme", "admin")

	bad := versionedFaulty(t, "2")
	bad.SHA256 = strings.Repeat("ab", 32)
	plugins.Store(&[]config.Plugin{bad})
	r := h.reload(t)["faulty"]
	if r.Result != host.ReloadKeptOld || r.Version != "1" || !strings.Contains(r.Reason, "checksum") {
		t.Fatalf("a new version with a wrong checksum: %+v", r)
	}
	var list struct {
		Data        []hookgate.PluginStatus
		ReloadError string `json:"reload_error"`
	}
	h.do("GET", "/v1/plugins", admin, nil).must(t, 200).json(t, &list)
	if !list.Data[0].Healthy || list.Data[0].Version != "1" || !strings.Contains(list.ReloadError, "faulty (kept_old)") {
		t.Fatalf("GET /v1/plugins after a failed upgrade: %+v", list)
	}

	h.app.ConfigSource = func() (config.Config, error) {
		return config.Config{}, errors.New("parse config.yaml: line 3: did not find expected key")
	}
	res := h.do("POST", "/v1/plugins/reload", h.token("ops", hookgate.RoleSystem), nil).must(t, 409)
	if code := res.errorCode(t); code != hookgate.EINVALIDCONFIG {
		t.Fatalf("code %q, want invalid_config: %s", code, res.Body)
	}
	h.do("GET", "/v1/plugins", admin, nil).must(t, 200).json(t, &list)
	if !list.Data[0].Healthy || !strings.Contains(list.ReloadError, "line 3") {
		t.Fatalf("GET /v1/plugins after an unreadable configuration: %+v", list)
	}
}

// Removing a plugin that webhooks use is refused, naming them; once they
// no longer use it, the removal goes through.
func TestPluginRemovalRefusedWhileWebhooksUseIt(t *testing.T) {
	cloudcx := config.Plugin{Name: "cloudcx", Path: cloudcxPlugin(t), Timeout: hookgate.Duration(5 * time.Second)}
	var plugins atomic.Pointer[[]config.Plugin]
	plugins.Store(&[]config.Plugin{versionedFaulty(t, "1"), cloudcx})
	h := withReloadablePlugins(t, &plugins)
	admin := h.token("acme", "admin")
	w := h.createWebhook(admin, map[string]any{"name": "Orders", "format": "faulty", "endpoints": endpoints("https://example.com/h"), "events": []string{"contact.*"}})
	var in struct{ ID string }
	h.do("POST", "/v1/incoming-webhooks", admin, map[string]any{"name": "CloudCX contacts", "scopes": []string{"crm"}, "transform": "cloudcx"}).must(t, 201).json(t, &in)

	plugins.Store(&[]config.Plugin{})
	rs := h.reload(t)
	if r := rs["faulty"]; r.Result != host.ReloadKeptOld || !strings.Contains(r.Reason, w.ID) || !strings.Contains(r.Reason, "Orders") {
		t.Fatalf("removing a format in use: %+v", r)
	}
	if r := rs["cloudcx"]; r.Result != host.ReloadKeptOld || !strings.Contains(r.Reason, in.ID) {
		t.Fatalf("removing an incoming transform in use: %+v", r)
	}

	h.do("DELETE", "/v1/webhooks/"+w.ID, admin, nil).must(t, 204)
	h.do("DELETE", "/v1/incoming-webhooks/"+in.ID, admin, nil).must(t, 204)
	rs = h.reload(t)
	if rs["faulty"].Result != host.ReloadRemoved || rs["cloudcx"].Result != host.ReloadRemoved {
		t.Fatalf("removing plugins no longer used: %+v", rs)
	}
	var list struct{ Data []hookgate.PluginStatus }
	h.do("GET", "/v1/plugins", admin, nil).must(t, 200).json(t, &list)
	if len(list.Data) != 0 {
		t.Fatalf("plugins listed after their removal: %+v", list.Data)
	}
}

// Only the system role reloads: a reload changes every tenant's webhooks.
func TestPluginReloadNeedsTheSystemRole(t *testing.T) {
	var plugins atomic.Pointer[[]config.Plugin]
	plugins.Store(&[]config.Plugin{})
	h := withReloadablePlugins(t, &plugins)
	for _, tok := range []string{h.token("acme", "admin"), h.token("acme", "publisher"), h.token("acme", "admin", "publisher")} {
		h.do("POST", "/v1/plugins/reload", tok, nil).must(t, 403)
	}
	h.do("POST", "/v1/plugins/reload", "", nil).must(t, 401)
	if h.app.LastReload() != nil {
		t.Fatal("a refused call reloaded the plugins")
	}
	h.do("POST", "/v1/plugins/reload", h.token("ops", hookgate.RoleSystem), nil).must(t, 200)
}

// allDeliveries pages through a webhook's delivery log.
func (h *harness) allDeliveries(token, webhookID string) []hookgate.Delivery {
	h.t.Helper()
	var all []hookgate.Delivery
	cursor := ""
	for {
		var page struct {
			Data       []hookgate.Delivery
			NextCursor string `json:"next_cursor"`
		}
		h.do("GET", "/v1/webhooks/"+webhookID+"/deliveries?limit=100&cursor="+cursor, token, nil).must(h.t, 200).json(h.t, &page)
		all = append(all, page.Data...)
		if page.NextCursor == "" || len(page.Data) == 0 {
			return all
		}
		cursor = page.NextCursor
	}
}
