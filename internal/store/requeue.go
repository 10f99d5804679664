package store

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate"
)

// swapScript replaces a delivery's summary only while it still has the
// status and attempt count the caller read: the compare-and-set that lets
// one caller, and one only, queue another attempt of a failed delivery (a
// manual retry and a recover racing for it, two recovers, a recover run
// again after a restart).
//
// KEYS: the summary. ARGV: expected status, expected attempts, new summary.
// Returns 1 when swapped, 0 when the summary changed or is gone.
var swapScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local ok, d = pcall(cjson.decode, cur)
if not ok or d.status ~= ARGV[1] or tonumber(d.attempts or 0) ~= tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[3], 'KEEPTTL')
return 1
`)

// Swap writes d as the summary of its delivery if the stored one still has
// status was and attempts attempts; it reports whether it did. It changes
// neither the index nor the attempts nor the webhook's counters: it is for a
// summary that only changes state (a failed delivery queued again, or put
// back to failed when queueing it failed).
func (l *DeliveryLog) Swap(ctx context.Context, d *hookgate.DeliveryRecord, was hookgate.DeliveryStatus, attempts int) (bool, error) {
	sum, err := encodeDelivery(d)
	if err != nil {
		return false, fmt.Errorf("encode delivery %s: %w", d.ID, err)
	}
	n, err := swapScript.Run(ctx, l.rdb, []string{l.summaryKey(d.WebhookID, d.ID)}, string(was), strconv.Itoa(attempts), sum).Int()
	if err != nil {
		return false, translate("update delivery", err)
	}
	return n == 1, nil
}
