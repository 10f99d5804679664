package webhooks_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/fakes"
	"github.com/hookgate/hookgate/webhooks"
)

// Unit tests of the delivery service over its ports: an in-memory delivery
// log, a recording queue and a recording test sender. They pin the rules the
// service holds itself (what may be retried, the one retry that wins a
// race, the failed state given back when queueing fails, what a test send
// targets, which recorded errors are shown); the Redis side of the log has
// its own tests in internal/store.

// recordingQueue records what is enqueued; fail makes Enqueue refuse. Like
// the real queue, a task id already queued is not queued again (nor an
// error).
type recordingQueue struct {
	mu       sync.Mutex
	items    []hookgate.QueueItem
	recovers []*hookgate.RecoverTask
	fail     error
}

func (q *recordingQueue) Enqueue(_ context.Context, items []hookgate.QueueItem) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.fail != nil {
		return q.fail
	}
	for _, it := range items {
		if !slices.ContainsFunc(q.items, func(o hookgate.QueueItem) bool { return o.TaskID == it.TaskID }) {
			q.items = append(q.items, it)
		}
	}
	return nil
}

func (q *recordingQueue) EnqueueRecover(_ context.Context, r *hookgate.RecoverTask) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.recovers = append(q.recovers, r)
	return nil
}

// recordingSender records the endpoints each test send was given.
type recordingSender struct {
	sent [][]string // per call: endpoint URLs
	log  []bool
}

func (s *recordingSender) SendTest(_ context.Context, w *hookgate.Webhook, eps []hookgate.Endpoint, ev *hookgate.Event, newID func() string, log bool) []hookgate.TestResult {
	var urls []string
	var out []hookgate.TestResult
	for _, e := range eps {
		urls = append(urls, e.URL)
		out = append(out, hookgate.TestResult{URL: e.URL, EndpointID: e.ID, OK: true, Message: "HTTP 200 OK", DeliveryID: newID(), Test: true, EventType: ev.Type})
	}
	s.sent = append(s.sent, urls)
	s.log = append(s.log, log)
	return out
}

func (s *recordingSender) Preview(context.Context, *hookgate.Webhook, *hookgate.Event, string) (*hookgate.Preview, error) {
	return &hookgate.Preview{}, nil
}

type deliveriesUnit struct {
	svc    *webhooks.Deliveries
	log    *fakes.DeliveryLog
	queue  *recordingQueue
	sender *recordingSender
}

var created = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func failedDelivery(id string, attempts int) *hookgate.DeliveryRecord {
	return &hookgate.DeliveryRecord{
		Delivery: hookgate.Delivery{ID: id, Tenant: "acme", WebhookID: "wh_1", EndpointID: "ep_1", URL: "https://a.example/hook",
			EventID: "evt_" + id, EventType: "deal.won", Status: hookgate.DeliveryFailed, Attempts: attempts,
			ErrorClass: hookgate.ClassHTTPStatus, Error: "HTTP 503", CreatedAt: created, UpdatedAt: created,
			AttemptLog: []hookgate.Attempt{{N: attempts, At: created, StatusCode: 503}}},
		Namespace: "acme", OccurredAt: created, Data: []byte(`{"id": "d_1",  "amount": 10}`),
	}
}

func newDeliveriesUnit(t *testing.T, ds ...*hookgate.DeliveryRecord) *deliveriesUnit {
	t.Helper()
	cat, err := hookgate.LoadCatalogue(nil)
	if err != nil {
		t.Fatal(err)
	}
	hooks := fakes.NewWebhookStore(&hookgate.Webhook{ID: "wh_1", Tenant: "acme", Name: "deals", Format: "standard", Events: []string{"deal.won"},
		Enabled: true, Status: hookgate.StatusActive, Endpoints: []hookgate.Endpoint{
			{ID: "ep_1", URL: "https://a.example/hook", Enabled: true},
			{ID: "ep_2", URL: "https://b.example/hook", Enabled: false},
		}})
	u := &deliveriesUnit{log: fakes.NewDeliveryLog(ds...), queue: &recordingQueue{}, sender: &recordingSender{}}
	n := 0
	u.svc = &webhooks.Deliveries{Webhooks: hooks, Catalogue: cat, Log: u.log, Queue: u.queue, Worker: u.sender,
		NewID: func(prefix string) string { n++; return prefix + "_" + strconv.Itoa(n) }}
	return u
}

