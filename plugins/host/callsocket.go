package host

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/hookgate/hookgate/plugins/sdk/proto"
)

// The call socket (docs/plugins.md, "The call socket"): a plugin that says
// so in its Info listens on a Unix socket in a private directory hookgate
// made for its process, and hookgate makes its Transform calls there
// instead of over gRPC. Each connection carries one call at a time: the
// calling goroutine writes a length-prefixed CallRequest and reads the
// CallResponse itself. Over gRPC the same call is handed from the caller to
// the HTTP/2 writer goroutine and back from the reader goroutine, and in a
// process idle between calls each hand-off wakes a sleeping thread: on a
// busy 2-core machine that was most of the latency a plugin format added
// (docs/benchmarks.md, "Plugin calls: the call socket").
//
// Every outcome maps to the gRPC status the same call would have had over
// gRPC, so that failure handling (timeouts, crashes, the breaker, the retry
// on a restarted process) is the same code for both.

const (
	// callConnsMax bounds the connections open to one plugin process, so
	// the calls in flight on its socket at once. They stay open for the
	// next calls. A call that finds every one in use goes over gRPC, which
	// has no such bound: a plugin whose calls are slow (waiting on a
	// third party) is not held to 32 at a time.
	callConnsMax = 32
)

// callPool is the connections to one plugin process's call socket. It dies
// with the process: a new process gets a new pool.
type callPool struct {
	path    string
	maxResp int // largest CallResponse frame read

	sem chan struct{} // one per open connection

	mu     sync.Mutex
	idle   []*callConn
	closed bool
}

type callConn struct {
	c    *net.UnixConn
	r    *bufio.Reader
	wbuf []byte
	rbuf []byte
	seq  uint64 // the id of the connection's last request
}

// newCallPool connects to the call socket once, to check that it answers
// at all before calls rely on it.
func newCallPool(path string, maxResp int) (*callPool, error) {
	p := &callPool{path: path, maxResp: maxResp, sem: make(chan struct{}, callConnsMax)}
	c, err := p.dial()
	if err != nil {
		return nil, err
	}
	p.sem <- struct{}{}
	p.put(c, true)
	return p, nil
}

func (p *callPool) dial() (*callConn, error) {
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: p.path, Net: "unix"})
	if err != nil {
		return nil, err
	}
	return &callConn{c: c, r: bufio.NewReaderSize(c, 4<<10)}, nil
}

// get returns a connection for one call. errNoCallConn: callConnsMax are
// in use, or the socket cannot be reached now.
func (p *callPool) get() (*callConn, error) {
	select {
	case p.sem <- struct{}{}:
	default:
		return nil, errNoCallConn
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.sem
		return nil, errNoCallConn
	}
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return c, nil
	}
	p.mu.Unlock()
	c, err := p.dial()
	if err != nil {
		<-p.sem
		return nil, errNoCallConn
	}
	return c, nil
}

var errNoCallConn = errors.New("no connection to the call socket is free")

// put gives a connection back after a call: kept when the call ended
// cleanly (ok), closed otherwise (a late answer could be read as the next
// call's).
func (p *callPool) put(c *callConn, ok bool) {
	p.mu.Lock()
	if ok && !p.closed {
		p.idle = append(p.idle, c)
		c = nil
	}
	p.mu.Unlock()
	if c != nil {
		c.c.Close()
	}
	<-p.sem
}

// close closes the idle connections; those in use are closed when given back.
func (p *callPool) close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, c := range idle {
		c.c.Close()
	}
}

