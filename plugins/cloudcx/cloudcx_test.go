package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/testenv"
	"github.com/hookgate/hookgate/plugins/host/hosttest"
	"github.com/hookgate/hookgate/plugins/sdk/plugintest"
	pipeline "github.com/hookgate/hookgate/render"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func readEvent(t *testing.T, file string) *hookgate.Event {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	var ev hookgate.Event
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return &ev
}

// TestCloudCXPayloadsEqualTheSeedExamples runs hookgate's canonical contact
// events through the real plugin binary and the host, and compares the
// bodies with CloudCX's documented examples (the golden files).
func TestCloudCXPayloadsEqualTheSeedExamples(t *testing.T) {
	p := hosttest.Pipeline(t, "cloudcx", ".", nil)
	w := &hookgate.Webhook{ID: "wh_1", Format: "cloudcx"}
	for _, tc := range []struct{ event, golden string }{
		{"contact_created.event.json", "contact_created.golden.json"},
		{"contact_updated.event.json", "contact_updated.golden.json"},
		{"contact_deleted.event.json", "contact_deleted.golden.json"},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			pl, err := p.Render(context.Background(), readEvent(t, tc.event), w)
			if err != nil {
				t.Fatal(err)
			}
			if pl.Skip || pl.ContentType != "application/json" {
				t.Fatalf("skip=%v content type %q", pl.Skip, pl.ContentType)
			}
			plugintest.Golden(t, filepath.Join("testdata", tc.golden), pl.Body, *update)
		})
	}
	t.Run("non-contact events are skipped with a reason", func(t *testing.T) {
		pl, err := p.Render(context.Background(), &hookgate.Event{ID: "e", Type: "deal.created", Data: json.RawMessage(`{}`)}, w)
		if err != nil {
			t.Fatal(err)
		}
		if !pl.Skip || !strings.Contains(pl.SkipReason, "deal.created") {
			t.Fatalf("want a skip naming the type, got %+v", pl)
		}
	})
	t.Run("bad data is a plugin error", func(t *testing.T) {
		_, err := p.Render(context.Background(), &hookgate.Event{ID: "e", Type: "contact.created", Data: json.RawMessage(`[1]`)}, w)
		if err == nil || !isPluginErr(err) || !strings.Contains(hookgate.ErrorMessage(err), "not a JSON object") {
			t.Fatalf("want a plugin error about the data, got %v", err)
		}
	})
	t.Run("info", func(t *testing.T) {
		if !p.HasFormat("cloudcx") || p.NeedsConfirmation("cloudcx") {
			t.Fatal("cloudcx format not registered as it should be")
		}
	})
}

// TestCloudCXRendersEveryDeclaredType is the check every plugin's golden
// test makes (plugintest.Goldens): each event type cloudcx declares has an
// example in testdata and renders to its golden body, CloudCX's documented
// example.
func TestCloudCXRendersEveryDeclaredType(t *testing.T) {
	testenv.SkipShort(t, "builds and runs the plugin")
	p := plugintest.Run(t, ".", nil)
	if len(p.Info().EventTypes) != 3 {
		t.Fatalf("cloudcx declares %v", p.Info().EventTypes)
	}
	p.Goldens(t, "cloudcx", "testdata", *update)
}

