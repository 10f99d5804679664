package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/app"
	"github.com/hookgate/hookgate/auth"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/localredis"
	"github.com/hookgate/hookgate/internal/procstat"
	"github.com/hookgate/hookgate/internal/store"
)

// ScalingOptions configure the scaling run (`hookgate bench --suite
// scaling`).
type ScalingOptions struct {
	// Config is the configuration the bench read: redis.addr is the one
	// Redis of the first two runs (make bench's own, with AOF), auth mints
	// the publisher's token.
	Config config.Config
	// ConfigPath is the file the hookgate processes read (with --config);
	// "" runs them on defaults and HOOKGATE_* variables alone.
	ConfigPath string
	// Binary is the hookgate executable started as the API and worker
	// processes.
	Binary string
	// Events published in each of the three runs (about: rounded down to
	// whole batches per publisher).
	Events     int
	BatchSize  int
	Publishers int
	// ClusterWorkers is the number of worker processes of the cluster run;
	// default 2.
	ClusterWorkers int
	Out            io.Writer
}

// ScalingTypes are the event types of the scaling runs: one webhook (with
// one endpoint, all on the same loopback receiver) subscribes to each, and
// the publishers take them in turn, so every event makes one delivery and
// the deliveries spread over that many endpoints (and so over the queue
// shards, which are picked by a hash of the endpoint).
var ScalingTypes = []string{
	"contact.created", "contact.updated", "contact.deleted", "lead.created", "lead.updated", "lead.deleted",
	"lead.converted", "lead.stage_changed", "deal.created", "deal.updated", "deal.deleted", "deal.won",
	"deal.lost", "deal.stage_changed", "company.created", "company.updated", "company.deleted", "account.created",
	"account.updated", "account.deleted", "opportunity.created", "opportunity.updated", "opportunity.stage_changed", "list.created",
}

// ScalingRun is the outcome of one topology: figures per delivery are the
// deltas over the measured run (warm-up excluded) divided by its
// deliveries.
type ScalingRun struct {
	Name           string
	Workers        int
	Shards         int
	Deliveries     int
	DeliveriesPerS float64
	// Redis is the Redis work per delivery, summed over every master.
	Redis Cost
	// CPU per delivery, µs, of the worker processes together, of the API
	// process, and of the bench itself (publishers and receiver); zero
	// where the system does not say (/proc).
	WorkerUsec, APIUsec, BenchUsec float64
	// Masters is each master's share (cluster run only).
	Masters []MasterShare
	// IdlePerS is the Redis work per second of the same processes with
	// nothing to do (3 s before the run), and RedisNetOfIdle the work per
	// delivery less that rate over the run's length: a lower bound of the
	// work a delivery itself costs (a busy worker polls less than an idle
	// one), where Redis is the upper one.
	IdlePerS, RedisNetOfIdle Cost
	// AttemptsPerDelivery is the workers' delivery attempts (requests
	// sent) per delivery the receiver counted: above 1 when attempts failed
	// and were retried. BusyPerDelivery is how often a delivery was put
	// back to wait because its endpoint had delivery.endpoint_in_flight
	// requests in flight.
	AttemptsPerDelivery, BusyPerDelivery float64
	// Calls are the commands Redis ran per delivery by name (scripts'
	// inner commands under their own names), the most frequent first.
	Calls []CommandCalls
}

// CommandCalls is how often one Redis command ran per delivery.
type CommandCalls struct {
	Name        string
	PerDelivery float64
}

// MasterShare is one cluster master's part of a run's Redis work.
type MasterShare struct {
	Addr string
	// Redis is this master's work per delivery of the whole run.
	Redis Cost
	// CommandShare and CPUShare are its fractions of all masters' commands
	// and CPU.
	CommandShare, CPUShare float64
}

// ScalingResult holds the three runs.
type ScalingResult struct {
	Hardware          string
	One, Two, Cluster ScalingRun
}

// Ratio is two workers' deliveries/s over one worker's.
func (r *ScalingResult) Ratio() float64 {
	if r.One.DeliveriesPerS == 0 {
		return 0
	}
	return r.Two.DeliveriesPerS / r.One.DeliveriesPerS
}

