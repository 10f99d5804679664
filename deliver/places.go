package deliver

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/hookgate/hookgate"
)

// Places is the per-endpoint in-flight bound shared by every worker
// process (store.InFlight): leases on an endpoint's places, and the
// deliveries parked until one frees.
type Places interface {
	// Acquire takes one of limit places under lease for ttl at most; ref
	// is the caller's reference (its queued task, "" when none), which no
	// longer counts as a woken delivery on its way to a place. At the
	// bound, park parks the caller (ref) and parked counts the deliveries
	// parked, the caller included. With a place taken, wake are parked
	// deliveries to wake (places were free beyond the caller's that no
	// woken delivery is on its way to).
	Acquire(ctx context.Context, endpointID, lease string, limit int, ttl time.Duration, ref string, park bool) (ok bool, parked int64, wake []string, err error)
	// Release gives the place back (none: lease "") and returns up to wake parked
	// deliveries to hand back to the queue, one per free place that no
	// delivery woken before is on its way to, and left, the deliveries
	// still parked after them (-1 when none was returned).
	Release(ctx context.Context, endpointID, lease string, limit, wake int) (refs []string, left int64, err error)
	// Forget says that ref, a woken delivery, will not come for a place
	// (its task is gone), and returns a parked delivery to wake instead
	// when a place is free, as Release does.
	Forget(ctx context.Context, endpointID, ref string, limit int) (refs []string, left int64, err error)
	// Announce tells the publishers that the endpoint has parked
	// deliveries (parked > 0) or no longer has (0): they park its new
	// deliveries at once while it has (queue.Client's stalled view).
	Announce(ctx context.Context, endpointID string, parked int64) error
}

// Waker hands a parked delivery back to the queue (queue.Waker).
type Waker interface {
	// Ref names the queued task whose handler runs with ctx ("" when none).
	Ref(ctx context.Context) string
	// Wake makes the task that ref names due now; for a task no longer
	// queued (delivered, deleted) it answers an error for which
	// NotQueued is true.
	Wake(ctx context.Context, ref string) error
	// NotQueued reports whether Wake's error says the task is gone.
	NotQueued(err error) bool
}

// lease is a place on an endpoint held under the shared bound.
type lease struct {
	id       string
	deadline time.Time
}

// idleLease is a lease kept in the process after its request ended.
type idleLease struct {
	lease
	since time.Time
}

// idleHold is how long a place stays with the process after its request
// ended, for the next delivery to the endpoint to take without a Redis
// call; after that it is given back (and wakes a parked delivery).
const idleHold = 20 * time.Millisecond

// leaseMargin is how much of a lease must be left, past the longest
// request, for a place to be handed to another delivery in the process
// without taking a new lease.
const leaseMargin = 2 * time.Second

// Parked deliveries look again by themselves after parkMin..maxParkDelay
// (a wake-up is the usual way back; this is its backstop).
const (
	parkMin      = time.Second
	maxParkDelay = 10 * time.Minute
)

// leaseTTL is how long a lease holds a place at most: two requests' worth
// (a place may be handed to a second delivery of the process) plus a margin.
// A worker that dies holding places frees them after that.
func (wk *Worker) leaseTTL(w *hookgate.Webhook) time.Duration {
	return 2*wk.requestMax(w) + leaseMargin + 3*time.Second
}

// requestMax is the longest a delivery of w holds a place: its request
// timeout (the webhook's own, or the default) and a wait for its plugins.
func (wk *Worker) requestMax(w *hookgate.Webhook) time.Duration {
	t := wk.Policy.Timeout
	if w != nil && w.Timeout > 0 {
		t = w.Timeout.D()
	}
	return t + wk.Policy.PluginWaitMax
}

var leaseSeq atomic.Uint64

// leasePrefix names this process's leases.
var leasePrefix = strconv.FormatUint(rand.Uint64(), 36) + ":"

func newLeaseID() string { return leasePrefix + strconv.FormatUint(leaseSeq.Add(1), 36) }

// healthy reports whether the endpoint is known to answer quickly: its
// requests take less than stallAfter on average and one finished within
// stallAfter. A delivery waits in the process for such an endpoint's place.
func (s *endpointSlot) healthy() bool {
	m := s.ewma.Load()
	return m > 0 && m < int64(stallAfter) && time.Since(time.Unix(0, s.released.Load())) < stallAfter
}

