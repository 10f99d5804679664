// Package sender is the HTTP client every delivery goes through: one POST
// to one receiver, bounded in time and in what is read back, with the
// outcome classified for the delivery log and the retry policy.
//
// A Sender keeps pools of keep-alive connections, dials only through a
// netguard.Guard (so a receiver's name that resolves to a private address is
// refused after resolution), never uses a proxy from the environment (a proxy
// would dial on our behalf, past the guard), never follows redirects (a 3xx
// is reported as ClassRedirect with its Location) and bounds the whole
// exchange, headers and body, by the request's timeout.
//
// It decides nothing about retries, signing or logging: it sends the bytes
// and headers it is given and reports what happened. It runs for every
// delivery attempt, so it avoids allocations it can avoid: response bodies
// are read into pooled buffers and no formatting happens on the way.
package sender

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/netguard"
)

// Defaults of Config's zero fields.
const (
	DefaultTimeout             = 5 * time.Second
	DefaultMaxTimeout          = 30 * time.Second
	DefaultMaxResponseBody     = 64 << 10
	DefaultMaxIdleConnsPerHost = 64
)

const (
	// drainLimit is how much of a response past MaxResponseBody is read and
	// discarded so that the connection can be reused; a longer body costs
	// the connection instead.
	drainLimit = 256 << 10
	// maxResponseHeaderBytes bounds the status line and headers of an answer.
	maxResponseHeaderBytes = 64 << 10
	// maxIdleConns bounds idle connections across all receivers.
	maxIdleConns = 1024
)

// Config configures a Sender. The zero value of every field means its
// documented default.
type Config struct {
	// Guard decides which addresses may be dialled. Nil means a guard that
	// allows nothing but public addresses (netguard.New(nil)).
	Guard *netguard.Guard
	// Timeout bounds a request whose own Timeout is zero: dial, TLS,
	// request, response headers and body together. Default 5s.
	Timeout time.Duration
	// MaxTimeout caps Request.Timeout and bounds the transport's wait for
	// response headers. Default 30s, and never less than Timeout.
	MaxTimeout time.Duration
	// MaxResponseBody is how many bytes of a response body are read back
	// and kept in Result.Body. Default 64 KiB.
	MaxResponseBody int
	// MaxIdleConnsPerHost is the keep-alive pool size per receiver host.
	// Default 64.
	MaxIdleConnsPerHost int
	// UserAgent is sent when the request's headers have none. Default
	// hookgate.UserAgent() ("hookgate/<version>").
	UserAgent string
}

// Request is one POST to send.
type Request struct {
	// URL is the receiver's absolute http or https URL.
	URL string
	// Body is sent as is; Send does not keep or modify it.
	Body []byte
	// Headers are sent as given (Content-Type, signatures, ...). Send reads
	// the map and never writes to it, so one map may serve concurrent
	// requests; it is used directly, without copying, unless it lacks a
	// User-Agent.
	Headers http.Header
	// Timeout bounds this request; 0 means Config.Timeout. It is capped at
	// Config.MaxTimeout.
	Timeout time.Duration
}

// Result is what happened to one Request.
type Result struct {
	// StatusCode is the receiver's status, 0 if no answer came.
	StatusCode int
	// Headers is a bounded subset of the response headers: at most 32,
	// each value (several values joined by ", ") cut to 1 KiB. Location
	// and Retry-After are always kept.
	Headers map[string]string
	// Body is at most Config.MaxResponseBody bytes of the response body.
	Body []byte
	// Truncated is true when the body was longer than what was kept, or
	// could not be read to its end within the timeout.
	Truncated bool
	// Duration is the whole exchange, as measured by Send.
	Duration time.Duration
	// ErrorClass is "" for a 2xx answer and one of hookgate.ClassTimeout,
	// ClassDNS, ClassConnect, ClassTLS, ClassSSRFBlocked, ClassRedirect or
	// ClassHTTPStatus otherwise.
	ErrorClass string
	// Err is the transport error when no answer came; nil when there was
	// an answer, whatever its status. Its text names addresses, ports, the
	// resolver and the URL: for the server log, never for a tenant.
	Err error
	// Message describes a failure in words safe to show whoever owns the
	// webhook: it starts with ErrorClass ("connect: connection refused",
	// "dns: the host name does not resolve (no such host)") or is
	// "HTTP <status>" for an answer that is not 2xx, and never holds an
	// address, a port or the URL. "" on success.
	Message string
	// RetryAfter is the receiver's Retry-After on a 429 or 503, in seconds
	// or as an HTTP date, converted to a duration; 0 if absent or invalid.
	// Callers apply their own cap.
	RetryAfter time.Duration
}

// OK reports whether the receiver answered 2xx.
func (r *Result) OK() bool { return r.ErrorClass == "" && r.StatusCode >= 200 && r.StatusCode < 300 }

// Sender sends deliveries. It is safe for concurrent use; make one per
// process with New and share it.
type Sender struct {
	client     http.Client
	transport  *http.Transport
	timeout    time.Duration
	maxTimeout time.Duration
	maxBody    int
	userAgent  []string
	bufs       sync.Pool // *[]byte of maxBody+1 bytes
}

