// kgate benchmark: librdkafka's mock cluster and kgate side by side, in one run.
//
//   bash bench/run.sh            (runs bench/setup.sh, then this file with bun)
//   bun bench/run.ts             (if bench/out/ is already built)
//
// Every number is produced by Debian's rdkafka_performance (bench/out/, built by
// setup.sh) against (1) bench/out/mock-broker and (2) kgate, with the same
// flags, in the same run. Prints a table of absolute numbers and, as its last
// line, one line of ratios. See bench/README.md for what each number means.

import { spawn, type Subprocess } from "bun";
import { closeSync, existsSync, mkdirSync, openSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BENCH,
  BUN,
  HOST,
  LOGS,
  MOCK,
  MiB,
  OUT,
  PERF,
  ROOT,
  consumeArgs,
  cpuSeconds,
  createTopics as createTopicsVia,
  div,
  envNum,
  f,
  fmtInt,
  installCleanup,
  isNum,
  kgateArgs as kgateFlags,
  killAll,
  latencyArgs,
  latencyStats,
  libVersion,
  median,
  parseConsume,
  parseProduce,
  perfFailure,
  probeArgs,
  produceArgs,
  readLatencySamples,
  removeTempDir,
  resolveKgate as resolveKgateCmd,
  rssBytes,
  runPerf,
  sleep,
  startKgate as launchKgate,
  stop,
  tail,
  track,
  waitForListen,
  type ConsumeResult,
  type KgateLauncher,
  type PerfRun,
  type ProduceResult,
} from "./lib.ts";

// ---------------------------------------------------------------- configuration

const SCALE = envNum("BENCH_SCALE", 1);
const scaled = (name: string, fallback: number, min = 1): number => Math.max(min, Math.round(envNum(name, fallback) * SCALE));

const cfg = {
  msgs100B: scaled("BENCH_MSGS_100B", envNum("BENCH_MSGS", 8_000_000)),
  msgs1KiB: scaled("BENCH_MSGS_1KIB", 3_000_000),
  warmupMsgs: scaled("BENCH_WARMUP_MSGS", 200_000),
  latMsgs: scaled("BENCH_LAT_MSGS", 10_000, 100),
  latRate: envNum("BENCH_LAT_RATE", 1_000),
  latSkip: envNum("BENCH_LAT_SKIP", 200),
  lingerMs: envNum("BENCH_LINGER_MS", 5),
  retainMsgs: scaled("BENCH_RETAIN_MSGS", 1_000_000),
  idlePartitions: envNum("BENCH_IDLE_PARTITIONS", 100),
  idleMsgs: envNum("BENCH_IDLE_MSGS", 2_000),
  idleWaitMs: envNum("BENCH_IDLE_WAIT_MS", 2_000),
  startTrials: envNum("BENCH_START_TRIALS", 5),
  pingRounds: envNum("BENCH_PINGPONG_ROUNDS", 20_000),
  phaseTimeoutMs: envNum("BENCH_PHASE_TIMEOUT_S", 120) * 1000,
  startTimeoutMs: envNum("BENCH_START_TIMEOUT_S", 20) * 1000,
  kgateMode: (process.env.BENCH_KGATE_MODE ?? "file") as "file" | "memory",
  kgateCmd: process.env.BENCH_KGATE_CMD ?? "",
  skipMock: process.env.BENCH_SKIP_MOCK === "1",
  skipKgate: process.env.BENCH_SKIP_KGATE === "1",
  dataBase: process.env.BENCH_DATA_DIR ?? tmpdir(),
};
if (cfg.kgateMode !== "file" && cfg.kgateMode !== "memory") throw new Error("BENCH_KGATE_MODE must be file or memory");

// ---------------------------------------------------------------- process bookkeeping

installCleanup("[bench]");

const log = (msg: string): void => console.error(`[bench] ${msg}`);

// ---------------------------------------------------------------- rdkafka_performance

const perf = (args: string[], timeoutMs = cfg.phaseTimeoutMs): Promise<PerfRun> => runPerf(args, timeoutMs);