// waitHandoff waits for a delivery of this process to hand over its place,
// while the endpoint makes progress.
func (s *endpointSlot) waitHandoff(ctx context.Context) (lease, bool) {
	var t *time.Timer
	for {
		wait := stallAfter - time.Since(time.Unix(0, s.released.Load()))
		if wait <= 0 {
			return lease{}, false
		}
		if t == nil {
			t = time.NewTimer(wait)
			defer t.Stop()
		} else {
			t.Reset(wait)
		}
		select {
		case l := <-s.handoff:
			return l, true
		case <-ctx.Done():
			return lease{}, false
		case <-t.C:
		}
	}
}

// take gets delivery d a place on endpoint ep under the bound shared by
// every process. A delivery of this process that finishes hands its place
// straight to one waiting here (no Redis call) while the endpoint answers
// quickly; otherwise the place is taken in Redis. At the bound the delivery
// is parked: the error re-schedules it far off, and the release that frees
// a place makes it due at once.
func (wk *Worker) take(ctx context.Context, slot *endpointSlot, w *hookgate.Webhook, ep *hookgate.Endpoint, d *hookgate.Task) (lease, error) {
	limit := max(wk.Policy.EndpointLimit, 1)
	if l, ok := slot.takeIdle(wk.requestMax(w) + leaseMargin); ok {
		return l, nil
	}
	healthy := slot.healthy()
	if healthy && slot.local.Load() >= int64(limit) {
		// Every place is this process's: wait for one of them.
		if l, ok := slot.waitHandoff(ctx); ok {
			return l, nil
		}
	}
	ref := ""
	if wk.Waker != nil {
		ref = wk.Waker.Ref(ctx)
	}
	// It may get a place from this process before it needs waking: then it
	// does not park at first.
	waitFirst := healthy && slot.local.Load() > 0
	ttl := wk.leaseTTL(w)
	id := newLeaseID()
	ok, parked, wake, err := wk.Places.Acquire(ctx, ep.ID, id, limit, ttl, ref, ref != "" && !waitFirst)
	if err == nil && !ok && waitFirst {
		if l, got := slot.waitHandoff(ctx); got {
			return l, nil
		}
		ok, parked, wake, err = wk.Places.Acquire(ctx, ep.ID, id, limit, ttl, ref, ref != "")
	}
	if err != nil {
		wk.Logger.Warn("endpoint in-flight bound: no answer (Redis)", "delivery_id", d.ID, "endpoint_id", ep.ID, "err", err)
		return lease{}, &busyError{delay: time.Second}
	}
	if ok {
		for _, ref := range wake {
			go wk.wake(ep, ref)
		}
		if len(wake) > 0 && parked == 0 {
			wk.announce(ctx, slot, ep, 0)
		}
		slot.local.Add(1)
		return lease{id: id, deadline: time.Now().Add(ttl)}, nil
	}
	wk.Metrics.busy()
	if ref == "" {
		// Nobody can wake it: it looks again by itself, paced.
		return lease{}, slot.busy(d.ID)
	}
	wk.announce(ctx, slot, ep, parked)
	return lease{}, &busyError{delay: slot.parkDelay(parked, limit, wk.requestMax(w)-wk.Policy.PluginWaitMax)}
}

// announceEvery spaces a process's announcements that an endpoint has
// parked deliveries: publishers that missed one (or heard the endpoint
// freed since) send its next delivery through the queue, where it is
// parked and announced again.
const announceEvery = 100 * time.Millisecond

