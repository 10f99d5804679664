package app_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/testenv"
)

// TestFilterLetsOnlyMatchingEventsThrough: a webhook's content filter is
// applied before enqueue (a filtered-out event creates no delivery and the
// publish answer counts only the others), survives a read back, is refused
// with a field-level error when it cannot be parsed, and is removed by
// PATCHing null.
func TestFilterLetsOnlyMatchingEventsThrough(t *testing.T) {
	h := start(t, nil)
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	big, all := receiver.NewRecorder(), receiver.NewRecorder()
	sBig, sAll := httptest.NewServer(big), httptest.NewServer(all)
	defer sBig.Close()
	defer sAll.Close()

	filtered := h.createWebhook(admin, map[string]any{"name": "Big deals", "endpoints": endpoints(sBig.URL),
		"events": []string{"contact.*"},
		"filter": map[string]any{"data.amount": map[string]any{"$gte": 1000}, "$or": []any{
			map[string]any{"data.currency": "EUR"}, map[string]any{"data.owner.team": "north"}}}})
	h.createWebhook(admin, map[string]any{"name": "Everything", "endpoints": endpoints(sAll.URL), "events": []string{"contact.*"}})

	publish := func(amount int, currency string) int {
		var res struct{ Deliveries int }
		h.do("POST", "/v1/events", pub, map[string]any{"type": "contact.created",
			"data": map[string]any{"amount": amount, "currency": currency, "owner": map[string]any{"team": "south"}}}).must(t, 202).json(t, &res)
		return res.Deliveries
	}
	if n := publish(500, "EUR"); n != 1 {
		t.Fatalf("a 500 EUR event made %d deliveries, want 1 (the filter refuses it)", n)
	}
	if n := publish(1500, "USD"); n != 1 {
		t.Fatalf("a 1500 USD event made %d deliveries, want 1 (neither EUR nor team north)", n)
	}
	if n := publish(2500, "EUR"); n != 2 {
		t.Fatalf("a 2500 EUR event made %d deliveries, want 2", n)
	}
	if _, err := all.WaitFor(testenv.Context(t), 3); err != nil {
		t.Fatal(err)
	}
	got, err := big.WaitFor(testenv.Context(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got[0].Body), `"amount":2500`) || big.Count() != 1 {
		t.Fatalf("the filtered webhook got %d deliveries, first %s", big.Count(), got[0].Body)
	}

	// Read back as stored.
	var w struct{ Filter json.RawMessage }
	h.do("GET", "/v1/webhooks/"+filtered.ID, admin, nil).must(t, 200).json(t, &w)
	if !strings.Contains(string(w.Filter), `"data.amount":{"$gte":1000}`) {
		t.Fatalf("filter read back as %s", w.Filter)
	}

	// A filter that cannot be parsed names the place.
	e := h.do("PATCH", "/v1/webhooks/"+filtered.ID, admin, map[string]any{"filter": map[string]any{"data.amount": map[string]any{"$between": []int{1, 2}}}}).
		must(t, 400)
	if !strings.Contains(string(e.Body), `"filter.data.amount.$between"`) || !strings.Contains(string(e.Body), "unknown operator") {
		t.Fatalf("bad filter answered %s", e.Body)
	}

	// null removes it: the next small event reaches both.
	var after map[string]any
	h.do("PATCH", "/v1/webhooks/"+filtered.ID, admin, map[string]any{"filter": nil}).must(t, 200).json(t, &after)
	if f, ok := after["filter"]; ok {
		t.Fatalf("filter after PATCH null: %v", f)
	}
	if n := publish(10, "GBP"); n != 2 {
		t.Fatalf("without the filter a small event made %d deliveries, want 2", n)
	}
}

// TestFilterPreviewSaysWhetherAnEventGetsThrough: the preview route answers
// matches for the data sent or for the catalogue's example of the type, and
// names the place of a filter that does not parse.
func TestFilterPreviewSaysWhetherAnEventGetsThrough(t *testing.T) {
	h := start(t, nil)
	admin := h.token("acme", "admin")
	var res struct {
		Matches bool
		Event   struct {
			Type string
			Data json.RawMessage
		}
	}
	try := func(body map[string]any) bool {
		h.do("POST", "/v1/webhooks/filter/preview", admin, body).must(t, 200).json(t, &res)
		return res.Matches
	}
	big := map[string]any{"data.amount": map[string]any{"$gte": 1000}}
	if !try(map[string]any{"event_type": "deal.won", "filter": big, "data": map[string]any{"amount": 2500}}) {
		t.Fatal("2500 >= 1000 does not match")
	}
	if try(map[string]any{"event_type": "deal.won", "filter": big, "data": map[string]any{"amount": 10}}) {
		t.Fatal("10 >= 1000 matches")
	}
	if try(map[string]any{"event_type": "contact.created", "filter": map[string]any{"type": "deal.won"}}) {
		t.Fatal("a deal.won filter lets contact.created through")
	}
	// Without data: the catalogue's example of the type, shown in the answer.
	if !try(map[string]any{"event_type": "contact.created", "filter": map[string]any{"data.id": map[string]any{"$exists": true}}}) ||
		res.Event.Type != "contact.created" || !strings.Contains(string(res.Event.Data), `"id"`) {
		t.Fatalf("example event: matches %v, event %s %s", res.Matches, res.Event.Type, res.Event.Data)
	}
	if !try(map[string]any{"event_type": "deal.won"}) {
		t.Fatal("no filter does not let everything through")
	}
	e := h.do("POST", "/v1/webhooks/filter/preview", admin, map[string]any{"event_type": "nope.never",
		"filter": map[string]any{"data.amount": map[string]any{"$between": 1}}}).must(t, 400)
	if !strings.Contains(string(e.Body), `"filter.data.amount.$between"`) || !strings.Contains(string(e.Body), `"event_type"`) {
		t.Fatalf("bad filter and type answered %s", e.Body)
	}
	h.do("POST", "/v1/webhooks/filter/preview", h.token("acme", "publisher"), map[string]any{"filter": big}).must(t, 403)
}
