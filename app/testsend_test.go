package app_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/testenv"
	"github.com/hookgate/hookgate/plugins/host/hosttest"
)

// withBuiltinPlugins runs hookgate with the real cloudcx, ucrm and uspacy
// plugin processes.
func withBuiltinPlugins(t *testing.T, mutate func(*config.Config)) *harness {
	t.Helper()
	var ps []config.Plugin
	for _, name := range []string{"cloudcx", "ucrm", "uspacy"} {
		ps = append(ps, config.Plugin{Name: name, Path: hosttest.Build(t, "github.com/hookgate/hookgate/plugins/"+name),
			Timeout: hookgate.Duration(2 * time.Second)})
	}
	return start(t, func(c *config.Config) {
		c.Plugins = ps
		c.PluginsRequired = true
		if mutate != nil {
			mutate(c)
		}
	})
}

type testAnswer struct {
	Data []struct {
		OK         bool   `json:"ok"`
		Message    string `json:"message"`
		Test       bool   `json:"test"`
		EventType  string `json:"event_type"`
		DeliveryID string `json:"delivery_id"`
	} `json:"data"`
}

// testRequests are the requests the receiver got marked webhook-test: true.
func testRequests(rec *receiver.Recorder) []receiver.Delivery {
	var out []receiver.Delivery
	for _, d := range rec.Deliveries() {
		if d.Header.Get("Webhook-Test") == "true" {
			out = append(out, d)
		}
	}
	return out
}

// "Test endpoints" works in every format: the test is the catalogue's example
// of the first subscribed event type the format renders, rendered by the
// webhook's plugin, signed, marked webhook-test: true, and logged as a test
// with its event type. standard keeps sending webhook.test.
func TestTestSendReachesTheEndpointInTheWebhooksFormat(t *testing.T) {
	h := withBuiltinPlugins(t, nil)
	admin := h.token("acme", "admin")
	for _, tc := range []struct {
		format, wantType string
		events           []string
		check            func(t *testing.T, body map[string]any)
	}{
		{format: "ucrm", events: []string{"calendar_event.updated", "contact.*"}, wantType: "calendar_event.updated",
			check: func(t *testing.T, b map[string]any) {
				rec, _ := b["record"].(map[string]any)
				if b["category"] != "Calendar" || b["action"] != "Update" || b["event"] != "calendar_event.updated" || rec["title"] != "Demo call" {
					t.Errorf("ucrm body %v", b)
				}
			}},
		{format: "cloudcx", events: []string{"contact.*"}, wantType: "contact.created",
			check: func(t *testing.T, b map[string]any) {
				cs, _ := b["contacts"].([]any)
				if b["event"] != "ContactCreated" || len(cs) != 1 || cs[0].(map[string]any)["firstName"] != "Allen" {
					t.Errorf("cloudcx body %v", b)
				}
			}},
		{format: "uspacy", events: []string{"comment.*"}, wantType: "comment.created",
			check: func(t *testing.T, b map[string]any) {
				data, _ := b["data"].(map[string]any)
				entity, _ := data["entity"].(map[string]any)
				if b["type"] != "comment" || data["action"] != "create" || data["service"] != "comments" || entity["entity_id"] != float64(786) {
					t.Errorf("uspacy body %v", b)
				}
			}},
		{format: "standard", events: []string{"deal.won"}, wantType: "webhook.test",
			check: func(t *testing.T, b map[string]any) {
				if b["event"] != "webhook.test" {
					t.Errorf("standard body %v", b)
				}
			}},
	} {
		t.Run(tc.format, func(t *testing.T) {
			rec := receiver.NewRecorder()
			srv := httptest.NewServer(rec)
			defer srv.Close()
			w := h.createWebhook(admin, map[string]any{"name": "test " + tc.format, "format": tc.format,
				"endpoints": endpoints(srv.URL), "events": tc.events})
			var ans testAnswer
			h.do("POST", "/v1/webhooks/"+w.ID+"/test", admin, nil).must(t, 200).json(t, &ans)
			if len(ans.Data) != 1 || !ans.Data[0].OK || !ans.Data[0].Test || ans.Data[0].EventType != tc.wantType {
				t.Fatalf("test result %+v", ans.Data)
			}
			got := testRequests(rec)
			if len(got) != 1 {
				t.Fatalf("receiver got %d test requests of %d", len(got), rec.Count())
			}
			if got[0].Event != tc.wantType {
				t.Errorf("X-Webhook-Event %q, want %s", got[0].Event, tc.wantType)
			}
			verifyIndependently(t, w.Secret, got[0])
			var body map[string]any
			if err := json.Unmarshal(got[0].Body, &body); err != nil {
				t.Fatalf("body %s: %v", got[0].Body, err)
			}
			tc.check(t, body)
			var d deliveryView
			h.do("GET", "/v1/deliveries/"+ans.Data[0].DeliveryID, admin, nil).must(t, 200).json(t, &d)
			if !d.Test || d.EventType != tc.wantType || d.Status != hookgate.DeliverySucceeded ||
				len(d.AttemptLog) != 1 || d.AttemptLog[0].RequestHeaders["webhook-test"] != "true" {
				t.Errorf("delivery log %+v", d)
			}
		})
	}
}

