package lifecycle_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/lifecycle"
)

// refusing accepts every operational event as valid, then fails to publish
// it (the queue is down).
type refusing struct{ published int }

func (*refusing) Validate(*hookgate.EventInput) error { return nil }

func (r *refusing) Publish(context.Context, string, []hookgate.EventInput, string) ([]hookgate.PublishResult, error) {
	r.published++
	return nil, hookgate.Errorf(hookgate.EUNAVAILABLE, "the queue is unavailable")
}

// An operational event that cannot be published is logged: the auto-pause
// itself stands, and the log is the only trace of the lost notification.
func TestOperationalEventNotPublishedIsLogged(t *testing.T) {
	m, _, w := rotationManager(t)
	var logs bytes.Buffer
	pub := &refusing{}
	m.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	m.Publisher, m.NewID, m.Metrics = pub, hookgate.NewID, lifecycle.NewMetrics(prometheus.NewRegistry())
	m.Config.AutoPauseAfter = 1
	m.Failed(context.Background(), w, 1)
	if pub.published != 1 {
		t.Fatalf("%d publishes, want 1", pub.published)
	}
	if !strings.Contains(logs.String(), "operational event not published") || !strings.Contains(logs.String(), "webhook.auto_paused") {
		t.Fatalf("the failed publish is not logged:\n%s", logs.String())
	}
}