// New returns a Sender configured by cfg, with defaults for its zero fields.
func New(cfg Config) *Sender {
	if cfg.Guard == nil {
		cfg.Guard, _ = netguard.New(nil) // cannot fail without ranges
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxTimeout <= 0 {
		cfg.MaxTimeout = DefaultMaxTimeout
	}
	cfg.MaxTimeout = max(cfg.MaxTimeout, cfg.Timeout)
	if cfg.MaxResponseBody <= 0 {
		cfg.MaxResponseBody = DefaultMaxResponseBody
	}
	if cfg.MaxIdleConnsPerHost <= 0 {
		cfg.MaxIdleConnsPerHost = DefaultMaxIdleConnsPerHost
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = hookgate.UserAgent()
	}
	dialer := &net.Dialer{
		Timeout:   cfg.MaxTimeout,
		KeepAlive: 30 * time.Second,
		Control:   cfg.Guard.Control,
	}
	tr := &http.Transport{
		Proxy:                  nil, // never from the environment: a proxy would bypass the guard
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		MaxIdleConns:           max(maxIdleConns, cfg.MaxIdleConnsPerHost),
		MaxIdleConnsPerHost:    cfg.MaxIdleConnsPerHost,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    min(10*time.Second, cfg.MaxTimeout),
		ResponseHeaderTimeout:  cfg.MaxTimeout,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
		// Bodies kept are small; compression would only add a gzip reader
		// per answer and let a small answer inflate.
		DisableCompression: true,
	}
	s := &Sender{
		transport:  tr,
		timeout:    cfg.Timeout,
		maxTimeout: cfg.MaxTimeout,
		maxBody:    cfg.MaxResponseBody,
		userAgent:  []string{cfg.UserAgent},
	}
	s.client = http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	size := cfg.MaxResponseBody + 1
	s.bufs.New = func() any {
		b := make([]byte, size)
		return &b
	}
	return s
}

// CloseIdleConnections closes the keep-alive connections not in use, for
// shutdown.
func (s *Sender) CloseIdleConnections() { s.transport.CloseIdleConnections() }

// Send POSTs req and reports the outcome. It never returns nil and never
// panics on a receiver's behaviour; it returns within the request's timeout
// (or when ctx ends, whichever is first).
func (s *Sender) Send(ctx context.Context, req *Request) *Result {
	start := time.Now()
	res := &Result{}
	s.send(ctx, req, res)
	res.Duration = time.Since(start)
	return res
}

func (s *Sender) send(parent context.Context, req *Request, res *Result) {
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = s.timeout
	}
	timeout = min(timeout, s.maxTimeout)
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()

	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		res.Err, res.ErrorClass = err, hookgate.ClassConnect
		res.Message = explain(err, res.ErrorClass, timeout, false)
		return
	}
	hreq.Header = s.headers(req.Headers)

	resp, err := s.client.Do(hreq)
	if err != nil {
		res.Err, res.ErrorClass = err, classify(err)
		res.Message = explain(err, res.ErrorClass, timeout, parent.Err() != nil)
		return
	}
	defer resp.Body.Close()

	res.StatusCode = resp.StatusCode
	res.Headers = captureHeaders(resp.Header)
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		res.ErrorClass = hookgate.ClassRedirect
	default:
		res.ErrorClass = hookgate.ClassHTTPStatus
	}
	if res.ErrorClass != "" {
		res.Message = "HTTP " + strconv.Itoa(resp.StatusCode)
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		if v := resp.Header["Retry-After"]; len(v) > 0 {
			res.RetryAfter = parseRetryAfter(v[0], time.Now())
		}
	}
	s.readBody(resp.Body, res)
}

// headers returns the header map to send: the caller's own when it names a
// User-Agent, else a copy with ours added (the caller's map is never written).
func (s *Sender) headers(h http.Header) http.Header {
	if len(h["User-Agent"]) > 0 {
		return h
	}
	out := make(http.Header, len(h)+1)
	for k, v := range h {
		out[k] = v
	}
	out["User-Agent"] = s.userAgent
	return out
}

// readBody keeps up to maxBody bytes of body in res, then drains a bounded
// rest so that the connection can go back to the pool. The request context
// bounds both reads: an endless or stalled body ends at the deadline.
func (s *Sender) readBody(body io.Reader, res *Result) {
	bp := s.bufs.Get().(*[]byte)
	buf := *bp
	n, err := io.ReadFull(body, buf)
	switch {
	case n > s.maxBody:
		n = s.maxBody
		res.Truncated = true
		// Past the cap: drain a little so that the connection is reused;
		// a longer body is cut by closing it.
		_, _ = io.CopyN(io.Discard, body, drainLimit)
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		// The whole body, within the cap.
	case err != nil:
		// Cut short (deadline, reset): keep what came.
		res.Truncated = true
	}
	if n > 0 {
		res.Body = make([]byte, n)
		copy(res.Body, buf[:n])
	}
	s.bufs.Put(bp)
}
