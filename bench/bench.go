// Package bench measures hookgate against bare asynq on the same Redis and
// the same loopback receiver, in one run, so the figures compare like with
// like on whatever machine runs it:
//
//   - baseline: asynq enqueue -> process -> HTTP POST, nothing else;
//   - throughput: events published in batches through the real HTTP API of
//     a real hookgate (in this process), delivered to the receiver;
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
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/app"
	"github.com/hookgate/hookgate/auth"
	"github.com/hookgate/hookgate/config"
)

// Options are the bench's knobs.
type Options struct {
	Config     config.Config // base configuration (Redis address, delivery settings)
	Events     int           // events for the throughput runs
	Rate       int           // offered events/s for the latency run
	Duration   time.Duration // of the latency run
	BatchSize  int
	Publishers int // concurrent publishing connections
	Out        io.Writer
}

// Result holds the figures of one run.
type Result struct {
	Hardware          string
	BaselineTasksPerS float64
	IngestEventsPerS  float64
	DeliveriesPerS    float64
	Ratio             float64
	LatencyRate       int
	LatencyP50, P99   time.Duration
	LatencyMax        time.Duration
	LatencySent       int
	LatencyDelivered  int
	BatchIngestPerS   float64
	// Isolation: the healthy endpoint's latency at the same rate while a
	// dead endpoint (every request hangs to the timeout) shares the server.
	DeadP50, DeadP99, DeadMax time.Duration
	DeadBusy                  float64 // deliveries re-scheduled because the dead endpoint was at its bound
}

// receiver counts deliveries and records event->delivery latency when the
// event data carries "sent_ns".
type receiver struct {
	count     atomic.Int64
	mu        sync.Mutex
	latencies []time.Duration
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

var sentKey = []byte(`"sent_ns":`)

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	now := time.Now().UnixNano()
	if i := bytes.Index(body, sentKey); i >= 0 {
		rest := body[i+len(sentKey):]
		j := bytes.IndexAny(rest, ",}")
		if j > 0 {
			if ns, err := strconv.ParseInt(string(rest[:j]), 10, 64); err == nil {
				r.mu.Lock()
				r.latencies = append(r.latencies, time.Duration(now-ns))
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
	rdb := redis.NewClient(&redis.Options{Addr: o.Config.Redis.Addr, Password: o.Config.Redis.Password, DB: o.Config.Redis.DB})
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	if info, err := rdb.ConfigGet(ctx, "appendonly").Result(); err == nil {
		fmt.Fprintf(o.Out, "redis appendonly: %v\n", info["appendonly"])
	}

	base, err := baseline(ctx, rdb, o)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	res.BaselineTasksPerS = base
	fmt.Fprintf(o.Out, "(a) bare asynq enqueue->process->HTTP POST: %d tasks in %.0f tasks/s\n", o.Events, base)

	if err := hookgateRuns(ctx, rdb, o, res); err != nil {
		return nil, err
	}
	res.Ratio = res.DeliveriesPerS / res.BaselineTasksPerS
	fmt.Fprintf(o.Out, "\nsummary: hookgate delivers %.2fx bare asynq; p99 %.1f ms at %d events/s; with a dead endpoint beside it %.1f ms (%.2fx)\n",
		res.Ratio, float64(res.P99.Microseconds())/1000, o.Rate, msf(res.DeadP99), float64(res.DeadP99)/float64(res.P99))
	return res, nil
}

// baseline measures bare asynq with the same concurrency and poll interval.
func baseline(ctx context.Context, rdb *redis.Client, o Options) (float64, error) {
	recv, err := newReceiver()
	if err != nil {
		return 0, err
	}
	defer recv.srv.Close()
	q := randomPrefix()
	defer cleanup(rdb, "asynq:{"+q+"}")
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
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				if _, err := client.EnqueueContext(ctx, asynq.NewTask("post", body), asynq.Queue(q), asynq.MaxRetry(3)); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		return 0, fmt.Errorf("%d enqueues failed", failed.Load())
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := recv.waitFor(wctx, int64(per*o.Publishers)); err != nil {
		return 0, err
	}
	return float64(per*o.Publishers) / time.Since(start).Seconds(), nil
}

func hookgateRuns(ctx context.Context, rdb *redis.Client, o Options, res *Result) error {
	recv, err := newReceiver()
	if err != nil {
		return err
	}
	defer recv.srv.Close()
	cfg := o.Config
	cfg.Redis.Prefix = randomPrefix()
	cfg.Delivery.AllowHTTP = true
	cfg.Delivery.AllowedCIDRs = []string{"127.0.0.0/8"}
	cfg.Log.Level = "warn"
	cfg.Lifecycle.AutoPauseAfter = 0
	defer cleanup(rdb, cfg.Redis.Prefix+":")
	defer cleanup(rdb, "asynq:{"+app.QueueName(cfg)+"}")
	a, err := app.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	if err := a.Start(ctx, mustListen()); err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Shutdown(sctx)
	}()
	baseURL := "http://" + a.Addr()
	tok, err := auth.Mint(cfg.Auth, hookgate.Principal{Subject: "bench", Tenant: "bench", Roles: []string{"admin", "publisher"}}, time.Hour)
	if err != nil {
		return err
	}
	api := &apiClient{base: baseURL, token: tok, http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 128}}}
	if err := api.do(ctx, "POST", "/v1/webhooks", map[string]any{
		"name": "bench", "endpoints": []map[string]any{{"url": recv.url}}, "events": []string{"contact.created"},
	}, nil); err != nil {
		return fmt.Errorf("create webhook: %w", err)
	}

	// Throughput: batches from concurrent publishers, as fast as accepted.
	start := time.Now()
	per := o.Events / o.Publishers / o.BatchSize
	total := per * o.Publishers * o.BatchSize
	var wg sync.WaitGroup
	errs := make(chan error, o.Publishers)
	for p := 0; p < o.Publishers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			batch := make([]map[string]any, o.BatchSize)
			for i := range batch {
				batch[i] = map[string]any{"type": "contact.created", "data": map[string]any{"id": "c1", "first_name": "Ada"}}
			}
			for i := 0; i < per; i++ {
				if err := api.do(ctx, "POST", "/v1/events/batch", map[string]any{"events": batch}, nil); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	res.IngestEventsPerS = float64(total) / time.Since(start).Seconds()
	wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if err := recv.waitFor(wctx, int64(total)); err != nil {
		return err
	}
	res.DeliveriesPerS = float64(total) / time.Since(start).Seconds()
	fmt.Fprintf(o.Out, "(b) hookgate end to end, %d events in batches of %d from %d publishers:\n", total, o.BatchSize, o.Publishers)
	fmt.Fprintf(o.Out, "    accepted (durably, 202): %.0f events/s\n    delivered: %.0f deliveries/s = %.2fx baseline\n",
		res.IngestEventsPerS, res.DeliveriesPerS, res.DeliveriesPerS/res.BaselineTasksPerS)

	// Latency at a fixed offered rate, single events.
	lr, err := latencyRun(ctx, api, recv, o)
	if err != nil {
		return err
	}
	res.LatencySent, res.LatencyDelivered = lr.sent, lr.delivered
	res.LatencyP50, res.P99, res.LatencyMax = lr.p50, lr.p99, lr.max
	fmt.Fprintf(o.Out, "(c) latency at %.0f events/s offered (%d single events), event -> delivery:\n    p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		lr.offered, lr.sent, msf(res.LatencyP50), msf(res.P99), msf(res.LatencyMax))

	// Isolation: the same run with a dead endpoint subscribed to the same
	// events. Auto-pause is off in this process, so the bound on in-flight
	// requests per endpoint is what is measured.
	dead := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })}
	dln := mustListen()
	go dead.Serve(dln)
	defer dead.Close()
	if err := api.do(ctx, "POST", "/v1/webhooks", map[string]any{
		"name": "dead", "endpoints": []map[string]any{{"url": "http://" + dln.Addr().String() + "/"}}, "events": []string{"contact.created"},
	}, nil); err != nil {
		return fmt.Errorf("create dead webhook: %w", err)
	}
	busyBefore := busyCount(a)
	lr, err = latencyRun(ctx, api, recv, o)
	if err != nil {
		return err
	}
	res.DeadP50, res.DeadP99, res.DeadMax = lr.p50, lr.p99, lr.max
	res.DeadBusy = busyCount(a) - busyBefore
	fmt.Fprintf(o.Out, "(d) the same with one dead endpoint (hangs to the %s timeout; %d in flight at most):\n    healthy p50 %.2f ms, p99 %.2f ms, max %.2f ms; p99 %.2fx without; %.0f busy re-schedules\n",
		cfg.Delivery.Timeout.D(), cfg.Delivery.EndpointInFlight, msf(lr.p50), msf(lr.p99), msf(lr.max), float64(lr.p99)/float64(res.P99), res.DeadBusy)
	return nil
}

