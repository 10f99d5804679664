package main

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/plugins/host/hosttest"
	"github.com/hookgate/hookgate/plugins/sdk/plugintest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestUCRMFormatIsStable runs canonical contact and calendar events through
// the real plugin binary and compares with the golden files that define
// the uCRM format (docs/formats.md).
func TestUCRMFormatIsStable(t *testing.T) {
	p := hosttest.Pipeline(t, "ucrm", ".", nil)
	w := &hookgate.Webhook{ID: "wh_1", Format: "ucrm"}
	for _, name := range []string{"contact_created", "calendar_event_updated", "contact_deleted"} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", name+".event.json"))
			if err != nil {
				t.Fatal(err)
			}
			var ev hookgate.Event
			if err := json.Unmarshal(b, &ev); err != nil {
				t.Fatal(err)
			}
			pl, err := p.Render(context.Background(), &ev, w)
			if err != nil {
				t.Fatal(err)
			}
			plugintest.Golden(t, filepath.Join("testdata", name+".golden.json"), pl.Body, *update)
		})
	}
	pl, err := p.Render(context.Background(), &hookgate.Event{ID: "e", Type: "deal.created", Data: json.RawMessage(`{}`)}, w)
	if err != nil || !pl.Skip || !strings.Contains(pl.SkipReason, "Contacts and Calendar") {
		t.Fatalf("deal events must be skipped, got %+v, %v", pl, err)
	}
}
