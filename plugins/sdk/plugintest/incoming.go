package plugintest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/status"

	"github.com/hookgate/hookgate/plugins/sdk"
	pb "github.com/hookgate/hookgate/plugins/sdk/proto"
)

// Incoming sends req to the plugin's incoming direction, as hookgate does
// for an incoming webhook that names the plugin as its transform, and
// checks the answer as hookgate does: it rejects, or asks for at least one
// request, each with GET, POST, PUT, PATCH or DELETE and a path starting
// with "/". An error is an *Error when the plugin answered with one.
func (p *Plugin) Incoming(req sdk.Incoming) (sdk.IncomingResult, error) {
	if !p.info.Incoming {
		return sdk.IncomingResult{}, fmt.Errorf("%s does not handle incoming requests (Info says incoming: false): "+
			"implement Incoming(context.Context, sdk.Incoming) (sdk.IncomingResult, error)", p.info.Name)
	}
	settings := req.Settings
	if settings == nil {
		settings = p.settings
	}
	ctx, cancel := context.WithTimeout(context.Background(), CallTimeout)
	defer cancel()
	resp, err := p.rpc.Transform(ctx, &pb.TransformRequest{Direction: &pb.TransformRequest_Incoming{Incoming: &pb.IncomingRequest{
		Method: req.Method, Path: req.Path, Query: req.Query, Headers: req.Headers, Body: req.Body, Settings: settings,
	}}})
	if err != nil {
		if st, ok := status.FromError(err); ok {
			return sdk.IncomingResult{}, &Error{Message: st.Message()}
		}
		return sdk.IncomingResult{}, err
	}
	in := resp.GetIncoming()
	if in == nil {
		return sdk.IncomingResult{}, errors.New("the plugin answered an incoming call without an incoming answer")
	}
	res := sdk.IncomingResult{Reject: in.Reject, Reason: in.RejectReason}
	if !res.Reject && len(in.Requests) == 0 {
		return res, errors.New("the plugin returned neither requests nor a rejection")
	}
	for _, r := range in.Requests {
		switch r.Method {
		case "GET", "POST", "PUT", "PATCH", "DELETE":
		default:
			return res, fmt.Errorf("the plugin asked for a request with method %q; hookgate makes only GET, POST, PUT, PATCH and DELETE", r.Method)
		}
		if !strings.HasPrefix(r.Path, "/") {
			return res, fmt.Errorf("the plugin asked for a request to %q; a path must start with /", r.Path)
		}
		res.Requests = append(res.Requests, sdk.Request{Method: r.Method, Path: r.Path, Headers: r.Headers, Body: r.Body})
	}
	return res, nil
}

// IncomingCase is an incoming request as an IncomingGoldens directory
// holds it, in NAME.request.json. Body is sent as its JSON text; BodyText,
// when set, is sent as it is instead (a body that is not JSON).
type IncomingCase struct {
	Method   string          `json:"method"`
	Path     string          `json:"path"`
	Query    string          `json:"query,omitempty"`
	Headers  sdk.Headers     `json:"headers,omitempty"`
	Body     json.RawMessage `json:"body,omitempty"`
	BodyText string          `json:"body_text,omitempty"`
}

// IncomingGoldens runs every dir/NAME.request.json (an IncomingCase)
// through the plugin's incoming direction and compares what it answers
// with dir/NAME.golden.json: the requests hookgate would make, in order,
// each with its method, path, headers and body (as JSON when it is JSON),
// or the rejection and its reason. With update it rewrites the golden
// files instead. It fails when dir has no request files.
func (p *Plugin) IncomingGoldens(t *testing.T, dir string, update bool) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.request.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no incoming requests in %s: write NAME.request.json files ({\"method\", \"path\", \"headers\", \"body\"})", dir)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".request.json")
		t.Run(name, func(t *testing.T) {
			got, err := p.incomingGolden(file)
			if err != nil {
				t.Fatal(err)
			}
			Golden(t, filepath.Join(dir, name+".golden.json"), got, update)
		})
	}
}

// incomingGolden runs one request file and returns its answer as golden
// JSON.
func (p *Plugin) incomingGolden(file string) ([]byte, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var c IncomingCase
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	body := []byte(c.Body)
	if c.BodyText != "" {
		body = []byte(c.BodyText)
	}
	res, err := p.Incoming(sdk.Incoming{Method: c.Method, Path: c.Path, Query: c.Query, Headers: c.Headers, Body: body})
	if err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	type request struct {
		Method   string          `json:"method"`
		Path     string          `json:"path"`
		Headers  sdk.Headers     `json:"headers,omitempty"`
		Body     json.RawMessage `json:"body,omitempty"`
		BodyText string          `json:"body_text,omitempty"`
	}
	out := struct {
		Requests []request `json:"requests,omitempty"`
		Reject   bool      `json:"reject,omitempty"`
		Reason   string    `json:"reason,omitempty"`
	}{Reject: res.Reject, Reason: res.Reason}
	for _, r := range res.Requests {
		q := request{Method: r.Method, Path: r.Path, Headers: r.Headers}
		if json.Valid(r.Body) {
			q.Body = r.Body
		} else {
			q.BodyText = string(r.Body)
		}
		out.Requests = append(out.Requests, q)
	}
	return json.Marshal(out)
}
