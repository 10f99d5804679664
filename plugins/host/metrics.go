package host

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the per-plugin Prometheus series.
type metrics struct {
	calls    *prometheus.CounterVec
	errors   *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	restarts *prometheus.CounterVec
	up       *prometheus.GaugeVec
	breaker  *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookgate_plugin_calls_total", Help: "Calls to plugins.",
		}, []string{"plugin", "method"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookgate_plugin_errors_total", Help: "Failed calls to plugins, by kind: panic, crash, timeout, error, invalid, unavailable.",
		}, []string{"plugin", "kind"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "hookgate_plugin_call_duration_seconds", Help: "Duration of calls to plugins.",
			Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .05, .25, 1, 5},
		}, []string{"plugin", "method"}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookgate_plugin_restarts_total", Help: "Plugin process restarts.",
		}, []string{"plugin"}),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hookgate_plugin_up", Help: "1 when the plugin process is running and healthy.",
		}, []string{"plugin"}),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hookgate_plugin_breaker_open", Help: "1 while the plugin's circuit breaker is open (calls fail at once as unavailable).",
		}, []string{"plugin"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.calls, m.errors, m.latency, m.restarts, m.up, m.breaker} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, err
			}
		}
	}
	return m, nil
}