func TestRetryQueuesTheSameDeliveryOnceMoreWithItsEvent(t *testing.T) {
	u := newDeliveriesUnit(t, failedDelivery("dl_1", 6))
	d, err := u.svc.RetryDelivery(context.Background(), "acme", "dl_1")
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != hookgate.DeliveryPending || d.NextRetryAt != nil {
		t.Fatalf("answer is %s, want pending with no next retry", d.Status)
	}
	if got := u.log.Get("dl_1"); got.Status != hookgate.DeliveryPending || len(got.AttemptLog) != 1 {
		t.Fatalf("logged delivery is %s with %d attempts, want pending with its attempt kept", got.Status, len(got.AttemptLog))
	}
	if len(u.queue.items) != 1 {
		t.Fatalf("%d tasks enqueued, want 1", len(u.queue.items))
	}
	it := u.queue.items[0]
	task := it.Task
	if it.TaskID != "dl_1:manual:6" || it.Retries != 0 {
		t.Errorf("task id %q with %d retries, want dl_1:manual:6 and none", it.TaskID, it.Retries)
	}
	if task.ID != "dl_1" || !task.Manual || task.Attempt0 != 6 || task.EndpointID != "ep_1" || task.Namespace != "acme" {
		t.Errorf("task %+v: want the same delivery id, manual, counting on from attempt 6", task)
	}
	// The body the first attempt sent, byte for byte: receivers hash bodies.
	if string(task.Event.Data) != `{"id": "d_1",  "amount": 10}` || task.Event.ID != "evt_dl_1" || !task.Event.OccurredAt.Equal(created) {
		t.Errorf("event %s %s at %s, want the logged one", task.Event.ID, task.Event.Data, task.Event.OccurredAt)
	}
}

func TestOnlyFailedDeliveriesThatAreNotTestsAreRetried(t *testing.T) {
	ok := failedDelivery("dl_ok", 1)
	ok.Status = hookgate.DeliverySucceeded
	test := failedDelivery("dl_test", 1)
	test.Test = true
	other := failedDelivery("dl_other", 1)
	other.Namespace = "globex"
	u := newDeliveriesUnit(t, ok, test, other)
	for id, want := range map[string]string{"dl_ok": hookgate.ECONFLICT, "dl_test": hookgate.ECONFLICT, "dl_other": hookgate.ENOTFOUND, "dl_none": hookgate.ENOTFOUND} {
		if _, err := u.svc.RetryDelivery(context.Background(), "acme", id); hookgate.ErrorCode(err) != want {
			t.Errorf("retry of %s: %v, want %s", id, err, want)
		}
	}
	if len(u.queue.items) != 0 || u.log.Swaps != 0 {
		t.Fatalf("%d tasks enqueued and %d records changed, want none", len(u.queue.items), u.log.Swaps)
	}
}

// racingLog makes n callers of Find all read the delivery before any of
// them goes on: the race a compare-and-set must settle, every time.
type racingLog struct {
	*fakes.DeliveryLog
	found sync.WaitGroup
}

func (l *racingLog) Find(ctx context.Context, ns, id string) (*hookgate.DeliveryRecord, error) {
	d, err := l.DeliveryLog.Find(ctx, ns, id)
	l.found.Done()
	l.found.Wait()
	return d, err
}

