package transformation_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/transformation"
)

var event = &hookgate.Event{ID: "evt_1", Type: "contact.created", OccurredAt: time.Unix(1700000000, 0),
	Data: json.RawMessage(`{"id":"c_1","name":"Ada"}`)}

func webhook(src string) *hookgate.Webhook {
	return &hookgate.Webhook{ID: "wh_1", Transformation: src, TransformationVersion: 1}
}

func input() transformation.Input {
	return transformation.Input{Event: event, Body: []byte(`{"type":"contact.created","data":{"id":"c_1"}}`),
		ContentType: "application/json", Headers: map[string]string{"X-Format": "standard"}}
}

func run(t *testing.T, e *transformation.Engine, src string) (*transformation.Result, error) {
	t.Helper()
	return e.Run(context.Background(), webhook(src), input())
}

func TestTransformationRewritesBodyAndAddsHeaders(t *testing.T) {
	e := transformation.New(transformation.Limits{})
	res, err := run(t, e, `function handler(input) {
		return {body: {text: input.event.type + " " + input.event.data.name, kind: input.body.type},
			headers: {"X-Team": "sales"}};
	}`)
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Body) != `{"text":"contact.created Ada","kind":"contact.created"}` {
		t.Errorf("body = %s", res.Body)
	}
	if res.Headers["X-Team"] != "sales" || res.Headers["X-Format"] != "standard" {
		t.Errorf("headers = %v", res.Headers)
	}
}

func TestTransformationStringBodyIsSentAsIs(t *testing.T) {
	e := transformation.New(transformation.Limits{})
	res, err := run(t, e, `function handler(input) { return {body: "plain " + input.event.id}; }`)
	if err != nil || string(res.Body) != "plain evt_1" {
		t.Fatalf("res = %+v, err = %v", res, err)
	}
}

func TestTransformationNullSkipsTheEvent(t *testing.T) {
	e := transformation.New(transformation.Limits{})
	res, err := run(t, e, `function handler(input) { if (input.event.type === "contact.created") return null; return {body: input.body}; }`)
	if err != nil || !res.Skip {
		t.Fatalf("res = %+v, err = %v", res, err)
	}
}

func TestTransformationFailures(t *testing.T) {
	e := transformation.New(transformation.Limits{Timeout: 50 * time.Millisecond, MaxOutput: 4096})
	for _, tc := range []struct{ name, src, want string }{
		{"infinite loop", `function handler(input) { for (;;) {} }`, "ran longer than transformations.timeout"},
		{"throws", "function handler(input) {\n  throw new Error(\"no name\");\n}", "Error: no name (line 2:"},
		{"type error", `function handler(input) { return {body: input.nope.x}; }`, "TypeError"},
		{"output too large", `function handler(input) { return {body: "x".repeat(5000)}; }`, "larger than transformations.max_output"},
		{"headers too large", `function handler(input) { return {body: "", headers: {"X-A": "x".repeat(5000)}}; }`, "larger than transformations.max_output"},
		{"signature header", `function handler(input) { return {body: "", headers: {"Webhook-Signature": "v1,forged"}}; }`, `header "Webhook-Signature" is set by hookgate`},
		{"content type", `function handler(input) { return {body: "", headers: {"content-type": "text/plain"}}; }`, `header "content-type" is set by hookgate`},
		{"header not a string", `function handler(input) { return {body: "", headers: {"X-N": 1}}; }`, `header "X-N" must be a string`},
		{"no body", `function handler(input) { return {}; }`, "has no body"},
		{"not an object", `function handler(input) { return 42; }`, "must return an object"},
		{"recursion", `function f(n) { return f(n + 1); } function handler(input) { return f(0); }`, "call stack"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(t, e, tc.src)
			if err == nil || !errors.Is(err, hookgate.ErrTransformation) || !strings.Contains(hookgate.ErrorMessage(err), tc.want) {
				t.Fatalf("err = %v, want one wrapping ErrTransformation saying %q", err, tc.want)
			}
		})
	}
}

