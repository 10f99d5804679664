package netguard_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/internal/netguard"
)

func mustGuard(t testing.TB, allow ...string) *netguard.Guard {
	t.Helper()
	g, err := netguard.New(allow)
	if err != nil {
		t.Fatalf("New(%q): %v", allow, err)
	}
	return g
}

// TestDefaultGuardBlocksEveryNonPublicRange walks every blocked range, in
// IPv4, IPv6 and the IPv6 forms that embed an IPv4 address.
func TestDefaultGuardBlocksEveryNonPublicRange(t *testing.T) {
	g := mustGuard(t)
	tests := []struct {
		ip     string
		reason string // substring of the reason; "" means allowed
	}{
		// IPv4
		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"10.0.0.1", "private"},
		{"10.255.255.255", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"100.64.0.1", "carrier-grade NAT"},
		{"100.127.255.255", "carrier-grade NAT"},
		{"169.254.1.1", "link-local"},
		{"169.254.169.254", "cloud metadata"},
		{"169.254.170.2", "cloud metadata"},
		{"100.100.100.200", "cloud metadata"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "this-network"},
		{"255.255.255.255", "broadcast"},
		{"240.0.0.1", "reserved"},
		{"192.0.0.8", "IETF protocol assignments"},
		{"192.0.2.10", "documentation"},
		{"198.51.100.7", "documentation"},
		{"203.0.113.99", "documentation"},
		{"198.18.0.1", "benchmarking"},
		{"198.19.255.255", "benchmarking"},
		{"192.88.99.1", "6to4 relay"},
		// IPv4 neighbours of blocked ranges are public
		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"172.15.255.255", ""},
		{"172.32.0.0", ""},
		{"100.63.255.255", ""},
		{"100.128.0.0", ""},
		{"198.17.255.255", ""},
		{"198.20.0.0", ""},
		{"11.0.0.0", ""},
		{"223.255.255.255", ""},
		// IPv6
		{"::1", "loopback"},
		{"::", "unspecified"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"febf:ffff::1", "link-local"},
		{"fc00::1", "unique-local"},
		{"fd12:3456::1", "unique-local"},
		{"fd00:ec2::254", "cloud metadata"},
		{"ff02::1", "multicast"},
		{"ff0e::1", "multicast"},
		{"2001:db8::1", "documentation"},
		{"3fff::1", "documentation"},
		{"2001::1", "Teredo"},
		{"2001:2::1", "benchmarking"},
		{"2001:10::1", "IETF protocol assignments"},
		{"100::1", "discard-only"},
		{"fec0::1", "site-local"},
		{"5f00::1", "segment routing"},
		{"64:ff9b:1::1", "local-use NAT64"},
		{"4000::1", "reserved"},
		{"::2:1", "IPv4-compatible form of 0.2.0.1"},
		// public IPv6
		{"2606:4700:4700::1111", ""},
		{"2a00:1450:4001:80b::200e", ""},
		// IPv4-mapped forms are the IPv4 address itself
		{"::ffff:127.0.0.1", "loopback"},
		{"::ffff:10.1.2.3", "private"},
		{"::ffff:169.254.169.254", "cloud metadata"},
		{"::ffff:100.100.100.200", "cloud metadata"},
		{"::ffff:0.0.0.0", "unspecified"},
		{"::ffff:8.8.8.8", ""},
		// IPv4-compatible
		{"::127.0.0.1", "IPv4-compatible form of 127.0.0.1, which is loopback"},
		{"::192.168.0.1", "private"},
		{"::169.254.169.254", "cloud metadata"},
		{"::8.8.8.8", ""},
		// NAT64
		{"64:ff9b::7f00:1", "NAT64 form of 127.0.0.1, which is loopback"},
		{"64:ff9b::10.0.0.1", "private"},
		{"64:ff9b::169.254.169.254", "cloud metadata"},
		{"64:ff9b::100.64.0.1", "carrier-grade NAT"},
		{"64:ff9b::8.8.8.8", ""},
		// 6to4
		{"2002:7f00:1::1", "6to4 form of 127.0.0.1, which is loopback"},
		{"2002:a9fe:a9fe::", "cloud metadata"},
		{"2002:c0a8:0101::1", "private"},
		{"2002:e000:0001::1", "multicast"},
		{"2002:0808:0808::1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			ip := netip.MustParseAddr(tt.ip)
			err := g.Check(ip)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Check(%s) = %v, want allowed", tt.ip, err)
				}
				return
			}
			var be *netguard.BlockedError
			if !errors.As(err, &be) {
				t.Fatalf("Check(%s) = %v, want *BlockedError", tt.ip, err)
			}
			if be.IP != ip {
				t.Errorf("BlockedError.IP = %s, want %s", be.IP, ip)
			}
			if !strings.Contains(be.Reason, tt.reason) {
				t.Errorf("reason %q does not mention %q", be.Reason, tt.reason)
			}
			if !strings.HasPrefix(err.Error(), "ssrf_blocked: "+ip.String()+" is ") {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

func TestBlockedErrorText(t *testing.T) {
	err := mustGuard(t).Check(netip.MustParseAddr("127.0.0.1"))
	if got, want := err.Error(), "ssrf_blocked: 127.0.0.1 is loopback"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if !netguard.IsBlocked(err) {
		t.Fatal("IsBlocked(BlockedError) = false")
	}
	wrapped := &url.Error{Op: "Post", URL: "http://x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: err}}
	if !netguard.IsBlocked(wrapped) {
		t.Fatal("IsBlocked through url.Error and net.OpError = false")
	}
	if netguard.IsBlocked(errors.New("ssrf_blocked: lookalike")) || netguard.IsBlocked(nil) {
		t.Fatal("IsBlocked is true for an error that is not a BlockedError")
	}
}

// TestAllowListOpensRanges covers what the allow-list opens, and the two
// rules that keep it from opening more: metadata needs its exact address,
// and IPv4 ranges do not open NAT64/6to4/compatible forms.
func TestAllowListOpensRanges(t *testing.T) {
	tests := []struct {
		name    string
		allow   []string
		ip      string
		allowed bool
	}{
		{"loopback opened", []string{"127.0.0.0/8"}, "127.0.0.1", true},
		{"loopback opened, mapped form", []string{"127.0.0.0/8"}, "::ffff:127.0.0.1", true},
		{"loopback v4 does not open ::1", []string{"127.0.0.0/8"}, "::1", false},
		{"loopback v4 does not open private", []string{"127.0.0.0/8"}, "10.0.0.1", false},
		{"mapped allow entry", []string{"::ffff:10.0.0.0/104"}, "10.9.9.9", true},
		{"single address", []string{"10.1.2.3"}, "10.1.2.3", true},
		{"single address, neighbour", []string{"10.1.2.3"}, "10.1.2.4", false},
		{"v6 loopback", []string{"::1/128"}, "::1", true},
		{"unique-local opened", []string{"fd00::/8"}, "fd12::1", true},
		{"unmasked entry is masked", []string{"192.168.1.77/24"}, "192.168.1.5", true},
		{"link-local /16 does not open metadata", []string{"169.254.0.0/16"}, "169.254.169.254", false},
		{"link-local /16 opens other link-local", []string{"169.254.0.0/16"}, "169.254.1.1", true},
		{"metadata /32 opens it", []string{"169.254.169.254/32"}, "169.254.169.254", true},
		{"metadata bare address opens it", []string{"169.254.169.254"}, "169.254.169.254", true},
		{"metadata /32 opens mapped form", []string{"169.254.169.254/32"}, "::ffff:169.254.169.254", true},
		{"metadata /32 does not open NAT64 form", []string{"169.254.169.254/32"}, "64:ff9b::a9fe:a9fe", false},
		{"ULA /7 does not open v6 metadata", []string{"fc00::/7"}, "fd00:ec2::254", false},
		{"v6 metadata /128 opens it", []string{"fd00:ec2::254/128"}, "fd00:ec2::254", true},
		{"CGNAT /10 does not open Alibaba metadata", []string{"100.64.0.0/10"}, "100.100.100.200", false},
		{"CGNAT /10 opens CGNAT", []string{"100.64.0.0/10"}, "100.64.0.1", true},
		{"v4 range does not open NAT64 form", []string{"127.0.0.0/8"}, "64:ff9b::7f00:1", false},
		{"v4 range does not open 6to4 form", []string{"127.0.0.0/8"}, "2002:7f00:1::1", false},
		{"NAT64 range opens NAT64 form", []string{"64:ff9b::/96"}, "64:ff9b::7f00:1", true},
		{"everything v4 still guards metadata", []string{"0.0.0.0/0"}, "169.254.169.254", false},
		{"everything v4 opens private", []string{"0.0.0.0/0"}, "192.168.0.1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := mustGuard(t, tt.allow...).Check(netip.MustParseAddr(tt.ip))
			if tt.allowed && err != nil {
				t.Fatalf("allow %v, Check(%s) = %v, want allowed", tt.allow, tt.ip, err)
			}
			if !tt.allowed && !netguard.IsBlocked(err) {
				t.Fatalf("allow %v, Check(%s) = %v, want blocked", tt.allow, tt.ip, err)
			}
		})
	}
}

func TestNewRejectsBadRanges(t *testing.T) {
	for _, s := range []string{"", "10.0.0.0/33", "not-an-ip", "fe80::1%eth0", "10.0.0.0/8/8"} {
		if _, err := netguard.New([]string{s}); err == nil {
			t.Errorf("New(%q) succeeded, want an error", s)
		}
	}
}

func TestInvalidAddressIsBlocked(t *testing.T) {
	if !netguard.IsBlocked(mustGuard(t, "0.0.0.0/0", "::/0").Check(netip.Addr{})) {
		t.Fatal("the zero Addr was not refused")
	}
}

func TestControlChecksTheDialledAddress(t *testing.T) {
	g := mustGuard(t)
	for addr, blocked := range map[string]bool{
		"127.0.0.1:80":          true,
		"[::1]:443":             true,
		"[fe80::1%lo]:80":       true,
		"8.8.8.8:53":            false,
		"[2606:4700::1111]:443": false,
		"/var/run/docker.sock":  true,
		"localhost:80":          true, // a name, not an address: Control only ever sees addresses
	} {
		err := g.Control("tcp", addr, nil)
		if blocked != netguard.IsBlocked(err) {
			t.Errorf("Control(%q) = %v, want blocked=%v", addr, err, blocked)
		}
	}
}

// TestHostnameResolvingToLoopbackIsRefusedAtDial dials "localhost" — a name
// that passes any check on the URL's text — and must be refused after
// resolution, and the receiver must see nothing.
func TestHostnameResolvingToLoopbackIsRefusedAtDial(t *testing.T) {
	hit := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case hit <- struct{}{}:
		default:
		}
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	// Directly through the guard's dialer.
	conn, err := mustGuard(t).DialContext(ctx, "tcp", net.JoinHostPort("localhost", port))
	if err == nil {
		conn.Close()
		t.Fatal("dial to localhost succeeded while loopback is not allowed")
	}
	if !netguard.IsBlocked(err) {
		t.Fatalf("dial error = %v, want a BlockedError", err)
	}

	// Through an HTTP client whose dialer uses the guard's Control.
	client := &http.Client{Transport: &http.Transport{
		Proxy:       nil,
		DialContext: (&net.Dialer{Control: mustGuard(t).Control}).DialContext,
	}}
	resp, err := client.Post("http://"+net.JoinHostPort("localhost", port)+"/", "text/plain", strings.NewReader("x"))
	if err == nil {
		resp.Body.Close()
		t.Fatal("POST to localhost succeeded while loopback is not allowed")
	}
	if !netguard.IsBlocked(err) {
		t.Fatalf("POST error = %v, want a BlockedError in the chain", err)
	}
	select {
	case <-hit:
		t.Fatal("the receiver was reached")
	default:
	}

	// Allowed explicitly, the same dial goes through.
	conn, err = mustGuard(t, "127.0.0.0/8", "::1/128").DialContext(ctx, "tcp", net.JoinHostPort("localhost", port))
	if err != nil {
		t.Fatalf("dial with loopback allowed: %v", err)
	}
	conn.Close()
}

