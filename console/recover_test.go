package console_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/testenv"
)

// TestConsoleRecoversFailedDeliveries: a receiver was down and a delivery
// failed after its retry; once it is back, "Recover failed since…" on the
// webhook's page (24 hours back by default) sends it again, the banner says
// how many, and the receiver gets the same delivery (same webhook-id).
func TestConsoleRecoversFailedDeliveries(t *testing.T) {
	srv := startServer(t, nil)
	srv.requireRoute("POST /v1/webhooks/:id/recover")
	admin := srv.token("acme", "admin")
	rec := receiver.NewRecorder()
	rec.SetStatus(503)
	recSrv := httptest.NewServer(rec)
	defer recSrv.Close()
	var w webhookJSON
	if st := srv.api("POST", "/v1/webhooks", admin, map[string]any{"name": "ERP Sync", "endpoints": []map[string]any{{"url": recSrv.URL}},
		"events": []string{"contact.*"}, "retry": map[string]any{"delays": []string{"10ms"}}}, &w); st != 201 {
		t.Fatalf("create: %d", st)
	}
	if st := srv.api("POST", "/v1/events", srv.token("acme", "publisher"), map[string]any{"type": "contact.created", "data": map[string]any{"id": "c_1"}}, nil); st != 202 {
		t.Fatalf("publish: %d", st)
	}
	testenv.Eventually(t, 15*time.Second, "the delivery to fail", func() bool {
		var page struct{ Data []deliveryJSON }
		srv.api("GET", "/v1/webhooks/"+w.ID+"/deliveries?status=failed", admin, nil, &page)
		return len(page.Data) == 1
	})
	first := rec.Deliveries()[0]
	rec.SetStatus(200)

	tb := newTab(t, 1280, 900)
	tb.signIn(srv.base, admin)
	tb.run(chromedp.Navigate(srv.base+"/console/#/webhooks/"+w.ID), chromedp.WaitVisible("#wp-recover"), chromedp.Click("#wp-recover"))
	// The dialog proposes 24 hours ago, in local time.
	var since string
	tb.run(chromedp.WaitVisible("#rc-since"), chromedp.Value("#rc-since", &since))
	at, err := time.ParseInLocation("2006-01-02T15:04", since, time.Local)
	if err != nil || at.Before(time.Now().Add(-24*time.Hour-2*time.Minute)) || at.After(time.Now().Add(-24*time.Hour+time.Minute)) {
		t.Fatalf("the dialog proposes %q (%v), want 24 hours ago", since, err)
	}
	// A time in the future is refused next to the field.
	tb.set("#rc-since", time.Now().Add(2*time.Hour).Format("2006-01-02T15:04"), "input")
	tb.run(chromedp.Click("#rc-submit"))
	if msg := tb.text(`[data-error-for="since"]`); !strings.Contains(msg, "in the past") {
		t.Fatalf("error shown for a future time: %q", msg)
	}
	tb.set("#rc-since", since, "input")
	tb.run(chromedp.Click("#rc-submit"), chromedp.WaitNotPresent("dialog[open]"))
	if got := tb.text("#wp-recover-banner"); !strings.Contains(got, "Recovering 1 failed delivery since") {
		t.Fatalf("banner %q", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := rec.WaitFor(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got[2].ID != first.ID {
		t.Fatalf("the recovered delivery has webhook-id %q, the first attempt had %q", got[2].ID, first.ID)
	}
	// The delivery log shows it succeeded on its third attempt.
	tb.run(chromedp.Click("#wp-recover-banner a"))
	tb.until(fmt.Sprintf(`document.querySelector('#dl-table tr[data-id=%q]')?.dataset.status === 'succeeded'`, first.ID))
	if n := tb.text(fmt.Sprintf(`#dl-table tr[data-id=%q] td[data-label="Attempts"]`, first.ID)); n != "3" {
		t.Fatalf("attempts shown %q, want 3", n)
	}
}
