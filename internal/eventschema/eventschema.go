// Package eventschema checks published event data against the JSON Schema
// of its type in the event catalogue (events.validate). Every schema is
// compiled once, when the validator is built; checking an event reads its
// data once and walks the compiled schema.
//
// It uses santhosh-tekuri/jsonschema (draft 2020-12, well kept, no
// dependencies beyond x/text) rather than a hand-written checker.
package eventschema

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/hookgate/hookgate"
)

// Modes of events.validate.
const (
	Off     = "off"     // no check
	Warn    = "warn"    // accept, log and count a violation
	Enforce = "enforce" // refuse a violation with 400 schema_violation
)

// Validator holds the compiled schema of every catalogue type that has one.
// It is immutable and safe for concurrent use.
type Validator struct {
	schemas map[string]*jsonschema.Schema
}

// New compiles the schema of every type of the catalogue. A schema that does
// not compile is an error naming its type.
func New(cat *hookgate.Catalogue) (*Validator, error) {
	v := &Validator{schemas: map[string]*jsonschema.Schema{}}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	for _, t := range cat.Types() {
		if len(t.Schema) == 0 {
			continue
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(t.Schema))
		if err != nil {
			return nil, fmt.Errorf("event type %s: schema is not JSON: %w", t.Name, err)
		}
		url := "urn:hookgate:event:" + t.Name
		if err := c.AddResource(url, doc); err != nil {
			return nil, fmt.Errorf("event type %s: schema: %w", t.Name, err)
		}
		sch, err := c.Compile(url)
		if err != nil {
			return nil, fmt.Errorf("event type %s: schema does not compile: %w", t.Name, err)
		}
		v.schemas[t.Name] = sch
	}
	return v, nil
}

// Has reports whether the type has a schema.
func (v *Validator) Has(typ string) bool { return v.schemas[typ] != nil }

// Validate checks data (a JSON object) against the schema of typ, a
// canonical type name. A type without a schema passes. A violation is a
// *hookgate.Error with code schema_violation whose field names the failing
// value ("data.contacts.0.email", "data.id" for a missing id).
func (v *Validator) Validate(typ string, data []byte) error {
	sch := v.schemas[typ]
	if sch == nil {
		return nil
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return hookgate.FieldError("data", "data is not valid JSON")
	}
	err = sch.Validate(inst)
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return fmt.Errorf("validate %s: %w", typ, err)
	}
	field, msg := describe(ve)
	return &hookgate.Error{Code: hookgate.ESCHEMA,
		Message: fmt.Sprintf("%s does not match the schema of %s: %s", field, typ, msg),
		Fields:  map[string]string{field: msg}}
}

var printer = message.NewPrinter(language.English)

// describe names the first leaf failure: the path of the value in the event
// ("data.tags.0.name"; a missing property is named itself) and the reason.
func describe(e *jsonschema.ValidationError) (string, string) {
	leaf := e
	for len(leaf.Causes) > 0 {
		leaf = leaf.Causes[0]
	}
	path := append([]string{"data"}, leaf.InstanceLocation...)
	if r, ok := leaf.ErrorKind.(*kind.Required); ok && len(r.Missing) > 0 {
		path = append(path, r.Missing[0])
	}
	return strings.Join(path, "."), leaf.ErrorKind.LocalizedString(printer)
}