// FuzzCheck feeds arbitrary 16-byte addresses (and their zone) to Check: it
// must never panic, and an IPv4-mapped address must get the same verdict as
// its IPv4 address.
func FuzzCheck(f *testing.F) {
	f.Add([]byte(netip.MustParseAddr("::ffff:127.0.0.1").AsSlice()), "")
	f.Add([]byte(netip.MustParseAddr("64:ff9b::a9fe:a9fe").AsSlice()), "")
	f.Add([]byte(netip.MustParseAddr("2002:0808:0808::1").AsSlice()), "")
	f.Add([]byte(netip.MustParseAddr("fe80::1").AsSlice()), "eth0")
	f.Add([]byte{1, 2, 3, 4}, "")
	guards := []*netguard.Guard{mustGuard(f), mustGuard(f, "127.0.0.0/8", "169.254.0.0/16", "fd00::/8")}
	f.Fuzz(func(t *testing.T, b []byte, zone string) {
		var a16 [16]byte
		copy(a16[:], b)
		ip := netip.AddrFrom16(a16)
		if zone != "" {
			ip = ip.WithZone(zone)
		}
		for _, g := range guards {
			err := g.Check(ip)
			if err != nil && !netguard.IsBlocked(err) {
				t.Fatalf("Check(%s) returned a non-BlockedError %v", ip, err)
			}
			if err != nil {
				_ = err.Error()
			}
			if ip.Is4In6() {
				v4err := g.Check(ip.Unmap())
				if (err == nil) != (v4err == nil) {
					t.Fatalf("Check(%s) = %v but Check(%s) = %v", ip, err, ip.Unmap(), v4err)
				}
			}
		}
		// A 4-byte input is also an IPv4 address: its mapped form must agree.
		if len(b) == 4 {
			v4 := netip.AddrFrom4([4]byte(b))
			for _, g := range guards {
				if (g.Check(v4) == nil) != (g.Check(netip.AddrFrom16(v4.As16())) == nil) {
					t.Fatalf("verdicts differ for %s and its mapped form", v4)
				}
			}
		}
	})
}
