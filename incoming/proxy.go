package incoming

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/ownertoken"
	"github.com/hookgate/hookgate/render"
)

// Lookuper finds the route of a token and takes one request from its rate
// limit, in one round trip (implemented by store.Store).
type Lookuper interface {
	Lookup(ctx context.Context, token string, rate float64, burst int) (*hookgate.IncomingRoute, bool, time.Duration, error)
}

// Transformer runs incoming transforms (implemented by render.Pipeline).
type Transformer interface {
	TransformIncoming(ctx context.Context, plugin string, req render.IncomingRequest) (*render.IncomingResult, error)
}

// Recorder keeps request log entries (implemented by LogWriter).
type Recorder interface {
	Record(tenant, id string, e hookgate.IncomingRequestLog)
}

// Limits bound the proxy.
type Limits struct {
	Rate            float64
	Burst           int
	Timeout         time.Duration
	MaxRequestBody  int
	MaxResponseBody int
	LogBodyBytes    int
}

// Proxy serves incoming webhook URLs.
type Proxy struct {
	Lookup      Lookuper
	Scopes      Scopes
	Signer      *ownertoken.Signer
	Transformer Transformer
	Log         Recorder
	Limits      Limits
	Client      *fasthttp.Client
	// Forward are the caller's headers passed to the upstream; nil:
	// DefaultForwardHeaders.
	Forward HeaderSet
}

var _ hookgate.IncomingProxy = (*Proxy)(nil)

// NewClient returns the HTTP client the proxy forwards with: fasthttp's,
// as the gateway's server is, with kept-alive connections, no redirects
// followed, the path sent byte for byte (never normalised) and no default
// User-Agent. Upstreams come from the operator's configuration, never from
// callers, so the SSRF guard of deliveries does not apply to them: they are
// usually private addresses.
//
// An answer is read whole only when it declares a Content-Length of at most
// BufferedAnswer bytes (one read, the common small JSON answer); a longer or
// chunked one is streamed to the caller as it arrives, so a proxied answer
// costs a bounded amount of memory whatever its size. fasthttp cannot
// stream an answer delimited by the connection's close (neither
// Content-Length nor chunked): such an answer is read whole and refused past
// BufferedAnswer bytes.
//
// At most maxConnsPerHost connections are open to one upstream; a request
// finding none free waits up to wait for one (then 502), rather than being
// refused at once.
func NewClient(maxConnsPerHost int, wait time.Duration) *fasthttp.Client {
	return &fasthttp.Client{
		NoDefaultUserAgentHeader: true, DisablePathNormalizing: true,
		StreamResponseBody: true, MaxResponseBodySize: BufferedAnswer,
		MaxConnsPerHost: maxConnsPerHost, MaxConnWaitTimeout: wait,
		MaxIdleConnDuration: 90 * time.Second, ReadBufferSize: 16 << 10,
		Dial: (&fasthttp.TCPDialer{}).Dial,
		// Only requests that never reached the upstream are retried.
		RetryIf: func(*fasthttp.Request) bool { return false },
	}
}

// BufferedAnswer is the largest upstream answer read whole before it is
// passed on (see NewClient); larger ones are streamed.
const BufferedAnswer = 64 << 10

// hopHeaders are never passed on in either direction (RFC 9110 7.6.1).
var hopHeaders = []string{
	"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// callerOnly are the caller's headers an incoming transform does not see:
// its credentials, and the forwarding headers it may have forged.
var callerOnly = []string{
	"Authorization", "Cookie", "Host", "Forwarded", "X-Forwarded-For", "X-Forwarded-Proto",
	"X-Forwarded-Host", "X-Forwarded-Ssl", "X-Url-Scheme", "X-Real-Ip", "X-Request-Id", "Content-Length",
	"X-Hookgate-Incoming-Webhook",
}

var hopSet = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range hopHeaders {
		m[k] = true
	}
	return m
}()

