package store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/store"
	"github.com/hookgate/hookgate/internal/store/storetest"
	"github.com/hookgate/hookgate/internal/testenv"
	"github.com/hookgate/hookgate/signing"
)

func testKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}

func newStore(t testing.TB) (*store.Store, *redis.Client, string) {
	t.Helper()
	rdb := testenv.Redis(t)
	prefix := testenv.KeyPrefix(t, rdb, "hgstore")
	s, err := store.New(rdb, prefix, testKey())
	if err != nil {
		t.Fatal(err)
	}
	return s, rdb, prefix
}

func TestWebhookStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) hookgate.WebhookStore {
		s, _, _ := newStore(t)
		return s
	})
}

func hook(tenant, name string) *hookgate.Webhook {
	return &hookgate.Webhook{
		Tenant:    tenant,
		Name:      name,
		Endpoints: []hookgate.Endpoint{{URL: "https://example.com/hook", Enabled: true}},
		Events:    []string{"contact.created"},
		Enabled:   true,
		Status:    hookgate.StatusActive,
		Secret:    signing.NewSecret(),
	}
}

// rawValues returns every value stored under prefix, whatever its type.
func rawValues(t *testing.T, rdb *redis.Client, prefix string) [][]byte {
	t.Helper()
	ctx := context.Background()
	keys, err := rdb.Keys(ctx, prefix+":*").Result()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, k := range keys {
		out = append(out, []byte(k))
		switch typ := rdb.Type(ctx, k).Val(); typ {
		case "string":
			out = append(out, []byte(rdb.Get(ctx, k).Val()))
		case "zset":
			for _, m := range rdb.ZRange(ctx, k, 0, -1).Val() {
				out = append(out, []byte(m))
			}
		case "set":
			for _, m := range rdb.SMembers(ctx, k).Val() {
				out = append(out, []byte(m))
			}
		case "hash":
			for f, v := range rdb.HGetAll(ctx, k).Val() {
				out = append(out, []byte(f), []byte(v))
			}
		default:
			t.Fatalf("key %s has unexpected type %s", k, typ)
		}
	}
	return out
}