// ---------------------------------------------------------------- targets

interface Target {
  name: "mock" | "kgate";
  bootstrap: string;
  proc: Subprocess;
  pid: number;
  /** Set when a phase timed out or the process died: later phases are skipped. */
  stalled?: string;
}

function alive(t: Target): boolean {
  return t.proc.exitCode === null && t.proc.signalCode === null;
}

/** Marks the target stalled when a phase timed out or it exited; returns true if phases should go on. */
function checkAlive(t: Target, r: Results, label: string, run?: PerfRun): boolean {
  if (!alive(t)) t.stalled = `${t.name} exited (${t.proc.exitCode ?? t.proc.signalCode}) during ${label}`;
  else if (run?.timedOut) t.stalled = `${label} timed out after ${(cfg.phaseTimeoutMs / 1000).toFixed(0)} s (BENCH_PHASE_TIMEOUT_S)`;
  if (t.stalled) {
    r.errors.push(`remaining phases skipped: ${t.stalled}`);
    log(`${t.name}: remaining phases skipped: ${t.stalled}`);
    return false;
  }
  return true;
}

interface PhaseCpu {
  cpuS: number;
}

interface Results {
  produce100B?: ProduceResult & PhaseCpu;
  produce1KiB?: ProduceResult & PhaseCpu;
  consume1KiB?: ConsumeResult & PhaseCpu;
  latency?: { n: number; p50us: number; p99us: number; p999us: number; maxus: number; meanus: number };
  rssAfterPhasesBytes?: number;
  rssIdleBytes?: number;
  rssIdleNote?: string;
  memRetain?: { retainedBytes: number; rssBytes: number; rssBeforeBytes: number; produce: ProduceResult & PhaseCpu };
  startMs?: number[];
  startNote?: string;
  errors: string[];
}

const results: { mock: Results; kgate: Results; pingPong?: { p50us: number; p99us: number; meanus: number; rounds: number } } = {
  mock: { errors: [] },
  kgate: { errors: [] },
};

async function withCpu<T>(t: Target, fn: () => Promise<T>): Promise<{ value: T; cpuS: number }> {
  const before = cpuSeconds(t.pid);
  const value = await fn();
  const after = alive(t) ? cpuSeconds(t.pid) : NaN;
  return { value, cpuS: after - before };
}

function commonProduceArgs(t: Target, topic: string, size: number, count: number): string[] {
  return produceArgs(t.bootstrap, topic, size, count);
}

async function producePhase(t: Target, r: Results, label: string, topic: string, size: number, count: number, linger = cfg.lingerMs) {
  if (t.stalled) return undefined;
  log(`${t.name}: ${label}: produce ${count} x ${size} B to ${topic} (acks=all, linger.ms=${linger})`);
  const { value: run, cpuS } = await withCpu(t, () => perf([...commonProduceArgs(t, topic, size, count), "-X", `linger.ms=${linger}`]));
  const parsed = parseProduce(run.stdout);
  if (!parsed || run.code !== 0 || parsed.delivered !== count) {
    r.errors.push(perfFailure(`${label} (delivered ${parsed?.delivered ?? "?"} of ${count})`, run));
    log(`${t.name}: ${label} FAILED`);
    checkAlive(t, r, label, run);
    return undefined;
  }
  log(`${t.name}: ${label}: ${fmtInt(parsed.msgsPerSec)} msgs/s, ${parsed.mbPerSec.toFixed(1)} MB/s, gateway cpu ${cpuS.toFixed(2)} s`);
  return { ...parsed, cpuS };
}

