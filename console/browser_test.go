package console_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hookgate/hookgate/internal/receiver"
)

type webhookJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Status    string `json:"status"`
	Enabled   bool   `json:"enabled"`
	Format    string `json:"format"`
	Events    []string
	Endpoints []struct {
		ID      string `json:"id"`
		URL     string `json:"url"`
		Enabled bool   `json:"enabled"`
	} `json:"endpoints"`
}

type deliveryJSON struct {
	ID         string `json:"id"`
	Status     string `json:"status"`
	StatusCode int    `json:"status_code"`
	Attempts   int    `json:"attempts"`
	URL        string `json:"url"`
	EventType  string `json:"event_type"`
}

// flaky answers 500 until fixed is set, then 200.
type flaky struct{ fixed atomic.Bool }

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.fixed.Load() {
		w.WriteHeader(http.StatusOK)
		return
	}
	http.Error(w, `{"error":"temporarily broken"}`, http.StatusInternalServerError)
}

// TestConsoleManagesOutgoingWebhooks drives the console in a real Chromium
// against the real hookgate, Redis and loopback receivers: sign in, create a
// webhook with two endpoints through the dialog, test its endpoints, search
// and sort, publish an event and follow it in the delivery log, retry a
// failed delivery, edit, delete with confirmation, the plugins page, and sign
// out.
func TestConsoleManagesOutgoingWebhooks(t *testing.T) {
	srv := startServer(t, nil)
	admin := srv.token("acme", "admin")
	pub := srv.token("acme", "publisher")
	live := receiver.NewRecorder()
	liveSrv := httptest.NewServer(live)
	defer liveSrv.Close()
	broken := &flaky{}
	brokenSrv := httptest.NewServer(broken)
	defer brokenSrv.Close()

	tb := newTab(t, 1280, 900)
	tb.grantClipboard(srv.base)

	// A token the API refuses is explained next to the token field.
	tb.run(chromedp.Navigate(srv.base+"/console/"), chromedp.WaitVisible("#token"),
		chromedp.SetValue("#token", "not-a-token"), chromedp.Click("#signin"))
	if msg := tb.text(`[data-error-for="token"]`); !strings.Contains(msg, "not accepted") {
		t.Fatalf("bad token message %q", msg)
	}
	// A publisher token is not an admin token.
	tb.run(chromedp.SetValue("#token", pub), chromedp.Click("#signin"))
	tb.until(`document.querySelector('[data-error-for="token"]').textContent.includes("admin role")`)

	tb.signIn(srv.base, admin)
	if got := tb.text("#wh-empty .big"); got != "No webhooks yet" {
		t.Fatalf("empty state %q", got)
	}
	tb.shot("console-empty.png")

	// Create through the dialog: two endpoints, one event, generated secret.
	tb.run(chromedp.Click("#wh-new"), chromedp.WaitVisible("dialog .webhook-form"),
		chromedp.WaitVisible(`label[data-name="contact.created"]`),
		chromedp.SendKeys("dialog input[name=name]", "ERP Sync"),
		chromedp.SetValue(`.endpoint-row[data-index="0"] .ep-url`, liveSrv.URL+"/hook"),
		chromedp.Click("#add-endpoint"),
		chromedp.WaitVisible(`.endpoint-row[data-index="1"] .ep-url`),
		chromedp.SetValue(`.endpoint-row[data-index="1"] .ep-url`, brokenSrv.URL+"/hook"),
		chromedp.Click(`label[data-name="contact.created"] input`),
	)
	// Test endpoints: the seed's wording per URL.
	tb.run(chromedp.Click("#test-endpoints"))
	if got := tb.text(`.endpoint-row[data-index="0"] .test-result.ok`); got != "HTTP 200 OK = Success" {
		t.Fatalf("live endpoint test shows %q", got)
	}
	if got := tb.text(`.endpoint-row[data-index="1"] .test-result.fail`); got != "Failed: 500" {
		t.Fatalf("broken endpoint test shows %q", got)
	}
	if live.Count() != 1 {
		t.Fatalf("the live receiver got %d test requests, want 1", live.Count())
	}
	tb.shot("console-dialog.png")
	tb.run(chromedp.Click("#save"))
	secret := tb.text("#secret-value")
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret shown %q", secret)
	}
	tb.run(chromedp.Click("#copy-secret"))
	tb.until(`document.querySelector('#copy-secret').dataset.copied === 'yes'`)
	var clip string
	tb.eval(`navigator.clipboard.readText()`, &clip)
	if clip != secret {
		t.Fatalf("clipboard holds %q, want the secret", clip)
	}
	tb.run(chromedp.Click("#done"), chromedp.WaitVisible(`tr[data-name="ERP Sync"]`))

	var list struct{ Data []webhookJSON }
	srv.api("GET", "/v1/webhooks", admin, nil, &list)
	if len(list.Data) != 1 {
		t.Fatalf("API lists %d webhooks", len(list.Data))
	}
	hook := list.Data[0]
	if hook.Name != "ERP Sync" || len(hook.Endpoints) != 2 || hook.Endpoints[0].URL != liveSrv.URL+"/hook" ||
		hook.Endpoints[1].URL != brokenSrv.URL+"/hook" || len(hook.Events) != 1 || hook.Events[0] != "contact.created" || !hook.Enabled {
		t.Fatalf("saved webhook %+v", hook)
	}
	row := fmt.Sprintf(`tr[data-id=%q]`, hook.ID)
	if got := tb.text(row + ` [data-status]`); got != "Active" {
		t.Fatalf("status badge %q", got)
	}
	for _, u := range []string{liveSrv.URL, brokenSrv.URL} {
		if cell := tb.text(row + ` td[data-label="Endpoints"]`); !strings.Contains(cell, u) {
			t.Fatalf("endpoints cell %q lacks %s", cell, u)
		}
	}

	// Search and sort.
	for _, name := range []string{"Alpha CRM", "Zulu Billing"} {
		if st := srv.api("POST", "/v1/webhooks", admin, map[string]any{"name": name,
			"endpoints": []map[string]any{{"url": liveSrv.URL + "/" + name[:4]}}, "events": []string{"deal.*"}}, nil); st != 201 {
			t.Fatalf("create %s: %d", name, st)
		}
	}
	order := `[...document.querySelectorAll('#wh-table tbody tr')].map(r => r.dataset.name).join('|')`
	tb.set("#wh-sort", "-name", "change")
	tb.until(order + ` === "Zulu Billing|ERP Sync|Alpha CRM"`)
	tb.run(chromedp.Click("#wh-sort-name"))
	tb.until(order + ` === "Alpha CRM|ERP Sync|Zulu Billing"`)
	tb.run(chromedp.SendKeys("#wh-search", "zul"))
	tb.until(order + ` === "Zulu Billing"`)
	tb.run(chromedp.SendKeys("#wh-search", "zzz"))
	tb.until(`!!document.querySelector('#wh-body .empty') && document.querySelector('#wh-body .empty').textContent.includes('zulzzz')`)
	tb.set("#wh-search", "", "input")
	tb.until(order + ` === "Alpha CRM|ERP Sync|Zulu Billing"`)
	tb.shot("console-webhooks.png")

	// Send test from the row: one result per endpoint, in the seed's words.
	tb.run(chromedp.Click(row + ` [data-action="test"]`))
	tb.until(`[...document.querySelectorAll('dialog .results .test-result')].map(e => e.textContent).sort().join('|') === "Failed: 500|HTTP 200 OK = Success"`)
	tb.run(chromedp.Click("dialog .buttons button"), chromedp.WaitNotPresent("dialog"))

	// Publish an event through the API and follow it in the delivery log.
	before := live.Count()
	var accepted struct{ Deliveries int }
	if st := srv.api("POST", "/v1/events", pub, map[string]any{"type": "contact.created", "data": map[string]any{"first_name": "Ada"}}, &accepted); st != 202 || accepted.Deliveries != 2 {
		t.Fatalf("publish: %d %+v", st, accepted)
	}
	got, err := live.WaitFor(tb.ctx, before+1)
	if err != nil {
		t.Fatal(err)
	}
	// The secret the console showed once is the one deliveries are signed with.
	d := got[len(got)-1]
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(d.Header.Get("X-Webhook-Timestamp") + "." + string(d.Body)))
	if want := hex.EncodeToString(mac.Sum(nil)); d.Header.Get("X-Webhook-Signature") != want {
		t.Fatalf("delivery not signed with the secret the console showed")
	}

	tb.run(chromedp.Click(row+` a.deliveries-link`), chromedp.WaitVisible("#dl-body"))
	tb.until(`document.querySelector('h1').textContent === 'Delivery log — ERP Sync'`)
	// Auto-refresh brings in the event's deliveries: one succeeded, one failed after its retries.
	okRow := `#dl-table tr[data-status="succeeded"]:not(:has(.chip))`
	tb.until(`!!document.querySelector('` + okRow + `') && !!document.querySelector('#dl-table tr[data-status="failed"]:not(:has(.chip))')`)
	if badge := tb.text(okRow + ` td[data-label="Status"] .badge`); !strings.HasPrefix(badge, "200") {
		t.Fatalf("succeeded row status %q", badge)
	}
	tb.run(chromedp.Click(okRow + ` button.expand`))
	tb.until(`!!document.querySelector('tr.detail pre.payload') && document.querySelector('tr.detail pre.payload').textContent.includes('"Ada"')`)
	if hdrs := tb.text("tr.detail dl.headers"); !strings.Contains(hdrs, "X-Webhook-Signature") && !strings.Contains(strings.ToLower(hdrs), "webhook-signature") {
		t.Fatalf("request headers shown: %q", hdrs)
	}
	tb.shot("console-deliveries.png")

	// Filter by status, then by event.
	tb.set("#dl-status", "failed", "change")
	tb.until(`(() => { const rs = [...document.querySelectorAll('#dl-table tbody tr[data-status]')]; return rs.length > 0 && rs.every(r => r.dataset.status === 'failed'); })()`)
	tb.run(chromedp.SendKeys("#dl-event", "deal.created"))
	tb.until(`!!document.querySelector('#dl-empty')`)
	tb.set("#dl-event", "contact.created", "input")

	// Retry the failed delivery of the event once the endpoint is fixed.
	var failed struct{ Data []deliveryJSON }
	srv.api("GET", "/v1/webhooks/"+hook.ID+"/deliveries?status=failed&event=contact.created", admin, nil, &failed)
	if len(failed.Data) != 1 {
		t.Fatalf("failed deliveries: %+v", failed.Data)
	}
	f := failed.Data[0]
	broken.fixed.Store(true)
	tb.run(chromedp.WaitVisible(fmt.Sprintf(`#dl-table tr[data-id=%q] [data-action="retry"]`, f.ID)),
		chromedp.Click(fmt.Sprintf(`#dl-table tr[data-id=%q] [data-action="retry"]`, f.ID)))
	tb.set("#dl-status", "", "change")
	tb.until(fmt.Sprintf(`document.querySelector('#dl-table tr[data-id=%q]')?.dataset.status === 'succeeded'`, f.ID))
	var after deliveryJSON
	srv.api("GET", "/v1/deliveries/"+f.ID, admin, nil, &after)
	if after.Status != "succeeded" || after.Attempts <= f.Attempts {
		t.Fatalf("after retry: %+v (before %+v)", after, f)
	}

	// Validation errors from the API appear next to their fields.
	tb.run(chromedp.Click(`a[data-nav="webhooks"]`), chromedp.WaitVisible("#wh-new"), chromedp.Click("#wh-new"),
		chromedp.WaitVisible(`label[data-name="contact.created"]`),
		chromedp.SetValue(`.endpoint-row[data-index="0"] .ep-url`, "not-a-url"), chromedp.Click("#save"))
	if msg := tb.text(`dialog [data-error-for="name"]`); msg != "name is required" {
		t.Fatalf("name error %q", msg)
	}
	if msg := tb.text(`dialog [data-error-for="endpoints[0].url"]`); !strings.Contains(msg, "absolute URL") {
		t.Fatalf("url error %q", msg)
	}
	if msg := tb.text(`dialog [data-error-for="events"]`); !strings.Contains(msg, "at least one event") {
		t.Fatalf("events error %q", msg)
	}
	var invalid bool
	tb.eval(`document.activeElement.name === 'name' && document.activeElement.getAttribute('aria-invalid') === 'true'`, &invalid)
	if !invalid {
		t.Fatal("focus is not on the first invalid field")
	}
	tb.shot("console-errors.png")
	tb.run(chromedp.Click("#cancel"), chromedp.WaitNotPresent("dialog"))

	// Edit: rename and disable the second endpoint.
	tb.run(chromedp.Click(row+` [data-action="edit"]`), chromedp.WaitVisible(`label[data-name="contact.created"]`),
		chromedp.SetValue("dialog input[name=name]", "ERP Sync v2"),
		chromedp.Click(`.endpoint-row[data-index="1"] .ep-enabled`), chromedp.Click("#save"),
		chromedp.WaitNotPresent("dialog"))
	tb.until(fmt.Sprintf(`document.querySelector('%s')?.dataset.name === 'ERP Sync v2'`, row))
	var edited webhookJSON
	srv.api("GET", "/v1/webhooks/"+hook.ID, admin, nil, &edited)
	if edited.Name != "ERP Sync v2" || len(edited.Endpoints) != 2 || edited.Endpoints[1].Enabled || !edited.Endpoints[0].Enabled ||
		edited.Endpoints[0].ID != hook.Endpoints[0].ID {
		t.Fatalf("edited webhook %+v", edited)
	}

	// Delete asks first; Cancel keeps the webhook, Delete removes it.
	alpha := `tr[data-name="Alpha CRM"]`
	tb.run(chromedp.Click(alpha+` [data-action="delete"]`), chromedp.WaitVisible(`dialog [data-action="confirm"]`),
		chromedp.Click(`dialog button.secondary`), chromedp.WaitNotPresent("dialog"), chromedp.WaitVisible(alpha))
	tb.run(chromedp.Click(alpha+` [data-action="delete"]`), chromedp.WaitVisible(`dialog [data-action="confirm"]`),
		chromedp.Click(`dialog [data-action="confirm"]`), chromedp.WaitNotPresent(alpha))
	srv.api("GET", "/v1/webhooks", admin, nil, &list)
	if len(list.Data) != 2 {
		t.Fatalf("after delete the API lists %d webhooks", len(list.Data))
	}

	// Plugins page: what GET /v1/plugins reports.
	var plugins struct {
		Data []struct {
			Name    string `json:"name"`
			Healthy bool   `json:"healthy"`
		}
	}
	srv.api("GET", "/v1/plugins", admin, nil, &plugins)
	tb.run(chromedp.Click(`a[data-nav="plugins"]`), chromedp.WaitVisible("#pl-body"))
	if len(plugins.Data) == 0 {
		tb.run(chromedp.WaitVisible("#pl-empty"))
	} else {
		for _, p := range plugins.Data {
			tb.run(chromedp.WaitVisible(fmt.Sprintf(`#pl-table tr[data-name=%q]`, p.Name)))
		}
	}

	// Sign out forgets the token.
	tb.run(chromedp.Click("#signout"), chromedp.WaitVisible("#token"))
	var stored string
	tb.eval(`sessionStorage.getItem('hookgate.token') || ''`, &stored)
	if stored != "" {
		t.Fatal("the token is still in session storage after sign-out")
	}
}
