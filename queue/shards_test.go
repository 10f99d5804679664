package queue

import (
	"fmt"
	"testing"
)

func TestSlotIsRedisClusterKeySlot(t *testing.T) {
	// CLUSTER KEYSLOT's answers (CRC16 XMODEM check value 0x31C3).
	for name, want := range map[string]int{"123456789": 12739, "foo": 12182, "hookgate": Slot("hookgate")} {
		if got := Slot(name); got != want {
			t.Errorf("Slot(%q) = %d, want %d", name, got, want)
		}
	}
}

// One shard is the base queue alone; n shards keep the base first and put
// one queue in each n-th of the slot space, the same names every time.
func TestShardNamesSpreadOverTheSlotSpace(t *testing.T) {
	if got := ShardNames("hookgate", 1); len(got) != 1 || got[0] != "hookgate" {
		t.Fatalf("one shard: %v", got)
	}
	for _, base := range []string{"hookgate", "prod-eu", "hgtest0123456789ab"} {
		for n := 2; n <= 16; n++ {
			names := ShardNames(base, n)
			if len(names) != n || names[0] != base {
				t.Fatalf("ShardNames(%q, %d) = %v", base, n, names)
			}
			parts := map[int]string{}
			for _, q := range names {
				p := Slot(q) * n / clusterSlots
				if other, ok := parts[p]; ok {
					t.Fatalf("ShardNames(%q, %d): %s and %s in the same part of the slots", base, n, q, other)
				}
				parts[p] = q
			}
			if again := ShardNames(base, n); fmt.Sprint(again) != fmt.Sprint(names) {
				t.Fatalf("ShardNames(%q, %d) changed: %v then %v", base, n, names, again)
			}
		}
	}
}

// An endpoint's deliveries all go to one shard; endpoints spread over all.
func TestShardOfKeepsAnEndpointInOneShard(t *testing.T) {
	seen := map[int]int{}
	for i := range 300 {
		ep := fmt.Sprintf("ep_%d", i)
		s := shardOf(ep, 3)
		if shardOf(ep, 3) != s || s < 0 || s >= 3 {
			t.Fatalf("shardOf(%q) = %d", ep, s)
		}
		seen[s]++
	}
	if len(seen) != 3 {
		t.Fatalf("300 endpoints over 3 shards: %v", seen)
	}
	if shardOf("ep_1", 1) != 0 {
		t.Fatal("one shard: not 0")
	}
}
