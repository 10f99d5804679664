package console_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/testenv"
)

// TestConsoleShowsHealthChartAndAutoPause drives the list and the webhook
// page against the real API: seed 000's Category / Action columns and a
// Format column, every row's Delete visible and no horizontal scroll at
// 1280 px; the health summary; the auto-pause banner with the kept reason
// and Resume; a disabled webhook shows Disabled and offers Enable, not
// Pause; the webhook page's chart counts what the stats route counts; test
// results say "Failed:" once; the incoming request log shows why a call was
// denied; and the pages fit 390 px.
func TestConsoleShowsHealthChartAndAutoPause(t *testing.T) {
	srv := startServer(t, func(c *config.Config) {
		c.Lifecycle.AutoPauseAfter = 2
		c.Incoming.Scopes = map[string]config.Scope{"crm": {Prefixes: []string{"/crm/"}, Upstream: "http://127.0.0.1:9"}}
	})
	srv.requireRoute("GET /v1/webhooks/:id/stats")
	admin, pub := srv.token("acme", "admin"), srv.token("acme", "publisher")
	good := receiver.NewRecorder()
	goodSrv := httptest.NewServer(good)
	defer goodSrv.Close()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer broken.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL + "/gone"
	closed.Close()

	var erp, feed, off webhookJSON
	srv.api("POST", "/v1/webhooks", admin, map[string]any{"name": "ERP Sync",
		"endpoints": []map[string]any{{"url": goodSrv.URL + "/a/rather/long/path/for/the/erp/receiver/that/must/not/wrap/mid/word"}, {"url": broken.URL + "/hook"}},
		"events":    []string{"contact.created"}}, &erp)
	srv.api("POST", "/v1/webhooks", admin, map[string]any{"name": "Broken feed",
		"endpoints": []map[string]any{{"url": broken.URL + "/feed"}}, "events": []string{"deal.won"}}, &feed)
	srv.api("POST", "/v1/webhooks", admin, map[string]any{"name": "Switched off", "enabled": false,
		"endpoints": []map[string]any{{"url": goodSrv.URL + "/off"}}, "events": []string{"calendar_event.created"}}, &off)
	for i := range 2 {
		for _, typ := range []string{"contact.created", "deal.won"} {
			if st := srv.api("POST", "/v1/events", pub, map[string]any{"type": typ, "data": map[string]any{"n": i}}, nil); st != 202 {
				t.Fatalf("publish %s: %d", typ, st)
			}
		}
	}
	type stats struct {
		Succeeded, Failed int
		P50MS             float64 `json:"p50_ms"`
		P95MS             float64 `json:"p95_ms"`
	}
	var st stats
	var fw struct {
		Status          string `json:"status"`
		StatusReason    string `json:"status_reason"`
		StatusChangedAt string `json:"status_changed_at"`
	}
	testenv.Eventually(t, 30*time.Second, "2 succeeded and 2 failed deliveries of ERP Sync, Broken feed auto-paused", func() bool {
		srv.api("GET", "/v1/webhooks/"+erp.ID+"/stats", admin, nil, &st)
		srv.api("GET", "/v1/webhooks/"+feed.ID, admin, nil, &fw)
		return st.Succeeded == 2 && st.Failed == 2 && fw.Status == "error"
	})
	if fw.StatusReason == "" {
		t.Fatalf("auto-paused webhook has no status_reason: %+v", fw)
	}

	tb := newTab(t, 1280, 900)
	tb.signIn(srv.base, admin)
	row := func(id string) string { return fmt.Sprintf(`#wh-table tr[data-id=%q]`, id) }
	tb.run(chromedp.WaitVisible(row(erp.ID)), chromedp.WaitVisible(row(off.ID)))
	var heads []string
	tb.eval(`[...document.querySelectorAll('#wh-table thead th')].map((th) => th.textContent.replace(/[▲▼]/g, '').trim())`, &heads)
	if got := strings.Join(heads, "|"); got != "Name|Category|Action|Format|Endpoints|Status|Health|Last delivery|Actions" {
		t.Fatalf("columns %s", got)
	}
	for sel, want := range map[string]string{
		row(erp.ID) + ` td[data-label="Category"]`: "Contacts", row(erp.ID) + ` td[data-label="Action"]`: "Created",
		row(erp.ID) + ` td[data-label="Format"]`: "standard", row(off.ID) + ` td[data-label="Category"]`: "Calendar events",
		row(erp.ID) + ` .health`: "50% of 4", row(off.ID) + ` [data-status]`: "Disabled",
	} {
		if got := strings.TrimSpace(tb.text(sel)); got != want {
			t.Fatalf("%s shows %q, want %q", sel, got, want)
		}
	}
	// A disabled webhook offers Enable, not Pause (the API would refuse it).
	var n int
	tb.eval(fmt.Sprintf(`document.querySelectorAll('%s [data-action="pause"], %s [data-action="resume"]').length`, row(off.ID), row(off.ID)), &n)
	if n != 0 || tb.text(row(off.ID)+` [data-action="enable"]`) != "Enable" {
		t.Fatalf("disabled webhook offers %d pause/resume buttons", n)
	}
	// The auto-pause banner: the seed's notice, the kept reason, the time and Resume.
	banner := fmt.Sprintf(`#wh-banners .banner[data-webhook=%q]`, feed.ID)
	text := tb.text(banner)
	if !strings.Contains(text, "Broken feed") || !strings.Contains(text, "has been paused due to repeated failures") || !strings.Contains(text, fw.StatusReason) ||
		!strings.Contains(text, "Paused ") || tb.text(banner+` [data-action="resume"]`) != "Resume" {
		t.Fatalf("banner %q (reason %q)", text, fw.StatusReason)
	}
	// 1280 px: no horizontal scroll, every Delete inside the window, URLs on one line with an ellipsis.
	tb.until(noSideScroll)
	var outside int
	tb.eval(`[...document.querySelectorAll('#wh-table [data-action="delete"]')].filter((b) => { const r = b.getBoundingClientRect(); return r.right > window.innerWidth || r.width === 0; }).length`, &outside)
	if outside != 0 {
		t.Fatalf("%d Delete buttons are off-screen at 1280 px", outside)
	}
	var wrapped int
	tb.eval(`[...document.querySelectorAll('#wh-table .url')].filter((u) => getComputedStyle(u).whiteSpace !== 'nowrap' || getComputedStyle(u).textOverflow !== 'ellipsis' || u.title !== u.textContent).length`, &wrapped)
	if wrapped != 0 {
		t.Fatalf("%d endpoint URLs may wrap mid-word or lack their full text as title", wrapped)
	}
	tb.shot("console-health.png")

	// The webhook page: the chart counts what the stats route counts.
	tb.run(chromedp.Click(row(erp.ID)+` a.wh-link`), chromedp.WaitVisible("#wh-chart"))
	var drawn struct{ S, F, Bars int }
	tb.eval(`(() => { const g = [...document.querySelectorAll('#wh-chart g.hour')];
	  return { S: g.reduce((a, x) => a + +x.dataset.succeeded, 0), F: g.reduce((a, x) => a + +x.dataset.failed, 0),
	    Bars: document.querySelectorAll('#wh-chart rect.bar-ok, #wh-chart rect.bar-fail').length }; })()`, &drawn)
	if drawn.S != 2 || drawn.F != 2 || drawn.Bars < 2 {
		t.Fatalf("chart draws %+v, want 2 succeeded and 2 failed", drawn)
	}
	if p50 := tb.text("#kpi-p50 .v"); p50 != fmt.Sprintf("%v ms", st.P50MS) {
		t.Fatalf("p50 shows %q, stats say %v", p50, st.P50MS)
	}
	for sel, want := range map[string]string{"#kpi-succeeded .v": "2", "#kpi-failed .v": "2", "#kpi-health .v": "50%"} {
		if got := tb.text(sel); got != want {
			t.Fatalf("%s shows %q, want %q", sel, got, want)
		}
	}
	if got := tb.text(fmt.Sprintf(`#wp-endpoints tr[data-id=%q] .health`, erp.Endpoints[0].ID)); !strings.Contains(got, "100% of 2") {
		t.Fatalf("good endpoint's health %q", got)
	}
	tb.until(noSideScroll)
	tb.shot("console-webhook.png")

	// The auto-paused webhook's page has the banner too; Resume resumes it.
	tb.run(chromedp.Navigate(srv.base+"/console/#/webhooks/"+feed.ID), chromedp.WaitVisible(`#wp-head .banner [data-action="resume"]`))
	tb.run(chromedp.Click(`#wp-head .banner [data-action="resume"]`), chromedp.WaitNotPresent(`#wp-head .banner`))
	testenv.Eventually(t, 30*time.Second, "Broken feed resumed", func() bool {
		srv.api("GET", "/v1/webhooks/"+feed.ID, admin, nil, &fw)
		return fw.Status != "error"
	})

	// Test results: one "Failed:", then the reason.
	tb.run(chromedp.Navigate(srv.base+"/console/#/webhooks"), chromedp.WaitVisible("#wh-new"), chromedp.Click("#wh-new"),
		chromedp.WaitVisible(`label[data-name="contact.created"]`),
		chromedp.SetValue(`.endpoint-row[data-index="0"] .ep-url`, closedURL), chromedp.Click("#add-endpoint"),
		chromedp.WaitVisible(`.endpoint-row[data-index="1"] .ep-url`),
		chromedp.SetValue(`.endpoint-row[data-index="1"] .ep-url`, broken.URL+"/t"), chromedp.Click("#test-endpoints"),
		chromedp.WaitVisible(`.endpoint-row[data-index="1"] .test-result.fail`))
	refused := tb.text(`.endpoint-row[data-index="0"] .test-result.fail`)
	if !strings.HasPrefix(refused, "Failed: ") || strings.Count(strings.ToLower(refused), "failed") != 1 {
		t.Fatalf("refused endpoint's test shows %q", refused)
	}
	if got := tb.text(`.endpoint-row[data-index="1"] .test-result.fail`); got != "Failed: 500" {
		t.Fatalf("failing endpoint's test shows %q", got)
	}
	// The toast about the test is seen above the open dialog.
	var onTop bool
	tb.eval(`(() => { const t = [...document.querySelectorAll('.toast')].pop(); if (!t) return false;
	  const r = t.getBoundingClientRect(); const e = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
	  return !!e && t.contains(e); })()`, &onTop)
	if !onTop {
		t.Fatal("the test's toast is hidden behind the dialog")
	}
	tb.run(chromedp.Click("#cancel"), chromedp.WaitNotPresent("dialog"))

	// The incoming request log shows why a call was denied (the API's denied).
	var in struct {
		ID  string `json:"id"`
		URL string `json:"url"`
	}
	if code := srv.api("POST", "/v1/incoming-webhooks", admin, map[string]any{"name": "Forms", "scopes": []string{"crm"}}, &in); code != 201 {
		t.Fatalf("create incoming webhook: %d", code)
	}
	u, err := url.Parse(in.URL)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Post(srv.base+strings.TrimSuffix(u.Path, "/")+"/tasks/1", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var log struct {
		Data []struct {
			Denied string `json:"denied"`
		} `json:"data"`
	}
	// The request log is written in batches after the answer: wait for it.
	testenv.Eventually(t, 10*time.Second, "the denied call in the request log", func() bool {
		srv.api("GET", "/v1/incoming-webhooks/"+in.ID+"/requests", admin, nil, &log)
		return len(log.Data) > 0 && log.Data[0].Denied != ""
	})
	tb.run(chromedp.Navigate(srv.base+"/console/#/incoming/"+in.ID+"/requests"), chromedp.WaitVisible("#rq-body td.denied"))
	if got := tb.text("#rq-body td.denied"); got != log.Data[0].Denied {
		t.Fatalf("Denied because shows %q, the API says %q", got, log.Data[0].Denied)
	}

	// 390 px: the list and the webhook page fit.
	phone := newTab(t, 390, 844)
	phone.signIn(srv.base, admin)
	phone.run(chromedp.WaitVisible(row(erp.ID)))
	phone.until(noSideScroll)
	phone.shot("console-phone-health.png")
	phone.run(chromedp.Navigate(srv.base+"/console/#/webhooks/"+erp.ID), chromedp.WaitVisible("#wh-chart"))
	phone.until(noSideScroll)
	phone.shot("console-phone-webhook.png")
}
