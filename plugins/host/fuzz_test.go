package host

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"
	"google.golang.org/protobuf/proto"

	pb "github.com/hookgate/hookgate/plugins/sdk/proto"
)

// FuzzPluginResponse feeds the host a format plugin's answer as it arrives
// on the wire (a TransformResponse, proto-encoded) and checks what the host
// makes of it. It never panics; an answer it accepts becomes a payload that
// net/http will send as given (every header name a token, every value free
// of control characters: what http.Transport checks before it sends, so an
// accepted answer never fails later as a "connect" error) and that cannot
// touch what hookgate owns in the request: framing, the content type, the
// signature and identity headers, nor name one header twice in two spellings.
// A JSON content type means a JSON body, and the body is sent as answered.
func FuzzPluginResponse(f *testing.F) {
	f.Add([]byte(`{"text":"hi"}`), "", "X-Chat-Channel", "general", "", "", false, "")
	f.Add([]byte(`<xml/>`), "application/xml; charset=utf-8", "X-Trace", "a b\tc", "x-trace", "again", false, "")
	f.Add([]byte(`{"a":1}`), "application/vnd.api+json", "Webhook-Signature", "v1,forged", "", "", false, "")
	f.Add([]byte(`{"a":1}`), "application/json", "x-webhook-signature", "forged", "Content-Length", "1", false, "")
	f.Add([]byte(`{"a":1}`), "application/json", "X-Ok", "line\r\nX-Webhook-Signature: forged", "", "", false, "")
	f.Add([]byte(`{"a":1}`), "application/json\r\nX-Injected: 1", "", "", "", "", false, "")
	f.Add([]byte(`{"a":1}`), "text/plain", "Bad Name", "v", "(comment)", "v", false, "")
	f.Add([]byte(`{not json`), "application/json", "", "", "", "", false, "")
	f.Add([]byte{}, "", "", "", "", "", false, "")
	f.Add([]byte{}, "", "", "", "", "", true, "deal events are not sent")
	f.Add([]byte("\xff\xfe"), "application/octet-stream", "X-Bin", "\x00", "Transfer-Encoding", "chunked", false, "")

	f.Fuzz(func(t *testing.T, body []byte, ct, k1, v1, k2, v2 string, skip bool, reason string) {
		sent := &pb.TransformResponse{Direction: &pb.TransformResponse_Outgoing{Outgoing: &pb.OutgoingResponse{
			Body: body, ContentType: ct, Skip: skip, SkipReason: reason, Headers: map[string]string{},
		}}}
		for _, kv := range [][2]string{{k1, v1}, {k2, v2}} {
			if kv[0] != "" {
				sent.GetOutgoing().Headers[kv[0]] = kv[1]
			}
		}
		wire, err := proto.Marshal(sent)
		if err != nil {
			return // not encodable (invalid UTF-8 in a string field): a plugin cannot send it either
		}
		var got pb.TransformResponse
		if err := proto.Unmarshal(wire, &got); err != nil || got.GetOutgoing() == nil {
			t.Fatalf("the wire form does not decode: %v", err)
		}
		res := got.GetOutgoing()
		pl, err := payloadOf("fuzz", res)
		if err != nil {
			if pl != nil {
				t.Fatalf("an error and a payload: %v", err)
			}
			return
		}
		if pl.Skip {
			if !res.Skip || pl.SkipReason != res.SkipReason {
				t.Fatalf("skip %v %q from an answer skip %v %q", pl.Skip, pl.SkipReason, res.Skip, res.SkipReason)
			}
			return
		}
		if len(pl.Body) == 0 || !bytes.Equal(pl.Body, res.Body) {
			t.Fatalf("body %q sent for an answered %q", pl.Body, res.Body)
		}
		if pl.ContentType == "" || !httpguts.ValidHeaderFieldValue(pl.ContentType) {
			t.Fatalf("content type %q would not be sent", pl.ContentType)
		}
		if isJSON(pl.ContentType) && !json.Valid(pl.Body) {
			t.Fatalf("invalid JSON accepted as %s: %q", pl.ContentType, pl.Body)
		}
		seen := map[string]string{}
		for k, v := range pl.Headers {
			if !httpguts.ValidHeaderFieldName(k) || !httpguts.ValidHeaderFieldValue(v) {
				t.Fatalf("header %q: %q accepted; net/http refuses to send it", k, v)
			}
			ck := http.CanonicalHeaderKey(k)
			switch {
			case ck == "Content-Type", ck == "Content-Length", ck == "Transfer-Encoding", ck == "Host", ck == "Connection",
				strings.HasPrefix(ck, "Webhook-"), strings.HasPrefix(ck, "X-Webhook-"), ck == "Te", ck == "Trailer", ck == "Upgrade",
				ck == "Keep-Alive", ck == "Proxy-Connection":
				t.Fatalf("header %q accepted: hookgate owns it", k)
			}
			if other, dup := seen[ck]; dup {
				t.Fatalf("headers %q and %q accepted: the same header twice", other, k)
			}
			seen[ck] = k
		}
	})
}
