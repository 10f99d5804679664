package render_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/testenv"
	"github.com/hookgate/hookgate/plugins/host"
	"github.com/hookgate/hookgate/plugins/host/hosttest"
	"github.com/hookgate/hookgate/plugins/sdk/plugintest"
	"github.com/hookgate/hookgate/render"
)

func contactEvent() *hookgate.Event {
	return &hookgate.Event{ID: "evt_2KZ9Xq", Type: "contact.created", Tenant: "acme", OccurredAt: time.Unix(1730877830, 0),
		Data: json.RawMessage(`{"id":"392a0465","first_name":"Allen","last_name":"Ji","email":"allen@example.com","phone":"12345678"}`)}
}

func TestStandardWithoutPluginsIsTheInProcessEnvelope(t *testing.T) {
	p := render.New(nil)
	ev := contactEvent()
	for _, f := range []string{"", "standard"} {
		got, err := p.Render(context.Background(), ev, &hookgate.Webhook{Format: f})
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Body) != string(render.AppendStandard(nil, ev)) {
			t.Fatalf("format %q: %s", f, got.Body)
		}
	}
	if !p.HasFormat("standard") || p.HasFormat("cloudcx") || p.HasTransform("x") || p.NeedsConfirmation("standard") {
		t.Fatal("a pipeline without plugins has only standard")
	}
	_, err := p.Render(context.Background(), ev, &hookgate.Webhook{Format: "cloudcx"})
	if !errors.Is(err, render.ErrPlugin) {
		t.Fatalf("want ErrPlugin for a plugin format without plugins, got %v", err)
	}
}

// TestStandardFastPathAllocatesNoMoreThanFormatStandard compares both as
// the delivery worker holds them: behind hookgate.Renderer.
func TestStandardFastPathAllocatesNoMoreThanFormatStandard(t *testing.T) {
	d := allocsPerRender(render.Standard{})
	p := allocsPerRender(render.New(nil))
	if p > d {
		t.Fatalf("pipeline allocates %v per render, render.Standard %v", p, d)
	}
}

// allocsPerRender is not inlined, so that the compiler cannot see the
// concrete renderer and keep its result on the stack.
//
//go:noinline
func allocsPerRender(r hookgate.Renderer) float64 {
	ev, w := contactEvent(), &hookgate.Webhook{Format: "standard"}
	return testing.AllocsPerRun(200, func() { _, _ = r.Render(context.Background(), ev, w) })
}

// pluginPipeline builds the cloudcx and the faulty test plugin (for its
// transform) and loads both.
func pluginPipeline(tb testing.TB) *render.Pipeline {
	tb.Helper()
	cloudcx := hosttest.Build(tb, "github.com/hookgate/hookgate/plugins/cloudcx")
	uspacy := hosttest.Build(tb, "github.com/hookgate/hookgate/plugins/uspacy")
	faulty := hosttest.Build(tb, "github.com/hookgate/hookgate/plugins/host/testdata/faulty")
	h := hosttest.Start(tb, []config.Plugin{
		{Name: "cloudcx", Path: cloudcx}, {Name: "uspacy", Path: uspacy}, {Name: "faulty", Path: faulty},
	})
	return render.New(h)
}

func TestTransformsRunBeforeTheFormat(t *testing.T) {
	p := pluginPipeline(t)
	ev := contactEvent()
	// faulty-redact replaces the data with {"redacted":true}; standard then wraps it.
	got, err := p.Render(context.Background(), ev, &hookgate.Webhook{Format: "standard", Transforms: []string{"faulty-redact"}})
	if err != nil {
		t.Fatal(err)
	}
	want := *ev
	want.Data = json.RawMessage(`{"redacted":true}`)
	plugintest.JSONEqual(t, render.AppendStandard(nil, &want), got.Body)
	if string(ev.Data) == `{"redacted":true}` {
		t.Fatal("the caller's event was modified")
	}
	// Then a plugin format: cloudcx sees the redacted data (no id: null).
	got, err = p.Render(context.Background(), ev, &hookgate.Webhook{Format: "cloudcx", Transforms: []string{"faulty-redact"}})
	if err != nil {
		t.Fatal(err)
	}
	var msg struct{ Contacts []map[string]any }
	if err := json.Unmarshal(got.Body, &msg); err != nil || len(msg.Contacts) != 1 || msg.Contacts[0]["id"] != nil {
		t.Fatalf("cloudcx did not get the transformed data: %s", got.Body)
	}
	_, err = p.Render(context.Background(), ev, &hookgate.Webhook{Format: "standard", Transforms: []string{"nope"}})
	if !errors.Is(err, render.ErrPlugin) {
		t.Fatalf("unknown transform: want ErrPlugin, got %v", err)
	}
}

