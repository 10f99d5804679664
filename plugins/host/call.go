package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/plugins/sdk"
	pb "github.com/hookgate/hookgate/plugins/sdk/proto"
)

// Transformed is what a transform step returned.
type Transformed struct {
	// Data replaces the event's data; nil keeps it.
	Data       json.RawMessage
	Skip       bool
	SkipReason string
}

// Format builds the payload of ev in the named format, with the webhook's
// settings over the plugin's.
func (h *Host) Format(ctx context.Context, format string, ev *hookgate.Event, w *hookgate.Webhook) (*hookgate.Payload, error) {
	p := h.acquire(formatsTable, format)
	if p == nil {
		return nil, pluginError(KindUnavailable, format, "no loaded plugin provides format %q", format)
	}
	defer p.release()
	res, err := p.outgoing(ctx, pb.Kind_KIND_FORMAT, format, ev, w)
	if err != nil {
		return nil, err
	}
	pl, err := payloadOf(format, res)
	if err != nil {
		return nil, p.invalid("%s", err)
	}
	return pl, nil
}

// payloadOf turns a format plugin's answer into the payload a delivery
// sends, or says how the answer breaks the contract.
func payloadOf(format string, res *pb.OutgoingResponse) (*hookgate.Payload, error) {
	if res.Skip {
		return &hookgate.Payload{Skip: true, SkipReason: res.SkipReason}, nil
	}
	if len(res.Body) == 0 {
		return nil, fmt.Errorf("format %s returned an empty body", format)
	}
	ct := res.ContentType
	if ct == "" {
		ct = "application/json"
	}
	if !httpguts.ValidHeaderFieldValue(ct) {
		return nil, fmt.Errorf("format %s returned a content type that is not a valid header value", format)
	}
	if isJSON(ct) && !json.Valid(res.Body) {
		return nil, fmt.Errorf("format %s returned invalid JSON for content type %s", format, ct)
	}
	var seen map[string]bool
	for k, v := range res.Headers {
		if !validHeader(k, v) {
			return nil, fmt.Errorf("format %s returned a forbidden or malformed header %q", format, k)
		}
		if len(res.Headers) > 1 {
			// Two spellings of one name would send the header twice.
			if seen == nil {
				seen = make(map[string]bool, len(res.Headers))
			}
			ck := http.CanonicalHeaderKey(k)
			if seen[ck] {
				return nil, fmt.Errorf("format %s returned the header %s twice", format, ck)
			}
			seen[ck] = true
		}
	}
	return &hookgate.Payload{Body: res.Body, ContentType: ct, Headers: res.Headers}, nil
}

// Transform runs the named transform on ev.
func (h *Host) Transform(ctx context.Context, name string, ev *hookgate.Event, w *hookgate.Webhook) (Transformed, error) {
	p := h.acquire(transformsTable, name)
	if p == nil {
		return Transformed{}, pluginError(KindUnavailable, name, "no loaded plugin provides transform %q", name)
	}
	defer p.release()
	res, err := p.outgoing(ctx, pb.Kind_KIND_TRANSFORM, name, ev, w)
	if err != nil {
		return Transformed{}, err
	}
	if res.Skip {
		return Transformed{Skip: true, SkipReason: res.SkipReason}, nil
	}
	if len(res.Data) > 0 && !json.Valid(res.Data) {
		return Transformed{}, p.invalid("transform %s returned invalid JSON data", name)
	}
	if len(res.Data) == 0 {
		return Transformed{}, nil
	}
	return Transformed{Data: res.Data}, nil
}

// IncomingRequest is a third party's request to an incoming webhook, after
// its token and scopes were checked.
type IncomingRequest struct {
	Method string
	// Path below the incoming webhook URL, starting with "/".
	Path  string
	Query string
	// Headers are the SDK's own type: what the plugin receives.
	Headers  sdk.Headers
	Body     []byte
	Settings map[string]string
}

// APIRequest is one request to make on the CRM's API.
type APIRequest struct {
	Method  string
	Path    string
	Headers sdk.Headers
	Body    []byte
}

// IncomingResult is a plugin's translation of an incoming request: the API
// requests to make, in order, or a rejection with a reason for the caller.
type IncomingResult struct {
	Requests []APIRequest
	Reject   bool
	Reason   string
}

