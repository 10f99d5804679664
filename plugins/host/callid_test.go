package host

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/hookgate/hookgate/plugins/sdk/proto"
)

// answerWithID serves the call socket protocol on a Unix socket, answering
// every request with the id that id computes from the request's.
func answerWithID(t *testing.T, id func(uint64) uint64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "calls.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					var hdr [4]byte
					if _, err := io.ReadFull(r, hdr[:]); err != nil {
						return
					}
					b := make([]byte, binary.BigEndian.Uint32(hdr[:]))
					if _, err := io.ReadFull(r, b); err != nil {
						return
					}
					req := new(pb.CallRequest)
					if err := proto.Unmarshal(b, req); err != nil {
						return
					}
					out, _ := proto.Marshal(&pb.CallResponse{Id: id(req.Id), Response: &pb.TransformResponse{}})
					if _, err := c.Write(binary.BigEndian.AppendUint32(nil, uint32(len(out)))); err != nil {
						return
					}
					if _, err := c.Write(out); err != nil {
						return
					}
				}
			}()
		}
	}()
	return path
}

// An answer whose id is not the request's (an extra or late frame of the
// plugin) is refused, and its connection is closed rather than reused, so
// that no call reads an answer meant for another; answers that repeat the
// id are taken and their connection kept.
func TestCallSocketAnswerToAnotherRequestIsRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req := &pb.TransformRequest{}

	good, err := newCallPool(answerWithID(t, func(id uint64) uint64 { return id }), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer good.close()
	for range 3 {
		if _, err := good.call(ctx, req); err != nil {
			t.Fatalf("an answer with the request's id: %v", err)
		}
	}
	if n := len(good.idle); n != 1 {
		t.Fatalf("%d idle connections after three calls in a row, want the one reused", n)
	}

	bad, err := newCallPool(answerWithID(t, func(id uint64) uint64 { return id + 1 }), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.close()
	_, err = bad.call(ctx, req)
	if status.Code(err) != codes.Internal {
		t.Fatalf("an answer to another request: %v, want an Internal error", err)
	}
	if n := len(bad.idle); n != 0 {
		t.Fatalf("the out-of-step connection was kept (%d idle)", n)
	}
}
