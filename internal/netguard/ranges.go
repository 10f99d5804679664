package netguard

import (
	"net/netip"
)

// rule is one blocked range and the reason given for it. The tables are
// ordered from specific to general, so the first match names the reason.
type rule struct {
	prefix netip.Prefix
	reason string
}

func r(cidr, reason string) rule { return rule{netip.MustParsePrefix(cidr), reason} }

// The tables below are values computed once; they are never modified.
var (
	metadataAddrs = [...]struct {
		addr netip.Addr
		name string
	}{
		{netip.MustParseAddr("169.254.169.254"), "cloud metadata (AWS, GCP, Azure, OCI, DigitalOcean)"},
		{netip.MustParseAddr("169.254.170.2"), "cloud metadata (AWS ECS task credentials)"},
		{netip.MustParseAddr("fd00:ec2::254"), "cloud metadata (AWS IPv6)"},
		{netip.MustParseAddr("100.100.100.200"), "cloud metadata (Alibaba Cloud)"},
	}

	v4Rules = [...]rule{
		r("0.0.0.0/32", "unspecified"),
		r("0.0.0.0/8", "this-network (0.0.0.0/8)"),
		r("127.0.0.0/8", "loopback"),
		r("10.0.0.0/8", "private (RFC 1918)"),
		r("172.16.0.0/12", "private (RFC 1918)"),
		r("192.168.0.0/16", "private (RFC 1918)"),
		r("100.64.0.0/10", "carrier-grade NAT (RFC 6598)"),
		r("169.254.0.0/16", "link-local"),
		r("192.0.0.0/24", "IETF protocol assignments (192.0.0.0/24)"),
		r("192.0.2.0/24", "documentation (TEST-NET-1)"),
		r("198.51.100.0/24", "documentation (TEST-NET-2)"),
		r("203.0.113.0/24", "documentation (TEST-NET-3)"),
		r("198.18.0.0/15", "benchmarking (RFC 2544)"),
		r("192.88.99.0/24", "reserved (6to4 relay anycast)"),
		r("224.0.0.0/4", "multicast"),
		r("255.255.255.255/32", "broadcast"),
		r("240.0.0.0/4", "reserved (240.0.0.0/4)"),
	}

	v6Rules = [...]rule{
		r("::/128", "unspecified"),
		r("::1/128", "loopback"),
		r("64:ff9b:1::/48", "local-use NAT64 (RFC 8215)"),
		r("100::/64", "discard-only (RFC 6666)"),
		r("2001::/32", "Teredo"),
		r("2001:2::/48", "benchmarking (RFC 5180)"),
		r("2001::/23", "IETF protocol assignments (2001::/23)"),
		r("2001:db8::/32", "documentation"),
		r("3fff::/20", "documentation"),
		r("5f00::/16", "segment routing SIDs (RFC 9602)"),
		r("fc00::/7", "unique-local"),
		r("fe80::/10", "link-local"),
		r("fec0::/10", "site-local (deprecated)"),
		r("ff00::/8", "multicast"),
	}

	// globalUnicast6 is the only IPv6 space IANA allocates for public
	// unicast; whatever lies outside it (and is not an embedding form
	// handled first) is refused as reserved.
	globalUnicast6 = netip.MustParsePrefix("2000::/3")

	compat6 = netip.MustParsePrefix("::/96")        // IPv4-compatible (deprecated)
	nat64   = netip.MustParsePrefix("64:ff9b::/96") // well-known NAT64 prefix
	sixTo4  = netip.MustParsePrefix("2002::/16")    // 6to4
)

// metadata reports whether ip (unmapped, without zone) is a cloud metadata
// address, directly or embedded in an IPv6 form.
func metadata(ip netip.Addr) (string, bool) {
	for _, m := range metadataAddrs {
		if m.addr == ip {
			return m.name, true
		}
	}
	if v4, form, ok := embedded(ip); ok {
		for _, m := range metadataAddrs {
			if m.addr == v4 {
				return form + " of " + v4.String() + ", " + m.name, true
			}
		}
	}
	return "", false
}

// embedded returns the IPv4 address carried by an IPv4-compatible, NAT64 or
// 6to4 IPv6 address, and the name of the form.
func embedded(ip netip.Addr) (netip.Addr, string, bool) {
	if !ip.Is6() {
		return netip.Addr{}, "", false
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return netip.AddrFrom4([4]byte(b[12:16])), "NAT64 form", true
	case compat6.Contains(ip):
		return netip.AddrFrom4([4]byte(b[12:16])), "IPv4-compatible form", true
	case sixTo4.Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6])), "6to4 form", true
	}
	return netip.Addr{}, "", false
}

// defaultReason returns why ip is blocked when nothing is allowed, or "" for
// a public address. ip must be valid, unmapped and without zone.
func defaultReason(ip netip.Addr) string {
	if ip.Is4() {
		for i := range v4Rules {
			if v4Rules[i].prefix.Contains(ip) {
				return v4Rules[i].reason
			}
		}
		return ""
	}
	// The unspecified and loopback addresses lie inside ::/96; name them as
	// such rather than as IPv4-compatible forms.
	if ip == v6Rules[0].prefix.Addr() {
		return v6Rules[0].reason
	}
	if ip == v6Rules[1].prefix.Addr() {
		return v6Rules[1].reason
	}
	if v4, form, ok := embedded(ip); ok {
		if reason := defaultReason(v4); reason != "" {
			return form + " of " + v4.String() + ", which is " + reason
		}
		return ""
	}
	for i := range v6Rules {
		if v6Rules[i].prefix.Contains(ip) {
			return v6Rules[i].reason
		}
	}
	if !globalUnicast6.Contains(ip) {
		return "reserved (outside 2000::/3)"
	}
	return ""
}
