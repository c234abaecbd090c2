// The bare-disk yardstick for acks=all produce latency: append `--bytes` to a fresh file and fdatasync it, `--count`
// times, paced at `--rate` per second, timing each write+fdatasync pair. The file is created in `--dir` (put it on
// the same filesystem as kgate's data) and removed afterwards.
//
//   bun bench/fsync-probe.ts --dir DIR [--bytes 170] [--count 5000] [--rate 1000] [--skip 200]
//
// Prints one JSON line: {"bytes","count","rate","skip","n","p50us","p99us","p999us","maxus","meanus","achievedRate","wallMs"}
// (percentiles over the samples after the first `skip`, in µs, the same way bench/run.ts reads rdkafka_performance's
// latencies). 170 B is the size of a v2 record batch holding one 100 B record with no key and no headers (61 B of batch
// header + 109 B of record), what one produce of bench/run.ts's latency phase appends to the log.
//
// Pacing: operation i is due at start + i / rate; the probe waits for that time (Atomics.wait, sub-millisecond), and
// when an operation overran its slot the next one starts at once and the schedule continues from there (no burst
// to catch up).

import { closeSync, fdatasyncSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { latencyStats } from "./lib.ts";

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  if (v !== undefined) return v;
  if (fallback === undefined) {
    console.error("usage: bun bench/fsync-probe.ts --dir DIR [--bytes 170] [--count 5000] [--rate 1000] [--skip 200]");
    process.exit(2);
  }
  return fallback;
}

function num(name: string, fallback: number): number {
  const n = Number(arg(name, String(fallback)));
  if (!Number.isFinite(n) || n < 0) {
    console.error(`--${name} must be a non-negative number`);
    process.exit(2);
  }
  return n;
}

const dir = arg("dir");
const bytes = Math.max(1, Math.round(num("bytes", 170)));
const count = Math.max(1, Math.round(num("count", 5_000)));
const rate = num("rate", 1_000);
const skip = Math.min(Math.round(num("skip", 200)), Math.floor(count / 10));

mkdirSync(dir, { recursive: true });
const file = join(dir, `fsync-probe-${process.pid}.bin`);
const payload = new Uint8Array(bytes).fill(0x78);
const waiter = new Int32Array(new SharedArrayBuffer(4));
const intervalMs = rate > 0 ? 1000 / rate : 0;
const samples: number[] = [];

const fd = openSync(file, "a");
try {
  const t0 = performance.now();
  let due = t0;
  for (let i = 0; i < count; i++) {
    const wait = due - performance.now();
    if (wait > 0) Atomics.wait(waiter, 0, 0, wait);
    const start = performance.now();
    writeSync(fd, payload);
    fdatasyncSync(fd);
    const end = performance.now();
    samples.push(Math.round((end - start) * 1000));
    due = Math.max(due + intervalMs, end);
  }
  const wallMs = performance.now() - t0;
  const stats = latencyStats(samples, skip);
  console.log(JSON.stringify({ bytes, count, rate, skip, ...stats, meanus: Math.round(stats.meanus), achievedRate: Math.round((count / wallMs) * 1000), wallMs: Math.round(wallMs) }));
} finally {
  closeSync(fd);
  rmSync(file, { force: true });
}
