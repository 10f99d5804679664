package console_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestConsoleSetsAndShowsEndpointRateLimits: an admin sets an endpoint's
// rate limit in the webhook dialog (a refused value is shown at its field),
// the API keeps it, the dialog shows it when opened again, and the webhook
// page lists it per endpoint.
func TestConsoleSetsAndShowsEndpointRateLimits(t *testing.T) {
	srv := startServer(t, nil)
	admin := srv.token("acme", "admin")
	var w struct {
		ID        string `json:"id"`
		Endpoints []struct {
			ID        string  `json:"id"`
			RateLimit float64 `json:"rate_limit"`
		} `json:"endpoints"`
	}
	if st := srv.api("POST", "/v1/webhooks", admin, map[string]any{"name": "ERP Sync", "events": []string{"contact.*"},
		"endpoints": []map[string]any{{"url": "https://erp.example.com/a"}, {"url": "https://erp.example.com/b"}}}, &w); st != 201 {
		t.Fatalf("create: %d", st)
	}
	tb := newTab(t, 1280, 900)
	tb.signIn(srv.base, admin)
	row := fmt.Sprintf(`tr[data-id=%q]`, w.ID)
	rate0 := `.endpoint-row[data-index="0"] .ep-rate`

	tb.run(chromedp.Click(row+` [data-action="edit"]`), chromedp.WaitVisible(rate0),
		chromedp.SetValue(rate0, "20000"), chromedp.Click("#save"))
	if msg := tb.text(`dialog [data-error-for="endpoints[0].rate_limit"]`); !strings.Contains(msg, "rate_limit") {
		t.Fatalf("rate_limit error %q", msg)
	}
	tb.run(chromedp.SetValue(rate0, "5"), chromedp.Click("#save"), chromedp.WaitNotPresent("dialog"))
	srv.api("GET", "/v1/webhooks/"+w.ID, admin, nil, &w)
	if len(w.Endpoints) != 2 || w.Endpoints[0].RateLimit != 5 || w.Endpoints[1].RateLimit != 0 {
		t.Fatalf("after saving: %+v", w.Endpoints)
	}

	tb.run(chromedp.Click(row+` [data-action="edit"]`), chromedp.WaitVisible(rate0))
	var shown string
	tb.eval(`document.querySelector('`+rate0+`').value + '|' + document.querySelector('.endpoint-row[data-index="1"] .ep-rate').value`, &shown)
	if shown != "5|" {
		t.Fatalf("the dialog shows rate limits %q, want 5 and empty", shown)
	}
	tb.run(chromedp.Click("#cancel"), chromedp.WaitNotPresent("dialog"))

	tb.run(chromedp.Navigate(srv.base+"/console/#/webhooks/"+w.ID), chromedp.WaitVisible("#wp-endpoints"))
	if got := tb.text(fmt.Sprintf(`#wp-endpoints tr[data-id=%q] .rate`, w.Endpoints[0].ID)); got != "5/s" {
		t.Fatalf("webhook page: rate limit %q, want 5/s", got)
	}
	if got := tb.text(fmt.Sprintf(`#wp-endpoints tr[data-id=%q] .rate`, w.Endpoints[1].ID)); got != "None" {
		t.Fatalf("webhook page: unlimited endpoint shows %q", got)
	}
}
