// Package transformation runs a webhook's inline transformation: the source
// of a small JavaScript function `function handler(input) { ... }` that gets
// the event and the body its format rendered and returns the body (and extra
// headers) to send, or null to skip the event.
//
// Scripts run in process on goja, an ECMAScript engine written in Go, with no
// I/O at all: there is no require, no fetch, no timers, no console; only the
// language and its built-ins (JSON, Math, Date, String, ...). Each run is
// bounded in time (the runtime is interrupted), in the size of what it
// reads and writes, in call depth, and in memory (the run is interrupted
// when the process heap grows by more than the bound while it runs).
//
// A source is compiled once per webhook version and kept; runtimes are pooled
// per compiled source, so one webhook's script never shares a runtime (and
// whatever it changed in the built-ins) with another's.
//
// The package must not send anything nor decide about retries: it answers
// with a Result or an error wrapping hookgate.ErrTransformation.
package transformation

import (
	"context"
	"errors"
	"fmt"
	"runtime/metrics"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"
	jsast "github.com/dop251/goja/ast"
	"github.com/dop251/goja/parser"

	"github.com/hookgate/hookgate"
)

// Limits bound every run. Zero fields take the defaults below.
type Limits struct {
	Timeout   time.Duration // wall time of one run; default 100ms
	MaxSource int           // bytes of a source; default 64 KiB
	MaxOutput int           // bytes of the body (and headers) a run returns; default 1 MiB
	MaxMemory int64         // bytes the heap may grow while a run goes on; default 64 MiB
}

// Defaults of Limits.
const (
	DefaultTimeout   = 100 * time.Millisecond
	DefaultMaxSource = 64 << 10
	DefaultMaxOutput = 1 << 20
	DefaultMaxMemory = 64 << 20
)

// maxCallDepth bounds recursion: a runaway recursion ends with a RangeError
// instead of growing the Go stack.
const maxCallDepth = 512

func (l Limits) withDefaults() Limits {
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	if l.MaxSource <= 0 {
		l.MaxSource = DefaultMaxSource
	}
	if l.MaxOutput <= 0 {
		l.MaxOutput = DefaultMaxOutput
	}
	if l.MaxMemory <= 0 {
		l.MaxMemory = DefaultMaxMemory
	}
	return l
}

// Input is what the handler receives.
type Input struct {
	Event       *hookgate.Event
	Body        []byte            // as the format rendered it
	ContentType string            // of Body
	Headers     map[string]string // the format's extra headers
}

// Result is what the handler returned.
type Result struct {
	Skip    bool              // the handler returned null
	Body    []byte            // to send
	Headers map[string]string // extra headers to send (the format's, merged with the handler's)
}

// Engine compiles and runs transformations. It is safe for concurrent use.
type Engine struct {
	limits Limits
	mu     sync.Mutex
	cache  map[string]*compiled // by webhook id
}

type compiled struct {
	version int
	source  string
	prog    *goja.Program
	pool    sync.Pool // of *goja.Runtime with the handler loaded
}

type loaded struct {
	rt      *goja.Runtime
	handler goja.Callable
}

// New returns an engine with the limits (defaults where zero).
func New(l Limits) *Engine {
	return &Engine{limits: l.withDefaults(), cache: map[string]*compiled{}}
}

// Limits returns the engine's limits, defaults filled in.
func (e *Engine) Limits() Limits { return e.limits }

// Check validates a source as webhook create/update do: its size, its
// syntax, and that it defines a function named handler. The error is an
// EINVALID hookgate.Error whose message says what is wrong (with the line).
func (e *Engine) Check(src string) error {
	_, err := e.compile(src)
	return err
}

func (e *Engine) compile(src string) (*goja.Program, error) {
	if strings.TrimSpace(src) == "" {
		return nil, hookgate.Errorf(hookgate.EINVALID, "transformation is empty: write function handler(input) { ... }")
	}
	if len(src) > e.limits.MaxSource {
		return nil, hookgate.Errorf(hookgate.EINVALID, "transformation must be at most %d bytes", e.limits.MaxSource)
	}
	ast, err := goja.Parse("transformation.js", src, parser.WithDisableSourceMaps)
	if err != nil {
		return nil, hookgate.Errorf(hookgate.EINVALID, "syntax error: %s", syntaxMessage(err))
	}
	found := false
	for _, st := range ast.Body {
		if fd, ok := st.(*jsast.FunctionDeclaration); ok && fd.Function != nil && fd.Function.Name != nil && fd.Function.Name.Name == "handler" {
			found = true
		}
	}
	if !found {
		return nil, hookgate.Errorf(hookgate.EINVALID, "transformation must define function handler(input) at its top level")
	}
	prog, err := goja.CompileAST(ast, true)
	if err != nil {
		return nil, hookgate.Errorf(hookgate.EINVALID, "syntax error: %s", syntaxMessage(err))
	}
	return prog, nil
}

