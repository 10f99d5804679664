package deliver

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookgate/hookgate"
)

// Metrics are the delivery metrics.
type Metrics struct {
	deliveries *prometheus.CounterVec
	attemptDur prometheus.Histogram
	latency    prometheus.Histogram
	drops      *prometheus.CounterVec
	busyCount  prometheus.Counter
	limited    prometheus.Counter
	wokenCount prometheus.Counter
	parkedEnq  prometheus.Counter
	Events     prometheus.Counter
	Enqueued   prometheus.Counter
}

// NewMetrics registers the delivery metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hookgate_delivery_attempts_total",
			Help: "Delivery attempts by outcome (succeeded, retrying, failed) and error class."}, []string{"outcome", "class"}),
		attemptDur: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "hookgate_delivery_attempt_duration_seconds",
			Help: "Duration of one delivery attempt (the HTTP exchange).", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "hookgate_event_to_delivery_seconds",
			Help: "Time from an event's acceptance to its first delivery attempt's end.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}),
		drops: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hookgate_deliveries_dropped_total",
			Help: "Deliveries dropped before an attempt (webhook deleted or disabled)."}, []string{"reason"}),
		busyCount: prometheus.NewCounter(prometheus.CounterOpts{Name: "hookgate_delivery_endpoint_busy_total",
			Help: "Deliveries parked (or re-scheduled) because their endpoint had every place taken."}),
		limited: prometheus.NewCounter(prometheus.CounterOpts{Name: "hookgate_delivery_rate_limited_total",
			Help: "Deliveries sent back to the queue until the send time their endpoint's rate limit reserved for them (not attempts)."}),
		wokenCount: prometheus.NewCounter(prometheus.CounterOpts{Name: "hookgate_delivery_parked_woken_total",
			Help: "Parked deliveries handed back to the queue because a place on their endpoint freed."}),
		parkedEnq: prometheus.NewCounter(prometheus.CounterOpts{Name: "hookgate_delivery_parked_enqueued_total",
			Help: "Deliveries enqueued parked because their endpoint had deliveries parked (not due before a place frees)."}),
		Events:   prometheus.NewCounter(prometheus.CounterOpts{Name: "hookgate_events_accepted_total", Help: "Events accepted."}),
		Enqueued: prometheus.NewCounter(prometheus.CounterOpts{Name: "hookgate_deliveries_enqueued_total", Help: "Delivery tasks enqueued."}),
	}
	if reg != nil {
		reg.MustRegister(m.deliveries, m.attemptDur, m.latency, m.drops, m.busyCount, m.limited, m.wokenCount, m.parkedEnq, m.Events, m.Enqueued)
	}
	return m
}

func (m *Metrics) observe(att *hookgate.Attempt, status hookgate.DeliveryStatus, d *hookgate.Task) {
	if m == nil {
		return
	}
	m.deliveries.WithLabelValues(string(status), att.ErrorClass).Inc()
	m.attemptDur.Observe(att.DurationMS / 1000)
	if !d.Manual && att.N == 1 {
		m.latency.Observe(time.Since(d.EnqueuedAt).Seconds())
	}
}

func (m *Metrics) dropped(reason string) {
	if m != nil {
		m.drops.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) busy() {
	if m != nil {
		m.busyCount.Inc()
	}
}

func (m *Metrics) rateLimited() {
	if m != nil {
		m.limited.Inc()
	}
}

func (m *Metrics) woken() {
	if m != nil {
		m.wokenCount.Inc()
	}
}

// EnqueuedParked counts a delivery enqueued parked (queue.Stalled).
func (m *Metrics) EnqueuedParked() {
	if m != nil {
		m.parkedEnq.Inc()
	}
}
