package console_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/store"
)

// TestConsoleLoginLinkSignsInOnceAndLeavesNoTokenInTheURL follows a
// one-time login link as `hookgate token --console` prints it: the console
// signs in, no URL holds the code or the token afterwards (address bar and
// history), and the same link does not work a second time.
func TestConsoleLoginLinkSignsInOnceAndLeavesNoTokenInTheURL(t *testing.T) {
	srv := startServer(t, nil)
	admin := srv.token("acme", "admin")
	code, err := store.NewLoginCodes(srv.app.Redis, srv.cfg.Redis.Prefix).Issue(context.Background(), admin, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	link := srv.base + "/console/#login=" + code
	tb := newTab(t, 1024, 768)
	tb.run(chromedp.Navigate(link), chromedp.WaitVisible("#wh-empty"))
	var state struct {
		Href    string `json:"href"`
		Stored  string `json:"stored"`
		History int    `json:"history"`
	}
	tb.eval(`({href: location.href, stored: sessionStorage.getItem('hookgate.token') || '', history: history.length})`, &state)
	if strings.Contains(state.Href, code) || strings.Contains(state.Href, admin) || strings.Contains(state.Href, "login=") {
		t.Fatalf("the address bar still holds the login code: %s", state.Href)
	}
	if state.Stored != admin {
		t.Fatal("the token of the link is not in session storage")
	}
	// Going back does not return to the link: it was replaced, not pushed.
	if state.History != 2 { // about:blank, then the console
		t.Fatalf("history length %d, want 2", state.History)
	}
	if who := tb.text("#who"); !strings.Contains(who, "acme") {
		t.Fatalf("header shows %q", who)
	}

	// Sign out, then the same link again: refused with a clear message.
	tb.run(chromedp.Click("#signout"), chromedp.WaitVisible("#token"))
	// (Same document: only the fragment changes, as when the link is pasted
	// into a tab where the console is open.)
	tb.run(chromedp.Evaluate(`location.href = `+quote(link), nil), chromedp.WaitVisible(".signin .note.error"))
	if msg := tb.text(".signin .note.error"); !strings.Contains(msg, "already used") {
		t.Fatalf("second use of the link says %q", msg)
	}
	var stored string
	tb.eval(`sessionStorage.getItem('hookgate.token') || ''`, &stored)
	if stored != "" {
		t.Fatal("a used login link signed in")
	}
}

// TestConsoleShowsHTTPSRequirementNextToTheURL runs hookgate as shipped
// (https endpoints only) and checks the API's message for an http:// URL
// appears next to that endpoint, on Test endpoints and on Save.
func TestConsoleShowsHTTPSRequirementNextToTheURL(t *testing.T) {
	srv := startServer(t, func(c *config.Config) { c.Delivery.AllowHTTP = false })
	tb := newTab(t, 1024, 768)
	tb.signIn(srv.base, srv.token("acme", "admin"))
	slot := `dialog [data-error-for="endpoints[1].url"]`
	tb.run(chromedp.Click("#wh-new"), chromedp.WaitVisible(`label[data-name="deal.created"]`),
		chromedp.SendKeys("dialog input[name=name]", "Plain HTTP"),
		chromedp.SetValue(`.endpoint-row[data-index="0"] .ep-url`, "https://hooks.example.com/a"),
		chromedp.Click("#add-endpoint"), chromedp.WaitVisible(`.endpoint-row[data-index="1"] .ep-url`),
		chromedp.SetValue(`.endpoint-row[data-index="1"] .ep-url`, "http://hooks.example.com/b"),
		chromedp.Click(`label[data-name="deal.created"] input`),
		chromedp.Click("#test-endpoints"))
	if msg := tb.text(slot); msg != hookgate.MsgHTTPSRequired {
		t.Fatalf("test endpoints: message next to the http URL %q", msg)
	}
	var ok bool
	tb.eval(`document.querySelector('.endpoint-row[data-index="1"] .ep-url').getAttribute('aria-invalid') === 'true' && document.querySelector('[data-error-for="endpoints[0].url"]').hidden`, &ok)
	if !ok {
		t.Fatal("the error is not on the http endpoint alone")
	}
	tb.run(chromedp.Click("#save"))
	tb.until(`!document.querySelector('#save').disabled && document.querySelector('` + slot + `').textContent === ` + strconv.Quote(hookgate.MsgHTTPSRequired))
	var n struct{ Data []any }
	srv.api("GET", "/v1/webhooks", srv.token("acme", "admin"), nil, &n)
	if len(n.Data) != 0 {
		t.Fatal("a webhook with an http:// endpoint was saved")
	}
}
