package deliver

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/textproto"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/sender"
)

// Webhooks looks up a webhook during a delivery (the in-memory index).
type Webhooks interface {
	Webhook(ctx context.Context, ns, id string) (*hookgate.Webhook, error)
}

// Recorder writes an attempt to the delivery log and returns the webhook's
// consecutive failed deliveries after it.
type Recorder interface {
	Record(ctx context.Context, rec hookgate.LogRecord) (int64, error)
}

// Sender sends one HTTP request.
type Sender interface {
	Send(ctx context.Context, req *sender.Request) *sender.Result
}

// Lifecycle reacts to delivery outcomes and webhook states (pause, auto-pause,
// disabling an endpoint on 410). Optional.
type Lifecycle interface {
	// Failed is told the webhook's consecutive failed deliveries after a
	// delivery failed for good (its retries exhausted).
	Failed(ctx context.Context, w *hookgate.Webhook, consecutive int64)
	// Gone is told that an endpoint answered 410 and the policy disables it.
	Gone(ctx context.Context, w *hookgate.Webhook, endpointID string)
}

// RateLimiter spaces the deliveries to endpoints that have a rate limit,
// shared by every worker process (internal/store.RateLimiter). Optional: without
// one, rate limits are not applied.
type RateLimiter interface {
	// Reserve answers whether delivery deliveryID may be sent to endpoint
	// endpointID within ahead from now (and after what wait), or how long
	// until its reserved time.
	Reserve(ctx context.Context, endpointID, deliveryID string, perSecond float64, ahead time.Duration) (hookgate.Reservation, error)
}

// PluginWaiter is implemented by a Renderer whose formats and transforms
// come from plugins (pipeline.Pipeline): it waits until those a webhook
// names can take calls, up to max, and reports whether they can.
type PluginWaiter interface {
	WaitPlugins(ctx context.Context, w *hookgate.Webhook, max time.Duration) bool
}

// Policy is the delivery policy from config.
type Policy struct {
	// PluginWaitMax bounds how long a delivery waits for an unavailable
	// plugin (not running, circuit breaker open) before it spends an
	// attempt; 0 does not wait.
	PluginWaitMax   time.Duration
	RetryDelays     []time.Duration // default schedule
	Jitter          float64         // ± fraction
	RetryAfterMax   time.Duration
	GonePolicy      string // retry | fail | disable_endpoint
	Timeout         time.Duration
	EndpointLimit   int // concurrent requests per endpoint: across every process with Worker.Places, else in this process
	MaxRequestBody  int // bytes of the sent body kept in the log
	MaxResponseBody int
}

// Worker handles delivery tasks: it renders, signs, sends and records, and
// decides whether an attempt is retried. It is the one place that sends.
type Worker struct {
	Webhooks Webhooks
	Renderer hookgate.Renderer
	Sender   Sender
	// Signer signs each attempt's request; it shares Sender.
	Signer *Signer
	Log    Recorder
	// Holder keeps the deliveries of a webhook that is not active (paused,
	// auto-paused, or an endpoint waiting for its confirmation). Optional:
	// without one such deliveries are tried again later.
	Holder    hookgate.Holder
	Lifecycle Lifecycle
	Limiter   RateLimiter
	Policy    Policy
	Metrics   *Metrics
	Logger    *slog.Logger
	Tracing   Tracing // off when its Tracer is nil
	// Places bounds the requests in flight to an endpoint across every
	// worker process (store.InFlight). Optional: without it the bound is
	// this process's own.
	Places Places
	// Waker hands a parked delivery back to the queue when a place frees
	// (queue.Waker). Optional: without it parked deliveries come back by
	// themselves.
	Waker Waker

	inflight sync.Map // endpoint id -> *endpointSlot
}

var _ hookgate.TestSender = (*Worker)(nil)

