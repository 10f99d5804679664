package queue

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/store"
)

// TestResult is the outcome of a test send to one URL, worded as the product
// documents show it: "HTTP 200 OK" on success, "Failed: 503" or
// "Failed: timeout" otherwise.
type TestResult struct {
	URL        string `json:"url"`
	EndpointID string `json:"endpoint_id,omitempty"`
	OK         bool   `json:"ok"`
	StatusCode int    `json:"status_code,omitempty"`
	Message    string `json:"message"`
	// Error is why a failed send failed, as the delivery log records it:
	// the error class and a message safe to show ("connect: connection
	// refused", "HTTP 503"), never an address or port. Empty on success and
	// when the format skipped the event (Message says so).
	Error      string  `json:"error,omitempty"`
	DeliveryID string  `json:"delivery_id,omitempty"`
	DurationMS float64 `json:"duration_ms"`
	// Test is always true: the request was a test, sent with the header
	// webhook-test: true.
	Test bool `json:"test"`
	// EventType is the event the test sent: webhook.test (standard) or the
	// example of a subscribed type the format renders.
	EventType string `json:"event_type"`
}

// SendTest sends ev (a test event) synchronously to each endpoint, in the
// webhook's format, signed and marked with the header webhook-test: true,
// without retries, and logs each delivery as a test when log is true (saved
// webhooks; not URLs typed in a dialog).
func (wk *Worker) SendTest(ctx context.Context, w *hookgate.Webhook, eps []hookgate.Endpoint, ev *hookgate.Event, newID func() string, log bool) []TestResult {
	out := make([]TestResult, len(eps))
	var wg sync.WaitGroup
	for i := range eps {
		wg.Go(func() {
			ep := &eps[i]
			d := &hookgate.Task{ID: newID(), Namespace: w.Tenant, WebhookID: w.ID, EndpointID: ep.ID, Event: *ev, EnqueuedAt: time.Now(), Test: true}
			att, _ := wk.attempt(ctx, w, ep, d)
			att.N = 1
			r := TestResult{URL: ep.URL, EndpointID: ep.ID, OK: att.OK(), StatusCode: att.StatusCode, DurationMS: att.DurationMS,
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
				rec := store.Record{Delivery: wk.summary(d, ep, att), Attempt: att}
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

// Preview is what a delivery of an event would send, without sending it.
type Preview struct {
	URL         string            `json:"url,omitempty"`
	ContentType string            `json:"content_type,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	Body        string            `json:"body,omitempty"`
	Skip        bool              `json:"skip,omitempty"`
	SkipReason  string            `json:"skip_reason,omitempty"`
}

// Preview renders and signs ev for w's first endpoint exactly as a delivery
// would, and returns the request instead of sending it. A plugin failure is
// returned as an error.
func (wk *Worker) Preview(ctx context.Context, w *hookgate.Webhook, ev *hookgate.Event, deliveryID string) (*Preview, error) {
	p, err := wk.Renderer.Render(ctx, ev, w)
	if err != nil {
		return nil, err
	}
	if p.Skip {
		return &Preview{Skip: true, SkipReason: p.SkipReason}, nil
	}
	url := ""
	var ep *hookgate.Endpoint
	if len(w.Endpoints) > 0 {
		ep = &w.Endpoints[0]
		url = ep.URL
	}
	req := wk.request(w, ep, url, deliveryID, ev.Type, p, time.Now())
	out := &Preview{URL: url, ContentType: req.Headers.Get("Content-Type"), Body: string(p.Body), Headers: make(map[string]string, len(req.Headers))}
	for k, v := range req.Headers {
		out.Headers[k] = v[0]
	}
	return out, nil
}
