// Package bench measures hookgate against bare asynq on the same Redis and
// the same loopback receiver, in one run, so the figures compare like with
// like on whatever machine runs it:
//
//   - baseline: asynq enqueue -> process -> HTTP POST, nothing else;
//   - throughput: events published in batches through the real HTTP API of
//     a real hookgate (in this process), delivered to the receiver;
//   - burst: the same with every event its own POST /v1/events (with an
//     Idempotency-Key, as docs/api.md asks publishers to send) from many
//     concurrent clients;
//   - latency: single events at a fixed offered rate, event -> delivery
//     percentiles measured at the receiver.
//
// Everything it writes to Redis sits under a fresh prefix and queue, removed
// at the end.
package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/trace"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"golang.org/x/sync/errgroup"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/app"
	"github.com/hookgate/hookgate/auth"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/store"
	hgqueue "github.com/hookgate/hookgate/queue"
)

// Options are the bench's knobs.
type Options struct {
	Config     config.Config // base configuration (Redis address, delivery settings)
	Events     int           // events for the throughput runs
	Rate       int           // offered events/s for the latency run
	Duration   time.Duration // of the latency run
	BatchSize  int
	Publishers int // concurrent publishing connections
	// The burst run: BurstEvents single-event requests from BurstPublishers
	// concurrent clients (skipped when BurstEvents is 0).
	BurstEvents, BurstPublishers int
	Out                          io.Writer
	// Trace, when set, receives an execution trace (runtime/trace) of the
	// isolation run (e); Timeline, when set, a sample every 100 ms of that
	// run's deliveries, queue sizes and Redis commands.
	Trace, Timeline io.Writer
}

// Result holds the figures of one run.
type Result struct {
	Hardware          string
	AppendOnly        string // Redis's appendonly setting ("" when it does not say)
	BaselineTasksPerS float64
	IngestEventsPerS  float64
	DeliveriesPerS    float64
	Ratio             float64
	LatencyRate       int
	LatencyP50, P99   time.Duration
	LatencyMax        time.Duration
	LatencySent       int
	LatencyDelivered  int
	// AOF rewrites Redis started during the latency run (c) and the
	// isolation run (e): each forks Redis and competes for the cores.
	LatencyRewrites, DeadRewrites int64
	BatchIngestPerS               float64
	// The burst of single events: accepted and delivered per second, the
	// latter ÷ BaselineTasksPerS.
	BurstEvents, BurstPublishers int
	BurstAcceptedPerS            float64
	BurstDeliveriesPerS          float64
	BurstRatio                   float64
	// Through the cloudcx plugin (zero when no plugin is loaded).
	PluginDeliveriesPerS float64
	PluginP50Added       time.Duration
	// Isolation: the healthy endpoint's latency at the same rate while a
	// dead endpoint (every request hangs to the timeout) shares the server.
	DeadP50, DeadP99, DeadMax time.Duration
	DeadBusy                  float64 // deliveries a worker parked because the dead endpoint was at its bound (dequeued, then put back)
	DeadParkedEnqueued        float64 // deliveries enqueued parked (never dequeued before a place freed)
	// Redis work per task / delivery: commands (those run inside scripts
	// included) and Redis CPU time, from INFO commandstats.
	BaselineRedis, HookgateRedis Cost
	BurstRedis                   Cost // per delivery of the burst run
	// DeadRedis is the Redis work of the isolation run per healthy
	// delivery, the dead endpoint's (re-schedules, parking) included.
	DeadRedis Cost
	// Idle cost: Redis commands per second while the started hookgate has
	// nothing to do, and the p50 at a light rate (LightRate events/s) that
	// a lower idle cost must not raise.
	IdleCommandsPerS float64
	LightP50         time.Duration
}

// LightRate is the offered rate, events/s, of the light latency run that
// goes with the idle cost.
const LightRate = 50

// Cost is Redis work: commands executed and CPU microseconds spent by the
// Redis process (AOF writing included).
type Cost struct {
	Commands, Usec float64
}

