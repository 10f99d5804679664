package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate/internal/store"
	"github.com/hookgate/hookgate/internal/testenv"
)

// CommandStats counts the commands a server ran, those run inside a script
// included, on a server of the test's own (the shared one runs other
// tests' commands meanwhile).
func TestCommandStatsCountsCommandsAndScriptsInnerOnes(t *testing.T) {
	r := testenv.StartRedisServer(t, "")
	c := redis.NewClient(&redis.Options{Addr: r.Addr}) // one connection, made before the first reading
	defer c.Close()
	ctx := context.Background()
	before, err := store.CommandStats(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		c.Set(ctx, "k", "v", 0)
	}
	c.Eval(ctx, "redis.call('SET', 'a', 1); redis.call('SET', 'b', 2); return 1", nil)
	after, err := store.CommandStats(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	// 10 SET, EVAL and its 2 SET, and the first INFO (counted once it ran).
	d := after.Sub(before)
	if got := d.Commands; got != 14 {
		t.Fatalf("%v commands between the two readings, want 14", got)
	}
	if d.Calls["set"] != 12 || d.Calls["eval"] != 1 || d.Calls["info"] != 1 || len(d.Calls) != 3 {
		t.Fatalf("calls by command %v, want set 12, eval 1, info 1", d.Calls)
	}
	if after.CPU <= 0 {
		t.Fatalf("CPU %v, want the server's CPU time", after.CPU)
	}
	if cpu, err := store.CPUUsage(ctx, c); err != nil || cpu < after.CPU {
		t.Fatalf("CPUUsage %v, %v; want at least %v", cpu, err, after.CPU)
	}
	if got := store.AppendOnly(ctx, c); got != "no" {
		t.Fatalf("AppendOnly %q, want no (the test server keeps nothing on disk)", got)
	}
}

// DeleteKeys deletes the keys under its prefix and only those, a prefix
// holding glob characters taken literally.
func TestDeleteKeysDeletesOnlyThePrefix(t *testing.T) {
	rdb := testenv.Redis(t)
	ctx := context.Background()
	p := testenv.KeyPrefix(t, rdb, "hgdel")
	keep := []string{p + ":other", p + ":g[ab]x", p + ":gax"}
	gone := []string{p + ":g[ab]:1", p + ":g[ab]:2"}
	for i := range 1200 { // more than one SCAN page and DEL chunk
		gone = append(gone, fmt.Sprintf("%s:g[ab]:n%d", p, i))
	}
	for _, k := range append(keep, gone...) {
		if err := rdb.Set(ctx, k, 1, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.DeleteKeys(ctx, rdb, p+":g[ab]:"); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(ctx, gone...).Val(); n != 0 {
		t.Fatalf("%d keys under the prefix left", n)
	}
	if n := rdb.Exists(ctx, keep...).Val(); n != int64(len(keep)) {
		t.Fatalf("%d of %d keys outside the prefix left", n, len(keep))
	}
}
