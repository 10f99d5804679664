package console_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestAPIReferenceRendersTheServedDocument opens the console's API reference
// page: Swagger UI (served from the binary, under the console's CSP, with no
// outside fetch) renders the OpenAPI document of this hookgate, its title and
// its operations, and the console's navigation links to it.
func TestAPIReferenceRendersTheServedDocument(t *testing.T) {
	srv := startServer(t, nil)
	tb := newTab(t, 1280, 900)

	tb.run(chromedp.Navigate(srv.base + "/console/"))
	var href string
	tb.run(chromedp.WaitReady(`#nav-api`), chromedp.AttributeValue(`#nav-api`, "href", &href, nil))
	if href != "api.html" {
		t.Fatalf("the console links the reference as %q", href)
	}

	tb.run(chromedp.Navigate(srv.base + "/console/api.html"))
	tb.until(`document.querySelectorAll('.opblock').length > 20`)
	if title := tb.text(`.info .title`); !strings.Contains(title, "hookgate") {
		t.Fatalf("reference title %q", title)
	}
	var paths []string
	tb.eval(`[...document.querySelectorAll('.opblock-summary-path')].map(e => e.textContent.replace(/\u200b/g, ''))`, &paths)
	for _, want := range []string{"/v1/webhooks", "/v1/events", "/v1/deliveries/{id}/retry", "/v1/webhooks/{id}/rotate-secret"} {
		found := false
		for _, p := range paths {
			if strings.TrimSpace(p) == want {
				found = true
			}
		}
		if !found {
			t.Errorf("the reference shows no %s (shows %d paths)", want, len(paths))
		}
	}
	// Every resource came from this server: no request left its origin.
	var outside []string
	tb.eval(`performance.getEntriesByType('resource').map(e => e.name).filter(u => !u.startsWith(location.origin))`, &outside)
	if len(outside) > 0 {
		t.Fatalf("the reference fetched from outside: %v", outside)
	}
}
