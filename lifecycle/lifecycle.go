// Package lifecycle owns the states of an outgoing webhook around delivery:
// pause and resume, auto-pause after repeated failures (with the operational
// events webhook.auto_paused and webhook.recovered), the subscription
// confirmation handshake, and secret rotation. While a webhook is not active
// its deliveries are held (Holder decides where) and released by the
// Manager, oldest first, when it is active again. The Manager implements
// deliver.Lifecycle and the Holder hookgate.Holder; neither sends deliveries
// (the delivery worker does), speaks Redis (the root's HeldDeliveries and
// ConfirmTokens ports do) or holds HTTP types.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/sender"
)

// Enqueuer puts delivery tasks in the queue.
type Enqueuer interface {
	Enqueue(ctx context.Context, items []hookgate.QueueItem) error
}

// Publisher publishes the operational events.
type Publisher interface {
	Validate(in *hookgate.EventInput) error
	Publish(ctx context.Context, tenant string, ins []hookgate.EventInput, idemKey string) ([]hookgate.PublishResult, error)
}

// MessageSender sends a signed control message to one endpoint (the
// confirmation request); deliver.Signer implements it.
type MessageSender interface {
	SendMessage(ctx context.Context, w *hookgate.Webhook, ep *hookgate.Endpoint, id, eventType string, body []byte, extra map[string]string) *sender.Result
}

// Manager implements the webhook lifecycle.
type Manager struct {
	Store  hookgate.WebhookStore
	Held   hookgate.HeldDeliveries
	Tokens hookgate.ConfirmTokens // the confirmation links' single-use tokens
	// Counters resets a resumed webhook's consecutive failures.
	Counters interface {
		ResetConsecutiveFailures(ctx context.Context, id string) error
	}
	Queue     Enqueuer
	Publisher Publisher
	Sender    MessageSender
	Config    config.Lifecycle
	PublicURL string // base of confirmation links
	// Retries is how many retries a webhook's deliveries get.
	Retries func(w *hookgate.Webhook) int
	// Invalidate drops this process's cached view of a namespace's webhooks
	// (the subscription index). Optional.
	Invalidate func(ns string)
	NewID      func(prefix string) string
	Logger     *slog.Logger
	Metrics    *Metrics

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var _ hookgate.Holder = (*Holder)(nil)

// Metrics are the lifecycle metrics.
type Metrics struct {
	held, dropped, released prometheus.Counter
	autoPaused, recovered   prometheus.Counter
	confirmations           *prometheus.CounterVec
}

// NewMetrics registers the lifecycle metrics on reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		held: prometheus.NewCounter(prometheus.CounterOpts{Name: "hookgate_held_events_total",
			Help: "Deliveries held because their webhook was paused, auto-paused or unconfirmed."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "hookgate_held_dropped_total",
			Help: "Held deliveries dropped, oldest first, because a webhook reached lifecycle.hold_max."}),
		released: prometheus.NewCounter(prometheus.CounterOpts{Name: "hookgate_held_released_total",
			Help: "Held deliveries put back in the queue on resume or confirmation."}),
		autoPaused: prometheus.NewCounter(prometheus.CounterOpts{Name: "hookgate_webhooks_auto_paused_total",
			Help: "Webhooks put in status error after lifecycle.auto_pause_after consecutive failures."}),
		recovered: prometheus.NewCounter(prometheus.CounterOpts{Name: "hookgate_webhooks_recovered_total",
			Help: "Auto-paused webhooks resumed."}),
		confirmations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hookgate_confirmations_total",
			Help: "Subscription confirmation requests sent and links followed, by outcome."}, []string{"outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.held, m.dropped, m.released, m.autoPaused, m.recovered, m.confirmations)
	}
	return m
}

func endpointOf(w *hookgate.Webhook, id string) *hookgate.Endpoint {
	for i := range w.Endpoints {
		if w.Endpoints[i].ID == id {
			return &w.Endpoints[i]
		}
	}
	return nil
}

