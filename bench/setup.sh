#!/usr/bin/env bash
# bench/setup.sh: idempotent setup for the kgate benchmark.
#   - installs librdkafka-dev and gcc with apt-get if they are missing
#   - builds bench/out/rdkafka_performance from the rdkafka_performance.c that
#     Debian's librdkafka-dev ships under its doc folder (never copied into the
#     repo), with bench/rd-shim.h standing in for librdkafka's internal headers
#   - builds bench/out/mock-broker from bench/mock-broker.c
# Rebuilds only when a source is newer than its binary.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$BENCH_DIR/out"
mkdir -p "$OUT"

have_pkgs() {
  dpkg -s librdkafka-dev >/dev/null 2>&1 && command -v gcc >/dev/null 2>&1
}

if ! have_pkgs; then
  echo "[setup] installing librdkafka-dev gcc" >&2
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >&2 || true
  $SUDO apt-get install -y -qq librdkafka-dev gcc >&2
fi

PERF_SRC="$(dpkg -L librdkafka-dev | grep -E '/rdkafka_performance\.c(\.gz)?$' | head -n1 || true)"
if [ -z "$PERF_SRC" ] || [ ! -f "$PERF_SRC" ]; then
  echo "[setup] rdkafka_performance.c not found in librdkafka-dev (dpkg -L librdkafka-dev)" >&2
  exit 1
fi

# Some Debian releases gzip large doc files.
if [[ "$PERF_SRC" == *.gz ]]; then
  gzip -dc "$PERF_SRC" > "$OUT/rdkafka_performance.c"
  PERF_SRC="$OUT/rdkafka_performance.c"
fi

# The example includes "../src/rd.h", "rd.h", "rdtime.h" and "rdkafka.h".
# Generated one-line wrappers; with -I "$INC/src", "../src/rd.h" resolves too.
INC="$OUT/include/src"
mkdir -p "$INC"
printf '#include "%s"\n' "$BENCH_DIR/rd-shim.h" > "$INC/rd.h.tmp"
printf '#include "%s"\n' "$BENCH_DIR/rd-shim.h" > "$INC/rdtime.h.tmp"
printf '#include <librdkafka/rdkafka.h>\n' > "$INC/rdkafka.h.tmp"
for f in rd.h rdtime.h rdkafka.h; do
  if ! cmp -s "$INC/$f.tmp" "$INC/$f"; then mv "$INC/$f.tmp" "$INC/$f"; else rm -f "$INC/$f.tmp"; fi
done

needs_build() { # target sources...
  local target="$1"; shift
  [ -x "$target" ] || return 0
  local s
  for s in "$@"; do [ "$s" -nt "$target" ] && return 0; done
  return 1
}

if needs_build "$OUT/rdkafka_performance" "$PERF_SRC" "$BENCH_DIR/rd-shim.h" "$BENCH_DIR/setup.sh"; then
  echo "[setup] building bench/out/rdkafka_performance from $PERF_SRC" >&2
  gcc -O2 -I "$INC" -o "$OUT/rdkafka_performance" "$PERF_SRC" -lrdkafka -lm
fi

if needs_build "$OUT/mock-broker" "$BENCH_DIR/mock-broker.c" "$BENCH_DIR/setup.sh"; then
  echo "[setup] building bench/out/mock-broker" >&2
  gcc -O2 -Wall -o "$OUT/mock-broker" "$BENCH_DIR/mock-broker.c" -lrdkafka
fi

echo "[setup] ok: $OUT/rdkafka_performance, $OUT/mock-broker ($(pkg-config --modversion rdkafka 2>/dev/null || dpkg-query -W -f='${Version}' librdkafka-dev))" >&2
