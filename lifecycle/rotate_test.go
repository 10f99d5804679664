package lifecycle_test

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/store"
	"github.com/hookgate/hookgate/internal/testenv"
	"github.com/hookgate/hookgate/lifecycle"
)

// overlapping is the real store, with a hook that runs once right after a
// webhook is read: another rotation applied between a rotation's read and
// its write, the interleaving that concurrent requests produce.
type overlapping struct {
	*store.Store
	between func()
}

func (o *overlapping) FindWebhookByID(ctx context.Context, ns, id string) (*hookgate.Webhook, error) {
	w, err := o.Store.FindWebhookByID(ctx, ns, id)
	if f := o.between; f != nil {
		o.between = nil
		f()
	}
	return w, err
}

func rotationManager(t *testing.T) (*lifecycle.Manager, *overlapping, *hookgate.Webhook) {
	t.Helper()
	rdb := testenv.Redis(t)
	prefix := testenv.KeyPrefix(t, rdb, "hgrot")
	key, _ := base64.StdEncoding.DecodeString(config.DevEncryptionKey)
	st, err := store.New(rdb, prefix, key)
	if err != nil {
		t.Fatal(err)
	}
	w := &hookgate.Webhook{Tenant: "acme", Name: "rot", Enabled: true, Status: hookgate.StatusActive, Format: "standard",
		Secret: "whsec_first", Endpoints: []hookgate.Endpoint{{URL: "https://x.example/h", Enabled: true}}, Events: []string{"deal.won"}}
	if err := st.CreateWebhook(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	o := &overlapping{Store: st}
	m := &lifecycle.Manager{Store: o, Held: store.NewHeld(rdb, prefix, 10), Tokens: store.NewConfirmTokens(rdb, prefix), Counters: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Config: config.Lifecycle{RotationGrace: hookgate.Duration(time.Hour), MaxRotationGrace: hookgate.Duration(24 * time.Hour)}}
	return m, o, w
}

// Two rotations without grace that overlap: the one applied first wins,
// the other is refused rather than replacing, at once, the secret the first
// one answered (which would then never sign anything).
func TestOverlappingRotationsWithoutGraceApplyOnlyOne(t *testing.T) {
	ctx := context.Background()
	m, o, w := rotationManager(t)
	zero := hookgate.Duration(0)
	var first *hookgate.Webhook
	var firstErr error
	o.between = func() { first, firstErr = m.RotateSecret(ctx, "acme", w.ID, &zero) }
	_, err := m.RotateSecret(ctx, "acme", w.ID, &zero)
	if firstErr != nil {
		t.Fatalf("the rotation applied in between: %v", firstErr)
	}
	if hookgate.ErrorCode(err) != hookgate.ECONFLICT || !strings.Contains(hookgate.ErrorMessage(err), "rotation") {
		t.Fatalf("the overlapping rotation: %v, want a conflict saying a rotation is being applied", err)
	}
	stored, err := o.Store.FindWebhookByID(ctx, "acme", w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Secret != first.Secret || stored.PreviousSecret != "" {
		t.Fatalf("stored secret is not the one answered to the applied rotation")
	}
	// Not overlapping: a rotation without grace replaces the secret at once.
	again, err := m.RotateSecret(ctx, "acme", w.ID, &zero)
	if err != nil || again.Secret == first.Secret {
		t.Fatalf("a later rotation without grace: %v", err)
	}
}

// A rotation with grace during another's grace period is refused, saying
// until when; one without grace ends the grace period and replaces both.
func TestRotationDuringAGracePeriodNeedsGraceZero(t *testing.T) {
	ctx := context.Background()
	m, o, w := rotationManager(t)
	first, err := m.RotateSecret(ctx, "acme", w.ID, nil)
	if err != nil || first.PreviousSecret != "whsec_first" {
		t.Fatalf("first rotation: %v", err)
	}
	grace := hookgate.Duration(time.Minute)
	_, err = m.RotateSecret(ctx, "acme", w.ID, &grace)
	if hookgate.ErrorCode(err) != hookgate.ECONFLICT || !strings.Contains(hookgate.ErrorMessage(err), first.PreviousSecretUntil.UTC().Format(time.RFC3339)) {
		t.Fatalf("second rotation during the grace period: %v", err)
	}
	stored, _ := o.Store.FindWebhookByID(ctx, "acme", w.ID)
	if stored.Secret != first.Secret || stored.PreviousSecret != "whsec_first" {
		t.Fatal("a refused rotation changed the secrets")
	}
	zero := hookgate.Duration(0)
	now, err := m.RotateSecret(ctx, "acme", w.ID, &zero)
	if err != nil {
		t.Fatal(err)
	}
	if got := now.Secrets(time.Now()); len(got) != 1 || got[0] == first.Secret {
		t.Fatalf("after a rotation without grace, %d secrets sign", len(got))
	}
}
