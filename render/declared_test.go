package render_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/plugins/host/hosttest"
	"github.com/hookgate/hookgate/render"
)

// TestBuiltinPluginsDeclareExactlyWhatTheyRender renders the catalogue's
// example of every event type in each built-in format: a type the plugin
// declares (Info.EventTypes) must render, and a type it does not declare
// must be skipped. Webhooks are accepted for the declared types only, so a
// declaration that lies either refuses what works or accepts what is
// dropped.
func TestBuiltinPluginsDeclareExactlyWhatTheyRender(t *testing.T) {
	cat, err := hookgate.LoadCatalogue(nil)
	if err != nil {
		t.Fatal(err)
	}
	var plugins []config.Plugin
	for _, name := range []string{"cloudcx", "ucrm", "uspacy"} {
		plugins = append(plugins, config.Plugin{Name: name, Path: hosttest.Build(t, "github.com/hookgate/hookgate/plugins/"+name)})
	}
	p := render.New(hosttest.Start(t, plugins))
	for _, format := range []string{"cloudcx", "ucrm", "uspacy"} {
		declared := p.EventTypes(format)
		if len(declared) == 0 {
			t.Errorf("%s declares no event types", format)
			continue
		}
		w := &hookgate.Webhook{ID: "wh_1", Tenant: "acme", Format: format}
		for _, et := range cat.Types() {
			ev := &hookgate.Event{ID: "evt_1", Type: et.Name, Tenant: "acme", OccurredAt: time.Unix(1730877830, 0), Data: []byte(et.Example)}
			pl, err := p.Render(context.Background(), ev, w)
			isDeclared := slices.Contains(declared, et.Name)
			switch {
			case err != nil && isDeclared:
				t.Errorf("%s declares %s but fails on its example: %v", format, et.Name, err)
			case err == nil && isDeclared && pl.Skip:
				t.Errorf("%s declares %s but skips it: %s", format, et.Name, pl.SkipReason)
			case err == nil && !isDeclared && !pl.Skip:
				t.Errorf("%s renders %s without declaring it", format, et.Name)
			}
		}
		for _, d := range declared {
			if _, ok := cat.Lookup(d); !ok {
				t.Errorf("%s declares %s, which is not in the catalogue", format, d)
			}
		}
	}
	if p.EventTypes("standard") != nil {
		t.Error("standard renders every type")
	}
}
