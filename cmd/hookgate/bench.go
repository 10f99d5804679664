package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"

	"github.com/hookgate/hookgate/bench"
)

func runBench(args []string, stdout, _ io.Writer) error {
	fs := newFlagSet("bench")
	cfgPath := fs.String("config", "config.yaml", "configuration file (Redis address and delivery settings)")
	events := fs.Int("events", 20000, "events for the throughput runs")
	rate := fs.Int("rate", 1000, "offered events/s for the latency run")
	duration := fs.Duration("duration", 10*time.Second, "length of the latency run")
	batch := fs.Int("batch", 100, "events per batch in the throughput run")
	publishers := fs.Int("publishers", 8, "concurrent publishers")
	suite := fs.String("suite", "delivery", "what to measure: delivery (hookgate vs bare asynq) or incoming (the /in/ proxy vs calling the upstream directly)")
	requests := fs.Int("requests", 5000, "incoming: sequential requests of each latency run")
	conns := fs.Int("connections", 32, "incoming: connections of the throughput runs")
	rounds := fs.Int("rounds", 3, "incoming: throughput rounds, each direct then proxied for --duration")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
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
	switch *suite {
	case "delivery":
	case "incoming":
		_, err = bench.RunIncoming(context.Background(), bench.IncomingOptions{Config: cfg, Duration: *duration,
			Requests: *requests, Concurrency: *conns, Rounds: max(*rounds, 1), Out: stdout})
		return err
	default:
		return usageError{fmt.Sprintf("unknown --suite %q (delivery, incoming)", *suite)}
	}
	_, err = bench.Run(context.Background(), bench.Options{Config: cfg, Events: *events, Rate: *rate, Duration: *duration,
		BatchSize: *batch, Publishers: *publishers, Out: stdout})
	return err
}
