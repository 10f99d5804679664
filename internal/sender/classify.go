package sender

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/netguard"
)

// classify names the class of a transport error (one that left no answer):
//
//   - ssrf_blocked: the guard refused the resolved address;
//   - timeout: the deadline passed (or ctx was cancelled) at any stage, a
//     DNS lookup that timed out included;
//   - tls: certificate verification, a TLS alert or a TLS protocol error;
//   - dns: the name did not resolve;
//   - connect: everything else: refused, reset, unreachable, a connection
//     closed before a full answer, a malformed answer or URL.
func classify(err error) string {
	switch {
	case netguard.IsBlocked(err):
		return hookgate.ClassSSRFBlocked
	case isTimeout(err):
		return hookgate.ClassTimeout
	case isTLS(err):
		return hookgate.ClassTLS
	case isDNS(err):
		return hookgate.ClassDNS
	default:
		return hookgate.ClassConnect
	}
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isDNS(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de)
}

func isTLS(err error) bool {
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		systemRoots      x509.SystemRootsError
		constraint       x509.ConstraintViolationError
		critical         x509.UnhandledCriticalExtension
		verification     *tls.CertificateVerificationError
		record           tls.RecordHeaderError
		alert            tls.AlertError
		ech              *tls.ECHRejectionError
	)
	if errors.As(err, &unknownAuthority) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.As(err, &systemRoots) || errors.As(err, &constraint) || errors.As(err, &critical) ||
		errors.As(err, &verification) || errors.As(err, &record) || errors.As(err, &alert) ||
		errors.As(err, &ech) {
		return true
	}
	// crypto/tls reports alerts it sends or receives on a TCP connection as a
	// net.OpError with these operations around an unexported alert type.
	var op *net.OpError
	if errors.As(err, &op) && (op.Op == "local error" || op.Op == "remote error") {
		return true
	}
	// Other handshake failures are plain errors whose text crypto/tls and
	// crypto/x509 prefix with their package name.
	for e := err; e != nil; e = errors.Unwrap(e) {
		if msg := e.Error(); strings.HasPrefix(msg, "tls: ") || strings.HasPrefix(msg, "x509: ") {
			return true
		}
	}
	return false
}

// explain is the message recorded with a transport error of class: what an
// admin can act on, in words chosen here, never the error's own text. A Go
// network error names the address dialled ("dial tcp 10.0.0.5:5432"), the
// resolver ("lookup x on 10.255.255.53:53") and, inside a url.Error, the
// whole URL with its query; shown to a tenant admin, that turns delivery into
// a probe of the internal network. The detail goes to the server log instead
// (deliver.Worker logs Result.Err). Every message starts with the class.
//
// timeout is the request's bound, cancelled whether the caller's context
// ended first (shutdown, the task's deadline) rather than the request's.
func explain(err error, class string, timeout time.Duration, cancelled bool) string {
	switch class {
	case hookgate.ClassSSRFBlocked:
		return "ssrf_blocked: the endpoint's address is not allowed (private, loopback, link-local or otherwise reserved; see delivery.allowed_cidrs)"
	case hookgate.ClassTimeout:
		var de *net.DNSError
		switch {
		case cancelled:
			return "timeout: the attempt was cancelled before an answer came (hookgate was stopping or the task's time ran out)"
		case errors.As(err, &de):
			return "timeout: the DNS lookup of the host name did not answer in time"
		}
		return "timeout: no complete answer within " + timeout.String()
	case hookgate.ClassDNS:
		var de *net.DNSError
		if errors.As(err, &de) && de.IsNotFound {
			return "dns: the host name does not resolve (no such host)"
		}
		return "dns: the host name could not be resolved (the DNS lookup failed)"
	case hookgate.ClassTLS:
		return explainTLS(err)
	}
	return explainConnect(err)
}

func explainTLS(err error) string {
	var (
		hostname         x509.HostnameError
		unknownAuthority x509.UnknownAuthorityError
		invalid          x509.CertificateInvalidError
		record           tls.RecordHeaderError
		op               *net.OpError
	)
	switch {
	case errors.As(err, &hostname):
		return "tls: the certificate is not valid for the host name"
	case errors.As(err, &unknownAuthority):
		return "tls: the certificate is not signed by a trusted authority"
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "tls: the certificate has expired or is not valid yet"
	case errors.As(err, &invalid):
		return "tls: the certificate is not valid"
	case errors.As(err, &record):
		return "tls: the endpoint did not answer in TLS (is it a plain HTTP endpoint?)"
	case errors.As(err, &op) && op.Op == "remote error":
		// A TLS alert's text is a fixed name from crypto/tls ("tls:
		// handshake failure"); keep it only when it looks like one.
		if name := strings.TrimPrefix(op.Err.Error(), "tls: "); alertName(name) {
			return "tls: the endpoint refused the handshake (" + name + ")"
		}
		return "tls: the endpoint refused the handshake"
	}
	return "tls: the TLS handshake failed"
}

// alertName reports whether s reads like one of crypto/tls's alert names:
// a few lower-case words.
func alertName(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && r != ' ' {
			return false
		}
	}
	return true
}

func explainConnect(err error) string {
	var ue *url.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connect: connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connect: the connection was reset by the endpoint"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "connect: the endpoint's host is unreachable"
	case errors.Is(err, syscall.ENETUNREACH):
		return "connect: the endpoint's network is unreachable"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "connect: the connection closed before a complete answer"
	case errors.As(err, &ue) && ue.Op == "parse":
		return "connect: the endpoint URL is not valid"
	}
	// net/http reports these as plain errors; their text is its own.
	msg := err.Error()
	switch {
	case strings.Contains(msg, "unsupported protocol scheme"), strings.Contains(msg, "no Host in request URL"):
		return "connect: the endpoint URL is not valid"
	case strings.Contains(msg, "response headers exceeded"):
		return "connect: the answer's headers are too large"
	case strings.Contains(msg, "server gave HTTP response to HTTPS client"):
		return "connect: the endpoint answered in plain HTTP, not in TLS"
	case strings.Contains(msg, "malformed HTTP"):
		return "connect: the answer is not valid HTTP"
	}
	return "connect: the connection failed"
}
