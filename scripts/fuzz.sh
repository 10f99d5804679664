#!/usr/bin/env bash
# Runs every fuzz target in the module for $FUZZTIME each (default 30s), one
# after the other, and prints one line per target: package, target, time,
# executions, new interesting inputs and the outcome. What a target finds is
# written by `go test` under the package's testdata/fuzz/<Target>/: commit it
# with the fix, and `make test` replays it from then on.
#
#   make fuzz                      # every target, 30 s each
#   FUZZTIME=10m make fuzz         # a campaign
#   FUZZ_ONLY='Publish|Event' make fuzz   # targets whose name matches
#   FUZZ_LOG=fuzz.log make fuzz    # also keep each run's output
set -uo pipefail
cd "$(dirname "$0")/.."

GO="${GO:-go}"
FUZZTIME="${FUZZTIME:-30s}"
ONLY="${FUZZ_ONLY:-.}"
LOG="${FUZZ_LOG:-}"
failed=0

# Every "func FuzzX(" in a _test.go file, with its package directory.
targets=$(grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]+\(' . |
  grep -v node_modules | sort | while read -r f; do
    dir=$(dirname "$f")
    grep -oE '^func Fuzz[A-Za-z0-9_]+' "$f" | sed "s|^func |$dir |"
  done)

printf '%-28s %-28s %8s %14s %8s  %s\n' package target time execs new result
while read -r dir name; do
  [ -n "$dir" ] || continue
  [[ "$name" =~ $ONLY ]] || continue
  out=$(mktemp)
  start=$(date +%s)
  # -run '^$' skips the unit tests; -fuzz matches one target exactly.
  $GO test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$dir" >"$out" 2>&1
  rc=$?
  took=$(( $(date +%s) - start ))
  last=$(grep -E 'execs: [0-9]+' "$out" | tail -1)
  execs=$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")
  new=$(sed -nE 's/.*new interesting: ([0-9]+).*/\1/p' <<<"$last")
  result=ok
  if [ $rc -ne 0 ]; then
    result="FAILED (see testdata/fuzz/$name in $dir)"
    failed=1
  fi
  printf '%-28s %-28s %7ss %14s %8s  %s\n' "${dir#./}" "$name" "$took" "${execs:-?}" "${new:-?}" "$result"
  if [ -n "$LOG" ]; then
    { echo "=== $dir $name"; cat "$out"; } >>"$LOG"
  fi
  if [ $rc -ne 0 ]; then
    grep -E -- '--- FAIL|panic:|Failing input|failure while testing seed corpus' "$out" | head -20
  fi
  rm -f "$out"
done <<<"$targets"
exit $failed