// RunScaling measures how delivery scales with worker processes and Redis
// masters, with the real binary: one API process (server.role api) to
// publish through and worker processes (server.role worker) on one Redis
// (the configuration's redis.addr), first one worker, then two, the same
// number of events each time; then on a Redis Cluster of three masters
// started for the run (AOF on, as the one Redis of make bench) with
// redis.mode cluster and delivery.queue_shards 3. For each it reports
// deliveries/s, the Redis work per delivery (INFO commandstats and cpu,
// summed over the masters), the CPU of the hookgate processes and of the
// bench per delivery, and on the cluster each master's share. Every
// process it starts is stopped at the end.
func RunScaling(ctx context.Context, o ScalingOptions) (*ScalingResult, error) {
	if o.ClusterWorkers <= 0 {
		o.ClusterWorkers = 2
	}
	if o.Binary == "" {
		return nil, errors.New("scaling: no hookgate executable to start")
	}
	if o.Config.Redis.Mode != config.RedisStandalone {
		return nil, fmt.Errorf("scaling: runs on one Redis at redis.addr (make bench's own), not redis.mode %s; it starts its own cluster", o.Config.Redis.Mode)
	}
	res := &ScalingResult{Hardware: Hardware()}
	fmt.Fprintf(o.Out, "hardware: %s\nredis: %s\n", res.Hardware, o.Config.Redis.Addr)
	rdb := store.NewClient(o.Config.Redis)
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	if aof := store.AppendOnly(ctx, rdb); aof != "" {
		fmt.Fprintf(o.Out, "redis appendonly: %v\n", aof)
	}
	recv, err := newReceiver()
	if err != nil {
		return nil, err
	}
	defer recv.srv.Close()
	fmt.Fprintf(o.Out, "%d webhooks, one endpoint each on one loopback receiver, one event type each: one delivery per event;\n"+
		"%d events per run in batches of %d from %d publishers, through one API process (server.role api).\n\n",
		len(ScalingTypes), o.Events, o.BatchSize, o.Publishers)

	// One Redis: one worker, then a second one beside it.
	d, err := startDeployment(ctx, o, recv, []string{"HOOKGATE_REDIS_MODE=standalone", "HOOKGATE_REDIS_ADDR=" + o.Config.Redis.Addr}, 1)
	if err != nil {
		return nil, err
	}
	defer cleanup(rdb, d.prefix+":")
	defer cleanupQueue(rdb, d.queues...)
	defer d.stop()
	if err := d.addWorkers(ctx, 1); err != nil {
		return nil, err
	}
	if res.One, err = d.measure(ctx, "one Redis, 1 worker", rdb, []store.Client{rdb}); err != nil {
		return nil, err
	}
	if err := d.addWorkers(ctx, 1); err != nil {
		return nil, err
	}
	if res.Two, err = d.measure(ctx, "one Redis, 2 workers", rdb, []store.Client{rdb}); err != nil {
		return nil, err
	}
	d.stop()

	// A Redis Cluster of three masters, three queue shards.
	dir, err := os.MkdirTemp("", "hookgate-bench-cluster-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintf(o.Out, "starting a Redis Cluster of 3 masters (appendonly yes, appendfsync everysec) ...\n")
	cl, err := localredis.StartCluster(ctx, 3, localredis.ClusterOptions{Dir: dir, AppendOnly: true})
	if err != nil {
		return nil, fmt.Errorf("redis cluster: %w", err)
	}
	defer cl.Kill()
	crdb := store.NewClient(config.Redis{Mode: config.RedisCluster, Addrs: cl.Addrs})
	defer crdb.Close()
	var nodes []store.Client
	for _, a := range cl.Addrs {
		n := store.NewClient(config.Redis{Mode: config.RedisStandalone, Addr: a})
		defer n.Close()
		nodes = append(nodes, n)
	}
	cd, err := startDeployment(ctx, o, recv, []string{"HOOKGATE_REDIS_MODE=cluster", "HOOKGATE_REDIS_ADDRS=" + strings.Join(cl.Addrs, ","),
		"HOOKGATE_DELIVERY_QUEUE_SHARDS=3"}, 3)
	if err != nil {
		return nil, err
	}
	defer cd.stop()
	if err := cd.addWorkers(ctx, o.ClusterWorkers); err != nil {
		return nil, err
	}
	name := fmt.Sprintf("cluster of 3 masters, %d workers, 3 shards", o.ClusterWorkers)
	if res.Cluster, err = cd.measure(ctx, name, crdb, nodes); err != nil {
		return nil, err
	}
	for i := range res.Cluster.Masters {
		res.Cluster.Masters[i].Addr = cl.Addrs[i]
	}
	cd.stop()
	cl.Kill()
	PrintScaling(o.Out, res)
	return res, nil
}

// PrintScaling prints the runs as one table, then the cluster masters'
// shares and what one Redis core delivers at the measured cost.
func PrintScaling(out io.Writer, r *ScalingResult) {
	fmt.Fprintf(out, "\nrun | deliveries/s | ÷ 1 worker | Redis cmds/delivery | Redis CPU µs/delivery | workers CPU µs/delivery | api CPU µs/delivery | bench CPU µs/delivery\n")
	fmt.Fprintf(out, "--- | ---: | ---: | ---: | ---: | ---: | ---: | ---:\n")
	for _, run := range []ScalingRun{r.One, r.Two, r.Cluster} {
		ratio := 0.0
		if r.One.DeliveriesPerS > 0 {
			ratio = run.DeliveriesPerS / r.One.DeliveriesPerS
		}
		fmt.Fprintf(out, "%s | %.0f | %.2fx | %.1f | %.1f | %.1f | %.1f | %.1f\n", run.Name, run.DeliveriesPerS, ratio,
			run.Redis.Commands, run.Redis.Usec, run.WorkerUsec, run.APIUsec, run.BenchUsec)
	}
	fmt.Fprintf(out, "\ncluster master | share of commands | share of Redis CPU | cmds/delivery | Redis CPU µs/delivery\n--- | ---: | ---: | ---: | ---:\n")
	for i, m := range r.Cluster.Masters {
		fmt.Fprintf(out, "master %d (%s) | %.0f%% | %.0f%% | %.1f | %.1f\n", i+1, m.Addr, m.CommandShare*100, m.CPUShare*100, m.Redis.Commands, m.Redis.Usec)
	}
	fmt.Fprintf(out, "\nRedis commands per delivery, the most frequent (scripts' inner commands under their own names):\n")
	for _, run := range []ScalingRun{r.One, r.Two, r.Cluster} {
		var top []string
		for _, c := range run.Calls[:min(len(run.Calls), 8)] {
			top = append(top, fmt.Sprintf("%s %.2f", c.Name, c.PerDelivery))
		}
		fmt.Fprintf(out, "  %s: %s\n", run.Name, strings.Join(top, ", "))
	}
	fmt.Fprintf(out, "\nidle (3 s before each run, nothing to do) and Redis per delivery less that idle rate over the run (a lower bound):\n")
	for _, run := range []ScalingRun{r.One, r.Two, r.Cluster} {
		fmt.Fprintf(out, "  %s: idle %.0f commands/s, %.0f µs CPU/s; net of idle %.1f commands, %.1f µs CPU per delivery\n",
			run.Name, run.IdlePerS.Commands, run.IdlePerS.Usec, run.RedisNetOfIdle.Commands, run.RedisNetOfIdle.Usec)
	}
	fmt.Fprintf(out, "\nattempts per delivery (above 1: retried failures) and endpoint-busy re-schedules per delivery:\n")
	for _, run := range []ScalingRun{r.One, r.Two, r.Cluster} {
		fmt.Fprintf(out, "  %s: %.3f attempts, %.3f busy\n", run.Name, run.AttemptsPerDelivery, run.BusyPerDelivery)
	}
	fmt.Fprintf(out, "\ntwo workers ÷ one: %.2fx on one Redis\n", r.Ratio())
	fmt.Fprintf(out, "at the measured cost, one core (Redis is single-threaded; the workers' CPU shared out) would carry:\n")
	for _, run := range []ScalingRun{r.One, r.Two} {
		if run.Redis.Usec > 0 && run.WorkerUsec > 0 {
			fmt.Fprintf(out, "  %s: Redis %.0f deliveries/s (%.1f µs each); worker processes %.0f deliveries/s per core\n",
				run.Name, 1e6/run.Redis.Usec, run.Redis.Usec, 1e6/run.WorkerUsec)
		}
	}
	var busiest MasterShare
	for _, m := range r.Cluster.Masters {
		if m.Redis.Usec > busiest.Redis.Usec {
			busiest = m
		}
	}
	if busiest.Redis.Usec > 0 {
		fmt.Fprintf(out, "  %s: the busiest master spends %.1f µs per delivery of the whole: the cluster saturates near %.0f deliveries/s, one core per master\n",
			r.Cluster.Name, busiest.Redis.Usec, 1e6/busiest.Redis.Usec)
	}
}

// deployment is one API process and its worker processes on one Redis
// (or cluster), under a prefix of its own.
type deployment struct {
	o       ScalingOptions
	env     []string // HOOKGATE_* of every process of the deployment
	prefix  string
	shards  int
	queues  []string
	recv    *receiver
	api     *hgProc
	workers []*hgProc
	client  *apiClient
}

// startDeployment starts the API process with redisEnv (and shards queue
// shards) and creates the webhooks, one per ScalingTypes type.
func startDeployment(ctx context.Context, o ScalingOptions, recv *receiver, redisEnv []string, shards int) (*deployment, error) {
	prefix := randomPrefix()
	d := &deployment{o: o, prefix: prefix, shards: shards, recv: recv}
	qcfg := o.Config
	qcfg.Redis.Prefix, qcfg.Delivery.QueueShards = prefix, shards
	d.queues = app.QueueNames(qcfg)
	d.env = append(redisEnv, "HOOKGATE_REDIS_PREFIX="+prefix,
		"HOOKGATE_DELIVERY_ALLOW_HTTP=true", "HOOKGATE_DELIVERY_ALLOWED_CIDRS=127.0.0.0/8",
		"HOOKGATE_DELIVERY_QUEUE_SHARDS="+strconv.Itoa(shards), "HOOKGATE_LOG_LEVEL=warn")
	api, err := startHG(ctx, o, d.env, "api")
	if err != nil {
		return nil, err
	}
	d.api = api
	tok, err := auth.Mint(o.Config.Auth, hookgate.Principal{Subject: "bench", Tenant: "bench", Roles: []string{"admin", "publisher"}}, time.Hour)
	if err != nil {
		d.stop()
		return nil, err
	}
	d.client = &apiClient{base: api.base, token: tok,
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 128}}}
	for i, typ := range ScalingTypes {
		if err := d.client.do(ctx, "POST", "/v1/webhooks", map[string]any{"name": fmt.Sprint("scaling ", i),
			"endpoints": []map[string]any{{"url": recv.url}}, "events": []string{typ}}, nil); err != nil {
			d.stop()
			return nil, fmt.Errorf("create webhook: %w", err)
		}
	}
	return d, nil
}

