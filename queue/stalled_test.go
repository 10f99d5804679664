package queue_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/store"
	"github.com/hookgate/hookgate/internal/testenv"
	"github.com/hookgate/hookgate/queue"
)

// TestStalledEndpointsDeliveriesAreEnqueuedParked: once a worker announces
// that an endpoint has parked deliveries, the client enqueues the next one
// as a scheduled task listed in the endpoint's parked list (the release of a
// place hands it back); when a place is free instead, the delivery is made
// due at once and the endpoint leaves the view, as it does when the last
// parked delivery is announced woken.
func TestStalledEndpointsDeliveriesAreEnqueuedParked(t *testing.T) {
	rdb := testenv.Redis(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q := testenv.Prefix("hgstall")
	t.Cleanup(func() { _ = testenv.DeleteDeployment(context.Background(), rdb, q, q) })
	inf := store.NewInFlight(rdb, q)
	view := queue.NewStalled(rdb, inf, 1, func(int64) time.Duration { return time.Hour })
	go view.Run(ctx)
	c := queue.NewClient(rdb, []string{q}, time.Minute)
	c.Stalled = view
	insp := asynq.NewInspectorFromRedisClient(rdb)
	enqueue := func(id string) asynq.TaskState {
		t.Helper()
		if err := c.Enqueue(ctx, []hookgate.QueueItem{{Task: &hookgate.Task{ID: id, EndpointID: "ep_s"}, Retries: 1}}); err != nil {
			t.Fatal(err)
		}
		info, err := insp.GetTaskInfo(q, id)
		if err != nil {
			t.Fatal(err)
		}
		return info.State
	}

	if st := enqueue("dl_before"); st != asynq.TaskStatePending {
		t.Fatalf("a delivery to an endpoint not stalled is %s, want pending", st)
	}
	if ok, _, _, err := inf.Acquire(ctx, "ep_s", "l1", 1, time.Minute, "", false); !ok || err != nil {
		t.Fatalf("no place: %v", err)
	}
	testenv.Eventually(t, 5*time.Second, "the view to hear the endpoint is stalled", func() bool {
		if err := inf.Announce(ctx, "ep_s", 1); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
		return view.Is("ep_s")
	})
	if st := enqueue("dl_parked"); st != asynq.TaskStateScheduled {
		t.Fatalf("a delivery to a stalled endpoint is %s, want scheduled (parked)", st)
	}
	refs, left, err := inf.Release(ctx, "ep_s", "l1", 1, 1)
	if err != nil || len(refs) != 1 || refs[0] != q+"\x00dl_parked" || left != 0 {
		t.Fatalf("the release woke %q, %d left (%v); want the parked delivery", refs, left, err)
	}

	// The freed place is promised to the woken delivery: a new one parks.
	if st := enqueue("dl_promised"); st != asynq.TaskStateScheduled {
		t.Fatalf("a delivery to a place promised to a woken one is %s, want scheduled (parked)", st)
	}
	// The woken delivery comes back for the place and gives it back, which
	// wakes the one parked behind it; that one does the same.
	for i, ref := range []string{"dl_parked", "dl_promised"} {
		if ok, _, _, err := inf.Acquire(ctx, "ep_s", "l2", 1, time.Minute, q+"\x00"+ref, true); !ok || err != nil {
			t.Fatalf("the woken %s found no place (%v)", ref, err)
		}
		refs, _, err := inf.Release(ctx, "ep_s", "l2", 1, 1)
		if want := i == 0; err != nil || (len(refs) == 1) != want {
			t.Fatalf("the release after %s woke %q (%v)", ref, refs, err)
		}
	}

	// The view still holds the endpoint, but a place is free: due at once.
	if st := enqueue("dl_free"); st != asynq.TaskStatePending {
		t.Fatalf("a delivery with a place free is %s, want pending", st)
	}
	if view.Is("ep_s") {
		t.Fatal("the endpoint stays in the view after a place was found free")
	}

	// An announcement of none left takes an endpoint out of the view.
	testenv.Eventually(t, 5*time.Second, "the view to hear ep_t is stalled", func() bool {
		_ = inf.Announce(ctx, "ep_t", 3)
		time.Sleep(10 * time.Millisecond)
		return view.Is("ep_t")
	})
	if err := inf.Announce(ctx, "ep_t", 0); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 5*time.Second, "ep_t to leave the view", func() bool { return !view.Is("ep_t") })
}

// failingPark is an in-flight bound whose Park fails (Redis gone between the
// enqueue's two steps) and whose announcements hold ep_f as stalled.
type failingPark struct{}

func (failingPark) Park(context.Context, string, string, int) (bool, int64, error) {
	return false, 0, errors.New("connection refused")
}

func (failingPark) WatchStalled(ctx context.Context, changed func(string, int64)) error {
	changed("ep_f", 3)
	<-ctx.Done()
	return ctx.Err()
}

// A delivery enqueued parked whose listing in the endpoint's parked list
// fails (no release would ever wake it) is made due at once, not left to
// its backstop (here an hour away).
func TestDeliveryEnqueuedParkedButNotListedIsMadeDue(t *testing.T) {
	rdb := testenv.Redis(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q := testenv.Prefix("hgstallf")
	t.Cleanup(func() { _ = testenv.DeleteDeployment(context.Background(), rdb, q, q) })
	view := queue.NewStalled(rdb, failingPark{}, 1, func(int64) time.Duration { return time.Hour })
	go view.Run(ctx)
	testenv.Eventually(t, 5*time.Second, "the view to hold ep_f as stalled", func() bool { return view.Is("ep_f") })
	c := queue.NewClient(rdb, []string{q}, time.Minute)
	c.Stalled = view
	if err := c.Enqueue(ctx, []hookgate.QueueItem{{Task: &hookgate.Task{ID: "dl_f", EndpointID: "ep_f"}, Retries: 1}}); err != nil {
		t.Fatalf("enqueue: %v (the task was written: the failed listing must not fail it)", err)
	}
	insp := asynq.NewInspectorFromRedisClient(rdb)
	testenv.Eventually(t, 10*time.Second, "the delivery to be due", func() bool {
		info, err := insp.GetTaskInfo(q, "dl_f")
		if err != nil {
			t.Fatal(err)
		}
		return info.State == asynq.TaskStatePending
	})
}
