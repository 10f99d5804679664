package hookgate

import (
	"context"
	"encoding/json"
	"time"
)

// EventInput is one event as the CRM publishes it (POST /v1/events, a batch
// item, a broker message).
type EventInput struct {
	ID         string          `json:"id,omitempty"`
	Type       string          `json:"type"`
	Data       json.RawMessage `json:"data"`
	OccurredAt *time.Time      `json:"occurred_at,omitempty"`
}

// PublishResult is the answer for one accepted event: its id, how many
// deliveries it was fanned out to (and of those, how many are held), and
// whether it repeats an event already accepted under the same key.
type PublishResult struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Deliveries int    `json:"deliveries"`
	Held       int    `json:"held,omitempty"`
	Duplicate  bool   `json:"duplicate,omitempty"`
}

// EventPublisher accepts events (implemented by ingest.Publisher).
type EventPublisher interface {
	// Validate checks one input and canonicalises its type.
	Validate(in *EventInput) error
	// Publish accepts already validated events of tenant and answers once
	// every delivery is queued. idemKey, when not empty, makes a repeat
	// answer the first answer (a single event only).
	Publish(ctx context.Context, tenant string, ins []EventInput, idemKey string) ([]PublishResult, error)
}

// ClaimState is where a claimed idempotency key stands.
type ClaimState byte

// The states of an idempotency key. ClaimFree is never stored: it is what
// Idempotency.Claim reports for a key it took.
const (
	ClaimFree    ClaimState = 0
	ClaimPending ClaimState = 'p' // taken; the event's tasks may not all be queued
	ClaimDone    ClaimState = 'd' // every task of the event is queued (or nothing was to be)
)

// IdempotencyClaim is one key of a publish: what it claims, or what it found.
type IdempotencyClaim struct {
	Key    string     // the Idempotency-Key or event id; empty: no key, skipped
	State  ClaimState // what to store (ClaimPending or ClaimDone); what was found
	Digest string     // the event's content digest: 32 hex digits; empty in old values
	Record []byte     // the publisher's record (the answer)
}

// Idempotency binds, per tenant, idempotency keys (and event ids) to the
// first event published with them, for a retention window (implemented by
// store.Idempotency).
type Idempotency interface {
	// Claim takes, in one round trip, each key of cs that is free, storing
	// its state, digest and record. It returns, for each claim, what the
	// key held before: State ClaimFree when this call took it. Claims with
	// an empty key are skipped (reported ClaimFree).
	Claim(ctx context.Context, tenant string, cs []IdempotencyClaim) ([]IdempotencyClaim, error)
	// Confirm marks the claims cs done once every task of their events is
	// queued; a key another content took meanwhile is left alone.
	Confirm(ctx context.Context, tenant string, cs []IdempotencyClaim) error
	// Release frees the keys of cs that still hold exactly what cs stored
	// (a publish refused before it enqueued anything).
	Release(ctx context.Context, tenant string, cs []IdempotencyClaim) error
}
