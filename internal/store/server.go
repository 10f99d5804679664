package store

import (
	"context"
	"github.com/redis/go-redis/v9"
	"slices"
	"strconv"
	"strings"
	"time"
)

// What the rest of hookgate asks a Redis server about itself, for `hookgate
// bench`: these are measurements and maintenance of a server one may spare,
// not part of the record layout.

// ServerUsage is the work a Redis server has done since it started.
type ServerUsage struct {
	// Commands is how many commands it executed, the ones scripts run
	// included (INFO commandstats).
	Commands float64
	// CPU is the CPU time of its process, user and system, every thread
	// (INFO cpu), AOF writing included.
	CPU time.Duration
	// Calls are the commands executed by name (lower case, as INFO
	// commandstats names them: "evalsha", "hset", "config|get").
	Calls map[string]float64
}

// Sub returns the work done between o and u.
func (u ServerUsage) Sub(o ServerUsage) ServerUsage {
	d := ServerUsage{Commands: u.Commands - o.Commands, CPU: u.CPU - o.CPU, Calls: map[string]float64{}}
	for k, v := range u.Calls {
		if n := v - o.Calls[k]; n != 0 {
			d.Calls[k] = n
		}
	}
	return d
}

// CommandStats reads the server's ServerUsage (INFO commandstats cpu).
func CommandStats(ctx context.Context, c Client) (ServerUsage, error) {
	info, err := c.Info(ctx, "commandstats", "cpu").Result()
	if err != nil {
		return ServerUsage{}, wrap(ctx, err, "info commandstats")
	}
	return parseUsage(info), nil
}

// CPUUsage reads only the server's CPU time (INFO cpu): cheaper than
// CommandStats when commands are not counted.
func CPUUsage(ctx context.Context, c Client) (time.Duration, error) {
	info, err := c.Info(ctx, "cpu").Result()
	if err != nil {
		return 0, wrap(ctx, err, "info cpu")
	}
	return parseUsage(info).CPU, nil
}

func parseUsage(info string) ServerUsage {
	var u ServerUsage
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		switch {
		case k == "used_cpu_user" || k == "used_cpu_sys":
			f, _ := strconv.ParseFloat(v, 64)
			u.CPU += time.Duration(f * float64(time.Second))
		case strings.HasPrefix(k, "cmdstat_"):
			for _, kv := range strings.Split(v, ",") {
				if n, ok := strings.CutPrefix(kv, "calls="); ok {
					f, _ := strconv.ParseFloat(n, 64)
					u.Commands += f
					if u.Calls == nil {
						u.Calls = map[string]float64{}
					}
					u.Calls[strings.TrimPrefix(k, "cmdstat_")] += f
				}
			}
		}
	}
	return u
}

// AppendOnly returns the server's appendonly setting ("yes" or "no"), or ""
// when the server does not say (CONFIG GET may be refused to an ACL user).
func AppendOnly(ctx context.Context, c Client) string {
	v, err := c.ConfigGet(ctx, "appendonly").Result()
	if err != nil {
		return ""
	}
	return v["appendonly"]
}

// InfoField is the value of field name in the text of an INFO answer
// ("name:value" lines; "" when it has none).
func InfoField(info, name string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}

// DeleteKeys deletes every key whose name starts with prefix (SCAN, then
// DEL in chunks of 500). It is for a server one may spare (bench runs
// clean up after themselves with it), never for a deployment's keys while
// it runs. On a Redis Cluster it scans every master and deletes the keys
// one by one (they are in many slots).
func DeleteKeys(ctx context.Context, c Client, prefix string) error {
	if cc, ok := c.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			iter := node.Scan(ctx, 0, escapeGlob(prefix)+"*", 1000).Iterator()
			for iter.Next(ctx) {
				if err := node.Del(ctx, iter.Val()).Err(); err != nil {
					return wrap(ctx, err, "delete %s*", prefix)
				}
			}
			return wrap(ctx, iter.Err(), "scan %s*", prefix)
		})
	}
	var keys []string
	iter := c.Scan(ctx, 0, escapeGlob(prefix)+"*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return wrap(ctx, err, "scan %s*", prefix)
	}
	for chunk := range slices.Chunk(keys, 500) {
		if err := c.Del(ctx, chunk...).Err(); err != nil {
			return wrap(ctx, err, "delete %s*", prefix)
		}
	}
	return nil
}

// escapeGlob quotes the characters SCAN MATCH reads as a pattern.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
