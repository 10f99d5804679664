package sender

import (
	"context"
	"io"
	"net/http"
	"testing"
)

// BenchmarkSend measures one delivery to a loopback receiver over a
// keep-alive connection. allocs/op includes the receiver's own, since both
// run in this process.
func BenchmarkSend(b *testing.B) {
	srv := newServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}), false)
	s := newSender(b, Config{}, "127.0.0.0/8")
	body := []byte(`{"event":"contact.created","timestamp":1710700000,"id":"evt_2fQ3kL","data":{"id":"c_1","name":"John Doe","email":"john@example.com"}}`)
	headers := http.Header{
		"Content-Type":        {"application/json"},
		"User-Agent":          {"hookgate/bench"},
		"X-Webhook-Event":     {"contact.created"},
		"X-Webhook-Timestamp": {"1710700000"},
		"X-Webhook-Signature": {"5d41402abc4b2a76b9719d911017c592a1e3b1c2d3e4f5a6b7c8d9e0f1a2b3c4"},
		"Webhook-Id":          {"dlv_2fQ3kL9xYz"},
		"Webhook-Timestamp":   {"1710700000"},
		"Webhook-Signature":   {"v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="},
	}
	req := &Request{URL: srv.URL + "/hook", Body: body, Headers: headers}
	ctx := context.Background()

	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if res := s.Send(ctx, req); !res.OK() {
				b.Fatalf("send: %+v", res)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if res := s.Send(ctx, req); !res.OK() {
					b.Errorf("send: %+v", res)
					return
				}
			}
		})
	})
}
