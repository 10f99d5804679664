package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/hookgate/hookgate"
)

// Deliveries serves the delivery log, manual retries, recovers and test sends
// (hookgate.DeliveryService and hookgate.StatsService).
type Deliveries struct {
	Webhooks  hookgate.WebhookStore
	Catalogue *hookgate.Catalogue
	Log       hookgate.DeliveryLog
	Queue     interface {
		hookgate.Enqueuer
		hookgate.RecoverEnqueuer
	}
	Worker    hookgate.TestSender
	AllowHTTP bool
	// FormatAllowsHTTP reports whether a format's plugin accepts http://
	// endpoints (plugins[].allow_http). Optional.
	FormatAllowsHTTP func(format string) bool
	// EventTypes returns the event types a format renders; nil means any.
	// Optional.
	EventTypes func(format string) []string
	NewID      func(prefix string) string
	Logger     *slog.Logger // optional
}

var (
	_ hookgate.DeliveryService = (*Deliveries)(nil)
	_ hookgate.StatsService    = (*Deliveries)(nil)
	_ hookgate.Recoverer       = (*Deliveries)(nil)
)

// ListDeliveries lists a webhook's deliveries after checking the webhook is
// in namespace ns.
func (s *Deliveries) ListDeliveries(ctx context.Context, ns string, f hookgate.DeliveryFilter) ([]*hookgate.Delivery, string, error) {
	if _, err := s.Webhooks.FindWebhookByID(ctx, ns, f.WebhookID); err != nil {
		return nil, "", err
	}
	switch f.Status {
	case "", hookgate.DeliveryPending, hookgate.DeliveryRetrying, hookgate.DeliverySucceeded, hookgate.DeliveryFailed, hookgate.DeliveryHeld:
	default:
		return nil, "", hookgate.FieldError("status", "status must be pending, retrying, succeeded, failed or held")
	}
	list, next, err := s.Log.List(ctx, f)
	for _, d := range list {
		d.Error = shownError(d.ErrorClass, d.Error)
	}
	return list, next, err
}

// FindDelivery returns one delivery with its attempts and event.
func (s *Deliveries) FindDelivery(ctx context.Context, ns, id string) (*hookgate.DeliveryRecord, error) {
	d, err := s.Log.Find(ctx, ns, id)
	if err != nil {
		return nil, err
	}
	d.Error = shownError(d.ErrorClass, d.Error)
	for i := range d.AttemptLog {
		a := &d.AttemptLog[i]
		a.Error = shownError(a.ErrorClass, a.Error)
	}
	return d, nil
}

// shownError is the recorded error of an attempt as the API shows it. The
// worker records a transport failure as its class and a safe message that
// starts with the class (sender.Result.Message); hookgate before that
// recorded Go's own error text, which names the address dialled, its port
// and the resolver. Such a record, kept until delivery.log_max_age, is shown
// by its class alone.
func shownError(class, msg string) string {
	switch class {
	case hookgate.ClassTimeout, hookgate.ClassDNS, hookgate.ClassConnect, hookgate.ClassTLS, hookgate.ClassSSRFBlocked:
		if !strings.HasPrefix(msg, class+": ") {
			return class + ": no details recorded (see the server log)"
		}
	}
	return msg
}

// RetryDelivery queues one more attempt of a failed delivery, with the same
// delivery id, now.
func (s *Deliveries) RetryDelivery(ctx context.Context, ns, id string) (*hookgate.DeliveryRecord, error) {
	d, err := s.FindDelivery(ctx, ns, id)
	if err != nil {
		return nil, err
	}
	if d.Status != hookgate.DeliveryFailed {
		return nil, hookgate.Errorf(hookgate.ECONFLICT, "only failed deliveries can be retried; this one is %s", d.Status)
	}
	if d.Test {
		return nil, hookgate.Errorf(hookgate.ECONFLICT, "test deliveries are not retried; send a new test")
	}
	if _, err := s.Webhooks.FindWebhookByID(ctx, ns, d.WebhookID); err != nil {
		return nil, err
	}
	ok, err := s.requeue(ctx, ns, d)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, hookgate.Errorf(hookgate.ECONFLICT, "the delivery changed meanwhile (another retry or a recover queued it); reload it")
	}
	return d, nil
}