// Incoming asks the named plugin to translate an incoming request.
func (h *Host) Incoming(ctx context.Context, plugin string, req IncomingRequest) (*IncomingResult, error) {
	p := h.acquire(namesTable, plugin)
	if p == nil {
		return nil, pluginError(KindUnavailable, plugin, "no such plugin is configured")
	}
	defer p.release()
	resp, err := p.call(ctx, &pb.TransformRequest{Direction: &pb.TransformRequest_Incoming{Incoming: &pb.IncomingRequest{
		Method: req.Method, Path: req.Path, Query: req.Query, Headers: req.Headers, Body: req.Body,
		Settings: overlay(p.cfg.Settings, req.Settings),
	}}})
	if err != nil {
		return nil, err
	}
	in := resp.GetIncoming()
	if in == nil {
		return nil, p.invalid("answered an incoming request with an outgoing result")
	}
	out := &IncomingResult{Reject: in.Reject, Reason: in.RejectReason}
	if !out.Reject && len(in.Requests) == 0 {
		return nil, p.invalid("returned neither requests nor a rejection")
	}
	for _, r := range in.Requests {
		if !validMethod(r.Method) || !strings.HasPrefix(r.Path, "/") {
			return nil, p.invalid("returned an invalid request %q %q", r.Method, r.Path)
		}
		out.Requests = append(out.Requests, APIRequest{Method: r.Method, Path: r.Path, Headers: r.Headers, Body: r.Body})
	}
	return out, nil
}

func (p *proc) outgoing(ctx context.Context, kind pb.Kind, name string, ev *hookgate.Event, w *hookgate.Webhook) (*pb.OutgoingResponse, error) {
	req := &pb.OutgoingRequest{Kind: kind, Name: name, Event: &pb.Event{
		Id: ev.ID, Type: ev.Type, Tenant: ev.Tenant, Data: ev.Data,
		OccurredAt: ev.OccurredAt.UTC().Format(time.RFC3339Nano),
	}, Settings: p.cfg.Settings}
	if w != nil {
		req.WebhookId = w.ID
		req.Settings = overlay(p.cfg.Settings, w.Settings)
	}
	resp, err := p.call(ctx, &pb.TransformRequest{Direction: &pb.TransformRequest_Outgoing{Outgoing: req}})
	if err != nil {
		return nil, err
	}
	out := resp.GetOutgoing()
	if out == nil {
		return nil, p.invalid("answered an outgoing request with an incoming result")
	}
	return out, nil
}

// call makes one Transform call under the plugin's timeout and classifies
// its failure. A call that times out marks the process hung, and one that
// finds the process gone marks it exited: either way it is restarted. A
// call that was in flight when the process died is made once more, at
// once, on the restarted process.
func (p *proc) call(ctx context.Context, req *pb.TransformRequest) (*pb.TransformResponse, error) {
	if p.h.opts.tracer != nil {
		return p.tracedCall(ctx, req)
	}
	return p.callUntraced(ctx, req)
}

func (p *proc) callUntraced(ctx context.Context, req *pb.TransformRequest) (*pb.TransformResponse, error) {
	resp, err, died := p.callOnce(ctx, req)
	if died != 0 && p.waitRestart(ctx, died) {
		resp, err, _ = p.callOnce(ctx, req)
	}
	return resp, err
}

