// Command cloudcx is hookgate's built-in CloudCX plugin. Outgoing, it
// provides the format `cloudcx`: contact events as CloudCX's contact webhook
// messages (ContactCreated / ContactUpdated with the contacts, ContactDeleted
// with their ids); other events are skipped. Incoming, it turns a CloudCX
// contact message POSTed to an incoming webhook into requests on the CRM's
// contacts API. Field mapping: docs/formats.md.
package main

import (
	"context"

	"github.com/hookgate/hookgate/plugins/sdk"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "1.0.0"

type cloudcx struct{}

func (cloudcx) Info() sdk.Info {
	return sdk.Info{
		Name: "cloudcx", Version: version, Formats: []string{"cloudcx"},
		EventTypes: []string{"contact.created", "contact.updated", "contact.deleted"},
	}
}

func (cloudcx) Outgoing(_ context.Context, req sdk.Outgoing) (sdk.Result, error) {
	if req.Kind != sdk.KindFormat {
		return sdk.Result{}, errUnsupported(req.Name)
	}
	return render(req.Event)
}

func (cloudcx) Incoming(_ context.Context, req sdk.Incoming) (sdk.IncomingResult, error) {
	return incoming(req), nil
}

func main() { sdk.Serve(cloudcx{}) }
