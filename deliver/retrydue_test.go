package deliver

import (
	"errors"
	"testing"
	"time"
)

// TestRetryDueIsNeverEarly: a due time is at or after now+delay, on a whole
// second (what asynq's retry queue keeps), and less than a second after
// now+delay; RetryDelay hands asynq a delay that, added to a clock read
// later, lands in that second or after, never in the one before.
func TestRetryDueIsNeverEarly(t *testing.T) {
	base := time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)
	for _, now := range []time.Time{base, base.Add(1), base.Add(500 * time.Millisecond), base.Add(999_999_999)} {
		for _, delay := range []time.Duration{time.Millisecond, 900 * time.Millisecond, time.Second, 1100 * time.Millisecond, time.Minute} {
			due := retryDue(now, delay)
			want := now.Add(delay)
			if due.Before(want) || !due.Equal(due.Truncate(time.Second)) || due.Sub(want) >= time.Second {
				t.Errorf("now %s delay %s: due %s", now.Format(time.RFC3339Nano), delay, due.Format(time.RFC3339Nano))
			}
		}
	}
	// The example of the report: a 1s delay taken at .5 is due at the
	// second after next, not half a second later.
	if due := retryDue(base.Add(500*time.Millisecond), time.Second); !due.Equal(base.Add(2 * time.Second)) {
		t.Fatalf("1s at .5: due %s", due)
	}
	due := time.Now().Add(1500 * time.Millisecond).Truncate(time.Second).Add(time.Second)
	d := RetryDelay(&retryError{due: due, cause: "x"})
	if at := time.Now().Add(d); at.Unix() < due.Unix() {
		t.Fatalf("RetryDelay %s puts the task in second %d, before %d", d, at.Unix(), due.Unix())
	}
	if !errors.As(error(&retryError{due: due}), new(*retryError)) {
		t.Fatal("retryError is not found by errors.As")
	}
}