func syntaxMessage(err error) string {
	var ce *goja.CompilerSyntaxError
	if errors.As(err, &ce) {
		return strings.TrimPrefix(ce.Message, "transformation.js: ")
	}
	return strings.TrimPrefix(err.Error(), "transformation.js: ")
}

// program returns the compiled program of webhook id at version, compiling
// it on first use or when the version changed.
func (e *Engine) program(id string, version int, src string) (*compiled, error) {
	e.mu.Lock()
	c := e.cache[id]
	e.mu.Unlock()
	if c != nil && c.version == version && c.source == src {
		return c, nil
	}
	prog, err := e.compile(src)
	if err != nil {
		return nil, err
	}
	c = &compiled{version: version, source: src, prog: prog}
	if id != "" {
		e.mu.Lock()
		e.cache[id] = c
		e.mu.Unlock()
	}
	return c, nil
}

// Forget drops the compiled program of a webhook (deleted).
func (e *Engine) Forget(id string) {
	e.mu.Lock()
	delete(e.cache, id)
	e.mu.Unlock()
}

// Run applies the transformation of webhook w (its Transformation at
// TransformationVersion) to in. Errors wrap hookgate.ErrTransformation and
// carry a message for the delivery log.
func (e *Engine) Run(ctx context.Context, w *hookgate.Webhook, in Input) (*Result, error) {
	c, err := e.program(w.ID, w.TransformationVersion, w.Transformation)
	if err != nil {
		return nil, failure("%s", hookgate.ErrorMessage(err))
	}
	return e.run(ctx, c, in)
}

// Preview compiles src without caching it and runs it on in.
func (e *Engine) Preview(ctx context.Context, src string, in Input) (*Result, error) {
	c, err := e.program("", 0, src)
	if err != nil {
		return nil, err // EINVALID: the source itself is wrong
	}
	return e.run(ctx, c, in)
}

func (e *Engine) load(c *compiled) (*loaded, error) {
	if l, ok := c.pool.Get().(*loaded); ok {
		return l, nil
	}
	rt := goja.New()
	rt.SetMaxCallStackSize(maxCallDepth)
	rt.SetFieldNameMapper(goja.TagFieldNameMapper("json", true))
	// The top level of a source runs once per runtime, under the same bounds.
	stop := e.watch(context.Background(), rt)
	_, err := rt.RunProgram(c.prog)
	stop()
	rt.ClearInterrupt()
	if err != nil {
		return nil, runError(err)
	}
	h, ok := goja.AssertFunction(rt.Get("handler"))
	if !ok {
		return nil, failure("handler is not a function")
	}
	return &loaded{rt: rt, handler: h}, nil
}

// watch interrupts rt when the time limit passes, ctx ends, or the heap
// grows by more than MaxMemory; the returned func stops watching.
func (e *Engine) watch(ctx context.Context, rt *goja.Runtime) (stop func()) {
	done, exited := make(chan struct{}), make(chan struct{})
	base := heapBytes()
	go func() {
		defer close(exited)
		timer := time.NewTimer(e.limits.Timeout)
		defer timer.Stop()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				rt.Interrupt(errCanceled)
				return
			case <-timer.C:
				rt.Interrupt(errTimeout)
				return
			case <-tick.C:
				// The heap may shrink (a GC) below base: compare, not subtract.
				if h := heapBytes(); h > base && h-base > uint64(e.limits.MaxMemory) {
					rt.Interrupt(errMemory)
					return
				}
			}
		}
	}()
	return func() {
		close(done)
		<-exited // no Interrupt can come after stop returns
	}
}

const heapMetric = "/memory/classes/heap/objects:bytes"