// endpointSlot bounds the requests in flight to one endpoint. A delivery
// that finds every place taken waits for one while the endpoint is making
// progress (it answers in less than stallAfter on average and a request
// finished within stallAfter), which is the normal state of a busy but
// healthy receiver. When the endpoint has stalled (it hangs or
// times out on everything), the delivery is re-scheduled instead, paced to
// come back after about the time the endpoint needs to serve the deliveries
// waiting before it: a dead endpoint then costs a poll per waiting delivery
// every several seconds and never parks the process's workers.
type endpointSlot struct {
	n        chan struct{}
	limit    int
	pacing   atomic.Int64 // deliveries in pace for this endpoint (at most limit wait in a worker)
	ewma     atomic.Int64 // mean request duration, ns (exponentially weighted)
	released atomic.Int64 // unix nanos of the last finished request

	mu       sync.Mutex
	waiting  map[string]time.Time // delivery id -> last found busy
	nwaiting atomic.Int64         // len(waiting), read without the lock
	pruned   time.Time

	// With the shared bound (Worker.Places): the leases this process holds
	// on the endpoint, and the hand-over of a place to a waiting delivery.
	local   atomic.Int64
	handoff chan lease
	idleMu  sync.Mutex
	idle    []idleLease // leases kept after a request, for the next one
	// announced is when this process last announced the endpoint's parked
	// deliveries (unix nanos; 0 after it announced none left).
	announced atomic.Int64
	// recheckAt is when the endpoint's parked deliveries are looked at
	// again (unix nanos), rechecking whether a timer for it is armed
	// (recheckWoken).
	recheckAt  atomic.Int64
	rechecking atomic.Bool
}

// maxBusyDelay caps how long a delivery waits before looking again.
const maxBusyDelay = time.Minute

// stallAfter is how long an endpoint with every place taken may go without
// finishing a request before deliveries stop waiting for it.
const stallAfter = 100 * time.Millisecond

func newEndpointSlot(limit int) *endpointSlot {
	limit = max(limit, 1)
	return &endpointSlot{n: make(chan struct{}, limit), limit: limit, waiting: map[string]time.Time{}, handoff: make(chan lease)}
}

