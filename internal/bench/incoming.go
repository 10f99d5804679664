package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/auth"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/store"
)

// IncomingOptions are the knobs of the incoming proxy benchmark.
type IncomingOptions struct {
	Config      config.Config
	Duration    time.Duration // of each throughput run
	Requests    int           // sequential requests of each latency run
	Concurrency int           // connections of the throughput runs
	Rounds      int           // throughput rounds, each direct then proxied
	Out         io.Writer
}

// IncomingResult holds the figures of one run: the same loopback upstream
// called directly and through /in/{token}/..., alternately, in one process.
type IncomingResult struct {
	Hardware                     string
	DirectP50, ProxyP50          time.Duration // one request at a time
	DirectP99, ProxyP99          time.Duration
	Overhead                     time.Duration // ProxyP50 - DirectP50
	DirectPerS, ProxyPerS        float64       // Concurrency connections, as fast as answered
	ThroughputRatio              float64       // ProxyPerS / DirectPerS
	ConcurrentP50, ConcurrentP99 time.Duration // through the proxy, under the throughput load
	DirectCPU, ProxyCPU          time.Duration // CPU of this process per request
	RedisCPU                     time.Duration // redis-server CPU per proxied request
}

// upstreamBody is what the fake CRM answers: a task, as in seed 001.
const upstreamBody = `{"id":"816","parentId":250,"title":"Task","setterId":"1","createdBy":"1","createdDate":1732623300,"departmentId":"1","groupId":"2"}`