// call makes one Transform call on the socket under ctx's deadline. Its
// error is a gRPC status, as the gRPC call's would be: DeadlineExceeded or
// Canceled when ctx ended, Unavailable when the process closed the
// connection (it exited), ResourceExhausted for an answer over maxResp, and
// the plugin's own status when it answered with an error. errNoCallConn:
// nothing was sent, the caller may use gRPC instead.
func (p *callPool) call(ctx context.Context, req *pb.TransformRequest) (*pb.TransformResponse, error) {
	cr := &pb.CallRequest{Request: req}
	deadline, hasDeadline := ctx.Deadline()
	if hasDeadline {
		cr.TimeoutUs = max(1, time.Until(deadline).Microseconds())
	}
	if md, ok := metadata.FromOutgoingContext(ctx); ok && len(md) > 0 {
		cr.Metadata = make(map[string]string, len(md))
		for k, v := range md {
			if len(v) > 0 {
				cr.Metadata[k] = v[0]
			}
		}
	}
	size := proto.Size(cr)
	if size > pb.MaxCallRequest {
		return nil, errNoCallConn // over what the plugin reads: gRPC says so
	}
	c, err := p.get()
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() { p.put(c, ok) }()

	// The deadline ends a call that hangs; cancelling ctx ends it at once.
	if hasDeadline {
		_ = c.c.SetDeadline(deadline)
	} else {
		_ = c.c.SetDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { _ = c.c.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c.seq++
	cr.Id = c.seq
	c.wbuf, err = proto.MarshalOptions{}.MarshalAppend(append(c.wbuf[:0], 0, 0, 0, 0), cr)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "encode call: %v", err)
	}
	binary.BigEndian.PutUint32(c.wbuf, uint32(len(c.wbuf)-4))
	if _, err := c.c.Write(c.wbuf); err != nil {
		return nil, p.ioStatus(ctx, err)
	}
	var hdr [4]byte
	if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
		return nil, p.ioStatus(ctx, err)
	}
	n := int(binary.BigEndian.Uint32(hdr[:]))
	if n > p.maxResp {
		return nil, status.Errorf(codes.ResourceExhausted, "answer of %d bytes is over the limit of %d", n, p.maxResp)
	}
	if cap(c.rbuf) < n {
		c.rbuf = make([]byte, n)
	}
	if _, err := io.ReadFull(c.r, c.rbuf[:n]); err != nil {
		return nil, p.ioStatus(ctx, err)
	}
	resp := new(pb.CallResponse)
	if err := proto.Unmarshal(c.rbuf[:n], resp); err != nil {
		// The plugin broke the framing: do not read this connection again.
		return nil, status.Errorf(codes.Internal, "call socket: undecodable answer: %v", err)
	}
	if resp.Id != cr.Id {
		// An extra or late frame of the plugin: this answer is not this
		// call's, and the connection is out of step (closed, not reused).
		return nil, status.Errorf(codes.Internal, "call socket: an answer to request %d, not to %d", resp.Id, cr.Id)
	}
	if cap(c.rbuf) > 64<<10 {
		c.rbuf = nil // keep no large buffer per idle connection
	}
	if cap(c.wbuf) > 64<<10 {
		c.wbuf = nil
	}
	ok = stop() // false: ctx ended as the answer came; the deadline is spoilt
	if resp.Code != 0 {
		return nil, status.Error(codes.Code(resp.Code), resp.Message)
	}
	if resp.Response == nil {
		return nil, status.Error(codes.Internal, "call socket: an answer without a response")
	}
	return resp.Response, nil
}

// ioStatus is the gRPC status of a call whose connection failed.
func (p *callPool) ioStatus(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return status.FromContextError(ctx.Err()).Err()
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	return status.Error(codes.Unavailable, "call socket: "+err.Error())
}

// socketDirPrefix starts the names of the call socket directories:
// "hookgate-plugin-<pid of the hookgate process>-<random>".
const socketDirPrefix = "hookgate-plugin-"

var sweepOnce sync.Once

// callSocketDir makes the private directory a plugin process may open its
// call socket in (pb.SocketDirEnv). The first call of a process also sweeps
// the directories that hookgate processes no longer running left behind.
func callSocketDir() (string, error) {
	sweepOnce.Do(func() { sweepSocketDirs(os.TempDir()) })
	return os.MkdirTemp("", socketDirPrefix+strconv.Itoa(os.Getpid())+"-")
}

// sweepSocketDirs removes from tmp the call socket directories of hookgate
// processes that are gone: a process killed with SIGKILL cannot remove its
// own. A directory is left alone when its process is alive (or may be: a
// process of another user answers "not permitted"), or when its name holds
// no process id; another user's directory cannot be removed anyway.
func sweepSocketDirs(tmp string) {
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), socketDirPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pid, _, ok := strings.Cut(rest, "-")
		n, err := strconv.Atoi(pid)
		if !ok || err != nil || n <= 0 || processAlive(n) {
			continue
		}
		_ = os.RemoveAll(filepath.Join(tmp, e.Name()))
	}
}

// processAlive reports whether a process with id pid may be running.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// callSocketIn reports whether the socket a plugin announced is in the
// directory hookgate gave it: hookgate dials no other path.
func callSocketIn(dir, sock string) bool {
	return sock != "" && dir != "" && filepath.Dir(filepath.Clean(sock)) == filepath.Clean(dir)
}
