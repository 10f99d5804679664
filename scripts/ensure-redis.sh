#!/usr/bin/env bash
# Makes sure a Redis answers at $REDIS_ADDR (default 127.0.0.1:6379).
# If none does, starts a local redis-server on that port (installing Debian's
# redis-server package with apt-get when it is missing). Used by `make run`,
# `make test` and CI, so a fresh machine needs no manual step.
set -euo pipefail

addr="${REDIS_ADDR:-127.0.0.1:6379}"
host="${addr%:*}"
port="${addr##*:}"

ping() {
  if command -v redis-cli >/dev/null 2>&1; then
    redis-cli -h "$host" -p "$port" ping 2>/dev/null | grep -q PONG
  else
    # bash's /dev/tcp: send PING, expect +PONG
    exec 3<>"/dev/tcp/$host/$port" 2>/dev/null || return 1
    printf 'PING\r\n' >&3
    local reply=""
    read -r -t 2 reply <&3 || true
    exec 3>&- 3<&-
    [[ "$reply" == +PONG* ]]
  fi
}

if ping; then
  exit 0
fi

if ! command -v redis-server >/dev/null 2>&1; then
  echo "redis-server not found; installing it with apt-get" >&2
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq redis-server >/dev/null
fi

if [ "$host" != "127.0.0.1" ] && [ "$host" != "localhost" ]; then
  echo "Redis at $addr does not answer, and it is not local: start it, or set REDIS_ADDR" >&2
  exit 1
fi

dir="${TMPDIR:-/tmp}/hookgate-redis-$port"
mkdir -p "$dir"
echo "starting a local redis-server on port $port (data in $dir, AOF on)" >&2
# The server outlives this script: it must not inherit any descriptor but
# the standard ones. Run under `flock LOCKFILE make bench`, it would
# otherwise keep the lock's descriptor open and hold the lock for as long as
# it runs.
(
  for fd in /proc/$BASHPID/fd/*; do
    fd="${fd##*/}"
    if [[ "$fd" =~ ^[0-9]+$ ]] && [ "$fd" -gt 2 ]; then eval "exec $fd>&-"; fi
  done 2>/dev/null
  exec redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --dir "$dir" \
    --appendonly yes --appendfsync everysec --save "" --logfile "$dir/redis.log"
)

for _ in $(seq 1 50); do
  ping && exit 0
  sleep 0.1
done
echo "redis-server did not come up on port $port; see $dir/redis.log" >&2
exit 1
