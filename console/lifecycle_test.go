package console_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hookgate/hookgate/internal/receiver"
)

// TestConsolePausesResumesAndRotates drives the lifecycle actions of issue 5
// (pause, resume, rotate-secret) from the console. It runs once the server
// has those routes.
func TestConsolePausesResumesAndRotates(t *testing.T) {
	srv := startServer(t, nil)
	srv.requireRoute("POST /v1/webhooks/:id/pause")
	srv.requireRoute("POST /v1/webhooks/:id/resume")
	srv.requireRoute("POST /v1/webhooks/:id/rotate-secret")
	admin := srv.token("acme", "admin")
	rec := httptest.NewServer(receiver.NewRecorder())
	defer rec.Close()
	var w struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	if st := srv.api("POST", "/v1/webhooks", admin, map[string]any{"name": "ERP Sync",
		"endpoints": []map[string]any{{"url": rec.URL}}, "events": []string{"contact.*"}}, &w); st != 201 {
		t.Fatalf("create: %d", st)
	}
	tb := newTab(t, 1280, 900)
	tb.signIn(srv.base, admin)
	row := fmt.Sprintf(`tr[data-id=%q]`, w.ID)
	status := func() string {
		var got struct{ Status string }
		srv.api("GET", "/v1/webhooks/"+w.ID, admin, nil, &got)
		return got.Status
	}

	tb.run(chromedp.Click(row + ` [data-action="pause"]`))
	tb.until(`document.querySelector('` + row + ` [data-status]')?.dataset.status === 'paused'`)
	if s := status(); s != "paused" {
		t.Fatalf("after Pause the API says %q", s)
	}
	tb.run(chromedp.Click(row + ` [data-action="resume"]`))
	tb.until(`document.querySelector('` + row + ` [data-status]')?.dataset.status === 'active'`)
	if s := status(); s != "active" {
		t.Fatalf("after Resume the API says %q", s)
	}

	// Rotate from the edit dialog: the new secret is shown once.
	tb.run(chromedp.Click(row+` [data-action="edit"]`), chromedp.WaitVisible("#rotate-secret"), chromedp.Click("#rotate-secret"))
	secret := tb.text("#secret-value")
	if !strings.HasPrefix(secret, "whsec_") || secret == w.Secret {
		t.Fatalf("rotated secret shown: %q (old %q)", secret, w.Secret)
	}
}

// TestConsoleResendsConfirmation shows the Unconfirmed badge and the resend
// action of issue 5 for a webhook whose format needs confirmation. It runs
// once the server has the route and a plugin that needs confirmation.
func TestConsoleResendsConfirmation(t *testing.T) {
	srv := startServer(t, nil)
	srv.requireRoute("POST /v1/webhooks/:id/confirmation/resend")
	admin := srv.token("acme", "admin")
	rec := httptest.NewServer(receiver.NewRecorder())
	defer rec.Close()
	var w struct{ ID, Status string }
	// settings.confirmation=required asks for the handshake in any format.
	srv.api("POST", "/v1/webhooks", admin, map[string]any{"name": "Needs confirming", "settings": map[string]string{"confirmation": "required"},
		"endpoints": []map[string]any{{"url": rec.URL}}, "events": []string{"contact.created"}}, &w)
	if w.Status != "unconfirmed" {
		t.Fatalf("webhook status %q, want unconfirmed", w.Status)
	}
	tb := newTab(t, 1280, 900)
	tb.signIn(srv.base, admin)
	row := fmt.Sprintf(`tr[data-id=%q]`, w.ID)
	if got := tb.text(row + ` [data-status]`); got != "Unconfirmed" {
		t.Fatalf("badge %q", got)
	}
	tb.run(chromedp.Click(row + ` [data-action="resend"]`))
	tb.until(`[...document.querySelectorAll('.toast')].some(t => t.textContent.includes('Confirmation sent again'))`)
}