// requeue queues one more attempt of d, a failed delivery read from the log
// (with its event), under the same delivery id: the one path of manual
// retries and recovers. It first marks the logged delivery pending, only if
// it is still failed after d.Attempts attempts (hookgate.DeliveryLog.Swap), so
// that of callers racing for one failed delivery one queues it and the
// others get false; then it enqueues a task whose id, <delivery>:manual:<attempts>,
// makes a second enqueue of the same state a no-op while the first is
// queued. ns is the namespace the caller checked d is in. When the enqueue fails, the delivery is put back to failed. d is
// updated to what the log shows.
func (s *Deliveries) requeue(ctx context.Context, ns string, d *hookgate.DeliveryRecord) (bool, error) {
	failed := *d
	attempts := d.Attempts
	d.Status = hookgate.DeliveryPending
	d.NextRetryAt = nil
	d.UpdatedAt = time.Now().UTC()
	d.AttemptLog = nil
	ok, err := s.Log.Swap(ctx, d, hookgate.DeliveryFailed, attempts)
	if err != nil || !ok {
		return false, err
	}
	if err := s.enqueueManual(ctx, ns, d); err != nil {
		failed.AttemptLog = nil
		if _, rerr := s.Log.Swap(context.WithoutCancel(ctx), &failed, hookgate.DeliveryPending, attempts); rerr != nil {
			return false, fmt.Errorf("%w (and putting delivery %s back to failed: %v)", err, d.ID, rerr)
		}
		return false, err
	}
	return true, nil
}

// enqueueManual queues the manual attempt of a delivery marked pending; the
// task id makes it a no-op while the same attempt is already queued.
func (s *Deliveries) enqueueManual(ctx context.Context, ns string, d *hookgate.DeliveryRecord) error {
	task := &hookgate.Task{ID: d.ID, Namespace: ns, WebhookID: d.WebhookID, EndpointID: d.EndpointID,
		Event:      hookgate.Event{ID: d.EventID, Type: d.EventType, Tenant: d.Tenant, OccurredAt: d.OccurredAt, Data: d.Data},
		EnqueuedAt: d.CreatedAt, Manual: true, Attempt0: d.Attempts}
	item := hookgate.QueueItem{Task: task, Retries: 0, TaskID: d.ID + ":manual:" + strconv.Itoa(d.Attempts)}
	return s.Queue.Enqueue(ctx, []hookgate.QueueItem{item})
}

// TestWebhook sends a test event to a saved webhook's endpoints (or the
// given URLs, with its format and secret) and logs it. The test event is
// webhook.test for the standard format, otherwise the example of the first
// event type the webhook subscribes to that its format renders.
func (s *Deliveries) TestWebhook(ctx context.Context, ns, id string, req hookgate.TestRequest) ([]hookgate.TestResult, error) {
	w, err := s.Webhooks.FindWebhookByID(ctx, ns, id)
	if err != nil {
		return nil, err
	}
	var eps []hookgate.Endpoint
	switch {
	case len(req.URLs) > 0:
		if eps, err = s.urlEndpoints(req.URLs, req.Headers, w.Format); err != nil {
			return nil, err
		}
	case req.EndpointID != "":
		for _, e := range w.Endpoints {
			if e.ID == req.EndpointID {
				eps = append(eps, e)
			}
		}
		if len(eps) == 0 {
			return nil, hookgate.Errorf(hookgate.ENOTFOUND, "endpoint %s not found", req.EndpointID)
		}
	default:
		for _, e := range w.Endpoints {
			if e.Enabled {
				eps = append(eps, e)
			}
		}
		if len(eps) == 0 {
			return nil, hookgate.Errorf(hookgate.ECONFLICT, "the webhook has no enabled endpoint")
		}
	}
	ev, err := s.testEvent(w)
	if err != nil {
		return nil, err
	}
	return s.Worker.SendTest(ctx, w, eps, ev, func() string { return s.NewID("dl") }, len(req.URLs) == 0), nil
}

