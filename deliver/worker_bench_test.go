package deliver

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/sender"
	"github.com/hookgate/hookgate/render"
)

// The in-process part of one delivery: decode the task, look the webhook
// up, render, sign, build the request and the log record. The network and
// Redis are replaced by instant answers so that what is measured is
// hookgate's own CPU and allocations per delivery (go test -bench
// Deliver -benchmem ./deliver).

type oneWebhook struct{ w *hookgate.Webhook }

func (o oneWebhook) Webhook(context.Context, string, string) (*hookgate.Webhook, error) {
	return o.w, nil
}

type okSender struct{}

func (okSender) Send(_ context.Context, req *sender.Request) *sender.Result {
	return &sender.Result{StatusCode: 200, Duration: time.Millisecond}
}

type nopRecorder struct{}

func (nopRecorder) Record(context.Context, hookgate.LogRecord) (int64, error) { return 0, nil }

func BenchmarkDeliver(b *testing.B) { benchDeliver(b, Tracing{}) }

// benchDeliver measures Deliver of one standard-format delivery to an
// endpoint that answers at once, with tracing as given.
func benchDeliver(b *testing.B, tracing Tracing) {
	w := &hookgate.Webhook{ID: "wh_1", Tenant: "acme", Name: "b", Enabled: true, Status: hookgate.StatusActive,
		Secret:    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		Endpoints: []hookgate.Endpoint{{ID: "ep_1", URL: "https://example.com/hook", Enabled: true}}}
	wk := &Worker{Webhooks: oneWebhook{w}, Renderer: render.Standard{}, Sender: okSender{}, Signer: NewSigner(okSender{}, 5*time.Second), Log: nopRecorder{},
		Policy:  Policy{RetryDelays: []time.Duration{time.Minute}, Timeout: 5 * time.Second, EndpointLimit: 32, MaxRequestBody: 64 << 10, MaxResponseBody: 64 << 10},
		Metrics: NewMetrics(prometheus.NewRegistry()), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Tracing: tracing}
	d := hookgate.Task{ID: "dl_1", Namespace: "acme", WebhookID: "wh_1", EndpointID: "ep_1", EnqueuedAt: time.Now(),
		Event: hookgate.Event{ID: "evt_1", Type: "contact.created", Tenant: "acme", OccurredAt: time.Now(),
			Data: json.RawMessage(`{"id":"c_1","first_name":"Ada","last_name":"Lovelace","email":"ada@example.com"}`)}}
	payload, _ := d.MarshalBinary()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		var task hookgate.Task
		if err := task.UnmarshalBinary(payload); err != nil {
			b.Fatal(err)
		}
		if err := wk.Deliver(ctx, &task, 0, 1); err != nil {
			b.Fatal(err)
		}
	}
}