func TestFormatsListAndConfirmation(t *testing.T) {
	p := pluginPipeline(t)
	var names []string
	for _, f := range p.Formats() {
		names = append(names, f.Name)
	}
	sort.Strings(names)
	if len(names) != 4 || names[0] != "cloudcx" || names[3] != "uspacy" {
		t.Fatalf("formats %v", names)
	}
	if !p.NeedsConfirmation("uspacy") || p.NeedsConfirmation("cloudcx") {
		t.Fatal("only uspacy needs the confirmation handshake")
	}
	if !p.HasFormat("cloudcx") || !p.HasTransform("faulty-redact") || p.Unavailable("cloudcx") != "" {
		t.Fatal("loaded plugins not reported")
	}
}

// BenchmarkRenderStandard is the in-process baseline.
func BenchmarkRenderStandard(b *testing.B) {
	p := render.New(nil)
	ev, w := contactEvent(), &hookgate.Webhook{Format: "standard"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Render(context.Background(), ev, w); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRenderCloudCXPlugin renders through the real cloudcx plugin
// process: concurrent calls multiplexed over one gRPC connection.
func BenchmarkRenderCloudCXPlugin(b *testing.B) {
	p := benchPipeline(b)
	ev, w := contactEvent(), &hookgate.Webhook{Format: "cloudcx"}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Render(context.Background(), ev, w); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRenderCloudCXPlugin64InFlight keeps 64 calls in flight, as a busy
// delivery worker does: if calls were serialised on the connection, this
// would be no faster than the serial benchmark.
func BenchmarkRenderCloudCXPlugin64InFlight(b *testing.B) {
	p := benchPipeline(b)
	ev, w := contactEvent(), &hookgate.Webhook{Format: "cloudcx"}
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Render(context.Background(), ev, w); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRenderCloudCXPluginSerial is one call at a time, for the added
// latency of a plugin call (p50 reported as p50-ns).
func BenchmarkRenderCloudCXPluginSerial(b *testing.B) {
	p := benchPipeline(b)
	ev, w := contactEvent(), &hookgate.Webhook{Format: "cloudcx"}
	lat := make([]time.Duration, 0, 1<<16)
	for b.Loop() {
		start := time.Now()
		if _, err := p.Render(context.Background(), ev, w); err != nil {
			b.Fatal(err)
		}
		if len(lat) < cap(lat) {
			lat = append(lat, time.Since(start))
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	}
}

func benchPipeline(b *testing.B) *render.Pipeline {
	p, _ := benchPipelinePID(b)
	return p
}

// benchPipelinePID is benchPipeline and the pid of the plugin's process.
func benchPipelinePID(b *testing.B) (*render.Pipeline, int) {
	b.Helper()
	bin := hosttest.Build(b, "github.com/hookgate/hookgate/plugins/cloudcx")
	pc := config.Plugin{Name: "cloudcx", Path: bin}
	pc.Env = map[string]string{}
	if v := os.Getenv("BENCH_PLUGIN_GOMAXPROCS"); v != "" {
		pc.Env["GOMAXPROCS"] = v
	}
	if v := os.Getenv("BENCH_PLUGIN_TRANSPORT"); v != "" {
		pc.Env["HOOKGATE_PLUGIN_TRANSPORT"] = v // "grpc": no call socket
	}
	h := hosttest.Start(b, []config.Plugin{pc})
	st, _ := h.Plugin("cloudcx")
	return render.New(h), st.PID
}

// BenchmarkPluginAddedLatency is the latency a plugin format adds to a
// render, one call at a time with a pause between calls, as deliveries at
// a light rate make them (both processes idle when a call starts): the p50
// of the cloudcx render minus the p50 of the in-process standard one
// (added-p50-ns). It also reports the CPU time a call costs the host
// (host-cpu-ns, the whole test process) and the plugin's process
// (plugin-cpu-ns): figures a busy machine moves less than latencies; and
// the context switches of each process's threads per call (host-cs,
// plugin-cs): each voluntary one is a thread that slept and was woken.
// BENCH_PLUGIN_TRANSPORT=grpc makes the plugin offer no call socket.
func BenchmarkPluginAddedLatency(b *testing.B) {
	p, pid := benchPipelinePID(b)
	ev := contactEvent()
	plug, std := &hookgate.Webhook{Format: "cloudcx"}, &hookgate.Webhook{Format: "standard"}
	var lp, ls []time.Duration
	host0, plug0 := testenv.ProcessCPU(0), testenv.ProcessCPU(pid)
	hostCS0, plugCS0 := testenv.ContextSwitches(0), testenv.ContextSwitches(pid)
	n := 0
	for b.Loop() {
		for _, w := range []*hookgate.Webhook{plug, std} {
			start := time.Now()
			if _, err := p.Render(context.Background(), ev, w); err != nil {
				b.Fatal(err)
			}
			d := time.Since(start)
			if w == plug {
				lp = append(lp, d)
			} else {
				ls = append(ls, d)
			}
		}
		n++
		b.StopTimer()
		time.Sleep(2 * time.Millisecond)
		b.StartTimer()
	}
	p50 := func(l []time.Duration) time.Duration {
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		return l[len(l)/2]
	}
	if n > 0 {
		b.ReportMetric(float64((p50(lp) - p50(ls)).Nanoseconds()), "added-p50-ns")
		b.ReportMetric(float64((testenv.ProcessCPU(0)-host0).Nanoseconds())/float64(n), "host-cpu-ns")
		b.ReportMetric(float64((testenv.ProcessCPU(pid)-plug0).Nanoseconds())/float64(n), "plugin-cpu-ns")
		b.ReportMetric(float64(testenv.ContextSwitches(0)-hostCS0)/float64(n), "host-cs")
		b.ReportMetric(float64(testenv.ContextSwitches(pid)-plugCS0)/float64(n), "plugin-cs")
	}
}

// TestMain removes the plugins the tests built (testenv.Build).
func TestMain(m *testing.M) { testenv.Main(m) }

// The built-in plugins, built with the SDK, are called on their call
// socket; forced to gRPC (as a plugin without the socket is) they answer
// the same bytes, outgoing and incoming.
func TestBuiltinPluginsAnswerAlikeOnBothTransports(t *testing.T) {
	names := []string{"cloudcx", "uspacy", "ucrm"}
	var sockPlugins, grpcPlugins []config.Plugin
	for _, name := range names {
		bin := hosttest.Build(t, "github.com/hookgate/hookgate/plugins/"+name)
		sockPlugins = append(sockPlugins, config.Plugin{Name: name, Path: bin})
		grpcPlugins = append(grpcPlugins, config.Plugin{Name: name, Path: bin, Env: map[string]string{"HOOKGATE_PLUGIN_TRANSPORT": "grpc"}})
	}
	hosts := map[string]*host.Host{host.TransportCallSocket: hosttest.Start(t, sockPlugins), host.TransportGRPC: hosttest.Start(t, grpcPlugins)}
	ev := contactEvent()
	in := host.IncomingRequest{Method: "POST", Path: "/", Headers: map[string]string{"Content-Type": "application/json"},
		Body: []byte(`{"event":"contact.created","data":{"id":"1"}}`)}
	for _, name := range names {
		answers := map[string]string{}
		for tr, h := range hosts {
			if got := h.Transport(name); got != tr {
				t.Fatalf("%s: calls go by %q, want %q", name, got, tr)
			}
			pl, err := render.New(h).Render(context.Background(), ev, &hookgate.Webhook{ID: "wh_1", Format: name})
			if err != nil {
				t.Fatalf("%s over %s: %v", name, tr, err)
			}
			res, err := h.Incoming(context.Background(), name, in)
			answers[tr] = fmt.Sprintf("%s %s %+v %v", pl.Body, pl.Headers, res, err)
		}
		if answers[host.TransportCallSocket] != answers[host.TransportGRPC] {
			t.Fatalf("%s: the transports answer differently:\n%q", name, answers)
		}
	}
}
