package app_test

import (
	"encoding/json"
	"testing"

	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/plugins/host/hosttest"
)

// cloudcxPlugin is the built-in cloudcx plugin.
func cloudcxPlugin(t *testing.T) string { return hosttest.Builtin(t, "cloudcx") }

func TestIncomingCloudCXTransformCallsTheContactsAPI(t *testing.T) {
	bin := cloudcxPlugin(t)
	e := startIncoming(t, func(c *config.Config) {
		c.Plugins = []config.Plugin{{Name: "cloudcx", Path: bin, Settings: map[string]string{"contacts_path": "/crm/v1/entities/contacts"}}}
		c.PluginsRequired = true
	})
	admin := e.token("acme", "admin")
	w := e.create(admin, map[string]any{"name": "CloudCX contacts", "scopes": []string{"crm"}, "transform": "cloudcx"})
	in := e.path(w)

	created := `{"event":"ContactCreated","contacts":[
	  {"id":"392a0465-fc1b-4820-abc7-e96cb5d98774","firstName":"Allen","lastName":"Ji","email":"allen@puteyun.com","phoneNumber":"12345678","owner":null,"createdTime":"1730877830000"},
	  {"id":"c2","firstName":"Bea","lastName":"Lu","email":"bea@example.com"}]}`
	r := e.do("POST", in, "caller-secret", created).must(t, 200)
	var summary struct {
		Results []struct {
			Method, Path string
			Status       int
		}
	}
	r.json(t, &summary)
	if len(summary.Results) != 2 || summary.Results[0].Status != 201 || summary.Results[1].Method != "POST" {
		t.Fatalf("summary %s", r.Body)
	}
	e.do("POST", in+"/anything", "", `{"event":"ContactUpdated","contacts":[{"id":"392a0465-fc1b-4820-abc7-e96cb5d98774","firstName":"Allen","companyName":"Cloudfon"}]}`).must(t, 201)
	e.do("POST", in, "", `{"event":"ContactDeleted","ids":["392a0465-fc1b-4820-abc7-e96cb5d98774"]}`).must(t, 201)

	calls := e.crm.Calls()
	if len(calls) != 4 {
		t.Fatalf("crm received %d calls, want 4", len(calls))
	}
	want := []struct{ method, path string }{
		{"POST", "/crm/v1/entities/contacts"},
		{"POST", "/crm/v1/entities/contacts"},
		{"PATCH", "/crm/v1/entities/contacts/392a0465-fc1b-4820-abc7-e96cb5d98774"},
		{"DELETE", "/crm/v1/entities/contacts/392a0465-fc1b-4820-abc7-e96cb5d98774"},
	}
	for i, c := range calls {
		if c.Method != want[i].method || c.RawPath != want[i].path {
			t.Fatalf("call %d: %s %s, want %s %s", i, c.Method, c.RawPath, want[i].method, want[i].path)
		}
		if c.VerifyErr != nil || c.Claims.Subject != "user-acme" || c.Claims.IncomingWebhookID != w.ID {
			t.Fatalf("call %d not made as the owner: %v %+v", i, c.VerifyErr, c.Claims)
		}
	}
	var contact map[string]any
	if err := json.Unmarshal([]byte(calls[0].Body), &contact); err != nil {
		t.Fatalf("created contact body %q: %v", calls[0].Body, err)
	}
	if contact["email"] != "allen@puteyun.com" || contact["first_name"] != "Allen" {
		t.Fatalf("created contact %v", contact)
	}
	if _, ok := contact["owner"]; ok {
		t.Fatal("null fields were sent")
	}

	// Not a CloudCX message: the plugin rejects it, nothing is called.
	r = e.do("POST", in, "", `{"event":"Unknown"}`).must(t, 400)
	if r.errorCode(t) != "validation_failed" {
		t.Fatalf("rejection: %s", r.Body)
	}
	// The rewritten request is re-checked against the webhook's scopes.
	w2 := e.create(admin, map[string]any{"name": "tasks only", "scopes": []string{"tasks"}, "transform": "cloudcx"})
	mustDenied(t, "transform out of scope", e.do("POST", e.path(w2), "", created))
	if n := len(e.crm.Calls()) + len(e.tasks.Calls()); n != 4 {
		t.Fatalf("rejected or denied transforms reached upstreams (%d calls)", n)
	}
}