func (c Cost) minus(d Cost) Cost { return Cost{c.Commands - d.Commands, c.Usec - d.Usec} }
func (c Cost) per(n int) Cost    { return Cost{c.Commands / float64(n), c.Usec / float64(n)} }
func (c Cost) String() string {
	return fmt.Sprintf("%.1f commands (scripts' inner commands included), %.1f µs of Redis process CPU", c.Commands, c.Usec)
}

// redisCost reads the commands Redis has executed (the commands scripts
// run are counted too) and the CPU time of the Redis process (user +
// system, every thread); zero when Redis does not say.
func redisCost(ctx context.Context, rdb store.Client) Cost {
	u, err := store.CommandStats(ctx, rdb)
	if err != nil {
		return Cost{}
	}
	return Cost{Commands: u.Commands, Usec: float64(u.CPU.Microseconds())}
}

// receiver counts deliveries and records event->delivery latency when the
// event data carries "sent_ns".
type receiver struct {
	count     atomic.Int64
	mu        sync.Mutex
	latencies []time.Duration
	sentAt    []int64 // unix nanos each latency's event was sent
	srv       *http.Server
	url       string
}

func newReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{url: "http://" + ln.Addr().String() + "/hook"}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

// sentKey marks the send time in an event's data.id ("lat-<unix ns>"): every
// format carries the record id, so latency is measured the same way through
// a plugin as through the in-process envelope.
var sentKey = []byte(`"lat-`)

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	now := time.Now().UnixNano()
	if i := bytes.Index(body, sentKey); i >= 0 {
		rest := body[i+len(sentKey):]
		j := bytes.IndexByte(rest, '"')
		if j > 0 {
			if ns, err := strconv.ParseInt(string(rest[:j]), 10, 64); err == nil {
				r.mu.Lock()
				r.latencies = append(r.latencies, time.Duration(now-ns))
				r.sentAt = append(r.sentAt, ns)
				r.mu.Unlock()
			}
		}
	}
	r.count.Add(1)
	w.WriteHeader(http.StatusOK)
}

func (r *receiver) waitFor(ctx context.Context, n int64) error {
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for r.count.Load() < n {
		select {
		case <-ctx.Done():
			return fmt.Errorf("only %d of %d deliveries arrived", r.count.Load(), n)
		case <-t.C:
		}
	}
	return nil
}

// Hardware describes this machine for the report.
func Hardware() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "model name") {
				model = strings.TrimSpace(strings.SplitN(line, ":", 2)[1])
				break
			}
		}
	}
	return fmt.Sprintf("%d cores (%s), %s/%s, %s", runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

func randomPrefix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "hgbench" + hex.EncodeToString(b[:])
}

// Run runs the three measurements and prints a report.
func Run(ctx context.Context, o Options) (*Result, error) {
	res := &Result{Hardware: Hardware(), LatencyRate: o.Rate}
	fmt.Fprintf(o.Out, "hardware: %s\nredis: %s\n\n", res.Hardware, o.Config.Redis.Addr)
	rdb := store.NewClient(o.Config.Redis)
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	if aof := store.AppendOnly(ctx, rdb); aof != "" {
		res.AppendOnly = aof
		fmt.Fprintf(o.Out, "redis appendonly: %v\n", aof)
	}

	// One receiver for bare asynq and hookgate alike.
	recv, err := newReceiver()
	if err != nil {
		return nil, err
	}
	defer recv.srv.Close()
	c0 := redisCost(ctx, rdb)
	base, err := baseline(ctx, rdb, recv, o)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	res.BaselineTasksPerS = base
	res.BaselineRedis = redisCost(ctx, rdb).minus(c0).per(o.Events)
	fmt.Fprintf(o.Out, "(a) bare asynq enqueue->process->HTTP POST: %d tasks in %.0f tasks/s\n", o.Events, base)
	fmt.Fprintf(o.Out, "    redis per task: %s\n", res.BaselineRedis)

	if err := hookgateRuns(ctx, rdb, recv, o, res); err != nil {
		return nil, err
	}
	res.Ratio = res.DeliveriesPerS / res.BaselineTasksPerS
	fmt.Fprintf(o.Out, "\nsummary: hookgate delivers %.2fx bare asynq (batches), %.2fx (single-event burst); p99 %.1f ms at %d events/s\n",
		res.Ratio, res.BurstRatio, float64(res.P99.Microseconds())/1000, o.Rate)
	return res, nil
}

