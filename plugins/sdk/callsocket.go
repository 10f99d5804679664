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
// connection's goroutine reads the request, runs it and writes the answer:
// one wake-up of the plugin per call (docs/benchmarks.md, "Plugin calls:
// the call socket").

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

// serve answers the calls of one connection, each in this goroutine: read
// the request, run it, write the answer. A call that is still running
// after watchAfter gets a watcher, which waits for what hookgate sends
// next: the end of the connection (hookgate gave up on the call, or
// stopped) cancels the call's context, as gRPC does; the next request
// (hookgate has the answer) ends the watch. Calls that answer sooner,
// nearly all, cost no other goroutine: in a plugin idle between calls each
// hand-off between goroutines costs a wake-up and cold caches.
func (cs *callSocket) serve(c net.Conn) {
	defer func() {
		cs.mu.Lock()
		delete(cs.conns, c)
		cs.mu.Unlock()
		c.Close()
	}()
	r := bufio.NewReaderSize(c, 4<<10)
	var buf []byte
	for {
		var hdr [4]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n > pb.MaxCallRequest {
			// Not read: the connection cannot be used again.
			writeCallResponse(c, 0, nil, status.Errorf(codes.ResourceExhausted,
				"call request of %d bytes is over the limit of %d", n, pb.MaxCallRequest))
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
			writeCallResponse(c, 0, nil, status.Errorf(codes.InvalidArgument, "call request: %v", err))
			return
		}
		ctx, cancel := callContext(req)
		w := watchCall(r, cancel)
		var resp *pb.TransformResponse
		err := status.Error(codes.InvalidArgument, "call request has no request")
		if req.Request != nil {
			resp, err = cs.srv.Transform(ctx, req.Request)
		}
		watching := w.stop()
		writeCallResponse(c, req.Id, resp, err)
		if watching {
			// The watcher owns r until hookgate sends again or leaves.
			<-w.exited
		}
		cancel()
	}
}

// watchAfter is how long a call runs before it is watched for hookgate
// giving up on it.
const watchAfter = time.Millisecond

// callWatch watches one call's connection once the call has run for
// watchAfter.
type callWatch struct {
	timer  *time.Timer
	exited chan struct{}

	mu       sync.Mutex
	done     bool // the call ended: no watch starts
	watching bool
}

func watchCall(r *bufio.Reader, cancel context.CancelFunc) *callWatch {
	w := &callWatch{exited: make(chan struct{})}
	w.timer = time.AfterFunc(watchAfter, func() {
		w.mu.Lock()
		if w.done {
			w.mu.Unlock()
			return
		}
		w.watching = true
		w.mu.Unlock()
		defer close(w.exited)
		// Blocks until hookgate sends its next request (left in r for
		// serve) or closes the connection.
		if _, err := r.Peek(1); err != nil {
			cancel()
		}
	})
	return w
}

// stop ends the watch of a call that ended and reports whether a watcher
// runs (serve must then wait for it before reading again).
func (w *callWatch) stop() bool {
	w.timer.Stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
	return w.watching
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

// writeCallResponse writes one answer frame to the request numbered id:
// the response, or err as a gRPC status. A failed write means hookgate closed the connection: there
// is nobody to tell.
func writeCallResponse(w io.Writer, id uint64, resp *pb.TransformResponse, err error) {
	out := &pb.CallResponse{Response: resp, Id: id}
	if err != nil {
		st := status.Convert(err)
		out = &pb.CallResponse{Code: uint32(st.Code()), Message: st.Message(), Id: id}
	}
	b, merr := proto.MarshalOptions{}.MarshalAppend(make([]byte, 4, 4+proto.Size(out)), out)
	if merr != nil {
		out = &pb.CallResponse{Code: uint32(codes.Internal), Message: "encode answer: " + merr.Error(), Id: id}
		b, _ = proto.MarshalOptions{}.MarshalAppend(make([]byte, 4, 64), out)
	}
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	_, _ = w.Write(b)
}
