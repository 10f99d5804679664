package hookgate

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Event is something that happened in the CRM, published to hookgate and
// fanned out to every subscribed webhook. Data is kept as the raw JSON the
// publisher sent, so it is never re-encoded on the delivery path.
type Event struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	Tenant     string          `json:"tenant"`
	OccurredAt time.Time       `json:"occurred_at"`
	Data       json.RawMessage `json:"data"`
}

// EventType describes one kind of event in the catalogue.
type EventType struct {
	Name        string   `yaml:"name" json:"name"`
	Category    string   `yaml:"category" json:"category"`
	Object      string   `yaml:"object" json:"object"`
	Action      string   `yaml:"action" json:"action"`
	Description string   `yaml:"description" json:"description,omitempty"`
	Sources     []string `yaml:"sources" json:"sources,omitempty"`
	Aliases     []string `yaml:"aliases" json:"aliases,omitempty"`
	// Shape names the catalogue's shared shape of the event's data
	// (`schemas:` in events.yaml); Schema and Example come from it unless
	// the type gives its own.
	Shape string `yaml:"data" json:"shape,omitempty"`
	// Schema is the JSON Schema (2020-12) of the event's data.
	Schema JSONDoc `yaml:"schema" json:"schema,omitempty"`
	// Example is a realistic data object of this type, valid against Schema:
	// what test sends deliver.
	Example JSONDoc `yaml:"example" json:"example,omitempty"`
}

// Shape is a shared shape of event data in the catalogue.
type Shape struct {
	Title   string  `yaml:"title" json:"title"`
	Schema  JSONDoc `yaml:"schema" json:"schema"`
	Example JSONDoc `yaml:"example" json:"example"`
}

// JSONDoc is a JSON document (a schema, an example) that may be written in
// YAML; it is kept and served as compact JSON.
type JSONDoc []byte

// MarshalJSON returns the document itself.
func (d JSONDoc) MarshalJSON() ([]byte, error) {
	if len(d) == 0 {
		return []byte("null"), nil
	}
	return d, nil
}

// UnmarshalJSON keeps a copy of the document.
func (d *JSONDoc) UnmarshalJSON(b []byte) error {
	*d = append((*d)[:0], b...)
	return nil
}

// UnmarshalYAML reads a YAML value as a JSON document.
func (d *JSONDoc) UnmarshalYAML(n *yaml.Node) error {
	var v any
	if err := n.Decode(&v); err != nil {
		return err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // examples hold HTML (Uspacy's comment message)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("line %d: not expressible as JSON: %w", n.Line, err)
	}
	*d = bytes.TrimRight(b.Bytes(), "\n")
	return nil
}

// IncompatibleType is an object/action pair that does not exist, with why.
type IncompatibleType struct {
	Name   string `yaml:"name" json:"name"`
	Reason string `yaml:"reason" json:"reason"`
}

//go:embed events.yaml
var builtinCatalogue []byte

// Catalogue is the set of event types hookgate knows. It is immutable once
// built and safe for concurrent use.
type Catalogue struct {
	types        []EventType
	byName       map[string]int
	incompatible map[string]string
	shapes       map[string]Shape
}

// LoadCatalogue returns the built-in catalogue extended with extra types (from
// config). An extra type with the name of a built-in one is an error.
func LoadCatalogue(extra []EventType) (*Catalogue, error) {
	var file struct {
		Types        []EventType        `yaml:"types"`
		Incompatible []IncompatibleType `yaml:"incompatible"`
		Schemas      map[string]Shape   `yaml:"schemas"`
	}
	if err := yaml.Unmarshal(builtinCatalogue, &file); err != nil {
		return nil, fmt.Errorf("parse built-in event catalogue: %w", err)
	}
	c := &Catalogue{byName: map[string]int{}, incompatible: map[string]string{}, shapes: file.Schemas}
	for _, it := range file.Incompatible {
		c.incompatible[it.Name] = it.Reason
	}
	for _, t := range append(file.Types, extra...) {
		if t.Shape != "" {
			sh, ok := c.shapes[t.Shape]
			if !ok {
				return nil, fmt.Errorf("event type %q: unknown data shape %q", t.Name, t.Shape)
			}
			if len(t.Schema) == 0 {
				t.Schema = sh.Schema
			}
			if len(t.Example) == 0 {
				t.Example = sh.Example
			}
		}
		if err := c.add(t); err != nil {
			return nil, err
		}
	}
	sort.Slice(c.types, func(i, j int) bool { return c.types[i].Name < c.types[j].Name })
	for i, t := range c.types {
		c.byName[t.Name] = i
	}
	for i, t := range c.types {
		for _, a := range t.Aliases {
			if _, dup := c.byName[a]; dup {
				return nil, fmt.Errorf("event alias %q of %s is already a name", a, t.Name)
			}
			c.byName[a] = i
		}
	}
	return c, nil
}

