package eventschema_test

import (
	"testing"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/eventschema"
)

// BenchmarkValidateContact measures the check events.validate adds to a
// publish: the contact.created example against its compiled schema.
func BenchmarkValidateContact(b *testing.B) {
	cat, err := hookgate.LoadCatalogue(nil)
	if err != nil {
		b.Fatal(err)
	}
	v, err := eventschema.New(cat)
	if err != nil {
		b.Fatal(err)
	}
	et, _ := cat.Lookup("contact.created")
	data := []byte(et.Example)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Validate("contact.created", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompileCatalogue measures compiling every schema at start.
func BenchmarkCompileCatalogue(b *testing.B) {
	cat, err := hookgate.LoadCatalogue(nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := eventschema.New(cat); err != nil {
			b.Fatal(err)
		}
	}
}
