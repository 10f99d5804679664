package hookgate_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/eventschema"
)

var update = flag.Bool("update", false, "rewrite docs/events.md from events.yaml")

// TestEventsDoc keeps docs/events.md equal to what the catalogue renders;
// -update rewrites it.
func TestEventsDoc(t *testing.T) {
	got := hookgate.EventsDoc(catalogue(t))
	if *update {
		if err := os.WriteFile("docs/events.md", got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("docs/events.md differs from events.yaml; run: go test . -run TestEventsDoc -update")
	}
}

// TestEveryTypeHasSchemaAndValidExample: each built-in type has a schema and
// an example (a JSON object) that its schema accepts, and a description.
func TestEveryTypeHasSchemaAndValidExample(t *testing.T) {
	c := catalogue(t)
	v, err := eventschema.New(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, et := range c.Types() {
		if len(et.Schema) == 0 || len(et.Example) == 0 || et.Description == "" {
			t.Errorf("%s: schema %d bytes, example %d bytes, description %q", et.Name, len(et.Schema), len(et.Example), et.Description)
			continue
		}
		var obj map[string]any
		if err := json.Unmarshal(et.Example, &obj); err != nil {
			t.Errorf("%s: example is not a JSON object: %v", et.Name, err)
		}
		if err := v.Validate(et.Name, et.Example); err != nil {
			t.Errorf("%s: example does not match its schema: %v", et.Name, err)
		}
	}
}

// TestSchemaViolationNamesField: a wrong type, a missing required field and
// a bad value in a list are each named by their path in the event.
func TestSchemaViolationNamesField(t *testing.T) {
	v, err := eventschema.New(catalogue(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ typ, data, field string }{
		{"contact.created", `{"id": "c1", "email": 42}`, "data.email"},
		{"deal.won", `{"title": "no id"}`, "data.id"},
		{"contact.created", `{"id": "c1", "tags": [{"id": 1, "name": 7}]}`, "data.tags.0.name"},
		{"contact.deleted", `{"who": "nobody"}`, "data.id"},
		{"calendar_event.created", `{"id": 1, "status": "maybe"}`, "data.status"},
	} {
		err := v.Validate(tc.typ, []byte(tc.data))
		var he *hookgate.Error
		if !asError(err, &he) || he.Code != hookgate.ESCHEMA {
			t.Errorf("%s %s: got %v, want a schema_violation", tc.typ, tc.data, err)
			continue
		}
		if _, ok := he.Fields[tc.field]; !ok {
			t.Errorf("%s %s: fields %v, want %s", tc.typ, tc.data, he.Fields, tc.field)
		}
	}
	if err := v.Validate("contact.created", []byte(`{"id": "c1", "unknown_field": {"kept": true}}`)); err != nil {
		t.Errorf("fields the schema does not name are open: %v", err)
	}
}

func asError(err error, target **hookgate.Error) bool {
	e, ok := err.(*hookgate.Error)
	*target = e
	return ok
}
