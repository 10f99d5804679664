package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/app"
	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/testenv"
	"github.com/hookgate/hookgate/queue"
)

// flakyReceiver answers 503 to events whose data has "fail": true and to
// test sends until it recovers, 200 otherwise; once hold is set it keeps
// each request until release is closed.
type flakyReceiver struct {
	rec       *receiver.Recorder
	srv       *httptest.Server
	recovered atomic.Bool
	hold      atomic.Pointer[chan struct{}]
}

func newFlakyReceiver(t *testing.T) *flakyReceiver {
	f := &flakyReceiver{rec: receiver.NewRecorder()}
	f.rec.SetHandler(func(w http.ResponseWriter, r *http.Request) {
		if ch := f.hold.Load(); ch != nil {
			select {
			case <-*ch:
			case <-r.Context().Done():
			}
		}
		var ev struct {
			Data struct {
				Fail bool `json:"fail"`
			} `json:"data"`
		}
		_ = json.NewDecoder(r.Body).Decode(&ev)
		if (ev.Data.Fail || r.Header.Get("webhook-test") == "true") && !f.recovered.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	f.srv = httptest.NewServer(f.rec)
	t.Cleanup(f.srv.Close)
	return f
}

// recoverFixture is a webhook with two endpoints and five events published
// one after the other, each delivered to both: e0 fails, e1 fails, e2
// succeeds, e3 fails, e4 fails. Every failed delivery has spent its retry.
// Last, a test send to endpoint 1 fails (test sends are never recovered).
type recoverFixture struct {
	h      *harness
	admin  string
	w      createdWebhook
	r1, r2 *flakyReceiver
	// byEvent[i][j] is the delivery of event i to endpoint j.
	byEvent [5][2]hookgate.Delivery
}

func newRecoverFixture(t *testing.T, h *harness) *recoverFixture {
	f := &recoverFixture{h: h, admin: h.token("acme", "admin"), r1: newFlakyReceiver(t), r2: newFlakyReceiver(t)}
	f.w = h.createWebhook(f.admin, map[string]any{"name": "CRM", "endpoints": endpoints(f.r1.srv.URL, f.r2.srv.URL),
		"events": []string{"ticket.created"}, "retry": map[string]any{"delays": []string{"10ms"}}})
	pub := h.token("acme", "publisher")
	var eventIDs [5]string
	for i, fail := range []bool{true, true, false, true, true} {
		// Each event in a millisecond of its own: the log's index, and so
		// the window, has millisecond resolution.
		before := time.Now().UnixMilli()
		testenv.Eventually(t, time.Second, "the next millisecond", func() bool { return time.Now().UnixMilli() > before })
		var res struct{ ID string }
		h.do("POST", "/v1/events", pub, map[string]any{"type": "ticket.created", "data": map[string]any{"n": i, "fail": fail}}).must(t, 202).json(t, &res)
		eventIDs[i] = res.ID
		after := time.Now().UnixMilli()
		testenv.Eventually(t, time.Second, "the next millisecond", func() bool { return time.Now().UnixMilli() > after })
	}
	var tests []struct{ OK bool }
	var testPage struct {
		Data *[]struct{ OK bool } `json:"data"`
	}
	testPage.Data = &tests
	h.do("POST", "/v1/webhooks/"+f.w.ID+"/test", f.admin, map[string]any{"endpoint_id": f.w.Endpoints[0].ID}).must(t, 200).json(t, &testPage)
	if len(tests) != 1 || tests[0].OK {
		t.Fatalf("test send: %+v, want one that failed", tests)
	}
	testenv.Eventually(t, 15*time.Second, "every delivery to end", func() bool {
		ds := h.deliveries(f.admin, f.w.ID, "?limit=100")
		if len(ds) != 11 {
			return false
		}
		for _, d := range ds {
			if d.Test {
				if d.Status != hookgate.DeliveryFailed {
					return false
				}
				continue
			}
			if d.Status != hookgate.DeliveryFailed && d.Status != hookgate.DeliverySucceeded {
				return false
			}
			for i, id := range eventIDs {
				for j, ep := range f.w.Endpoints {
					if d.EventID == id && d.EndpointID == ep.ID {
						f.byEvent[i][j] = d
					}
				}
			}
		}
		return true
	})
	for i := range f.byEvent {
		for j := range f.byEvent[i] {
			d := f.byEvent[i][j]
			want, attempts := hookgate.DeliveryFailed, 2
			if i == 2 {
				want, attempts = hookgate.DeliverySucceeded, 1
			}
			if d.Status != want || d.Attempts != attempts {
				t.Fatalf("event %d to endpoint %d: %s after %d attempts, want %s after %d", i, j, d.Status, d.Attempts, want, attempts)
			}
		}
	}
	return f
}

func (f *recoverFixture) delivery(id string) deliveryView {
	var d deliveryView
	f.h.do("GET", "/v1/deliveries/"+id, f.admin, nil).must(f.h.t, 200).json(f.h.t, &d)
	return d
}

// queueIdle waits until the deployment's queue holds no task (deliveries
// and recovers) in any state.
func queueIdle(t *testing.T, h *harness) {
	t.Helper()
	testenv.Eventually(t, 15*time.Second, "the queue to be empty", func() bool {
		info, err := queue.QueueInfo(context.Background(), h.rdb, app.QueueName(h.cfg))
		return err == nil && info.Pending+info.Active+info.Scheduled+info.Retry == 0
	})
}

type recoveryView struct {
	ID         string    `json:"id"`
	Count      int       `json:"count"`
	Since      time.Time `json:"since"`
	Until      time.Time `json:"until"`
	EndpointID string    `json:"endpoint_id"`
}

func TestRecoverSendsExactlyTheFailedDeliveriesOfTheWindowOnce(t *testing.T) {
	h := start(t, nil)
	f := newRecoverFixture(t, h)
	ep1 := f.w.Endpoints[0].ID
	since, until := f.byEvent[1][0].CreatedAt, f.byEvent[3][0].CreatedAt
	if c := f.byEvent[3][1].CreatedAt; c.After(until) {
		until = c
	}
	f.r1.recovered.Store(true)
	f.r2.recovered.Store(true)
	release := make(chan struct{})
	f.r1.hold.Store(&release)
	f.r1.rec.Reset()
	f.r2.rec.Reset()

	body := map[string]any{"since": since.Format(time.RFC3339Nano), "until": until.Format(time.RFC3339Nano), "endpoint_id": ep1}
	var rv recoveryView
	h.do("POST", "/v1/webhooks/"+f.w.ID+"/recover", f.admin, body).must(t, 202).json(t, &rv)
	// In the window, to endpoint 1: e1 and e3 failed, e2 succeeded. e0 is
	// before it, e4 after it, and the failures to endpoint 2 are not asked for.
	if rv.Count != 2 || !rv.Since.Equal(since) || !rv.Until.Equal(until) || rv.EndpointID != ep1 || rv.ID == "" {
		t.Fatalf("recover answered %+v, want 2 deliveries in [%s, %s] of %s", rv, since, until, ep1)
	}
	// The same recover again while the first is under way (a request held
	// by the receiver): nothing is sent twice.
	if _, err := f.r1.rec.WaitFor(testenv.Context(t), 1); err != nil {
		t.Fatal(err)
	}
	var again recoveryView
	h.do("POST", "/v1/webhooks/"+f.w.ID+"/recover", f.admin, body).must(t, 202).json(t, &again)
	if again.Count > 1 {
		t.Fatalf("the second recover found %d failed deliveries; the first had queued at least one of the 2", again.Count)
	}
	close(release)

	want := []string{f.byEvent[1][0].ID, f.byEvent[3][0].ID}
	for _, id := range want {
		testenv.Eventually(t, 10*time.Second, "the recovered delivery to succeed", func() bool {
			return f.delivery(id).Status == hookgate.DeliverySucceeded
		})
	}
	queueIdle(t, h)
	got := f.r1.rec.Deliveries()
	ids := make([]string, 0, len(got))
	for _, d := range got {
		ids = append(ids, d.ID)
	}
	sort.Strings(ids)
	sort.Strings(want)
	if len(ids) != 2 || ids[0] != want[0] || ids[1] != want[1] {
		t.Fatalf("endpoint 1 received webhook-ids %v, want each of %v once", ids, want)
	}
	if n := f.r2.rec.Count(); n != 0 {
		t.Fatalf("endpoint 2 received %d requests; it was not recovered", n)
	}
	// The log: a third attempt of the same delivery, numbered on.
	for _, id := range want {
		d := f.delivery(id)
		if d.Attempts != 3 || len(d.AttemptLog) != 3 || d.AttemptLog[2].N != 3 || d.AttemptLog[2].StatusCode != 200 {
			t.Fatalf("recovered delivery %s: %d attempts, log %+v", id, d.Attempts, d.AttemptLog)
		}
	}
	// Everything else is as it was.
	for i := range f.byEvent {
		for j := range f.byEvent[i] {
			old := f.byEvent[i][j]
			if (i == 1 || i == 3) && j == 0 {
				continue
			}
			if d := f.delivery(old.ID); d.Status != old.Status || d.Attempts != old.Attempts {
				t.Fatalf("event %d to endpoint %d changed: %s after %d attempts, was %s after %d", i, j, d.Status, d.Attempts, old.Status, old.Attempts)
			}
		}
	}

	// Without an endpoint and until: every endpoint, up to now; the
	// deliveries recovered above have succeeded and are not sent again.
	f.r1.hold.Store(nil)
	rv = recoveryView{}
	h.do("POST", "/v1/webhooks/"+f.w.ID+"/recover", f.admin, map[string]any{"since": since.Format(time.RFC3339Nano)}).must(t, 202).json(t, &rv)
	if rv.Count != 4 || rv.EndpointID != "" {
		t.Fatalf("recover of every endpoint answered %+v, want 4 (e1, e3, e4 to endpoint 2; e4 to endpoint 1)", rv)
	}
	if _, err := f.r2.rec.WaitFor(testenv.Context(t), 3); err != nil {
		t.Fatal(err)
	}
	if _, err := f.r1.rec.WaitFor(testenv.Context(t), 3); err != nil {
		t.Fatal(err)
	}
	queueIdle(t, h)
	if n1, n2 := f.r1.rec.Count(), f.r2.rec.Count(); n1 != 3 || n2 != 3 {
		t.Fatalf("after the second recover endpoint 1 got %d requests in all (want 3), endpoint 2 got %d (want 3)", n1, n2)
	}
	if d := f.delivery(f.byEvent[0][0].ID); d.Status != hookgate.DeliveryFailed || d.Attempts != 2 {
		t.Fatalf("a delivery before since was recovered: %+v", d.Delivery)
	}
}

func TestRecoverIsRefusedWithFieldErrors(t *testing.T) {
	h := start(t, nil)
	admin := h.token("acme", "admin")
	rec := receiver.NewRecorder()
	srv := httptest.NewServer(rec)
	defer srv.Close()
	w := h.createWebhook(admin, map[string]any{"name": "CRM", "endpoints": endpoints(srv.URL), "events": []string{"ticket.created"}})
	path := "/v1/webhooks/" + w.ID + "/recover"
	hourAgo := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	for _, tc := range []struct {
		name  string
		body  any
		field string
	}{
		{"no since", map[string]any{}, "since"},
		{"since not a time", map[string]any{"since": "yesterday"}, "since"},
		{"since in the future", map[string]any{"since": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, "since"},
		{"until not a time", map[string]any{"since": hourAgo, "until": "now"}, "until"},
		{"until before since", map[string]any{"since": hourAgo, "until": time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339)}, "until"},
		{"until in the future", map[string]any{"since": hourAgo, "until": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, "until"},
		{"unknown endpoint", map[string]any{"since": hourAgo, "endpoint_id": "ep_nope"}, "endpoint_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do("POST", path, admin, tc.body)
			var e struct {
				Error struct {
					Code   string
					Fields map[string]string
				}
			}
			r.json(t, &e)
			if r.Status != 400 || e.Error.Code != hookgate.EINVALID || e.Error.Fields[tc.field] == "" {
				t.Fatalf("%d %s, want 400 %s with a message for %s", r.Status, r.Body, hookgate.EINVALID, tc.field)
			}
		})
	}
	if r := h.do("POST", path, admin, `{"since":`); r.Status != 400 || r.errorCode(t) != hookgate.EMALFORMED {
		t.Fatalf("malformed body: %d %s", r.Status, r.Body)
	}
	// Another tenant does not see the webhook; a publisher may not recover.
	if r := h.do("POST", path, h.token("globex", "admin"), map[string]any{"since": hourAgo}); r.Status != 404 {
		t.Fatalf("another tenant's recover: %d %s", r.Status, r.Body)
	}
	if r := h.do("POST", path, h.token("acme", "publisher"), map[string]any{"since": hourAgo}); r.Status != 403 {
		t.Fatalf("a publisher's recover: %d %s", r.Status, r.Body)
	}
	// Nothing failed: 202 with a count of 0.
	var rv recoveryView
	h.do("POST", path, admin, map[string]any{"since": hourAgo}).must(t, 202).json(t, &rv)
	if rv.Count != 0 {
		t.Fatalf("recover with nothing failed: %+v", rv)
	}
}

// A recover asked of an API process is a task in Redis: the deliveries are
// sent when a worker runs, after a restart too.
func TestRecoverIsDoneByWorkersAfterARestart(t *testing.T) {
	h := start(t, nil)
	f := newRecoverFixture(t, h)
	f.r1.recovered.Store(true)
	f.r2.recovered.Store(true)
	f.r1.rec.Reset()
	f.r2.rec.Reset()
	h.restartWith(func() { h.cfg.Server.Role = "api" })
	since := f.byEvent[0][0].CreatedAt.Format(time.RFC3339Nano)
	var rv recoveryView
	h.do("POST", "/v1/webhooks/"+f.w.ID+"/recover", f.admin, map[string]any{"since": since}).must(t, 202).json(t, &rv)
	if rv.Count != 8 {
		t.Fatalf("recover answered %+v, want the 8 failed deliveries", rv)
	}
	info, err := queue.QueueInfo(context.Background(), h.rdb, app.QueueName(h.cfg))
	if err != nil || info.Pending != 1 {
		t.Fatalf("queue after the recover with no worker: %+v %v; want the recover task pending", info, err)
	}
	// A walk that stopped after marking a delivery pending and before
	// queueing it (as a process killed in between leaves it): the next run
	// queues it.
	ctx := context.Background()
	stuck, err := h.app.Log.Find(ctx, "acme", f.byEvent[1][0].ID)
	if err != nil {
		t.Fatal(err)
	}
	stuck.Status, stuck.UpdatedAt, stuck.AttemptLog = hookgate.DeliveryPending, time.Now().UTC(), nil
	if ok, err := h.app.Log.Swap(ctx, stuck, hookgate.DeliveryFailed, 2); !ok || err != nil {
		t.Fatalf("mark pending: %v %v", ok, err)
	}
	h.restartWith(func() { h.cfg.Server.Role = "all" })
	if _, err := f.r1.rec.WaitFor(testenv.Context(t), 4); err != nil {
		t.Fatal(err)
	}
	if _, err := f.r2.rec.WaitFor(testenv.Context(t), 4); err != nil {
		t.Fatal(err)
	}
	queueIdle(t, h)
	var want, got []string
	for i := range f.byEvent {
		for j := range f.byEvent[i] {
			if i != 2 {
				want = append(want, f.byEvent[i][j].ID)
			}
		}
	}
	for _, r := range []*flakyReceiver{f.r1, f.r2} {
		for _, d := range r.rec.Deliveries() {
			got = append(got, d.ID)
		}
	}
	sort.Strings(want)
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("the endpoints received webhook-ids\n%v\nwant each failed delivery once:\n%v", got, want)
	}
}
