// The Publisher accepts events from the CRM and turns each into delivery
// tasks: it validates the event, answers repeats of an idempotency key with
// the first answer, finds every subscribed webhook (the tenant's and the
// system ones) through the in-memory index, and enqueues one task per webhook
// and enabled endpoint. It answers only once every task is in Redis.

package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"regexp"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/hookgate/hookgate"
)

// Matcher finds the enabled webhooks subscribed to an event type.
type Matcher interface {
	Match(ctx context.Context, tenant, typ string, dst []*hookgate.Webhook) ([]*hookgate.Webhook, error)
}

// Enqueuer puts delivery tasks durably in the queue.
type Enqueuer interface {
	Enqueue(ctx context.Context, items []hookgate.QueueItem) error
}

// Publisher accepts events.
type Publisher struct {
	Catalogue   *hookgate.Catalogue
	Matcher     Matcher
	Queue       Enqueuer
	Idempotency hookgate.Idempotency
	// Holder keeps deliveries of webhooks that are not active (paused,
	// auto-paused, unconfirmed) until they are. Optional: without one, such
	// webhooks are skipped.
	Holder     hookgate.Holder
	MaxPayload int
	MaxFanout  int
	// Retries returns how many retries a webhook's deliveries get.
	Retries func(w *hookgate.Webhook) int
	Now     func() time.Time
	// Accepted is called with the number of events accepted and deliveries
	// enqueued (metrics). Optional.
	Accepted func(events, deliveries int)
	// Replicas, when set (redis.replica_acks), waits until the publish's
	// writes (its tasks, its held deliveries) are on enough Redis replicas,
	// after they are written and before the keys are confirmed: when it
	// fails the publish is refused (unavailable) with its keys pending, so
	// that a retry with the same key publishes again under the same task
	// ids, and waits again, without a second delivery of a task still queued.
	Replicas Replicator
	// Schemas checks event data against its type's schema (events.validate);
	// nil turns the check off. With EnforceSchemas a violation refuses the
	// event (schema_violation); without, it is passed to OnViolation and
	// the event is accepted.
	Schemas        SchemaChecker
	EnforceSchemas bool
	OnViolation    func(typ string, err error)
	// Tracer makes a span of each publish; nil: tracing is off.
	Tracer trace.Tracer
}

var _ hookgate.EventPublisher = (*Publisher)(nil)

// Replicator waits until the writes that returned before the call are on
// enough Redis replicas (implemented by store.Replicas).
type Replicator interface {
	Wait(ctx context.Context) error
}

// SchemaChecker checks event data against its type's schema (implemented by
// eventschema.Validator).
type SchemaChecker interface {
	Validate(typ string, data []byte) error
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)

// Validate checks one input and canonicalises its type.
func (p *Publisher) Validate(in *hookgate.EventInput) error {
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
	if err := v.Err(); err != nil {
		return err
	}
	if p.Schemas != nil {
		if err := p.Schemas.Validate(in.Type, in.Data); err != nil {
			if p.EnforceSchemas {
				return err
			}
			if p.OnViolation != nil {
				p.OnViolation(in.Type, err)
			}
		}
	}
	return nil
}

// Publish accepts events for tenant. idemKey (the Idempotency-Key header)
// applies to a single event; otherwise each event's id is its key. Every
// input must have passed Validate. It returns one result per input, in order.
//
// A keyed event goes through three steps, each one Redis round trip (the
// enqueue is one per task, in parallel):
//
//  1. claim: the key is bound to the event's content digest and answer,
//     pending (done at once when the event has nothing to deliver or hold);
//  2. enqueue the tasks and hold the deliveries of paused webhooks;
//  3. confirm: the claim is marked done, and only then is the event accepted.
//
// Redis gone at any step refuses the event (503) and leaves the claim
// pending, never done: a retry with the same key and content finds it and
// publishes again under the first event id, so its delivery ids (and task
// ids) are the same and a task still queued is not enqueued twice. A done
// claim answers the first answer with "duplicate": true; a claim of another
// content is an idempotency conflict.
func (p *Publisher) Publish(ctx context.Context, tenant string, ins []hookgate.EventInput, idemKey string) ([]hookgate.PublishResult, error) {
	if p.Tracer != nil {
		return p.tracedPublish(ctx, tenant, ins, idemKey)
	}
	return p.publish(ctx, tenant, ins, idemKey)
}