// addWorkers starts n more worker processes.
func (d *deployment) addWorkers(ctx context.Context, n int) error {
	for range n {
		w, err := startHG(ctx, d.o, d.env, "worker")
		if err != nil {
			return err
		}
		d.workers = append(d.workers, w)
	}
	return nil
}

// stop stops every process of the deployment (SIGTERM, then SIGKILL after
// 15 s); a second call does nothing.
func (d *deployment) stop() {
	var wg sync.WaitGroup
	for _, p := range append([]*hgProc{d.api}, d.workers...) {
		if p != nil {
			wg.Go(p.stop)
		}
	}
	wg.Wait()
}

// measure warms the deployment up with a tenth of the events (at least
// 100, at most 1,000), then publishes o.Events and waits until every one
// is delivered and the queues are empty; the Redis work is read on each of
// nodes (every master), the CPU of each process from the system.
func (d *deployment) measure(ctx context.Context, name string, rdb store.Client, nodes []store.Client) (ScalingRun, error) {
	o := d.o
	r := &runner{o: Options{BatchSize: o.BatchSize, Publishers: o.Publishers}, rdb: rdb, queues: d.queues, api: d.client}
	warm := min(max(o.Events/10, 100), 1000)
	if _, err := r.throughput(ctx, d.recv, ScalingTypes, warm); err != nil {
		return ScalingRun{}, fmt.Errorf("%s: warm-up: %w", name, err)
	}
	// The idle cost: what the processes ask of Redis with nothing to do
	// (polling, heartbeats), for 3 s.
	sumCost := func() Cost {
		var c Cost
		for _, n := range nodes {
			x := redisCost(ctx, n)
			c.Commands, c.Usec = c.Commands+x.Commands, c.Usec+x.Usec
		}
		return c
	}
	i0, it0 := sumCost(), time.Now()
	time.Sleep(3 * time.Second)
	idle, idleFor := sumCost().minus(i0), time.Since(it0).Seconds()
	idleRate := Cost{Commands: idle.Commands / idleFor, Usec: idle.Usec / idleFor}

	u0 := make([]store.ServerUsage, len(nodes))
	for i, n := range nodes {
		u0[i], _ = store.CommandStats(ctx, n) // zero when Redis does not say
	}
	start := time.Now()
	m0 := d.workersMetrics(ctx)
	w0, a0, b0 := d.workersCPU(), d.api.cpu(), selfCPU()
	tp, err := r.throughput(ctx, d.recv, ScalingTypes, o.Events)
	if err != nil {
		return ScalingRun{}, fmt.Errorf("%s: %w", name, err)
	}
	run := ScalingRun{Name: name, Workers: len(d.workers), Shards: d.shards, Deliveries: tp.n, DeliveriesPerS: tp.delivered,
		WorkerUsec: usecPer(d.workersCPU()-w0, tp.n), APIUsec: usecPer(d.api.cpu()-a0, tp.n), BenchUsec: usecPer(selfCPU()-b0, tp.n)}
	m1 := d.workersMetrics(ctx)
	run.AttemptsPerDelivery = (m1[metricAttempts] - m0[metricAttempts]) / float64(tp.n)
	run.BusyPerDelivery = (m1[metricBusy] - m0[metricBusy]) / float64(tp.n)
	var total Cost
	calls := map[string]float64{}
	deltas := make([]Cost, len(nodes))
	for i, n := range nodes {
		u1, _ := store.CommandStats(ctx, n)
		du := u1.Sub(u0[i])
		deltas[i] = Cost{Commands: du.Commands, Usec: float64(du.CPU.Microseconds())}
		total.Commands += deltas[i].Commands
		total.Usec += deltas[i].Usec
		for k, v := range du.Calls {
			calls[k] += v
		}
	}
	run.Redis = total.per(tp.n)
	took := time.Since(start).Seconds()
	run.IdlePerS = idleRate
	run.RedisNetOfIdle = Cost{Commands: max(total.Commands-idleRate.Commands*took, 0), Usec: max(total.Usec-idleRate.Usec*took, 0)}.per(tp.n)
	for k, v := range calls {
		run.Calls = append(run.Calls, CommandCalls{Name: k, PerDelivery: v / float64(tp.n)})
	}
	sort.Slice(run.Calls, func(a, b int) bool { return run.Calls[a].PerDelivery > run.Calls[b].PerDelivery })
	if len(nodes) > 1 {
		for _, dc := range deltas {
			m := MasterShare{Redis: dc.per(tp.n)}
			if total.Commands > 0 {
				m.CommandShare = dc.Commands / total.Commands
			}
			if total.Usec > 0 {
				m.CPUShare = dc.Usec / total.Usec
			}
			run.Masters = append(run.Masters, m)
		}
	}
	fmt.Fprintf(o.Out, "%s: %d deliveries, %.0f/s; redis per delivery: %s\n", name, tp.n, tp.delivered, run.Redis)
	return run, nil
}

