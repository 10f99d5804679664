package app_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/testenv"
)

type errorView struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
	} `json:"error"`
}

// GET /v1/event-types answers every type with its category, description,
// the JSON Schema of its data and an example.
func TestEventTypesCarrySchemaAndExample(t *testing.T) {
	h := start(t, nil)
	var list struct {
		Data []struct {
			Name        string          `json:"name"`
			Category    string          `json:"category"`
			Description string          `json:"description"`
			Schema      json.RawMessage `json:"schema"`
			Example     json.RawMessage `json:"example"`
		} `json:"data"`
	}
	h.do("GET", "/v1/event-types", h.token("acme", "admin"), nil).must(t, 200).json(t, &list)
	if len(list.Data) < 80 {
		t.Fatalf("%d event types", len(list.Data))
	}
	for _, et := range list.Data {
		if et.Category == "" || et.Description == "" || len(et.Schema) < 2 || len(et.Example) < 2 || et.Example[0] != '{' {
			t.Errorf("%s: category %q description %q schema %s example %s", et.Name, et.Category, et.Description, et.Schema, et.Example)
		}
		if et.Name == "contact.created" {
			var ex map[string]any
			_ = json.Unmarshal(et.Example, &ex)
			var sch struct {
				Properties map[string]any `json:"properties"`
			}
			_ = json.Unmarshal(et.Schema, &sch)
			if ex["first_name"] != "Allen" || sch.Properties["email"] == nil {
				t.Errorf("contact.created example %s schema %s", et.Example, et.Schema)
			}
		}
	}
}

// events.validate: enforce refuses data that does not match its type's
// schema with 400 schema_violation naming the field, alone and in a batch;
// matching data is accepted and delivered.
func TestEnforcedSchemaRefusesBadData(t *testing.T) {
	h := start(t, func(c *config.Config) { c.Events.Validate = "enforce" })
	rec := receiver.NewRecorder()
	srv := httptest.NewServer(rec)
	defer srv.Close()
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	h.createWebhook(admin, map[string]any{"name": "crm", "endpoints": endpoints(srv.URL), "events": []string{"contact.*"}})

	var e errorView
	h.do("POST", "/v1/events", pub, map[string]any{"type": "contact.created", "data": map[string]any{"id": "c1", "email": 42}}).
		must(t, 400).json(t, &e)
	if e.Error.Code != "schema_violation" || e.Error.Fields["data.email"] == "" || !strings.Contains(e.Error.Message, "data.email") {
		t.Fatalf("answer %+v", e.Error)
	}
	e = errorView{}
	h.do("POST", "/v1/events/batch", pub, map[string]any{"events": []map[string]any{
		{"type": "contact.created", "data": map[string]any{"id": "c1"}},
		{"type": "contact.deleted", "data": map[string]any{"who": "nobody"}},
	}}).must(t, 400).json(t, &e)
	if e.Error.Code != "schema_violation" || e.Error.Fields["events[1].data.id"] == "" {
		t.Fatalf("batch answer %+v", e.Error)
	}
	h.do("POST", "/v1/events", pub, map[string]any{"type": "contact.created", "data": map[string]any{"id": "c2", "email": "a@b.example"}}).must(t, 202)
	got, err := rec.WaitFor(testenv.Context(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Count() != 1 || !strings.Contains(string(got[0].Body), `"c2"`) {
		t.Fatalf("receiver got %d: %s", rec.Count(), got[0].Body)
	}
}

// events.validate: warn accepts the event, logs the violation and counts it
// in hookgate_event_schema_violations_total; off (the default) checks nothing.
func TestWarnedSchemaAcceptsLogsAndCounts(t *testing.T) {
	h := start(t, func(c *config.Config) { c.Events.Validate = "warn" })
	pub := h.token("acme", "publisher")
	h.do("POST", "/v1/events", pub, map[string]any{"type": "deal.won", "data": map[string]any{"title": "no id"}}).must(t, 202)
	if !strings.Contains(h.logs.String(), "does not match its schema") || !strings.Contains(h.logs.String(), "data.id") {
		t.Fatalf("no warning logged:\n%s", h.logs.String())
	}
	metrics := string(h.do("GET", "/metrics", "", nil).must(t, 200).Body)
	if !strings.Contains(metrics, `hookgate_event_schema_violations_total{type="deal.won"} 1`) {
		t.Fatalf("violation not counted:\n%s", metrics)
	}

	off := start(t, nil)
	off.do("POST", "/v1/events", off.token("acme", "publisher"), map[string]any{"type": "deal.won", "data": map[string]any{"title": "no id"}}).must(t, 202)
	if strings.Contains(off.logs.String(), "does not match its schema") {
		t.Fatal("validate off checked the data")
	}
}