func (p *Publisher) publish(ctx context.Context, tenant string, ins []hookgate.EventInput, idemKey string) ([]hookgate.PublishResult, error) {
	now := p.Now()
	plans := make([]plan, len(ins))
	anyKey := false
	for i := range ins {
		in, pl := &ins[i], &plans[i]
		pl.ev = hookgate.Event{ID: in.ID, Type: in.Type, Tenant: tenant, Data: in.Data, OccurredAt: now.UTC()}
		if in.OccurredAt != nil {
			pl.ev.OccurredAt = in.OccurredAt.UTC()
		}
		pl.key = in.ID
		if idemKey != "" && len(ins) == 1 {
			pl.key = "key:" + idemKey
		}
		if pl.key != "" {
			anyKey = true
			pl.digest = Digest(in)
		}
		switch {
		case pl.ev.ID != "":
		case pl.key != "":
			pl.ev.ID = KeyEventID(tenant, pl.key, pl.digest)
		default:
			pl.ev.ID = hookgate.NewID("evt")
		}
	}
	// Match first (in memory): the claim stores the answer, and an event
	// with nothing to deliver needs no confirmation.
	var buf []*hookgate.Webhook
	for i := range plans {
		var err error
		if buf, err = p.plan(ctx, tenant, &plans[i], now, buf); err != nil {
			return nil, err
		}
	}
	var claims []hookgate.IdempotencyClaim
	var confirm []int
	if anyKey {
		var err error
		if claims, confirm, err = p.claim(ctx, tenant, ins, plans, idemKey, now, buf); err != nil {
			return nil, err
		}
	}

	items, holds := flatten(plans)
	err := p.Queue.Enqueue(ctx, items)
	for _, h := range holds {
		if err != nil {
			break
		}
		err = p.Holder.Hold(ctx, h.w, h.ds)
		if errors.Is(err, hookgate.ErrWebhookActive) {
			// The index was stale: the webhook is active (or some endpoints
			// have confirmed), deliver what was not held.
			send := h.ds
			var de *hookgate.DeliverableError
			if errors.As(err, &de) {
				send = de.Deliveries
			}
			more := make([]hookgate.QueueItem, len(send))
			for i, d := range send {
				more[i] = hookgate.QueueItem{Task: d, Retries: p.Retries(h.w)}
			}
			err = p.Queue.Enqueue(ctx, more)
			items = append(items, more...)
		} else if hookgate.ErrorCode(err) == hookgate.EINTERNAL {
			// The held list is the queue of a paused webhook: Redis failing
			// there is the queue being unavailable, and the event is retryable.
			err = &hookgate.Error{Code: hookgate.EUNAVAILABLE, Message: "the queue is unavailable; nothing was accepted, try again",
				Err: fmt.Errorf("hold deliveries of webhook %s: %w", h.w.ID, err)}
		}
	}
	if err == nil && p.Replicas != nil && (len(items) > 0 || len(holds) > 0) {
		if werr := p.Replicas.Wait(ctx); werr != nil {
			err = &hookgate.Error{Code: hookgate.EUNAVAILABLE,
				Message: "the event's deliveries are not yet on enough Redis replicas; try again (with the same Idempotency-Key, it is not duplicated)",
				Err:     fmt.Errorf("publish: %w", werr)}
		}
	}
	if err != nil {
		// The claims stay pending: a retry with the same key publishes again.
		return nil, err
	}
	if len(confirm) > 0 {
		cs := make([]hookgate.IdempotencyClaim, len(confirm))
		for j, i := range confirm {
			cs[j] = claims[i]
			cs[j].Record = plans[i].record() // a retry may have planned other counts
		}
		if err := p.Idempotency.Confirm(ctx, tenant, cs); err != nil {
			// The tasks are queued but a repeat would not be recognised as
			// one: refuse, so that the client retries and the retry confirms.
			return nil, err
		}
	}
	if p.Accepted != nil {
		p.Accepted(len(ins), len(items))
	}
	results := make([]hookgate.PublishResult, len(plans))
	for i := range plans {
		results[i] = plans[i].res
	}
	return results, nil
}

// plan is one event on its way: its deliveries, and what its key found.
type plan struct {
	ev     hookgate.Event
	key    string
	digest string // of the content, when there is a key
	items  []hookgate.QueueItem
	holds  []held
	res    hookgate.PublishResult
	skip   bool // a duplicate: nothing to enqueue
}

type held struct {
	w  *hookgate.Webhook
	ds []*hookgate.Task
}

// record is what the idempotency store keeps for a key: the answer, and the
// occurred_at that a retry of a refused publish needs to rebuild the same
// deliveries (the event id is in the answer).
type record struct {
	hookgate.PublishResult
	OccurredAt time.Time `json:"occurred_at"`
}