func TestTransformationMemoryBoundInterrupts(t *testing.T) {
	e := transformation.New(transformation.Limits{Timeout: 5 * time.Second, MaxMemory: 8 << 20})
	_, err := run(t, e, `function handler(input) { var a = []; for (;;) { a.push({n: a.length, s: "item " + a.length}); } }`)
	if err == nil || !strings.Contains(hookgate.ErrorMessage(err), "more memory than transformations.max_memory") {
		t.Fatalf("err = %v", err)
	}
}

func TestTransformationInputTooLargeIsRefused(t *testing.T) {
	e := transformation.New(transformation.Limits{MaxOutput: 10})
	_, err := run(t, e, `function handler(input) { return {body: input.body}; }`)
	if err == nil || !strings.Contains(hookgate.ErrorMessage(err), "rendered body") {
		t.Fatalf("err = %v", err)
	}
}

func TestCheckRefusesBadSources(t *testing.T) {
	e := transformation.New(transformation.Limits{MaxSource: 200})
	for _, tc := range []struct{ name, src, want string }{
		{"syntax", `function handler(input) { return {body: }`, "syntax error"},
		{"no handler", `function transform(input) { return null; }`, "must define function handler(input)"},
		{"too large", "function handler(input) { return null; }" + strings.Repeat(" ", 300), "at most 200 bytes"},
		{"empty", "  ", "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := e.Check(tc.src)
			if hookgate.ErrorCode(err) != hookgate.EINVALID || !strings.Contains(hookgate.ErrorMessage(err), tc.want) {
				t.Fatalf("err = %v, want EINVALID saying %q", err, tc.want)
			}
		})
	}
	if err := e.Check(`function handler(input) { return null; }`); err != nil {
		t.Fatal(err)
	}
}

func TestRunPicksUpANewVersion(t *testing.T) {
	e := transformation.New(transformation.Limits{})
	w := webhook(`function handler(input) { return {body: "v1"}; }`)
	if res, err := e.Run(context.Background(), w, input()); err != nil || string(res.Body) != "v1" {
		t.Fatalf("res = %+v, err = %v", res, err)
	}
	w.Transformation, w.TransformationVersion = `function handler(input) { return {body: "v2"}; }`, 2
	if res, err := e.Run(context.Background(), w, input()); err != nil || string(res.Body) != "v2" {
		t.Fatalf("res = %+v, err = %v", res, err)
	}
}

// One webhook's script changing a built-in must not change another's.
func TestScriptsDoNotShareRuntimes(t *testing.T) {
	e := transformation.New(transformation.Limits{})
	a := &hookgate.Webhook{ID: "wh_a", TransformationVersion: 1,
		Transformation: `function handler(input) { JSON.stringify = function() { return "\"hijacked\""; }; return {body: {a: 1}}; }`}
	b := &hookgate.Webhook{ID: "wh_b", TransformationVersion: 1, Transformation: `function handler(input) { return {body: {b: 1}}; }`}
	for range 3 {
		if _, err := e.Run(context.Background(), a, input()); err != nil {
			t.Fatal(err)
		}
		res, err := e.Run(context.Background(), b, input())
		if err != nil || string(res.Body) != `{"b":1}` {
			t.Fatalf("b: res = %s, err = %v", res.Body, err)
		}
	}
}

func TestNoIOIsAvailable(t *testing.T) {
	e := transformation.New(transformation.Limits{})
	for _, name := range []string{"require", "fetch", "setTimeout", "setInterval", "XMLHttpRequest", "console", "process"} {
		res, err := run(t, e, `function handler(input) { return {body: typeof `+name+`}; }`)
		if err != nil || string(res.Body) != "undefined" {
			t.Errorf("%s: res = %+v, err = %v", name, res, err)
		}
	}
}
