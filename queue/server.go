package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/store"
)

// ServerConfig configures the delivery workers of one process.
type ServerConfig struct {
	// Queues are the deployment's shards (ShardNames); the process consumes
	// them all.
	Queues []string
	// Concurrency is the process's worker goroutines, shared by the shards.
	Concurrency     int
	PollInterval    time.Duration // asynq TaskCheckInterval: how often idle workers look for due tasks
	ForwardInterval time.Duration // how often retries and delayed tasks become due
	ShutdownTimeout time.Duration // how long in-flight deliveries may finish on shutdown
	// OneServer consumes every shard with one asynq server (Concurrency
	// workers taking from the shards in turn) instead of one server per
	// shard; the bench compares the two.
	OneServer bool
	// Dequeuers is how many asynq servers take from each group of queues
	// (0: DefaultDequeuers). The first polls every PollInterval; the others
	// poll an idle queue every ExtraPollInterval, and take tasks back to
	// back once they find some.
	Dequeuers int
	Logger    *slog.Logger
}

// DefaultDequeuers is how many asynq servers a process runs per group of
// queues. asynq's processor takes one task per round trip to Redis, in
// one loop per server: under load that loop, not the workers, bounds the
// deliveries per second. A second server on the same queues overlaps its
// round trips with the first's.
const DefaultDequeuers = 2

// ExtraPollInterval is how often the servers beyond the first of a group
// look at an idle queue: rarely, so that they add little to the idle cost
// (each look is a script run), and they keep up with a burst within this
// long (a server that finds a task takes the next at once).
const ExtraPollInterval = 50 * time.Millisecond

// extraForwardInterval is how often the servers beyond the first move due
// retries and delayed tasks to pending: the first does it every
// ForwardInterval; theirs is a backstop.
const extraForwardInterval = 5 * time.Second

// Server runs the delivery workers: asynq servers per shard (asynq's
// processor takes one task per round trip to Redis, in one loop per
// server, so servers per shard take from the shards side by side, and
// Dequeuers servers per shard overlap their round trips), each with its
// share of the process's concurrency.
type Server struct {
	srvs   []*asynq.Server
	mux    *asynq.ServeMux
	logger *slog.Logger
}

// NewServer returns the asynq servers for deliveries, handed to d, and for
// recover tasks, run by rc.
func NewServer(rdb store.Client, cfg ServerConfig, d Deliverer, rc hookgate.Recoverer) *Server {
	if cfg.ForwardInterval <= 0 {
		cfg.ForwardInterval = 250 * time.Millisecond
	}
	groups := make([]map[string]int, 0, len(cfg.Queues))
	if cfg.OneServer || len(cfg.Queues) == 1 {
		all := map[string]int{}
		for _, q := range cfg.Queues {
			all[q] = 1
		}
		groups = append(groups, all)
	} else {
		for _, q := range cfg.Queues {
			groups = append(groups, map[string]int{q: 1})
		}
	}
	mux := asynq.NewServeMux()
	mux.Handle(TypeDelivery, handler{d: d, logger: cfg.Logger})
	mux.Handle(TypeRecover, recoverHandler{rc: rc, logger: cfg.Logger})
	s := &Server{mux: mux, logger: cfg.Logger}
	per := cfg.Dequeuers
	if per <= 0 {
		per = DefaultDequeuers
	}
	// Never more servers than workers: a process with one worker per group
	// takes its tasks one at a time, in order.
	per = min(per, max(1, cfg.Concurrency/len(groups)))
	n := len(groups) * per
	for i := range n {
		queues, extra := groups[i/per], i%per > 0
		// The process's workers, split as evenly as they go.
		conc := cfg.Concurrency / n
		if i < cfg.Concurrency%n {
			conc++
		}
		poll, forward := cfg.PollInterval, cfg.ForwardInterval
		if extra {
			poll, forward = max(poll, ExtraPollInterval), max(forward, extraForwardInterval)
		}
		s.srvs = append(s.srvs, asynq.NewServerFromRedisClient(rdb, asynq.Config{
			Concurrency:              max(conc, 1),
			Queues:                   queues,
			TaskCheckInterval:        poll,
			DelayedTaskCheckInterval: forward,
			RetryDelayFunc:           retryDelay(d),
			IsFailure:                isFailure(d),
			ShutdownTimeout:          cfg.ShutdownTimeout,
			Logger:                   slogAdapter{cfg.Logger},
			LogLevel:                 asynq.WarnLevel,
			HealthCheckInterval:      15 * time.Second,
			HealthCheckFunc: func(err error) {
				if err != nil {
					cfg.Logger.Warn("queue: redis health check failed", "err", err)
				}
			},
		}))
	}
	return s
}