func heapBytes() uint64 {
	s := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

var (
	errTimeout  = errors.New("timeout")
	errMemory   = errors.New("memory")
	errCanceled = errors.New("canceled")
)

func (e *Engine) run(ctx context.Context, c *compiled, in Input) (*Result, error) {
	if len(in.Body) > e.limits.MaxOutput {
		return nil, failure("the rendered body (%d bytes) is larger than transformations.max_output (%d bytes)", len(in.Body), e.limits.MaxOutput)
	}
	l, err := e.load(c)
	if err != nil {
		return nil, err
	}
	rt := l.rt
	arg, err := e.input(rt, in)
	if err != nil {
		c.pool.Put(l)
		return nil, err
	}
	stop := e.watch(ctx, rt)
	v, err := l.handler(goja.Undefined(), arg)
	stop()
	rt.ClearInterrupt()
	if err != nil {
		// An interrupted runtime may have left its state anywhere: drop it.
		var ie *goja.InterruptedError
		if !errors.As(err, &ie) {
			c.pool.Put(l)
		}
		return nil, runError(err)
	}
	res, err := e.output(rt, v, in)
	c.pool.Put(l)
	return res, err
}

// input builds the handler's argument: {event: {id, type, occurred_at,
// data}, body, content_type, headers}. A JSON body is passed parsed; any
// other body as a string.
func (e *Engine) input(rt *goja.Runtime, in Input) (goja.Value, error) {
	obj := rt.NewObject()
	ev := rt.NewObject()
	if in.Event != nil {
		_ = ev.Set("id", in.Event.ID)
		_ = ev.Set("type", in.Event.Type)
		_ = ev.Set("occurred_at", in.Event.OccurredAt.UTC().Format(time.RFC3339Nano))
		data, err := parseJSON(rt, in.Event.Data)
		if err != nil {
			return nil, failure("event data: %v", err)
		}
		_ = ev.Set("data", data)
	}
	_ = obj.Set("event", ev)
	var body goja.Value
	if isJSON(in.ContentType) && len(in.Body) > 0 {
		b, err := parseJSON(rt, in.Body)
		if err != nil {
			return nil, failure("rendered body is not JSON: %v", err)
		}
		body = b
	} else {
		body = rt.ToValue(string(in.Body))
	}
	_ = obj.Set("body", body)
	ct := in.ContentType
	if ct == "" {
		ct = "application/json"
	}
	_ = obj.Set("content_type", ct)
	hs := rt.NewObject()
	for k, v := range in.Headers {
		_ = hs.Set(k, v)
	}
	_ = obj.Set("headers", hs)
	return obj, nil
}

func parseJSON(rt *goja.Runtime, b []byte) (goja.Value, error) {
	if len(b) == 0 {
		return goja.Null(), nil
	}
	parse, _ := goja.AssertFunction(rt.Get("JSON").ToObject(rt).Get("parse"))
	return parse(goja.Undefined(), rt.ToValue(string(b)))
}

func isJSON(ct string) bool {
	ct = strings.ToLower(ct)
	return ct == "" || strings.HasPrefix(ct, "application/json") || strings.Contains(ct, "+json")
}

// output reads the handler's answer: null/undefined skips; otherwise an
// object {body, headers?}. A body that is a string is sent as it is; any
// other value is sent as its JSON.
func (e *Engine) output(rt *goja.Runtime, v goja.Value, in Input) (*Result, error) {
	if v == nil || goja.IsNull(v) || goja.IsUndefined(v) {
		return &Result{Skip: true}, nil
	}
	obj, ok := v.(*goja.Object)
	if !ok || obj.ClassName() == "Array" {
		return nil, failure("handler must return an object {body, headers} or null, not %s", describe(v))
	}
	res := &Result{}
	bv := obj.Get("body")
	switch {
	case bv == nil || goja.IsUndefined(bv):
		return nil, failure("handler's result has no body: return {body: ...} or null to skip the event")
	default:
		if s, ok := bv.Export().(string); ok {
			res.Body = []byte(s)
		} else {
			b, err := stringify(rt, bv)
			if err != nil {
				return nil, failure("body cannot be written as JSON: %v", err)
			}
			res.Body = b
		}
	}
	size := len(res.Body)
	if size > e.limits.MaxOutput {
		return nil, failure("the body returned (%d bytes) is larger than transformations.max_output (%d bytes)", size, e.limits.MaxOutput)
	}
	res.Headers = make(map[string]string, len(in.Headers)+4)
	for k, v := range in.Headers {
		res.Headers[k] = v
	}
	hv := obj.Get("headers")
	if hv != nil && !goja.IsUndefined(hv) && !goja.IsNull(hv) {
		ho, ok := hv.(*goja.Object)
		if !ok {
			return nil, failure("headers must be an object of strings")
		}
		for _, k := range ho.Keys() {
			val := ho.Get(k)
			s, ok := val.Export().(string)
			if !ok {
				return nil, failure("header %q must be a string, not %s", k, describe(val))
			}
			if msg := checkHeader(k, s); msg != "" {
				return nil, failure("%s", msg)
			}
			size += len(k) + len(s)
			if size > e.limits.MaxOutput {
				return nil, failure("the body and headers returned are larger than transformations.max_output (%d bytes)", e.limits.MaxOutput)
			}
			res.Headers[k] = s
		}
	}
	return res, nil
}

func stringify(rt *goja.Runtime, v goja.Value) ([]byte, error) {
	f, _ := goja.AssertFunction(rt.Get("JSON").ToObject(rt).Get("stringify"))
	out, err := f(goja.Undefined(), v)
	if err != nil {
		return nil, err
	}
	if goja.IsUndefined(out) {
		return nil, errors.New("the value has no JSON form")
	}
	return []byte(out.String()), nil
}

func describe(v goja.Value) string {
	switch {
	case v == nil || goja.IsUndefined(v):
		return "undefined"
	case goja.IsNull(v):
		return "null"
	}
	if o, ok := v.(*goja.Object); ok && o.ClassName() == "Array" {
		return "an array"
	}
	switch v.Export().(type) {
	case string:
		return "a string"
	case int64, float64:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "a " + v.ExportType().String()
}

// ReservedHeader reports whether a header is hookgate's to set: the content
// headers, the hop-by-hop ones and every signature header.
func ReservedHeader(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "content-type", "content-length", "content-encoding", "transfer-encoding", "host", "connection",
		"te", "trailer", "upgrade", "keep-alive", "proxy-connection", "user-agent":
		return true
	}
	return strings.HasPrefix(n, "webhook-") || strings.HasPrefix(n, "x-webhook-") || strings.HasPrefix(n, "x-hookgate-")
}

func checkHeader(k, v string) string {
	if k == "" || strings.ContainsFunc(k, func(r rune) bool { return r <= ' ' || r >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", r) }) {
		return fmt.Sprintf("header name %q is not a valid HTTP header name", k)
	}
	if strings.ContainsAny(v, "\r\n\x00") {
		return fmt.Sprintf("header %q must not contain line breaks", k)
	}
	if ReservedHeader(k) {
		return fmt.Sprintf("header %q is set by hookgate (content and signature headers cannot be changed)", k)
	}
	return ""
}

// runError turns what goja returned into the delivery log's message.
func runError(err error) error {
	var ie *goja.InterruptedError
	if errors.As(err, &ie) {
		switch ie.Value() {
		case errTimeout:
			return failure("interrupted: the handler ran longer than transformations.timeout")
		case errMemory:
			return failure("interrupted: the handler used more memory than transformations.max_memory")
		case errCanceled:
			return failure("interrupted: the delivery was canceled")
		}
		return failure("interrupted")
	}
	var se *goja.StackOverflowError
	if errors.As(err, &se) {
		return failure("RangeError: maximum call stack size exceeded")
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		msg := "exception"
		if v := ex.Value(); v != nil {
			msg = v.String()
		}
		if pos := position(ex); pos != "" {
			msg += " (" + pos + ")"
		}
		return failure("%s", msg)
	}
	return failure("%s", err.Error())
}

// position is "line L:C" of the first frame of ex inside the source.
func position(ex *goja.Exception) string {
	for _, f := range ex.Stack() {
		if f.SrcName() == "transformation.js" {
			p := f.Position()
			return fmt.Sprintf("line %d:%d", p.Line, p.Column)
		}
	}
	return ""
}

func failure(format string, args ...any) error {
	return &hookgate.Error{Code: hookgate.EINVALID, Message: fmt.Sprintf(format, args...), Err: hookgate.ErrTransformation}
}