// callOnce makes one call. died is the generation of the process that died
// under it, 0 otherwise.
func (p *proc) callOnce(ctx context.Context, req *pb.TransformRequest) (_ *pb.TransformResponse, err error, died uint64) {
	p.mu.RLock()
	rpc, sock, gen, reason := p.rpc, p.sock, p.gen, p.reason
	p.mu.RUnlock()
	p.calls.WithLabelValues("transform").Inc()
	if rpc == nil {
		return nil, p.failed(KindUnavailable, "not running: %s", reason), 0
	}
	if !p.breaker.allow() {
		return nil, p.failed(KindUnavailable, "circuit breaker open after %d failures in a row; next try in %s",
			p.breaker.failures, p.breaker.retryIn().Round(time.Millisecond)), 0
	}
	cctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout.D())
	defer cancel()
	start := time.Now()
	var resp *pb.TransformResponse
	if sock != nil {
		resp, err = sock.call(cctx, req)
	}
	if sock == nil || err == errNoCallConn {
		resp, err = rpc.Transform(cctx, req)
	}
	p.latency.WithLabelValues("transform").Observe(time.Since(start).Seconds())
	if err == nil {
		if size := protoSize(resp); size > p.cfg.MaxOutput {
			return nil, p.failed(KindInvalid, "answer of %d bytes is over max_output (%d)", size, p.cfg.MaxOutput), 0
		}
		p.breaker.record("")
		return resp, nil, 0
	}
	if ctx.Err() != nil {
		// The caller gave up (shutdown, cancelled delivery): not the plugin's fault.
		p.breaker.record(KindUnavailable)
		return nil, pluginError(KindUnavailable, p.cfg.Name, "call cancelled: %v", ctx.Err()), 0
	}
	st := status.Convert(err)
	switch {
	case errors.Is(cctx.Err(), context.DeadlineExceeded) || st.Code() == codes.DeadlineExceeded:
		first := p.failGen(gen, KindTimeout, "did not answer within "+p.cfg.Timeout.D().String())
		return nil, p.failedOnce(KindTimeout, first, "did not answer within %s", p.cfg.Timeout.D()), 0
	case st.Code() == codes.Unavailable || st.Code() == codes.Canceled:
		// One death fails every call in flight: the breaker counts it once.
		first := p.failGen(gen, KindCrash, "the process exited or closed its connection")
		return nil, p.failedOnce(KindCrash, first, "the process exited or closed its connection"), gen
	case st.Code() == codes.ResourceExhausted:
		return nil, p.failed(KindInvalid, "answer is over max_output (%d bytes)", p.cfg.MaxOutput), 0
	case strings.HasPrefix(st.Message(), panicPrefix):
		p.h.log.Warn("plugin panicked", "plugin", p.cfg.Name, "panic", strings.TrimPrefix(st.Message(), panicPrefix))
		return nil, p.failed(KindPanic, "%s", st.Message()), 0
	default:
		return nil, p.failed(KindError, "%s", st.Message()), 0
	}
}

// panicPrefix starts the error a call answers when the plugin panicked in
// it (sdk.PanicPrefix; a plugin in another language may answer the same).
const panicPrefix = "panic: "

// failed counts a failure of kind and returns its error.
func (p *proc) failed(kind, format string, args ...any) error {
	return p.failedOnce(kind, true, format, args...)
}

// failedOnce is failed, telling the breaker only when breaker is true.
func (p *proc) failedOnce(kind string, breaker bool, format string, args ...any) error {
	p.errs.WithLabelValues(kind).Inc()
	if breaker {
		p.breaker.record(kind)
	} else {
		p.breaker.record(KindUnavailable)
	}
	return pluginError(kind, p.cfg.Name, format, args...)
}

// invalid counts and returns an error about an answer that breaks the contract.
func (p *proc) invalid(format string, args ...any) error {
	return p.failed(KindInvalid, format, args...)
}

// overlay returns base with top's keys over it, without copying when top
// is empty.
func overlay(base, top map[string]string) map[string]string {
	if len(top) == 0 {
		return base
	}
	if len(base) == 0 {
		return top
	}
	m := make(map[string]string, len(base)+len(top))
	for k, v := range base {
		m[k] = v
	}
	for k, v := range top {
		m[k] = v
	}
	return m
}

func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// validHeader refuses headers a plugin must not set: a name or value that
// net/http would refuse to send (the delivery would then fail at every
// attempt, as if the receiver could not be reached), hop-by-hop and framing
// headers, the content type (the answer's own field), and hookgate's
// signature and identity headers.
func validHeader(k, v string) bool {
	if !httpguts.ValidHeaderFieldName(k) || !httpguts.ValidHeaderFieldValue(v) {
		return false
	}
	switch ck := http.CanonicalHeaderKey(k); {
	case ck == "Content-Length", ck == "Host", ck == "Connection", ck == "Transfer-Encoding",
		ck == "Te", ck == "Trailer", ck == "Upgrade", ck == "Keep-Alive", ck == "Proxy-Connection",
		ck == "Content-Type", strings.HasPrefix(ck, "X-Webhook-"), strings.HasPrefix(ck, "Webhook-"):
		return false
	}
	return true
}

func validMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

func protoSize(m *pb.TransformResponse) int { return proto.Size(m) }
