package main

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/plugins/host/hosttest"
	"github.com/hookgate/hookgate/plugins/sdk"
	"github.com/hookgate/hookgate/plugins/sdk/plugintest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestUspacyCommentEqualsTheSeedExample runs the canonical comment event
// through the real plugin binary and compares it with Uspacy's example.
func TestUspacyCommentEqualsTheSeedExample(t *testing.T) {
	p := hosttest.Pipeline(t, "uspacy", ".", map[string]string{"env": "prod"})
	b, err := os.ReadFile(filepath.Join("testdata", "comment_created.event.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev hookgate.Event
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	w := &hookgate.Webhook{ID: "wh_1", Format: "uspacy", Settings: map[string]string{"domain": "my.uspacy.ua"}}
	pl, err := p.Render(context.Background(), &ev, w)
	if err != nil {
		t.Fatal(err)
	}
	plugintest.Golden(t, filepath.Join("testdata", "comment_created.golden.json"), pl.Body, *update)
	if !p.NeedsConfirmation("uspacy") {
		t.Fatal("uspacy webhooks must need the confirmation handshake")
	}
}

// TestUspacyEventObjectPairs checks the service and action of every pair
// and the skip of objects Uspacy does not have.
func TestUspacyEventObjectPairs(t *testing.T) {
	for _, tc := range []struct {
		typ, service, action, skip string
	}{
		{typ: "lead.created", service: "crm", action: "create"},
		{typ: "deal.stage_changed", service: "crm", action: "stage_change"},
		{typ: "contact.updated", service: "crm", action: "update"},
		{typ: "company.deleted", service: "crm", action: "delete"},
		{typ: "activity.created", service: "activities", action: "create"},
		{typ: "task.stage_changed", service: "tasks", action: "stage_change"},
		{typ: "post.updated", service: "newsfeed", action: "update"},
		{typ: "comment.deleted", service: "comments", action: "delete"},
		{typ: "extension.created", skip: "no extension object"},
		{typ: "deal.won", skip: "no won event"},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			res, err := render(event(tc.typ), map[string]string{"domain": "d"})
			if err != nil {
				t.Fatal(err)
			}
			if tc.skip != "" {
				if !res.Skip || !strings.Contains(res.SkipReason, tc.skip) {
					t.Fatalf("want skip %q, got %+v", tc.skip, res)
				}
				return
			}
			var msg struct {
				Type string
				Data struct{ Service, Action, Domain string }
			}
			if err := json.Unmarshal(res.Body, &msg); err != nil {
				t.Fatal(err)
			}
			obj, _, _ := strings.Cut(tc.typ, ".")
			if msg.Type != obj || msg.Data.Service != tc.service || msg.Data.Action != tc.action || msg.Data.Domain != "d" {
				t.Fatalf("got %+v", msg)
			}
		})
	}
}

func event(typ string) sdk.Event {
	return sdk.Event{ID: "e", Type: typ, OccurredAt: time.Unix(1, 0), Data: json.RawMessage(`{"id":1,"owner":7}`)}
}
