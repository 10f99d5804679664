package sdk

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/hookgate/hookgate/plugins/sdk/proto"
)

type panicky struct{}

func (panicky) Info() Info {
	return Info{Name: "panicky", Version: "1.0.0", Formats: []string{"panicky"}}
}

func (panicky) Outgoing(_ context.Context, req Outgoing) (Result, error) {
	if req.Event.Type == "deal.lost" {
		var m map[string]string
		m["x"] = "y"
	}
	return JSON(map[string]string{"ok": req.Event.Type})
}

// A panic in one call answers that call with "panic: <value>"; the server
// goes on answering the next call.
func TestPanicAnswersThatCallOnly(t *testing.T) {
	srv := NewServer(panicky{})
	call := func(typ string) (*pb.TransformResponse, error) {
		return srv.Transform(context.Background(), &pb.TransformRequest{Direction: &pb.TransformRequest_Outgoing{
			Outgoing: &pb.OutgoingRequest{Kind: pb.Kind_KIND_FORMAT, Name: "panicky", Event: &pb.Event{Id: "evt_1", Type: typ}},
		}})
	}
	_, err := call("deal.lost")
	st := status.Convert(err)
	if st.Code() != codes.Internal || st.Message() != PanicPrefix+"assignment to entry in nil map" {
		t.Fatalf("want the panic's message, got %v", err)
	}
	res, err := call("contact.created")
	if err != nil || !strings.Contains(string(res.GetOutgoing().GetBody()), "contact.created") {
		t.Fatalf("the call after a panic: %v, %v", res, err)
	}
}
