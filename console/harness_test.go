package console_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/hookgate/hookgate/app"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/apptest"
	"github.com/hookgate/hookgate/internal/testenv"
)

// -screenshots rewrites the console screenshots in docs/ (for README.md).
var screenshots = flag.Bool("screenshots", false, "save console screenshots into ../docs/")

// server is a running hookgate on loopback with its own Redis prefix.
type server struct {
	t    *testing.T
	app  *app.App
	base string
	cfg  config.Config
}

// startServer runs the real hookgate (apptest.Start) against real Redis,
// with delivery to loopback allowed and short retry delays, changed by
// mutate.
func startServer(t *testing.T, mutate func(*config.Config)) *server {
	t.Helper()
	cfg := testenv.Config("hgconsole")
	cfg.Delivery.Concurrency = 16
	cfg.Log.Level = "warn"
	srv := apptest.Start(t, cfg, slog.LevelWarn, mutate)
	return &server{t: t, app: srv.App, base: srv.Base, cfg: srv.Cfg}
}

// hasRoute reports whether the running gateway registered "METHOD /path"
// (Fiber's :param form): routes of features built on other branches are
// tested once they are there.
func (s *server) hasRoute(route string) bool {
	return slices.Contains(s.app.Gateway.Routes(), route)
}

func (s *server) requireRoute(route string) {
	s.t.Helper()
	if !s.hasRoute(route) {
		s.t.Fatalf("the server has no %s route, which the console uses", route)
	}
}

func (s *server) token(tenant string, roles ...string) string {
	s.t.Helper()
	return apptest.Token(s.t, s.cfg.Auth, tenant, roles...)
}

// api calls the JSON API and decodes the answer into out (when not nil).
func (s *server) api(method, path, token string, body any, out any) int {
	s.t.Helper()
	r := testenv.Do(s.t, method, s.base+path, token, body)
	if out != nil && len(r.Body) > 0 {
		if err := json.Unmarshal(r.Body, out); err != nil {
			s.t.Fatalf("%s %s: decode %s: %v", method, path, r.Body, err)
		}
	}
	return r.Status
}

// chromium finds the browser: $CHROMIUM, or Debian's chromium on PATH.
func chromium(t *testing.T) string {
	t.Helper()
	testenv.SkipShort(t, "browser test: drives Chromium")
	for _, c := range []string{os.Getenv("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	if os.Getenv("HOOKGATE_REQUIRE_BROWSER") != "" {
		t.Fatal("no chromium found; run scripts/ensure-chromium.sh (make test does)")
	}
	t.Skip("no chromium found: the browser tests need Debian's chromium (make test installs it with scripts/ensure-chromium.sh)")
	return ""
}

// tab is one headless Chromium tab on a fresh profile; it records every
// uncaught JavaScript exception and console error so that a test fails on
// any of them.
type tab struct {
	t    *testing.T
	ctx  context.Context
	mu   sync.Mutex
	errs []string
}

// newTab starts Chromium for one test, on a fresh profile, with a tab of
// width x height CSS pixels. The browser is stopped when the test ends,
// before its server shuts down (cleanups run last-in first-out), so no
// connection the browser keeps open delays the server's graceful shutdown.
func newTab(t *testing.T, width, height int) *tab {
	t.Helper()
	exe := chromium(t)
	profile, err := os.MkdirTemp("", "hookgate-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(profile) })
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(width, height),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	// chromedp logs protocol events it does not know (newer Chromium) as
	// errors: noise here. Page errors are caught below.
	quiet := func(string, ...any) {}
	browserCtx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithErrorf(quiet), chromedp.WithLogf(quiet))
	ctx, cancelTimeout := context.WithTimeout(browserCtx, 90*time.Second)
	tb := &tab{t: t, ctx: ctx}
	t.Cleanup(func() {
		cancelTimeout()
		cancelBrowser()
		cancelAlloc() // kills the browser process and waits for it to exit
	})
	chromedp.ListenTarget(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			tb.record("exception: " + e.ExceptionDetails.Text + " " + describe(e.ExceptionDetails.Exception))
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, describe(a))
				}
				tb.record("console.error: " + strings.Join(parts, " "))
			}
		}
	})
	// The viewport is set explicitly: a headless window alone may be wider
	// than asked.
	if err := chromedp.Run(ctx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		for _, e := range tb.errs {
			t.Errorf("browser: %s", e)
		}
	})
	return tb
}

func describe(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	if o.Description != "" {
		return o.Description
	}
	return string(o.Value)
}

func (tb *tab) record(s string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.errs = append(tb.errs, s)
}

// grantClipboard lets the console write and the test read the clipboard.
func (tb *tab) grantClipboard(origin string) {
	tb.t.Helper()
	tb.run(browser.GrantPermissions([]browser.PermissionType{browser.PermissionTypeClipboardReadWrite,
		browser.PermissionTypeClipboardSanitizedWrite}).WithOrigin(origin))
}

// run runs actions and fails the test with the step that failed.
func (tb *tab) run(actions ...chromedp.Action) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		tb.screenshotOnFailure()
		tb.t.Fatalf("browser: %v", err)
	}
}

// text returns the text content of the first element matching sel, once visible.
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	var s string
	tb.run(chromedp.WaitVisible(sel), chromedp.TextContent(sel, &s))
	return strings.TrimSpace(s)
}

// until waits (polling in the page, no sleeps) until the JavaScript
// expression is truthy.
func (tb *tab) until(expr string) {
	tb.t.Helper()
	var ok bool
	tb.run(chromedp.Poll(expr, &ok, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second)))
}

func (tb *tab) eval(expr string, out any) {
	tb.t.Helper()
	tb.run(chromedp.Evaluate(expr, out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
}

// shot saves a screenshot into docs/ when -screenshots is given.
func (tb *tab) shot(name string) {
	tb.t.Helper()
	if !*screenshots {
		return
	}
	var png []byte
	// Toasts are feedback of earlier steps; keep them out of the picture.
	tb.run(chromedp.Evaluate(`document.querySelectorAll('.toast').forEach(t => t.remove())`, nil), chromedp.CaptureScreenshot(&png))
	if err := os.WriteFile(filepath.Join("..", "docs", name), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

func (tb *tab) screenshotOnFailure() {
	var png []byte
	ctx, cancel := context.WithTimeout(tb.ctx, 3*time.Second)
	defer cancel()
	if chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)) == nil {
		p := filepath.Join(os.TempDir(), "hookgate-console-failure-"+strings.ReplaceAll(tb.t.Name(), "/", "_")+".png")
		if os.WriteFile(p, png, 0o644) == nil {
			tb.t.Logf("screenshot of the failure: %s", p)
		}
	}
}

// signIn opens the console and signs in by pasting the token.
func (tb *tab) signIn(base, token string) {
	tb.t.Helper()
	tb.run(chromedp.Navigate(base+"/console/"), chromedp.WaitVisible("#token"),
		chromedp.SetValue("#token", token), chromedp.Click("#signin"),
		chromedp.WaitVisible("#wh-body"))
}

// quote makes s a JavaScript string literal.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// set gives the control sel the value and fires the event the console
// listens to (change for selects, input for text), as a user's edit does.
func (tb *tab) set(sel, value, event string) {
	tb.t.Helper()
	tb.run(chromedp.WaitVisible(sel), chromedp.Evaluate(fmt.Sprintf(`(() => { const e = document.querySelector(%s); e.value = %s; e.dispatchEvent(new Event(%s, {bubbles: true})); return true; })()`,
		quote(sel), quote(value), quote(event)), nil))
}