// stripHop deletes the hop-by-hop headers of h (keyed canonically, as
// http.Header.Add and Set key it), and those its Connection header names.
func stripHop(h http.Header) {
	for _, f := range h["Connection"] {
		for name := range strings.SplitSeq(f, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for k := range h {
		if hopSet[k] {
			delete(h, k)
		}
	}
}

// Serve answers one call. Errors are *hookgate.IncomingDeniedError,
// *hookgate.IncomingRateLimitedError or *hookgate.Error (413, 415, 502, 504,
// 503 when Redis is down).
//
// Every call that is refused does the same work, whatever the reason: one
// Redis round trip running the same commands (the token's route and its
// rate-limit bucket, which exists per token hash whether a webhook has the
// token or not), then the same path and scope checks, then the same answer.
// So neither the answer, nor its time, nor the rate limit tells a caller
// whether a token exists, is disabled, or opens other paths.
func (p *Proxy) Serve(ctx context.Context, req *hookgate.IncomingRequest) (*hookgate.IncomingResponse, error) {
	start := time.Now()
	route, allowed, wait, err := p.Lookup.Lookup(ctx, req.Token, p.Limits.Rate, p.Limits.Burst)
	if err != nil {
		return nil, err
	}
	entry := hookgate.IncomingRequestLog{
		At: start.UTC(), RequestID: req.RequestID, Method: req.Method, Path: req.Path, Query: req.Query,
		CallerIP: req.CallerIP, RequestBody: capString(req.Body, p.Limits.LogBodyBytes),
	}
	// A call with an unknown token belongs to no webhook: nothing is logged.
	record := func() {
		if route != nil {
			p.Log.Record(route.Tenant, route.ID, entry)
		}
	}
	fail := func(status int, err error) (*hookgate.IncomingResponse, error) {
		entry.Status, entry.LatencyMS = status, ms(time.Since(start))
		var d *hookgate.IncomingDeniedError
		if errors.As(err, &d) {
			entry.Denied = d.Reason
		} else if errors.As(err, new(*hookgate.IncomingRateLimitedError)) {
			entry.Denied = "rate_limited"
		} else {
			entry.Error = hookgate.ErrorMessage(err)
		}
		record()
		return nil, err
	}
	if !allowed {
		return fail(http.StatusTooManyRequests, &hookgate.IncomingRateLimitedError{RetryAfter: wait})
	}
	path, sc, reason := p.authorize(route, req)
	if reason != "" {
		return fail(http.StatusForbidden, &hookgate.IncomingDeniedError{Reason: reason})
	}
	if len(req.Body) > p.Limits.MaxRequestBody {
		return fail(http.StatusRequestEntityTooLarge, hookgate.Errorf(hookgate.ETOOLARGE, "request body is larger than %d bytes", p.Limits.MaxRequestBody))
	}
	if route.Transform != "" {
		resp, err := p.transform(ctx, route, req, path, &entry)
		if err != nil {
			return fail(statusOf(err), err)
		}
		entry.Status, entry.LatencyMS = resp.Status, ms(time.Since(start))
		record()
		return resp, nil
	}
	entry.Upstream = sc.Name
	resp, err := p.forward(start.Add(p.Limits.Timeout), route, sc, req, req.Method, path, req.Query, req.Header, req.Body)
	if err != nil {
		return fail(statusOf(err), err)
	}
	if resp.ContentLength > int64(p.Limits.MaxResponseBody) {
		// Refused on its Content-Length, before a byte of it is read.
		resp.Body.Close()
		return fail(http.StatusBadGateway, hookgate.Errorf(hookgate.EBADGATEWAY, "the upstream's answer is larger than %d bytes", p.Limits.MaxResponseBody))
	}
	entry.Status = resp.StatusCode
	h := resp.Header
	stripHop(h)
	h.Del("Set-Cookie")
	if w, ok := resp.Body.(*wholeBody); ok {
		// Read whole already, within the limit (its Content-Length): the
		// call is done, and logged, now.
		entry.LatencyMS = ms(time.Since(start))
		entry.ResponseBody = capString(w.b, p.Limits.LogBodyBytes)
		record()
		return &hookgate.IncomingResponse{Status: resp.StatusCode, Header: h, Bytes: w.b, ContentLength: int64(len(w.b))}, nil
	}
	body := &streamBody{rc: resp.Body, left: int64(p.Limits.MaxResponseBody), keep: p.Limits.LogBodyBytes,
		done: func(kept []byte, err error) {
			entry.LatencyMS = ms(time.Since(start))
			entry.ResponseBody = string(kept)
			if err != nil {
				entry.Error = "response body: " + hookgate.RedactTokens(err.Error())
			}
			record()
		}}
	return &hookgate.IncomingResponse{Status: resp.StatusCode, Header: h, Body: body, ContentLength: resp.ContentLength}, nil
}

// authorize decides whether req may go through route (nil for an unknown
// token): the clean path, and for a webhook without a transform the scope
// it falls in; else the reason to deny. It runs the same checks whatever
// the outcome, so that a refusal costs the same for an unknown token, a
// disabled webhook and a path outside the scopes.
func (p *Proxy) authorize(route *hookgate.IncomingRoute, req *hookgate.IncomingRequest) (string, *Scope, string) {
	var scopes []string
	enabled, transform := false, ""
	if route != nil {
		scopes, enabled, transform = route.Scopes, route.Enabled, route.Transform
	}
	raw := req.Path
	if raw == "" && transform != "" {
		raw = "/" // a transform may take messages POSTed to the bare URL
	}
	path, clean := CleanPath(raw)
	// A transform's own requests are checked against the scopes instead.
	sc, reason := p.Scopes.Match(scopes, req.Method, path)
	switch {
	case route == nil:
		return "", nil, DeniedUnknownToken
	case !enabled:
		return "", nil, DeniedDisabled
	case !clean:
		return "", nil, DeniedBadPath
	case transform != "":
		return path, nil, ""
	case sc == nil:
		return "", nil, reason
	}
	return path, sc, ""
}

// forward sends one request to sc's upstream as the route's owner, to be
// answered by deadline. An answer of at most BufferedAnswer bytes with a
// Content-Length comes whole (its Body a *wholeBody, its connection
// already back in the pool); a longer one is streamed.
func (p *Proxy) forward(deadline time.Time, route *hookgate.IncomingRoute, sc *Scope, req *hookgate.IncomingRequest, method, path, query string, in http.Header, body []byte) (*http.Response, error) {
	tok, err := p.Signer.Token(ownertoken.Owner{Subject: route.Owner, Tenant: route.Tenant, Scopes: route.Scopes, WebhookID: route.ID})
	if err != nil {
		return nil, err
	}
	target := sc.base + path
	if query != "" {
		target += "?" + query
	}
	stripHop(in)
	out := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(out)
	out.Header.SetNoDefaultContentType(true)
	out.URI().DisablePathNormalizing = true
	out.SetRequestURI(target)
	out.Header.SetMethod(method)
	for k, vs := range in {
		if !p.Forward.has(k) {
			continue
		}
		for _, v := range vs {
			out.Header.Add(k, v)
		}
	}
	bp := bearerPool.Get().(*[]byte) // "Bearer " + tok, copied by fasthttp
	*bp = append(append((*bp)[:0], "Bearer "...), tok...)
	out.Header.SetBytesV("Authorization", *bp)
	bearerPool.Put(bp)
	if req.CallerIP != "" {
		out.Header.Set("X-Forwarded-For", req.CallerIP)
	}
	out.Header.Set("X-Forwarded-Proto", req.Scheme)
	if req.Host != "" {
		out.Header.Set("X-Forwarded-Host", req.Host)
	}
	out.Header.Set("X-Request-Id", req.RequestID)
	out.Header.Set("X-Hookgate-Incoming-Webhook", route.ID)
	if len(body) > 0 {
		out.SetBodyRaw(body)
	}
	resp := fasthttp.AcquireResponse()
	if err := p.Client.DoDeadline(out, resp, deadline); err != nil {
		fasthttp.ReleaseResponse(resp)
		var ne net.Error
		switch {
		case errors.Is(err, fasthttp.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
			return nil, &hookgate.Error{Code: hookgate.ETIMEOUT, Message: "the upstream did not answer in time", Err: err}
		case errors.Is(err, fasthttp.ErrBodyTooLarge):
			// Only an answer delimited by the connection's close gets here:
			// a longer one with a length or in chunks is streamed.
			return nil, &hookgate.Error{Code: hookgate.EBADGATEWAY, Err: err, Message: fmt.Sprintf(
				"the upstream's answer has neither a Content-Length nor chunked encoding and is larger than %d bytes", BufferedAnswer)}
		}
		return nil, &hookgate.Error{Code: hookgate.EBADGATEWAY, Message: "the upstream cannot be reached", Err: err}
	}
	h := make(http.Header, resp.Header.Len())
	resp.Header.VisitAll(func(k, v []byte) {
		if !serverSet[string(k)] {
			h.Add(string(k), string(v))
		}
	})
	cl := int64(resp.Header.ContentLength())
	if cl < 0 {
		cl = -1
	}
	status := resp.StatusCode()
	rel := &releaser{resp: resp, size: cl}
	s := resp.BodyStream()
	if s == nil {
		// No body (HEAD, 204, 304): nothing is left on the connection.
		rel.Reader, rel.done = bytes.NewReader(resp.Body()), true
		return &http.Response{StatusCode: status, Header: h, ContentLength: cl, Body: rel}, nil
	}
	rel.Reader = s
	if cl < 0 || cl > BufferedAnswer {
		return &http.Response{StatusCode: status, Header: h, ContentLength: cl, Body: rel}, nil
	}
	// fasthttp has read this answer whole (NewClient): copy it out and give
	// the connection back now rather than once the caller has it.
	b := make([]byte, cl)
	_, err = io.ReadFull(rel, b)
	rel.done = err == nil // nothing of it is left on the connection
	rel.Close()
	if err != nil {
		return nil, &hookgate.Error{Code: hookgate.EBADGATEWAY, Message: "reading the upstream's answer failed", Err: err}
	}
	return &http.Response{StatusCode: status, Header: h, ContentLength: cl, Body: &wholeBody{b: b}}, nil
}

// wholeBody is an upstream answer read whole (see forward).
type wholeBody struct {
	b   []byte
	off int
}

func (w *wholeBody) Read(p []byte) (int, error) {
	if w.off >= len(w.b) {
		return 0, io.EOF
	}
	n := copy(p, w.b[w.off:])
	w.off += n
	return n, nil
}

func (w *wholeBody) Close() error { return nil }

// serverSet are the upstream's headers never passed on: those the server
// answering the caller sets itself (the length of what it sends, its date
// and name).
var serverSet = map[string]bool{"Content-Length": true, "Date": true, "Server": true}

// bearerPool holds buffers the Authorization header is built in.
var bearerPool = sync.Pool{New: func() any { return new([]byte) }}

// releaser returns a streamed response (and its connection) to fasthttp
// when the body is closed. fasthttp puts the connection back in its pool
// even when the body was not read to its end; the next request on it would
// then read the rest of this answer as its own. So a body closed before its
// end (over the size limit, or the caller gone) closes its connection.
type releaser struct {
	io.Reader
	resp   *fasthttp.Response
	size   int64 // Content-Length, -1 when unknown
	read   int64
	done   bool // read to its end
	closed bool
}

func (r *releaser) Read(p []byte) (int, error) {
	n, err := r.Reader.Read(p)
	r.read += int64(n)
	if err == io.EOF || (r.size >= 0 && r.read >= r.size) {
		r.done = true
	}
	return n, err
}

func (r *releaser) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if !r.done {
		r.resp.SetConnectionClose()
	}
	fasthttp.ReleaseResponse(r.resp) // closes the body stream, releasing or closing the connection
	return nil
}

// transform runs the webhook's incoming transform, re-checks every request
// it asks for against the scopes, then makes them in order.
func (p *Proxy) transform(ctx context.Context, route *hookgate.IncomingRoute, req *hookgate.IncomingRequest, path string, entry *hookgate.IncomingRequestLog) (*hookgate.IncomingResponse, error) {
	hdr := req.Header.Clone()
	for _, k := range callerOnly {
		hdr.Del(k)
	}
	body, err := decodeBody(hdr, req.Body, p.Limits.MaxRequestBody)
	if err != nil {
		return nil, err
	}
	hdr.Del("Content-Encoding") // the plugin reads the decoded body
	entry.RequestBody = capString(body, p.Limits.LogBodyBytes)
	res, err := p.Transformer.TransformIncoming(ctx, route.Transform, render.IncomingRequest{
		Method: req.Method, Path: path, Query: req.Query, Headers: render.HeadersOf(hdr), Body: body,
	})
	if err != nil {
		if hookgate.ErrorCode(err) == hookgate.EUNAVAILABLE {
			return nil, err
		}
		return nil, &hookgate.Error{Code: hookgate.EBADGATEWAY, Message: "the incoming transform failed", Err: err}
	}
	if res.Reject {
		return nil, hookgate.Errorf(hookgate.EINVALID, "the request was rejected by transform %s: %s", route.Transform, res.Reason)
	}
	type planned struct {
		sc                *Scope
		method, path, qry string
		header            http.Header
		body              []byte
	}
	plan := make([]planned, 0, len(res.Requests))
	for _, r := range res.Requests {
		rp, rq, _ := strings.Cut(r.Path, "?")
		clean, ok := CleanPath(rp)
		if !ok {
			return nil, &hookgate.IncomingDeniedError{Reason: DeniedBadPath}
		}
		sc, reason := p.Scopes.Match(route.Scopes, r.Method, clean)
		if sc == nil {
			return nil, &hookgate.IncomingDeniedError{Reason: reason}
		}
		h := http.Header{}
		for k, v := range r.Headers {
			h.Set(k, v)
		}
		plan = append(plan, planned{sc: sc, method: r.Method, path: clean, qry: rq, header: h, body: r.Body})
	}
	type result struct {
		Method string          `json:"method"`
		Path   string          `json:"path"`
		Status int             `json:"status"`
		Body   json.RawMessage `json:"body,omitempty"`
	}
	var results []result
	var last *hookgate.IncomingResponse
	var lastBody []byte
	for _, pl := range plan {
		entry.Upstream = pl.sc.Name
		resp, err := p.forward(time.Now().Add(p.Limits.Timeout), route, pl.sc, req, pl.method, pl.path, pl.qry, pl.header, pl.body)
		if err != nil {
			return nil, err
		}
		if resp.ContentLength > int64(p.Limits.MaxResponseBody) {
			resp.Body.Close()
			return nil, hookgate.Errorf(hookgate.EBADGATEWAY, "the upstream's answer is larger than %d bytes", p.Limits.MaxResponseBody)
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, int64(p.Limits.MaxResponseBody)+1))
		resp.Body.Close()
		if err != nil {
			return nil, &hookgate.Error{Code: hookgate.EBADGATEWAY, Message: "reading the upstream's answer failed", Err: err}
		}
		if len(b) > p.Limits.MaxResponseBody {
			return nil, hookgate.Errorf(hookgate.EBADGATEWAY, "the upstream's answer is larger than %d bytes", p.Limits.MaxResponseBody)
		}
		h := resp.Header
		stripHop(h)
		h.Del("Set-Cookie")
		h.Del("Content-Length")
		lastBody = b
		last = &hookgate.IncomingResponse{Status: resp.StatusCode, Header: h, Bytes: b, ContentLength: int64(len(b))}
		r := result{Method: pl.method, Path: pl.path, Status: resp.StatusCode}
		if json.Valid(b) {
			r.Body = b
		}
		results = append(results, r)
		if resp.StatusCode >= 400 {
			break
		}
	}
	entry.ResponseBody = capString(lastBody, p.Limits.LogBodyBytes)
	if len(results) == 1 {
		return last, nil
	}
	// Several calls: a summary, with the first failure's status if any.
	status := http.StatusOK
	if last.Status >= 400 {
		status = last.Status
	}
	b, _ := json.Marshal(map[string]any{"results": results})
	return &hookgate.IncomingResponse{Status: status, Header: http.Header{"Content-Type": {"application/json"}},
		Bytes: b, ContentLength: int64(len(b))}, nil
}

// statusOf is the status a failed call is answered with (and logged under):
// the gateway answers a denial with 403 and a spent rate limit with 429,
// every other error with its code's status.
func statusOf(err error) int {
	var d *hookgate.IncomingDeniedError
	switch {
	case errors.As(err, &d):
		return http.StatusForbidden
	case errors.As(err, new(*hookgate.IncomingRateLimitedError)):
		return http.StatusTooManyRequests
	}
	return hookgate.HTTPStatus(hookgate.ErrorCode(err))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func capString(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

// errTooLarge ends a response body that grows past the cap: the caller's
// connection is cut rather than handed a silently truncated body.
var errTooLarge = errors.New("upstream response larger than incoming.max_response_body")

// streamBody passes the upstream's body through, bounded, keeps its first
// bytes for the request log, and reports once when it is closed.
type streamBody struct {
	rc   io.ReadCloser
	left int64
	keep int
	kept []byte
	err  error
	done func(kept []byte, err error)
}

func (b *streamBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if len(b.kept) < b.keep && n > 0 {
		b.kept = append(b.kept, p[:min(n, b.keep-len(b.kept))]...)
	}
	if int64(n) > b.left {
		// Not a byte past the cap reaches the caller.
		n, b.left, b.err = int(b.left), -1, errTooLarge
		return n, errTooLarge
	}
	b.left -= int64(n)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

func (b *streamBody) Close() error {
	err := b.rc.Close()
	if b.done != nil {
		b.done(b.kept, b.err)
		b.done = nil
	}
	return err
}
