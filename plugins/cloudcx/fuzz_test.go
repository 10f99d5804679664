package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/plugins/sdk"
)

// FuzzIncoming feeds arbitrary bodies to the incoming translation: it must
// never panic, and every request it returns must stay under contacts_path.
func FuzzIncoming(f *testing.F) {
	f.Add([]byte(`{"event":"ContactCreated","contacts":[{"id":"a"}]}`))
	f.Add([]byte(`{"event":"ContactDeleted","ids":["../../admin",1]}`))
	f.Add([]byte(`{"event":"ContactUpdated","contacts":[{"id":"a/b?c"}]}`))
	f.Add([]byte(`{"event":"ContactDeleted","ids":[".."]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		res := incoming(sdk.Incoming{Method: "POST", Path: "/", Body: body})
		for _, r := range res.Requests {
			rest, ok := strings.CutPrefix(r.Path, defaultContactsPath)
			if !ok || strings.Count(rest, "/") > 1 || strings.ContainsAny(rest, "?#") || rest == "/.." || rest == "/." {
				t.Fatalf("request path %q escapes the contacts collection", r.Path)
			}
			if len(r.Body) > 0 && !json.Valid(r.Body) {
				t.Fatalf("invalid JSON body %s", r.Body)
			}
		}
	})
}

// FuzzRender feeds arbitrary event data to the outgoing format: it returns
// valid JSON or an error, never a panic.
func FuzzRender(f *testing.F) {
	f.Add("contact.created", []byte(`{"id":"a","created_at":"2024-11-06T07:23:50Z"}`))
	f.Add("contact.deleted", []byte(`{"ids":["a","b"]}`))
	f.Add("contact.updated", []byte(`{"contacts":[{"id":1,"tags":[]}]}`))
	f.Fuzz(func(t *testing.T, typ string, data []byte) {
		res, err := render(sdk.Event{Type: typ, Data: data})
		if err == nil && !res.Skip && !json.Valid(res.Body) {
			t.Fatalf("invalid JSON %s from %s", res.Body, data)
		}
	})
}
