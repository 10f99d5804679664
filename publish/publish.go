// Package publish accepts events from the CRM and turns each into delivery
// tasks: it validates the event, answers repeats of an idempotency key with
// the first answer, finds every subscribed webhook (the tenant's and the
// system ones) through the in-memory index, and enqueues one task per webhook
// and enabled endpoint. It answers only once every task is in Redis.
package publish

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"regexp"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/queue"
)

// Matcher finds the enabled webhooks subscribed to an event type.
type Matcher interface {
	Match(ctx context.Context, tenant, typ string, dst []*hookgate.Webhook) ([]*hookgate.Webhook, error)
}

// Enqueuer puts delivery tasks durably in the queue.
type Enqueuer interface {
	Enqueue(ctx context.Context, items []queue.Item) error
}

// Idempotency remembers first answers per key.
type Idempotency interface {
	ClaimMany(ctx context.Context, tenant string, keys []string, answers [][]byte) ([][]byte, error)
	Release(ctx context.Context, tenant string, keys ...string) error
}

// Holder keeps deliveries of webhooks that are not active (paused,
// auto-paused, unconfirmed) until they are. Optional: without one, such
// webhooks are skipped.
type Holder interface {
	Hold(ctx context.Context, w *hookgate.Webhook, ds []*queue.Delivery) error
}

// Input is one event as published.
type Input struct {
	ID         string          `json:"id,omitempty"`
	Type       string          `json:"type"`
	Data       json.RawMessage `json:"data"`
	OccurredAt *time.Time      `json:"occurred_at,omitempty"`
}

// Result is the answer for one accepted event.
type Result struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Deliveries int    `json:"deliveries"`
	Held       int    `json:"held,omitempty"`
	Duplicate  bool   `json:"duplicate,omitempty"`
}

// Publisher accepts events.
type Publisher struct {
	Catalogue   *hookgate.Catalogue
	Matcher     Matcher
	Queue       Enqueuer
	Idempotency Idempotency
	Holder      Holder
	MaxPayload  int
	MaxFanout   int
	// Retries returns how many retries a webhook's deliveries get.
	Retries func(w *hookgate.Webhook) int
	Now     func() time.Time
	// Accepted is called with the number of events accepted and deliveries
	// enqueued (metrics). Optional.
	Accepted func(events, deliveries int)
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)

// Validate checks one input and canonicalises its type.
func (p *Publisher) Validate(in *Input) error {
	var v hookgate.Validation
	if in.Type == "" {
		v.Add("type", "type is required")
	} else if name, err := p.Catalogue.CheckType(in.Type); err != nil {
		v.Add("type", "%s", hookgate.ErrorMessage(err))
	} else {
		in.Type = name
	}
	if in.ID != "" && !idPattern.MatchString(in.ID) {
		v.Add("id", "id must be 1 to 128 letters, digits or _ . : -")
	}
	switch {
	case len(in.Data) == 0 || string(in.Data) == "null":
		v.Add("data", "data is required (a JSON object)")
	case in.Data[0] != '{':
		v.Add("data", "data must be a JSON object")
	case len(in.Data) > p.MaxPayload:
		return hookgate.Errorf(hookgate.ETOOLARGE, "event data is %d bytes; the limit is %d", len(in.Data), p.MaxPayload)
	}
	return v.Err()
}

