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

// A task queued by a version before tracing (payload version 1, written
// here as bytes so that the test does not depend on today's encoder)
// decodes with no trace context, and a task without one is still written
// as version 1, byte for byte, so that older workers read it.
func TestTaskPayloadFromBeforeTracingDecodes(t *testing.T) {
	old := []byte{1,
		4, 'd', 'l', '_', '1', 4, 'a', 'c', 'm', 'e', 4, 'w', 'h', '_', '1', 4, 'e', 'p', '_', '1',
		5, 'e', 'v', 't', '_', '1', 3, 'a', '.', 'b', 4, 'a', 'c', 'm', 'e',
		4,        // occurred_at: varint 2 (ns)
		6,        // enqueued_at: varint 3
		2,        // flags: SpareRetry
		7,        // attempt0
		'{', '}', // data
	}
	var d Task
	if err := d.UnmarshalBinary(old); err != nil {
		t.Fatal(err)
	}
	want := Task{ID: "dl_1", Namespace: "acme", WebhookID: "wh_1", EndpointID: "ep_1",
		Event:      Event{ID: "evt_1", Type: "a.b", Tenant: "acme", OccurredAt: time.Unix(0, 2).UTC(), Data: json.RawMessage(`{}`)},
		EnqueuedAt: time.Unix(0, 3), SpareRetry: true, Attempt0: 7}
	if !reflect.DeepEqual(d, want) {
		t.Fatalf("decoded\n %+v\nwant\n %+v", d, want)
	}
	if d.Trace.IsValid() {
		t.Fatal("an old task decoded with a trace context")
	}
	again, _ := d.MarshalBinary()
	if string(again) != string(old) {
		t.Fatalf("a task without trace context is not written as version 1:\n%v\n%v", again, old)
	}
}

func TestTaskPayloadCarriesTraceContext(t *testing.T) {
	in := Task{ID: "dl_1", Namespace: "acme", WebhookID: "wh_1", EndpointID: "ep_1",
		Event:      Event{ID: "evt_1", Type: "a.b", Tenant: "acme", OccurredAt: time.Unix(5, 0).UTC(), Data: json.RawMessage(`{"x":1}`)},
		EnqueuedAt: time.Unix(6, 0), Attempt0: 1,
		Trace: TraceContext{TraceID: [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
			SpanID: [8]byte{0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 1, 2}, Flags: 1}}
	b, _ := in.MarshalBinary()
	if b[0] != payloadVersionTrace {
		t.Fatalf("version %d, want %d", b[0], payloadVersionTrace)
	}
	var out Task
	if err := out.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	out.EnqueuedAt, in.EnqueuedAt = out.EnqueuedAt.Local(), in.EnqueuedAt.Local()
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip:\n in %+v\nout %+v", in, out)
	}
	// Cut inside the trace context: malformed, not data.
	var cut Task
	if err := cut.UnmarshalBinary(b[:len(b)-len(in.Event.Data)-3]); err == nil {
		t.Fatal("a payload cut inside its trace context decoded")
	}
}