// The Test button of a form not saved yet (POST /v1/webhooks/test) takes
// the form's format and events: it sends what the saved webhook would, and
// answers 409 no_test_event when the format sends none of the events.
func TestTestBeforeSaveUsesTheFormsFormatAndEvents(t *testing.T) {
	h := withBuiltinPlugins(t, nil)
	admin := h.token("acme", "admin")
	rec := receiver.NewRecorder()
	srv := httptest.NewServer(rec)
	defer srv.Close()
	var ans testAnswer
	h.do("POST", "/v1/webhooks/test", admin, map[string]any{"urls": []string{srv.URL}, "format": "ucrm",
		"events": []string{"deal.won", "contact.updated"}}).must(t, 200).json(t, &ans)
	if len(ans.Data) != 1 || !ans.Data[0].OK || ans.Data[0].EventType != "contact.updated" || !ans.Data[0].Test {
		t.Fatalf("test result %+v", ans.Data)
	}
	got := testRequests(rec)
	if len(got) != 1 || !strings.Contains(string(got[0].Body), `"action":"Update"`) || !strings.Contains(string(got[0].Body), `"category":"Contacts"`) {
		t.Fatalf("receiver got %d test requests: %v", len(got), got)
	}

	var e errorView
	h.do("POST", "/v1/webhooks/test", admin, map[string]any{"urls": []string{srv.URL}, "format": "cloudcx",
		"events": []string{"deal.won"}}).must(t, 409).json(t, &e)
	if e.Error.Code != "no_test_event" || !strings.Contains(e.Error.Message, "deal.won") {
		t.Fatalf("answer %+v", e.Error)
	}
	if n := len(testRequests(rec)); n != 1 {
		t.Fatalf("a refused test sent something: %d test requests", n)
	}
}

