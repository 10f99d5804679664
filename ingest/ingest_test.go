package ingest

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/testenv"
)

const (
	amqpURL = "amqp://guest:guest@127.0.0.1:5672/"
	natsURL = "nats://127.0.0.1:4222"
)

// fakePublisher is an in-memory stand-in for hookgate's own publish port:
// it records the events it accepts, and may refuse for a passing reason or
// block until its context ends (a process that dies mid-publish).
type fakePublisher struct {
	mu       sync.Mutex
	accepted []hookgate.EventInput
	seen     map[string]bool
	failN    int  // answer EUNAVAILABLE this many times first
	block    bool // never answer until ctx ends
	calls    chan string
}

func (f *fakePublisher) Validate(in *hookgate.EventInput) error {
	if !strings.Contains(in.Type, ".") {
		return hookgate.FieldError("type", "unknown event type %q", in.Type)
	}
	return nil
}

func (f *fakePublisher) Publish(ctx context.Context, tenant string, ins []hookgate.EventInput, key string) ([]hookgate.PublishResult, error) {
	if f.calls != nil {
		f.calls <- ins[0].ID
	}
	if f.block {
		<-ctx.Done()
		return nil, hookgate.Errorf(hookgate.EUNAVAILABLE, "stopping")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failN > 0 {
		f.failN--
		return nil, hookgate.Errorf(hookgate.EUNAVAILABLE, "redis unavailable")
	}
	if f.seen == nil {
		f.seen = map[string]bool{}
	}
	if f.seen[tenant+"/"+ins[0].ID] {
		return []hookgate.PublishResult{{ID: ins[0].ID, Duplicate: true}}, nil
	}
	f.seen[tenant+"/"+ins[0].ID] = true
	f.accepted = append(f.accepted, ins[0])
	return []hookgate.PublishResult{{ID: ins[0].ID, Deliveries: 1}}, nil
}

func (f *fakePublisher) ids() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, in := range f.accepted {
		out = append(out, in.ID)
	}
	return out
}

func name(t *testing.T) string { return testenv.Prefix("hgtest") }

func TestDecodeRefusesWhatCanNeverBeAccepted(t *testing.T) {
	for body, want := range map[string]string{
		`{"tenant":"acme","id":"e1","type":"deal.won","data":{}}`:    "",
		`{"tenant":"acme","id":"e1","type":"deal.won","data":{}} {}`: "data after",
		`not json`: "malformed",
		`{"tenant":"acme","id":"e1","type":"deal.won","extra":1}`:            "unknown field",
		`{"id":"e1","type":"deal.won"}`:                                      "tenant is required",
		`{"tenant":"a b","id":"e1","type":"deal.won"}`:                       "tenant must match",
		`{"tenant":"acme","type":"deal.won"}`:                                "id is required",
		`{"tenant":"acme","id":"e1"}`:                                        "type is required",
		`{"tenant":"acme","id":"e1","type":"deal.won","occurred_at":"soon"}`: "malformed",
	} {
		_, err := Decode([]byte(body))
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("Decode(%s) = %v, want %q", body, err, want)
		}
	}
}

func amqpChannel(t *testing.T, queues ...string) *amqp.Channel {
	t.Helper()
	conn, err := amqp.Dial(amqpURL)
	if err != nil {
		t.Fatalf("RabbitMQ at %s: %v", amqpURL, err)
	}
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range queues {
		if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, q := range queues {
			_, _ = ch.QueueDelete(q, false, false, false)
		}
		conn.Close()
	})
	return ch
}

func sendAMQP(t *testing.T, ch *amqp.Channel, queue, body string) {
	t.Helper()
	if err := ch.PublishWithContext(context.Background(), "", queue, false, false,
		amqp.Publishing{ContentType: "application/json", DeliveryMode: amqp.Persistent, Body: []byte(body)}); err != nil {
		t.Fatal(err)
	}
}

