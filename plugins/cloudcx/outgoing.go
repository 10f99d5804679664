package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hookgate/hookgate/plugins/sdk"
)

// field maps one hookgate canonical contact field to CloudCX's name. Fields
// are written in CloudCX's order; a missing canonical field becomes null.
type field struct {
	canonical, cloudcx string
	time               bool // RFC 3339 or epoch ms in, epoch ms as a string out
}

// contactFields is the CloudCX contact, in the order of CloudCX's examples.
var contactFields = []field{
	{"id", "id", false},
	{"first_name", "firstName", false},
	{"last_name", "lastName", false},
	{"avatar_url", "avatarUrl", false},
	{"email", "email", false},
	{"phone", "phoneNumber", false},
	{"external_id", "contactId", false},
	{"owner", "owner", false},
	{"owner_name", "ownerName", false},
	{"lead_stage", "leadStage", false},
	{"tags", "tags", false},
	{"notes", "notes", false},
	{"company_name", "companyName", false},
	{"job_title", "jobTitle", false},
	{"priority", "priority", false},
	{"ip", "ip", false},
	{"country", "countryRegion", false},
	{"region", "province", false},
	{"city", "city", false},
	{"street", "street", false},
	{"zip_code", "zipCode", false},
	{"language", "language", false},
	{"facebook_username", "facebookUsername", false},
	{"telegram_username", "telegramUsername", false},
	{"instagram_username", "instagramUsername", false},
	{"whatsapp_number", "whatsappNumber", false},
	{"subscribe_email", "subscribeEmail", false},
	{"subscribe_sms", "subscribeSMS", false},
	{"subscribe_whatsapp", "subscribeWhatsapp", false},
	{"last_channel", "lastChannel", false},
	{"created_at", "createdTime", true},
	{"updated_at", "lastUpdatedTime", true},
	{"last_seen_at", "lastSeenTime", true},
	{"last_connected_at", "lastConnectedTime", true},
	{"last_heard_from_at", "lastHeardFromTime", true},
	{"custom_fields", "customFields", false},
}

// events maps hookgate's event types to CloudCX's.
var events = map[string]string{
	"contact.created": "ContactCreated",
	"contact.updated": "ContactUpdated",
	"contact.deleted": "ContactDeleted",
}

func errUnsupported(name string) error {
	return fmt.Errorf("cloudcx provides the format cloudcx only, not the transform %q", name)
}

// render builds the CloudCX message for ev.
func render(ev sdk.Event) (sdk.Result, error) {
	name, ok := events[ev.Type]
	if !ok {
		return sdk.Skip("CloudCX has no message for %s events (only contact.created, contact.updated, contact.deleted)", ev.Type), nil
	}
	contacts, err := contactsOf(ev.Data)
	if err != nil {
		return sdk.Result{}, err
	}
	var b bytes.Buffer
	b.WriteString(`{"event":"` + name + `",`)
	if name == "ContactDeleted" {
		b.WriteString(`"ids":[`)
		for i, c := range contacts {
			id, ok := c["id"]
			if !ok || isNull(id) {
				return sdk.Result{}, errors.New("contact.deleted data has no id")
			}
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(id)
		}
		b.WriteString("]}")
		return sdk.Result{Body: b.Bytes(), ContentType: "application/json"}, nil
	}
	b.WriteString(`"contacts":[`)
	for i, c := range contacts {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := writeContact(&b, c); err != nil {
			return sdk.Result{}, err
		}
	}
	b.WriteString("]}")
	return sdk.Result{Body: b.Bytes(), ContentType: "application/json"}, nil
}

// contactsOf reads the event data: one canonical contact, or
// {"contacts": [...]} for several, or {"ids": [...]} for deletions.
func contactsOf(data json.RawMessage) ([]map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
		return nil, errors.New("event data is not a JSON object")
	}
	if raw, ok := obj["contacts"]; ok {
		var list []map[string]json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, errors.New(`event data "contacts" is not a list of objects`)
		}
		if len(list) == 0 {
			return nil, errors.New(`event data "contacts" is empty`)
		}
		return list, nil
	}
	if raw, ok := obj["ids"]; ok {
		var ids []json.RawMessage
		if err := json.Unmarshal(raw, &ids); err != nil || len(ids) == 0 {
			return nil, errors.New(`event data "ids" is not a non-empty list`)
		}
		list := make([]map[string]json.RawMessage, len(ids))
		for i, id := range ids {
			list[i] = map[string]json.RawMessage{"id": id}
		}
		return list, nil
	}
	return []map[string]json.RawMessage{obj}, nil
}

func writeContact(b *bytes.Buffer, c map[string]json.RawMessage) error {
	b.WriteByte('{')
	for i, f := range contactFields {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + f.cloudcx + `":`)
		v, ok := c[f.canonical]
		switch {
		case !ok && f.canonical == "custom_fields":
			b.WriteString("[]")
		case !ok || isNull(v):
			b.WriteString("null")
		case f.time:
			ms, err := epochMillis(v)
			if err != nil {
				return fmt.Errorf("contact field %s: %w", f.canonical, err)
			}
			b.WriteString(`"` + strconv.FormatInt(ms, 10) + `"`)
		default:
			b.Write(v)
		}
	}
	b.WriteByte('}')
	return nil
}

// epochMillis reads a canonical time: an RFC 3339 string, or a number or
// numeric string of milliseconds since the epoch.
func epochMillis(v json.RawMessage) (int64, error) {
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		var n json.Number
		if err := json.Unmarshal(v, &n); err != nil {
			return 0, errors.New("is neither an RFC 3339 time nor epoch milliseconds")
		}
		s = n.String()
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return ms, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, errors.New("is neither an RFC 3339 time nor epoch milliseconds")
	}
	return t.UnixMilli(), nil
}

func isNull(v json.RawMessage) bool { return len(v) == 0 || string(bytes.TrimSpace(v)) == "null" }
