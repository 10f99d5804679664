package sdk

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	pb "github.com/hookgate/hookgate/plugins/sdk/proto"
)

// sockPlugin answers with the traceparent it was given; events of type
// "wait" block until the call's context ends and report why on ended.
type sockPlugin struct{ ended chan error }

func (sockPlugin) Info() Info { return Info{Name: "sock", Version: "1.0.0", Formats: []string{"sock"}} }

func (s sockPlugin) Outgoing(ctx context.Context, req Outgoing) (Result, error) {
	switch req.Event.Type {
	case "deal.lost":
		var m map[string]string
		m["x"] = "y"
	case "fail":
		return Result{}, errors.New("no such contact")
	case "wait":
		<-ctx.Done()
		s.ended <- ctx.Err()
		return Result{}, ctx.Err()
	}
	return JSON(map[string]string{"type": req.Event.Type, "traceparent": TraceParent(ctx)})
}

// startCallSocket serves p on a call socket in a fresh directory, as Serve
// does when hookgate names one.
func startCallSocket(t *testing.T, p Plugin) *callSocket {
	t.Helper()
	dir, err := os.MkdirTemp("", "sdk-sock-") // short: a socket path is at most ~100 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	t.Setenv(pb.SocketDirEnv, dir)
	srv := &server{p: p}
	cs := listenCallSocket(srv)
	if cs == nil {
		t.Fatal("no call socket")
	}
	t.Cleanup(cs.close)
	if cs.path != filepath.Join(dir, callSocketName) {
		t.Fatalf("socket %s, not in %s", cs.path, dir)
	}
	return cs
}

func dialSocket(t *testing.T, cs *callSocket) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", cs.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

func writeFrame(t *testing.T, c net.Conn, m proto.Message) {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(binary.BigEndian.AppendUint32(nil, uint32(len(b)))); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

func readFrame(t *testing.T, c net.Conn) *pb.CallResponse {
	t.Helper()
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatal(err)
	}
	resp := new(pb.CallResponse)
	if err := proto.Unmarshal(b, resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

func outgoingCall(typ string, md map[string]string) *pb.CallRequest {
	return &pb.CallRequest{TimeoutUs: 5e6, Metadata: md, Request: &pb.TransformRequest{Direction: &pb.TransformRequest_Outgoing{
		Outgoing: &pb.OutgoingRequest{Kind: pb.Kind_KIND_FORMAT, Name: "sock", Event: &pb.Event{Id: "evt_1", Type: typ}},
	}}}
}

// One connection carries calls one after the other; each answer is the
// gRPC Transform's answer (a success, the plugin's error, a panic as
// "panic: ..."), and the call's metadata reaches TraceParent.
func TestCallSocketAnswersAsGRPCWould(t *testing.T) {
	cs := startCallSocket(t, sockPlugin{})
	c := dialSocket(t, cs)
	const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	writeFrame(t, c, outgoingCall("contact.created", map[string]string{TraceParentKey: tp}))
	resp := readFrame(t, c)
	body := string(resp.GetResponse().GetOutgoing().GetBody())
	if resp.Code != 0 || !strings.Contains(body, `"type":"contact.created"`) || !strings.Contains(body, tp) {
		t.Fatalf("answer %v", resp)
	}
	writeFrame(t, c, outgoingCall("fail", nil))
	if resp := readFrame(t, c); codes.Code(resp.Code) != codes.Internal || resp.Message != "no such contact" || resp.Response != nil {
		t.Fatalf("a plugin error: %v", resp)
	}
	writeFrame(t, c, outgoingCall("deal.lost", nil))
	if resp := readFrame(t, c); codes.Code(resp.Code) != codes.Internal || resp.Message != PanicPrefix+"assignment to entry in nil map" {
		t.Fatalf("a panic: %v", resp)
	}
	writeFrame(t, c, &pb.CallRequest{})
	if resp := readFrame(t, c); codes.Code(resp.Code) != codes.InvalidArgument {
		t.Fatalf("a call without a request: %v", resp)
	}
	// The connection still serves, and without metadata there is no traceparent.
	writeFrame(t, c, outgoingCall("contact.updated", nil))
	if resp := readFrame(t, c); resp.Code != 0 || !strings.Contains(string(resp.GetResponse().GetOutgoing().GetBody()), `"traceparent":""`) {
		t.Fatalf("answer %v", resp)
	}
}

// A frame over the limit is answered with ResourceExhausted without being
// read, and the connection is closed; bytes that are no CallRequest close
// it too. Other connections are not affected.
func TestCallSocketRefusesOversizeAndGarbage(t *testing.T) {
	cs := startCallSocket(t, sockPlugin{})
	c := dialSocket(t, cs)
	if _, err := c.Write(binary.BigEndian.AppendUint32(nil, pb.MaxCallRequest+1)); err != nil {
		t.Fatal(err)
	}
	if resp := readFrame(t, c); codes.Code(resp.Code) != codes.ResourceExhausted {
		t.Fatalf("oversize: %v", resp)
	}
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("the connection should be closed, read gave %v", err)
	}
	g := dialSocket(t, cs)
	if _, err := g.Write([]byte{0, 0, 0, 3, 0xff, 0xff, 0xff}); err != nil {
		t.Fatal(err)
	}
	if resp := readFrame(t, g); codes.Code(resp.Code) != codes.InvalidArgument {
		t.Fatalf("garbage: %v", resp)
	}
	ok := dialSocket(t, cs)
	writeFrame(t, ok, outgoingCall("contact.created", nil))
	if resp := readFrame(t, ok); resp.Code != 0 {
		t.Fatalf("another connection: %v", resp)
	}
}

// Closing the connection cancels the call in flight on it, as a cancelled
// gRPC call does; the call's timeout ends it too.
func TestCallSocketCancelsTheCallWhenTheConnectionEnds(t *testing.T) {
	ended := make(chan error, 1)
	cs := startCallSocket(t, sockPlugin{ended: ended})
	c := dialSocket(t, cs)
	writeFrame(t, c, outgoingCall("wait", nil))
	time.Sleep(50 * time.Millisecond) // let the call start; a later close cancels it either way
	c.Close()
	select {
	case err := <-ended:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("closing the connection did not cancel the call")
	}

	c = dialSocket(t, cs)
	req := outgoingCall("wait", nil)
	req.TimeoutUs = 50e3
	writeFrame(t, c, req)
	if err := <-ended; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ended with %v", err)
	}
	if resp := readFrame(t, c); resp.Code == 0 || !strings.Contains(resp.Message, "deadline exceeded") {
		t.Fatalf("answer %v", resp)
	}
}

// Without hookgate's directory (an older hookgate), or with the transport
// forced to gRPC, a plugin offers no call socket.
func TestNoCallSocketUnlessOffered(t *testing.T) {
	t.Setenv(pb.SocketDirEnv, "")
	if cs := listenCallSocket(&server{p: sockPlugin{}}); cs != nil {
		t.Fatal("a call socket without a directory")
	}
	t.Setenv(pb.SocketDirEnv, t.TempDir())
	t.Setenv(pb.TransportEnv, "grpc")
	if cs := listenCallSocket(&server{p: sockPlugin{}}); cs != nil {
		t.Fatal("a call socket with the transport forced to gRPC")
	}
	info, err := (&server{p: sockPlugin{}}).Info(context.Background(), &pb.InfoRequest{})
	if err != nil || info.CallSocket != "" {
		t.Fatalf("info %v, %v", info, err)
	}
}
