// Package storetest is the conformance suite for hookgate.WebhookStore: every
// implementation runs it, so that they all keep the same promises (tenant
// isolation, ordering, pagination, atomic updates). It holds tests only and
// must not depend on any one implementation.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
)

// Run runs the suite. newStore must return an empty store, isolated from
// every other call's (for example under a fresh key prefix), and clean it up
// when the test ends.
func Run(t *testing.T, newStore func(t *testing.T) hookgate.WebhookStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s hookgate.WebhookStore)
	}{
		{"CreateThenFindReturnsTheSameWebhook", testCreateFind},
		{"CreateRefusesADuplicateID", testDuplicate},
		{"FindMissingIsNotFound", testFindMissing},
		{"TenantsNeverSeeEachOther", testTenantIsolation},
		{"SearchIsCaseInsensitiveSubstring", testSearch},
		{"SortOrdersWithTiesByID", testSort},
		{"PaginationVisitsEveryWebhookOnce", testPaginate},
		{"CursorSurvivesAddsAndDeletes", testCursorStable},
		{"StatusAndEventFiltersPaginate", testFilters},
		{"DefaultLimitIsFifty", testDefaultLimit},
		{"InvalidCursorIsRejected", testInvalidCursor},
		{"UpdateRenamesAndReindexes", testUpdate},
		{"UpdateFunctionErrorAbortsUnchanged", testUpdateAbort},
		{"ConcurrentUpdatesLoseNothing", testConcurrentUpdate},
		{"DeleteRemovesEverywhere", testDelete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newStore(t))
		})
	}
}

const (
	tenantA = "acme"
	tenantB = "globex"
)

// newWebhook returns a valid webhook of tenant named name.
func newWebhook(tenant, name string) *hookgate.Webhook {
	return &hookgate.Webhook{
		Tenant:    tenant,
		Name:      name,
		Endpoints: []hookgate.Endpoint{{URL: "https://example.com/hook", Enabled: true}},
		Events:    []string{"contact.created"},
		Format:    "standard",
		Enabled:   true,
		Status:    hookgate.StatusActive,
		Secret:    "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ==",
	}
}

func create(t *testing.T, s hookgate.WebhookStore, w *hookgate.Webhook) *hookgate.Webhook {
	t.Helper()
	if err := s.CreateWebhook(context.Background(), w); err != nil {
		t.Fatalf("create %q: %v", w.Name, err)
	}
	return w
}

func wantCode(t *testing.T, err error, code, what string) {
	t.Helper()
	if got := hookgate.ErrorCode(err); got != code {
		t.Fatalf("%s: error code %q (%v), want %q", what, got, err, code)
	}
}

// listAll walks every page of f and returns the ids in order.
func listAll(t *testing.T, s hookgate.WebhookStore, f hookgate.WebhookFilter) []string {
	t.Helper()
	var ids []string
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("pagination does not end")
		}
		ws, next, err := s.FindWebhooks(context.Background(), f)
		if err != nil {
			t.Fatalf("find webhooks %+v: %v", f, err)
		}
		if len(ws) > f.Limit && f.Limit > 0 {
			t.Fatalf("page of %d, limit %d", len(ws), f.Limit)
		}
		for _, w := range ws {
			ids = append(ids, w.ID)
		}
		if next == "" {
			return ids
		}
		if len(ws) == 0 {
			t.Fatal("an empty page with a next cursor")
		}
		f.Cursor = next
	}
}

func ids(ws []*hookgate.Webhook) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.ID
	}
	return out
}

