// Package plugintest runs a hookgate plugin the way hookgate does, for the
// plugin's own tests: it builds the binary with `go build`, starts it as a
// separate process over the real go-plugin handshake and gRPC contract,
// renders events through it, checks every answer against the contract, and
// compares the output with golden files. It needs nothing of the gateway.
//
//	func TestGolden(t *testing.T) {
//		p := plugintest.Run(t, ".", nil)
//		p.Goldens(t, "chat", "testdata", *update)
//	}
package plugintest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/hookgate/hookgate/plugins/sdk"
	pb "github.com/hookgate/hookgate/plugins/sdk/proto"
)

// CallTimeout bounds every call plugintest makes to the plugin.
var CallTimeout = 30 * time.Second

// Build compiles the Go main package pkg (a directory such as "." or an
// import path) into a temporary directory and returns the executable's path.
func Build(tb testing.TB, pkg string) string {
	tb.Helper()
	name := filepath.Base(pkg)
	if name == "." || name == string(filepath.Separator) {
		name = "plugin"
	}
	out := filepath.Join(tb.TempDir(), name)
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("go build %s: %v", pkg, err)
	}
	return out
}

// Plugin is a running plugin process.
type Plugin struct {
	rpc      pb.PluginClient
	info     Info
	settings map[string]string
}

// Info is what the plugin said about itself: sdk.Info and whether it
// handles incoming requests.
type Info struct {
	sdk.Info
	Incoming bool
}

// Run builds the Go main package pkg, starts it and calls Info; every call
// carries settings (the plugin's settings of config.yaml). The process is
// stopped when the test ends.
func Run(tb testing.TB, pkg string, settings map[string]string) *Plugin {
	tb.Helper()
	return Start(tb, settings, Build(tb, pkg))
}

// Start starts the executable path with args (a plugin in any language, for
// example "node", "plugin.js") the way hookgate does, and calls Info.
func Start(tb testing.TB, settings map[string]string, path string, args ...string) *Plugin {
	tb.Helper()
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake(),
		Plugins:          goplugin.PluginSet{pb.PluginName: clientPlugin{}},
		Cmd:              exec.Command(path, args...),
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		StartTimeout:     time.Minute,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name: "plugin", Level: hclog.Info, Output: testWriter{tb}, DisableTime: true,
		}),
	})
	tb.Cleanup(client.Kill)
	conn, err := client.Client()
	if err != nil {
		tb.Fatalf("start %s: %v", path, err)
	}
	raw, err := conn.Dispense(pb.PluginName)
	if err != nil {
		tb.Fatalf("start %s: %v", path, err)
	}
	p := &Plugin{rpc: raw.(pb.PluginClient), settings: settings}
	ctx, cancel := context.WithTimeout(context.Background(), CallTimeout)
	defer cancel()
	in, err := p.rpc.Info(ctx, &pb.InfoRequest{})
	if err != nil {
		tb.Fatalf("Info: %v", err)
	}
	if in.Name == "" {
		tb.Fatal("Info: the plugin has no name")
	}
	p.info = Info{Info: sdk.Info{
		Name: in.Name, Version: in.Version, Formats: in.Formats, Transforms: in.Transforms,
		EventTypes: in.EventTypes, NeedsConfirmation: in.NeedsConfirmation,
	}, Incoming: in.Incoming}
	return p
}

// Info is what the plugin answered to Info when it started.
func (p *Plugin) Info() Info { return p.info }

// Error is a call the plugin answered with an error (or a panic it
// recovered): Message is what hookgate shows in the delivery log.
type Error struct{ Message string }

func (e *Error) Error() string { return "plugin error: " + e.Message }

