// Command go-plugin is the example of docs/plugins.md: a hookgate format
// plugin that posts a one-line text message for every event (the shape of
// a chat tool's incoming webhook).
package main

import (
	"context"
	"encoding/json"

	"github.com/hookgate/hookgate/plugins/sdk"
)

type chat struct{}

func (chat) Info() sdk.Info {
	return sdk.Info{Name: "chat", Version: "1.0.0", Formats: []string{"chat"}}
}

func (chat) Outgoing(_ context.Context, req sdk.Outgoing) (sdk.Result, error) {
	var d struct {
		Name string `json:"first_name"`
	}
	_ = json.Unmarshal(req.Event.Data, &d)
	prefix := req.Settings["prefix"]
	return sdk.JSON(map[string]string{"text": prefix + req.Event.Type + " " + d.Name})
}

func main() { sdk.Serve(chat{}) }
