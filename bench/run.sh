#!/usr/bin/env bash
# bench/run.sh: build the benchmark tools if needed, then run the side-by-side
# benchmark (librdkafka mock cluster vs kgate), then the sustained phase
# (bench/sustained.ts; BENCH_SKIP_SUSTAINED=1 skips it). Counts are set by
# BENCH_* env variables; see bench/README.md.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"

bash "$BENCH_DIR/setup.sh"

BUN="$ROOT/node_modules/.bin/bun"
if [ ! -x "$BUN" ]; then BUN="$(command -v bun || true)"; fi
if [ -z "$BUN" ]; then echo "bench: bun not found (node_modules/.bin/bun or PATH)" >&2; exit 1; fi

cd "$ROOT"
RUN_PID=""
# run.ts and sustained.ts kill their own children on exit/SIGINT/SIGTERM; make sure they go too.
cleanup() {
  if [ -n "$RUN_PID" ] && kill -0 "$RUN_PID" 2>/dev/null; then
    kill -TERM "$RUN_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$RUN_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$RUN_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
run_bun() {
  "$BUN" "$@" &
  RUN_PID=$!
  local rc=0
  wait "$RUN_PID" || rc=$?
  RUN_PID=""
  return "$rc"
}

rc=0
run_bun "$BENCH_DIR/run.ts" || rc=$?
if [ "${BENCH_SKIP_SUSTAINED:-}" != 1 ]; then
  echo "" >&2
  run_bun "$BENCH_DIR/sustained.ts" || { r=$?; [ "$rc" != 0 ] || rc=$r; }
fi
exit "$rc"
