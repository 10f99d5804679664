package webhooks_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/fakes"
	"github.com/hookgate/hookgate/webhooks"
)

// Unit tests of the webhooks service over an in-memory store and recording
// fakes of its other ports: validation, the per-tenant limit, the
// confirmation handshake and invalidation of the subscription index.

// confirmer records the webhooks it was asked to send the handshake to.
type confirmer struct {
	mu    sync.Mutex
	asked []string // webhook id: pending endpoint ids
	fail  error
}

func (c *confirmer) RequestConfirmation(_ context.Context, w *hookgate.Webhook) ([]hookgate.ConfirmationSent, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var pending []string
	var sent []hookgate.ConfirmationSent
	for _, e := range w.Endpoints {
		if e.Enabled && e.Pending() {
			pending = append(pending, e.ID)
			sent = append(sent, hookgate.ConfirmationSent{EndpointID: e.ID, URL: e.URL, OK: c.fail == nil, Message: "HTTP 200"})
		}
	}
	c.asked = append(c.asked, w.ID+":"+strings.Join(pending, ","))
	return sent, c.fail
}

// heldCounts answers 2 held events for every webhook.
type heldCounts struct{}

func (heldCounts) HeldCounts(_ context.Context, ids []string) ([]int64, error) {
	out := make([]int64, len(ids))
	for i := range out {
		out[i] = 2
	}
	return out, nil
}

type serviceUnit struct {
	svc         *webhooks.Service
	store       *fakes.WebhookStore
	confirmer   *confirmer
	invalidated []string
}

func newServiceUnit(t *testing.T) *serviceUnit {
	t.Helper()
	cat, err := hookgate.LoadCatalogue(nil)
	if err != nil {
		t.Fatal(err)
	}
	u := &serviceUnit{store: fakes.NewWebhookStore(), confirmer: &confirmer{}}
	n := 0
	rules := webhooks.RulesFromConfig(config.Default(), cat, func(f string) bool { return f == "standard" || f == "uspacy" }, nil)
	u.svc = &webhooks.Service{
		Store: u.store, Counter: u.store, Rules: rules, MaxPerTenant: 3,
		NeedsConfirmation: func(format string) bool { return format == "uspacy" },
		NewID:             func(prefix string) string { n++; return prefix + "_" + strconv.Itoa(n) },
		Confirmer:         u.confirmer,
		Held:              heldCounts{},
		Invalidate:        func(ns string) { u.invalidated = append(u.invalidated, ns) },
	}
	return u
}

func ptr[T any](v T) *T { return &v }

func patch(name string, urls ...string) *hookgate.WebhookPatch {
	eps := make([]hookgate.EndpointInput, len(urls))
	for i, u := range urls {
		eps[i] = hookgate.EndpointInput{URL: u}
	}
	return &hookgate.WebhookPatch{Name: ptr(name), Endpoints: &eps, Events: ptr([]string{"deal.*"})}
}

// erp is a valid create of the ERP webhook, changed by change.
func erp(change func(*hookgate.WebhookPatch)) *hookgate.WebhookPatch {
	p := patch("ERP", "https://erp.example.com/a")
	change(p)
	return p
}

func fieldsOf(t *testing.T, err error) map[string]string {
	t.Helper()
	var he *hookgate.Error
	if !errors.As(err, &he) || he.Code != hookgate.EINVALID {
		t.Fatalf("got %v, want %s", err, hookgate.EINVALID)
	}
	return he.Fields
}