func (pl *plan) record() []byte {
	b, _ := json.Marshal(record{PublishResult: pl.res, OccurredAt: pl.ev.OccurredAt})
	return b
}

// plan finds the webhooks subscribed to pl's event and builds one delivery
// per webhook and enabled endpoint: a task to enqueue, or a delivery to hold
// when the webhook is not active. buf is scratch space, returned for reuse.
func (p *Publisher) plan(ctx context.Context, tenant string, pl *plan, now time.Time, buf []*hookgate.Webhook) ([]*hookgate.Webhook, error) {
	ev := &pl.ev
	buf, err := p.Matcher.Match(ctx, tenant, ev.Type, buf[:0])
	if err != nil {
		return buf, err
	}
	pl.items, pl.holds = pl.items[:0], pl.holds[:0]
	n, nheld := 0, 0
	for _, w := range buf {
		if !w.Accepts(ev.Type, ev.Data) {
			continue // filtered out: no task, no hold
		}
		var ds []*hookgate.Task
		for _, ep := range w.Endpoints {
			if !ep.Enabled {
				continue
			}
			if n+nheld >= p.MaxFanout {
				return buf, hookgate.Errorf(hookgate.ECONFLICT, "event %s would create more than %d deliveries (delivery.max_fanout)", ev.ID, p.MaxFanout)
			}
			d := &hookgate.Task{ID: DeliveryID(tenant, ev.ID, w.ID, ep.ID), Namespace: w.Tenant,
				WebhookID: w.ID, EndpointID: ep.ID, Event: *ev, EnqueuedAt: now}
			switch {
			case w.Delivers(&ep):
				pl.items = append(pl.items, hookgate.QueueItem{Task: d, Retries: p.Retries(w)})
				n++
			case p.Holder != nil:
				ds = append(ds, d)
				nheld++
			}
		}
		if len(ds) > 0 {
			pl.holds = append(pl.holds, held{w: w, ds: ds})
		}
	}
	pl.res = hookgate.PublishResult{ID: ev.ID, Type: ev.Type, Deliveries: n, Held: nheld}
	return buf, nil
}

// claim binds each keyed event's key to its content and answer. Events
// whose key is done become duplicates (skipped, answered the first answer);
// events whose key is pending (a publish refused half-way, or running) are
// planned again under the first event id. Any key bound to another content
// refuses the whole call with EIDEMPOTENCY, after freeing the keys this call
// took. It returns the claims made, one per event, and the indexes of those
// to confirm once the tasks are queued.
func (p *Publisher) claim(ctx context.Context, tenant string, ins []hookgate.EventInput, plans []plan, idemKey string, now time.Time, buf []*hookgate.Webhook) ([]hookgate.IdempotencyClaim, []int, error) {
	cs := make([]hookgate.IdempotencyClaim, len(plans))
	for i := range plans {
		pl := &plans[i]
		if pl.key == "" {
			continue
		}
		state := hookgate.ClaimPending
		if len(pl.items) == 0 && len(pl.holds) == 0 {
			state = hookgate.ClaimDone // nothing to lose: no confirmation needed
		}
		cs[i] = hookgate.IdempotencyClaim{Key: pl.key, State: state, Digest: pl.digest, Record: pl.record()}
	}
	found, err := p.Idempotency.Claim(ctx, tenant, cs)
	if err != nil {
		return nil, nil, err
	}
	var confirm []int
	var conflict hookgate.Validation
	for i, f := range found {
		pl := &plans[i]
		switch {
		case pl.key == "":
		case f.State == hookgate.ClaimFree:
			if cs[i].State == hookgate.ClaimPending {
				confirm = append(confirm, i)
			}
		case f.Digest != "" && f.Digest != cs[i].Digest:
			field, what := "events["+strconv.Itoa(i)+"].id", "event id "+strconv.Quote(pl.ev.ID)
			switch {
			case idemKey != "" && len(ins) == 1:
				field, what = "Idempotency-Key", "Idempotency-Key "+strconv.Quote(idemKey)
			case len(ins) == 1:
				field = "id"
			}
			conflict.Add(field, "%s was already used for an event with other content; use a new one for a new event", what)
		case f.State == hookgate.ClaimDone:
			var r record
			if err := json.Unmarshal(f.Record, &r); err != nil {
				return nil, nil, fmt.Errorf("read idempotency record of event %d: %w", i, err)
			}
			r.Duplicate = true
			pl.res, pl.items, pl.holds, pl.skip = r.PublishResult, nil, nil, true
		default: // pending, same content: publish again, as the first event (same occurred_at)
			var r record
			if err := json.Unmarshal(f.Record, &r); err != nil {
				return nil, nil, fmt.Errorf("read idempotency record of event %d: %w", i, err)
			}
			pl.ev.ID, pl.ev.OccurredAt = r.ID, r.OccurredAt
			if buf, err = p.plan(ctx, tenant, pl, now, buf); err != nil {
				return nil, nil, err
			}
			confirm = append(confirm, i)
		}
	}
	if err := conflict.Err(); err != nil {
		var taken []hookgate.IdempotencyClaim
		for i, f := range found {
			if cs[i].Key != "" && f.State == hookgate.ClaimFree {
				taken = append(taken, cs[i])
			}
		}
		if len(taken) > 0 {
			// Nothing was enqueued: free what this call took, so that the
			// corrected request is a first use. Best effort: a key left
			// pending only binds it to this content a little longer.
			_ = p.Idempotency.Release(context.WithoutCancel(ctx), tenant, taken)
		}
		e := err.(*hookgate.Error)
		e.Code = hookgate.EIDEMPOTENCY
		return nil, nil, e
	}
	return cs, confirm, nil
}

