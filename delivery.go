package hookgate

import (
	"context"
	"errors"
	"time"
)

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

// Delivery statuses.
const (
	DeliveryPending   DeliveryStatus = "pending"   // queued, not attempted yet
	DeliveryRetrying  DeliveryStatus = "retrying"  // failed at least once, another attempt is scheduled
	DeliverySucceeded DeliveryStatus = "succeeded" // a 2xx answer
	DeliveryFailed    DeliveryStatus = "failed"    // retries exhausted (or not retried: tests, 410 policy)
	DeliveryHeld      DeliveryStatus = "held"      // kept while the webhook is paused, unconfirmed or auto-paused
)

// Error classes of a failed attempt, as recorded in the delivery log.
const (
	ClassTimeout     = "timeout"
	ClassDNS         = "dns"
	ClassConnect     = "connect"
	ClassTLS         = "tls"
	ClassSSRFBlocked = "ssrf_blocked"
	ClassRedirect    = "redirect"
	ClassHTTPStatus  = "http_status"
	ClassPluginError = "plugin_error"
	ClassSkipped     = "skipped" // a plugin chose not to send this event
	// ClassTransformationError is a webhook's inline transformation that
	// failed (threw, ran out of time or memory, returned something unusable).
	// Like a plugin's failure it is not the receiver's: it is retried and
	// does not count toward auto-pause.
	ClassTransformationError = "transformation_error"
)

// ErrTransformation is wrapped by every failure of a webhook's inline
// transformation, so the worker can tell it from a plugin's or a receiver's.
var ErrTransformation = errors.New("transformation error")

// Delivery is one event sent to one endpoint of one webhook, over one or more
// attempts. Its ID is stable across retries and is sent as `webhook-id`.
type Delivery struct {
	ID          string         `json:"id"`
	Tenant      string         `json:"tenant"`
	WebhookID   string         `json:"webhook_id"`
	EndpointID  string         `json:"endpoint_id"`
	URL         string         `json:"url"`
	EventID     string         `json:"event_id"`
	EventType   string         `json:"event_type"`
	Status      DeliveryStatus `json:"status"`
	Test        bool           `json:"test,omitempty"`
	Attempts    int            `json:"attempts"`
	StatusCode  int            `json:"status_code,omitempty"`
	ErrorClass  string         `json:"error_class,omitempty"`
	Error       string         `json:"error,omitempty"`
	DurationMS  float64        `json:"duration_ms,omitempty"`
	NextRetryAt *time.Time     `json:"next_retry_at,omitempty"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
	// AttemptLog is filled by FindDeliveryByID only.
	AttemptLog []Attempt `json:"attempt_log,omitempty"`
}

// Attempt is one HTTP request of a delivery and what came back.
type Attempt struct {
	N               int               `json:"n"`
	At              time.Time         `json:"at"`
	DurationMS      float64           `json:"duration_ms"`
	RequestHeaders  map[string]string `json:"request_headers,omitempty"`
	RequestBody     string            `json:"request_body,omitempty"`
	StatusCode      int               `json:"status_code,omitempty"`
	ResponseHeaders map[string]string `json:"response_headers,omitempty"`
	ResponseBody    string            `json:"response_body,omitempty"`
	Truncated       bool              `json:"response_truncated,omitempty"`
	ErrorClass      string            `json:"error_class,omitempty"`
	Error           string            `json:"error,omitempty"`
	NextRetryAt     *time.Time        `json:"next_retry_at,omitempty"`
}

// OK reports whether the attempt got a 2xx answer.
func (a *Attempt) OK() bool { return a.ErrorClass == "" && a.StatusCode >= 200 && a.StatusCode < 300 }

// DeliveryFilter selects deliveries of one webhook, newest first.
type DeliveryFilter struct {
	Tenant     string
	WebhookID  string
	Status     DeliveryStatus
	EventType  string
	EndpointID string
	Since      time.Time
	Until      time.Time
	Cursor     string
	Limit      int
}

// Payload is what a formatter produces for one event and one webhook: the
// bytes to send and how to label them.
type Payload struct {
	Body        []byte
	ContentType string
	Headers     map[string]string
	// Skip is true when the format or a transform chose not to send this
	// event (a CloudCX webhook and a deal event, say); SkipReason says why.
	Skip       bool
	SkipReason string
}

// Renderer turns an event into the payload one webhook wants: its transforms
// in order, then its format. Implementations must be safe for concurrent use.
// An error is a plugin_error for the attempt, which is retried.
type Renderer interface {
	Render(ctx context.Context, ev *Event, w *Webhook) (*Payload, error)
}
