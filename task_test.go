package hookgate

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestTaskPayloadRoundTrips(t *testing.T) {
	in := Task{ID: "dl_1", Namespace: "acme", WebhookID: "wh_1", EndpointID: "ep_1",
		Event: Event{ID: "evt_1", Type: "contact.created", Tenant: "acme",
			OccurredAt: time.Unix(1710700000, 123).UTC(), Data: json.RawMessage(`{"a":1}`)},
		EnqueuedAt: time.Unix(1710700001, 0), Manual: true, Attempt0: 3}
	b, err := in.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var out Task
	if err := out.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	out.EnqueuedAt = out.EnqueuedAt.Local()
	in.EnqueuedAt = in.EnqueuedAt.Local()
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip:\n in %+v\nout %+v", in, out)
	}
}

func FuzzDeliveryPayload(f *testing.F) {
	d := Task{ID: "dl", Event: Event{Data: json.RawMessage(`{}`)}}
	b, _ := d.MarshalBinary()
	f.Add(b)
	f.Add([]byte{1, 200})
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Task
		if d.UnmarshalBinary(b) == nil {
			if _, err := d.MarshalBinary(); err != nil {
				t.Fatal(err)
			}
		}
	})
}
