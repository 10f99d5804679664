package app_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/testenv"
)

// TestBrokerMessagesAreDelivered: hookgate consuming from RabbitMQ and from
// NATS JetStream at once delivers each message's event to the subscribed
// webhook's receiver, exactly once per id, and counts the messages.
func TestBrokerMessagesAreDelivered(t *testing.T) {
	b := startBrokers(t)
	n, ch, js := b.name, b.ch, b.js
	h := start(t, b.configure)
	rec := receiver.NewRecorder()
	srv := httptest.NewServer(rec)
	defer srv.Close()
	h.createWebhook(h.token("acme", "admin"), map[string]any{"name": "ERP Sync", "endpoints": endpoints(srv.URL), "events": []string{"deal.*"}})

	for _, id := range []string{"amqp-1", "amqp-1"} { // the second is a redelivery: no second event
		if err := ch.PublishWithContext(context.Background(), "", n, false, false, amqp.Publishing{DeliveryMode: amqp.Persistent,
			Body: []byte(`{"tenant":"acme","id":"` + id + `","type":"deal.won","data":{"via":"rabbitmq"}}`)}); err != nil {
			t.Fatal(err)
		}
	}
	b.waitStream(t)
	if _, err := js.Publish(context.Background(), n+".events", []byte(`{"tenant":"acme","id":"nats-1","type":"deal.won","data":{"via":"nats"}}`)); err != nil {
		t.Fatal(err)
	}
	got, err := rec.WaitFor(testenv.Context(t), 2)
	if err != nil {
		for _, l := range strings.Split(h.logs.String(), "\n") {
			if strings.Contains(l, "ingest") || strings.Contains(l, "deliver") || strings.Contains(l, "WARN") {
				t.Log(l)
			}
		}
		t.Fatal(err)
	}
	bodies := string(got[0].Body) + string(got[1].Body)
	if !strings.Contains(bodies, `"via":"rabbitmq"`) || !strings.Contains(bodies, `"via":"nats"`) {
		t.Fatalf("the receiver got %s", bodies)
	}
	testenv.Eventually(t, 15*time.Second, "the metrics", func() bool {
		m := string(h.do("GET", "/metrics", "", nil).Body)
		// Two deliveries of amqp-1 handled at once are both "accepted" (the
		// second joins the first's pending claim and its task ids); one after
		// the other, the second is a "duplicate". Either way: one event.
		return counter(m, "accepted", "amqp")+counter(m, "duplicate", "amqp") == 2 && counter(m, "accepted", "nats") == 1
	})
	if rec.Count() != 2 {
		t.Fatalf("the receiver got %d deliveries, want 2 (a redelivered id is not a second event)", rec.Count())
	}
}

// brokers are a RabbitMQ queue and a NATS JetStream stream of one test,
// named afresh, on the machine's brokers; deleted when the test ends.
type brokers struct {
	name   string // the AMQP queue, and the stem of the NATS subjects
	stream string
	ch     *amqp.Channel
	js     jetstream.JetStream
}

func startBrokers(t *testing.T) *brokers {
	t.Helper()
	var r [5]byte
	_, _ = rand.Read(r[:])
	n := "hgtest" + hex.EncodeToString(r[:])
	conn, err := amqp.Dial("amqp://guest:guest@127.0.0.1:5672/")
	if err != nil {
		t.Fatalf("RabbitMQ: %v", err)
	}
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect("nats://127.0.0.1:4222")
	if err != nil {
		t.Fatalf("NATS: %v", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	stream := strings.ToUpper(n)
	// The CRM's side declares the queue it publishes to (a message routed
	// to a queue that does not exist yet is dropped by RabbitMQ).
	if _, err := ch.QueueDeclare(n, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = ch.QueueDelete(n, false, false, false)
		_, _ = ch.QueueDelete(n+".dead", false, false, false)
		conn.Close()
		_ = js.DeleteStream(context.Background(), stream)
		nc.Close()
	})
	return &brokers{name: n, stream: stream, ch: ch, js: js}
}

// configure has hookgate consume the test's queue and subject.
func (b *brokers) configure(c *config.Config) {
	c.Ingest.AMQP = config.IngestAMQP{URL: "amqp://guest:guest@127.0.0.1:5672/", Queue: b.name, DeadLetterQueue: b.name + ".dead", Prefetch: 16}
	c.Ingest.NATS = config.IngestNATS{URL: "nats://127.0.0.1:4222", Subject: b.name + ".events", DeadLetterSubject: b.name + ".dead",
		Stream: b.stream, Durable: "hookgate"}
}

// waitStream waits until hookgate has made the NATS stream.
func (b *brokers) waitStream(t *testing.T) {
	t.Helper()
	testenv.Eventually(t, 15*time.Second, "the NATS stream", func() bool { _, err := b.js.Stream(context.Background(), b.stream); return err == nil })
}

// counter reads hookgate_ingest_messages_total{outcome,source} from a
// Prometheus text exposition (0 when absent).
func counter(metrics, outcome, source string) int {
	prefix := `hookgate_ingest_messages_total{outcome="` + outcome + `",source="` + source + `"} `
	for _, l := range strings.Split(metrics, "\n") {
		if v, ok := strings.CutPrefix(l, prefix); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}
