package hookgate

import (
	"context"
	"encoding/json"
	"time"
)

// DeliveryRecord is a delivery as the delivery log keeps it: its summary
// (and, when read by id, its attempts) with the event it carries, which a
// manual retry or a recover sends again byte for byte.
type DeliveryRecord struct {
	Delivery
	Namespace  string          `json:"namespace"`
	OccurredAt time.Time       `json:"occurred_at"`
	Data       json.RawMessage `json:"data,omitempty"`
}

// HealthWindow is how many of a webhook's (or an endpoint's) latest finished
// deliveries its Health counts.
const HealthWindow = 100

// Health is the success rate of a webhook's (or an endpoint's) latest
// HealthWindow finished deliveries.
type Health struct {
	Window    int `json:"window"`
	Total     int `json:"total"`
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
	// SuccessRate is Succeeded / Total, from 0 to 1; 0 when Total is 0.
	SuccessRate float64 `json:"success_rate"`
	// Endpoints is the same per endpoint (of the webhook's latest
	// finished deliveries the log keeps outcomes of), by endpoint id; on a
	// webhook only.
	Endpoints map[string]*Health `json:"endpoints,omitempty"`
}

// HourStats is one hour of a webhook's deliveries.
type HourStats struct {
	Start     time.Time `json:"start"`
	Succeeded int64     `json:"succeeded"`
	Failed    int64     `json:"failed"`
	// P50MS and P95MS are the median and 95th percentile response times of
	// the hour's finished deliveries (of a sample of its latest); 0 when none.
	P50MS float64 `json:"p50_ms"`
	P95MS float64 `json:"p95_ms"`
}

// WebhookStats is a webhook's last hours of deliveries, oldest hour first,
// their totals and its health: the answer of GET /v1/webhooks/{id}/stats.
type WebhookStats struct {
	WebhookID string      `json:"webhook_id"`
	Since     time.Time   `json:"since"`
	Until     time.Time   `json:"until"`
	Hours     []HourStats `json:"hours"`
	Succeeded int64       `json:"succeeded"`
	Failed    int64       `json:"failed"`
	P50MS     float64     `json:"p50_ms"`
	P95MS     float64     `json:"p95_ms"`
	Health    *Health     `json:"health"`
}

// DeliveryLog is the delivery log as the delivery service reads and changes
// it (implemented by store.DeliveryLog; the worker writes it).
type DeliveryLog interface {
	// List returns one page of a webhook's deliveries, newest first, and
	// the cursor of the next ("" at the end). The caller has checked the
	// webhook's tenant.
	List(ctx context.Context, f DeliveryFilter) ([]*Delivery, string, error)
	// Find returns one delivery of namespace ns with its attempts and its
	// event; ENOTFOUND when the log has none (or another namespace's).
	Find(ctx context.Context, ns, id string) (*DeliveryRecord, error)
	// Swap writes d's summary only if the logged delivery is still in
	// status was after attempts attempts, and reports whether it did: of
	// callers racing for one delivery, one wins.
	Swap(ctx context.Context, d *DeliveryRecord, was DeliveryStatus, attempts int) (bool, error)
	// Stats aggregates webhook wh's latest hours up to now, with its health.
	Stats(ctx context.Context, wh string, now time.Time) (*WebhookStats, error)
	// Health returns the health of each webhook of whs, by id.
	Health(ctx context.Context, whs []string) (map[string]*Health, error)
}

// RecoverRequest is the body of POST /v1/webhooks/{id}/recover: the window
// of delivery creation times, RFC 3339, and optionally one endpoint.
type RecoverRequest struct {
	Since      string `json:"since"`
	Until      string `json:"until,omitempty"`
	EndpointID string `json:"endpoint_id,omitempty"`
}

// Recovery is the answer to a recover: the failed deliveries found in the
// window when it was asked, which a background task queues again.
type Recovery struct {
	ID         string    `json:"id"`
	Count      int       `json:"count"`
	Since      time.Time `json:"since"`
	Until      time.Time `json:"until"`
	EndpointID string    `json:"endpoint_id,omitempty"`
}

// DeliveryService serves the delivery log, manual retries, recovers, test
// sends and previews to the API (implemented by webhooks.Deliveries).
// Every call is scoped to namespace ns.
type DeliveryService interface {
	ListDeliveries(ctx context.Context, ns string, f DeliveryFilter) ([]*Delivery, string, error)
	FindDelivery(ctx context.Context, ns, id string) (*DeliveryRecord, error)
	// RetryDelivery queues one more attempt of a failed delivery now.
	RetryDelivery(ctx context.Context, ns, id string) (*DeliveryRecord, error)
	// RecoverWebhook queues again, in the background, the failed
	// deliveries of a window and says how many.
	RecoverWebhook(ctx context.Context, ns, id string, req RecoverRequest) (*Recovery, error)
	TestWebhook(ctx context.Context, ns, id string, req TestRequest) ([]TestResult, error)
	// TestURLs tests the URLs of a webhook not saved yet, signed with
	// secret unless it is empty.
	TestURLs(ctx context.Context, ns string, req TestRequest, secret string) ([]TestResult, error)
	Preview(ctx context.Context, ns, id, eventType string, data json.RawMessage) (*Preview, error)
}

// StatsService aggregates the delivery log for the console's pictures:
// GET /v1/webhooks/{id}/stats and GET /v1/webhooks?include=health
// (implemented by webhooks.Deliveries).
type StatsService interface {
	WebhookStats(ctx context.Context, ns, id string) (*WebhookStats, error)
	// WebhookHealth returns the health of each of hooks, already read from
	// namespace ns, by webhook id.
	WebhookHealth(ctx context.Context, ns string, hooks []*Webhook) (map[string]*Health, error)
}

// RecoverTask is a recover as it is queued: a walk over one webhook's
// delivery log (of one endpoint, or all) that queues again each delivery
// that ended failed in the window [Since, Until]. It is durable like a
// delivery: a process that stops during the walk leaves the task to another
// worker (or to itself after a restart), which walks the window again; the
// deliveries already queued are no longer failed and are passed over.
type RecoverTask struct {
	ID         string    `json:"id"`
	Namespace  string    `json:"namespace"`
	WebhookID  string    `json:"webhook_id"`
	EndpointID string    `json:"endpoint_id,omitempty"`
	Since      time.Time `json:"since"`
	Until      time.Time `json:"until"`
	// AsOf is when the recover was asked for: a delivery last updated after
	// it (one that failed again after being recovered) is not this
	// recover's to send.
	AsOf time.Time `json:"as_of"`
}

// RecoverEnqueuer queues recover tasks durably (implemented by
// queue.Client); a task id already queued is not an error.
type RecoverEnqueuer interface {
	EnqueueRecover(ctx context.Context, r *RecoverTask) error
}

// Recoverer runs a recover task (implemented by webhooks.Deliveries); the
// queue runs it again, from the start of its window, when it fails.
type Recoverer interface {
	Recover(ctx context.Context, r *RecoverTask) error
}
