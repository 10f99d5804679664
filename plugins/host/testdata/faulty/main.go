// Command faulty is a deliberately broken plugin for the host's supervisor
// tests. FAULT chooses how it breaks:
//
//	crash:N    exit on the Nth call of each process
//	hang:N     never answer the Nth call of each process
//	badjson    answer with invalid JSON for application/json
//	oversize   answer with 2 MiB
//	badheader  answer with a header value that carries a line break
//	badtype    answer with a content type that carries a line break
//	dupheader  answer with one header in two spellings
//	panic:T    panic (with a message naming the event) on events of type T
//	hangon:T   never answer events of type T
//	exiton:T   exit on events of type T
//	exitonce:T in the first process only (FAULT_STATE names a marker
//	           file): events whose data has "wait":true block (each writes
//	           FAULT_STATE.<event id> first) and an event of type T exits;
//	           later processes answer everything
//	waitfile   on events of type "wait", create the file named by the data's
//	           "started", then answer once the file named by "release" exists
//	waitctx    on events of type "wait", create FAULT_STATE.started, wait
//	           until the call's context ends, then write its error to
//	           FAULT_STATE.ended
//	garbage    print garbage on stdout before the handshake, on the first
//	           start only (FAULT_STATE names a marker file), and on every call
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hookgate/hookgate/plugins/sdk"
)

type faulty struct {
	first   bool // the first process of an exitonce run
	name    string
	version string
	mode    string
	arg     string
	n       int64
	calls   atomic.Int64
}

func (f *faulty) Info() sdk.Info {
	return sdk.Info{Name: f.name, Version: f.version, Formats: []string{f.name}, Transforms: []string{f.name + "-redact"}}
}

func (f *faulty) Outgoing(ctx context.Context, req sdk.Outgoing) (sdk.Result, error) {
	n := f.calls.Add(1)
	switch {
	case f.mode == "panic" && req.Event.Type == f.arg:
		var m map[string]string
		m["event"] = req.Event.ID // assignment to entry in nil map
	case f.mode == "hangon" && req.Event.Type == f.arg:
		select {}
	case f.mode == "exiton" && req.Event.Type == f.arg:
		os.Exit(4)
	case f.mode == "exitonce" && f.first && req.Event.Type == f.arg:
		os.Exit(5)
	case f.mode == "exitonce" && f.first && strings.Contains(string(req.Event.Data), `"wait":true`):
		_ = os.WriteFile(os.Getenv("FAULT_STATE")+"."+req.Event.ID, nil, 0o600)
		select {}
	case f.mode == "crash" && n == f.n:
		os.Exit(3)
	case f.mode == "hang" && n == f.n:
		select {}
	case f.mode == "waitctx" && req.Event.Type == "wait":
		state := os.Getenv("FAULT_STATE")
		_ = os.WriteFile(state+".started", nil, 0o600)
		<-ctx.Done()
		_ = os.WriteFile(state+".ended", []byte(ctx.Err().Error()), 0o600)
		return sdk.Result{}, ctx.Err()
	case f.mode == "traceparent":
		return sdk.Result{Body: []byte(`{"traceparent":"` + sdk.TraceParent(ctx) + `"}`)}, nil
	case f.mode == "badjson":
		return sdk.Result{Body: []byte("{not json"), ContentType: "application/json"}, nil
	case f.mode == "badheader":
		return sdk.Result{Body: []byte(`{}`), Headers: map[string]string{"X-Note": "a\r\nX-Webhook-Signature: forged"}}, nil
	case f.mode == "badtype":
		return sdk.Result{Body: []byte(`{}`), ContentType: "application/json\r\nX-Injected: 1"}, nil
	case f.mode == "dupheader":
		return sdk.Result{Body: []byte(`{}`), Headers: map[string]string{"X-Note": "a", "x-note": "b"}}, nil
	case f.mode == "oversize":
		return sdk.Result{Body: make([]byte, 2<<20), ContentType: "application/octet-stream"}, nil
	case f.mode == "garbage":
		fmt.Println("garbage \x00\x01 on stdout")
	case f.mode == "waitfile" && req.Event.Type == "wait":
		var files struct{ Started, Release string }
		_ = json.Unmarshal(req.Event.Data, &files)
		_ = os.WriteFile(files.Started, nil, 0o600)
		for {
			if _, err := os.Stat(files.Release); err == nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if req.Kind == sdk.KindTransform {
		return sdk.Result{Data: []byte(`{"redacted":true}`)}, nil
	}
	return sdk.Result{Body: []byte(`{"n":` + strconv.FormatInt(n, 10) + `,"version":"` + f.version + `","data":` + string(req.Event.Data) + `}`)}, nil
}

func main() {
	mode, arg, _ := strings.Cut(os.Getenv("FAULT"), ":")
	n, _ := strconv.ParseInt(arg, 10, 64)
	if mode == "garbage" {
		if state := os.Getenv("FAULT_STATE"); state != "" {
			if _, err := os.Stat(state); err != nil {
				_ = os.WriteFile(state, []byte("started"), 0o600)
				fmt.Println("this is not a handshake line")
			}
		}
	}
	first := false
	if mode == "exitonce" {
		if _, err := os.Stat(os.Getenv("FAULT_STATE")); err != nil {
			first = os.WriteFile(os.Getenv("FAULT_STATE"), []byte("started"), 0o600) == nil
		}
	}
	name, version := os.Getenv("FAULT_NAME"), os.Getenv("FAULT_VERSION")
	if name == "" {
		name = "faulty"
	}
	if version == "" {
		version = "0.0.1"
	}
	sdk.Serve(&faulty{name: name, version: version, mode: mode, arg: arg, n: n, first: first})
}