// acquire takes a place, waiting while the endpoint makes progress; false
// means the endpoint is at its bound and stalled. The fast path takes no
// lock: a healthy endpoint's deliveries touch only the channel.
func (s *endpointSlot) acquire(ctx context.Context) bool {
	select {
	case s.n <- struct{}{}:
		return true
	default:
	}
	// Wait only for an endpoint known to answer quickly: one whose requests
	// take stallAfter or more on average (or that has not answered yet) is
	// re-scheduled at once, so that its waiters never park workers.
	if m := s.ewma.Load(); m == 0 || m >= int64(stallAfter) {
		return false
	}
	var t *time.Timer
	for {
		wait := stallAfter - time.Since(time.Unix(0, s.released.Load()))
		if wait <= 0 {
			return false
		}
		if t == nil {
			t = time.NewTimer(wait)
			defer t.Stop()
		} else {
			t.Reset(wait)
		}
		select {
		case s.n <- struct{}{}:
			return true
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

// release gives the place back and folds the request's duration into the mean.
func (s *endpointSlot) release(took time.Duration) {
	<-s.n
	s.observe(took)
}

// observe notes that a request ended, and folds its duration into the mean.
func (s *endpointSlot) observe(took time.Duration) {
	s.released.Store(time.Now().UnixNano())
	if old := s.ewma.Load(); old == 0 {
		s.ewma.Store(int64(took))
	} else {
		s.ewma.Store(old + (int64(took)-old)/8)
	}
}

// busy records that delivery id waits and says when it should look again:
// a request's expected duration (the mean, or, when longer, the time since a
// request last finished: with every place taken, all requests but the one
// that took the last freed place have been in flight at least that long, so
// it tracks requests that hang) times the waiting deliveries per place, from
// 0.5x to 1.5x so that they do not come back together.
func (s *endpointSlot) busy(id string) error {
	now := time.Now()
	s.mu.Lock()
	s.waiting[id] = now
	base := time.Duration(s.ewma.Load())
	if r := s.released.Load(); r != 0 {
		base = max(base, now.Sub(time.Unix(0, r)))
	}
	if s.ewma.Load() == 0 {
		// No request has finished yet: they may all be hanging.
		base = max(base, 250*time.Millisecond)
	}
	base = max(base, 20*time.Millisecond)
	if now.Sub(s.pruned) > time.Second {
		// Deliveries not seen for two full waits are gone (deleted, handled elsewhere).
		for k, t := range s.waiting {
			if now.Sub(t) > 2*maxBusyDelay {
				delete(s.waiting, k)
			}
		}
		s.pruned = now
	}
	s.nwaiting.Store(int64(len(s.waiting)))
	d := min(base*time.Duration(max(1, len(s.waiting)/s.limit)), maxBusyDelay)
	s.mu.Unlock()
	return &busyError{delay: d/2 + time.Duration(rand.Int64N(int64(d)))}
}

// gotPlace forgets that delivery id was waiting, if it was; with nobody
// waiting (the usual case) it takes no lock.
func (s *endpointSlot) gotPlace(id string) {
	if s.nwaiting.Load() == 0 {
		return
	}
	s.mu.Lock()
	delete(s.waiting, id)
	s.nwaiting.Store(int64(len(s.waiting)))
	s.mu.Unlock()
}

// busyError re-schedules a delivery whose endpoint is at its bound.
type busyError struct{ delay time.Duration }

func (e *busyError) Error() string { return errEndpointBusy.Error() }
func (e *busyError) Unwrap() error { return errEndpointBusy }

// errEndpointBusy re-schedules a delivery whose endpoint already has its
// share of requests in flight; it is not a failed attempt.
var errEndpointBusy = errors.New("endpoint busy")

// rateLimitedError re-schedules a delivery to the send time its endpoint's
// rate limit reserved for it; it is not a failed attempt.
type rateLimitedError struct{ delay time.Duration }

func (e *rateLimitedError) Error() string {
	return "over the endpoint's rate limit: its send time is in " + e.delay.String()
}

// rateAhead is how far off a delivery's reserved send time may be for it
// to wait in the worker; one further off goes back to the queue until
// then. asynq keeps delayed tasks to the whole second and hands one over as
// its second begins, so a delivery comes back up to a second before its
// time: it waits out the rest here (the margin covers the clocks of worker
// and Redis disagreeing a little). Sends are then spaced as reserved
// instead of clumped at each second, for a cost of rate/2 workers asleep on
// average per limited endpoint, at most Policy.EndpointLimit per process.
const rateAhead = time.Second + 100*time.Millisecond

// pace holds a delivery to its endpoint's rate limit: nil once its send
// time has come (after waiting up to rateAhead for it), else the error that
// re-schedules it to that time. Like requests in flight, at most
// Policy.EndpointLimit deliveries per endpoint wait in this process's
// workers: past that they wait in the queue even for a time less than
// rateAhead away (and come back at asynq's next check), so that a high
// limit cannot park every worker.
//
// Once admitted, it sleeps until placeLead before its send time, then calls
// place (when not nil), which takes the delivery's place under the in-flight
// bound, and sleeps out the rest: the round trip of place does not delay the
// send past its time and bunch it with the next, and a delivery waiting for
// its time holds no place meanwhile (held for the whole wait, up to
// rateAhead, the places of an endpoint at 100/s would all be taken by
// sleepers: the next deliveries, their send times already reserved, would
// find the endpoint at its bound and be parked, and their times lost). An
// error of place is returned as is.
func (wk *Worker) pace(ctx context.Context, ep *hookgate.Endpoint, d *hookgate.Task, place func() error) error {
	slot := wk.slot(ep.ID)
	ahead := rateAhead
	if slot.pacing.Add(1) > int64(slot.limit) {
		ahead = 0
	}
	defer slot.pacing.Add(-1)
	r, err := wk.Limiter.Reserve(ctx, ep.ID, d.ID, ep.RateLimit, ahead)
	answered := time.Now()
	if err != nil {
		wk.Logger.Warn("rate limit: no send time (Redis)", "delivery_id", d.ID, "endpoint_id", ep.ID, "err", err)
		return &rateLimitedError{delay: time.Second}
	}
	if !r.Admitted {
		wk.Metrics.rateLimited()
		return &rateLimitedError{delay: r.Wait}
	}
	if place != nil {
		if !sleepCtx(ctx, r.Wait-placeLead-time.Since(answered)) {
			return &rateLimitedError{delay: time.Second}
		}
		if err := place(); err != nil {
			return err
		}
	}
	if !sleepCtx(ctx, r.Wait-time.Since(answered)) {
		// Shutting down: the send time is spent; it takes a new one when it
		// comes back. A place taken is given back by the caller.
		return &rateLimitedError{delay: time.Second}
	}
	return nil
}

// placeLead is how long before its send time a rate-limited delivery takes
// its place under the endpoint's in-flight bound: more than a Redis round
// trip on a busy machine, little enough that sleepers hold few places (about
// rate × placeLead).
const placeLead = 20 * time.Millisecond

// sleepCtx sleeps for d (nothing when d <= 0), false when ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// TestHeader marks a test send ("Test endpoints"): its value is "true".
// Receivers may use it to keep test payloads out of their records.
const TestHeader = "webhook-test"

// retryError asks asynq for another attempt at due.
type retryError struct {
	due   time.Time
	cause string
}

func (e *retryError) Error() string {
	return "retry at " + e.due.UTC().Format(time.RFC3339) + ": " + e.cause
}

// retryDue is when a retry delay taken at now falls due, as asynq can keep
// it: asynq's retry queue holds whole Unix seconds and hands a task over
// once that second has begun, so a due time with a fraction is rounded up
// to the next whole second. Rounded down (asynq's own truncation), a 1s
// delay could fire after 0.5s, earlier than the jitter allows; rounded up,
// an attempt is never early, and at most a second late.
func retryDue(now time.Time, delay time.Duration) time.Time {
	due := now.Add(delay)
	if t := due.Truncate(time.Second); !t.Equal(due) {
		due = t.Add(time.Second)
	}
	return due
}

// RetryDelay is the delay before a delivery that returned err is tried
// again, as the worker decided it (queue's RetryDelayFunc asks here).
func RetryDelay(err error) time.Duration {
	var re *retryError
	var be *busyError
	var rl *rateLimitedError
	switch {
	case errors.As(err, &re):
		// The queue adds this to its own clock, read after ours: the task's
		// second is then never before re.due's.
		return max(time.Until(re.due), time.Millisecond)
	case errors.As(err, &be):
		return be.delay
	case errors.As(err, &rl):
		// The queue puts it in the second its send time falls in (it truncates).
		return max(rl.delay, time.Millisecond)
	case errors.Is(err, errEndpointBusy):
		return time.Duration(20+rand.IntN(80)) * time.Millisecond
	}
	return time.Minute
}

// IsFailure reports whether err spends one of the delivery's retries: a
// busy endpoint is not a failed attempt, nor is a delivery over its
// endpoint's rate limit. Neither is the receiver's fault.
func IsFailure(err error) bool {
	return err != nil && !errors.Is(err, errEndpointBusy) && !errors.As(err, new(*rateLimitedError))
}

// RetryDelay is the package's RetryDelay, for the queue.
func (wk *Worker) RetryDelay(err error) time.Duration { return RetryDelay(err) }

// IsFailure is the package's IsFailure, for the queue.
func (wk *Worker) IsFailure(err error) bool { return IsFailure(err) }

// Deliver makes one attempt at delivery d, which has been tried retried
// times before and may be retried maxRetry times in all, and records it. A
// nil error ends the delivery; any other asks for another attempt after
// RetryDelay(err), spending a retry only when IsFailure(err).
func (wk *Worker) Deliver(ctx context.Context, d *hookgate.Task, retried, maxRetry int) error {
	if wk.Tracing.Tracer != nil {
		return wk.tracedDeliver(ctx, d, retried, maxRetry)
	}
	return wk.deliver(ctx, d, retried, maxRetry)
}

func (wk *Worker) deliver(ctx context.Context, d *hookgate.Task, retried, maxRetry int) error {
	w, err := wk.Webhooks.Webhook(ctx, d.Namespace, d.WebhookID)
	if err != nil {
		if hookgate.ErrorCode(err) == hookgate.ENOTFOUND {
			wk.Metrics.dropped("webhook_deleted")
			return nil
		}
		return &retryError{due: time.Now().Add(time.Second), cause: "webhook lookup: " + err.Error()}
	}
	ep := endpointOf(w, d.EndpointID)
	if !w.Enabled || ep == nil || !ep.Enabled {
		wk.Metrics.dropped("disabled")
		return nil
	}
	if !w.Delivers(ep) {
		// Paused, auto-paused, or the endpoint waits for its confirmation.
		// Held deliveries go back to the queue as new tasks on release: carry
		// the attempts already made so the numbering goes on.
		if wk.Holder != nil {
			held := *d
			held.Attempt0 += retried
			err := wk.Holder.Hold(ctx, w, []*hookgate.Task{&held})
			if errors.Is(err, hookgate.ErrWebhookActive) {
				return errEndpointBusy
			}
			if err != nil {
				return &retryError{due: time.Now().Add(time.Second), cause: "hold: " + err.Error()}
			}
			return nil
		}
		return &retryError{due: time.Now().Add(5 * time.Second), cause: "webhook is " + string(w.Status)}
	}
	slot := wk.slot(ep.ID)
	var l lease
	var placed bool
	place := func() error {
		var err error
		l, err = wk.take(ctx, slot, w, ep, d)
		placed = err == nil
		return err
	}
	if ep.RateLimit > 0 && wk.Limiter != nil {
		// Every attempt counts against the rate, retries included; test
		// sends do not come this way.
		var pl func() error
		if wk.Places != nil {
			pl = place
		}
		if err := wk.pace(ctx, ep, d, pl); err != nil {
			if placed {
				wk.release(ctx, slot, ep, l)
			}
			return err
		}
	}
	if wk.Places != nil {
		if !placed {
			if err := place(); err != nil {
				return err
			}
		}
		began := time.Now()
		defer func() { wk.give(ctx, slot, w, ep, l, time.Since(began)) }()
	} else {
		if !slot.acquire(ctx) {
			wk.Metrics.busy()
			return slot.busy(d.ID)
		}
		slot.gotPlace(d.ID)
		began := time.Now()
		defer func() { slot.release(time.Since(began)) }()
	}

	if d.SpareRetry {
		maxRetry--
	}
	att, retryAfter := wk.attempt(ctx, w, ep, d)
	att.N = d.Attempt0 + retried + 1

	rec := hookgate.LogRecord{Delivery: wk.summary(d, ep, att), Attempt: att, Counted: true}
	var next error
	switch {
	case att.OK():
		rec.Delivery.Status = hookgate.DeliverySucceeded
	case att.ErrorClass == hookgate.ClassSkipped:
		rec.Delivery.Status = hookgate.DeliverySucceeded
		rec.Counted = false
	default:
		// A plugin's failure is not the receiver's: it never counts
		// toward auto-pause or the webhook's failure counters.
		rec.Counted = att.ErrorClass != hookgate.ClassPluginError
		gone := att.StatusCode == 410 && att.ErrorClass == hookgate.ClassHTTPStatus
		if retried < maxRetry && !(gone && wk.Policy.GonePolicy != "retry") {
			at := retryDue(time.Now(), wk.retryDelay(w, retried, att.StatusCode, retryAfter))
			att.NextRetryAt = &at
			rec.Delivery.NextRetryAt = &at
			rec.Delivery.Status = hookgate.DeliveryRetrying
			next = &retryError{due: at, cause: att.ErrorClass}
		} else {
			rec.Delivery.Status = hookgate.DeliveryFailed
		}
		if gone && wk.Policy.GonePolicy == "disable_endpoint" && wk.Lifecycle != nil {
			wk.Lifecycle.Gone(ctx, w, ep.ID)
		}
	}
	if att.ErrorClass == hookgate.ClassTransformationError {
		// The webhook's own script failed, not its receiver: retried (a
		// fixed script applies to the retries) but never counted toward
		// auto-pause.
		rec.Counted = false
	}
	rec.Streak = streak(&rec)
	if rec.Delivery.Status == hookgate.DeliverySucceeded {
		// The event's data is kept for a manual retry, which only a failed
		// delivery can get; the attempt keeps the body as sent. Not storing
		// it again trims a large share of the log's write volume.
		rec.Delivery.Data = nil
	}
	consecutive, err := wk.Log.Record(ctx, rec)
	if err != nil {
		wk.Logger.Warn("delivery log write failed", "delivery_id", d.ID, "err", err)
	}
	wk.Metrics.observe(att, rec.Delivery.Status, d)
	if rec.Streak == hookgate.StreakFail && wk.Lifecycle != nil && err == nil {
		wk.Lifecycle.Failed(ctx, w, consecutive)
	}
	return next
}

// streak decides what a recorded attempt does to the webhook's consecutive
// failed deliveries, the count auto-pause watches (lifecycle.auto_pause_after):
// a delivery that succeeds resets it; a delivery that fails for good (no
// retry left, or a 410 the policy does not retry) adds one; an attempt that
// will be retried adds nothing (it stays in the log and in failure_count),
// nor does one that is not counted against the receiver (rec.Counted false).
// This is the one place that decides it.
func streak(rec *hookgate.LogRecord) hookgate.Streak {
	switch {
	case !rec.Counted:
		return hookgate.StreakKeep
	case rec.Delivery.Status == hookgate.DeliverySucceeded:
		return hookgate.StreakReset
	case rec.Delivery.Status == hookgate.DeliveryFailed:
		return hookgate.StreakFail
	}
	return hookgate.StreakKeep
}

func endpointOf(w *hookgate.Webhook, id string) *hookgate.Endpoint {
	for i := range w.Endpoints {
		if w.Endpoints[i].ID == id {
			return &w.Endpoints[i]
		}
	}
	return nil
}

func (wk *Worker) slot(endpointID string) *endpointSlot {
	if s, ok := wk.inflight.Load(endpointID); ok {
		return s.(*endpointSlot)
	}
	s, _ := wk.inflight.LoadOrStore(endpointID, newEndpointSlot(wk.Policy.EndpointLimit))
	return s.(*endpointSlot)
}

// attempt renders, signs and sends one delivery and describes the outcome.
func (wk *Worker) attempt(ctx context.Context, w *hookgate.Webhook, ep *hookgate.Endpoint, d *hookgate.Task) (*hookgate.Attempt, time.Duration) {
	start := time.Now()
	att := &hookgate.Attempt{At: start.UTC()}
	p, err := wk.render(ctx, &d.Event, w)
	if err != nil && hookgate.ErrorCode(err) == hookgate.EUNAVAILABLE && wk.Policy.PluginWaitMax > 0 {
		// The plugin is restarting or its breaker is open: wait for it
		// rather than spend one of the receiver's attempts.
		if pw, ok := wk.Renderer.(PluginWaiter); ok && pw.WaitPlugins(ctx, w, wk.Policy.PluginWaitMax) {
			p, err = wk.render(ctx, &d.Event, w)
		}
	}
	if err != nil && errors.Is(err, hookgate.ErrTransformation) {
		att.ErrorClass, att.Error = hookgate.ClassTransformationError, "transformation_error: "+hookgate.ErrorMessage(err)
		att.DurationMS = ms(time.Since(start))
		wk.Logger.Info("delivery attempt failed", "delivery_id", d.ID, "tenant", d.Namespace, "webhook_id", w.ID, "endpoint_id", ep.ID,
			"class", att.ErrorClass, "transformation_version", w.TransformationVersion, "err", hookgate.ErrorMessage(err))
		return att, 0
	}
	if err != nil {
		// The delivery log shows the plugin host's message ("plugin x: did
		// not answer within 2s"), not the wrapped cause: that is for the
		// server log.
		msg := "the payload could not be rendered"
		if hookgate.ErrorCode(err) != hookgate.EINTERNAL {
			msg = hookgate.ErrorMessage(err)
		}
		att.ErrorClass, att.Error = hookgate.ClassPluginError, "plugin_error: "+msg
		att.DurationMS = ms(time.Since(start))
		wk.Logger.Warn("delivery attempt failed", "delivery_id", d.ID, "tenant", d.Namespace, "webhook_id", w.ID, "endpoint_id", ep.ID,
			"class", att.ErrorClass, "err", err)
		return att, 0
	}
	if p.Skip {
		att.ErrorClass, att.Error = hookgate.ClassSkipped, p.SkipReason
		return att, 0
	}
	if d.Test {
		// The payload's headers may be shared with the renderer: add to a copy.
		hs := make(map[string]string, len(p.Headers)+1)
		for k, v := range p.Headers {
			hs[k] = v
		}
		hs[TestHeader] = "true"
		q := *p
		q.Headers = hs
		p = &q
	}
	req := wk.Signer.Request(w, ep, ep.URL, d.ID, d.Event.Type, p, start)
	res := wk.send(ctx, req, d, ep)
	att.DurationMS = ms(res.Duration)
	att.StatusCode = res.StatusCode
	att.ErrorClass = res.ErrorClass
	att.Error = res.Message
	if res.Err != nil {
		wk.logTransportError(d, w, ep, res)
	}
	att.ResponseHeaders = res.Headers
	att.ResponseBody = string(res.Body)
	att.Truncated = res.Truncated
	att.RequestHeaders = make(map[string]string, len(req.Headers))
	for k, v := range req.Headers {
		att.RequestHeaders[k] = v[0]
	}
	for k := range ep.Headers {
		// Custom header values are often credentials: the log shows that
		// they were sent, not what.
		att.RequestHeaders[textproto.CanonicalMIMEHeaderKey(k)] = HiddenHeaderValue
	}
	body := p.Body
	if len(body) > wk.Policy.MaxRequestBody {
		body = body[:wk.Policy.MaxRequestBody]
	}
	att.RequestBody = string(body)
	return att, res.RetryAfter
}

// logTransportError writes the detail of an attempt that got no answer to
// the server log: the error as Go reports it (addresses, ports, resolver),
// which the delivery log must not show. The URL is reduced to its host: a
// url.Error would print the path and query, where receivers often keep a
// token. A refused address is a warning (someone points a webhook inside);
// the rest is an endpoint's own trouble.
func (wk *Worker) logTransportError(d *hookgate.Task, w *hookgate.Webhook, ep *hookgate.Endpoint, res *sender.Result) {
	err := res.Err
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	host := ""
	if u, perr := url.Parse(ep.URL); perr == nil {
		host = u.Host
	}
	level := slog.LevelInfo
	if res.ErrorClass == hookgate.ClassSSRFBlocked {
		level = slog.LevelWarn
	}
	wk.Logger.Log(context.Background(), level, "delivery attempt failed", "delivery_id", d.ID, "tenant", d.Namespace, "webhook_id", w.ID,
		"endpoint_id", ep.ID, "host", host, "class", res.ErrorClass, "err", err)
}

// HiddenHeaderValue stands in the delivery log for the value of an
// endpoint's custom header.
const HiddenHeaderValue = "(hidden)"

// retryDelay is the delay before retry number retried+1: the webhook's
// schedule (or the default), with jitter, or the receiver's Retry-After
// within its cap when that is longer.
func (wk *Worker) retryDelay(w *hookgate.Webhook, retried, status int, retryAfter time.Duration) time.Duration {
	delays := wk.Policy.RetryDelays
	if w.Retry != nil && len(w.Retry.Delays) > 0 {
		delays = delays[:0:0]
		for _, d := range w.Retry.Delays {
			delays = append(delays, d.D())
		}
	}
	if len(delays) == 0 {
		return time.Minute
	}
	d := delays[min(retried, len(delays)-1)]
	if j := wk.Policy.Jitter; j > 0 {
		d += time.Duration((rand.Float64()*2 - 1) * j * float64(d))
	}
	if retryAfter > 0 && (status == 429 || status == 503) {
		d = max(d, min(retryAfter, wk.Policy.RetryAfterMax))
	}
	return max(d, time.Millisecond)
}

// Retries is how many retries a webhook's deliveries get.
func (p *Policy) Retries(w *hookgate.Webhook) int {
	if w.Retry != nil && len(w.Retry.Delays) > 0 {
		return len(w.Retry.Delays)
	}
	return len(p.RetryDelays)
}

func (wk *Worker) summary(d *hookgate.Task, ep *hookgate.Endpoint, att *hookgate.Attempt) *hookgate.DeliveryRecord {
	return &hookgate.DeliveryRecord{
		Delivery: hookgate.Delivery{
			ID: d.ID, Tenant: d.Event.Tenant, WebhookID: d.WebhookID, EndpointID: d.EndpointID, URL: ep.URL,
			EventID: d.Event.ID, EventType: d.Event.Type, Attempts: att.N, StatusCode: att.StatusCode,
			ErrorClass: att.ErrorClass, Error: att.Error, DurationMS: att.DurationMS,
			CreatedAt: d.EnqueuedAt.UTC(), UpdatedAt: time.Now().UTC(),
		},
		Namespace: d.Namespace, OccurredAt: d.Event.OccurredAt, Data: d.Event.Data,
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
