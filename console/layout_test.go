package console_test

import (
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/hookgate/hookgate/internal/receiver"
)

// noSideScroll is true when the page fits the viewport's width.
const noSideScroll = `document.documentElement.scrollWidth <= window.innerWidth`

// TestConsoleIsReadableOnAPhoneAndUsableByKeyboard opens the console at a
// phone's width: the list, the dialog and the delivery log fit without
// horizontal scrolling; the dialog opens, fills, saves and closes by
// keyboard, and a delivery expands with Enter.
func TestConsoleIsReadableOnAPhoneAndUsableByKeyboard(t *testing.T) {
	srv := startServer(t, nil)
	admin := srv.token("acme", "admin")
	rec := receiver.NewRecorder()
	hs := httptest.NewServer(rec)
	defer hs.Close()
	var w struct{ ID string }
	srv.api("POST", "/v1/webhooks", admin, map[string]any{"name": "A webhook with a rather long name for a phone",
		"endpoints": []map[string]any{{"url": hs.URL + "/a/very/long/path/that/would/not/fit/on/a/narrow/screen/without/wrapping"}},
		"events":    []string{"contact.created", "contact.updated", "deal.*", "task.created", "lead.created"}}, &w)

	tb := newTab(t, 390, 844)
	tb.signIn(srv.base, admin)
	var width int
	tb.eval(`window.innerWidth`, &width)
	if width != 390 {
		t.Fatalf("viewport %d px wide, want 390", width)
	}
	tb.run(chromedp.WaitVisible(fmt.Sprintf(`tr[data-id=%q]`, w.ID)))
	tb.until(noSideScroll)
	tb.shot("console-phone.png")

	// Keyboard: Enter on "New webhook" opens the dialog with focus on Name;
	// Escape closes it.
	tb.run(chromedp.Focus("#wh-new"), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible("dialog .webhook-form"))
	tb.until(`document.activeElement && document.activeElement.name === 'name'`)
	tb.run(chromedp.WaitVisible(`label[data-name="contact.created"]`))
	tb.until(noSideScroll)
	tb.run(chromedp.KeyEvent(kb.Escape), chromedp.WaitNotPresent("dialog"))

	// Create one by keyboard alone: type, Tab to the controls, Space to tick, Enter to save.
	tb.run(chromedp.Focus("#wh-new"), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(`label[data-name="contact.created"]`),
		chromedp.KeyEvent("Keyboard hook"),
		chromedp.Focus(`.endpoint-row[data-index="0"] .ep-url`), chromedp.KeyEvent(hs.URL+"/k"),
		chromedp.Focus(`label[data-name="contact.created"] input`), chromedp.KeyEvent(" "),
		chromedp.Focus("#save"), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible("#done"),
		chromedp.KeyEvent(kb.Enter), chromedp.WaitNotPresent("dialog"),
		chromedp.WaitVisible(`tr[data-name="Keyboard hook"]`))

	// The delivery log, after a test send, expands by keyboard.
	srv.api("POST", "/v1/webhooks/"+w.ID+"/test", admin, nil, nil)
	tb.run(chromedp.Navigate(srv.base+"/console/#/webhooks/"+w.ID+"/deliveries"), chromedp.WaitVisible("#dl-table button.expand"),
		chromedp.Focus("#dl-table button.expand"), chromedp.KeyEvent(kb.Enter))
	tb.until(`document.querySelector('#dl-table button.expand').getAttribute('aria-expanded') === 'true' && !!document.querySelector('tr.detail pre.payload')`)
	tb.until(noSideScroll)
	tb.shot("console-phone-deliveries.png")
}
