package gateway

import (
	"net"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// proxyTrust is server.trusted_proxies: the peers whose forwarding headers
// (X-Forwarded-For, -Proto, -Host, -Ssl, X-Url-Scheme) hookgate believes.
// Fiber is told the same list (fiber.Config.TrustedProxies), so that
// c.Protocol() and c.Hostname() read those headers only from these peers.
type proxyTrust []*net.IPNet

// newProxyTrust parses the list (already validated: CIDRs or addresses).
func newProxyTrust(list []string) proxyTrust {
	var t proxyTrust
	for _, s := range list {
		if !strings.Contains(s, "/") {
			if ip := net.ParseIP(s); ip != nil {
				bits := 8 * len(ip.To16())
				if ip.To4() != nil {
					ip, bits = ip.To4(), 32
				}
				t = append(t, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			}
			continue
		}
		if _, n, err := net.ParseCIDR(s); err == nil {
			t = append(t, n)
		}
	}
	return t
}

func (t proxyTrust) trusts(ip net.IP) bool {
	for _, n := range t {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// clientIP is the caller's address as hookgate sees it: the TCP peer's, or,
// when the peer is a trusted proxy, the nearest address of its
// X-Forwarded-For that is not a trusted proxy itself. The list is read from
// the right, because each proxy appends the peer it saw: the entries on the
// left are whatever the client wrote. (Fiber's ProxyHeader would take the
// left-most one, so it is not used.)
func (s *Server) clientIP(c *fiber.Ctx) string {
	peer := c.Context().RemoteIP()
	if len(s.trusted) == 0 || !s.trusted.trusts(peer) {
		return peer.String()
	}
	client := peer
	var hops []string
	c.Request().Header.VisitAll(func(k, v []byte) {
		if strings.EqualFold(string(k), fiber.HeaderXForwardedFor) {
			hops = append(hops, strings.Split(string(v), ",")...)
		}
	})
	for i := len(hops) - 1; i >= 0; i-- {
		ip := net.ParseIP(strings.TrimSpace(hops[i]))
		if ip == nil {
			break // not an address: believe nothing further left
		}
		client = ip
		if !s.trusted.trusts(ip) {
			break
		}
	}
	return client.String()
}

// scheme is the request's scheme as hookgate sees it: the connection's, or
// the one a trusted proxy reports (Fiber reads the headers only then), if
// it is http or https.
func scheme(c *fiber.Ctx) string {
	switch p := strings.ToLower(c.Protocol()); p {
	case "http", "https":
		return p
	}
	if c.Context().IsTLS() {
		return "https"
	}
	return "http"
}
