package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/app"
	"github.com/hookgate/hookgate/auth"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/store"
)

// RateLimitOptions configure the rate-limit accuracy run (`hookgate bench
// --suite ratelimit`).
type RateLimitOptions struct {
	Config  config.Config
	Workers int       // worker instances sharing each limit; default 2
	Limits  []float64 // the rate limits measured, deliveries/s
	Seconds float64   // each burst is limit × Seconds events, all published at once; default 10
	Out     io.Writer
}

// RateLimitResult is the outcome for one limit.
type RateLimitResult struct {
	Limit       float64
	Events      int
	Span        time.Duration // first to last arrival at the receiver
	Rate        float64       // (Events-1) / Span
	ErrorPct    float64       // (Rate - Limit) / Limit, in percent
	MaxInSecond int           // most arrivals in any 1 s window
	Requeued    float64       // deliveries sent back to wait, per delivery
}

// arrivals records when each request reached it.
type arrivals struct {
	mu  sync.Mutex
	at  []time.Time
	srv *http.Server
	url string
}

func newArrivals() *arrivals {
	ln := mustListen()
	r := &arrivals{url: "http://" + ln.Addr().String() + "/hook"}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go r.srv.Serve(ln)
	return r
}

func (r *arrivals) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	io.Copy(io.Discard, io.LimitReader(req.Body, 1<<20))
	now := time.Now()
	r.mu.Lock()
	r.at = append(r.at, now)
	r.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (r *arrivals) take() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.at
	r.at = nil
	return out
}

func (r *arrivals) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.at)
}

// RunRateLimit measures how closely the receiver's rate follows an
// endpoint's rate_limit: an API instance and Workers worker instances of
// hookgate (each its own app, with its own asynq server and Redis
// connections, as separate processes would have) share one Redis; for each
// limit, a burst of limit × Seconds events is published at once to a
// webhook whose endpoint has that limit, and the loopback receiver's
// arrival times give the rate.
func RunRateLimit(ctx context.Context, o RateLimitOptions) ([]RateLimitResult, error) {
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.Seconds <= 0 {
		o.Seconds = 10
	}
	fmt.Fprintf(o.Out, "hardware: %s\nredis: %s\n\n", Hardware(), o.Config.Redis.Addr)
	rdb := store.NewClient(o.Config.Redis)
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	cfg := o.Config
	cfg.Redis.Prefix = randomPrefix()
	cfg.Delivery.AllowHTTP = true
	cfg.Delivery.AllowedCIDRs = []string{"127.0.0.0/8"}
	cfg.Log.Level = "warn"
	cfg.Plugins = nil
	defer cleanup(rdb, cfg.Redis.Prefix+":")
	defer cleanupQueue(rdb, app.QueueNames(cfg)...)
	var workers []*app.App
	var api *app.App
	for i := range o.Workers + 1 {
		c := cfg
		c.Server.Role = "worker"
		if i == 0 {
			c.Server.Role = "api"
		}
		a, stop, err := startApp(ctx, c)
		if err != nil {
			return nil, err
		}
		defer stop()
		if i == 0 {
			api = a
		} else {
			workers = append(workers, a)
		}
	}
	tok, err := auth.Mint(cfg.Auth, hookgate.Principal{Subject: "bench", Tenant: "bench", Roles: []string{"admin", "publisher"}}, time.Hour)
	if err != nil {
		return nil, err
	}
	client := &apiClient{base: "http://" + api.Addr(), token: tok, http: &http.Client{Timeout: 30 * time.Second}}
	recv := newArrivals()
	defer recv.srv.Close()
	requeued := func() float64 {
		sum := 0.0
		for _, w := range workers {
			sum += counter(w, "hookgate_delivery_rate_limited_total")
		}
		return sum
	}

	fmt.Fprintf(o.Out, "%d worker instances (delivery.concurrency %d each) and one API instance on one Redis;\n"+
		"each burst is published at once (batches of 100) to one endpoint with the rate_limit shown.\n\n",
		o.Workers, cfg.Delivery.Concurrency)
	fmt.Fprintf(o.Out, "%10s %7s %9s %11s %8s %13s %17s\n", "rate_limit", "events", "span", "rate seen", "error", "most in 1 s", "re-queued/deliv.")
	var out []RateLimitResult
	for i, limit := range o.Limits {
		n := int(limit * o.Seconds)
		var w struct{ ID string }
		if err := client.do(ctx, "POST", "/v1/webhooks", map[string]any{"name": fmt.Sprint("rate ", limit),
			"events": []string{"contact.created"}, "endpoints": []map[string]any{{"url": recv.url, "rate_limit": limit}}}, &w); err != nil {
			return nil, fmt.Errorf("create webhook: %w", err)
		}
		q0 := requeued()
		for sent := 0; sent < n; sent += 100 {
			evs := make([]map[string]any, 0, 100)
			for j := sent; j < min(n, sent+100); j++ {
				evs = append(evs, map[string]any{"id": fmt.Sprintf("rl-%d-%d", i, j), "type": "contact.created",
					"data": map[string]any{"id": fmt.Sprint("c", j), "first_name": "Ada"}})
			}
			if err := client.do(ctx, "POST", "/v1/events/batch", map[string]any{"events": evs}, nil); err != nil {
				return nil, fmt.Errorf("publish: %w", err)
			}
		}
		deadline := time.Now().Add(time.Duration(o.Seconds*3)*time.Second + 30*time.Second)
		for recv.count() < n {
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("rate_limit %g: %d of %d deliveries arrived", limit, recv.count(), n)
			}
			time.Sleep(20 * time.Millisecond)
		}
		at := recv.take()
		sort.Slice(at, func(a, b int) bool { return at[a].Before(at[b]) })
		r := RateLimitResult{Limit: limit, Events: n, Span: at[n-1].Sub(at[0])}
		r.Rate = float64(n-1) / r.Span.Seconds()
		r.ErrorPct = (r.Rate - limit) / limit * 100
		for a := range at {
			b := a
			for b < n && at[b].Sub(at[a]) < time.Second {
				b++
			}
			r.MaxInSecond = max(r.MaxInSecond, b-a)
		}
		r.Requeued = (requeued() - q0) / float64(n)
		// The next burst's events must not reach this webhook too.
		if err := client.do(ctx, "DELETE", "/v1/webhooks/"+w.ID, nil, nil); err != nil {
			return nil, fmt.Errorf("delete webhook: %w", err)
		}
		out = append(out, r)
		fmt.Fprintf(o.Out, "%8g/s %7d %8.2fs %9.2f/s %+7.1f%% %13d %17.2f\n", limit, n, r.Span.Seconds(), r.Rate, r.ErrorPct, r.MaxInSecond, r.Requeued)
	}
	return out, nil
}

// counter adds up the samples of a counter family of a's metrics.
func counter(a *app.App, name string) float64 {
	mfs, err := a.Registry.Gather()
	if err != nil {
		return 0
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
