// Package netguard is hookgate's SSRF guard: it decides whether an outgoing
// delivery may connect to an IP address, and enforces that decision at dial
// time, after DNS resolution, on the very address being dialled, so that a
// hostname that resolves (or rebinds) to a private address cannot pass.
//
// By default it refuses every address that is not public unicast: loopback,
// RFC 1918 private ranges, carrier-grade NAT, link-local, cloud metadata
// endpoints, multicast, broadcast, unspecified, IPv6 unique-local and the
// documentation, benchmarking and reserved ranges, plus the IPv6 forms that
// embed such an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64
// 64:ff9b::/96 and 6to4 2002::/16).
//
// An allow-list of CIDR ranges (config delivery.allowed_cidrs) opens ranges
// explicitly, for example 127.0.0.0/8 for local testing. Two rules keep the
// allow-list from opening more than was meant:
//
//   - Cloud metadata addresses (169.254.169.254, 169.254.170.2,
//     fd00:ec2::254, 100.100.100.200) stay blocked unless the allow-list
//     names the address itself, as a /32 or /128 (or the bare address).
//     Opening 169.254.0.0/16 or fc00::/7 does not open them: credentials
//     are one request away from such an address, and a broad range is
//     usually written for something else.
//   - An IPv6 address that embeds an IPv4 address through NAT64, 6to4 or
//     the IPv4-compatible form is opened only by an IPv6 range that
//     contains it; an IPv4 range does not open it, since such an address
//     reaches a translator or relay, not the IPv4 host named. IPv4-mapped
//     addresses (::ffff:a.b.c.d) are the IPv4 address itself and are judged
//     exactly as it is.
//
// The package imports nothing beyond the standard library; it must stay
// cheap, since a guard is consulted on every new connection.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// BlockedError is the error of a refused address. Its Error reads like
// "ssrf_blocked: 127.0.0.1 is loopback".
type BlockedError struct {
	IP     netip.Addr // the address refused, as dialled
	Reason string     // why, such as "loopback" or "cloud metadata"
}

// Error implements error.
func (e *BlockedError) Error() string {
	return "ssrf_blocked: " + e.IP.String() + " is " + e.Reason
}

// IsBlocked reports whether err, or any error it wraps (url.Error,
// net.OpError, ...), is a *BlockedError.
func IsBlocked(err error) bool {
	var b *BlockedError
	return errors.As(err, &b)
}

// Guard decides which addresses may be dialled. Its zero value is not
// usable; make one with New. A Guard is immutable and safe for concurrent use.
type Guard struct {
	allow  []netip.Prefix // normalised: IPv4-mapped prefixes turned into IPv4
	dialer net.Dialer
}

// New returns a guard that blocks every non-public address except those in
// allowCIDRs. Each entry is a CIDR range ("127.0.0.0/8", "fd00::/8") or a
// single address ("10.1.2.3", meaning /32 or /128).
func New(allowCIDRs []string) (*Guard, error) {
	g := &Guard{}
	for _, s := range allowCIDRs {
		s = strings.TrimSpace(s)
		var p netip.Prefix
		if strings.Contains(s, "/") {
			var err error
			if p, err = netip.ParsePrefix(s); err != nil {
				return nil, fmt.Errorf("netguard: allowed range %q: %w", s, err)
			}
		} else {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("netguard: allowed range %q: %w", s, err)
			}
			if a.Zone() != "" {
				return nil, fmt.Errorf("netguard: allowed range %q: zones are not supported", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		g.allow = append(g.allow, normalise(p.Masked()))
	}
	g.dialer = net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: g.Control}
	return g, nil
}

// normalise turns an IPv4-mapped prefix (::ffff:10.0.0.0/104) into its IPv4
// form (10.0.0.0/8), since addresses are unmapped before they are checked.
func normalise(p netip.Prefix) netip.Prefix {
	a := p.Addr()
	if a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

// Check returns nil when ip may be dialled, and a *BlockedError otherwise.
// It never panics, whatever the address (the zero Addr is refused).
func (g *Guard) Check(ip netip.Addr) error {
	dialled := ip
	ip = ip.WithZone("").Unmap()
	if !ip.IsValid() {
		return &BlockedError{IP: dialled, Reason: "not a valid address"}
	}
	if name, ok := metadata(ip); ok {
		if g.allowsExactly(ip) {
			return nil
		}
		return &BlockedError{IP: dialled, Reason: name}
	}
	reason := defaultReason(ip)
	if reason == "" || g.allows(ip) {
		return nil
	}
	return &BlockedError{IP: dialled, Reason: reason}
}

func (g *Guard) allows(ip netip.Addr) bool {
	for _, p := range g.allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (g *Guard) allowsExactly(ip netip.Addr) bool {
	for _, p := range g.allow {
		if p.IsSingleIP() && p.Addr() == ip {
			return true
		}
	}
	return false
}

// Control checks the address a connection is about to be made to. It has the
// signature of net.Dialer.Control, which runs after name resolution on each
// address tried, so it sees the real destination.
func (g *Guard) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		// Not ip:port: refuse rather than guess (unix sockets have no place here).
		return &BlockedError{IP: netip.Addr{}, Reason: "not an IP address (" + network + " " + address + ")"}
	}
	return g.Check(ap.Addr())
}

// DialContext dials addr ("host:port") like net.Dialer.DialContext, refusing
// any resolved address the guard blocks. A refused dial fails with an error
// that wraps a *BlockedError (see IsBlocked).
func (g *Guard) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return g.dialer.DialContext(ctx, network, addr)
}