// baseline measures bare asynq with the same concurrency and poll interval.
func baseline(ctx context.Context, rdb store.Client, recv *receiver, o Options) (float64, error) {
	before := recv.count.Load()
	q := randomPrefix()
	defer cleanupQueue(rdb, q)
	client := asynq.NewClientFromRedisClient(rdb)
	httpc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	body := []byte(`{"event":"contact.created","timestamp":1710700000,"data":{"id":"c1","first_name":"Ada"}}`)
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency: o.Config.Delivery.Concurrency, Queues: map[string]int{q: 1},
		TaskCheckInterval: o.Config.Delivery.PollInterval.D(), LogLevel: asynq.ErrorLevel,
	})
	mux := asynq.NewServeMux()
	mux.HandleFunc("post", func(ctx context.Context, t *asynq.Task) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, recv.url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := httpc.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil
	})
	if err := srv.Start(mux); err != nil {
		return 0, err
	}
	defer srv.Shutdown()
	start := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Int64
	per := o.Events / o.Publishers
	for p := 0; p < o.Publishers; p++ {
		wg.Go(func() {
			for i := 0; i < per; i++ {
				if _, err := client.EnqueueContext(ctx, asynq.NewTask("post", body), asynq.Queue(q), asynq.MaxRetry(3)); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		return 0, fmt.Errorf("%d enqueues failed", failed.Load())
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := recv.waitFor(wctx, before+int64(per*o.Publishers)); err != nil {
		return 0, err
	}
	return float64(per*o.Publishers) / time.Since(start).Seconds(), nil
}

func hookgateRuns(ctx context.Context, rdb store.Client, recv *receiver, o Options, res *Result) error {
	precv, err := newReceiver()
	if err != nil {
		return err
	}
	defer precv.srv.Close()
	cfg := o.Config
	cfg.Redis.Prefix = randomPrefix()
	cfg.Delivery.AllowHTTP = true
	cfg.Delivery.AllowedCIDRs = []string{"127.0.0.0/8"}
	cfg.Log.Level = "warn"
	// The isolation run measures the bound on in-flight requests per
	// endpoint, not the auto-pause that would stop the dead webhook.
	cfg.Lifecycle.AutoPauseAfter = 0
	defer cleanup(rdb, cfg.Redis.Prefix+":")
	defer cleanupQueue(rdb, app.QueueNames(cfg)...)
	a, stop, err := startApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer stop()
	tok, err := auth.Mint(cfg.Auth, hookgate.Principal{Subject: "bench", Tenant: "bench", Roles: []string{"admin", "publisher"}}, time.Hour)
	if err != nil {
		return err
	}
	r := &runner{o: o, rdb: rdb, queues: app.QueueNames(cfg),
		api: &apiClient{base: "http://" + a.Addr(), token: tok,
			http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 128}}}}
	if err := r.api.do(ctx, "POST", "/v1/webhooks", map[string]any{
		"name": "bench", "endpoints": []map[string]any{{"url": recv.url}}, "events": []string{"contact.created"},
	}, nil); err != nil {
		return fmt.Errorf("create webhook: %w", err)
	}

	// Idle cost: what the started hookgate asks of Redis with no work (the
	// queue's polling, heartbeats, the scheduler), then the median latency
	// of a light load, which a longer poll would raise.
	idle0, t0 := redisCost(ctx, rdb), time.Now()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(3 * time.Second):
	}
	res.IdleCommandsPerS = (redisCost(ctx, rdb).Commands - idle0.Commands) / time.Since(t0).Seconds()
	light, err := r.latency(ctx, recv, "contact.created", LightRate, 3*time.Second)
	if err != nil {
		return fmt.Errorf("light latency run: %w", err)
	}
	res.LightP50 = pct(light.sorted, 0.5)
	fmt.Fprintf(o.Out, "idle cost: %.0f Redis commands/s with nothing to do (delivery.poll_interval %s); p50 at %d events/s: %.2f ms\n",
		res.IdleCommandsPerS, o.Config.Delivery.PollInterval.D(), LightRate, msf(res.LightP50))

	// (b) Throughput: batches from concurrent publishers, as fast as accepted.
	c0 := redisCost(ctx, rdb)
	tp, err := r.throughput(ctx, recv, []string{"contact.created"}, o.Events)
	if err != nil {
		return err
	}
	res.IngestEventsPerS, res.DeliveriesPerS = tp.accepted, tp.delivered
	res.HookgateRedis = redisCost(ctx, rdb).minus(c0).per(tp.n)
	fmt.Fprintf(o.Out, "(b) hookgate end to end, %d events in batches of %d from %d publishers:\n", tp.n, o.BatchSize, o.Publishers)
	fmt.Fprintf(o.Out, "    accepted (durably, 202): %.0f events/s\n    delivered: %.0f deliveries/s = %.2fx baseline\n",
		res.IngestEventsPerS, res.DeliveriesPerS, res.DeliveriesPerS/res.BaselineTasksPerS)
	fmt.Fprintf(o.Out, "    redis per delivery: %s\n", res.HookgateRedis)

	// (b') The same events as a burst of single requests, each with an
	// Idempotency-Key, from many concurrent clients.
	if o.BurstEvents > 0 {
		c0 := redisCost(ctx, rdb)
		bp := max(o.BurstPublishers, 1)
		bt, err := r.burst(ctx, recv, "contact.created", o.BurstEvents, bp)
		if err != nil {
			return fmt.Errorf("burst run: %w", err)
		}
		res.BurstEvents, res.BurstPublishers = bt.n, bp
		res.BurstAcceptedPerS, res.BurstDeliveriesPerS = bt.accepted, bt.delivered
		res.BurstRatio = bt.delivered / res.BaselineTasksPerS
		res.BurstRedis = redisCost(ctx, rdb).minus(c0).per(bt.n)
		fmt.Fprintf(o.Out, "(b') hookgate end to end, %d single events (POST /v1/events with an Idempotency-Key) from %d clients:\n", bt.n, bp)
		fmt.Fprintf(o.Out, "    accepted (durably, 202): %.0f events/s\n    delivered: %.0f deliveries/s = %.2fx baseline\n",
			bt.accepted, bt.delivered, res.BurstRatio)
		fmt.Fprintf(o.Out, "    redis per delivery: %s\n", res.BurstRedis)
	}

	// (c) Latency at a fixed offered rate, single events, in steady state.
	rw0 := aofRewrites(ctx, rdb)
	lat, err := r.latency(ctx, recv, "contact.created", o.Rate, o.Duration)
	if err != nil {
		return fmt.Errorf("latency run: %w", err)
	}
	res.LatencyRewrites = aofRewrites(ctx, rdb) - rw0
	res.LatencySent, res.LatencyDelivered = lat.n, len(lat.sorted)
	res.LatencyP50, res.P99, res.LatencyMax = pct(lat.sorted, 0.50), pct(lat.sorted, 0.99), lat.sorted[len(lat.sorted)-1]
	fmt.Fprintf(o.Out, "(c) latency at %.0f events/s offered (%d single events), event -> delivery:\n    p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		lat.offered, lat.n, msf(res.LatencyP50), msf(res.P99), msf(res.LatencyMax))
	fmt.Fprintf(o.Out, "    p90 %.2f ms, p95 %.2f ms, p99.9 %.2f ms; over 25 ms by second of the run: %v; AOF rewrites started: %d\n",
		msf(pct(lat.sorted, 0.90)), msf(pct(lat.sorted, 0.95)), msf(pct(lat.sorted, 0.999)), lat.slowSecs, res.LatencyRewrites)

	if err := r.pluginRuns(ctx, a, precv, recv, res); err != nil {
		return err
	}
	return r.isolationRun(ctx, a, recv, res)
}

// pluginRuns (d): the same through an external plugin, a cloudcx webhook,
// when the configuration loads that plugin.
func (r *runner) pluginRuns(ctx context.Context, a *app.App, precv, recv *receiver, res *Result) error {
	o := r.o
	if !a.Pipeline.HasFormat("cloudcx") {
		fmt.Fprintf(o.Out, "(d) plugin: skipped, no cloudcx plugin loaded (make build, and run from the repository root)\n")
		return nil
	}
	if err := r.api.do(ctx, "POST", "/v1/webhooks", map[string]any{"name": "bench-cloudcx", "format": "cloudcx",
		"endpoints": []map[string]any{{"url": precv.url}}, "events": []string{"contact.updated"},
	}, nil); err != nil {
		return fmt.Errorf("create cloudcx webhook: %w", err)
	}
	ptp, err := r.throughput(ctx, precv, []string{"contact.updated"}, o.Events)
	if err != nil {
		return fmt.Errorf("plugin throughput: %w", err)
	}
	res.PluginDeliveriesPerS = ptp.delivered
	// Added latency: both formats at a light rate, interleaved in one run, so
	// that queueing does not hide the plugin's cost.
	light := max(o.Rate/10, 50)
	std, plug, err := r.latencyPair(ctx, recv, precv, light, o.Duration)
	if err != nil {
		return fmt.Errorf("plugin latency: %w", err)
	}
	res.PluginP50Added = pct(plug.sorted, 0.5) - pct(std.sorted, 0.5)
	fmt.Fprintf(o.Out, "(d) through the cloudcx plugin, %d events: %.0f deliveries/s = %.2fx the in-process format (%.0f/s)\n",
		ptp.n, ptp.delivered, ptp.delivered/res.DeliveriesPerS, res.DeliveriesPerS)
	fmt.Fprintf(o.Out, "    p50 at %d events/s: standard %.3f ms, cloudcx %.3f ms: the plugin adds %.0f µs\n",
		light, msf(pct(std.sorted, 0.5)), msf(pct(plug.sorted, 0.5)), float64(res.PluginP50Added.Microseconds()))
	return nil
}

// isolationRun (e): the latency run again with a dead endpoint subscribed to
// the same events. Auto-pause is off here, so what is measured is the bound
// on in-flight requests per endpoint. It runs last: the dead endpoint's
// deliveries stay in the queue.
func (r *runner) isolationRun(ctx context.Context, a *app.App, recv *receiver, res *Result) error {
	o := r.o
	dead := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { <-req.Context().Done() })}
	dln := mustListen()
	go dead.Serve(dln)
	defer dead.Close()
	if err := r.api.do(ctx, "POST", "/v1/webhooks", map[string]any{
		"name": "dead", "endpoints": []map[string]any{{"url": "http://" + dln.Addr().String() + "/"}}, "events": []string{"contact.created"},
	}, nil); err != nil {
		return fmt.Errorf("create dead webhook: %w", err)
	}
	busyBefore, parkedBefore := appCounter(a, "hookgate_delivery_endpoint_busy_total"), appCounter(a, "hookgate_delivery_parked_enqueued_total")
	r.noSettle = true
	c0, rw0 := redisCost(ctx, r.rdb), aofRewrites(ctx, r.rdb)
	if o.Trace != nil {
		if err := trace.Start(o.Trace); err != nil {
			return err
		}
	}
	var tl *timeline
	if o.Timeline != nil {
		tl = startTimeline(ctx, r.rdb, recv, r.queues, 100*time.Millisecond)
	}
	lat, err := r.latency(ctx, recv, "contact.created", o.Rate, o.Duration)
	if o.Trace != nil {
		trace.Stop()
	}
	if tl != nil {
		tl.write(o.Timeline)
	}
	if err != nil {
		return fmt.Errorf("isolation run: %w", err)
	}
	res.DeadRedis = redisCost(ctx, r.rdb).minus(c0).per(max(len(lat.sorted), 1))
	res.DeadRewrites = aofRewrites(ctx, r.rdb) - rw0
	res.DeadP50, res.DeadP99, res.DeadMax = pct(lat.sorted, 0.5), pct(lat.sorted, 0.99), lat.sorted[len(lat.sorted)-1]
	res.DeadBusy = appCounter(a, "hookgate_delivery_endpoint_busy_total") - busyBefore
	res.DeadParkedEnqueued = appCounter(a, "hookgate_delivery_parked_enqueued_total") - parkedBefore
	cfg := a.Config
	fmt.Fprintf(o.Out, "(e) latency again with one dead endpoint (hangs to the %s timeout; %d in flight at most):\n    healthy p50 %.2f ms, p99 %.2f ms, max %.2f ms; p99 %.2fx without\n    dead endpoint's deliveries: %.0f parked by a worker (dequeued, put back), %.0f parked as enqueued (never dequeued)\n",
		cfg.Delivery.Timeout.D(), cfg.Delivery.EndpointInFlight, msf(res.DeadP50), msf(res.DeadP99), msf(res.DeadMax),
		float64(res.DeadP99)/float64(res.P99), res.DeadBusy, res.DeadParkedEnqueued)
	fmt.Fprintf(o.Out, "    over 25 ms by second of the run: %v; AOF rewrites started: %d\n", lat.slowSecs, res.DeadRewrites)
	fmt.Fprintf(o.Out, "    redis per healthy delivery (the dead endpoint's work included): %s\n", res.DeadRedis)
	return nil
}