async function consumePhase(t: Target, r: Results, label: string, topic: string, count: number) {
  if (t.stalled) return undefined;
  log(`${t.name}: ${label}: consume ${count} records from ${topic} (from beginning)`);
  const { value: run, cpuS } = await withCpu(t, () => perf(consumeArgs(t.bootstrap, topic, [0], count)));
  const parsed = parseConsume(run.stdout);
  if (!parsed || parsed.msgs < count) {
    r.errors.push(perfFailure(`${label} (consumed ${parsed?.msgs ?? "?"} of ${count})`, run));
    log(`${t.name}: ${label} FAILED`);
    checkAlive(t, r, label, run);
    return undefined;
  }
  log(`${t.name}: ${label}: ${fmtInt(parsed.msgsPerSec)} msgs/s, ${parsed.mbPerSec.toFixed(1)} MB/s, gateway cpu ${cpuS.toFixed(2)} s`);
  return { ...parsed, cpuS };
}

async function latencyPhase(t: Target, r: Results, topic: string) {
  if (t.stalled) return undefined;
  const file = join(OUT, `latency-${t.name}.txt`);
  rmSync(file, { force: true });
  log(`${t.name}: latency: ${cfg.latMsgs} x 100 B at ${cfg.latRate}/s (acks=all, linger.ms=0)`);
  const run = await perf(
    latencyArgs(t.bootstrap, topic, cfg.latMsgs, cfg.latRate, file),
    Math.max(cfg.phaseTimeoutMs, (cfg.latMsgs / cfg.latRate) * 1000 * 2 + 30_000),
  );
  const parsed = parseProduce(run.stdout);
  const samples = readLatencySamples(file);
  if (run.code !== 0 || !parsed || samples.length < cfg.latMsgs * 0.9) {
    r.errors.push(perfFailure(`latency (${samples.length} samples of ${cfg.latMsgs})`, run));
    log(`${t.name}: latency FAILED`);
    checkAlive(t, r, "latency", run);
    return undefined;
  }
  const skip = Math.min(cfg.latSkip, Math.floor(samples.length / 10));
  const lat = latencyStats(samples, skip);
  log(`${t.name}: latency: p50 ${lat.p50us} us, p99 ${lat.p99us} us (${lat.n} samples, first ${skip} skipped)`);
  return lat;
}

/** The throughput and latency phases, identical for both targets. */
async function throughputPhases(t: Target, r: Results, warmup: boolean): Promise<void> {
  if (!(await probe(t, r))) return;
  if (warmup && cfg.warmupMsgs > 0) {
    // Same code paths as the timed phases (connections, JIT), on its own topic.
    log(`${t.name}: warm-up: ${cfg.warmupMsgs} x 100 B + ${Math.ceil(cfg.warmupMsgs / 10)} x 1 KiB, then consume`);
    const n1k = Math.ceil(cfg.warmupMsgs / 10);
    const runs: [string, string[]][] = [
      ["warm-up produce 100 B", [...commonProduceArgs(t, "warmup", 100, cfg.warmupMsgs), "-X", `linger.ms=${cfg.lingerMs}`]],
      ["warm-up produce 1 KiB", [...commonProduceArgs(t, "warmup1k", 1024, n1k), "-X", `linger.ms=${cfg.lingerMs}`]],
      ["warm-up consume 1 KiB", consumeArgs(t.bootstrap, "warmup1k", [0], n1k)],
    ];
    for (const [label, args] of runs) {
      const run = await perf(args);
      if (run.code !== 0) r.errors.push(perfFailure(label, run));
      if (!checkAlive(t, r, label, run)) return;
    }
  }
  r.produce100B = await producePhase(t, r, "produce100B", "p100", 100, cfg.msgs100B);
  r.produce1KiB = await producePhase(t, r, "produce1KiB", "p1k", 1024, cfg.msgs1KiB);
  if (t.name === "kgate") {
    // The mock keeps only the last few MB of each partition, so its consume rate
    // is not meaningful; kgate's consume rate is compared with the mock's produce rate.
    r.consume1KiB = await consumePhase(t, r, "consume1KiB", "p1k", cfg.msgs1KiB);
  }
  r.latency = await latencyPhase(t, r, "lat");
  if (alive(t)) r.rssAfterPhasesBytes = rssBytes(t.pid);
}