const (
	metricAttempts = "hookgate_delivery_attempts_total"
	metricBusy     = "hookgate_delivery_endpoint_busy_total"
)

// workersMetrics adds up the attempts and busy counters of the workers'
// /metrics (every label set).
func (d *deployment) workersMetrics(ctx context.Context) map[string]float64 {
	sum := map[string]float64{}
	for _, w := range d.workers {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, w.base+"/metrics", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, line := range strings.Split(string(b), "\n") {
			for _, name := range []string{metricAttempts, metricBusy} {
				if rest, ok := strings.CutPrefix(line, name); ok && (strings.HasPrefix(rest, "{") || strings.HasPrefix(rest, " ")) {
					f := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
					if len(f) > 0 {
						v, _ := strconv.ParseFloat(f[0], 64)
						sum[name] += v
					}
				}
			}
		}
	}
	return sum
}

func (d *deployment) workersCPU() time.Duration {
	var sum time.Duration
	for _, w := range d.workers {
		sum += w.cpu()
	}
	return sum
}

func usecPer(d time.Duration, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(d.Microseconds()) / float64(n)
}

// hgProc is a `hookgate serve` child process.
type hgProc struct {
	cmd  *exec.Cmd
	base string
	role string
	logs *tailBuffer
	done chan struct{} // closed when the process has exited
	once sync.Once
}

