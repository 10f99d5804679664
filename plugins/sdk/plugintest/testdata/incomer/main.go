// Command incomer is a plugin with an incoming direction, for plugintest's
// own tests: {"name": N} becomes a POST of a contact named N to the
// contacts_path setting (default /crm/v1/contacts); anything else is
// rejected.
package main

import (
	"context"
	"encoding/json"

	"github.com/hookgate/hookgate/plugins/sdk"
)

type incomer struct{}

func (incomer) Info() sdk.Info { return sdk.Info{Name: "incomer", Version: "1.0.0"} }

func (incomer) Outgoing(context.Context, sdk.Outgoing) (sdk.Result, error) {
	return sdk.Skip("incoming only"), nil
}

func (incomer) Incoming(_ context.Context, req sdk.Incoming) (sdk.IncomingResult, error) {
	var msg struct{ Name string }
	if json.Unmarshal(req.Body, &msg) != nil || msg.Name == "" {
		return sdk.Reject("not a message with a name"), nil
	}
	path := req.Settings["contacts_path"]
	if path == "" {
		path = "/crm/v1/contacts"
	}
	body, _ := json.Marshal(map[string]string{"first_name": msg.Name, "source": req.Headers.Get("x-source")})
	return sdk.IncomingResult{Requests: []sdk.Request{{Method: "POST", Path: path, Body: body,
		Headers: sdk.Headers{"Content-Type": "application/json"}}}}, nil
}

func main() { sdk.Serve(incomer{}) }