// Format builds the body of ev in the named format. An error is an *Error
// when the plugin answered with one, or a contract violation (a format the
// plugin does not declare, an empty body, invalid JSON under a JSON content
// type), which hookgate would count as a failed attempt.
func (p *Plugin) Format(format string, ev sdk.Event) (sdk.Result, error) {
	if !contains(p.info.Formats, format) {
		return sdk.Result{}, fmt.Errorf("the plugin does not declare the format %q (Info.Formats: %v)", format, p.info.Formats)
	}
	res, err := p.outgoing(pb.Kind_KIND_FORMAT, format, ev)
	if err != nil || res.Skip {
		return res, err
	}
	if len(res.Body) == 0 {
		return res, fmt.Errorf("format %s returned an empty body", format)
	}
	if isJSON(res.ContentType) && !json.Valid(res.Body) {
		return res, fmt.Errorf("format %s returned content type %s but its body is not valid JSON: %q", format, res.ContentType, res.Body)
	}
	return res, nil
}

// Transform runs the named transform on ev: Result.Data is the new data
// (nil keeps it), or Result.Skip drops the event.
func (p *Plugin) Transform(transform string, ev sdk.Event) (sdk.Result, error) {
	if !contains(p.info.Transforms, transform) {
		return sdk.Result{}, fmt.Errorf("the plugin does not declare the transform %q (Info.Transforms: %v)", transform, p.info.Transforms)
	}
	res, err := p.outgoing(pb.Kind_KIND_TRANSFORM, transform, ev)
	if err != nil || res.Skip || res.Data == nil {
		return res, err
	}
	if !json.Valid(res.Data) {
		return res, fmt.Errorf("transform %s returned data that is not valid JSON: %q", transform, res.Data)
	}
	return res, nil
}

func (p *Plugin) outgoing(kind pb.Kind, name string, ev sdk.Event) (sdk.Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), CallTimeout)
	defer cancel()
	at := ""
	if !ev.OccurredAt.IsZero() {
		at = ev.OccurredAt.UTC().Format(time.RFC3339Nano)
	}
	resp, err := p.rpc.Transform(ctx, &pb.TransformRequest{Direction: &pb.TransformRequest_Outgoing{Outgoing: &pb.OutgoingRequest{
		Kind: kind, Name: name, Settings: p.settings, WebhookId: "wh_plugintest",
		Event: &pb.Event{Id: ev.ID, Type: ev.Type, Tenant: ev.Tenant, OccurredAt: at, Data: ev.Data},
	}}})
	if err != nil {
		if st, ok := status.FromError(err); ok {
			return sdk.Result{}, &Error{Message: st.Message()}
		}
		return sdk.Result{}, err
	}
	out := resp.GetOutgoing()
	if out == nil {
		return sdk.Result{}, errors.New("the plugin answered an outgoing call without an outgoing answer")
	}
	res := sdk.Result{Body: out.Body, ContentType: out.ContentType, Headers: out.Headers, Skip: out.Skip, SkipReason: out.SkipReason}
	if out.Data != nil {
		res.Data = json.RawMessage(out.Data)
	}
	if res.ContentType == "" && len(res.Body) > 0 {
		res.ContentType = "application/json"
	}
	return res, nil
}

// ReadEvent reads an event from a JSON file shaped like hookgate's events
// ({"id", "type", "tenant", "occurred_at", "data"}).
func ReadEvent(tb testing.TB, file string) sdk.Event {
	tb.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	var ev sdk.Event
	if err := json.Unmarshal(b, &ev); err != nil {
		tb.Fatalf("%s: %v", file, err)
	}
	return ev
}

// EventFile is the name of the example event of an event type in a
// Goldens directory: "contact.created" → "contact_created.event.json".
func EventFile(eventType string) string { return fileBase(eventType) + ".event.json" }

// GoldenFile is the name of the golden body of an event type in a Goldens
// directory: "contact.created" → "contact_created.golden.json".
func GoldenFile(eventType string) string { return fileBase(eventType) + ".golden.json" }

func fileBase(eventType string) string { return strings.ReplaceAll(eventType, ".", "_") }