type latency struct {
	sent, delivered int
	offered         float64
	p50, p99, max   time.Duration
}

// latencyRun offers single events at o.Rate for o.Duration and measures
// event -> delivery at the healthy receiver.
func latencyRun(ctx context.Context, api *apiClient, recv *receiver, o Options) (*latency, error) {
	recv.mu.Lock()
	recv.latencies = recv.latencies[:0]
	recv.mu.Unlock()
	before := recv.count.Load()
	n := int(float64(o.Rate) * o.Duration.Seconds())
	interval := time.Second / time.Duration(o.Rate)
	sem := make(chan struct{}, 256)
	var sendErr atomic.Value
	var wg sync.WaitGroup
	tick := time.NewTicker(interval)
	begin := time.Now()
	for i := 0; i < n; i++ {
		<-tick.C
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			ev := map[string]any{"type": "contact.created", "data": map[string]any{"sent_ns": time.Now().UnixNano(), "id": "c1"}}
			if err := api.do(ctx, "POST", "/v1/events", ev, nil); err != nil {
				sendErr.Store(err)
			}
		}()
	}
	tick.Stop()
	wg.Wait()
	offered := float64(n) / time.Since(begin).Seconds()
	if err, _ := sendErr.Load().(error); err != nil {
		return nil, fmt.Errorf("latency run: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if err := recv.waitFor(wctx, before+int64(n)); err != nil {
		return nil, err
	}
	recv.mu.Lock()
	lat := append([]time.Duration(nil), recv.latencies...)
	recv.mu.Unlock()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) == 0 {
		return nil, fmt.Errorf("latency run: nothing measured")
	}
	return &latency{sent: n, delivered: len(lat), offered: offered, p50: pct(lat, 0.50), p99: pct(lat, 0.99), max: lat[len(lat)-1]}, nil
}

// busyCount reads hookgate_delivery_endpoint_busy_total from the app's registry.
func busyCount(a *app.App) float64 {
	mfs, err := a.Registry.Gather()
	if err != nil {
		return 0
	}
	for _, mf := range mfs {
		if mf.GetName() == "hookgate_delivery_endpoint_busy_total" && len(mf.GetMetric()) > 0 {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
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

// cleanup deletes every key with prefix.
func cleanup(rdb *redis.Client, prefix string) {
	ctx := context.Background()
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == 500 {
			rdb.Del(ctx, keys...)
			keys = keys[:0]
		}
	}
	if len(keys) > 0 {
		rdb.Del(ctx, keys...)
	}
}