// Start starts the workers.
func (s *Server) Start() error {
	for i, srv := range s.srvs {
		if err := srv.Start(s.mux); err != nil {
			for _, started := range s.srvs[:i] {
				started.Shutdown()
			}
			return fmt.Errorf("start delivery workers: %w", err)
		}
	}
	return nil
}

// Shutdown stops fetching tasks and waits for in-flight deliveries (up to
// the shutdown timeout; unfinished ones are re-queued by asynq), on every
// shard at once.
func (s *Server) Shutdown() {
	var wg sync.WaitGroup
	for _, srv := range s.srvs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv.Shutdown()
		}()
	}
	wg.Wait()
}

// RegisterQueueDepth exposes the pending, active, scheduled and retry sizes
// of the deployment's queues, summed over its shards, as
// hookgate_queue_depth{state}.
func RegisterQueueDepth(reg prometheus.Registerer, rdb store.Client, queues []string) {
	reg.MustRegister(&queueDepth{rdb: rdb, queues: queues})
}

// queueDepth reads the four sizes of every queue in one pipeline per
// scrape (store.QueueDepths), without asynq's memory sampling.
type queueDepth struct {
	rdb    store.Client
	queues []string
}

var depthDesc = prometheus.NewDesc("hookgate_queue_depth", "Delivery tasks in the queue by state (all shards).", []string{"state"}, nil)

func (d *queueDepth) Describe(ch chan<- *prometheus.Desc) { ch <- depthDesc }

func (d *queueDepth) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := store.QueueDepths(ctx, d.rdb, d.queues)
	if err != nil {
		// No sample rather than a wrong zero while Redis does not answer
		// (and the rest of the scrape still served).
		return
	}
	for i, st := range store.QueueStates {
		ch <- prometheus.MustNewConstMetric(depthDesc, prometheus.GaugeValue, float64(n[i]), st)
	}
}

// DeleteQueue deletes queue: its tasks in every state, and its entry in
// asynq's list of queues (asynq:queues), which deleting its keys alone
// leaves behind. For a queue one may spare (bench runs clean up with it);
// a queue that does not exist is not an error.
func DeleteQueue(rdb store.Client, queue string) error {
	err := asynq.NewInspectorFromRedisClient(rdb).DeleteQueue(queue, true)
	if errors.Is(err, asynq.ErrQueueNotFound) {
		return nil
	}
	return err
}

// Unfinished is how many tasks the queues hold, in every shard and state
// but completed and archived (pending, active, scheduled, retry); a queue
// that does not exist yet holds none.
func Unfinished(ctx context.Context, rdb store.Client, queues []string) (int, error) {
	n, err := store.QueueDepths(ctx, rdb, queues)
	if err != nil {
		return 0, err
	}
	return int(n[0] + n[1] + n[2] + n[3]), nil
}

// QueueInfo reports the queue's sizes (for tests and the bench).
func QueueInfo(ctx context.Context, rdb store.Client, queue string) (*asynq.QueueInfo, error) {
	return asynq.NewInspectorFromRedisClient(rdb).GetQueueInfo(queue)
}

type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Info(args ...any)  { a.l.Info(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Error(args ...any) { a.l.Error(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Fatal(args ...any) {
	a.l.Error(fmt.Sprint(args...), "component", "asynq", "fatal", true)
}
