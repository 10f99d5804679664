package sdk

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"reflect"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/hookgate/hookgate/plugins/sdk/proto"
)

// Serve runs p as a hookgate plugin until hookgate stops it. It must be
// called from main; run outside hookgate it prints a message and exits 1.
//
// A plugin that Check finds wrong is not served: Serve prints why on
// stderr and exits 1, so the mistake shows at the first start rather than
// as a feature that silently does not work.
func Serve(p Plugin) {
	// hookgate stops its plugins itself (and the kernel kills them if it
	// dies): a SIGTERM sent to the whole process group as a service
	// manager stops hookgate must not make the plugin exit first, which
	// hookgate would log as a crash.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGTERM)
	if err := Check(p); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv := &server{p: p}
	cs := listenCallSocket(srv)
	if cs != nil {
		srv.callSocket = cs.path
	}
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: Handshake(),
		Plugins:         goplugin.PluginSet{pb.PluginName: &grpcPlugin{srv: srv}},
		GRPCServer:      newGRPCServer,
	})
	cs.close()
}

// newGRPCServer is go-plugin's default server with a fixed flow-control
// window: that turns off gRPC's bandwidth-delay estimation, which otherwise
// answers the request of nearly every call with a PING hookgate must
// acknowledge (an extra frame each way and an extra wake-up of both
// processes per call). Nothing of the contract changes: a window is a
// per-connection setting of HTTP/2.
func newGRPCServer(opts []grpc.ServerOption) *grpc.Server {
	return grpc.NewServer(append(opts,
		grpc.InitialWindowSize(1<<20), grpc.InitialConnWindowSize(1<<20),
	)...)
}

// Check reports a mistake that would make hookgate misread p: a method
// named Incoming whose signature is not IncomingPlugin's, or that is
// defined on the pointer while p is a value. Either would otherwise leave
// the plugin without incoming support (Info says incoming: false) and
// every incoming webhook naming it refused. Serve and plugintest call it.
func Check(p Plugin) error {
	if _, ok := p.(IncomingPlugin); ok {
		return nil
	}
	t := reflect.TypeOf(p)
	const want = "Incoming(context.Context, sdk.Incoming) (sdk.IncomingResult, error)"
	if m, ok := t.MethodByName("Incoming"); ok {
		return fmt.Errorf("sdk: %s has the method Incoming%s, which hookgate cannot call; to translate incoming requests it must be %s",
			t, signature(m.Type), want)
	}
	if t.Kind() != reflect.Pointer {
		if _, ok := reflect.PointerTo(t).MethodByName("Incoming"); ok {
			return fmt.Errorf("sdk: Incoming is a method of *%s, but Serve was given a %s value, which lacks it: pass a pointer (sdk.Serve(&%s{...}))",
				t, t, t.Name())
		}
	}
	return nil
}

// signature prints a method's type without its receiver: "(a, b) (c, d)".
func signature(m reflect.Type) string {
	var in, out []string
	for i := 1; i < m.NumIn(); i++ {
		in = append(in, m.In(i).String())
	}
	for i := range m.NumOut() {
		out = append(out, m.Out(i).String())
	}
	s := "(" + strings.Join(in, ", ") + ")"
	switch len(out) {
	case 0:
	case 1:
		s += " " + out[0]
	default:
		s += " (" + strings.Join(out, ", ") + ")"
	}
	return s
}

// Handshake is the go-plugin handshake of the hookgate contract, shared with
// the host.
func Handshake() goplugin.HandshakeConfig {
	return goplugin.HandshakeConfig{
		ProtocolVersion:  pb.ProtocolVersion,
		MagicCookieKey:   pb.MagicCookieKey,
		MagicCookieValue: pb.MagicCookieValue,
	}
}

// grpcPlugin is the plugin side of go-plugin's GRPCPlugin.
type grpcPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	srv pb.PluginServer
}

func (g *grpcPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterPluginServer(s, g.srv)
	return nil
}

