package main

import (
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/auth"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/standin"
	"github.com/hookgate/hookgate/internal/testenv"
)

// TestIncomingCallReachesTheStandInCRM is docs/incoming.md's first steps:
// `hookgate crm` stands in for the CRM, hookgate (serve --dev) proxies an
// incoming call to it, and the stand-in answers with what it verified: the
// owner, tenant, scope and path. A call that does not come through hookgate
// is refused with 401 and a JSON error.
func TestIncomingCallReachesTheStandInCRM(t *testing.T) {
	var out testenv.SyncBuffer
	crm := httptest.NewUnstartedServer(nil)
	crmURL := "http://" + crm.Listener.Addr().String()
	path, addr, _, _ := serveConfig(t, "", `incoming: {scopes: {crm: {prefixes: [/crm/], upstream: "`+crmURL+`"}}}`)
	crm.Config.Handler = standin.New(standin.Config{Hookgate: "http://" + addr, Out: &out})
	crm.Start()
	defer crm.Close()

	defer startServe(t, addr, io.Discard, "serve", "--dev", "--config", path)()

	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := auth.Mint(cfg.Auth, hookgate.Principal{Subject: "user-42", Tenant: "acme", Roles: []string{hookgate.RoleAdmin}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	code, body := call(t, "POST", "http://"+addr+"/v1/incoming-webhooks", admin, `{"name":"Website form","scopes":["crm"]}`)
	if code != 201 {
		t.Fatalf("create incoming webhook: %d %s", code, body)
	}
	var in struct{ ID, URL string }
	if err := json.Unmarshal([]byte(body), &in); err != nil || in.URL == "" {
		t.Fatalf("create answer %s", body)
	}

	code, body = call(t, "POST", in.URL+"/crm/v1/contacts?source=form", "", `{"first_name":"Ada"}`)
	if code != 200 {
		t.Fatalf("incoming call: %d %s", code, body)
	}
	var a standin.Answer
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		t.Fatal(err)
	}
	if a.Owner != "user-42" || a.Tenant != "acme" || a.Scope != "crm" || a.IncomingWebhookID != in.ID ||
		a.Method != "POST" || a.Path != "/crm/v1/contacts" || a.Query != "source=form" || string(a.Body) != `{"first_name":"Ada"}` {
		t.Fatalf("the stand-in saw %+v", a)
	}
	if !strings.Contains(out.String(), "POST /crm/v1/contacts?source=form as user-42 of acme via "+in.ID) {
		t.Fatalf("the stand-in printed %q", out.String())
	}

	// Straight to the stand-in, with no owner token or a forged one.
	for _, tok := range []string{"", admin} {
		code, body = call(t, "GET", crmURL+"/crm/v1/contacts", tok, "")
		if code != 401 || !strings.Contains(body, `"code"`) {
			t.Fatalf("a call with token %q past hookgate: %d %s", tok, code, body)
		}
	}
}