func runSource(t *testing.T, run func(context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				t.Error("the source did not stop")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestAMQPAcksOnlyAfterTheEventIsAccepted: a message whose publish never
// completed (the process stopped mid-publish) is not acknowledged, so the
// broker delivers it again to the next consumer; a passing refusal
// (Redis unavailable) brings it back too; a duplicate id is acknowledged
// without a second event; a message that can never be accepted goes to the
// dead-letter queue with its reason.
func TestAMQPAcksOnlyAfterTheEventIsAccepted(t *testing.T) {
	q := name(t)
	ch := amqpChannel(t, q, q+".dead")
	src := func(p *fakePublisher) func(context.Context) error {
		return (&AMQP{URL: amqpURL, Queue: q, DeadQueue: q + ".dead", Prefetch: 8, RetryDelay: 20 * time.Millisecond,
			Handler: &Handler{Publisher: p, MaxBytes: 1 << 16}, Logger: quiet}).Run
	}

	// 1. The first consumer dies while publishing.
	dying := &fakePublisher{block: true, calls: make(chan string, 4)}
	stop := runSource(t, src(dying))
	sendAMQP(t, ch, q, `{"tenant":"acme","id":"e1","type":"deal.won","data":{"amount":1}}`)
	select {
	case <-dying.calls:
	case <-time.After(15 * time.Second):
		t.Fatal("the message never reached the first consumer")
	}
	stop()

	// 2. The next consumer gets it again, once Redis (here: the fake) answers.
	p := &fakePublisher{failN: 2}
	runSource(t, src(p))
	testenv.Eventually(t, 15*time.Second, "e1 accepted after two passing refusals", func() bool { return len(p.ids()) == 1 })

	// 3. A duplicate is acknowledged without a second event; bad ones go dead.
	sendAMQP(t, ch, q, `{"tenant":"acme","id":"e1","type":"deal.won","data":{"amount":1}}`)
	sendAMQP(t, ch, q, `{"tenant":"acme","id":"e2","type":"nodots","data":{}}`)
	sendAMQP(t, ch, q, `{oops`)
	sendAMQP(t, ch, q, `{"tenant":"acme","id":"e3","type":"deal.lost","data":{}}`)
	testenv.Eventually(t, 15*time.Second, "e3 accepted", func() bool { return len(p.ids()) == 2 })
	reasons := map[string]string{}
	testenv.Eventually(t, 15*time.Second, "two dead letters", func() bool {
		d, ok, err := ch.Get(q+".dead", true)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			reasons[string(d.Body)], _ = d.Headers["x-hookgate-reason"].(string)
		}
		return len(reasons) == 2
	})
	if r := reasons[`{"tenant":"acme","id":"e2","type":"nodots","data":{}}`]; !strings.Contains(r, `unknown event type \"nodots\"`) {
		t.Errorf("dead letter reasons %q", reasons)
	}
	if r := reasons[`{oops`]; !strings.Contains(r, "malformed message") {
		t.Errorf("dead letter reasons %q", reasons)
	}
	if got := p.ids(); strings.Join(got, ",") != "e1,e3" {
		t.Fatalf("accepted %v, want e1 then e3 once each", got)
	}
	// Nothing left unacknowledged in the queue.
	testenv.Eventually(t, 15*time.Second, "the queue to drain", func() bool {
		qi, err := ch.QueueDeclarePassive(q, true, false, false, false, nil)
		return err == nil && qi.Messages == 0
	})
}

// TestNATSAcksOnlyAfterTheEventIsAccepted is the same contract on a
// JetStream durable consumer: a message whose publish never completed comes
// back to the next process (after AckWait), passing refusals are redelivered,
// duplicates are acknowledged once, and bad messages land on the dead-letter
// subject with the reason.
func TestNATSAcksOnlyAfterTheEventIsAccepted(t *testing.T) {
	n := name(t)
	subject, dead, stream := n+".events", n+".events.dead", strings.ToUpper(n)
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatalf("NATS at %s: %v", natsURL, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = js.DeleteStream(context.Background(), stream)
		nc.Close()
	})
	src := func(p *fakePublisher) func(context.Context) error {
		return (&NATS{URL: natsURL, Subject: subject, DeadSubject: dead, Stream: stream, Durable: "hookgate",
			RetryDelay: 20 * time.Millisecond, AckWait: time.Second,
			Handler: &Handler{Publisher: p, MaxBytes: 1 << 16}, Logger: quiet}).Run
	}
	send := func(body string) {
		t.Helper()
		if _, err := js.Publish(context.Background(), subject, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}

	dying := &fakePublisher{block: true, calls: make(chan string, 4)}
	stop := runSource(t, src(dying))
	testenv.Eventually(t, 15*time.Second, "the stream", func() bool { _, err := js.Stream(context.Background(), stream); return err == nil })
	send(`{"tenant":"acme","id":"e1","type":"deal.won","data":{"amount":1}}`)
	select {
	case <-dying.calls:
	case <-time.After(15 * time.Second):
		t.Fatal("the message never reached the first consumer")
	}
	stop()

	p := &fakePublisher{failN: 2}
	runSource(t, src(p))
	testenv.Eventually(t, 15*time.Second, "e1 accepted after the first process stopped", func() bool { return len(p.ids()) == 1 })
	send(`{"tenant":"acme","id":"e1","type":"deal.won","data":{"amount":1}}`)
	send(`{"tenant":"acme","id":"e2","type":"nodots","data":{}}`)
	send(`{"tenant":"acme","id":"e3","type":"deal.lost","data":{}}`)
	testenv.Eventually(t, 15*time.Second, "e3 accepted", func() bool { return len(p.ids()) == 2 })
	var m *jetstream.RawStreamMsg
	testenv.Eventually(t, 15*time.Second, "the dead letter", func() bool {
		s, err := js.Stream(context.Background(), stream)
		if err != nil {
			return false
		}
		m, err = s.GetLastMsgForSubject(context.Background(), dead)
		return err == nil
	})
	if !strings.Contains(m.Header.Get("Hookgate-Reason"), `unknown event type \"nodots\"`) || !strings.Contains(string(m.Data), `"e2"`) {
		t.Fatalf("dead letter %s with reason %q", m.Data, m.Header.Get("Hookgate-Reason"))
	}
	if got := p.ids(); strings.Join(got, ",") != "e1,e3" {
		t.Fatalf("accepted %v, want e1 then e3 once each", got)
	}
}

// FuzzHandle: any message body is either accepted or refused with a reason;
// nothing panics, and nothing but a well-formed message reaches the
// publisher.
func FuzzHandle(f *testing.F) {
	for _, s := range []string{`{"tenant":"acme","id":"e1","type":"deal.won","data":{}}`, `{}`, `null`, `[]`,
		`{"tenant":"acme","id":"e1","type":"deal.won","data":{},"occurred_at":"2026-01-01T00:00:00Z"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p := &fakePublisher{}
		h := &Handler{Publisher: p, MaxBytes: 1 << 12}
		o, reason := h.Handle(context.Background(), "fuzz", body)
		switch o {
		case Accepted, Duplicate:
			m, err := Decode(body)
			if err != nil || len(body) > h.MaxBytes {
				t.Fatalf("accepted a message Decode refuses: %v", err)
			}
			if ids := p.ids(); len(ids) != 1 || ids[0] != m.ID {
				t.Fatalf("published %v for %s", ids, body)
			}
		case Dead:
			if reason == "" || len(p.ids()) != 0 {
				t.Fatalf("dead without a reason, or published anyway: %q %v", reason, p.ids())
			}
		default:
			t.Fatalf("outcome %v for %s", o, body)
		}
	})
}