// appCounter reads the counter name from the app's registry.
func appCounter(a *app.App, name string) float64 {
	mfs, err := a.Registry.Gather()
	if err != nil {
		return 0
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) > 0 {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}

// runner drives one hookgate through its API.
type runner struct {
	o        Options
	rdb      store.Client
	queues   []string // every shard
	api      *apiClient
	noSettle bool // the queue never drains (a dead endpoint): do not wait for it
}

type throughputResult struct {
	n                   int
	accepted, delivered float64
}

// throughput publishes about n events in batches from concurrent
// publishers, their types taken in turn from types, and waits until recv
// has them all.
func (r *runner) throughput(ctx context.Context, recv *receiver, types []string, n int) (throughputResult, error) {
	o := r.o
	per := max(n/o.Publishers/o.BatchSize, 1)
	total := per * o.Publishers * o.BatchSize
	before := recv.count.Load()
	start := time.Now()
	var g errgroup.Group
	for p := 0; p < o.Publishers; p++ {
		g.Go(func() error {
			batch := make([]map[string]any, o.BatchSize)
			for i := range batch {
				batch[i] = map[string]any{"type": types[i%len(types)], "data": map[string]any{"id": "c1", "first_name": "Ada", "email": "ada@example.com"}}
			}
			for i := 0; i < per; i++ {
				if err := r.api.do(ctx, "POST", "/v1/events/batch", map[string]any{"events": batch}, nil); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return r.delivered(ctx, g.Wait(), recv, before, total, start)
}

// burst publishes about n events of type typ, each its own POST /v1/events
// with an Idempotency-Key, from clients concurrent clients, and waits until
// recv has them all.
func (r *runner) burst(ctx context.Context, recv *receiver, typ string, n, clients int) (throughputResult, error) {
	per := max(n/clients, 1)
	total := per * clients
	before := recv.count.Load()
	run := randomPrefix()
	start := time.Now()
	var g errgroup.Group
	for p := 0; p < clients; p++ {
		g.Go(func() error {
			for i := 0; i < per; i++ {
				id := run + "-" + strconv.Itoa(p) + "-" + strconv.Itoa(i)
				ev := map[string]any{"type": typ, "data": map[string]any{"id": id, "first_name": "Ada", "email": "ada@example.com"}}
				if err := r.api.doKey(ctx, "POST", "/v1/events", id, ev, nil); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return r.delivered(ctx, g.Wait(), recv, before, total, start)
}

// delivered ends a throughput run that published total events from start
// (publishErr: the publishers' error): the publish rate, then the delivery
// rate once recv (which had before deliveries) has them all, and the queues
// settled.
func (r *runner) delivered(ctx context.Context, publishErr error, recv *receiver, before int64, total int, start time.Time) (throughputResult, error) {
	if publishErr != nil {
		return throughputResult{}, fmt.Errorf("publish: %w", publishErr)
	}
	res := throughputResult{n: total, accepted: float64(total) / time.Since(start).Seconds()}
	wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if err := recv.waitFor(wctx, before+int64(total)); err != nil {
		return res, err
	}
	res.delivered = float64(total) / time.Since(start).Seconds()
	settle(ctx, r.rdb, r.queues)
	return res, nil
}

type latencyResult struct {
	n        int
	offered  float64
	sorted   []time.Duration
	slowSecs map[int]int
}

// latency offers single events of type typ at rate for d and measures
// event -> delivery at recv, after the system has settled.
func (r *runner) latency(ctx context.Context, recv *receiver, typ string, rate int, d time.Duration) (latencyResult, error) {
	res, err := r.offer(ctx, []*receiver{recv}, []string{typ}, rate, d)
	if err != nil {
		return latencyResult{}, err
	}
	return res[0], nil
}

// latencyPair offers both event types alternately, each at rate.
func (r *runner) latencyPair(ctx context.Context, a, b *receiver, rate int, d time.Duration) (latencyResult, latencyResult, error) {
	res, err := r.offer(ctx, []*receiver{a, b}, []string{"contact.created", "contact.updated"}, rate, d)
	if err != nil {
		return latencyResult{}, latencyResult{}, err
	}
	return res[0], res[1], nil
}

func (r *runner) offer(ctx context.Context, recvs []*receiver, types []string, rate int, d time.Duration) ([]latencyResult, error) {
	if !r.noSettle {
		settle(ctx, r.rdb, r.queues)
	}
	time.Sleep(time.Second)
	befores := make([]int64, len(recvs))
	for i, recv := range recvs {
		recv.mu.Lock()
		recv.latencies, recv.sentAt = recv.latencies[:0], recv.sentAt[:0]
		recv.mu.Unlock()
		befores[i] = recv.count.Load()
	}
	n := int(float64(rate) * d.Seconds())
	total := n * len(types)
	interval := time.Second / time.Duration(rate*len(types))
	var g errgroup.Group
	g.SetLimit(256)
	tick := time.NewTicker(interval)
	begin := time.Now()
	for i := 0; i < total; i++ {
		<-tick.C
		typ := types[i%len(types)]
		g.Go(func() error {
			ev := map[string]any{"type": typ, "data": map[string]any{"id": "lat-" + strconv.FormatInt(time.Now().UnixNano(), 10), "first_name": "Ada"}}
			return r.api.do(ctx, "POST", "/v1/events", ev, nil)
		})
	}
	tick.Stop()
	err := g.Wait()
	offered := float64(n) / time.Since(begin).Seconds()
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	out := make([]latencyResult, len(recvs))
	for i, recv := range recvs {
		if err := recv.waitFor(wctx, befores[i]+int64(n)); err != nil {
			return nil, err
		}
		recv.mu.Lock()
		lat := append([]time.Duration(nil), recv.latencies...)
		slow := map[int]int{}
		for j, l := range recv.latencies {
			if l > 25*time.Millisecond {
				slow[int(time.Duration(recv.sentAt[j]-begin.UnixNano())/time.Second)]++
			}
		}
		recv.mu.Unlock()
		if len(lat) == 0 {
			return nil, fmt.Errorf("no latency was measured at the receiver")
		}
		sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
		out[i] = latencyResult{n: n, offered: offered, sorted: lat, slowSecs: slow}
	}
	return out, nil
}

// settle waits until the queues (every shard) hold no task: every
// delivery is done and recorded.
func settle(ctx context.Context, rdb store.Client, queues []string) {
	for ctx.Err() == nil {
		n, err := hgqueue.Unfinished(ctx, rdb, queues)
		if err != nil || n == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

func msf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func mustListen() net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	return ln
}

type apiClient struct {
	base, token string
	http        *http.Client
}

func (c *apiClient) do(ctx context.Context, method, path string, in, out any) error {
	return c.doKey(ctx, method, path, "", in, out)
}

// doKey is do with an Idempotency-Key header (none when key is empty).
func (c *apiClient) doKey(ctx context.Context, method, path, key string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// cleanupQueue deletes the asynq queues qs (their tasks and their entries
// in asynq:queues), then whatever keys of them are left (the daily
// counters).
func cleanupQueue(rdb store.Client, qs ...string) {
	for _, q := range qs {
		_ = hgqueue.DeleteQueue(rdb, q)
		cleanup(rdb, "asynq:{"+q+"}")
	}
}

// cleanup deletes every key with prefix (best effort: the run's result
// stands either way).
func cleanup(rdb store.Client, prefix string) {
	_ = store.DeleteKeys(context.Background(), rdb, prefix)
}

// PrintTable prints the figures of the performance targets in one table:
// those of a delivery run and, when in is not nil, an incoming run.
func PrintTable(out io.Writer, r *Result, in *IncomingResult) {
	fmt.Fprintf(out, "\nfigure | this run | target\n--- | --- | ---\n")
	fmt.Fprintf(out, "bare asynq (baseline), tasks/s | %.0f | \n", r.BaselineTasksPerS)
	if r.BurstEvents > 0 {
		fmt.Fprintf(out, "delivered/s, %s single-event burst (%d clients) ÷ bare asynq processing with HTTP POST | %.2fx (%.0f/s) | >= 0.8x\n",
			thousands(r.BurstEvents), r.BurstPublishers, r.BurstRatio, r.BurstDeliveriesPerS)
	}
	fmt.Fprintf(out, "delivered/s, batches of the throughput run ÷ bare asynq | %.2fx (%.0f/s) | >= 0.8x\n", r.Ratio, r.DeliveriesPerS)
	if r.BurstEvents > 0 {
		fmt.Fprintf(out, "Redis commands per delivery: burst; batches; bare asynq task | %.1f; %.1f; %.1f | \n",
			r.BurstRedis.Commands, r.HookgateRedis.Commands, r.BaselineRedis.Commands)
	} else {
		fmt.Fprintf(out, "Redis commands per delivery: batches; bare asynq task | %.1f; %.1f | \n", r.HookgateRedis.Commands, r.BaselineRedis.Commands)
	}
	if r.DeadP99 > 0 && r.P99 > 0 {
		fmt.Fprintf(out, "healthy p99 beside a dead endpoint ÷ without, at %d events/s | %.1fx (%.1f / %.1f ms; AOF rewrites during each: %d / %d) | < 2x\n",
			r.LatencyRate, float64(r.DeadP99)/float64(r.P99), msf(r.DeadP99), msf(r.P99), r.DeadRewrites, r.LatencyRewrites)
	}
	if in != nil {
		fmt.Fprintf(out, "incoming proxy throughput ÷ direct | %.2fx | >= 0.5x\n", in.ThroughputRatio)
		fmt.Fprintf(out, "incoming proxy overhead p50 | %d µs | <= 300 µs\n", in.Overhead.Microseconds())
	}
	if r.PluginDeliveriesPerS > 0 {
		fmt.Fprintf(out, "latency a plugin format adds, p50 | %d µs | <= 250 µs\n", r.PluginP50Added.Microseconds())
	}
	aof := ""
	if r.AppendOnly != "" {
		aof = ", Redis appendonly " + r.AppendOnly + " (AOF rewrites included)"
	}
	fmt.Fprintf(out, "p99 at %d events/s%s | %.1f ms | <= 25 ms\n", r.LatencyRate, aof, msf(r.P99))
	fmt.Fprintf(out, "idle Redis commands/s; p50 at %d events/s | %.0f/s; %.2f ms | p50 <= 5 ms\n", LightRate, r.IdleCommandsPerS, msf(r.LightP50))
}

// thousands writes n as "20k" when it is a whole number of thousands.
func thousands(n int) string {
	if n >= 1000 && n%1000 == 0 {
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

// startApp builds and starts hookgate from cfg on a loopback port, logging
// warnings and worse nowhere; stop shuts it down (within 10 s).
func startApp(ctx context.Context, cfg config.Config) (a *app.App, stop func(), err error) {
	a, err = app.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return nil, nil, err
	}
	if err := a.Start(ctx, mustListen()); err != nil {
		return nil, nil, err
	}
	return a, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Shutdown(sctx)
	}, nil
}

// aofRewrites is how many AOF rewrites Redis has started since it started
// (INFO persistence's aof_rewrites; 0 when it does not say).
func aofRewrites(ctx context.Context, rdb store.Client) int64 {
	info, err := rdb.Info(ctx, "persistence").Result()
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(store.InfoField(info, "aof_rewrites"), 10, 64)
	return n
}
