package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hookgate/hookgate/plugins/sdk"
)

// defaultContactsPath is the CRM's contacts collection; setting contacts_path
// overrides it.
const defaultContactsPath = "/crm/v1/entities/contacts"

// incoming turns a CloudCX contact message into CRM API requests: one per
// contact (POST for ContactCreated, PATCH {path}/{id} for ContactUpdated)
// or per id (DELETE {path}/{id} for ContactDeleted).
func incoming(req sdk.Incoming) sdk.IncomingResult {
	if req.Method != http.MethodPost {
		return sdk.Reject("CloudCX messages are POSTed, not sent with %s", req.Method)
	}
	base := strings.TrimRight(req.Settings["contacts_path"], "/")
	if base == "" {
		base = defaultContactsPath
	}
	var msg struct {
		Event    string                       `json:"event"`
		Contacts []map[string]json.RawMessage `json:"contacts"`
		IDs      []json.RawMessage            `json:"ids"`
	}
	if err := json.Unmarshal(req.Body, &msg); err != nil {
		return sdk.Reject("body is not a CloudCX message: %v", err)
	}
	hdr := map[string]string{"Content-Type": "application/json"}
	var out sdk.IncomingResult
	switch msg.Event {
	case "ContactCreated", "ContactUpdated":
		if len(msg.Contacts) == 0 {
			return sdk.Reject("%s carries no contacts", msg.Event)
		}
		for i, c := range msg.Contacts {
			body, id := canonical(c)
			r := sdk.Request{Method: http.MethodPost, Path: base, Headers: hdr, Body: body}
			if msg.Event == "ContactUpdated" {
				if id == "" {
					return sdk.Reject("contacts[%d] has no id", i)
				}
				r.Method, r.Path = http.MethodPatch, base+"/"+url.PathEscape(id)
			}
			out.Requests = append(out.Requests, r)
		}
	case "ContactDeleted":
		if len(msg.IDs) == 0 {
			return sdk.Reject("ContactDeleted carries no ids")
		}
		for i, raw := range msg.IDs {
			id := idString(raw)
			if id == "" {
				return sdk.Reject("ids[%d] is not an id", i)
			}
			out.Requests = append(out.Requests, sdk.Request{Method: http.MethodDelete, Path: base + "/" + url.PathEscape(id)})
		}
	case "":
		return sdk.Reject(`body has no "event"`)
	default:
		return sdk.Reject("unknown CloudCX event %q (ContactCreated, ContactUpdated, ContactDeleted)", msg.Event)
	}
	return out
}

// canonical maps a CloudCX contact to hookgate's canonical fields, leaving
// out nulls, and returns it with the contact's id.
func canonical(c map[string]json.RawMessage) ([]byte, string) {
	var b bytes.Buffer
	b.WriteByte('{')
	n := 0
	for _, f := range contactFields {
		v, ok := c[f.cloudcx]
		if !ok || isNull(v) {
			continue
		}
		if f.time {
			if ms, err := epochMillis(v); err == nil {
				v = json.RawMessage(strconv.Quote(time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)))
			}
		}
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		b.WriteString(`"` + f.canonical + `":`)
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), idString(c["id"])
}

// idString reads an id given as a JSON string or number; "." and ".." are
// not ids (they would climb out of the contacts path).
func idString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "." || s == ".." {
			return ""
		}
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}