// startHG starts the hookgate executable as a process of role on a free
// loopback port, with the configuration file of o and env over it, and
// waits until /readyz answers 200.
func startHG(ctx context.Context, o ScalingOptions, env []string, role string) (*hgProc, error) {
	ln := mustListen()
	addr := ln.Addr().String()
	ln.Close()
	p := &hgProc{base: "http://" + addr, role: role, logs: &tailBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(o.Binary, "serve", "--config", o.ConfigPath)
	p.cmd.Env = append(append(os.Environ(), env...),
		"HOOKGATE_SERVER_ROLE="+role, "HOOKGATE_SERVER_LISTEN="+addr, "HOOKGATE_SERVER_PUBLIC_URL="+p.base)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", o.Binary, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("hookgate %s process exited at start:\n%s", role, p.logs.String())
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("hookgate %s process not ready within 30s:\n%s", role, p.logs.String())
		}
	}
}

// stop sends SIGTERM and waits for the process to exit, SIGKILL after 15 s.
func (p *hgProc) stop() {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
}

// cpu is the process's CPU time so far (user + system, every thread);
// zero where there is none.
func (p *hgProc) cpu() time.Duration { return procstat.CPU(p.cmd.Process.Pid) }

// selfCPU is this process's CPU time so far (the publishers and the
// receiver).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// tailBuffer keeps the last 16 KiB written to it (a process's log, shown
// when it fails to start).
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - 16<<10; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