// Failed auto-pauses the webhook when its consecutive failed deliveries
// reach the threshold. Only one process wins the transition, so the
// notification is sent once.
func (m *Manager) Failed(ctx context.Context, w *hookgate.Webhook, consecutive int64) {
	n := int64(m.Config.AutoPauseAfter)
	if n <= 0 || consecutive < n || w.Status.Holding() {
		return
	}
	errNoop := errors.New("not active")
	var msg string
	updated, err := m.Store.UpdateWebhook(ctx, w.Tenant, w.ID, func(cur *hookgate.Webhook) error {
		if cur.Status.Holding() || !cur.Enabled {
			return errNoop
		}
		msg = fmt.Sprintf("Webhook '%s' has been paused due to repeated failures", cur.Name)
		cur.SetStatus(hookgate.StatusError, fmt.Sprintf("%s: %d consecutive deliveries failed after their retries; "+
			"events are kept until POST /v1/webhooks/%s/resume", msg, consecutive, cur.ID), time.Now())
		return nil
	})
	if errors.Is(err, errNoop) {
		return
	}
	if err != nil {
		m.Logger.Error("auto-pause failed", "webhook_id", w.ID, "tenant", w.Tenant, "err", err)
		return
	}
	if m.Invalidate != nil {
		m.Invalidate(w.Tenant)
	}
	m.Metrics.autoPaused.Inc()
	m.Logger.Warn(msg, "webhook_id", w.ID, "tenant", w.Tenant, "consecutive_failures", consecutive,
		"threshold", n, "event", "webhook.auto_paused")
	m.emit(ctx, updated, "webhook.auto_paused", msg, map[string]any{"consecutive_failures": consecutive, "threshold": n})
}

// Gone disables an endpoint that answered 410 Gone (delivery.gone_policy
// disable_endpoint).
func (m *Manager) Gone(ctx context.Context, w *hookgate.Webhook, endpointID string) {
	_, err := m.Store.UpdateWebhook(ctx, w.Tenant, w.ID, func(cur *hookgate.Webhook) error {
		for i := range cur.Endpoints {
			if cur.Endpoints[i].ID == endpointID {
				cur.Endpoints[i].Enabled = false
			}
		}
		return nil
	})
	if err != nil {
		m.Logger.Error("disabling a gone endpoint failed", "webhook_id", w.ID, "endpoint_id", endpointID, "err", err)
		return
	}
	m.Logger.Warn("endpoint disabled: it answered 410 Gone", "webhook_id", w.ID, "tenant", w.Tenant, "endpoint_id", endpointID)
}

// emit publishes an operational event about w to its tenant's (and the
// system) subscribers, like any other event.
func (m *Manager) emit(ctx context.Context, w *hookgate.Webhook, typ, msg string, extra map[string]any) {
	if m.Publisher == nil {
		return
	}
	data := map[string]any{"webhook_id": w.ID, "webhook_name": w.Name, "status": w.Status, "message": msg}
	for k, v := range extra {
		data[k] = v
	}
	raw, err := jsonMarshal(data)
	if err != nil {
		return
	}
	in := hookgate.EventInput{ID: m.NewID("evt"), Type: typ, Data: raw}
	if err = m.Publisher.Validate(&in); err == nil {
		_, err = m.Publisher.Publish(context.WithoutCancel(ctx), w.Tenant, []hookgate.EventInput{in}, "")
	}
	if err != nil {
		m.Logger.Error("operational event not published", "type", typ, "webhook_id", w.ID, "err", err)
	}
}

// MaxReasonLength bounds the reason an admin gives with a pause.
const MaxReasonLength = 500

// disabledError is the refusal of pause and resume on a disabled webhook.
func disabledError(id, what string) error {
	return hookgate.Errorf(hookgate.EDISABLED, "webhook %s is disabled: it neither delivers nor keeps events, so it cannot be %s; "+
		"enable it with PATCH /v1/webhooks/%s {\"enabled\": true}", id, what, id)
}