func (c *Catalogue) add(t EventType) error {
	obj, act, ok := strings.Cut(t.Name, ".")
	if !ok || obj == "" || act == "" || strings.ContainsAny(t.Name, "* ") {
		return fmt.Errorf("event type %q: name must be <object>.<action>", t.Name)
	}
	if _, bad := c.incompatible[t.Name]; bad {
		return fmt.Errorf("event type %q is declared incompatible", t.Name)
	}
	for _, existing := range c.types {
		if existing.Name == t.Name {
			return fmt.Errorf("event type %q is defined twice", t.Name)
		}
	}
	if t.Object == "" {
		t.Object = obj
	}
	if t.Action == "" {
		t.Action = act
	}
	if t.Category == "" {
		t.Category = "Custom"
	}
	if t.Description == "" {
		t.Description = describe(t.Object, t.Action)
	}
	c.types = append(c.types, t)
	return nil
}

// Shapes returns the shared shapes of event data by name.
func (c *Catalogue) Shapes() map[string]Shape { return c.shapes }

// Types returns every event type, sorted by name.
func (c *Catalogue) Types() []EventType { return c.types }

// Lookup returns the event type with the given name or alias.
func (c *Catalogue) Lookup(name string) (EventType, bool) {
	i, ok := c.byName[name]
	if !ok {
		return EventType{}, false
	}
	return c.types[i], true
}

// CheckType returns the canonical name of an event type to publish, or an
// EINVALID error that names the unknown or incompatible type.
func (c *Catalogue) CheckType(name string) (string, error) {
	if t, ok := c.Lookup(name); ok {
		return t.Name, nil
	}
	if reason, bad := c.incompatible[name]; bad {
		return "", FieldError("type", "event type %q is not supported: %s", name, reason)
	}
	return "", FieldError("type", "unknown event type %q", name)
}

// CheckPattern validates a subscription pattern: an exact type (or alias),
// `object.*`, or `*`. It returns the canonical pattern.
func (c *Catalogue) CheckPattern(p string) (string, error) {
	if p == "*" {
		return p, nil
	}
	if obj, ok := strings.CutSuffix(p, ".*"); ok {
		for _, t := range c.types {
			if t.Object == obj {
				return p, nil
			}
		}
		return "", Errorf(EINVALID, "wildcard %q matches no event type", p)
	}
	if reason, bad := c.incompatible[p]; bad {
		return "", Errorf(EINVALID, "event %q is not supported: %s", p, reason)
	}
	t, ok := c.Lookup(p)
	if !ok {
		return "", Errorf(EINVALID, "unknown event type %q", p)
	}
	return t.Name, nil
}

// MatchEvent reports whether the subscription pattern matches the canonical
// event type name typ. Patterns are `*`, `object.*` or an exact name.
func MatchEvent(pattern, typ string) bool {
	if pattern == "*" || pattern == typ {
		return true
	}
	if obj, ok := strings.CutSuffix(pattern, ".*"); ok {
		return len(typ) > len(obj) && typ[len(obj)] == '.' && typ[:len(obj)] == obj
	}
	return false
}

// objectWords and actionWords turn a type name into a default description.
var objectWords = map[string]string{
	"did": "DID", "ivr": "IVR", "hunt_group": "hunt group", "calendar_event": "calendar event", "sms": "SMS", "whatsapp": "WhatsApp",
	"queue": "call queue",
}

var actionWords = map[string]string{
	"stage_changed": "moved to another stage", "status_changed": "changed status", "converted": "converted to a contact",
	"message_received": "message received", "message_sent": "message sent",
}

// describe is the description of a type that gives none: "A deal was won.",
// "An IVR was deleted.", "WhatsApp message received.".
func describe(object, action string) string {
	obj := objectWords[object]
	if obj == "" {
		obj = strings.ReplaceAll(object, "_", " ")
	}
	act := actionWords[action]
	if act == "" {
		act = strings.ReplaceAll(action, "_", " ")
	}
	if strings.HasPrefix(action, "message_") {
		return obj + " " + act + "."
	}
	article := "A "
	if strings.ContainsRune("aeiouAEIOU", rune(obj[0])) {
		article = "An "
	}
	if strings.HasSuffix(action, "_changed") {
		return article + obj + " " + act + "."
	}
	return article + obj + " was " + act + "."
}

// Example is the data of an example event of type typ: the catalogue's own
// example, or a small object of the type's kind when it has none.
func (c *Catalogue) Example(typ string) json.RawMessage {
	obj := "object"
	if t, ok := c.Lookup(typ); ok {
		if len(t.Example) > 0 && t.Example[0] == '{' {
			return json.RawMessage(t.Example)
		}
		if t.Object != "" {
			obj = t.Object
		}
	}
	b, _ := json.Marshal(map[string]any{"id": obj + "_123", "name": "Example " + obj, "owner_id": "user_1"})
	return b
}
