package testenv

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strings"
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
// DEL in chunks); on a Redis Cluster, on every master.
func DeleteKeys(ctx context.Context, rdb redis.UniversalClient, patterns ...string) error {
	if c, ok := rdb.(*redis.ClusterClient); ok {
		// A master's keys are in many slots: one DEL each.
		return c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			for _, pattern := range patterns {
				iter := node.Scan(ctx, 0, pattern, 1000).Iterator()
				for iter.Next(ctx) {
					if err := node.Del(ctx, iter.Val()).Err(); err != nil {
						return err
					}
				}
				if err := iter.Err(); err != nil {
					return err
				}
			}
			return nil
		})
	}
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
// keys under its prefix, its asynq queues' keys (every shard), and the
// queues' entries in asynq's list of queues.
func DeleteDeployment(ctx context.Context, rdb redis.UniversalClient, prefix string, queues ...string) error {
	patterns := []string{prefix + ":*"}
	for _, q := range queues {
		patterns = append(patterns, "asynq:{"+q+"}*")
	}
	if err := DeleteKeys(ctx, rdb, patterns...); err != nil {
		return err
	}
	for _, q := range queues {
		if err := rdb.SRem(ctx, "asynq:queues", q).Err(); err != nil {
			return err
		}
	}
	return nil
}

// DocumentedKeys returns the key patterns of the tables in the "## Keys"
// section of the page at path (docs/redis.md), as regular expressions for
// prefix: `<prefix>` is the prefix, `*` anything, `<tenant>`, `<namespace>`
// and a placeholder with a colon in its name (`<host:pid:id>`) any text
// without braces, another `<placeholder>` any text without braces or
// colons (ids and hashes have none). Rows are those whose first cell is in
// backquotes.
func DocumentedKeys(tb testing.TB, path, prefix string) map[string]*regexp.Regexp {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	placeholder := regexp.MustCompile(`<[^>]+>|\*`)
	out := map[string]*regexp.Regexp{}
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "## ") {
			in = strings.TrimSpace(line) == "## Keys"
			continue
		}
		cells := strings.Split(line, "|")
		if !in || len(cells) < 3 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		pattern := strings.Trim(strings.TrimSpace(cells[1]), "`")
		var re strings.Builder
		re.WriteString("^")
		rest := pattern
		for {
			loc := placeholder.FindStringIndex(rest)
			if loc == nil {
				re.WriteString(regexp.QuoteMeta(rest))
				break
			}
			re.WriteString(regexp.QuoteMeta(rest[:loc[0]]))
			switch m := rest[loc[0]:loc[1]]; m {
			case "<prefix>":
				re.WriteString(regexp.QuoteMeta(prefix))
			case "*":
				re.WriteString(".*")
			case "<tenant>", "<namespace>":
				re.WriteString("[^{}]+")
			default:
				if strings.Contains(m, ":") {
					re.WriteString("[^{}]+")
				} else {
					re.WriteString("[^{}:]+")
				}
			}
			rest = rest[loc[1]:]
		}
		re.WriteString("$")
		out[pattern] = regexp.MustCompile(re.String())
	}
	if len(out) == 0 {
		tb.Fatalf("%s lists no keys", path)
	}
	return out
}
