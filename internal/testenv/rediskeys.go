package testenv

import (
	"context"
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Redis returns a client of the tests' Redis (RedisAddr), closed when the
// test ends; the test fails at once when Redis does not answer.
func Redis(tb testing.TB) *redis.Client {
	tb.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: RedisAddr()})
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		rdb.Close()
		tb.Fatalf("redis at %s: %v", RedisAddr(), err)
	}
	tb.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// KeyPrefix returns a fresh key prefix starting with stem (Prefix) whose
// keys in rdb are deleted when the test ends.
func KeyPrefix(tb testing.TB, rdb *redis.Client, stem string) string {
	tb.Helper()
	prefix := Prefix(stem)
	tb.Cleanup(func() {
		if err := DeleteKeys(context.Background(), rdb, prefix+":*"); err != nil {
			tb.Errorf("clean up %s: %v", prefix, err)
		}
	})
	return prefix
}

// DeleteKeys deletes every key that matches one of the patterns (SCAN, then
// DEL in chunks).
func DeleteKeys(ctx context.Context, rdb *redis.Client, patterns ...string) error {
	for _, pattern := range patterns {
		var keys []string
		iter := rdb.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			return err
		}
		for chunk := range slices.Chunk(keys, 500) {
			if err := rdb.Del(ctx, chunk...).Err(); err != nil {
				return err
			}
		}
	}
	return nil
}

// DeleteDeployment deletes what a hookgate deployment left in Redis: the
// keys under its prefix, its asynq queue's keys, and the queue's entry in
// asynq's list of queues.
func DeleteDeployment(ctx context.Context, rdb *redis.Client, prefix, queue string) error {
	if err := DeleteKeys(ctx, rdb, prefix+":*", "asynq:{"+queue+"}*"); err != nil {
		return err
	}
	return rdb.SRem(ctx, "asynq:queues", queue).Err()
}
