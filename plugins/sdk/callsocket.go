package sdk

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/hookgate/hookgate/plugins/sdk/proto"
)

// The call socket: besides gRPC, a plugin served by Serve listens on a
// Unix socket in the directory hookgate names (pb.SocketDirEnv) and says so
// in its Info (call_socket). hookgate then makes each Transform call there
// as a length-prefixed CallRequest frame on a connection that carries one
// call at a time, and reads one CallResponse frame back.
//
// Why: over gRPC a call is a chain of goroutine hand-offs in each process
// (the connection's reader, the handler, the HTTP/2 writer), and in a
// process that sat idle between calls each hand-off wakes a sleeping
// thread, which costs tens of microseconds on a busy machine. Here the
// connection's goroutine reads the request and the handler writes the
// answer itself: one wake-up of the plugin per call (docs/benchmarks.md,
// "Plugin calls: the call socket").

// callSocketName is the socket's file name in hookgate's directory.
const callSocketName = "calls.sock"

// callSocket listens on the call socket, when hookgate offers a directory
// for it, and serves calls to s until closed.
type callSocket struct {
	srv  pb.PluginServer
	ln   net.Listener
	path string

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	done  bool
}

// listenCallSocket opens the call socket in the directory hookgate gave,
// or returns nil (every call then goes over gRPC): no directory (an older
// hookgate), the transport forced to gRPC, or a socket that cannot be
// opened, which is logged on stderr.
func listenCallSocket(srv pb.PluginServer) *callSocket {
	dir := os.Getenv(pb.SocketDirEnv)
	if dir == "" || os.Getenv(pb.TransportEnv) == "grpc" {
		return nil
	}
	path := filepath.Join(dir, callSocketName)
	ln, err := net.Listen("unix", path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sdk: no call socket, every call goes over gRPC: %v\n", err)
		return nil
	}
	cs := &callSocket{srv: srv, ln: ln, path: path, conns: map[net.Conn]struct{}{}}
	go cs.accept()
	return cs
}

func (cs *callSocket) accept() {
	for {
		c, err := cs.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			// Out of file descriptors, say: hookgate's dial fails
			// meanwhile, and it makes that call over gRPC.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		cs.mu.Lock()
		if cs.done {
			cs.mu.Unlock()
			c.Close()
			return
		}
		cs.conns[c] = struct{}{}
		cs.mu.Unlock()
		go cs.serve(c)
	}
}

// close stops listening and closes every connection.
func (cs *callSocket) close() {
	if cs == nil {
		return
	}
	cs.mu.Lock()
	cs.done = true
	for c := range cs.conns {
		c.Close()
	}
	cs.mu.Unlock()
	cs.ln.Close()
}

// serve reads the calls of one connection. Each call runs in a goroutine
// of its own that writes the answer itself, while this one waits for the
// next request: a connection that ends (hookgate gave up on the call, or
// stopped) cancels the context of the call in flight, as gRPC does.
func (cs *callSocket) serve(c net.Conn) {
	defer func() {
		cs.mu.Lock()
		delete(cs.conns, c)
		cs.mu.Unlock()
		c.Close()
	}()
	r := bufio.NewReaderSize(c, 4<<10)
	var (
		buf    []byte
		cancel context.CancelFunc = func() {}
		wmu    sync.Mutex         // one answer written at a time
	)
	defer func() { cancel() }()
	for {
		var hdr [4]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n > pb.MaxCallRequest {
			// Not read: the connection cannot be used again.
			wmu.Lock()
			writeCallResponse(c, nil, status.Errorf(codes.ResourceExhausted,
				"call request of %d bytes is over the limit of %d", n, pb.MaxCallRequest))
			wmu.Unlock()
			return
		}
		if cap(buf) < int(n) {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			return
		}
		req := new(pb.CallRequest)
		if err := proto.Unmarshal(buf, req); err != nil {
			wmu.Lock()
			writeCallResponse(c, nil, status.Errorf(codes.InvalidArgument, "call request: %v", err))
			wmu.Unlock()
			return
		}
		cancel()
		var ctx context.Context
		ctx, cancel = callContext(req)
		go func(ctx context.Context, done context.CancelFunc) {
			defer done()
			var resp *pb.TransformResponse
			err := status.Error(codes.InvalidArgument, "call request has no request")
			if req.Request != nil {
				resp, err = cs.srv.Transform(ctx, req.Request)
			}
			wmu.Lock()
			defer wmu.Unlock()
			writeCallResponse(c, resp, err)
		}(ctx, cancel)
	}
}

// callContext is the context of one call: hookgate's timeout, and its
// metadata as gRPC would give it (TraceParent reads it there).
func callContext(req *pb.CallRequest) (context.Context, context.CancelFunc) {
	ctx := context.Background()
	if len(req.Metadata) > 0 {
		md := make(metadata.MD, len(req.Metadata))
		for k, v := range req.Metadata {
			md.Set(k, v)
		}
		ctx = metadata.NewIncomingContext(ctx, md)
	}
	if req.TimeoutUs > 0 {
		return context.WithTimeout(ctx, time.Duration(req.TimeoutUs)*time.Microsecond)
	}
	return context.WithCancel(ctx)
}

// writeCallResponse writes one answer frame: the response, or err as a
// gRPC status. A failed write means hookgate closed the connection: there
// is nobody to tell.
func writeCallResponse(w io.Writer, resp *pb.TransformResponse, err error) {
	out := &pb.CallResponse{Response: resp}
	if err != nil {
		st := status.Convert(err)
		out = &pb.CallResponse{Code: uint32(st.Code()), Message: st.Message()}
	}
	b, merr := proto.MarshalOptions{}.MarshalAppend(make([]byte, 4, 4+proto.Size(out)), out)
	if merr != nil {
		out = &pb.CallResponse{Code: uint32(codes.Internal), Message: "encode answer: " + merr.Error()}
		b, _ = proto.MarshalOptions{}.MarshalAppend(make([]byte, 4, 64), out)
	}
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	_, _ = w.Write(b)
}
