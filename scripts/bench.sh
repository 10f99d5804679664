#!/usr/bin/env bash
# `make bench`: runs `hookgate bench` against a Redis of its own, with AOF on
# and appendfsync everysec as docs/delivery.md tells operators to run it, so
# that the figures are those of a durable setup and no other load shares
# that Redis. Extra arguments go to `hookgate bench` (see its -h).
set -euo pipefail
cd "$(dirname "$0")/.."

port="${BENCH_REDIS_PORT:-6390}"
REDIS_ADDR="127.0.0.1:$port" ./scripts/ensure-redis.sh >/dev/null 2>&1 || {
  # ensure-redis starts one only when none answers; make sure AOF is on.
  echo "could not start a Redis on port $port" >&2; exit 1; }
redis-cli -p "$port" config set appendonly yes >/dev/null
redis-cli -p "$port" config set appendfsync everysec >/dev/null
echo "bench Redis: 127.0.0.1:$port (appendonly yes, appendfsync everysec)"
HOOKGATE_REDIS_ADDR="127.0.0.1:$port" ./bin/hookgate bench "$@"