// Publish accepts events for tenant. idemKey (the Idempotency-Key header)
// applies to a single event; otherwise each event's id is its key. Every
// input must have passed Validate. It returns one result per input, in order.
func (p *Publisher) Publish(ctx context.Context, tenant string, ins []Input, idemKey string) ([]Result, error) {
	now := p.Now()
	results := make([]Result, len(ins))
	events := make([]hookgate.Event, len(ins))
	keys := make([]string, len(ins))
	answers := make([][]byte, len(ins))
	anyKey := false
	for i := range ins {
		in := &ins[i]
		ev := &events[i]
		ev.ID, ev.Type, ev.Tenant, ev.Data = in.ID, in.Type, tenant, in.Data
		if ev.ID == "" {
			ev.ID = NewID("evt", now)
		}
		ev.OccurredAt = now.UTC()
		if in.OccurredAt != nil {
			ev.OccurredAt = in.OccurredAt.UTC()
		}
		keys[i] = in.ID
		if idemKey != "" && len(ins) == 1 {
			keys[i] = "key:" + idemKey
		}
		anyKey = anyKey || keys[i] != ""
	}

	// Match first: the answer (delivery counts) is what a repeat gets back.
	var items []queue.Item
	holds := map[*hookgate.Webhook][]*queue.Delivery{}
	var buf []*hookgate.Webhook
	for i := range events {
		ev := &events[i]
		var err error
		buf, err = p.Matcher.Match(ctx, tenant, ev.Type, buf[:0])
		if err != nil {
			return nil, err
		}
		n, held := 0, 0
		for _, w := range buf {
			for _, ep := range w.Endpoints {
				if !ep.Enabled {
					continue
				}
				if n+held >= p.MaxFanout {
					return nil, hookgate.Errorf(hookgate.ECONFLICT, "event %s would create more than %d deliveries (delivery.max_fanout)", ev.ID, p.MaxFanout)
				}
				d := &queue.Delivery{ID: DeliveryID(tenant, ev.ID, w.ID, ep.ID), Namespace: w.Tenant,
					WebhookID: w.ID, EndpointID: ep.ID, Event: *ev, EnqueuedAt: now}
				if w.Status != hookgate.StatusActive && p.Holder != nil {
					holds[w] = append(holds[w], d)
					held++
					continue
				} else if w.Status != hookgate.StatusActive {
					continue
				}
				items = append(items, queue.Item{Delivery: d, Retries: p.Retries(w)})
				n++
			}
		}
		results[i] = Result{ID: ev.ID, Type: ev.Type, Deliveries: n, Held: held}
		if keys[i] != "" {
			answers[i], _ = json.Marshal(results[i])
		}
	}

	if anyKey {
		prev, err := p.Idempotency.ClaimMany(ctx, tenant, keys, answers)
		if err != nil {
			return nil, err
		}
		// Drop the work of events already accepted before.
		dup := map[string]bool{}
		for i, b := range prev {
			if b == nil {
				continue
			}
			var r Result
			if json.Unmarshal(b, &r) == nil {
				r.Duplicate = true
				results[i] = r
				dup[events[i].ID] = true
			}
		}
		if len(dup) > 0 {
			kept := items[:0]
			for _, it := range items {
				if !dup[it.Delivery.Event.ID] {
					kept = append(kept, it)
				}
			}
			items = kept
			for w, ds := range holds {
				keptD := ds[:0]
				for _, d := range ds {
					if !dup[d.Event.ID] {
						keptD = append(keptD, d)
					}
				}
				holds[w] = keptD
			}
		}
	}

	err := p.Queue.Enqueue(ctx, items)
	for w, ds := range holds {
		if err != nil || len(ds) == 0 {
			break
		}
		err = p.Holder.Hold(ctx, w, ds)
	}
	if err != nil {
		if anyKey {
			_ = p.Idempotency.Release(context.WithoutCancel(ctx), tenant, claimed(keys, results)...)
		}
		return nil, err
	}
	if p.Accepted != nil {
		p.Accepted(len(ins), len(items))
	}
	return results, nil
}

// claimed lists the keys this call claimed (not the duplicates).
func claimed(keys []string, rs []Result) []string {
	var out []string
	for i, k := range keys {
		if k != "" && !rs[i].Duplicate {
			out = append(out, k)
		}
	}
	return out
}

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns a random id with a prefix, time-ordered: "evt_" then 48 bits
// of milliseconds and 80 random bits, in Crockford's base32 (lowercase).
func NewID(prefix string, now time.Time) string {
	var b [16]byte
	ms := uint64(now.UnixMilli())
	b[0], b[1], b[2], b[3], b[4], b[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	_, _ = rand.Read(b[6:])
	return prefix + "_" + idEncoding.EncodeToString(b[:])
}

// DeliveryID is the stable id of the delivery of event eventID to one
// endpoint of one webhook: the same inputs always give the same id, so a
// repeated publish cannot create a second delivery while the first is queued.
func DeliveryID(tenant, eventID, webhookID, endpointID string) string {
	h := sha256.New()
	var l [4]byte
	for _, s := range [...]string{tenant, eventID, webhookID, endpointID} {
		binary.BigEndian.PutUint32(l[:], uint32(len(s)))
		h.Write(l[:])
		h.Write([]byte(s))
	}
	var sum [32]byte
	return "dl_" + idEncoding.EncodeToString(h.Sum(sum[:0])[:16])
}
