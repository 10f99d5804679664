package sender

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/netguard"
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