// RunIncoming measures the incoming proxy against calling the upstream
// directly, with the same client, the same upstream and the same Redis.
func RunIncoming(ctx context.Context, o IncomingOptions) (*IncomingResult, error) {
	res := &IncomingResult{Hardware: Hardware()}
	fmt.Fprintf(o.Out, "hardware: %s\nredis: %s\n\n", res.Hardware, o.Config.Redis.Addr)
	rdb := store.NewClient(o.Config.Redis)
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}

	upstream := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, upstreamBody)
	})}
	uln := mustListen()
	go upstream.Serve(uln)
	defer upstream.Close()
	upURL := "http://" + uln.Addr().String()

	cfg := o.Config
	cfg.Redis.Prefix = randomPrefix()
	cfg.Log.Level = "warn"
	cfg.Server.Role = "api"
	cfg.Plugins = nil
	cfg.Incoming.Scopes = map[string]config.Scope{"tasks": {Prefixes: []string{"/tasks/"}, Upstream: upURL}}
	cfg.Incoming.Rate, cfg.Incoming.Burst = 1e9, 1_000_000_000 // measure the proxy, not the limit
	defer cleanup(rdb, cfg.Redis.Prefix+":")
	a, stop, err := startApp(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer stop()
	base := "http://" + a.Addr()
	tok, err := auth.Mint(cfg.Auth, hookgate.Principal{Subject: "bench", Tenant: "bench", Roles: []string{"admin"}}, time.Hour)
	if err != nil {
		return nil, err
	}
	api := &apiClient{base: base, token: tok, http: &http.Client{Timeout: 30 * time.Second}}
	var w struct {
		URL string `json:"url"`
	}
	if err := api.do(ctx, "POST", "/v1/incoming-webhooks", map[string]any{"name": "bench", "scopes": []string{"tasks"}}, &w); err != nil {
		return nil, fmt.Errorf("create incoming webhook: %w", err)
	}
	token := w.URL[strings.LastIndex(w.URL, "/in/")+4:]
	direct := upURL + "/tasks/v1/tasks/816"
	proxied := base + "/in/" + token + "/tasks/v1/tasks/816"

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConns: o.Concurrency * 4, MaxIdleConnsPerHost: o.Concurrency * 2, DisableCompression: true}}
	call := func(url string) (time.Duration, error) {
		start := time.Now()
		resp, err := client.Get(url)
		if err != nil {
			return 0, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return 0, fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
		}
		return time.Since(start), err
	}
	// Warm up both paths (connections, the owner token cache).
	for range 200 {
		if _, err := call(direct); err != nil {
			return nil, err
		}
		if _, err := call(proxied); err != nil {
			return nil, err
		}
	}

	// Latency: one request at a time, direct and proxied interleaved so
	// both see the same machine.
	var dl, pl []time.Duration
	for range o.Requests {
		d, err := call(direct)
		if err != nil {
			return nil, err
		}
		p, err := call(proxied)
		if err != nil {
			return nil, err
		}
		dl, pl = append(dl, d), append(pl, p)
	}
	sort.Slice(dl, func(i, j int) bool { return dl[i] < dl[j] })
	sort.Slice(pl, func(i, j int) bool { return pl[i] < pl[j] })
	res.DirectP50, res.DirectP99 = pct(dl, 0.50), pct(dl, 0.99)
	res.ProxyP50, res.ProxyP99 = pct(pl, 0.50), pct(pl, 0.99)
	res.Overhead = res.ProxyP50 - res.DirectP50
	fmt.Fprintf(o.Out, "latency, 1 request at a time, %d each:\n  direct  p50 %4d µs  p99 %5d µs\n  proxied p50 %4d µs  p99 %5d µs\n  overhead p50 %d µs\n\n",
		o.Requests, res.DirectP50.Microseconds(), res.DirectP99.Microseconds(), res.ProxyP50.Microseconds(), res.ProxyP99.Microseconds(), res.Overhead.Microseconds())

	// Throughput: Concurrency connections for Duration, direct, proxied,
	// then direct again; the direct figure is the better of the two.
	type cpu struct{ self, redis time.Duration }
	cpuNow := func() cpu {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		c := cpu{self: time.Duration(ru.Utime.Nano() + ru.Stime.Nano())}
		c.redis, _ = store.CPUUsage(ctx, rdb) // zero when Redis does not say
		return c
	}
	var lastCPU struct {
		self, redis time.Duration
		n           int64
	}
	run := func(url string) (float64, []time.Duration, error) {
		var n atomic.Int64
		c0 := cpuNow()
		defer func() {
			c1 := cpuNow()
			lastCPU.self, lastCPU.redis, lastCPU.n = c1.self-c0.self, c1.redis-c0.redis, n.Load()
		}()
		lat := make([][]time.Duration, o.Concurrency)
		deadline := time.Now().Add(o.Duration)
		start := time.Now()
		var g errgroup.Group
		for i := range o.Concurrency {
			g.Go(func() error {
				for time.Now().Before(deadline) && ctx.Err() == nil {
					d, err := call(url)
					if err != nil {
						return err
					}
					n.Add(1)
					if len(lat[i]) < 100_000 {
						lat[i] = append(lat[i], d)
					}
				}
				return nil
			})
		}
		err := g.Wait()
		var all []time.Duration
		for _, l := range lat {
			all = append(all, l...)
		}
		sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
		return float64(n.Load()) / time.Since(start).Seconds(), all, err
	}
	// Rounds of direct then proxied, so that both see the same machine
	// (a shared one drifts); the ratio reported is the median round's.
	fmt.Fprintf(o.Out, "throughput, %d connections, %d rounds of %s each way:\n", o.Concurrency, o.Rounds, o.Duration)
	var ratios []float64
	var plat []time.Duration
	var dCPU, pCPU, rCPU time.Duration
	var dN, pN int64
	for i := range o.Rounds {
		d, _, err := run(direct)
		if err != nil {
			return nil, err
		}
		dCPU, dN = dCPU+lastCPU.self, dN+lastCPU.n
		p, lat, err := run(proxied)
		if err != nil {
			return nil, err
		}
		pCPU, rCPU, pN = pCPU+lastCPU.self, rCPU+lastCPU.redis, pN+lastCPU.n
		plat = append(plat, lat...)
		ratios = append(ratios, p/d)
		fmt.Fprintf(o.Out, "  round %d: direct %6.0f req/s, proxied %6.0f req/s, ratio %.2f\n", i+1, d, p, p/d)
		res.DirectPerS, res.ProxyPerS = res.DirectPerS+d/float64(o.Rounds), res.ProxyPerS+p/float64(o.Rounds)
	}
	sort.Float64s(ratios)
	res.ThroughputRatio = ratios[len(ratios)/2]
	sort.Slice(plat, func(i, j int) bool { return plat[i] < plat[j] })
	res.ConcurrentP50, res.ConcurrentP99 = pct(plat, 0.5), pct(plat, 0.99)
	res.DirectCPU, res.ProxyCPU, res.RedisCPU = dCPU/time.Duration(max(dN, 1)), pCPU/time.Duration(max(pN, 1)), rCPU/time.Duration(max(pN, 1))
	fmt.Fprintf(o.Out, "  mean: direct %.0f req/s, proxied %.0f req/s (p50 %d µs, p99 %d µs under load)\n",
		res.DirectPerS, res.ProxyPerS, res.ConcurrentP50.Microseconds(), res.ConcurrentP99.Microseconds())
	fmt.Fprintf(o.Out, "  CPU per request in this process (client + upstream [+ hookgate]): direct %d µs, proxied %d µs; redis-server %d µs per proxied request (all its clients)\n\n",
		res.DirectCPU.Microseconds(), res.ProxyCPU.Microseconds(), res.RedisCPU.Microseconds())
	fmt.Fprintf(o.Out, "summary: incoming proxy adds %d µs at p50 and serves %.2fx the direct throughput (median of %d rounds)\n",
		res.Overhead.Microseconds(), res.ThroughputRatio, o.Rounds)
	return res, nil
}
