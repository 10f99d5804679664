package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
)

// An incoming webhook may name as its transform only a plugin that
// translates incoming requests: one without an Incoming method is refused
// at create and at update, with the reason in fields.transform, instead of
// answering 502 at every call.
func TestIncomingTransformRefusesAPluginWithoutIncomingSupport(t *testing.T) {
	faulty := versionedFaulty(t, "1")
	e := startIncoming(t, func(c *config.Config) {
		c.Plugins = []config.Plugin{faulty, {Name: "cloudcx", Path: cloudcxPlugin(t), Timeout: hookgate.Duration(5 * time.Second)}}
		c.PluginsRequired = true
	})
	admin := e.token("acme", "admin")
	check := func(r response, want string) {
		t.Helper()
		r.must(t, 400)
		var body struct {
			Error struct {
				Code    string
				Message string
				Fields  map[string]string
			}
		}
		r.json(t, &body)
		if body.Error.Code != hookgate.EINVALID || !strings.Contains(body.Error.Fields["transform"], want) || body.Error.Message == "" {
			t.Fatalf("answer %s, want validation_failed with fields.transform saying %q", r.Body, want)
		}
	}
	check(e.do("POST", "/v1/incoming-webhooks", admin, map[string]any{"name": "x", "scopes": []string{"crm"}, "transform": "faulty"}),
		"plugin faulty does not translate incoming requests")
	check(e.do("POST", "/v1/incoming-webhooks", admin, map[string]any{"name": "x", "scopes": []string{"crm"}, "transform": "nope"}),
		`no plugin named "nope" is configured`)

	var w struct{ ID string }
	e.do("POST", "/v1/incoming-webhooks", admin, map[string]any{"name": "CloudCX", "scopes": []string{"crm"}, "transform": "cloudcx"}).must(t, 201).json(t, &w)
	check(e.do("PATCH", "/v1/incoming-webhooks/"+w.ID, admin, map[string]any{"transform": "faulty"}),
		"plugin faulty does not translate incoming requests")
	var got struct{ Transform string }
	e.do("GET", "/v1/incoming-webhooks/"+w.ID, admin, nil).must(t, 200).json(t, &got)
	if got.Transform != "cloudcx" {
		t.Fatalf("the refused update changed the transform to %q", got.Transform)
	}
}