/** One record, acks=all, bounded: does the target work at all? */
async function probe(t: Target, r: Results): Promise<boolean> {
  const run = await perf(probeArgs(t.bootstrap), 30_000);
  const parsed = parseProduce(run.stdout);
  if (run.code === 0 && parsed?.delivered === 1) return true;
  t.stalled = "a 1-record probe produce failed";
  r.errors.push(perfFailure("probe (1 record to topic probe)", run));
  r.errors.push(`throughput/latency phases skipped: ${t.stalled}`);
  log(`${t.name}: probe produce FAILED: throughput/latency phases skipped`);
  return false;
}

// ---------------------------------------------------------------- mock

/** Reads a child's stdout continuously (so the pipe never fills) and lets callers wait for a pattern. */
class OutputWatcher {
  text = "";
  done = false;
  private waiters: (() => void)[] = [];

  constructor(stream: ReadableStream<Uint8Array>) {
    void this.pump(stream);
  }

  private async pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const dec = new TextDecoder();
    try {
      for await (const chunk of stream) {
        if (this.text.length < 1_000_000) this.text += dec.decode(chunk, { stream: true });
        this.wake();
      }
    } catch {}
    this.done = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  async waitFor(re: RegExp, timeoutMs: number): Promise<RegExpExecArray | null> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.text);
      if (m) return m;
      const left = deadline - performance.now();
      if (this.done || left <= 0) return null;
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }
}

async function startMock(topics: string[]): Promise<Target | null> {
  const logFile = join(LOGS, "mock-broker.log");
  const errFd = openSync(logFile, "w");
  const proc = track(spawn([MOCK, ...topics], { stdout: "pipe", stderr: errFd, stdin: "ignore" }));
  closeSync(errFd);
  const out = new OutputWatcher(proc.stdout);
  const m = await out.waitFor(/BOOTSTRAP (\S+)/, 10_000);
  if (m) return { name: "mock", bootstrap: m[1]!.split(",")[0]!, proc, pid: proc.pid };
  log(`mock-broker did not start: ${out.text} ${tail(logFile)}`);
  await stop(proc);
  return null;
}

async function mockStartMs(): Promise<number | null> {
  const t0 = performance.now();
  const proc = track(spawn([MOCK, "s"], { stdout: "pipe", stderr: "ignore", stdin: "ignore" }));
  const m = await new OutputWatcher(proc.stdout).waitFor(/BOOTSTRAP [^:]+:(\d+)/, 5_000);
  const ms = m ? await waitForListen(HOST, Number(m[1]), proc, 5_000, t0) : null;
  await stop(proc);
  return ms;
}

async function benchMock(): Promise<void> {
  const r = results.mock;
  const startTimes: number[] = [];
  for (let i = 0; i < Math.min(3, cfg.startTrials); i++) {
    const ms = await mockStartMs();
    if (ms !== null) startTimes.push(ms);
  }
  r.startMs = startTimes;

  const t = await startMock(["probe", "warmup", "warmup1k", "p100", "p1k", "lat"]);
  if (!t) {
    r.errors.push("mock-broker did not start");
    return;
  }
  log(`mock: listening on ${t.bootstrap} (pid ${t.pid})`);
  try {
    await throughputPhases(t, r, true);
  } finally {
    await stop(t.proc);
  }

  // Idle RSS with 100 partitions, on a fresh mock (informational).
  const idle = await startMock([`idle100:${cfg.idlePartitions}`]);
  if (idle) {
    await perf(["-P", "-t", "idle100", "-b", idle.bootstrap, "-s", "100", "-c", String(cfg.idleMsgs), "-a", "-1", "-X", "linger.ms=0"]);
    await sleep(cfg.idleWaitMs);
    r.rssIdleBytes = rssBytes(idle.pid);
    await stop(idle.proc);
  }
}

// ---------------------------------------------------------------- kgate

function resolveKgate(): KgateLauncher | null {
  return resolveKgateCmd(cfg.kgateCmd);
}

