package queue

import (
	"hash/fnv"
	"strconv"
)

// clusterSlots is the number of hash slots of a Redis Cluster.
const clusterSlots = 16384

// ShardNames returns the n asynq queues (delivery.queue_shards) of a
// deployment whose first queue is base (its redis.prefix, the one queue of
// a deployment that does not shard). asynq keeps each queue's keys in one
// hash slot ({<queue>}), so one queue sits on one Redis Cluster master;
// shards spread the delivery work over the masters.
//
// Shard 0 is base itself, so that a deployment keeps its queue when it
// starts sharding. Shard i is "<base>:<i>-<k>", where k is the smallest
// number that puts the queue's slot in the i-th of n equal parts of the
// slot space (counted from base's part): on a cluster whose masters hold
// equal ranges of slots, as `redis-cli --cluster create` makes them, n
// shards on n masters land one on each. The names depend on n only through
// that choice; every process with the same prefix and n computes the same.
func ShardNames(base string, n int) []string {
	names := []string{base}
	if n <= 1 {
		return names
	}
	first := part(Slot(base), n)
	for i := 1; i < n; i++ {
		want := (first + i) % n
		for k := 0; ; k++ {
			name := base + ":" + strconv.Itoa(i) + "-" + strconv.Itoa(k)
			if part(Slot(name), n) == want {
				names = append(names, name)
				break
			}
		}
	}
	return names
}

func part(slot, n int) int { return slot * n / clusterSlots }

// shardOf is the index of the shard of an endpoint's deliveries: a hash of
// the endpoint id, so one endpoint's deliveries stay in one queue.
func shardOf(endpoint string, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(endpoint))
	return int(h.Sum32() % uint32(n))
}

// Slot is the Redis Cluster hash slot of asynq queue name's keys
// ("asynq:{<name>}:..."): CRC16 (XMODEM) of the name, modulo 16384.
func Slot(name string) int {
	var crc uint16
	for i := 0; i < len(name); i++ {
		crc ^= uint16(name[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % clusterSlots
}
