package console_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/plugins/host/hosttest"
)

// pluginBinary returns the built-in plugin name (hosttest.Builtin).
func pluginBinary(t *testing.T, name string) string { return hosttest.Builtin(t, name) }

// TestConsoleFormatsComeFromLoadedPlugins loads the CloudCX plugin: the
// plugins page shows it healthy with its version and format, the dialog
// offers its format, and choosing it offers only the events it sends.
func TestConsoleFormatsComeFromLoadedPlugins(t *testing.T) {
	bin := pluginBinary(t, "cloudcx")
	srv := startServer(t, func(c *config.Config) {
		c.Plugins = []config.Plugin{{Name: "cloudcx", Path: bin}}
	})
	admin := srv.token("acme", "admin")
	tb := newTab(t, 1280, 900)
	tb.signIn(srv.base, admin)

	tb.run(chromedp.Click(`a[data-nav="plugins"]`), chromedp.WaitVisible(`#pl-table tr[data-name="cloudcx"]`))
	if h := tb.text(`#pl-table tr[data-name="cloudcx"] td[data-label="Health"] .badge`); h != "Healthy" {
		t.Fatalf("health %q", h)
	}
	if v := tb.text(`#pl-table tr[data-name="cloudcx"] td[data-label="Version"]`); v == "" || v == "—" {
		t.Fatalf("version %q", v)
	}
	if f := tb.text(`#pl-table tr[data-name="cloudcx"] td[data-label="Formats"]`); f != "cloudcx" {
		t.Fatalf("formats %q", f)
	}
	tb.shot("console-plugins.png")

	tb.run(chromedp.Click(`a[data-nav="webhooks"]`), chromedp.WaitVisible("#wh-new"), chromedp.Click("#wh-new"),
		chromedp.WaitVisible(`label[data-name="deal.created"]`))
	tb.until(`!!document.querySelector('dialog select[name=format] option[value="cloudcx"]')`)
	tb.set("dialog select[name=format]", "cloudcx", "change")
	tb.until(`!document.querySelector('label[data-name="deal.created"]') && [...document.querySelectorAll('dialog input.ev')].map(e => e.value).sort().join() === 'contact.created,contact.deleted,contact.updated'`)
	tb.run(chromedp.SendKeys("dialog input[name=name]", "CloudCX contacts"),
		chromedp.SetValue(`.endpoint-row[data-index="0"] .ep-url`, "https://cx.example.com/hook"),
		chromedp.Click(`label[data-name="contact.*"] input`), chromedp.Click("#save"), chromedp.WaitVisible("#done"))
	var list struct {
		Data []struct {
			Format string   `json:"format"`
			Events []string `json:"events"`
		}
	}
	srv.api("GET", "/v1/webhooks", admin, nil, &list)
	if len(list.Data) != 1 || list.Data[0].Format != "cloudcx" || len(list.Data[0].Events) != 1 || list.Data[0].Events[0] != "contact.*" {
		t.Fatalf("saved %+v", list.Data)
	}
}
