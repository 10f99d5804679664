package queue_test

import (
	"context"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/hookgate/hookgate/internal/testenv"
	"github.com/hookgate/hookgate/queue"
)

// DeleteQueue leaves nothing of a queue with tasks: no task key and no entry
// in asynq:queues (which deleting the queue's keys alone leaves behind); a
// queue that is not there is no error.
func TestDeleteQueueLeavesNoTaskAndNoEntryInTheListOfQueues(t *testing.T) {
	rdb := testenv.Redis(t)
	ctx := context.Background()
	q := testenv.Prefix("hgdelq")
	t.Cleanup(func() { _ = testenv.DeleteDeployment(context.Background(), rdb, q, q) })
	c := asynq.NewClientFromRedisClient(rdb)
	for _, id := range []string{"a", "b"} {
		if _, err := c.Enqueue(asynq.NewTask("t", nil), asynq.Queue(q), asynq.TaskID(id)); err != nil {
			t.Fatal(err)
		}
	}
	if ok, _ := rdb.SIsMember(ctx, "asynq:queues", q).Result(); !ok {
		t.Fatal("the queue is not in asynq:queues after enqueueing")
	}
	if err := queue.DeleteQueue(rdb, q); err != nil {
		t.Fatal(err)
	}
	if ok, _ := rdb.SIsMember(ctx, "asynq:queues", q).Result(); ok {
		t.Fatal("the queue is still in asynq:queues")
	}
	if keys, _ := rdb.Keys(ctx, "asynq:{"+q+"}:*").Result(); len(keys) != 0 {
		t.Fatalf("keys left: %v", keys)
	}
	if err := queue.DeleteQueue(rdb, q); err != nil {
		t.Fatalf("deleting it again: %v", err)
	}
}