// Pause pauses a webhook: its events are held until Resume. reason, when
// given, is kept as its status_reason. Pausing a paused webhook changes
// only the reason; an auto-paused one becomes paused.
func (m *Manager) Pause(ctx context.Context, ns, id, reason string) (*hookgate.Webhook, error) {
	reason = strings.TrimSpace(reason)
	if len([]rune(reason)) > MaxReasonLength {
		return nil, hookgate.FieldError("reason", "reason must be at most %d characters", MaxReasonLength)
	}
	w, err := m.Store.UpdateWebhook(ctx, ns, id, func(w *hookgate.Webhook) error {
		switch {
		case !w.Enabled:
			return disabledError(id, "paused")
		case w.Status == hookgate.StatusUnconfirmed:
			return hookgate.Errorf(hookgate.ECONFLICT, "webhook %s is not confirmed yet; its events are already held", id)
		}
		if reason == "" && w.Status == hookgate.StatusPaused {
			reason = w.StatusReason
		}
		w.SetStatus(hookgate.StatusPaused, reason, time.Now())
		return nil
	})
	if err != nil {
		return nil, err
	}
	if m.Invalidate != nil {
		m.Invalidate(ns)
	}
	m.Logger.Info("webhook paused", "webhook_id", id, "tenant", ns)
	return m.decorate(ctx, w), nil
}

// Resume makes a paused or auto-paused webhook deliver again (active, or
// its endpoints' confirmation state) and releases its held events, oldest
// first. Resuming a webhook that is not paused is a conflict unless events
// are still held (a resume that was interrupted), which it releases. The
// answer's webhook is what a read right after shows.
func (m *Manager) Resume(ctx context.Context, ns, id string) (*hookgate.ResumeResult, error) {
	var prev hookgate.WebhookStatus
	w, err := m.Store.UpdateWebhook(ctx, ns, id, func(w *hookgate.Webhook) error {
		prev = w.Status
		switch {
		case !w.Enabled:
			return disabledError(id, "resumed")
		case w.Status == hookgate.StatusUnconfirmed:
			return hookgate.Errorf(hookgate.ECONFLICT, "webhook %s is waiting for its receiver to confirm the subscription; resend the confirmation with POST /v1/webhooks/%s/confirmation/resend", id, id)
		case !w.Status.Holding():
			return nil
		}
		w.Status = hookgate.StatusActive // from which SettleStatus derives the rest
		w.StatusReason = ""
		w.SettleStatus(time.Now())
		now := time.Now().UTC()
		w.StatusChangedAt = &now
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !prev.Holding() {
		counts, err := m.Held.Counts(ctx, []string{id})
		if err != nil {
			return nil, err
		}
		if counts[0] == 0 {
			return nil, hookgate.Errorf(hookgate.ECONFLICT, "webhook %s is already %s; nothing to resume", id, prev)
		}
	}
	if m.Invalidate != nil {
		m.Invalidate(ns)
	}
	// A fresh start: the failures that paused it do not count against it.
	if err := m.Counters.ResetConsecutiveFailures(ctx, id); err != nil {
		m.Logger.Warn("resetting consecutive failures failed", "webhook_id", id, "err", err)
	}
	n, err := m.release(ctx, w, "")
	res := &hookgate.ResumeResult{Webhook: w, PreviousStatus: prev, Released: n}
	if err != nil {
		// Resumed; what is still held is released by the sweep.
		m.Logger.Error("releasing held events failed; the sweep will retry", "webhook_id", id, "released", n, "err", err)
	}
	m.Logger.Info("webhook resumed", "webhook_id", id, "tenant", ns, "previous_status", string(prev), "released", n)
	if prev == hookgate.StatusError {
		m.Metrics.recovered.Inc()
		m.emit(ctx, w, "webhook.recovered", fmt.Sprintf("Webhook '%s' has been resumed", w.Name), map[string]any{"released": n})
	}
	// Read it again: the counters (consecutive_failures reset above) are
	// what a GET right after shows.
	if cur, err := m.Store.FindWebhookByID(ctx, ns, id); err == nil {
		w = cur
	} else {
		w.ConsecutiveFailures = 0
	}
	res.Webhook = m.decorate(ctx, w)
	return res, nil
}

// release puts the webhook's held events back in the queue, oldest first:
// those of the webhook (ep ""), or those of its endpoint ep.
func (m *Manager) release(ctx context.Context, w *hookgate.Webhook, ep string) (int, error) {
	retries := m.Retries(w)
	enqueue := func(ctx context.Context, it *hookgate.HeldItem) error {
		return m.Queue.Enqueue(ctx, []hookgate.QueueItem{{Task: it.Task, Retries: retries, TaskID: it.TaskID}})
	}
	var n int
	var err error
	if ep == "" {
		n, err = m.Held.Release(ctx, w.ID, enqueue)
	} else {
		n, err = m.Held.ReleaseEndpoint(ctx, w.ID, ep, enqueue)
	}
	m.Metrics.released.Add(float64(n))
	return n, err
}

// decorate fills the fields computed on read: held events and status reason.
func (m *Manager) decorate(ctx context.Context, w *hookgate.Webhook) *hookgate.Webhook {
	if c, err := m.Held.Counts(ctx, []string{w.ID}); err == nil {
		w.HeldEvents = c[0]
	}
	w.ShowStatus()
	return w
}

// HeldCounts returns the held events of each webhook (for the webhook API).
func (m *Manager) HeldCounts(ctx context.Context, ids []string) ([]int64, error) {
	return m.Held.Counts(ctx, ids)
}

// Start runs the sweep until Shutdown: every lifecycle.sweep_interval it
// releases events still held for webhooks that are active again, and drops
// those of deleted or disabled webhooks.
func (m *Manager) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(m.Config.SweepInterval.D())
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := m.Sweep(ctx); err != nil && ctx.Err() == nil {
					m.Logger.Warn("held events sweep failed", "err", err)
				}
			}
		}
	}()
}

