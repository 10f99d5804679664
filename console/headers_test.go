package console_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hookgate/hookgate/internal/receiver"
)

// TestConsoleEditsEndpointHeaders: the webhook page names an endpoint's
// custom headers; the edit dialog shows them as "Name: value" lines, says
// which line does not read, shows the server's refusal of a reserved name
// under the endpoint, tests the endpoint with the headers typed, and saves
// them.
func TestConsoleEditsEndpointHeaders(t *testing.T) {
	srv := startServer(t, nil)
	admin := srv.token("acme", "admin")
	rec := receiver.NewRecorder()
	rs := httptest.NewServer(rec)
	defer rs.Close()
	var w struct {
		ID        string `json:"id"`
		Endpoints []struct {
			ID      string            `json:"id"`
			Headers map[string]string `json:"headers"`
		} `json:"endpoints"`
	}
	if st := srv.api("POST", "/v1/webhooks", admin, map[string]any{"name": "ERP Sync", "events": []string{"contact.*"},
		"endpoints": []map[string]any{{"url": rs.URL, "headers": map[string]string{"X-Api-Key": "k1"}}}}, &w); st != 201 {
		t.Fatalf("create: %d", st)
	}
	tb := newTab(t, 1280, 900)
	tb.signIn(srv.base, admin)
	row := fmt.Sprintf(`tr[data-id=%q]`, w.ID)

	tb.run(chromedp.Navigate(srv.base+"/console/#/webhooks/"+w.ID), chromedp.WaitVisible("#wp-endpoints"))
	if got := tb.text(fmt.Sprintf(`#wp-endpoints tr[data-id=%q] .ep-header-names`, w.Endpoints[0].ID)); got != "X-Api-Key" {
		t.Fatalf("the webhook page shows headers %q", got)
	}

	tb.run(chromedp.Navigate(srv.base+"/console/#/webhooks"), chromedp.WaitVisible(row),
		chromedp.Click(row+` [data-action="edit"]`), chromedp.WaitVisible(`.endpoint-row[data-index="0"] .ep-headers`))
	box := `.endpoint-row[data-index="0"] .ep-headers`
	if got := tb.text(`.endpoint-row[data-index="0"] .ep-headers-box summary`); got != "Headers (1)" {
		t.Fatalf("summary %q", got)
	}
	var shown string
	tb.eval(`document.querySelector('`+box+`').value`, &shown)
	if shown != "X-Api-Key: k1" {
		t.Fatalf("the dialog shows %q", shown)
	}

	errSel := `.endpoint-row[data-index="0"] .ep-headers-box .field-error`
	tb.set(box, "X-Api-Key: k2\nno colon here", "input")
	tb.run(chromedp.Click("#save"))
	tb.until(`!document.querySelector('` + errSel + `').hidden`)
	if got := tb.text(errSel); !strings.Contains(got, "Line 2") {
		t.Fatalf("bad line shows %q", got)
	}

	tb.set(box, "X-Api-Key: k2\nContent-Type: text/plain", "input")
	tb.run(chromedp.Click("#save"))
	tb.until(`document.querySelector('` + errSel + `').textContent.includes('Content-Type')`)
	if got := tb.text(errSel); !strings.Contains(got, "describes the body") {
		t.Fatalf("reserved header shows %q", got)
	}

	tb.set(box, "X-Api-Key: k2\nX-Tenant: north", "input")
	tb.run(chromedp.Click("#test-endpoints"))
	tb.until(`document.querySelector('.endpoint-row[data-index="0"] .test-result').classList.contains('ok')`)
	if n := rec.Count(); n != 1 {
		t.Fatalf("receiver got %d test requests", n)
	}
	got, _ := rec.WaitFor(t.Context(), 1)
	if got[0].Header.Get("X-Api-Key") != "k2" || got[0].Header.Get("X-Tenant") != "north" {
		t.Fatalf("the test carried %v", got[0].Header)
	}

	tb.run(chromedp.Click("#save"), chromedp.WaitNotPresent("dialog[open]"))
	srv.api("GET", "/v1/webhooks/"+w.ID, admin, nil, &w)
	if h := w.Endpoints[0].Headers; len(h) != 2 || h["X-Api-Key"] != "k2" || h["X-Tenant"] != "north" {
		t.Fatalf("saved headers %v", h)
	}
}
