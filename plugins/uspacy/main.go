// Command uspacy is hookgate's built-in Uspacy plugin. It provides the
// format `uspacy`: every event on a Uspacy object (lead, deal, contact,
// company, activity, task, post, comment) as Uspacy's event message
//
//	{"topic", "type", "env", "data": {"entity", "user_id", "service",
//	 "domain", "timestamp", "action"}, "metadata"}
//
// Webhooks with this format need the subscription confirmation handshake,
// as Uspacy's do. Field mapping: docs/formats.md.
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

// services maps a Uspacy object to the Uspacy service it belongs to.
var services = map[string]string{
	"lead": "crm", "deal": "crm", "contact": "crm", "company": "crm",
	"activity": "activities", "task": "tasks", "post": "newsfeed", "comment": "comments",
}

// actions maps hookgate's action to Uspacy's.
var actions = map[string]string{
	"created": "create", "updated": "update", "deleted": "delete", "stage_changed": "stage_change",
}

// eventTypes are the hookgate event types Uspacy has a message for: every
// object's created / updated / deleted, and stage changes of the objects
// with stages (lead, deal, task). A test checks that each renders.
var eventTypes = []string{
	"lead.created", "lead.updated", "lead.deleted", "lead.stage_changed",
	"deal.created", "deal.updated", "deal.deleted", "deal.stage_changed",
	"contact.created", "contact.updated", "contact.deleted",
	"company.created", "company.updated", "company.deleted",
	"activity.created", "activity.updated", "activity.deleted",
	"task.created", "task.updated", "task.deleted", "task.stage_changed",
	"post.created", "post.updated", "post.deleted",
	"comment.created", "comment.updated", "comment.deleted",
}

type uspacy struct{}

func (uspacy) Info() sdk.Info {
	return sdk.Info{Name: "uspacy", Version: version, Formats: []string{"uspacy"}, NeedsConfirmation: true, EventTypes: eventTypes}
}

func (uspacy) Outgoing(_ context.Context, req sdk.Outgoing) (sdk.Result, error) {
	if req.Kind != sdk.KindFormat {
		return sdk.Result{}, fmt.Errorf("uspacy provides the format uspacy only, not the transform %q", req.Name)
	}
	return render(req.Event, req.Settings)
}

// render builds Uspacy's message for ev. Settings: topic (default
// Notifications), env (default prod), domain (default the event's tenant).
func render(ev sdk.Event, settings map[string]string) (sdk.Result, error) {
	object, act, _ := strings.Cut(ev.Type, ".")
	service, ok := services[object]
	if !ok {
		return sdk.Skip("Uspacy has no %s object", object), nil
	}
	action, ok := actions[act]
	if !ok {
		return sdk.Skip("Uspacy has no %s event", act), nil
	}
	var entity map[string]json.RawMessage
	if err := json.Unmarshal(ev.Data, &entity); err != nil || entity == nil {
		return sdk.Result{}, errors.New("event data is not a JSON object")
	}
	userID := json.RawMessage("null")
	for _, k := range []string{"actor_id", "author_id", "changed_by", "created_by", "owner"} {
		if v, ok := entity[k]; ok && string(v) != "null" && string(v) != `""` {
			userID = v
			break
		}
	}
	domain := setting(settings, "domain", ev.Tenant)
	ts := ev.OccurredAt
	if ts.IsZero() {
		ts = time.Now()
	}
	msg := struct {
		Topic    string          `json:"topic"`
		Type     string          `json:"type"`
		Env      string          `json:"env"`
		Data     data            `json:"data"`
		Metadata json.RawMessage `json:"metadata"`
	}{
		Topic: setting(settings, "topic", "Notifications"), Type: object, Env: setting(settings, "env", "prod"),
		Data: data{
			Entity: compact(ev.Data), UserID: userID, Service: service, Domain: domain,
			Timestamp: ts.UTC().Format("2006-01-02T15:04:05.000000Z"), Action: action,
		},
		Metadata: json.RawMessage("[]"),
	}
	return sdk.JSON(msg)
}

type data struct {
	Entity    json.RawMessage `json:"entity"`
	UserID    json.RawMessage `json:"user_id"`
	Service   string          `json:"service"`
	Domain    string          `json:"domain"`
	Timestamp string          `json:"timestamp"`
	Action    string          `json:"action"`
}

func compact(b []byte) json.RawMessage {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

func setting(s map[string]string, key, def string) string {
	if v := s[key]; v != "" {
		return v
	}
	return def
}

func main() { sdk.Serve(uspacy{}) }