// announce tells the publishers that ep has parked deliveries (parked > 0:
// they park its new deliveries at once, which then never pass through the
// shared queue before a place frees), or that its last parked delivery was
// woken (0). An announcement lost only costs deliveries a pass through the
// queue: either way nothing parked depends on it.
func (wk *Worker) announce(ctx context.Context, slot *endpointSlot, ep *hookgate.Endpoint, parked int64) {
	now := time.Now().UnixNano()
	if parked > 0 {
		if last := slot.announced.Load(); now-last < int64(announceEvery) || !slot.announced.CompareAndSwap(last, now) {
			return
		}
	} else {
		slot.announced.Store(0)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := wk.Places.Announce(ctx, ep.ID, parked); err != nil {
		wk.Logger.Debug("endpoint in-flight bound: parked deliveries not announced (Redis)", "endpoint_id", ep.ID, "err", err)
	}
}

// parkDelay is when a parked delivery looks again by itself if no release
// wakes it first: about when the deliveries parked before it would have
// been served if every request took as long as it may (the longest of the
// request timeout, the mean request time and the time since a request last
// finished, times the parked deliveries per place), x0.5 to x1.5, within
// parkMin..maxParkDelay. A release is the usual way back, at the right
// time; this backstop only covers a wake-up lost, so it is pessimistic:
// each early return would cost the shared path a dequeue and a re-schedule.
func (s *endpointSlot) parkDelay(parked int64, limit int, timeout time.Duration) time.Duration {
	base := max(time.Duration(s.ewma.Load()), timeout)
	if r := s.released.Load(); r != 0 {
		base = max(base, time.Since(time.Unix(0, r)))
	}
	return ParkDelay(parked, limit, base)
}

// ParkDelay is the backstop of a delivery parked behind parked others (its
// own place in line) on an endpoint of limit places whose requests take up
// to perRequest: perRequest times the parked deliveries per place, x0.5 to
// x1.5 so that they do not come back together, within 1 s..10 min. The
// publisher schedules the deliveries it parks with it (queue.Client).
func ParkDelay(parked int64, limit int, perRequest time.Duration) time.Duration {
	d := min(perRequest*time.Duration(max(1, parked/int64(max(limit, 1)))), maxParkDelay)
	d = d/2 + time.Duration(rand.Int64N(int64(max(d, 0))+1))
	return min(max(d, parkMin), maxParkDelay)
}

// give ends a request on a place: it hands the place to a delivery of this
// process waiting for it, or keeps it idle for idleHold for the next one,
// when the lease has time left for a whole request; else, and once idle
// for idleHold, it releases it, waking the parked deliveries the freed place
// lets in.
func (wk *Worker) give(ctx context.Context, slot *endpointSlot, w *hookgate.Webhook, ep *hookgate.Endpoint, l lease, took time.Duration) {
	slot.observe(took)
	if time.Until(l.deadline) > wk.requestMax(w)+leaseMargin {
		select {
		case slot.handoff <- l:
			return
		default:
		}
		slot.idleMu.Lock()
		slot.idle = append(slot.idle, idleLease{lease: l, since: time.Now()})
		first := len(slot.idle) == 1
		slot.idleMu.Unlock()
		if first {
			time.AfterFunc(idleHold, func() { wk.releaseIdle(slot, ep) })
		}
		return
	}
	wk.release(ctx, slot, ep, l)
}

// takeIdle takes a lease kept idle in the process with at least need left.
func (s *endpointSlot) takeIdle(need time.Duration) (lease, bool) {
	s.idleMu.Lock()
	defer s.idleMu.Unlock()
	for len(s.idle) > 0 {
		// The newest first: the oldest are given back when their hold ends.
		l := s.idle[len(s.idle)-1]
		if time.Until(l.deadline) <= need {
			break
		}
		s.idle = s.idle[:len(s.idle)-1]
		return l.lease, true
	}
	return lease{}, false
}

// releaseIdle gives back the leases idle for idleHold, and comes back for
// those that are not yet.
func (wk *Worker) releaseIdle(slot *endpointSlot, ep *hookgate.Endpoint) {
	now := time.Now()
	slot.idleMu.Lock()
	var due []lease
	keep := slot.idle[:0]
	for _, l := range slot.idle {
		if now.Sub(l.since) >= idleHold || time.Until(l.deadline) <= leaseMargin {
			due = append(due, l.lease)
		} else {
			keep = append(keep, l)
		}
	}
	slot.idle = keep
	var next time.Duration
	if len(keep) > 0 {
		next = idleHold - now.Sub(keep[0].since)
	}
	slot.idleMu.Unlock()
	if len(keep) > 0 {
		time.AfterFunc(max(next, time.Millisecond), func() { wk.releaseIdle(slot, ep) })
	}
	for _, l := range due {
		wk.release(context.Background(), slot, ep, l)
	}
}

// release gives a place back in Redis and wakes the parked deliveries it
// lets in.
func (wk *Worker) release(ctx context.Context, slot *endpointSlot, ep *hookgate.Endpoint, l lease) {
	slot.local.Add(-1)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	limit := max(wk.Policy.EndpointLimit, 1)
	refs, left, err := wk.Places.Release(ctx, ep.ID, l.id, limit, limit)
	if err != nil {
		// The lease lapses at its deadline.
		wk.Logger.Warn("endpoint in-flight bound: place not given back (Redis)", "endpoint_id", ep.ID, "err", err)
		return
	}
	wk.wakeAll(ctx, slot, ep, refs, left)
}

// wakeAll wakes the parked deliveries refs popped for ep, and announces
// that ep has none left parked when left is 0.
func (wk *Worker) wakeAll(ctx context.Context, slot *endpointSlot, ep *hookgate.Endpoint, refs []string, left int64) {
	for _, ref := range refs {
		go wk.wake(ep, ref)
	}
	if left == 0 {
		wk.announce(ctx, slot, ep, 0)
	}
	if len(refs) > 0 && left > 0 {
		wk.recheckWoken(slot, ep)
	}
}

// wokenRecheck is when, after its last wake-up, a process looks again at an
// endpoint with deliveries still parked: past store.WokenGrace (2 s), when
// the places promised to woken deliveries stop counting.
const wokenRecheck = 2*time.Second + 200*time.Millisecond

// recheckWoken makes sure that a place promised to a woken delivery that
// never comes to Redis for it (it took a place this process held, its
// webhook was paused or deleted, its worker died) goes to the next parked
// delivery once the promise lapses: wokenRecheck after the last wake-up of
// this process on ep, a release without a lease pops the parked deliveries
// the places then free let in. Without it, such places would wake nobody
// until the next release, and a quiet endpoint's parked deliveries would
// wait for their backstops. One timer per endpoint and process.
func (wk *Worker) recheckWoken(slot *endpointSlot, ep *hookgate.Endpoint) {
	slot.recheckAt.Store(time.Now().Add(wokenRecheck).UnixNano())
	if !slot.rechecking.CompareAndSwap(false, true) {
		return // the armed timer reads the later time
	}
	var fire func()
	fire = func() {
		if d := time.Until(time.Unix(0, slot.recheckAt.Load())); d > 0 {
			time.AfterFunc(d, fire)
			return
		}
		slot.rechecking.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		limit := max(wk.Policy.EndpointLimit, 1)
		refs, left, err := wk.Places.Release(ctx, ep.ID, "", limit, limit)
		if err != nil {
			wk.Logger.Debug("endpoint in-flight bound: parked deliveries not looked at again (Redis); they come back by themselves", "endpoint_id", ep.ID, "err", err)
			return
		}
		wk.wakeAll(ctx, slot, ep, refs, left)
	}
	time.AfterFunc(wokenRecheck, fire)
}

// wakeBackoff spaces the tries at waking a parked delivery: it may not be
// back in the queue yet (its worker parked it a moment ago and has not
// returned it), which a moment later it is.
var wakeBackoff = []time.Duration{0, 5 * time.Millisecond, 20 * time.Millisecond, 100 * time.Millisecond, 500 * time.Millisecond, 2 * time.Second}

// wake hands a parked delivery of ep back to the queue. A delivery already
// gone (delivered, deleted) is not an error: it will not come for the place
// it was woken for, which goes to the next parked delivery. One that cannot
// be woken comes back by itself at its parked delay.
func (wk *Worker) wake(ep *hookgate.Endpoint, ref string) {
	if wk.Waker == nil {
		return
	}
	var err error
	for _, d := range wakeBackoff {
		time.Sleep(d)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = wk.Waker.Wake(ctx, ref)
		if wk.Waker.NotQueued(err) {
			limit := max(wk.Policy.EndpointLimit, 1)
			refs, left, ferr := wk.Places.Forget(ctx, ep.ID, ref, limit)
			if ferr != nil {
				wk.Logger.Debug("endpoint in-flight bound: a woken delivery gone, not passed on (Redis)", "endpoint_id", ep.ID, "err", ferr)
			} else {
				wk.wakeAll(ctx, wk.slot(ep.ID), ep, refs, left)
			}
		}
		cancel()
		if err == nil || wk.Waker.NotQueued(err) {
			if err == nil {
				wk.Metrics.woken()
			}
			return
		}
	}
	wk.Logger.Debug("parked delivery not woken; it comes back by itself", "err", err)
}