func (g *grpcPlugin) GRPCClient(context.Context, *goplugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("sdk: the plugin side has no client")
}

// NewServer adapts p to the generated gRPC service, for plugins that run
// their own gRPC server and for tests.
func NewServer(p Plugin) pb.PluginServer { return &server{p: p} }

type server struct {
	pb.UnimplementedPluginServer
	p Plugin
	// callSocket is the path of the call socket Serve listens on, "" for none.
	callSocket string
}

// PanicPrefix starts the message of the error a call answers when the
// plugin panicked in it: "panic: " and the panic's value. hookgate records
// such a failure as the plugin's, of kind "panic".
const PanicPrefix = "panic: "

// recoverCall turns a panic in one call into that call's error, so that one
// bad event costs one answer and the process lives on. The stack goes to
// stderr, which hookgate logs at debug level.
func recoverCall(err *error) {
	v := recover()
	if v == nil {
		return
	}
	msg := fmt.Sprint(v)
	fmt.Fprintf(os.Stderr, "%s%s\n%s", PanicPrefix, msg, debug.Stack())
	*err = status.Error(codes.Internal, PanicPrefix+msg)
}

func (s *server) Info(context.Context, *pb.InfoRequest) (_ *pb.InfoResponse, err error) {
	defer recoverCall(&err)
	in := s.p.Info()
	_, incoming := s.p.(IncomingPlugin)
	return &pb.InfoResponse{
		Name: in.Name, Version: in.Version, Formats: in.Formats, Transforms: in.Transforms,
		EventTypes: in.EventTypes, NeedsConfirmation: in.NeedsConfirmation, Incoming: incoming,
		CallSocket: s.callSocket,
	}, nil
}

func (s *server) Transform(ctx context.Context, req *pb.TransformRequest) (_ *pb.TransformResponse, err error) {
	defer recoverCall(&err)
	switch d := req.Direction.(type) {
	case *pb.TransformRequest_Outgoing:
		return s.outgoing(ctx, d.Outgoing)
	case *pb.TransformRequest_Incoming:
		ip, ok := s.p.(IncomingPlugin)
		if !ok {
			return nil, status.Error(codes.Unimplemented, "this plugin does not handle incoming requests")
		}
		in := d.Incoming
		res, err := ip.Incoming(ctx, Incoming{
			Method: in.Method, Path: in.Path, Query: in.Query, Headers: in.Headers, Body: in.Body, Settings: in.Settings,
		})
		if err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
		out := &pb.IncomingResponse{Reject: res.Reject, RejectReason: res.Reason}
		for _, r := range res.Requests {
			out.Requests = append(out.Requests, &pb.HTTPRequest{Method: r.Method, Path: r.Path, Headers: r.Headers, Body: r.Body})
		}
		return &pb.TransformResponse{Direction: &pb.TransformResponse_Incoming{Incoming: out}}, nil
	default:
		return nil, status.Error(codes.InvalidArgument, "transform request has no direction")
	}
}

func (s *server) outgoing(ctx context.Context, o *pb.OutgoingRequest) (*pb.TransformResponse, error) {
	ev := o.GetEvent()
	at, _ := time.Parse(time.RFC3339Nano, ev.GetOccurredAt())
	res, err := s.p.Outgoing(ctx, Outgoing{
		Kind: Kind(o.Kind), Name: o.Name, Settings: o.Settings, WebhookID: o.WebhookId,
		Event: Event{ID: ev.GetId(), Type: ev.GetType(), Tenant: ev.GetTenant(), OccurredAt: at, Data: ev.GetData()},
	})
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if res.ContentType == "" && len(res.Body) > 0 {
		res.ContentType = "application/json"
	}
	return &pb.TransformResponse{Direction: &pb.TransformResponse_Outgoing{Outgoing: &pb.OutgoingResponse{
		Body: res.Body, ContentType: res.ContentType, Headers: res.Headers,
		Skip: res.Skip, SkipReason: res.SkipReason, Data: res.Data,
	}}}, nil
}