func TestOfRetriesRacingForOneDeliveryOneQueuesIt(t *testing.T) {
	u := newDeliveriesUnit(t, failedDelivery("dl_1", 3))
	const n = 8
	rl := &racingLog{DeliveryLog: u.log}
	rl.found.Add(n)
	u.svc.Log = rl
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := u.svc.RetryDelivery(context.Background(), "acme", "dl_1")
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	won := 0
	for err := range errs {
		switch {
		case err == nil:
			won++
		case hookgate.ErrorCode(err) != hookgate.ECONFLICT:
			t.Errorf("a losing retry answered %v, want %s", err, hookgate.ECONFLICT)
		}
	}
	if won != 1 || len(u.queue.items) != 1 {
		t.Fatalf("%d retries won and %d tasks were enqueued, want 1 and 1", won, len(u.queue.items))
	}
}

func TestARetryThatCannotBeQueuedLeavesTheDeliveryFailed(t *testing.T) {
	u := newDeliveriesUnit(t, failedDelivery("dl_1", 6))
	gone := hookgate.Errorf(hookgate.EUNAVAILABLE, "the queue is unavailable")
	u.queue.fail = gone
	if _, err := u.svc.RetryDelivery(context.Background(), "acme", "dl_1"); !errors.Is(err, gone) {
		t.Fatalf("retry answered %v, want the queue's error", err)
	}
	got := u.log.Get("dl_1")
	if got.Status != hookgate.DeliveryFailed || got.Attempts != 6 || got.Error != "HTTP 503" {
		t.Fatalf("logged delivery is %s after %d attempts (%q), want failed as it was", got.Status, got.Attempts, got.Error)
	}
	// And it can be retried once the queue is back.
	u.queue.fail = nil
	if _, err := u.svc.RetryDelivery(context.Background(), "acme", "dl_1"); err != nil {
		t.Fatalf("retry after the queue came back: %v", err)
	}
}