func TestSecretsAreNeverStoredInPlaintext(t *testing.T) {
	s, rdb, prefix := newStore(t)
	ctx := context.Background()
	w := hook("acme", "signed")
	w.PreviousSecret = signing.NewSecret()
	w.PreviousSecretUntil = time.Now().Add(time.Hour)
	if err := s.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	rotated := signing.NewSecret()
	if _, err := s.UpdateWebhook(ctx, "acme", w.ID, func(w *hookgate.Webhook) error {
		w.Secret = rotated
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	secrets := []string{w.Secret, w.PreviousSecret, rotated}
	raw := rawValues(t, rdb, prefix)
	if len(raw) == 0 {
		t.Fatal("nothing stored")
	}
	for _, v := range raw {
		for _, sec := range secrets {
			body := strings.TrimPrefix(sec, "whsec_")
			if bytes.Contains(v, []byte(body)) || bytes.Contains(v, []byte(base64.StdEncoding.EncodeToString([]byte(sec)))) {
				t.Fatalf("a secret is stored in plaintext: %q", v)
			}
		}
	}
	got, err := s.FindWebhookByID(ctx, "acme", w.ID)
	if err != nil || got.Secret != rotated || got.PreviousSecret != w.PreviousSecret {
		t.Fatalf("secrets do not read back: %v", err)
	}
}

func TestAnotherKeyCannotOpenSecrets(t *testing.T) {
	s, rdb, prefix := newStore(t)
	ctx := context.Background()
	w := hook("acme", "x")
	if err := s.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	other, err := store.New(rdb, prefix, testKey())
	if err != nil {
		t.Fatal(err)
	}
	got, err := other.FindWebhookByID(ctx, "acme", w.ID)
	if err == nil || got != nil {
		t.Fatalf("read with the wrong key: %v %v", got, err)
	}
	// The record can still be deleted without its key.
	if err := other.DeleteWebhook(ctx, "acme", w.ID); err != nil {
		t.Fatal(err)
	}
}

// TestRecordKeepsEveryField fails when a field is added to hookgate.Webhook
// and the stored record does not keep it: the fixture must set every field.
func TestRecordKeepsEveryField(t *testing.T) {
	s, rdb, _ := newStore(t)
	ctx := context.Background()
	w := hook("acme", "full")
	w.System = true
	w.Owner = "u1"
	w.Description = "d"
	w.Format = "cloudcx"
	w.Transforms = []string{"t"}
	w.Transformation, w.TransformationVersion = "function handler(input) { return null; }", 2
	w.Settings = map[string]string{"a": "b"}
	w.Metadata = map[string]string{"c": "d"}
	w.Timeout = hookgate.Duration(3 * time.Second)
	w.Retry = &hookgate.RetryPolicy{Delays: []hookgate.Duration{hookgate.Duration(time.Second)}}
	w.Unsigned = true
	w.Filter = json.RawMessage(`{"data.amount":{"$gte":1000}}`)
	w.PreviousSecret = "old"
	w.PreviousSecretUntil = time.Now().Add(time.Hour).UTC()
	changed := time.UnixMilli(1_700_000_000_456).UTC()
	w.Status, w.StatusReason, w.StatusChangedAt = hookgate.StatusPaused, "maintenance window", &changed
	w.Endpoints[0].Confirmation, w.Endpoints[0].ConfirmedAt = hookgate.ConfirmationConfirmed, &changed
	if err := s.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	last := time.UnixMilli(1_700_000_000_123).UTC()
	if err := rdb.HSet(ctx, s.StatsKey(w.ID), store.StatsFailureCount, 7, store.StatsConsecutiveFailures, 3,
		store.StatsLastTriggeredAt, last.UnixMilli(), store.StatsLastStatusCode, 502).Err(); err != nil {
		t.Fatal(err)
	}
	w.FailureCount, w.ConsecutiveFailures, w.LastTriggeredAt, w.LastStatusCode = 7, 3, &last, 502
	// Fields computed on read by the webhook service, never stored.
	// (filter is Filter parsed, kept in memory only.)
	computed := map[string]bool{"HeldEvents": true, "filter": true, "ConfirmationRequests": true}
	v := reflect.ValueOf(*w)
	for i := range v.NumField() {
		if v.Field(i).IsZero() && !computed[v.Type().Field(i).Name] {
			t.Fatalf("fixture leaves %s zero: set it, and keep it in the store's record", v.Type().Field(i).Name)
		}
	}
	got, err := s.FindWebhookByID(ctx, "acme", w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, w) {
		t.Fatalf("read back\n%+v\nwant\n%+v", got, w)
	}
}

func TestStatsAreMergedIntoLists(t *testing.T) {
	s, rdb, _ := newStore(t)
	ctx := context.Background()
	a, b := hook("acme", "a"), hook("acme", "b")
	for _, w := range []*hookgate.Webhook{a, b} {
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	rdb.HSet(ctx, s.StatsKey(b.ID), store.StatsConsecutiveFailures, 4, store.StatsLastStatusCode, "garbage")
	ws, _, err := s.FindWebhooks(ctx, hookgate.WebhookFilter{Tenant: "acme", Sort: "name"})
	if err != nil || len(ws) != 2 {
		t.Fatalf("%v %v", ws, err)
	}
	if ws[0].ConsecutiveFailures != 0 || ws[1].ConsecutiveFailures != 4 || ws[1].LastStatusCode != 0 || ws[1].LastTriggeredAt != nil {
		t.Fatalf("stats merged wrongly: %+v %+v", ws[0], ws[1])
	}
	// Counters seen by an update are the current ones, and a delete drops them.
	got, err := s.UpdateWebhook(ctx, "acme", b.ID, func(w *hookgate.Webhook) error {
		if w.ConsecutiveFailures != 4 {
			t.Errorf("update sees %d consecutive failures", w.ConsecutiveFailures)
		}
		w.Status = hookgate.StatusError
		return nil
	})
	if err != nil || got.ConsecutiveFailures != 4 {
		t.Fatalf("%+v %v", got, err)
	}
	if err := s.DeleteWebhook(ctx, "acme", b.ID); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(ctx, s.StatsKey(b.ID)).Val(); n != 0 {
		t.Fatal("stats outlive their webhook")
	}
}

func TestEveryChangeIsPublished(t *testing.T) {
	s, rdb, _ := newStore(t)
	ctx := context.Background()
	sub := rdb.Subscribe(ctx, s.ChangesChannel())
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil { // the subscription confirmation
		t.Fatal(err)
	}
	msgs := sub.Channel()
	w := hook("acme", "x")
	if err := s.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateWebhook(ctx, "acme", w.ID, func(w *hookgate.Webhook) error { w.Name = "y"; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteWebhook(ctx, "acme", w.ID); err != nil {
		t.Fatal(err)
	}
	sys := hook(hookgate.SystemTenant, "sys")
	if err := s.CreateWebhook(ctx, sys); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(5 * time.Second)
	for i, want := range []string{"acme", "acme", "acme", hookgate.SystemTenant} {
		select {
		case m := <-msgs:
			if m.Payload != want {
				t.Fatalf("message %d: %q, want %q", i, m.Payload, want)
			}
		case <-deadline:
			t.Fatalf("message %d (%s) not received", i, want)
		}
	}
}

func TestCountTenantsAndListAll(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	var acme []string
	for i := range 1203 { // more than two MGET chunks
		w := hook("acme", fmt.Sprintf("w%d", i))
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		acme = append(acme, w.ID)
	}
	gone := hook("initech", "gone")
	for _, w := range []*hookgate.Webhook{hook(hookgate.SystemTenant, "s"), gone} {
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteWebhook(ctx, "initech", gone.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CountWebhooks(ctx, "acme"); err != nil || n != 1203 {
		t.Fatalf("count %d %v", n, err)
	}
	if n, err := s.CountWebhooks(ctx, "initech"); err != nil || n != 0 {
		t.Fatalf("count after delete %d %v", n, err)
	}
	tenants, err := s.Tenants(ctx)
	if err != nil || !slices.Equal(tenants, []string{hookgate.SystemTenant, "acme"}) {
		t.Fatalf("tenants %v %v", tenants, err)
	}
	all, err := s.ListAllWebhooks(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(all))
	for i, w := range all {
		got[i] = w.ID
		if w.Secret == "" {
			t.Fatal("listed webhook lacks its secret")
		}
	}
	want := slices.Clone(acme)
	slices.Sort(want) // ids sort by creation time, as does the list
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("list all: %d webhooks, want %d", len(got), len(want))
	}
}

func TestRedisDownIsUnavailable(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = rdb.Close() })
	s, err := store.New(rdb, "down", testKey())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err = s.FindWebhookByID(ctx, "acme", "wh_x")
	var he *hookgate.Error
	if !errors.As(err, &he) || he.Code != hookgate.EUNAVAILABLE || he.Message != "storage unavailable" || he.Err == nil {
		t.Fatalf("got %v, want EUNAVAILABLE wrapping the cause", err)
	}
	_, _, err = s.FindWebhooks(ctx, hookgate.WebhookFilter{Tenant: "acme"})
	if hookgate.ErrorCode(err) != hookgate.EUNAVAILABLE {
		t.Fatalf("find webhooks: %v", err)
	}
	if err := s.CreateWebhook(ctx, hook("acme", "x")); hookgate.ErrorCode(err) != hookgate.EUNAVAILABLE {
		t.Fatalf("create: %v", err)
	}
}

func TestNewRefusesBadArguments(t *testing.T) {
	rdb := testenv.Redis(t)
	tests := []struct {
		name   string
		prefix string
		key    []byte
	}{
		{"short key", "p", make([]byte, 16)},
		{"empty prefix", "", make([]byte, 32)},
		{"hash tag in prefix", "p{x}", make([]byte, 32)},
	}
	for _, tt := range tests {
		if _, err := store.New(rdb, tt.prefix, tt.key); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
	s, _ := store.New(rdb, "p", make([]byte, 32))
	if err := s.CreateWebhook(context.Background(), hook("", "x")); hookgate.ErrorCode(err) != hookgate.EINVALID {
		t.Errorf("empty tenant: %v", err)
	}
}
