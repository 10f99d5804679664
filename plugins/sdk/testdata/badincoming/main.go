// Command badincoming is a plugin whose Incoming method has the wrong
// signature, for the SDK's test that Serve refuses to start it.
package main

import (
	"context"

	"github.com/hookgate/hookgate/plugins/sdk"
)

type plugin struct{}

func (plugin) Info() sdk.Info { return sdk.Info{Name: "badincoming", Version: "1"} }

func (plugin) Outgoing(context.Context, sdk.Outgoing) (sdk.Result, error) { return sdk.Result{}, nil }

// Incoming takes the headers alone: hookgate cannot call it.
func (plugin) Incoming(context.Context, map[string]string) (sdk.IncomingResult, error) {
	return sdk.IncomingResult{}, nil
}

func main() { sdk.Serve(plugin{}) }
