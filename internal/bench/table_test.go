package bench

import (
	"strings"
	"testing"
	"time"
)

// The table names every figure of the performance targets with its target:
// both throughput ratios (the single-event burst and the batches), the
// healthy p99 beside a dead endpoint, the incoming proxy, the plugin's
// added latency, the p99 at the latency run's rate and the idle cost.
func TestTablePrintsEveryTargetFigure(t *testing.T) {
	r := &Result{
		AppendOnly: "yes", BaselineTasksPerS: 5000, DeliveriesPerS: 4000, Ratio: 0.8,
		BurstEvents: 20000, BurstPublishers: 32, BurstDeliveriesPerS: 4500, BurstRatio: 0.9,
		LatencyRate: 1000, P99: 5 * time.Millisecond, DeadP99: 8 * time.Millisecond,
		PluginDeliveriesPerS: 3000, PluginP50Added: 300 * time.Microsecond,
		IdleCommandsPerS: 500, LightP50: 2 * time.Millisecond,
		BaselineRedis: Cost{Commands: 18}, HookgateRedis: Cost{Commands: 24}, BurstRedis: Cost{Commands: 30},
	}
	in := &IncomingResult{ThroughputRatio: 0.4, Overhead: 110 * time.Microsecond}
	var b strings.Builder
	PrintTable(&b, r, in)
	for _, want := range []string{
		"delivered/s, 20k single-event burst (32 clients) ÷ bare asynq processing with HTTP POST | 0.90x (4500/s) | >= 0.8x",
		"delivered/s, batches of the throughput run ÷ bare asynq | 0.80x (4000/s) | >= 0.8x",
		"Redis commands per delivery: burst; batches; bare asynq task | 30.0; 24.0; 18.0 | ",
		"healthy p99 beside a dead endpoint ÷ without, at 1000 events/s | 1.6x (8.0 / 5.0 ms; AOF rewrites during each: 0 / 0) | < 2x",
		"incoming proxy throughput ÷ direct | 0.40x | >= 0.5x",
		"incoming proxy overhead p50 | 110 µs | <= 300 µs",
		"latency a plugin format adds, p50 | 300 µs | <= 250 µs",
		"p99 at 1000 events/s, Redis appendonly yes (AOF rewrites included) | 5.0 ms | <= 25 ms",
		"idle Redis commands/s; p50 at 50 events/s | 500/s; 2.00 ms | p50 <= 5 ms",
	} {
		if !strings.Contains(b.String(), want+"\n") {
			t.Errorf("the table lacks %q:\n%s", want, b.String())
		}
	}
}