// A valid create is stored under a new id with ids for its endpoints and a
// generated secret, active, decorated with its held events; the tenant's
// cached index is dropped; no handshake is sent for a format without one.
func TestCreateStoresAValidWebhookAndInvalidatesTheIndex(t *testing.T) {
	u := newServiceUnit(t)
	w, err := u.svc.CreateWebhook(context.Background(), "acme", "user-1", patch("ERP", "https://erp.example.com/a", "https://erp.example.com/b"))
	if err != nil {
		t.Fatal(err)
	}
	if w.ID != "wh_3" || w.Endpoints[0].ID != "ep_1" || w.Endpoints[1].ID != "ep_2" || !strings.HasPrefix(w.Secret, "whsec_") ||
		w.Status != hookgate.StatusActive || !w.Enabled || w.Owner != "user-1" || w.HeldEvents != 2 {
		t.Fatalf("created %+v", w)
	}
	stored := u.store.Get("acme", w.ID)
	if stored == nil || stored.Secret != w.Secret || stored.Endpoints[0].Confirmation != "" {
		t.Fatalf("stored %+v", stored)
	}
	if len(u.invalidated) != 1 || u.invalidated[0] != "acme" || len(u.confirmer.asked) != 0 {
		t.Fatalf("invalidated %v, confirmations %v", u.invalidated, u.confirmer.asked)
	}

	// Unsigned: no secret at all. A custom secret is kept, trimmed.
	un := patch("Unsigned", "https://erp.example.com/u")
	un.Unsigned = ptr(true)
	if w, err := u.svc.CreateWebhook(context.Background(), "acme", "", un); err != nil || w.Secret != "" || !w.Unsigned {
		t.Fatalf("unsigned: %+v, %v", w, err)
	}
	custom := patch("Custom", "https://erp.example.com/c")
	custom.Secret = ptr("  whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw  ")
	if w, err := u.svc.CreateWebhook(context.Background(), "globex", "", custom); err != nil || w.Secret != "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" {
		t.Fatalf("custom secret: %+v, %v", w, err)
	}
}

// Invalid input is refused field by field and nothing is stored nor
// invalidated.
func TestCreateRefusesInvalidInputFieldByField(t *testing.T) {
	u := newServiceUnit(t)
	for name, tc := range map[string]struct {
		in    *hookgate.WebhookPatch
		field string
	}{
		"no name":         {patch("", "https://erp.example.com/a"), "name"},
		"no endpoint":     {patch("ERP"), "endpoints"},
		"plain http":      {patch("ERP", "http://erp.example.com/a"), "endpoints[0].url"},
		"empty secret":    {erp(func(p *hookgate.WebhookPatch) { p.Secret = ptr(" ") }), "secret"},
		"unknown format":  {erp(func(p *hookgate.WebhookPatch) { p.Format = ptr("nope") }), "format"},
		"no events":       {erp(func(p *hookgate.WebhookPatch) { p.Events = ptr([]string{}) }), "events"},
		"duplicate URL":   {patch("ERP", "https://erp.example.com/a", "https://erp.example.com/a"), "endpoints[1].url"},
		"unknown pattern": {erp(func(p *hookgate.WebhookPatch) { p.Events = ptr([]string{"nope.*"}) }), "events[0]"},
	} {
		_, err := u.svc.CreateWebhook(context.Background(), "acme", "", tc.in)
		if fields := fieldsOf(t, err); fields[tc.field] == "" {
			t.Errorf("%s: fields %v, want one on %s", name, fields, tc.field)
		}
	}
	if n, _ := u.store.CountWebhooks(context.Background(), "acme"); n != 0 || len(u.invalidated) != 0 {
		t.Fatalf("refused creates stored %d webhooks, invalidated %v", n, u.invalidated)
	}
}

// A tenant has at most MaxPerTenant webhooks; another tenant is counted
// apart.
func TestCreateStopsAtThePerTenantLimit(t *testing.T) {
	u := newServiceUnit(t)
	ctx := context.Background()
	for i := range 3 {
		if _, err := u.svc.CreateWebhook(ctx, "acme", "", patch("ERP "+strconv.Itoa(i), "https://erp.example.com/a")); err != nil {
			t.Fatal(err)
		}
	}
	_, err := u.svc.CreateWebhook(ctx, "acme", "", patch("One too many", "https://erp.example.com/a"))
	if hookgate.ErrorCode(err) != hookgate.ECONFLICT || !strings.Contains(hookgate.ErrorMessage(err), "maximum of 3") {
		t.Fatalf("fourth webhook: %v, want a conflict naming the limit", err)
	}
	if n, _ := u.store.CountWebhooks(ctx, "acme"); n != 3 {
		t.Fatalf("acme has %d webhooks", n)
	}
	if _, err := u.svc.CreateWebhook(ctx, "globex", "", patch("Globex", "https://globex.example.com/a")); err != nil {
		t.Fatalf("another tenant: %v", err)
	}
}

