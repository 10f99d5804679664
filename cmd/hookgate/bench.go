package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/hookgate/hookgate/internal/bench"
)

func runBench(args []string, stdout, _ io.Writer) error {
	fs := newFlagSet("bench")
	cfgPath := fs.String("config", "config.yaml", "configuration file (Redis address and delivery settings)")
	events := fs.Int("events", 20000, "events for the throughput runs (scaling: for each of its three runs)")
	rate := fs.Int("rate", 1000, "offered events/s for the latency run")
	duration := fs.Duration("duration", 10*time.Second, "length of the latency run")
	batch := fs.Int("batch", 100, "events per batch in the throughput run")
	publishers := fs.Int("publishers", 8, "concurrent publishers of the batches run (scaling: of each run)")
	burstEvents := fs.Int("burst-events", 20000, "events of the single-event burst run, each its own POST /v1/events (0: no burst run)")
	burstPublishers := fs.Int("burst-publishers", 32, "concurrent clients of the single-event burst run")
	suite := fs.String("suite", "delivery", "what to measure: delivery (hookgate vs bare asynq, and a table of its figures with their targets), incoming (the /in/ proxy vs calling the upstream directly), all (delivery then incoming, and one table of the figures with their targets), ratelimit (the rate a receiver sees vs endpoints[].rate_limit) or scaling (deliveries/s and Redis work per delivery with one and two worker processes on one Redis, then on a Redis Cluster of three masters it starts)")
	requests := fs.Int("requests", 5000, "incoming: sequential requests of each latency run")
	conns := fs.Int("connections", 32, "incoming: connections of the throughput runs")
	rounds := fs.Int("rounds", 3, "incoming: throughput rounds, each direct then proxied for --duration")
	limits := fs.String("limits", "5,10,50,100,200,1000", "ratelimit: the rate limits measured, deliveries/s, comma-separated")
	workers := fs.Int("workers", 2, "ratelimit: worker instances sharing the limit")
	seconds := fs.Float64("seconds", 10, "ratelimit: each burst is limit x seconds events")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	traceFile := fs.String("trace", "", "delivery: write an execution trace (go tool trace) of the isolation run (e) to this file")
	timelineFile := fs.String("timeline", "", "delivery: write the isolation run (e) every 100 ms (deliveries arrived and late, queue sizes, Redis commands and the most called) to this file, tab-separated")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	var traceOut, timelineOut io.Writer
	for _, f := range []struct {
		path string
		w    *io.Writer
	}{{*traceFile, &traceOut}, {*timelineFile, &timelineOut}} {
		if f.path == "" {
			continue
		}
		out, err := os.Create(f.path)
		if err != nil {
			return err
		}
		defer out.Close()
		*f.w = out
	}
	switch *suite {
	case "delivery":
	case "all":
		res, err := bench.Run(context.Background(), bench.Options{Config: cfg, Events: *events, Rate: *rate, Duration: *duration,
			BatchSize: *batch, Publishers: *publishers, BurstEvents: *burstEvents, BurstPublishers: *burstPublishers, Out: stdout, Trace: traceOut, Timeline: timelineOut})
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout)
		in, err := bench.RunIncoming(context.Background(), bench.IncomingOptions{Config: cfg, Duration: min(*duration, 5*time.Second),
			Requests: *requests, Concurrency: *conns, Rounds: max(*rounds, 1), Out: stdout})
		if err != nil {
			return err
		}
		bench.PrintTable(stdout, res, in)
		return nil
	case "incoming":
		_, err = bench.RunIncoming(context.Background(), bench.IncomingOptions{Config: cfg, Duration: *duration,
			Requests: *requests, Concurrency: *conns, Rounds: max(*rounds, 1), Out: stdout})
		return err
	case "scaling":
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		_, err = bench.RunScaling(context.Background(), bench.ScalingOptions{Config: cfg, ConfigPath: *cfgPath, Binary: exe,
			Events: *events, BatchSize: *batch, Publishers: *publishers, Out: stdout})
		return err
	case "ratelimit":
		var ls []float64
		for _, f := range strings.Split(*limits, ",") {
			l, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || l <= 0 {
				return usageError{fmt.Sprintf("--limits: %q is not a positive number", f)}
			}
			ls = append(ls, l)
		}
		_, err = bench.RunRateLimit(context.Background(), bench.RateLimitOptions{Config: cfg, Workers: *workers, Limits: ls,
			Seconds: *seconds, Out: stdout})
		return err
	default:
		return usageError{fmt.Sprintf("unknown --suite %q (delivery, incoming, all, ratelimit, scaling)", *suite)}
	}
	res, err := bench.Run(context.Background(), bench.Options{Config: cfg, Events: *events, Rate: *rate, Duration: *duration,
		BatchSize: *batch, Publishers: *publishers, BurstEvents: *burstEvents, BurstPublishers: *burstPublishers, Out: stdout, Trace: traceOut, Timeline: timelineOut})
	if err != nil {
		return err
	}
	bench.PrintTable(stdout, res, nil)
	return nil
}
