package store

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate/internal/testenv"
)

// go-redis's own messages (here: a pool that cannot dial) reach the
// structured log as warnings of component "redis".
func TestRedisMessagesGoToTheStructuredLog(t *testing.T) {
	var buf testenv.SyncBuffer
	LogTo(slog.New(slog.NewJSONHandler(&buf, nil)))
	t.Cleanup(func() { LogTo(slog.New(slog.NewTextHandler(io.Discard, nil))) })
	rdb := redis.NewClient(&redis.Options{Addr: testenv.FreeAddr(t), MaxRetries: -1})
	defer rdb.Close()
	if err := rdb.Ping(context.Background()).Err(); err == nil {
		t.Fatal("a ping to a closed port succeeded")
	}
	testenv.Eventually(t, 10*time.Second, "go-redis's dial failure in the log", func() bool {
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["component"] == "redis" && rec["level"] == "WARN" &&
				strings.Contains(rec["msg"].(string), "dial") {
				return true
			}
		}
		return false
	})
}
