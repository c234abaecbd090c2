#!/usr/bin/env bash
# A/B of gateway builds (or flags) in one run, alternating, each on a fresh instance and data folder, with
# librdkafka's rdkafka_performance (bash bench/setup.sh builds it):
#   bash bench/ab.sh produce|consume|latency BIN [BIN ...]
# BIN is an executable taking kgate's flags (dist/kgate, an older build, or a wrapper script adding flags such as
# --page-cache-window all). Environment: N (records, default 1,000,000; latency: 5,000 at 1,000/s), SIZE (bytes per
# record, default 1024), ROUNDS (default 2).
# produce: acks=all, linger.ms=5; prints MB/s, the gateway's user and system CPU-s per GB (/proc/PID/stat) and its
#          minor page faults during the phase, after a 50,000-record warm-up.
# consume: produces N records first, then consumes them from the beginning; MB/s and CPU-s per GB of the consume.
# latency: N records at 1,000/s, one per request (linger.ms=0), acks=all; p50/p99 from the producer's own timing,
#          the first 200 skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:?usage: bash bench/ab.sh produce|consume|latency BIN [BIN ...]}
shift
[ $# -gt 0 ] || { echo "usage: bash bench/ab.sh produce|consume|latency BIN [BIN ...]" >&2; exit 2; }
perf=bench/out/rdkafka_performance
[ -x "$perf" ] || bash bench/setup.sh
size=${SIZE:-1024}
rounds=${ROUNDS:-2}
if [ "$mode" = latency ]; then n=${N:-5000}; else n=${N:-1000000}; fi
gb=$(awk -v n="$n" -v s="$size" 'BEGIN { print n * s / 1e9 }')

stat_of() { awk '{ print $14, $15, $10 }' "/proc/$1/stat"; } # utime stime (ticks), minor faults
per_gb() { awk -v a="$1" -v b="$2" -v gb="$gb" 'BEGIN { printf "%.2f", (b - a) / 100 / gb }'; }

for round in $(seq 1 "$rounds"); do
  for bin in "$@"; do
    dir=$(mktemp -d "${TMPDIR:-/tmp}/kgate-ab-XXXX")
    port=$((20000 + RANDOM % 20000))
    "$bin" --listen "127.0.0.1:$port" --advertise "127.0.0.1:$port" --data "$dir/data" --log-level warn --registry-listen off >"$dir/log" 2>&1 &
    pid=$!
    for _ in $(seq 1 200); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
    label="$(basename "$bin") round $round"
    case "$mode" in
      produce)
        "$perf" -P -t warm -p 0 -s "$size" -c 50000 -a -1 -X linger.ms=5 -b "127.0.0.1:$port" >/dev/null 2>&1
        read -r u0 s0 f0 < <(stat_of "$pid")
        out=$("$perf" -P -t ab -p 0 -s "$size" -c "$n" -a -1 -X linger.ms=5 -b "127.0.0.1:$port" 2>&1 | grep delivered | tail -1)
        read -r u1 s1 f1 < <(stat_of "$pid")
        echo "$label: $(grep -o '[0-9.]* MB/s' <<<"$out") user $(per_gb "$u0" "$u1") sys $(per_gb "$s0" "$s1") s/GB, minflt $((f1 - f0))"
        ;;
      consume)
        "$perf" -P -t ab -p 0 -s "$size" -c "$n" -a -1 -X linger.ms=5 -b "127.0.0.1:$port" >/dev/null 2>&1
        read -r u0 s0 _ < <(stat_of "$pid")
        out=$("$perf" -C -t ab -p 0 -o beginning -e -c "$n" -b "127.0.0.1:$port" 2>&1 | grep "MB/s" | tail -1)
        read -r u1 s1 _ < <(stat_of "$pid")
        echo "$label: $(grep -o '[0-9.]* MB/s' <<<"$out" | tail -1) user $(per_gb "$u0" "$u1") sys $(per_gb "$s0" "$s1") s/GB"
        ;;
      latency)
        "$perf" -P -t ab -p 0 -s 100 -c "$n" -r 1000 -l -A "$dir/latency.txt" -a -1 -X linger.ms=0 -b "127.0.0.1:$port" >/dev/null 2>&1
        tail -n +201 "$dir/latency.txt" | sort -n >"$dir/sorted.txt"
        count=$(wc -l <"$dir/sorted.txt")
        echo "$label: p50 $(sed -n "$((count / 2))p" "$dir/sorted.txt") us, p99 $(sed -n "$((count * 99 / 100))p" "$dir/sorted.txt") us"
        ;;
      *) echo "unknown mode $mode" >&2; kill "$pid"; exit 2 ;;
    esac
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
    rm -rf "$dir"
  done
done