// Shutdown stops the sweep.
func (m *Manager) Shutdown() {
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
}

// Sweep releases what is held for webhooks that deliver again and for
// endpoints that no longer wait for their confirmation, drops what is held
// for deleted or disabled webhooks and endpoints, and forgets webhooks with
// nothing held.
func (m *Manager) Sweep(ctx context.Context) error {
	list, err := m.Held.Webhooks(ctx)
	if err != nil {
		return err
	}
	for _, p := range list {
		ns, id := p[0], p[1]
		w, err := m.Store.FindWebhookByID(ctx, ns, id)
		switch {
		case hookgate.ErrorCode(err) == hookgate.ENOTFOUND || (err == nil && !w.Enabled):
			if n, err := m.Held.Drop(ctx, ns, id); err == nil && n > 0 {
				m.Logger.Info("held events dropped: the webhook is deleted or disabled", "webhook_id", id, "tenant", ns, "dropped", n)
			}
			continue
		case err != nil:
			return err
		case !w.Status.Holding():
			// What the webhook kept goes back; the worker keeps, per
			// endpoint, what is for an endpoint still waiting for its confirmation.
			if n, err := m.release(ctx, w, ""); err != nil {
				return err
			} else if n > 0 {
				m.Logger.Info("held events released by the sweep", "webhook_id", id, "tenant", ns, "released", n)
			}
		}
		if err := m.sweepEndpoints(ctx, w); err != nil {
			return err
		}
		if err := m.Held.Forget(ctx, ns, id); err != nil {
			return err
		}
	}
	return nil
}

// sweepEndpoints releases what w's endpoints kept once they no longer wait
// for their confirmation, and drops what removed or disabled ones kept.
func (m *Manager) sweepEndpoints(ctx context.Context, w *hookgate.Webhook) error {
	eps, err := m.Held.Endpoints(ctx, w.ID)
	if err != nil {
		return err
	}
	for _, id := range eps {
		ep := endpointOf(w, id)
		switch {
		case ep == nil || !ep.Enabled:
			if n, err := m.Held.DropEndpoint(ctx, w.ID, id); err != nil {
				return err
			} else if n > 0 {
				m.Logger.Info("held events dropped: the endpoint is removed or disabled", "webhook_id", w.ID, "endpoint_id", id, "dropped", n)
			}
			continue
		case !ep.Pending():
			if n, err := m.release(ctx, w, id); err != nil {
				return err
			} else if n > 0 {
				m.Logger.Info("held events released by the sweep", "webhook_id", w.ID, "endpoint_id", id, "released", n)
			}
		}
		if err := m.Held.ForgetEndpoint(ctx, w.ID, id); err != nil {
			return err
		}
	}
	return nil
}