// flatten gathers the tasks of every event not skipped, and the deliveries
// to hold grouped by webhook (one Hold per webhook), in event order.
func flatten(plans []plan) ([]hookgate.QueueItem, []held) {
	if len(plans) == 1 {
		// One event (the usual publish): its plan is already grouped.
		if plans[0].skip {
			return nil, nil
		}
		return plans[0].items, plans[0].holds
	}
	var items []hookgate.QueueItem
	var holds []held
	var at map[*hookgate.Webhook]int
	for i := range plans {
		pl := &plans[i]
		if pl.skip {
			continue
		}
		items = append(items, pl.items...)
		for _, h := range pl.holds {
			if j, ok := at[h.w]; ok {
				holds[j].ds = append(holds[j].ds, h.ds...)
			} else {
				if at == nil {
					at = map[*hookgate.Webhook]int{}
				}
				at[h.w] = len(holds)
				holds = append(holds, held{w: h.w, ds: append([]*hookgate.Task(nil), h.ds...)})
			}
		}
	}
	return items, holds
}

// KeyEventID is the id of an event published with an Idempotency-Key and no
// id of its own: derived from the tenant, the key and the content digest, so
// that a re-publish of the same event under the same key has the same event
// id, hence the same delivery ids and task ids, even if the key's record was
// lost (evicted, or not yet on disk when Redis died): a task still queued is
// then not enqueued twice. Other content under the key (after the window) is
// another event id: hookgate.HashID, not time-ordered.
func KeyEventID(tenant, key, digest string) string {
	h := sha256.New()
	for _, s := range [...]string{"event", tenant, key, digest} {
		writeField(h, []byte(s))
	}
	var sum [32]byte
	return hookgate.HashID("evt", h.Sum(sum[:0]))
}

// Digest is the fingerprint of an event's content that its idempotency key
// is bound to: SHA-256 over its type (canonical), id and occurred_at as sent
// (empty when absent; the time in UTC) and data without insignificant
// whitespace, each prefixed with its length; the first 128 bits, in hex.
// Two requests for the same event digest the same whatever their JSON
// layout or key order of the envelope; data's own key order counts.
func Digest(in *hookgate.EventInput) string {
	h := sha256.New()
	var occurred string
	if in.OccurredAt != nil {
		occurred = in.OccurredAt.UTC().Format(time.RFC3339Nano)
	}
	var data bytes.Buffer
	data.Grow(len(in.Data))
	if json.Compact(&data, in.Data) != nil {
		data.Reset()
		data.Write(in.Data)
	}
	writeField(h, []byte(in.Type))
	writeField(h, []byte(in.ID))
	writeField(h, []byte(occurred))
	writeField(h, data.Bytes())
	var sum [32]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:16])
}

func writeField(h hash.Hash, b []byte) {
	var l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(len(b)))
	h.Write(l[:])
	h.Write(b)
}

// DeliveryID is the stable id of the delivery of event eventID to one
// endpoint of one webhook: the same inputs always give the same id, so a
// repeated publish cannot create a second delivery while the first is queued.
func DeliveryID(tenant, eventID, webhookID, endpointID string) string {
	h := sha256.New()
	for _, s := range [...]string{tenant, eventID, webhookID, endpointID} {
		writeField(h, []byte(s))
	}
	var sum [32]byte
	return hookgate.HashID("dl", h.Sum(sum[:0]))
}
