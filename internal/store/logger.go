package store

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate"
)

// LogTo sends go-redis's own messages (a pool that cannot dial, a
// connection dropped mid-reply, Sentinel and Cluster topology changes) to
// logger as warnings with component "redis", instead of go-redis's default:
// plain lines on stderr, outside the structured log. go-redis has one logger
// per process, so the last call wins.
func LogTo(logger *slog.Logger) {
	redis.SetLogger(redisLogger{logger})
}

type redisLogger struct{ l *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	if ctx == nil {
		ctx = context.Background()
	}
	r.l.WarnContext(ctx, hookgate.RedactTokens(fmt.Sprintf(format, v...)), "component", "redis")
}