// A format that needs the handshake (or settings.confirmation: required)
// starts unconfirmed with every endpoint pending, and the handshake is
// sent, its outcome in the answer. An update sends it again only for a new
// or changed URL, and not while the webhook is disabled; enabling it again
// sends it to what is still pending.
func TestConfirmationIsRequestedForNewAndChangedURLsOnly(t *testing.T) {
	u := newServiceUnit(t)
	ctx := context.Background()
	in := patch("Uspacy", "https://crm.example.com/a", "https://crm.example.com/b")
	in.Format = ptr("uspacy")
	w, err := u.svc.CreateWebhook(ctx, "acme", "", in)
	if err != nil {
		t.Fatal(err)
	}
	if w.Status != hookgate.StatusUnconfirmed || !w.Endpoints[0].Pending() || !w.Endpoints[1].Pending() || len(w.ConfirmationRequests) != 2 {
		t.Fatalf("created %s, endpoints %+v, requests %+v", w.Status, w.Endpoints, w.ConfirmationRequests)
	}
	if len(u.confirmer.asked) != 1 || u.confirmer.asked[0] != w.ID+":ep_1,ep_2" {
		t.Fatalf("asked %v", u.confirmer.asked)
	}

	// ep_1 confirms (as the confirmation link would record it).
	if _, err := u.store.UpdateWebhook(ctx, "acme", w.ID, func(s *hookgate.Webhook) error {
		s.Endpoints[0].Confirmation = hookgate.ConfirmationConfirmed
		s.SettleStatus(s.CreatedAt)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Renaming sends nothing; the confirmed endpoint stays confirmed.
	w, err = u.svc.UpdateWebhook(ctx, "acme", w.ID, &hookgate.WebhookPatch{Name: ptr("Uspacy CRM")})
	if err != nil || len(u.confirmer.asked) != 1 || w.Endpoints[0].Confirmation != hookgate.ConfirmationConfirmed || !w.Endpoints[1].Pending() {
		t.Fatalf("rename: %+v, %v; asked %v", w, err, u.confirmer.asked)
	}
	// Changing ep_1's URL makes it pending and asks it again.
	eps := []hookgate.EndpointInput{{ID: "ep_1", URL: "https://crm.example.com/a2"}, {ID: "ep_2", URL: "https://crm.example.com/b"}}
	w, err = u.svc.UpdateWebhook(ctx, "acme", w.ID, &hookgate.WebhookPatch{Endpoints: &eps})
	if err != nil || !w.Endpoints[0].Pending() || len(u.confirmer.asked) != 2 || u.confirmer.asked[1] != w.ID+":ep_1,ep_2" {
		t.Fatalf("URL change: %+v, %v; asked %v", w.Endpoints, err, u.confirmer.asked)
	}
	// Disabled: nothing is sent, even for a changed URL; enabled again: sent.
	eps[1].URL = "https://crm.example.com/b2"
	if _, err := u.svc.UpdateWebhook(ctx, "acme", w.ID, &hookgate.WebhookPatch{Enabled: ptr(false), Endpoints: &eps}); err != nil || len(u.confirmer.asked) != 2 {
		t.Fatalf("disable: %v; asked %v", err, u.confirmer.asked)
	}
	if _, err := u.svc.UpdateWebhook(ctx, "acme", w.ID, &hookgate.WebhookPatch{Enabled: ptr(true)}); err != nil || len(u.confirmer.asked) != 3 {
		t.Fatalf("enable: %v; asked %v", err, u.confirmer.asked)
	}

	// A standard webhook asking for it in its settings.
	req := patch("Asks", "https://erp.example.com/a")
	req.Settings = &map[string]string{"confirmation": "required"}
	if w, err := u.svc.CreateWebhook(ctx, "acme", "", req); err != nil || w.Status != hookgate.StatusUnconfirmed || len(u.confirmer.asked) != 4 {
		t.Fatalf("settings.confirmation required: %+v, %v", w, err)
	}

	// A failed send is not an error of the create: the answer says so.
	u.confirmer.fail = errors.New("connection refused")
	in.Name = ptr("Uspacy 2")
	if w, err := u.svc.CreateWebhook(ctx, "globex", "", in); err != nil || len(w.ConfirmationRequests) != 2 || w.ConfirmationRequests[0].OK {
		t.Fatalf("failed handshake: %+v, %v", w, err)
	}
}

// Updates refuse what is set on create only and invalid results, leaving
// the record as it was and the index alone; a valid update is stored and
// invalidates; delete invalidates, and a missing webhook is not found.
func TestUpdateAndDeleteValidateAndInvalidate(t *testing.T) {
	u := newServiceUnit(t)
	ctx := context.Background()
	w, err := u.svc.CreateWebhook(ctx, "acme", "", patch("ERP", "https://erp.example.com/a"))
	if err != nil {
		t.Fatal(err)
	}
	u.invalidated = nil
	before := u.store.Updates

	fields := fieldsOf(t, func() error {
		_, err := u.svc.UpdateWebhook(ctx, "acme", w.ID, &hookgate.WebhookPatch{Secret: ptr("x"), Unsigned: ptr(true), System: true})
		return err
	}())
	for _, f := range []string{"secret", "unsigned", "system"} {
		if fields[f] == "" {
			t.Errorf("create-only field %s: fields %v", f, fields)
		}
	}
	_, err = u.svc.UpdateWebhook(ctx, "acme", w.ID, &hookgate.WebhookPatch{Name: ptr("")})
	if fieldsOf(t, err)["name"] == "" {
		t.Fatalf("empty name: %v", err)
	}
	if u.store.Updates != before || u.store.Get("acme", w.ID).Name != "ERP" || len(u.invalidated) != 0 {
		t.Fatalf("refused updates changed the record (%d updates, name %q) or invalidated %v",
			u.store.Updates-before, u.store.Get("acme", w.ID).Name, u.invalidated)
	}
	if _, err := u.svc.UpdateWebhook(ctx, "globex", w.ID, &hookgate.WebhookPatch{Name: ptr("Other")}); hookgate.ErrorCode(err) != hookgate.ENOTFOUND {
		t.Fatalf("another tenant's update: %v", err)
	}

	got, err := u.svc.UpdateWebhook(ctx, "acme", w.ID, &hookgate.WebhookPatch{Name: ptr("ERP sync")})
	if err != nil || got.Name != "ERP sync" || u.store.Get("acme", w.ID).Name != "ERP sync" || len(u.invalidated) != 1 {
		t.Fatalf("rename: %+v, %v, invalidated %v", got, err, u.invalidated)
	}

	if err := u.svc.DeleteWebhook(ctx, "globex", w.ID); hookgate.ErrorCode(err) != hookgate.ENOTFOUND || len(u.invalidated) != 1 {
		t.Fatalf("another tenant's delete: %v, invalidated %v", err, u.invalidated)
	}
	if err := u.svc.DeleteWebhook(ctx, "acme", w.ID); err != nil || u.store.Get("acme", w.ID) != nil || len(u.invalidated) != 2 {
		t.Fatalf("delete: %v, invalidated %v", err, u.invalidated)
	}
}

// Listing checks its sort, status and event before asking the store.
func TestListRefusesBadFilters(t *testing.T) {
	u := newServiceUnit(t)
	for field, f := range map[string]hookgate.WebhookFilter{
		"sort":   {Tenant: "acme", Sort: "size"},
		"status": {Tenant: "acme", Status: "sleeping"},
		"event":  {Tenant: "acme", Event: "nope.nope"},
	} {
		_, _, err := u.svc.FindWebhooks(context.Background(), f)
		if fieldsOf(t, err)[field] == "" {
			t.Errorf("%s: %v", field, err)
		}
	}
}
