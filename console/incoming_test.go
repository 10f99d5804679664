package console_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hookgate/hookgate/config"
)

// TestConsoleManagesIncomingWebhooks creates an incoming webhook through the
// console (issue 7's API), copies its address, disables, rotates and deletes
// it, and opens its request log. It runs once the server has the routes.
func TestConsoleManagesIncomingWebhooks(t *testing.T) {
	srv := startServer(t, func(c *config.Config) {
		c.Incoming.Scopes = map[string]config.Scope{
			"crm":   {Prefixes: []string{"/crm/"}, Upstream: "http://127.0.0.1:9"},
			"tasks": {Prefixes: []string{"/tasks/"}, Upstream: "http://127.0.0.1:9"},
		}
	})
	srv.requireRoute("POST /v1/incoming-webhooks")
	srv.requireRoute("POST /v1/incoming-webhooks/:id/rotate")
	srv.requireRoute("GET /v1/incoming-webhooks/:id/requests")
	admin := srv.token("acme", "admin")
	tb := newTab(t, 1280, 900)
	tb.grantClipboard(srv.base)
	tb.signIn(srv.base, admin)

	tb.run(chromedp.Click(`a[data-nav="incoming"]`), chromedp.WaitVisible("#in-empty"),
		chromedp.Click("#in-new"), chromedp.WaitVisible("#scope-crm"))
	// The dialog offers the configured scopes, and only those.
	var offered []string
	tb.eval(`[...document.querySelectorAll('input.scope')].map((b) => b.value)`, &offered)
	if strings.Join(offered, ",") != "crm,tasks" {
		t.Fatalf("scopes offered %v, want the configured crm and tasks", offered)
	}
	tb.run(chromedp.SendKeys("dialog input[required]", "Website forms"),
		chromedp.Click("#scope-crm"), chromedp.Click("#scope-tasks"), chromedp.Click("#in-save"))
	addr := tb.text("#in-address")
	if !strings.Contains(addr, "/in/") {
		t.Fatalf("address shown %q", addr)
	}
	tb.run(chromedp.Click("#copy-address"))
	tb.until(`document.querySelector('#copy-address').dataset.copied === 'yes'`)
	var clip string
	tb.eval(`navigator.clipboard.readText()`, &clip)
	if clip != addr {
		t.Fatalf("clipboard %q, want the address %q", clip, addr)
	}
	tb.run(chromedp.Click("dialog .buttons button"), chromedp.WaitVisible(`#in-table tr[data-name="Website forms"]`))

	var list struct {
		Data []struct {
			ID      string   `json:"id"`
			Name    string   `json:"name"`
			Scopes  []string `json:"scopes"`
			Enabled bool     `json:"enabled"`
			URL     string   `json:"url"`
		}
	}
	srv.api("GET", "/v1/incoming-webhooks", admin, nil, &list)
	if len(list.Data) != 1 || list.Data[0].Name != "Website forms" || len(list.Data[0].Scopes) != 2 || !list.Data[0].Enabled {
		t.Fatalf("API lists %+v", list.Data)
	}
	in := list.Data[0]
	row := fmt.Sprintf(`#in-table tr[data-id=%q]`, in.ID)

	tb.run(chromedp.Click(row + ` [data-action="disable"]`))
	tb.run(chromedp.WaitVisible(row + ` [data-action="enable"]`))
	srv.api("GET", "/v1/incoming-webhooks", admin, nil, &list)
	if list.Data[0].Enabled {
		t.Fatal("Disable did not disable")
	}

	tb.run(chromedp.Click(row+` [data-action="rotate"]`), chromedp.WaitVisible(`dialog [data-action="confirm"]`),
		chromedp.Click(`dialog [data-action="confirm"]`))
	rotated := tb.text("#in-address")
	if rotated == addr || !strings.Contains(rotated, "/in/") {
		t.Fatalf("rotated address %q (was %q)", rotated, addr)
	}
	tb.run(chromedp.Click("dialog .buttons button"), chromedp.WaitNotPresent("dialog"))

	// The list re-renders when the dialog closes: click whichever row is
	// there once it is (a node found before the refresh may be gone).
	tb.until(`(() => { const a = document.querySelector(` + strconv.Quote(row+` a[href$="/requests"]`) + `); if (!a) return false; a.click(); return true })()`)
	tb.run(chromedp.WaitVisible("#rq-body"))
	tb.until(`!!document.querySelector('#rq-empty') || !!document.querySelector('#rq-body table')`)

	tb.run(chromedp.Click(`a[data-nav="incoming"]`), chromedp.WaitVisible(row),
		chromedp.Click(row+` [data-action="delete"]`), chromedp.WaitVisible(`dialog [data-action="confirm"]`),
		chromedp.Click(`dialog [data-action="confirm"]`), chromedp.WaitVisible("#in-empty"))
}
