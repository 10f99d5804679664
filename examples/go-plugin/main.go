// Command go-plugin is the example of docs/plugins.md: a hookgate format
// plugin that posts a one-line text message for every contact event (the
// shape of a chat tool's incoming webhook).
package main

import (
	"context"
	"encoding/json"

	"github.com/hookgate/hookgate/plugins/sdk"
)

type chat struct{}

func (chat) Info() sdk.Info {
	return sdk.Info{
		Name: "chat", Version: "1.0.0", Formats: []string{"chat"},
		// The contract: webhooks in format chat may subscribe to these only.
		EventTypes: []string{"contact.created", "contact.updated"},
	}
}

func (chat) Outgoing(_ context.Context, req sdk.Outgoing) (sdk.Result, error) {
	var d struct {
		Name string `json:"first_name"`
	}
	if err := json.Unmarshal(req.Event.Data, &d); err != nil {
		return sdk.Result{}, err // a plugin_error for this attempt, shown in the delivery log
	}
	prefix := req.Settings["prefix"]
	return sdk.JSON(map[string]string{"text": prefix + req.Event.Type + " " + d.Name})
}

func main() { sdk.Serve(chat{}) }
