package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/store"
	"github.com/hookgate/hookgate/internal/testenv"
)

// Replicas.Wait returns once a replica has the writes made before it (on
// other connections too: asynq's), and refuses as unavailable when no
// replica acknowledges within the timeout.
func TestReplicasWaitCoversEarlierWritesOrRefuses(t *testing.T) {
	testenv.SkipShort(t, "starts a master and a replica")
	master := testenv.StartRedisServer(t, "")
	replica := testenv.StartRedisReplica(t, master.Addr)
	rdb := store.NewClient(config.Redis{Mode: config.RedisStandalone, Addr: master.Addr})
	defer rdb.Close()
	ctx := context.Background()
	rc := redis.NewClient(&redis.Options{Addr: replica.Addr})
	defer rc.Close()
	deadline := time.Now().Add(30 * time.Second)
	for { // the replica's first sync
		if info, _ := rc.Info(ctx, "replication").Result(); contains(info, "master_link_status:up") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the replica did not sync within 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	reps := store.NewReplicas(rdb, "hgacks", 1, 5*time.Second)
	// Writes on pooled connections, as asynq makes them.
	for i := range 50 {
		if err := rdb.Set(ctx, "hgacks:k:"+string(rune('a'+i%26)), i, time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := rdb.Set(ctx, "hgacks:last", "written", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if err := reps.Wait(ctx); err != nil {
		t.Fatalf("wait with a replica: %v", err)
	}
	// Once Wait returned, the replica has the last write (read at once, no polling).
	if v, err := rc.Get(ctx, "hgacks:last").Result(); err != nil || v != "written" {
		t.Fatalf("replica after the wait: %q, %v", v, err)
	}

	replica.Kill()
	short := store.NewReplicas(rdb, "hgacks", 1, 200*time.Millisecond)
	if err := short.Wait(ctx); hookgate.ErrorCode(err) != hookgate.EUNAVAILABLE {
		t.Fatalf("wait without a replica: %v, want %s", err, hookgate.EUNAVAILABLE)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