func testCreateFind(t *testing.T, s hookgate.WebhookStore) {
	ctx := context.Background()
	in := newWebhook(tenantA, "Orders")
	in.Owner = "user-1"
	in.Description = "all orders"
	in.Events = []string{"contact.*", "deal.stage_changed"}
	in.Transforms = []string{"redact"}
	in.Settings = map[string]string{"k": "v"}
	in.Metadata = map[string]string{"team": "sales"}
	in.Timeout = hookgate.Duration(7 * time.Second)
	in.Retry = &hookgate.RetryPolicy{Delays: []hookgate.Duration{hookgate.Duration(time.Second), hookgate.Duration(time.Minute)}}
	in.PreviousSecret = "whsec_b2xkLW9sZC1vbGQtb2xkLW9sZC1vbGQtb2xkIQ=="
	in.PreviousSecretUntil = time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	in.Endpoints = append(in.Endpoints, hookgate.Endpoint{ID: "ep_mine", URL: "https://example.org/x"})
	before := time.Now().Add(-time.Second)
	create(t, s, in)
	if in.ID == "" || in.Endpoints[0].ID == "" || in.Endpoints[1].ID != "ep_mine" {
		t.Fatalf("ids not assigned or overwritten: %q %+v", in.ID, in.Endpoints)
	}
	if in.CreatedAt.Before(before) || in.CreatedAt.Location() != time.UTC || !in.UpdatedAt.Equal(in.CreatedAt) {
		t.Fatalf("timestamps: created %v updated %v", in.CreatedAt, in.UpdatedAt)
	}
	got, err := s.FindWebhookByID(ctx, tenantA, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !equalWebhooks(got, in) {
		t.Fatalf("found\n%+v\nwant\n%+v", got, in)
	}
	// Secrets are kept even though they are not part of the JSON.
	if got.Secret != in.Secret || got.PreviousSecret != in.PreviousSecret {
		t.Fatalf("secrets not kept: %q %q", got.Secret, got.PreviousSecret)
	}
}

// equalWebhooks compares two webhooks, times by instant.
func equalWebhooks(a, b *hookgate.Webhook) bool {
	x, y := *a, *b
	if !x.CreatedAt.Equal(y.CreatedAt) || !x.UpdatedAt.Equal(y.UpdatedAt) || !x.PreviousSecretUntil.Equal(y.PreviousSecretUntil) {
		return false
	}
	x.CreatedAt, x.UpdatedAt, x.PreviousSecretUntil = time.Time{}, time.Time{}, time.Time{}
	y.CreatedAt, y.UpdatedAt, y.PreviousSecretUntil = time.Time{}, time.Time{}, time.Time{}
	return reflect.DeepEqual(x, y)
}

func testDuplicate(t *testing.T, s hookgate.WebhookStore) {
	w := create(t, s, newWebhook(tenantA, "one"))
	dup := newWebhook(tenantA, "two")
	dup.ID = w.ID
	wantCode(t, s.CreateWebhook(context.Background(), dup), hookgate.ECONFLICT, "duplicate id")
	got, err := s.FindWebhookByID(context.Background(), tenantA, w.ID)
	if err != nil || got.Name != "one" {
		t.Fatalf("original changed: %v %v", got, err)
	}
}

func testFindMissing(t *testing.T, s hookgate.WebhookStore) {
	_, err := s.FindWebhookByID(context.Background(), tenantA, "wh_missing")
	wantCode(t, err, hookgate.ENOTFOUND, "find missing")
	if msg := hookgate.ErrorMessage(err); msg != "webhook wh_missing not found" {
		t.Fatalf("message %q", msg)
	}
}

func testTenantIsolation(t *testing.T, s hookgate.WebhookStore) {
	ctx := context.Background()
	a := create(t, s, newWebhook(tenantA, "secret plans"))
	create(t, s, newWebhook(hookgate.SystemTenant, "secret plans system"))

	_, err := s.FindWebhookByID(ctx, tenantB, a.ID)
	wantCode(t, err, hookgate.ENOTFOUND, "find across tenants")
	ws, _, err := s.FindWebhooks(ctx, hookgate.WebhookFilter{Tenant: tenantB, Search: "secret"})
	if err != nil || len(ws) != 0 {
		t.Fatalf("tenant B lists %d webhooks (%v)", len(ws), err)
	}
	called := false
	_, err = s.UpdateWebhook(ctx, tenantB, a.ID, func(w *hookgate.Webhook) error { called = true; w.Name = "pwned"; return nil })
	wantCode(t, err, hookgate.ENOTFOUND, "update across tenants")
	if called {
		t.Fatal("update function ran on another tenant's webhook")
	}
	wantCode(t, s.DeleteWebhook(ctx, tenantB, a.ID), hookgate.ENOTFOUND, "delete across tenants")

	got, err := s.FindWebhookByID(ctx, tenantA, a.ID)
	if err != nil || got.Name != "secret plans" {
		t.Fatalf("tenant A's webhook changed: %+v %v", got, err)
	}
	ws, _, err = s.FindWebhooks(ctx, hookgate.WebhookFilter{Tenant: tenantA})
	if err != nil || !slices.Equal(ids(ws), []string{a.ID}) {
		t.Fatalf("tenant A lists %v (%v), want only its own", ids(ws), err)
	}
}

func testSearch(t *testing.T, s hookgate.WebhookStore) {
	ctx := context.Background()
	for _, n := range []string{"Orders EU", "orders us", "Invoices", "Reorder alerts", "ORDERS"} {
		create(t, s, newWebhook(tenantA, n))
	}
	tests := []struct {
		search string
		want   []string
	}{
		{"order", []string{"ORDERS", "Orders EU", "orders us", "Reorder alerts"}},
		{"ORDERS ", []string{"Orders EU", "orders us"}},
		{"voice", []string{"Invoices"}},
		{"nothing", nil},
		{"", []string{"Invoices", "ORDERS", "Orders EU", "orders us", "Reorder alerts"}},
	}
	for _, tt := range tests {
		ws, next, err := s.FindWebhooks(ctx, hookgate.WebhookFilter{Tenant: tenantA, Search: tt.search, Sort: "name", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, w := range ws {
			names = append(names, w.Name)
		}
		if !slices.Equal(names, tt.want) || next != "" {
			t.Errorf("search %q: %q next %q, want %q", tt.search, names, next, tt.want)
		}
	}
}

func testSort(t *testing.T, s hookgate.WebhookStore) {
	var all []*hookgate.Webhook
	// Several webhooks share a name, and some share a creation millisecond:
	// ties must fall back to the id.
	for i, n := range []string{"beta", "Alpha", "beta", "gamma", "alpha", "beta"} {
		w := newWebhook(tenantA, n)
		w.ID = fmt.Sprintf("wh_sort%02d", 10-i)
		all = append(all, create(t, s, w))
	}
	byName := func(desc bool) []string {
		c := slices.Clone(all)
		slices.SortStableFunc(c, func(a, b *hookgate.Webhook) int {
			r := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
			if r == 0 {
				r = strings.Compare(a.ID, b.ID)
			}
			if desc {
				r = -r
			}
			return r
		})
		return ids(c)
	}
	byCreated := func(desc bool) []string {
		c := slices.Clone(all)
		slices.SortStableFunc(c, func(a, b *hookgate.Webhook) int {
			r := a.CreatedAt.Compare(b.CreatedAt)
			if r == 0 {
				r = strings.Compare(a.ID, b.ID)
			}
			if desc {
				r = -r
			}
			return r
		})
		return ids(c)
	}
	tests := []struct {
		sort string
		want []string
	}{
		{"name", byName(false)},
		{"-name", byName(true)},
		{"created_at", byCreated(false)},
		{"-created_at", byCreated(true)},
		{"", byCreated(true)},
	}
	for _, tt := range tests {
		for _, limit := range []int{2, 100} {
			got := listAll(t, s, hookgate.WebhookFilter{Tenant: tenantA, Sort: tt.sort, Limit: limit})
			if !slices.Equal(got, tt.want) {
				t.Errorf("sort %q limit %d: %v, want %v", tt.sort, limit, got, tt.want)
			}
		}
	}
	_, _, err := s.FindWebhooks(context.Background(), hookgate.WebhookFilter{Tenant: tenantA, Sort: "owner"})
	wantCode(t, err, hookgate.EINVALID, "unknown sort")
}

func testPaginate(t *testing.T, s hookgate.WebhookStore) {
	want := map[string]bool{}
	for i := range 23 {
		w := create(t, s, newWebhook(tenantA, fmt.Sprintf("hook %02d", i)))
		want[w.ID] = true
	}
	for _, sort := range []string{"name", "-name", "created_at", "-created_at"} {
		for _, limit := range []int{1, 5, 23, 24} {
			got := listAll(t, s, hookgate.WebhookFilter{Tenant: tenantA, Sort: sort, Limit: limit})
			seen := map[string]bool{}
			for _, id := range got {
				if seen[id] || !want[id] {
					t.Fatalf("sort %s limit %d: %s seen twice or unknown", sort, limit, id)
				}
				seen[id] = true
			}
			if len(seen) != len(want) {
				t.Fatalf("sort %s limit %d: %d of %d webhooks", sort, limit, len(seen), len(want))
			}
		}
	}
	// A full last page ends the list: no cursor to an empty page.
	ws, next, err := s.FindWebhooks(context.Background(), hookgate.WebhookFilter{Tenant: tenantA, Limit: 23})
	if err != nil || len(ws) != 23 || next != "" {
		t.Fatalf("exact page: %d webhooks, next %q, err %v", len(ws), next, err)
	}
}

func testCursorStable(t *testing.T, s hookgate.WebhookStore) {
	ctx := context.Background()
	for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
		create(t, s, newWebhook(tenantA, n))
	}
	f := hookgate.WebhookFilter{Tenant: tenantA, Sort: "name", Limit: 3}
	ws, next, err := s.FindWebhooks(ctx, f)
	if err != nil || next == "" {
		t.Fatalf("first page: %v %q", err, next)
	}
	// Delete the last webhook of the page, add one before and one after.
	if err := s.DeleteWebhook(ctx, tenantA, ws[2].ID); err != nil {
		t.Fatal(err)
	}
	create(t, s, newWebhook(tenantA, "aa"))
	create(t, s, newWebhook(tenantA, "dd"))
	f.Cursor = next
	f.Limit = 10
	ws, next, err = s.FindWebhooks(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, w := range ws {
		names = append(names, w.Name)
	}
	if want := []string{"d", "dd", "e", "f"}; !slices.Equal(names, want) || next != "" {
		t.Fatalf("second page %q next %q, want %q", names, next, want)
	}
}

func testFilters(t *testing.T, s hookgate.WebhookStore) {
	var wantPaused, wantDeals []string
	for i := range 30 {
		w := newWebhook(tenantA, fmt.Sprintf("w%02d", i))
		if i%3 == 0 {
			w.Status = hookgate.StatusPaused
		}
		if i%4 == 0 {
			w.Events = []string{"deal.*"}
		}
		create(t, s, w)
		if i%3 == 0 {
			wantPaused = append(wantPaused, w.ID)
		}
		if i%4 == 0 {
			wantDeals = append(wantDeals, w.ID)
		}
	}
	tests := []struct {
		name string
		f    hookgate.WebhookFilter
		want []string
	}{
		{"status", hookgate.WebhookFilter{Status: hookgate.StatusPaused}, wantPaused},
		{"event", hookgate.WebhookFilter{Event: "deal.created"}, wantDeals},
		{"status and event", hookgate.WebhookFilter{Status: hookgate.StatusPaused, Event: "deal.created"}, intersect(wantPaused, wantDeals)},
		{"no match", hookgate.WebhookFilter{Status: hookgate.StatusError}, nil},
		{"search and status", hookgate.WebhookFilter{Status: hookgate.StatusPaused, Search: "W1"}, []string{wantPaused[4], wantPaused[5], wantPaused[6]}},
	}
	for _, tt := range tests {
		for _, limit := range []int{1, 4, 100} {
			f := tt.f
			f.Tenant, f.Sort, f.Limit = tenantA, "name", limit
			if got := listAll(t, s, f); !slices.Equal(got, tt.want) {
				t.Errorf("%s limit %d: %v, want %v", tt.name, limit, got, tt.want)
			}
		}
	}
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func testDefaultLimit(t *testing.T, s hookgate.WebhookStore) {
	for i := range 51 {
		create(t, s, newWebhook(tenantA, fmt.Sprintf("n%02d", i)))
	}
	for _, limit := range []int{0, -1} {
		ws, next, err := s.FindWebhooks(context.Background(), hookgate.WebhookFilter{Tenant: tenantA, Limit: limit})
		if err != nil || len(ws) != 50 || next == "" {
			t.Fatalf("limit %d: %d webhooks, next %q, err %v", limit, len(ws), next, err)
		}
	}
}

func testInvalidCursor(t *testing.T, s hookgate.WebhookStore) {
	ctx := context.Background()
	for range 3 {
		create(t, s, newWebhook(tenantA, "x"))
	}
	_, next, err := s.FindWebhooks(ctx, hookgate.WebhookFilter{Tenant: tenantA, Sort: "name", Limit: 1})
	if err != nil || next == "" {
		t.Fatalf("%v %q", err, next)
	}
	for _, c := range []string{"not a cursor!", "AAAA", strings.Repeat("A", 10000)} {
		_, _, err := s.FindWebhooks(ctx, hookgate.WebhookFilter{Tenant: tenantA, Cursor: c})
		wantCode(t, err, hookgate.EINVALID, "cursor "+c[:min(len(c), 20)])
	}
	// A cursor resumes only the order it was made for.
	_, _, err = s.FindWebhooks(ctx, hookgate.WebhookFilter{Tenant: tenantA, Sort: "created_at", Cursor: next})
	wantCode(t, err, hookgate.EINVALID, "cursor of another order")
}

func testUpdate(t *testing.T, s hookgate.WebhookStore) {
	ctx := context.Background()
	w := create(t, s, newWebhook(tenantA, "Before"))
	create(t, s, newWebhook(tenantA, "middle"))
	got, err := s.UpdateWebhook(ctx, tenantA, w.ID, func(w *hookgate.Webhook) error {
		w.Name = "zz After"
		w.ID, w.Tenant, w.CreatedAt = "wh_other", tenantB, time.Time{} // must not stick
		w.Status = hookgate.StatusPaused
		w.Endpoints = append(w.Endpoints, hookgate.Endpoint{URL: "https://example.net/"})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != w.ID || got.Tenant != tenantA || !got.CreatedAt.Equal(w.CreatedAt) || got.UpdatedAt.Before(w.UpdatedAt) {
		t.Fatalf("immutable fields changed or UpdatedAt not set: %+v", got)
	}
	if got.Endpoints[1].ID == "" {
		t.Fatal("new endpoint has no id")
	}
	found, err := s.FindWebhookByID(ctx, tenantA, w.ID)
	if err != nil || !equalWebhooks(found, got) {
		t.Fatalf("stored\n%+v\nreturned\n%+v (%v)", found, got, err)
	}
	ws, _, _ := s.FindWebhooks(ctx, hookgate.WebhookFilter{Tenant: tenantA, Search: "before"})
	if len(ws) != 0 {
		t.Fatal("the old name is still searchable")
	}
	ws, _, _ = s.FindWebhooks(ctx, hookgate.WebhookFilter{Tenant: tenantA, Search: "after"})
	if !slices.Equal(ids(ws), []string{w.ID}) {
		t.Fatalf("new name not searchable: %v", ids(ws))
	}
	ws, _, _ = s.FindWebhooks(ctx, hookgate.WebhookFilter{Tenant: tenantA, Sort: "name"})
	if len(ws) != 2 || ws[1].ID != w.ID {
		t.Fatalf("renamed webhook not re-sorted: %v", ids(ws))
	}
	_, err = s.UpdateWebhook(ctx, tenantA, "wh_missing", func(*hookgate.Webhook) error { return nil })
	wantCode(t, err, hookgate.ENOTFOUND, "update missing")
}

func testUpdateAbort(t *testing.T, s hookgate.WebhookStore) {
	ctx := context.Background()
	w := create(t, s, newWebhook(tenantA, "keep"))
	errStop := errors.New("stop")
	_, err := s.UpdateWebhook(ctx, tenantA, w.ID, func(w *hookgate.Webhook) error {
		w.Name = "changed"
		return errStop
	})
	if err != errStop {
		t.Fatalf("got %v, want the function's error unchanged", err)
	}
	got, err := s.FindWebhookByID(ctx, tenantA, w.ID)
	if err != nil || got.Name != "keep" || !got.UpdatedAt.Equal(w.UpdatedAt) {
		t.Fatalf("aborted update was stored: %+v %v", got, err)
	}
}

func testConcurrentUpdate(t *testing.T, s hookgate.WebhookStore) {
	ctx := context.Background()
	w := create(t, s, newWebhook(tenantA, "busy"))
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, err := s.UpdateWebhook(ctx, tenantA, w.ID, func(w *hookgate.Webhook) error {
				if w.Metadata == nil {
					w.Metadata = map[string]string{}
				}
				w.Metadata[fmt.Sprintf("k%02d", i)] = "v"
				return nil
			})
			errs <- err
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.FindWebhookByID(ctx, tenantA, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, ok := got.Metadata[fmt.Sprintf("k%02d", i)]; !ok {
			t.Errorf("update k%02d lost; metadata %v", i, got.Metadata)
		}
	}
}

func testDelete(t *testing.T, s hookgate.WebhookStore) {
	ctx := context.Background()
	w := create(t, s, newWebhook(tenantA, "gone"))
	keep := create(t, s, newWebhook(tenantA, "kept"))
	if err := s.DeleteWebhook(ctx, tenantA, w.ID); err != nil {
		t.Fatal(err)
	}
	_, err := s.FindWebhookByID(ctx, tenantA, w.ID)
	wantCode(t, err, hookgate.ENOTFOUND, "find deleted")
	wantCode(t, s.DeleteWebhook(ctx, tenantA, w.ID), hookgate.ENOTFOUND, "delete twice")
	for _, sort := range []string{"name", "created_at"} {
		got := listAll(t, s, hookgate.WebhookFilter{Tenant: tenantA, Sort: sort, Search: "e", Limit: 10})
		if !slices.Equal(got, []string{keep.ID}) {
			t.Fatalf("sort %s lists %v after delete", sort, got)
		}
	}
	// The id is free again.
	again := newWebhook(tenantA, "again")
	again.ID = w.ID
	create(t, s, again)
}
