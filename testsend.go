package hookgate

import "context"

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

// Preview is what a delivery of an event would send, without sending it.
type Preview struct {
	URL         string            `json:"url,omitempty"`
	ContentType string            `json:"content_type,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	Body        string            `json:"body,omitempty"`
	Skip        bool              `json:"skip,omitempty"`
	SkipReason  string            `json:"skip_reason,omitempty"`
}

// TestRequest chooses what a test send targets: all enabled endpoints of the
// webhook (empty), one endpoint, or URLs not saved yet (a dialog's "Test
// endpoints"), optionally with a format and, before save, the events the
// form subscribes to.
type TestRequest struct {
	EndpointID string   `json:"endpoint_id,omitempty"`
	URLs       []string `json:"urls,omitempty"`
	// Headers are the custom headers of each of URLs, by index (a form's
	// endpoints[].headers before save). Optional.
	Headers []map[string]string `json:"headers,omitempty"`
	Format  string              `json:"format,omitempty"`
	// Events are the subscriptions of a form not saved yet (TestURLs only;
	// a saved webhook's own are used otherwise).
	Events []string `json:"-"`
}

// TestSender sends test events and previews deliveries through the
// delivery pipeline (implemented by deliver.Worker).
type TestSender interface {
	// SendTest sends ev to each of eps of w now and reports each outcome;
	// newID names the deliveries, which are logged when log is true.
	SendTest(ctx context.Context, w *Webhook, eps []Endpoint, ev *Event, newID func() string, log bool) []TestResult
	// Preview is what a delivery of ev to w's first endpoint would send,
	// under delivery id deliveryID, without sending it.
	Preview(ctx context.Context, w *Webhook, ev *Event, deliveryID string) (*Preview, error)
}