function kgateArgs(k: KgateLauncher, port: number, mode: "file" | "memory", dataDir: string, defaultPartitions: number): string[] {
  return kgateFlags(k, [
    ["--listen", `${HOST}:${port}`],
    ["--advertise", `${HOST}:${port}`],
    mode === "memory" ? ["--memory", null] : ["--data", dataDir],
    ["--default-partitions", String(defaultPartitions)],
    ["--log-level", "warn"],
  ]);
}

async function startKgate(
  k: KgateLauncher,
  mode: "file" | "memory",
  defaultPartitions: number,
  tag: string,
): Promise<{ target: Target; dataDir: string; logFile: string; readyMs: number } | { error: string }> {
  if (mode === "memory" && k.flags && !k.flags.has("--memory")) return { error: "kgate --help does not list --memory" };
  const s = await launchKgate(k, {
    tag,
    dataBase: cfg.dataBase,
    logDir: LOGS,
    startTimeoutMs: cfg.startTimeoutMs,
    args: (port, dataDir) => kgateArgs(k, port, mode, dataDir, defaultPartitions),
  });
  if ("error" in s) return s;
  return { target: { name: "kgate", bootstrap: s.bootstrap, proc: s.proc, pid: s.pid }, dataDir: s.dataDir, logFile: s.logFile, readyMs: s.readyMs };
}

async function stopKgate(s: { target: Target; dataDir: string }): Promise<void> {
  await stop(s.target.proc);
  removeTempDir(s.dataDir);
}

/** Creates topics with kafkajs; when that fails, kgate auto-creates them on first use. */
async function createTopics(t: Target, specs: string[]): Promise<void> {
  const err = await createTopicsVia(t.bootstrap, specs);
  if (err !== null) log(`${t.name}: CreateTopics via kafkajs failed (${err}); relying on auto-creation`);
}

async function benchKgate(): Promise<void> {
  const r = results.kgate;
  const k = resolveKgate();
  if (!k) {
    r.errors.push("kgate not found: neither dist/kgate nor src/main.ts exists (set BENCH_KGATE_CMD to override)");
    log("kgate: SKIPPED (no dist/kgate and no src/main.ts)");
    return;
  }
  log(`kgate: using ${k.label}${k.flags ? "" : " (no usable --help output: passing all flags)"}; log mode for throughput: ${cfg.kgateMode}`);

  // 1. Start-up: exec until the listener accepts a TCP connection.
  const startTimes: number[] = [];
  for (let i = 0; i < cfg.startTrials; i++) {
    const s = await startKgate(k, cfg.kgateMode, 1, "start");
    if ("error" in s) {
      r.errors.push(`start: ${s.error}`);
      log(`kgate: SKIPPED: cannot start:\n    ${s.error}`);
      return;
    }
    startTimes.push(s.readyMs);
    await stopKgate(s);
  }
  r.startMs = startTimes;
  r.startNote = k.compiled ? "dist/kgate" : `${k.label} (not the compiled binary)`;

  // 2. Idle RSS with N partitions, on a fresh instance.
  {
    const s = await startKgate(k, cfg.kgateMode, cfg.idlePartitions, "idle");
    if ("error" in s) r.errors.push(`idle: ${s.error}`);
    else {
      try {
        await createTopics(s.target, [`idle100:${cfg.idlePartitions}`]);
        const run = await perf(
          ["-P", "-t", "idle100", "-b", s.target.bootstrap, "-s", "100", "-c", String(cfg.idleMsgs), "-a", "-1", "-X", "linger.ms=0"],
          60_000,
        );
        const parsed = parseProduce(run.stdout);
        if (!parsed || parsed.delivered !== cfg.idleMsgs) r.errors.push(perfFailure("idle100p produce", run));
        await sleep(cfg.idleWaitMs);
        r.rssIdleBytes = rssBytes(s.target.pid);
        r.rssIdleNote = `${cfg.idlePartitions} partitions, ${cfg.idleMsgs} x 100 B spread over them, ${cfg.kgateMode} log`;
        log(`kgate: idle RSS with ${cfg.idlePartitions} partitions: ${(r.rssIdleBytes / MiB).toFixed(1)} MiB`);
      } finally {
        await stopKgate(s);
      }
    }
  }

  // 3. Throughput, consume and latency phases on one instance.
  {
    const s = await startKgate(k, cfg.kgateMode, 1, "main");
    if ("error" in s) r.errors.push(`main: ${s.error}`);
    else {
      log(`kgate: listening on ${s.target.bootstrap} (pid ${s.target.pid}, ${cfg.kgateMode} log, output in ${s.logFile})`);
      try {
        await createTopics(s.target, ["probe", "warmup", "warmup1k", "p100", "p1k", "lat"]);
        await throughputPhases(s.target, r, true);
      } finally {
        if (s.target.proc.exitCode !== null) r.errors.push(`kgate exited during the run (code ${s.target.proc.exitCode}); log ${s.logFile}:\n    ${tail(s.logFile)}`);
        await stopKgate(s);
      }
    }
  }

  // 4. Memory mode: RSS after retaining N bytes.
  {
    const s = await startKgate(k, "memory", 1, "mem");
    if ("error" in s) r.errors.push(`memory mode: ${s.error}`);
    else {
      try {
        await createTopics(s.target, ["retain"]);
        await sleep(200);
        const rssBefore = rssBytes(s.target.pid);
        const produce = await producePhase(s.target, r, "retain (memory mode)", "retain", 1024, cfg.retainMsgs);
        if (produce) {
          await sleep(1_000);
          const rss = rssBytes(s.target.pid);
          r.memRetain = { retainedBytes: cfg.retainMsgs * 1024, rssBytes: rss, rssBeforeBytes: rssBefore, produce };
          log(`kgate: memory mode: RSS ${(rss / MiB).toFixed(0)} MiB after retaining ${((cfg.retainMsgs * 1024) / MiB).toFixed(0)} MiB`);
        }
      } finally {
        await stopKgate(s);
      }
    }
  }
}

