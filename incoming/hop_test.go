package incoming

import (
	"net/http"
	"reflect"
	"testing"
)

// TestStripHop: the hop-by-hop headers, and those the Connection header
// names, are not passed on; the rest are, untouched.
func TestStripHop(t *testing.T) {
	h := http.Header{}
	h.Add("Connection", "X-Private, keep-alive")
	h.Add("Connection", " x-other ")
	h.Add("Keep-Alive", "timeout=5")
	h.Add("Transfer-Encoding", "chunked")
	h.Add("Upgrade", "h2c")
	h.Add("Te", "trailers")
	h.Add("Proxy-Authorization", "Basic c2VjcmV0")
	h.Add("X-Private", "1")
	h.Add("X-Other", "2")
	h.Add("Content-Type", "application/json")
	h.Add("X-Kept", "a")
	h.Add("X-Kept", "b")
	stripHop(h)
	want := http.Header{"Content-Type": {"application/json"}, "X-Kept": {"a", "b"}}
	if !reflect.DeepEqual(h, want) {
		t.Fatalf("after stripHop: %v, want %v", h, want)
	}
}