// A format accepts only the event types its plugin declares: create and
// update refuse the others by name (400 validation_failed, field events);
// GET /v1/plugins lists each plugin's event_types.
func TestFormatRefusesEventTypesItCannotSend(t *testing.T) {
	h := withBuiltinPlugins(t, nil)
	admin := h.token("acme", "admin")
	url := "https://hooks.example.com/in"
	for _, tc := range []struct {
		format string
		events []string
		bad    string
	}{
		{"uspacy", []string{"deal.created", "invoice.paid"}, "invoice.paid"},
		{"cloudcx", []string{"contact.created", "deal.won"}, "deal.won"},
		{"ucrm", []string{"task.*"}, "task.*"},
		{"uspacy", []string{"task.completed"}, "task.completed"},
	} {
		var e errorView
		h.do("POST", "/v1/webhooks", admin, map[string]any{"name": "x", "format": tc.format, "endpoints": endpoints(url),
			"events": tc.events}).must(t, 400).json(t, &e)
		if e.Error.Code != "validation_failed" || !strings.Contains(e.Error.Fields["events"], tc.bad) {
			t.Errorf("%s %v: %+v", tc.format, tc.events, e.Error)
		}
	}
	w := h.createWebhook(admin, map[string]any{"name": "cx", "format": "cloudcx", "endpoints": endpoints(url), "events": []string{"contact.*"}})
	var e errorView
	h.do("PATCH", "/v1/webhooks/"+w.ID, admin, map[string]any{"events": []string{"contact.*", "deal.won"}}).must(t, 400).json(t, &e)
	if !strings.Contains(e.Error.Fields["events"], "deal.won") {
		t.Fatalf("update: %+v", e.Error)
	}
	h.createWebhook(admin, map[string]any{"name": "everything", "format": "uspacy", "endpoints": endpoints(url), "events": []string{"*"}})
	h.createWebhook(admin, map[string]any{"name": "std", "endpoints": endpoints(url), "events": []string{"invoice.paid"}})

	var res struct{ Data []hookgate.PluginStatus }
	h.do("GET", "/v1/plugins", admin, nil).must(t, 200).json(t, &res)
	want := map[string]string{"cloudcx": "contact.deleted", "ucrm": "calendar_event.created", "uspacy": "comment.created"}
	for _, p := range res.Data {
		found := false
		for _, et := range p.EventTypes {
			found = found || et == want[p.Name]
		}
		if !found {
			t.Errorf("plugin %s lists event_types %v", p.Name, p.EventTypes)
		}
	}
}

// plugins[].allow_http opens http:// endpoints for one format (CloudCX)
// while every other format stays https-only; deliveries and tests reach the
// http endpoint.
func TestPluginAllowsHTTPForItsFormatOnly(t *testing.T) {
	h := withBuiltinPlugins(t, func(c *config.Config) {
		c.Delivery.AllowHTTP = false
		for i := range c.Plugins {
			c.Plugins[i].AllowHTTP = c.Plugins[i].Name == "cloudcx"
		}
	})
	admin := h.token("acme", "admin")
	rec := receiver.NewRecorder()
	srv := httptest.NewServer(rec)
	defer srv.Close()
	for _, format := range []string{"ucrm", "standard"} {
		var e errorView
		h.do("POST", "/v1/webhooks", admin, map[string]any{"name": "x", "format": format, "endpoints": endpoints(srv.URL),
			"events": []string{"contact.created"}}).must(t, 400).json(t, &e)
		if e.Error.Fields["endpoints[0].url"] != hookgate.MsgHTTPSRequired {
			t.Errorf("%s over http: %+v", format, e.Error)
		}
		h.do("POST", "/v1/webhooks/test", admin, map[string]any{"urls": []string{srv.URL}, "format": format}).must(t, 400)
	}
	h.createWebhook(admin, map[string]any{"name": "cx", "format": "cloudcx", "endpoints": endpoints(srv.URL), "events": []string{"contact.created"}})
	h.do("POST", "/v1/events", h.token("acme", "publisher"), contactCreated(t)).must(t, 202)
	got, err := rec.WaitFor(testenv.Context(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got[0].Body), `"event":"ContactCreated"`) {
		t.Fatalf("body %s", got[0].Body)
	}
	var ans testAnswer
	h.do("POST", "/v1/webhooks/test", admin, map[string]any{"urls": []string{srv.URL}, "format": "cloudcx"}).must(t, 200).json(t, &ans)
	if len(ans.Data) != 1 || !ans.Data[0].OK {
		t.Fatalf("cloudcx test over http: %+v", ans.Data)
	}
}
