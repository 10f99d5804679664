package store

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// QueueStates are the states QueueDepths counts, in its answer's order.
var QueueStates = [4]string{"pending", "active", "scheduled", "retry"}

// QueueDepths counts the tasks of asynq queues by state (QueueStates),
// summed over queues, in one pipeline: LLEN of each queue's pending and
// active lists, ZCARD of its scheduled and retry sets, under asynq's key
// layout ("asynq:{<queue>}:<state>", docs/redis.md). asynq's
// Inspector.GetQueueInfo answers the same counts but also samples the
// queue's memory (dozens of MEMORY USAGE calls a queue), which a metrics
// scrape every few seconds need not pay.
func QueueDepths(ctx context.Context, rdb Client, queues []string) ([4]int64, error) {
	var n [4]int64
	cmds := make([]*redis.IntCmd, 0, len(queues)*len(QueueStates))
	_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, q := range queues {
			for _, st := range QueueStates {
				key := "asynq:{" + q + "}:" + st
				if st == "pending" || st == "active" {
					cmds = append(cmds, p.LLen(ctx, key))
				} else {
					cmds = append(cmds, p.ZCard(ctx, key))
				}
			}
		}
		return nil
	})
	if err != nil {
		return n, wrap(ctx, err, "count the queues' tasks")
	}
	for i, c := range cmds {
		n[i%len(QueueStates)] += c.Val()
	}
	return n, nil
}
