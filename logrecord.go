package hookgate

import "time"

// LogRecord is one write to the delivery log: the delivery's new summary and the attempt.
// Counted and Streak say what it does to the webhook's counters.
type LogRecord struct {
	Delivery *DeliveryRecord
	Attempt  *Attempt // nil when only the summary changes (held, queued for manual retry)
	// Counted is true when the attempt counts for the webhook's counters
	// (last_triggered_at, last_status_code, failure_count).
	Counted bool
	// Streak is what the record does to the webhook's consecutive failed
	// deliveries (consecutive_failures, which auto-pause watches).
	Streak Streak
}

// Streak is what a record does to the webhook's consecutive failed deliveries.
type Streak int8

// Streak values. The delivery worker decides which (deliver.streak).
const (
	StreakKeep  Streak = iota // no change: an attempt to be retried, a skipped one, a summary
	StreakReset               // a delivery succeeded: back to 0
	StreakFail                // a delivery failed for good, after its retries: one more
)

// Reservation is a delivery's send time under its endpoint's rate limit
// (internal/store.RateLimiter).
type Reservation struct {
	// Admitted is true when the delivery may be sent Wait from now: its
	// time is within the look-ahead. It has been used up: a later attempt
	// of the same delivery (a retry) takes a new one.
	Admitted bool
	// Wait is how long until the delivery's send time (0 when it has come).
	// Not admitted, the delivery should ask again at about that time.
	Wait time.Duration
}
