package hookgate_test

import (
	"strings"
	"testing"

	"github.com/hookgate/hookgate"
)

func catalogue(t *testing.T, extra ...hookgate.EventType) *hookgate.Catalogue {
	t.Helper()
	c, err := hookgate.LoadCatalogue(extra)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCatalogueCoversEverySeed lists, product by product, every event the
// five product documents name, with the category it must be shown under.
func TestCatalogueCoversEverySeed(t *testing.T) {
	c := catalogue(t)
	type want struct{ name, category string }
	var wants []want
	add := func(category string, objects []string, actions ...string) {
		for _, o := range objects {
			for _, a := range actions {
				wants = append(wants, want{o + "." + a, category})
			}
		}
	}
	// 000 uCRM: Contacts / Calendar x Create / Update / Delete.
	add("CRM", []string{"contact"}, "created", "updated", "deleted")
	add("Calendar", []string{"calendar_event"}, "created", "updated", "deleted")
	// 001 Uspacy: created / changed / deleted for every object, stage
	// changed where the object has stages.
	add("CRM", []string{"lead", "deal", "contact", "company", "activity"}, "created", "updated", "deleted")
	add("Tasks", []string{"task"}, "created", "updated", "deleted", "stage_changed")
	add("Collaboration", []string{"post", "comment"}, "created", "updated", "deleted")
	add("CRM", []string{"lead", "deal"}, "stage_changed")
	// 002 EasyCRM: the named ones.
	for _, n := range []string{"contact.created", "contact.updated", "lead.created", "opportunity.stage_changed",
		"deal.won", "deal.lost", "invoice.paid", "ticket.created", "ticket.resolved"} {
		wants = append(wants, want{n, "CRM"})
	}
	// 003 the PBX: three categories.
	add("CRM", []string{"contact", "account", "list"}, "created", "updated", "deleted")
	add("CRM", []string{"lead"}, "created", "updated", "deleted", "converted")
	add("CRM", []string{"activity"}, "created")
	add("CRM", []string{"deal"}, "created", "updated", "stage_changed")
	add("Tasks", []string{"task"}, "created", "completed")
	add("CRM", []string{"campaign"}, "created", "status_changed")
	add("Configuration", []string{"extension", "did", "trunk", "queue", "hunt_group", "ivr", "administrator"}, "created", "updated", "deleted")
	add("Communications", []string{"call"}, "completed", "missed")
	add("Communications", []string{"voicemail"}, "received")
	add("Communications", []string{"whatsapp", "sms"}, "message_received", "message_sent")
	wants = append(wants, want{"webhook.test", "System"})

	for _, w := range wants {
		et, ok := c.Lookup(w.name)
		if !ok {
			t.Errorf("%s is missing from the catalogue", w.name)
			continue
		}
		obj, act, _ := strings.Cut(w.name, ".")
		if et.Category != w.category || et.Object != obj || et.Action != act {
			t.Errorf("%s: category %q object %q action %q, want %q", w.name, et.Category, et.Object, et.Action, w.category)
		}
	}
	easy := 0
	for _, et := range c.Types() {
		for _, s := range et.Sources {
			if s == "easycrm" {
				easy++
			}
		}
	}
	if easy < 15 {
		t.Errorf("EasyCRM offers 15+ event types; the catalogue has %d", easy)
	}
	// 004 CloudCX: its names are aliases of the contact events.
	for alias, name := range map[string]string{"ContactCreated": "contact.created", "ContactUpdated": "contact.updated", "ContactDeleted": "contact.deleted"} {
		if got, err := c.CheckType(alias); err != nil || got != name {
			t.Errorf("CloudCX %s: %q, %v; want %s", alias, got, err, name)
		}
		if got, err := c.CheckPattern(alias); err != nil || got != name {
			t.Errorf("subscribing to %s: %q, %v; want %s", alias, got, err, name)
		}
	}
}

// TestIncompatibleUspacyPairsAreAbsentAndRefusedByName: every Uspacy object
// without stages has no stage_changed event, and asking for one says why.
func TestIncompatibleUspacyPairsAreAbsentAndRefusedByName(t *testing.T) {
	c := catalogue(t)
	for _, obj := range []string{"contact", "company", "activity", "post", "comment"} {
		name := obj + ".stage_changed"
		if _, ok := c.Lookup(name); ok {
			t.Errorf("%s is listed", name)
		}
		for _, check := range []func(string) (string, error){c.CheckType, c.CheckPattern} {
			_, err := check(name)
			if hookgate.ErrorCode(err) != hookgate.EINVALID || !strings.Contains(hookgate.ErrorMessage(err), `"`+name+`" is not supported`) {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
	if _, err := hookgate.LoadCatalogue([]hookgate.EventType{{Name: "contact.stage_changed"}}); err == nil {
		t.Error("config may add an incompatible pair back")
	}
}

func TestSubscriptionPatterns(t *testing.T) {
	c := catalogue(t)
	for _, tc := range []struct {
		pattern, canon string
		ok             bool
	}{
		{"*", "*", true},
		{"contact.*", "contact.*", true},
		{"deal.won", "deal.won", true},
		{"ContactCreated", "contact.created", true},
		{"spaceship.*", "", false},
		{"contact.exploded", "", false},
		{"*.created", "", false},
		{"contact.**", "", false},
		{"", "", false},
	} {
		got, err := c.CheckPattern(tc.pattern)
		if (err == nil) != tc.ok || got != tc.canon {
			t.Errorf("CheckPattern(%q) = %q, %v", tc.pattern, got, err)
		}
		if err != nil && !strings.Contains(hookgate.ErrorMessage(err), tc.pattern) && tc.pattern != "" {
			t.Errorf("CheckPattern(%q) refusal does not name it: %v", tc.pattern, err)
		}
	}
	for _, tc := range []struct {
		pattern, typ string
		match        bool
	}{
		{"*", "deal.won", true},
		{"contact.*", "contact.created", true},
		{"contact.*", "contacts.created", false},
		{"contact.*", "calendar_event.created", false},
		{"deal.won", "deal.won", true},
		{"deal.won", "deal.lost", false},
	} {
		if got := hookgate.MatchEvent(tc.pattern, tc.typ); got != tc.match {
			t.Errorf("MatchEvent(%q, %q) = %v", tc.pattern, tc.typ, got)
		}
	}
}

func TestCatalogueIsExtendedFromConfig(t *testing.T) {
	c := catalogue(t, hookgate.EventType{Name: "order.shipped", Category: "Orders"})
	if et, ok := c.Lookup("order.shipped"); !ok || et.Category != "Orders" || et.Object != "order" || et.Action != "shipped" {
		t.Fatalf("extra type: %+v %v", et, ok)
	}
	if _, err := c.CheckPattern("order.*"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []hookgate.EventType{{Name: "contact.created"}, {Name: "noaction"}, {Name: "a.*"}} {
		if _, err := hookgate.LoadCatalogue([]hookgate.EventType{bad}); err == nil {
			t.Errorf("extra type %q accepted", bad.Name)
		}
	}
}