// Goldens checks the plugin's contract for one format: every event type the
// plugin declares (Info.EventTypes) must render. For each declared type it
// reads dir/EventFile(type), renders it in format and compares the body with
// dir/GoldenFile(type) (rewritten instead when update is true). It fails when
// the plugin declares no event types, when a declared type has no example
// event, or when one errors, is skipped or breaks the contract: hookgate
// accepts webhooks for exactly the declared types, so each must deliver.
func (p *Plugin) Goldens(t *testing.T, format, dir string, update bool) {
	t.Helper()
	if len(p.info.EventTypes) == 0 {
		t.Fatalf("%s declares no event types: set Info.EventTypes to the types format %s renders", p.info.Name, format)
	}
	for _, typ := range p.info.EventTypes {
		t.Run(typ, func(t *testing.T) {
			if err := p.checkType(format, dir, typ, update); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// checkType renders the example event of one declared type and compares it
// with its golden body.
func (p *Plugin) checkType(format, dir, typ string, update bool) error {
	file := filepath.Join(dir, EventFile(typ))
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("declared event type %s has no example event: write %s", typ, file)
	}
	var ev sdk.Event
	if err := json.Unmarshal(b, &ev); err != nil {
		return fmt.Errorf("%s: %v", file, err)
	}
	if ev.Type == "" {
		ev.Type = typ
	}
	if ev.Type != typ {
		return fmt.Errorf("%s holds a %s event, not %s", file, ev.Type, typ)
	}
	res, err := p.Format(format, ev)
	if err != nil {
		return fmt.Errorf("declared event type %s does not render: %v", typ, err)
	}
	if res.Skip {
		return fmt.Errorf("declared event type %s is skipped (%s): a declared type must render, or leave it out of Info.EventTypes", typ, res.SkipReason)
	}
	golden := filepath.Join(dir, GoldenFile(typ))
	body := res.Body
	if isJSON(res.ContentType) && update {
		var buf bytes.Buffer
		if err := json.Indent(&buf, res.Body, "", "  "); err != nil {
			return err
		}
		buf.WriteByte('\n')
		body = buf.Bytes()
	}
	if update {
		return os.WriteFile(golden, body, 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		return fmt.Errorf("%v (run the test with -update to create it)", err)
	}
	if isJSON(res.ContentType) {
		if equal, err := jsonEqual(want, res.Body); err != nil || !equal {
			return fmt.Errorf("%s: body differs from %s (%v)\nwant: %s\n got: %s", typ, golden, err, compact(want), compact(res.Body))
		}
		return nil
	}
	if !bytes.Equal(want, res.Body) {
		return fmt.Errorf("%s: body differs from %s\nwant: %s\n got: %s", typ, golden, want, res.Body)
	}
	return nil
}

func jsonEqual(a, b []byte) (bool, error) {
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		return false, fmt.Errorf("want is not JSON: %v", err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		return false, fmt.Errorf("got is not JSON: %v", err)
	}
	return reflect.DeepEqual(x, y), nil
}

// JSONEqual fails the test unless want and got are the same JSON value
// (same fields and values, in any order).
func JSONEqual(tb testing.TB, want, got []byte) {
	tb.Helper()
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		tb.Fatalf("want is not JSON: %v\n%s", err, want)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		tb.Fatalf("got is not JSON: %v\n%s", err, got)
	}
	if !reflect.DeepEqual(w, g) {
		tb.Fatalf("JSON differs\nwant: %s\n got: %s", compact(want), compact(got))
	}
}

// Golden compares got with the JSON in file; with update it rewrites the
// file (indented) instead.
func Golden(tb testing.TB, file string, got []byte, update bool) {
	tb.Helper()
	if update {
		var buf bytes.Buffer
		if err := json.Indent(&buf, got, "", "  "); err != nil {
			tb.Fatalf("output is not JSON: %v\n%s", err, got)
		}
		buf.WriteByte('\n')
		if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		tb.Fatalf("%v (run the test with -update to create it)", err)
	}
	JSONEqual(tb, want, got)
}

func compact(b []byte) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// clientPlugin is the host side of go-plugin's GRPCPlugin.
type clientPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
}

func (clientPlugin) GRPCServer(*goplugin.GRPCBroker, *grpc.Server) error {
	return errors.New("plugintest: the host side serves nothing")
}

func (clientPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return pb.NewPluginClient(conn), nil
}

// testWriter sends the plugin's log lines to the test log.
type testWriter struct{ tb testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.tb.Log(string(bytes.TrimRight(b, "\n")))
	return len(b), nil
}
