package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/store"
)

// ServerConfig configures the delivery workers of one process.
type ServerConfig struct {
	Queue           string
	Concurrency     int           // worker goroutines
	PollInterval    time.Duration // asynq TaskCheckInterval: how often idle workers look for due tasks
	ForwardInterval time.Duration // how often retries and delayed tasks become due
	ShutdownTimeout time.Duration // how long in-flight deliveries may finish on shutdown
	Logger          *slog.Logger
}

// Server runs the delivery workers.
type Server struct {
	srv    *asynq.Server
	mux    *asynq.ServeMux
	logger *slog.Logger
}

// NewServer returns the asynq server for deliveries, handed to d, and for
// recover tasks, run by rc.
func NewServer(rdb store.Client, cfg ServerConfig, d Deliverer, rc hookgate.Recoverer) *Server {
	if cfg.ForwardInterval <= 0 {
		cfg.ForwardInterval = 250 * time.Millisecond
	}
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:              cfg.Concurrency,
		Queues:                   map[string]int{cfg.Queue: 1},
		TaskCheckInterval:        cfg.PollInterval,
		DelayedTaskCheckInterval: cfg.ForwardInterval,
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
	})
	mux := asynq.NewServeMux()
	mux.Handle(TypeDelivery, handler{d: d, logger: cfg.Logger})
	mux.Handle(TypeRecover, recoverHandler{rc: rc, logger: cfg.Logger})
	return &Server{srv: srv, mux: mux, logger: cfg.Logger}
}

// Start starts the workers.
func (s *Server) Start() error {
	if err := s.srv.Start(s.mux); err != nil {
		return fmt.Errorf("start delivery workers: %w", err)
	}
	return nil
}

// Shutdown stops fetching tasks and waits for in-flight deliveries (up to
// the shutdown timeout; unfinished ones are re-queued by asynq).
func (s *Server) Shutdown() { s.srv.Shutdown() }

// RegisterQueueDepth exposes the queue's pending, scheduled and retry sizes.
func RegisterQueueDepth(reg prometheus.Registerer, rdb store.Client, queue string) {
	insp := asynq.NewInspectorFromRedisClient(rdb)
	for _, state := range []string{"pending", "active", "scheduled", "retry"} {
		state := state
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hookgate_queue_depth", Help: "Delivery tasks in the queue by state.",
			ConstLabels: prometheus.Labels{"state": state},
		}, func() float64 {
			info, err := insp.GetQueueInfo(queue)
			if err != nil {
				return 0
			}
			switch state {
			case "pending":
				return float64(info.Pending)
			case "active":
				return float64(info.Active)
			case "scheduled":
				return float64(info.Scheduled)
			}
			return float64(info.Retry)
		}))
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
