// Command ucrm is hookgate's built-in uCRM plugin. uCRM publishes no
// payload format of its own, so hookgate defines one (docs/formats.md,
// stable within format version 1):
//
//	{"category": "Contacts" | "Calendar", "action": "Create" | "Update" | "Delete",
//	 "event": "contact.created", "event_id": "...", "occurred_at": "RFC 3339",
//	 "version": 1, "record": {canonical contact or calendar event}}
//
// Events other than contact.* and calendar_event.* created / updated /
// deleted are skipped.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hookgate/hookgate/plugins/sdk"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "1.0.0"

// formatVersion is the version of the payload format, carried in every
// message; it changes only with an incompatible change.
const formatVersion = 1

var categories = map[string]string{"contact": "Contacts", "calendar_event": "Calendar"}

var actions = map[string]string{"created": "Create", "updated": "Update", "deleted": "Delete"}

type ucrm struct{}

func (ucrm) Info() sdk.Info {
	return sdk.Info{Name: "ucrm", Version: version, Formats: []string{"ucrm"}, EventTypes: []string{
		"contact.created", "contact.updated", "contact.deleted",
		"calendar_event.created", "calendar_event.updated", "calendar_event.deleted",
	}}
}

func (ucrm) Outgoing(_ context.Context, req sdk.Outgoing) (sdk.Result, error) {
	if req.Kind != sdk.KindFormat {
		return sdk.Result{}, fmt.Errorf("ucrm provides the format ucrm only, not the transform %q", req.Name)
	}
	return render(req.Event)
}

// message is the uCRM webhook payload.
type message struct {
	Category   string          `json:"category"`
	Action     string          `json:"action"`
	Event      string          `json:"event"`
	EventID    string          `json:"event_id"`
	OccurredAt string          `json:"occurred_at"`
	Version    int             `json:"version"`
	Record     json.RawMessage `json:"record"`
}

func render(ev sdk.Event) (sdk.Result, error) {
	object, act, _ := strings.Cut(ev.Type, ".")
	category, ok := categories[object]
	if !ok {
		return sdk.Skip("uCRM webhooks carry Contacts and Calendar only, not %s", ev.Type), nil
	}
	action, ok := actions[act]
	if !ok {
		return sdk.Skip("uCRM actions are Create, Update and Delete, not %s", act), nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, ev.Data); err != nil || !bytes.HasPrefix(buf.Bytes(), []byte("{")) {
		return sdk.Result{}, errors.New("event data is not a JSON object")
	}
	ts := ev.OccurredAt
	if ts.IsZero() {
		ts = time.Now()
	}
	return sdk.JSON(message{
		Category: category, Action: action, Event: ev.Type, EventID: ev.ID,
		OccurredAt: ts.UTC().Format(time.RFC3339Nano), Version: formatVersion, Record: buf.Bytes(),
	})
}

func main() { sdk.Serve(ucrm{}) }
