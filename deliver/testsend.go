package deliver

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hookgate/hookgate"
)

// SendTest sends ev (a test event) synchronously to each endpoint, in the
// webhook's format, signed and marked with the header webhook-test: true,
// without retries, and logs each delivery as a test when log is true (saved
// webhooks; not URLs typed in a dialog).
func (wk *Worker) SendTest(ctx context.Context, w *hookgate.Webhook, eps []hookgate.Endpoint, ev *hookgate.Event, newID func() string, log bool) []hookgate.TestResult {
	out := make([]hookgate.TestResult, len(eps))
	var wg sync.WaitGroup
	for i := range eps {
		wg.Go(func() {
			ep := &eps[i]
			d := &hookgate.Task{ID: newID(), Namespace: w.Tenant, WebhookID: w.ID, EndpointID: ep.ID, Event: *ev, EnqueuedAt: time.Now(), Test: true}
			att, _ := wk.attempt(ctx, w, ep, d)
			att.N = 1
			r := hookgate.TestResult{URL: ep.URL, EndpointID: ep.ID, OK: att.OK(), StatusCode: att.StatusCode, DurationMS: att.DurationMS,
				Test: true, EventType: ev.Type}
			if !r.OK && att.ErrorClass != hookgate.ClassSkipped {
				r.Error = att.Error
			}
			switch {
			case r.OK:
				r.Message = strings.TrimSpace("HTTP " + strconv.Itoa(att.StatusCode) + " " + http.StatusText(att.StatusCode))
			case att.ErrorClass == hookgate.ClassHTTPStatus || att.ErrorClass == hookgate.ClassRedirect:
				r.Message = "Failed: " + strconv.Itoa(att.StatusCode)
			case att.ErrorClass == hookgate.ClassSkipped:
				r.Message = "Failed: skipped by the format (" + att.Error + ")"
			default:
				r.Message = "Failed: " + att.ErrorClass
			}
			if log && w.ID != "" {
				rec := hookgate.LogRecord{Delivery: wk.summary(d, ep, att), Attempt: att}
				rec.Delivery.Test = true
				rec.Delivery.Status = hookgate.DeliveryFailed
				if r.OK {
					rec.Delivery.Status = hookgate.DeliverySucceeded
				}
				if _, err := wk.Log.Record(ctx, rec); err == nil {
					r.DeliveryID = d.ID
				}
			}
			out[i] = r
		})
	}
	wg.Wait()
	return out
}

// Preview renders and signs ev for w's first endpoint exactly as a delivery
// would, and returns the request instead of sending it. A plugin failure is
// returned as an error.
func (wk *Worker) Preview(ctx context.Context, w *hookgate.Webhook, ev *hookgate.Event, deliveryID string) (*hookgate.Preview, error) {
	p, err := wk.Renderer.Render(ctx, ev, w)
	if err != nil {
		return nil, err
	}
	if p.Skip {
		return &hookgate.Preview{Skip: true, SkipReason: p.SkipReason}, nil
	}
	url := ""
	var ep *hookgate.Endpoint
	if len(w.Endpoints) > 0 {
		ep = &w.Endpoints[0]
		url = ep.URL
	}
	req := wk.Signer.Request(w, ep, url, deliveryID, ev.Type, p, time.Now())
	out := &hookgate.Preview{URL: url, ContentType: req.Headers.Get("Content-Type"), Body: string(p.Body), Headers: make(map[string]string, len(req.Headers))}
	for k, v := range req.Headers {
		out.Headers[k] = v[0]
	}
	return out, nil
}