// ---------------------------------------------------------------- ping-pong

async function benchPingPong(): Promise<void> {
  const p = track(
    spawn([BUN, join(BENCH, "ping-pong.ts"), "--json", "--rounds", String(cfg.pingRounds)], { stdout: "pipe", stderr: "pipe", cwd: ROOT }),
  );
  const timer = setTimeout(() => p.kill("SIGKILL"), 120_000);
  const out = await new Response(p.stdout).text();
  await p.exited;
  clearTimeout(timer);
  try {
    const j = JSON.parse(out.trim().split("\n").pop() ?? "");
    results.pingPong = { p50us: j.p50us, p99us: j.p99us, meanus: j.meanus, rounds: j.rounds };
    log(`ping-pong: p50 ${j.p50us} us, p99 ${j.p99us} us`);
  } catch {
    log(`ping-pong failed: ${out} ${await new Response(p.stderr).text()}`);
  }
}

// ---------------------------------------------------------------- report

const cpuPerGB = (x: { cpuS: number; bytes: number } | undefined): number | undefined => (x ? div(x.cpuS, x.bytes / 1e9) : undefined);

function report(): void {
  const m = results.mock;
  const g = results.kgate;
  const pp = results.pingPong;

  const ratio = {
    produce100B: div(g.produce100B?.msgsPerSec, m.produce100B?.msgsPerSec),
    produce1KiB: div(g.produce1KiB?.mbPerSec, m.produce1KiB?.mbPerSec),
    consume1KiB: div(g.consume1KiB?.mbPerSec, m.produce1KiB?.mbPerSec),
    cpuIn: cpuPerGB(g.produce1KiB),
    cpuOut: cpuPerGB(g.consume1KiB),
    p50: div(g.latency?.p50us, pp?.p50us),
    p99ms: isNum(g.latency?.p99us) ? g.latency!.p99us / 1000 : undefined,
    rssIdle: isNum(g.rssIdleBytes) ? g.rssIdleBytes / MiB : undefined,
    rssMem: g.memRetain ? Math.max(0, g.memRetain.rssBytes - 64 * MiB) / g.memRetain.retainedBytes : undefined,
    start: median(g.startMs),
  };

  const rows: [string, string, string, string][] = [];
  const row = (metric: string, mock: string, kgate: string, note = ""): void => void rows.push([metric, mock, kgate, note]);
  const tp = (x: ProduceResult | undefined): string => (x ? `${fmtInt(x.msgsPerSec)} msg/s ${x.mbPerSec.toFixed(1)} MB/s` : "n/a");
  const check = (v: number | undefined, ok: (v: number) => boolean, target: string): string =>
    isNum(v) ? `${ok(v) ? "ok  " : "MISS"} target ${target}` : `     target ${target}`;

  row("produce 100 B", tp(m.produce100B), tp(g.produce100B), check(ratio.produce100B, (v) => v >= 0.9, "msgs/s >= 0.9x mock"));
  row("produce 1 KiB", tp(m.produce1KiB), tp(g.produce1KiB), check(ratio.produce1KiB, (v) => v >= 0.6, "MB/s >= 0.6x mock"));
  row(
    "consume 1 KiB",
    "(not run: mock keeps ~5 MB)",
    g.consume1KiB ? `${fmtInt(g.consume1KiB.msgsPerSec)} msg/s ${g.consume1KiB.mbPerSec.toFixed(1)} MB/s` : "n/a",
    check(ratio.consume1KiB, (v) => v >= 0.6, "MB/s >= 0.6x mock produce 1 KiB"),
  );
  row("cpu s/GB produce 100 B", f(cpuPerGB(m.produce100B)), f(cpuPerGB(g.produce100B)), "(info)");
  row("cpu s/GB produce 1 KiB", f(cpuPerGB(m.produce1KiB)), f(ratio.cpuIn), check(ratio.cpuIn, (v) => v <= 1.0, "<= 1.0 s/GB"));
  row("cpu s/GB consume 1 KiB", "n/a", f(ratio.cpuOut), check(ratio.cpuOut, (v) => v <= 0.5, "<= 0.5 s/GB"));
  row(
    "produce latency p50",
    f(m.latency?.p50us, 0, " us"),
    f(g.latency?.p50us, 0, " us"),
    check(ratio.p50, (v) => v <= 7, `<= 7x ping-pong p50 (${f(pp?.p50us, 1, " us")}); mock ${f(div(m.latency?.p50us, pp?.p50us), 1, "x")}`),
  );
  row("produce latency p99", f(m.latency?.p99us, 0, " us"), f(g.latency?.p99us, 0, " us"), check(ratio.p99ms, (v) => v <= 2, "<= 2 ms"));
  row("produce latency p99.9 / max", `${f(m.latency?.p999us, 0)} / ${f(m.latency?.maxus, 0)} us`, `${f(g.latency?.p999us, 0)} / ${f(g.latency?.maxus, 0)} us`, "(info)");
  row("ping-pong round trip (Bun)", "", pp ? `p50 ${pp.p50us} us, p99 ${pp.p99us} us` : "n/a", "(info: the latency yardstick)");
  row(
    `RSS idle, ${cfg.idlePartitions} partitions`,
    f(isNum(m.rssIdleBytes) ? m.rssIdleBytes / MiB : undefined, 1, " MiB"),
    f(ratio.rssIdle, 1, " MiB"),
    check(ratio.rssIdle, (v) => v <= 60, "<= 60 MiB"),
  );
  row(
    "RSS memory mode after retaining",
    "",
    g.memRetain ? `${(g.memRetain.rssBytes / MiB).toFixed(0)} MiB for ${(g.memRetain.retainedBytes / MiB).toFixed(0)} MiB` : "n/a",
    check(ratio.rssMem, (v) => v <= 1.2, "(RSS - 64 MiB) / retained <= 1.2x"),
  );
  row("produce 1 KiB, memory mode", "", g.memRetain ? tp(g.memRetain.produce) : "n/a", `(info) cpu ${f(cpuPerGB(g.memRetain?.produce))} s/GB`);
  row("RSS after all phases", f(isNum(m.rssAfterPhasesBytes) ? m.rssAfterPhasesBytes / MiB : undefined, 0, " MiB"), f(isNum(g.rssAfterPhasesBytes) ? g.rssAfterPhasesBytes / MiB : undefined, 0, " MiB"), `(info) ${cfg.kgateMode} log`);
  row(
    "start: exec -> accepts TCP",
    f(median(m.startMs), 1, " ms"),
    f(ratio.start, 1, " ms"),
    `${check(ratio.start, (v) => v <= 100, "<= 100 ms")}${g.startNote && !g.startNote.startsWith("dist/") ? ` [${g.startNote}]` : ""}`,
  );

  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i].length), ["metric", "mock", "kgate", "check"][i]!.length));
  const line = (cols: string[]): string => cols.map((c, i) => c.padEnd(widths[i]!)).join(" | ").trimEnd();
  console.log("");
  console.log(
    `kgate bench  ${new Date().toISOString()}  cores=${navigator.hardwareConcurrency}  librdkafka=${libVersion()}  kgate=${g.startNote ?? "n/a"} (${cfg.kgateMode} log)`,
  );
  console.log(
    `counts: 100B=${cfg.msgs100B} 1KiB=${cfg.msgs1KiB} latency=${cfg.latMsgs}@${cfg.latRate}/s retain=${cfg.retainMsgs}x1KiB linger.ms=${cfg.lingerMs} acks=all partitions=1`,
  );
  console.log(line(["metric", "mock", "kgate", "check"]));
  console.log(widths.map((w) => "-".repeat(w)).join("-|-"));
  for (const r of rows) console.log(line(r));
  for (const [name, r] of [["mock", m], ["kgate", g]] as const) {
    for (const e of r.errors) console.log(`! ${name}: ${e}`);
  }

  const out = join(OUT, `results-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(out, JSON.stringify({ cfg, results, ratio }, null, 2));
  console.log(`(raw numbers: ${out.replace(ROOT + "/", "")})`);

  const startSuffix = g.startNote && !g.startNote.startsWith("dist/") ? "(src)" : "";
  console.log(
    [
      "ratios:",
      `produce100B=${f(ratio.produce100B, 2, "x")}`,
      `produce1KiB=${f(ratio.produce1KiB, 2, "x")}`,
      `consume1KiB=${f(ratio.consume1KiB, 2, "x")}`,
      `cpu/GBin=${f(ratio.cpuIn, 2, "s")}`,
      `cpu/GBout=${f(ratio.cpuOut, 2, "s")}`,
      `p50=${f(ratio.p50, 1, "x")}`,
      `p99=${f(ratio.p99ms, 2, "ms")}`,
      `rssIdle100p=${f(ratio.rssIdle, 0, "MiB")}`,
      `rssMem=${f(ratio.rssMem, 2, "x")}`,
      `start=${f(ratio.start, 0, "ms")}${isNum(ratio.start) ? startSuffix : ""}`,
    ].join(" "),
  );
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  for (const bin of [PERF, MOCK]) {
    if (!existsSync(bin) || !(statSync(bin).mode & 0o111)) {
      console.error(`[bench] ${bin} missing: run bash bench/setup.sh (or bash bench/run.sh)`);
      process.exit(1);
    }
  }
  rmSync(LOGS, { recursive: true, force: true }); // logs of this run only
  mkdirSync(LOGS, { recursive: true });
  const t0 = performance.now();

  await benchPingPong();
  if (!cfg.skipMock) await benchMock();
  if (!cfg.skipKgate) await benchKgate();
  else results.kgate.errors.push("skipped (BENCH_SKIP_KGATE=1)");

  log(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  report();
}

await main().catch((err) => {
  console.error(`[bench] fatal: ${err?.stack ?? err}`);
  killAll();
  process.exit(1);
});
killAll();
process.exit(0);