// TestURLs sends a test event to URLs of a webhook not saved yet, in
// format, for the events the form subscribes to, unsigned unless secret is
// given. Nothing is logged.
func (s *Deliveries) TestURLs(ctx context.Context, ns string, req hookgate.TestRequest, secret string) ([]hookgate.TestResult, error) {
	if req.Format == "" {
		req.Format = "standard"
	}
	eps, err := s.urlEndpoints(req.URLs, req.Headers, req.Format)
	if err != nil {
		return nil, err
	}
	var v hookgate.Validation
	events := make([]string, 0, len(req.Events))
	for i, p := range req.Events {
		canon, err := s.Catalogue.CheckPattern(strings.TrimSpace(p))
		if err != nil {
			v.Add("events["+strconv.Itoa(i)+"]", "%s", hookgate.ErrorMessage(err))
			continue
		}
		events = append(events, canon)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if len(events) == 0 {
		// A form with no event chosen yet: anything the format sends.
		events = []string{"*"}
	}
	w := &hookgate.Webhook{ID: "", Tenant: ns, Format: req.Format, Events: events, Secret: secret, Unsigned: secret == "", Enabled: true}
	ev, err := s.testEvent(w)
	if err != nil {
		return nil, err
	}
	return s.Worker.SendTest(ctx, w, eps, ev, func() string { return s.NewID("dl") }, false), nil
}

func (s *Deliveries) urlEndpoints(urls []string, headers []map[string]string, format string) ([]hookgate.Endpoint, error) {
	if len(urls) > 10 {
		return nil, hookgate.FieldError("urls", "at most 10 URLs can be tested at once")
	}
	allowHTTP := s.AllowHTTP || (s.FormatAllowsHTTP != nil && s.FormatAllowsHTTP(format))
	var v hookgate.Validation
	eps := make([]hookgate.Endpoint, 0, len(urls))
	for i, raw := range urls {
		// Tried in the form a save would store (hookgate.EndpointURL), so
		// that a test that passes means a saved webhook reaches the URL.
		u, err := hookgate.EndpointURL(raw, allowHTTP)
		if err != nil {
			v.Add("urls["+strconv.Itoa(i)+"]", "%s", hookgate.ErrorMessage(err))
		}
		ep := hookgate.Endpoint{ID: "test", URL: u, Enabled: true}
		if i < len(headers) {
			hookgate.ValidateHeaders(&v, "urls["+strconv.Itoa(i)+"]", headers[i])
			ep.Headers = headers[i]
		}
		eps = append(eps, ep)
	}
	if len(urls) == 0 {
		v.Add("urls", "at least one URL is required")
	}
	if len(headers) > len(urls) {
		v.Add("headers", "headers has %d entries for %d URLs", len(headers), len(urls))
	}
	return eps, v.Err()
}

// testEvent is what a test send delivers to w: for the standard format,
// webhook.test; for a plugin format, the catalogue's example of the first
// event type w subscribes to (in subscription order, a wildcard's types by
// name) that the format renders, so the receiver sees exactly what real
// events will look like. None is hookgate.ENOTESTEVENT.
func (s *Deliveries) testEvent(w *hookgate.Webhook) (*hookgate.Event, error) {
	now := time.Now().UTC()
	if w.Format == "" || w.Format == "standard" {
		data, _ := json.Marshal(map[string]string{
			"message":    "This is a test event from hookgate.",
			"webhook_id": w.ID, "webhook_name": w.Name,
		})
		return &hookgate.Event{ID: s.NewID("evt"), Type: "webhook.test", Tenant: w.Tenant, OccurredAt: now, Data: data}, nil
	}
	var declared []string
	if s.EventTypes != nil {
		declared = s.EventTypes(w.Format)
	}
	if t, ok := s.firstRendered(w.Events, declared); ok {
		return &hookgate.Event{ID: s.NewID("evt"), Type: t.Name, Tenant: w.Tenant, OccurredAt: now, Data: json.RawMessage(t.Example)}, nil
	}
	return nil, hookgate.Errorf(hookgate.ENOTESTEVENT, "nothing to test with: format %s sends none of the events this webhook subscribes to (%s); it sends %s",
		w.Format, strings.Join(w.Events, ", "), orAny(declared))
}

// firstRendered is the first catalogue type with an example that a pattern
// of events matches and the format renders (declared; nil means any but
// hookgate's own webhook.* events, which only `standard` carries).
func (s *Deliveries) firstRendered(events, declared []string) (hookgate.EventType, bool) {
	for _, p := range events {
		for _, t := range s.Catalogue.Types() {
			if len(t.Example) == 0 || !hookgate.MatchEvent(p, t.Name) {
				continue
			}
			if declared == nil {
				if t.Object != "webhook" {
					return t, true
				}
				continue
			}
			for _, d := range declared {
				if d == t.Name {
					return t, true
				}
			}
		}
	}
	return hookgate.EventType{}, false
}

func orAny(declared []string) string {
	if declared == nil {
		return "any event type"
	}
	return strings.Join(declared, ", ")
}

// Preview returns the exact request a delivery of an event of type
// eventType with data would make to the webhook's first endpoint, without
// sending it: a dry run of its transforms, format and signing.
func (s *Deliveries) Preview(ctx context.Context, ns, id, eventType string, data json.RawMessage) (*hookgate.Preview, error) {
	w, err := s.Webhooks.FindWebhookByID(ctx, ns, id)
	if err != nil {
		return nil, err
	}
	typ, err := s.Catalogue.CheckType(eventType)
	if err != nil {
		return nil, err
	}
	if len(data) == 0 || data[0] != '{' {
		return nil, hookgate.FieldError("data", "data must be a JSON object")
	}
	ev := &hookgate.Event{ID: s.NewID("evt"), Type: typ, Tenant: w.Tenant, OccurredAt: time.Now().UTC(), Data: data}
	p, err := s.Worker.Preview(ctx, w, ev, s.NewID("dl"))
	if err != nil {
		// A plugin that failed (502), timed out (504) or is not available
		// (503) keeps its code: the webhook and the event are not at fault.
		code := hookgate.ErrorCode(err)
		switch code {
		case hookgate.EBADGATEWAY, hookgate.ETIMEOUT, hookgate.EUNAVAILABLE:
		default:
			code = hookgate.EINVALID
		}
		return nil, &hookgate.Error{Code: code, Message: "the webhook's pipeline failed: " + hookgate.ErrorMessage(err), Err: err}
	}
	return p, nil
}

// WebhookStats aggregates a webhook's last 24 hours of deliveries (per hour:
// succeeded, failed, p50 and p95 response time) and its health, after
// checking the webhook is in namespace ns.
func (s *Deliveries) WebhookStats(ctx context.Context, ns, id string) (*hookgate.WebhookStats, error) {
	if _, err := s.Webhooks.FindWebhookByID(ctx, ns, id); err != nil {
		return nil, err
	}
	return s.Log.Stats(ctx, id, time.Now())
}

// WebhookHealth returns the health (success rate of the latest deliveries)
// of each webhook of hooks, already read from namespace ns, by webhook id.
func (s *Deliveries) WebhookHealth(ctx context.Context, ns string, hooks []*hookgate.Webhook) (map[string]*hookgate.Health, error) {
	ids := make([]string, 0, len(hooks))
	for _, w := range hooks {
		ids = append(ids, w.ID)
	}
	return s.Log.Health(ctx, ids)
}