// TestCloudCXIncomingBecomesContactsAPIRequests sends CloudCX's messages to
// the plugin's incoming direction.
func TestCloudCXIncomingBecomesContactsAPIRequests(t *testing.T) {
	p := hosttest.Pipeline(t, "cloudcx", ".", map[string]string{"contacts_path": "/crm/v1/entities/contacts"})
	golden := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name, body   string
		method, path string
		reject       string
		count        int
	}{
		{name: "created", body: string(golden("contact_created.golden.json")), method: "POST", path: "/crm/v1/entities/contacts", count: 1},
		{name: "updated", body: string(golden("contact_updated.golden.json")), method: "PATCH", path: "/crm/v1/entities/contacts/392a0465-fc1b-4820-abc7-e96cb5d98774", count: 1},
		{name: "deleted", body: string(golden("contact_deleted.golden.json")), method: "DELETE", path: "/crm/v1/entities/contacts/392a0465-fc1b-4820-abc7-e96cb5d98774", count: 1},
		{name: "two contacts", body: `{"event":"ContactCreated","contacts":[{"id":"a","firstName":"A"},{"id":"b","firstName":"B"}]}`, method: "POST", path: "/crm/v1/entities/contacts", count: 2},
		{name: "unknown event", body: `{"event":"TicketCreated"}`, reject: "unknown CloudCX event"},
		{name: "not json", body: `nope`, reject: "not a CloudCX message"},
		{name: "no contacts", body: `{"event":"ContactCreated","contacts":[]}`, reject: "no contacts"},
		{name: "update without id", body: `{"event":"ContactUpdated","contacts":[{"firstName":"A"}]}`, reject: "no id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := p.TransformIncoming(context.Background(), "cloudcx", pipeline.IncomingRequest{
				Method: "POST", Path: "/", Headers: pipeline.Headers{"Content-Type": "application/json"}, Body: []byte(tc.body),
			})
			if err != nil {
				t.Fatal(err)
			}
			if tc.reject != "" {
				if !res.Reject || !strings.Contains(res.Reason, tc.reject) {
					t.Fatalf("want rejection %q, got %+v", tc.reject, res)
				}
				return
			}
			if res.Reject || len(res.Requests) != tc.count {
				t.Fatalf("want %d requests, got %+v", tc.count, res)
			}
			r := res.Requests[0]
			if r.Method != tc.method || r.Path != tc.path {
				t.Fatalf("got %s %s, want %s %s", r.Method, r.Path, tc.method, tc.path)
			}
		})
	}
	t.Run("created body has canonical fields", func(t *testing.T) {
		res, err := p.TransformIncoming(context.Background(), "cloudcx", pipeline.IncomingRequest{Method: "POST", Path: "/", Body: golden("contact_created.golden.json")})
		if err != nil {
			t.Fatal(err)
		}
		plugintest.JSONEqual(t, []byte(`{"id":"392a0465-fc1b-4820-abc7-e96cb5d98774","first_name":"Allen","last_name":"Ji",
			"avatar_url":"https://minio.puteyun.online:8892/cconline/avatar/987a1a5f-6397-4489-9130-b343d8ee5219.jpg",
			"email":"allen@puteyun.com","phone":"12345678","external_id":"987654321","lead_stage":"Contact","priority":"Medium",
			"subscribe_email":true,"subscribe_sms":true,"subscribe_whatsapp":true,"created_at":"2024-11-06T07:23:50Z","custom_fields":[]}`),
			res.Requests[0].Body)
	})
	t.Run("GET is refused", func(t *testing.T) {
		res, err := p.TransformIncoming(context.Background(), "cloudcx", pipeline.IncomingRequest{Method: "GET", Path: "/"})
		if err != nil || !res.Reject {
			t.Fatalf("want a rejection, got %+v, %v", res, err)
		}
	})
}

func isPluginErr(err error) bool { return err != nil && errors.Is(err, pipeline.ErrPlugin) }

// TestCloudCXIncomingGoldens is the documented way to test an incoming
// transform: each testdata/incoming/NAME.request.json is sent to the
// plugin's incoming direction and what it answers (the CRM requests, or
// the rejection) is compared with NAME.golden.json (-update rewrites them).
func TestCloudCXIncomingGoldens(t *testing.T) {
	testenv.SkipShort(t, "builds and runs the plugin")
	p := plugintest.Run(t, ".", map[string]string{"contacts_path": "/crm/v1/entities/contacts"})
	p.IncomingGoldens(t, "testdata/incoming", *update)
}
