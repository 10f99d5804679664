package console_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestConsoleEditsAndTriesAFilter: the Filter section tries a filter on the
// catalogue's example event and on pasted data and says what would happen,
// shows the API's refusal of a bad operator under the field, saves the
// filter, shows it again when editing, and removes it when cleared.
func TestConsoleEditsAndTriesAFilter(t *testing.T) {
	srv := startServer(t, nil)
	srv.requireRoute("POST /v1/webhooks/filter/preview")
	admin := srv.token("acme", "admin")
	var w struct {
		ID     string          `json:"id"`
		Filter json.RawMessage `json:"filter"`
	}
	if st := srv.api("POST", "/v1/webhooks", admin, map[string]any{"name": "Big deals", "events": []string{"deal.won"},
		"endpoints": []map[string]any{{"url": "https://erp.example.com/hook"}}}, &w); st != 201 {
		t.Fatalf("create: %d", st)
	}
	tb := newTab(t, 1280, 900)
	tb.signIn(srv.base, admin)
	row := fmt.Sprintf(`tr[data-id=%q]`, w.ID)
	tb.run(chromedp.Click(row+` [data-action="edit"]`), chromedp.WaitVisible("#wh-filter"),
		chromedp.Click(".filter-try summary"), chromedp.WaitVisible("#filter-try"))
	// The type to try defaults to the first subscribed one.
	tb.until(`document.querySelector('#filter-type').value === 'deal.won'`)

	tb.set("#wh-filter", `{"data.amount": {"$gte": 1000}}`, "input")
	tb.set("#filter-data", `{"amount": 2500}`, "input")
	tb.run(chromedp.Click("#filter-try"))
	tb.until(`document.querySelector('#filter-status').textContent.startsWith('Delivered')`)
	tb.set("#filter-data", `{"amount": 10}`, "input")
	tb.run(chromedp.Click("#filter-try"))
	tb.until(`document.querySelector('#filter-status').textContent.startsWith('Filtered out')`)
	if got := tb.text("#filter-status"); got != "Filtered out: this deal.won event would not be delivered." {
		t.Fatalf("status %q", got)
	}
	// Empty data: the catalogue's example is tried and shown.
	tb.set("#filter-data", "", "input")
	tb.set("#wh-filter", `{"data.id": {"$exists": true}}`, "input")
	tb.run(chromedp.Click("#filter-try"))
	tb.until(`document.querySelector('#filter-status').textContent.startsWith('Delivered')`)
	var shown string
	tb.eval(`document.querySelector('#filter-data').value`, &shown)
	if !strings.Contains(shown, `"id"`) {
		t.Fatalf("the example event is not shown: %q", shown)
	}

	// A bad operator: the try and the save both name it.
	tb.set("#wh-filter", `{"data.amount": {"$between": [1, 2]}}`, "input")
	tb.run(chromedp.Click("#filter-try"))
	tb.until(`document.querySelector('#filter-status').textContent.startsWith('Error')`)
	if got := tb.text("#filter-status"); !strings.Contains(got, "filter.data.amount.$between") {
		t.Fatalf("try of a bad filter shows %q", got)
	}
	tb.run(chromedp.Click("#save"))
	tb.until(`!document.querySelector('[data-error-for="filter"]').hidden`)
	if got := tb.text(`[data-error-for="filter"]`); !strings.Contains(got, "$between") || !strings.Contains(got, "unknown operator") {
		t.Fatalf("save of a bad filter shows %q", got)
	}

	tb.set("#wh-filter", `{"data.amount": {"$gte": 1000}}`, "input")
	// The list reloads after a save; the row's Edit button opens what its
	// row was drawn with, so wait for the row drawn after the save.
	var marked bool
	tb.eval(fmt.Sprintf(`(() => { document.querySelector(%q).dataset.beforeSave = '1'; return true })()`, row), &marked)
	tb.run(chromedp.Click("#save"), chromedp.WaitNotPresent("dialog[open]"))
	tb.until(fmt.Sprintf(`(() => { const r = document.querySelector(%q); return !!r && !r.dataset.beforeSave })()`, row))
	srv.api("GET", "/v1/webhooks/"+w.ID, admin, nil, &w)
	if string(w.Filter) != `{"data.amount":{"$gte":1000}}` {
		t.Fatalf("saved filter %s", w.Filter)
	}

	// Editing again shows it; clearing it removes it.
	tb.run(chromedp.Click(row+` [data-action="edit"]`), chromedp.WaitVisible("#wh-filter"))
	var again string
	tb.eval(`document.querySelector('#wh-filter').value`, &again)
	if !strings.Contains(again, `"$gte": 1000`) {
		t.Fatalf("the dialog shows the filter as %q", again)
	}
	tb.set("#wh-filter", "", "input")
	tb.run(chromedp.Click("#save"), chromedp.WaitNotPresent("dialog[open]"))
	w.Filter = nil
	srv.api("GET", "/v1/webhooks/"+w.ID, admin, nil, &w)
	if len(w.Filter) != 0 {
		t.Fatalf("cleared filter still saved: %s", w.Filter)
	}
}