func TestRecordedTransportErrorsAreShownByTheirClassOnly(t *testing.T) {
	old := failedDelivery("dl_old", 1)
	old.ErrorClass, old.Error = hookgate.ClassConnect, "dial tcp 10.1.2.3:8443: connect: connection refused"
	old.AttemptLog[0].ErrorClass, old.AttemptLog[0].Error = hookgate.ClassConnect, "dial tcp 10.1.2.3:8443: connect: connection refused"
	safe := failedDelivery("dl_new", 1)
	safe.ErrorClass, safe.Error = hookgate.ClassConnect, "connect: connection refused"
	u := newDeliveriesUnit(t, old, safe)
	d, err := u.svc.FindDelivery(context.Background(), "acme", "dl_old")
	if err != nil {
		t.Fatal(err)
	}
	const hidden = "connect: no details recorded (see the server log)"
	if d.Error != hidden || d.AttemptLog[0].Error != hidden {
		t.Errorf("an address-naming error is shown as %q / %q, want %q", d.Error, d.AttemptLog[0].Error, hidden)
	}
	if d, _ := u.svc.FindDelivery(context.Background(), "acme", "dl_new"); d.Error != "connect: connection refused" {
		t.Errorf("a safe message is shown as %q", d.Error)
	}
	list, _, err := u.svc.ListDeliveries(context.Background(), "acme", hookgate.DeliveryFilter{WebhookID: "wh_1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range list {
		if d.ID == "dl_old" && d.Error != hidden {
			t.Errorf("the list shows %q", d.Error)
		}
	}
}

func TestATestSendTargetsTheEnabledEndpointsOrTheOneAsked(t *testing.T) {
	u := newDeliveriesUnit(t)
	ctx := context.Background()
	if _, err := u.svc.TestWebhook(ctx, "acme", "wh_1", hookgate.TestRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := u.svc.TestWebhook(ctx, "acme", "wh_1", hookgate.TestRequest{EndpointID: "ep_2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := u.svc.TestWebhook(ctx, "acme", "wh_1", hookgate.TestRequest{EndpointID: "ep_9"}); hookgate.ErrorCode(err) != hookgate.ENOTFOUND {
		t.Errorf("test of an unknown endpoint: %v, want %s", err, hookgate.ENOTFOUND)
	}
	if _, err := u.svc.TestWebhook(ctx, "globex", "wh_1", hookgate.TestRequest{}); hookgate.ErrorCode(err) != hookgate.ENOTFOUND {
		t.Errorf("test of another tenant's webhook: %v, want %s", err, hookgate.ENOTFOUND)
	}
	if len(u.sender.sent) != 2 || len(u.sender.sent[0]) != 1 || u.sender.sent[0][0] != "https://a.example/hook" ||
		len(u.sender.sent[1]) != 1 || u.sender.sent[1][0] != "https://b.example/hook" {
		t.Fatalf("sent to %v, want the enabled endpoint, then the one asked even disabled", u.sender.sent)
	}
	if !u.sender.log[0] || !u.sender.log[1] {
		t.Errorf("test sends of a saved webhook's endpoints are logged; log was %v", u.sender.log)
	}
}

func TestARecoverQueuesAgainTheFailedDeliveriesOfItsWindowOnly(t *testing.T) {
	at := func(id string, min int, status hookgate.DeliveryStatus) *hookgate.DeliveryRecord {
		d := failedDelivery(id, 6)
		d.CreatedAt = created.Add(time.Duration(min) * time.Minute)
		d.UpdatedAt = d.CreatedAt
		d.Status = status
		return d
	}
	test := at("dl_test", 10, hookgate.DeliveryFailed)
	test.Test = true
	otherEP := at("dl_ep2", 10, hookgate.DeliveryFailed)
	otherEP.EndpointID = "ep_2"
	u := newDeliveriesUnit(t,
		at("dl_in", 10, hookgate.DeliveryFailed), at("dl_in2", 50, hookgate.DeliveryFailed), otherEP,
		at("dl_before", -10, hookgate.DeliveryFailed), at("dl_after", 70, hookgate.DeliveryFailed),
		at("dl_ok", 20, hookgate.DeliverySucceeded), test)
	ctx := context.Background()
	rv, err := u.svc.RecoverWebhook(ctx, "acme", "wh_1", hookgate.RecoverRequest{
		Since: created.Format(time.RFC3339), Until: created.Add(time.Hour).Format(time.RFC3339), EndpointID: "ep_1"})
	if err != nil {
		t.Fatal(err)
	}
	if rv.Count != 2 || len(u.queue.recovers) != 1 || u.queue.recovers[0].ID != rv.ID {
		t.Fatalf("recover counted %d and queued %d tasks, want 2 and its one task", rv.Count, len(u.queue.recovers))
	}
	if len(u.queue.items) != 0 {
		t.Fatalf("%d deliveries queued before the task ran, want none", len(u.queue.items))
	}
	// The task runs: the two failed deliveries of ep_1 in the window, and
	// they only, go once more; running it again (a restart) queues them
	// under the same task ids, which the queue keeps once.
	for range 2 {
		if err := u.svc.Recover(ctx, u.queue.recovers[0]); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, it := range u.queue.items {
		got = append(got, it.TaskID)
	}
	if len(got) != 2 || !(got[0] == "dl_in2:manual:6" && got[1] == "dl_in:manual:6" || got[0] == "dl_in:manual:6" && got[1] == "dl_in2:manual:6") {
		t.Fatalf("queued %v, want dl_in and dl_in2 once each", got)
	}
	for _, id := range []string{"dl_ep2", "dl_before", "dl_after", "dl_test"} {
		if d := u.log.Get(id); d.Status != hookgate.DeliveryFailed {
			t.Errorf("%s is %s, want left failed", id, d.Status)
		}
	}
}

func TestARecoverWithNothingToSendQueuesNoTask(t *testing.T) {
	u := newDeliveriesUnit(t)
	rv, err := u.svc.RecoverWebhook(context.Background(), "acme", "wh_1", hookgate.RecoverRequest{Since: created.Format(time.RFC3339)})
	if err != nil {
		t.Fatal(err)
	}
	if rv.Count != 0 || len(u.queue.recovers) != 0 {
		t.Fatalf("counted %d and queued %d tasks, want none", rv.Count, len(u.queue.recovers))
	}
}
