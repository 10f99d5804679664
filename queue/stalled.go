package queue

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"

	"github.com/hookgate/hookgate/internal/store"
)

// StalledPlaces is what the client needs of the in-flight bound
// (store.InFlight) to park deliveries as it enqueues them.
type StalledPlaces interface {
	// Park parks ref on the endpoint unless one of its limit places is
	// free (false: the caller makes the delivery due now).
	Park(ctx context.Context, endpointID, ref string, limit int) (ok bool, parked int64, err error)
	// WatchStalled calls changed with every announcement of an endpoint's
	// parked deliveries (0: none left) until ctx ends or the subscription
	// is lost.
	WatchStalled(ctx context.Context, changed func(endpointID string, parked int64)) error
}

// Stalled is a process's view of the endpoints whose deliveries are parked
// at their in-flight bound (docs/delivery.md), as the workers announce them.
// The client enqueues a new delivery to such an endpoint parked at once: a
// task scheduled at its backstop, and its reference in the endpoint's parked
// list, so that it is not dequeued before a place frees and wakes it (or its
// backstop comes). A stalled endpoint then costs the shared queue nothing
// per delivery until then.
//
// The view needs no snapshot and no expiry: an endpoint missing from it
// (an announcement missed) sends its next delivery through the queue, where
// the worker parks it and announces the endpoint again; an endpoint left in
// it after it freed is dropped by the first Park that finds a place free.
type Stalled struct {
	places StalledPlaces
	insp   *asynq.Inspector
	limit  int
	delay  func(parked int64) time.Duration
	// Logger reports what could not be done (the delivery is never lost:
	// its backstop brings it back). Optional.
	Logger *slog.Logger
	// Parked counts the deliveries enqueued parked (metrics). Optional.
	Parked func()

	eps sync.Map // endpoint id -> *atomic.Int64: its parked deliveries, as last heard
}

// NewStalled returns the view of the endpoints of places on rdb's queues,
// bounded at limit places each; delay is the backstop of a delivery parked
// behind others (deliver.ParkDelay).
func NewStalled(rdb store.Client, places StalledPlaces, limit int, delay func(parked int64) time.Duration) *Stalled {
	return &Stalled{places: places, insp: asynq.NewInspectorFromRedisClient(rdb), limit: max(limit, 1), delay: delay}
}

// Run keeps the view listening to the workers' announcements until ctx
// ends, subscribing again a second after a subscription is lost.
func (s *Stalled) Run(ctx context.Context) {
	for {
		err := s.places.WatchStalled(ctx, s.note)
		if ctx.Err() != nil {
			return
		}
		if s.Logger != nil {
			s.Logger.Warn("stalled endpoint subscription ended; subscribing again", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// note records an announcement: endpointID has parked deliveries, or none.
func (s *Stalled) note(endpointID string, parked int64) {
	if parked <= 0 {
		s.eps.Delete(endpointID)
		return
	}
	v, _ := s.eps.LoadOrStore(endpointID, new(atomic.Int64))
	v.(*atomic.Int64).Store(parked)
}

// parkedOf reports whether endpointID is stalled, and its parked
// deliveries (false on a nil view).
func (s *Stalled) parkedOf(endpointID string) (int64, bool) {
	if s == nil {
		return 0, false
	}
	v, ok := s.eps.Load(endpointID)
	if !ok {
		return 0, false
	}
	return v.(*atomic.Int64).Load(), true
}

// Is reports whether the view holds endpointID as stalled.
func (s *Stalled) Is(endpointID string) bool {
	_, ok := s.parkedOf(endpointID)
	return ok
}

// enqueue puts task in queue q under id, parked on endpointID, which the
// view holds as stalled with parked deliveries before it: first the task,
// scheduled at its backstop (alone, it comes back by itself), then its
// reference in the endpoint's parked list, which a release pops to wake it.
// A place found free makes the task due now instead. Past the first step
// nothing fails the enqueue: the task is in the queue.
func (s *Stalled) enqueue(ctx context.Context, c *asynq.Client, task *asynq.Task, opts []asynq.Option, q, id, endpointID string, parked int64) error {
	opts = append(opts, asynq.ProcessIn(s.delay(parked+1)))
	if _, err := c.EnqueueContext(ctx, task, opts...); err != nil {
		return err
	}
	ok, n, err := s.places.Park(ctx, endpointID, q+"\x00"+id, s.limit)
	switch {
	case err != nil:
		// Not listed, no release would wake it: make it due instead (a
		// worker parks it again if the endpoint is still at its bound).
		go s.makeDue(q, id, endpointID, err)
	case ok:
		if v, found := s.eps.Load(endpointID); found {
			v.(*atomic.Int64).Store(n)
		}
		if s.Parked != nil {
			s.Parked()
		}
	default:
		// A place is free: the endpoint is no longer stalled.
		s.eps.Delete(endpointID)
		if err := s.insp.RunTask(q, id); err != nil {
			go s.makeDue(q, id, endpointID, err)
		}
	}
	return nil
}

// makeDueBackoff spaces the tries at making a parked delivery due after a
// step of its enqueue failed (Redis unreachable for a moment): a delivery
// left scheduled at its backstop would wait up to 10 minutes.
var makeDueBackoff = []time.Duration{10 * time.Millisecond, 100 * time.Millisecond, 500 * time.Millisecond, 2 * time.Second, 5 * time.Second, 15 * time.Second}

// makeDue makes the task id of queue q due now, trying again for about 20 s
// (the failure that brought it here was cause). Past that, or once the task
// is no longer scheduled (a worker or a release got to it first), it gives
// up: the task's backstop still brings it back.
func (s *Stalled) makeDue(q, id, endpointID string, cause error) {
	err := cause
	for _, d := range makeDueBackoff {
		time.Sleep(d)
		if err = s.insp.RunTask(q, id); err == nil || !retriable(err) {
			return
		}
	}
	s.warn("delivery enqueued parked and not made due (Redis); it comes back at its backstop", id, endpointID, err)
}

// retriable reports whether RunTask's err may pass: not when the task is
// gone or no longer scheduled (already due, running or done).
func retriable(err error) bool {
	return !errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound) &&
		!strings.Contains(err.Error(), "task is already")
}

func (s *Stalled) warn(msg, id, endpointID string, err error) {
	if s.Logger != nil {
		s.Logger.Warn(msg, "delivery_id", id, "endpoint_id", endpointID, "err", err)
	}
}
