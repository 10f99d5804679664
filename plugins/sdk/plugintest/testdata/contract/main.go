// Command contract is a plugin for plugintest's own tests: each event type
// it declares breaks (or keeps) the contract in its own way.
package main

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/hookgate/hookgate/plugins/sdk"
)

type contract struct{}

func (contract) Info() sdk.Info {
	return sdk.Info{Name: "contract", Version: "0.0.1", Formats: []string{"t"}, Transforms: []string{"redact"},
		EventTypes: []string{"a.rendered", "b.skipped", "c.failing", "d.badjson", "e.missing", "f.text"}}
}

func (contract) Outgoing(_ context.Context, req sdk.Outgoing) (sdk.Result, error) {
	if req.Kind == sdk.KindTransform {
		return sdk.Result{Data: json.RawMessage(`{"redacted":true}`)}, nil
	}
	switch req.Event.Type {
	case "b.skipped":
		return sdk.Skip("not this one"), nil
	case "c.failing":
		return sdk.Result{}, errors.New("the CRM field is missing")
	case "d.badjson":
		return sdk.Result{Body: []byte("{nope"), ContentType: "application/json"}, nil
	case "f.text":
		return sdk.Result{Body: []byte("hello " + req.Settings["who"]), ContentType: "text/plain"}, nil
	}
	return sdk.JSON(map[string]any{"type": req.Event.Type, "id": req.Event.ID, "data": req.Event.Data, "who": req.Settings["who"]})
}

func main() { sdk.Serve(contract{}) }
