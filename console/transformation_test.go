package console_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestConsoleEditsAndTriesATransformation(t *testing.T) {
	srv := startServer(t, nil)
	tb := newTab(t, 1024, 768)
	admin := srv.token("acme", "admin")
	tb.signIn(srv.base, admin)
	tb.run(chromedp.Click("#wh-new"), chromedp.WaitVisible(`label[data-name="deal.created"]`),
		chromedp.SendKeys("dialog input[name=name]", "Chat"),
		chromedp.SetValue(`.endpoint-row[data-index="0"] .ep-url`, "https://hooks.example.com/chat"),
		chromedp.Click(`label[data-name="deal.created"] input`),
		chromedp.WaitVisible("#wh-transformation"))
	// A failing script shows its error.
	tb.set("#wh-transformation", "function handler(input) {\n  throw new Error('nope');\n}", "input")
	tb.run(chromedp.Click("#transformation-try"))
	tb.until(`document.querySelector('#transformation-status').textContent.startsWith('Error:')`)
	if msg := tb.text("#transformation-status"); !strings.Contains(msg, "Error: nope (line 2:") {
		t.Fatalf("status %q", msg)
	}
	// A working one shows the body it returns, with its headers.
	tb.set("#wh-transformation", `function handler(input) { return {body: {text: "New " + input.event.type}, headers: {"X-Team": "sales"}}; }`, "input")
	tb.run(chromedp.Click("#transformation-try"))
	tb.until(`!document.querySelector('#transformation-result').hidden`)
	if out := tb.text("#transformation-result"); !strings.Contains(out, "X-Team: sales") || !strings.Contains(out, `{"text":"New `) {
		t.Fatalf("result %q", out)
	}
	tb.run(chromedp.Click("#save"))
	var list struct {
		Data []struct {
			Transformation        string `json:"transformation"`
			TransformationVersion int    `json:"transformation_version"`
		}
	}
	tb.until(`document.querySelector('dialog[open]') && document.querySelector('dialog[open]').textContent.includes('is created')`)
	srv.api("GET", "/v1/webhooks", admin, nil, &list)
	if len(list.Data) != 1 || !strings.Contains(list.Data[0].Transformation, `"X-Team": "sales"`) || list.Data[0].TransformationVersion != 1 {
		t.Fatalf("saved %+v", list.Data)
	}
}
