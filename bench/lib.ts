// Helpers shared by the benchmark scripts (bench/run.ts, bench/sustained.ts, bench/fsync-probe.ts).
// Importing this module has no side effects: nothing is spawned and no handler is installed until a
// function is called (installCleanup installs the exit/signal handlers).

import { spawn, spawnSync, type Subprocess } from "bun";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

// ---------------------------------------------------------------- paths and units

export const ROOT = resolve(import.meta.dir, "..");
export const BENCH = join(ROOT, "bench");
export const OUT = join(BENCH, "out");
export const LOGS = join(OUT, "logs");
export const PERF = join(OUT, "rdkafka_performance");
export const MOCK = join(OUT, "mock-broker");
export const BUN = process.execPath;
export const HOST = "127.0.0.1";
export const MiB = 1024 * 1024;

export function envNum(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw.replace(/_/g, ""));
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${raw} is not a number`);
  return n;
}

export const sleep = (ms: number): Promise<void> => Bun.sleep(ms);

// ---------------------------------------------------------------- process bookkeeping

const children = new Set<Subprocess>();
const tempDirs = new Set<string>();

export function track<T extends Subprocess>(p: T): T {
  children.add(p);
  void p.exited.then(() => children.delete(p));
  return p;
}

/** SIGKILLs every tracked child and removes every temp dir still registered. */
export function killAll(): void {
  for (const p of children) {
    try {
      p.kill("SIGKILL");
    } catch {}
  }
  children.clear();
  for (const d of tempDirs) {
    try {
      rmSync(d, { recursive: true, force: true });
    } catch {}
  }
  tempDirs.clear();
}

/** killAll on exit, and on SIGINT/SIGTERM/SIGHUP (then exit 130), announcing it with `prefix`. */
export function installCleanup(prefix: string): void {
  process.on("exit", killAll);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      console.error(`\n${prefix} ${sig}: stopping children`);
      killAll();
      process.exit(130);
    });
  }
}

/** SIGTERM, then SIGKILL after graceMs; resolves when the process is gone. */
export async function stop(p: Subprocess | undefined, graceMs = 3_000): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  try {
    p.kill("SIGTERM");
  } catch {}
  const t = setTimeout(() => {
    try {
      p.kill("SIGKILL");
    } catch {}
  }, graceMs);
  await p.exited;
  clearTimeout(t);
}

/** A fresh `kgate-bench-<tag>-XXXXXX` folder under base, removed by killAll unless removed before. */
export function makeTempDir(base: string, tag: string): string {
  mkdirSync(base, { recursive: true });
  const d = mkdtempSync(join(base, `kgate-bench-${tag}-`));
  tempDirs.add(d);
  return d;
}

export function removeTempDir(d: string): void {
  rmSync(d, { recursive: true, force: true });
  tempDirs.delete(d);
}

// ---------------------------------------------------------------- /proc readers

let clkTck: number | undefined;
function ticksPerSecond(): number {
  if (clkTck === undefined) {
    const r = spawnSync(["getconf", "CLK_TCK"]);
    const n = Number(r.stdout.toString().trim());
    clkTck = Number.isFinite(n) && n > 0 ? n : 100;
  }
  return clkTck;
}

export interface ProcStat {
  /** user CPU of the whole process (all threads), seconds */
  userS: number;
  /** system CPU of the whole process (all threads), seconds */
  sysS: number;
  /** minor page faults of the whole process */
  minflt: number;
}

export function procStat(pid: number): ProcStat {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // After "pid (comm) ", rest[0] is field 3 (state); minflt is field 10, utime field 14, stime field 15.
  const hz = ticksPerSecond();
  return { userS: Number(rest[11]) / hz, sysS: Number(rest[12]) / hz, minflt: Number(rest[7]) };
}

/** utime+stime of the whole process (all threads), in seconds. */
export function cpuSeconds(pid: number): number {
  const s = procStat(pid);
  return s.userS + s.sysS;
}

/** A `Vm*` line of /proc/PID/status, in bytes (NaN if absent). */
export function procStatusBytes(pid: number, key: "VmRSS" | "VmHWM"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = new RegExp(`${key}:\\s+(\\d+) kB`).exec(status);
  return m ? Number(m[1]) * 1024 : NaN;
}

export function rssBytes(pid: number): number {
  return procStatusBytes(pid, "VmRSS");
}

/** Resets the process's VmHWM to its current RSS (Linux: "5" to clear_refs). */
export function resetHwm(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, "5");
}

// ---------------------------------------------------------------- networking helpers

export async function freePort(): Promise<number> {
  const l = Bun.listen({ hostname: HOST, port: 0, socket: { data() {} } });
  const port = l.port;
  l.stop(true);
  return port;
}

export async function canConnect(host: string, port: number): Promise<boolean> {
  try {
    const s = await Bun.connect({ hostname: host, port, socket: { data() {} } });
    s.end();
    return true;
  } catch {
    return false;
  }
}

/** Polls until host:port accepts, the process exits, or timeout. Returns ms waited or null. */
export async function waitForListen(host: string, port: number, p: Subprocess, timeoutMs: number, t0 = performance.now()): Promise<number | null> {
  const deadline = t0 + timeoutMs;
  while (performance.now() < deadline) {
    if (p.exitCode !== null || p.signalCode !== null) return null;
    if (await canConnect(host, port)) return performance.now() - t0;
    await sleep(1);
  }
  return null;
}

export function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

// ---------------------------------------------------------------- rdkafka_performance

export interface PerfRun {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  wallMs: number;
}

/** Runs bench/out/rdkafka_performance; on timeout SIGINT (it prints its summary), SIGKILL 5 s later. */
export async function runPerf(args: string[], timeoutMs: number): Promise<PerfRun> {
  const t0 = performance.now();
  const p = track(spawn([PERF, ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore" }));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      p.kill("SIGINT"); // rdkafka_performance stops and prints its summary
    } catch {}
    setTimeout(() => {
      try {
        p.kill("SIGKILL");
      } catch {}
    }, 5_000);
  }, timeoutMs);
  const [stdout, stderr] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  const code = await p.exited;
  clearTimeout(timer);
  return { code, stdout, stderr, timedOut, wallMs: performance.now() - t0 };
}

/** `-P` arguments for one partition at acks=all (linger and the rest are added by the caller). */
export function produceArgs(bootstrap: string, topic: string, size: number, count: number, partition = 0): string[] {
  return ["-P", "-t", topic, "-p", String(partition), "-b", bootstrap, "-s", String(size), "-c", String(count), "-a", "-1"];
}

/**
 * The produce-latency run: `count` records of 100 B at `rate`/s, one per request (linger.ms=0), acks=all; `-l` puts
 * the send time in each payload, `-A file` writes one latency (µs) per record.
 */
export function latencyArgs(bootstrap: string, topic: string, count: number, rate: number, file: string): string[] {
  return [...produceArgs(bootstrap, topic, 100, count), "-r", String(rate), "-l", "-A", file, "-X", "linger.ms=0"];
}

/** One 16 B record, acks=all, short client timeouts: does the target work at all? */
export function probeArgs(bootstrap: string, topic = "probe"): string[] {
  return [...produceArgs(bootstrap, topic, 16, 1), "-X", "linger.ms=0", "-X", "message.timeout.ms=20000", "-X", "socket.timeout.ms=10000"];
}

/** `-C` from the beginning of `partitions`, ending at their ends (`-e`) or after `count` records. */
export function consumeArgs(bootstrap: string, topic: string, partitions: number[], count: number): string[] {
  return ["-C", "-t", topic, ...partitions.flatMap((p) => ["-p", String(p)]), "-b", bootstrap, "-o", "beginning", "-e", "-c", String(count)];
}

export interface ProduceResult {
  msgs: number;
  bytes: number;
  delivered: number;
  failed: number;
  ms: number;
  msgsPerSec: number;
  mbPerSec: number;
}

export function parseProduce(out: string): ProduceResult | null {
  const re =
    /% (\d+) messages produced \((\d+) bytes\), (\d+) delivered \(offset -?\d+, (\d+) failed\) in (\d+)ms: (\d+) msgs\/s and ([\d.]+) MB\/s/g;
  let m: RegExpExecArray | null;
  let last: RegExpExecArray | null = null;
  while ((m = re.exec(out))) last = m;
  if (!last) return null;
  return {
    msgs: Number(last[1]),
    bytes: Number(last[2]),
    delivered: Number(last[3]),
    failed: Number(last[4]),
    ms: Number(last[5]),
    msgsPerSec: Number(last[6]),
    mbPerSec: Number(last[7]),
  };
}

export interface ConsumeResult {
  msgs: number;
  bytes: number;
  ms: number;
  msgsPerSec: number;
  mbPerSec: number;
}

export function parseConsume(out: string): ConsumeResult | null {
  const re = /% (\d+) messages \((\d+) bytes\) consumed in (\d+)ms: (\d+) msgs\/s \(([\d.]+) MB\/s\)/g;
  let m: RegExpExecArray | null;
  let last: RegExpExecArray | null = null;
  while ((m = re.exec(out))) last = m;
  if (!last) return null;
  return { msgs: Number(last[1]), bytes: Number(last[2]), ms: Number(last[3]), msgsPerSec: Number(last[4]), mbPerSec: Number(last[5]) };
}

export function perfFailure(what: string, r: PerfRun, timeoutS?: number): string {
  const lines = (r.stdout + "\n" + r.stderr)
    .split("\n")
    .filter((l) => l.trim() && !l.includes("CONFWARN"))
    .slice(-8)
    .join("\n    ");
  const to = r.timedOut ? (timeoutS === undefined ? " (timed out)" : ` (timed out after ${timeoutS} s)`) : "";
  return `${what}: rdkafka_performance exit ${r.code}${to}\n    ${lines}`;
}

/** One latency value (µs) per line, as rdkafka_performance -A writes them; unreadable lines dropped. */
export function readLatencySamples(file: string): number[] {
  try {
    return readFileSync(file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map(Number)
      .filter((n) => Number.isFinite(n) && n >= 0);
  } catch {
    return [];
  }
}

export interface LatencyStats {
  n: number;
  p50us: number;
  p99us: number;
  p999us: number;
  maxus: number;
  meanus: number;
}

/** Percentiles of samples after dropping the first `skip` (set-up); samples must not be empty after the skip. */
export function latencyStats(samples: number[], skip: number): LatencyStats {
  const s = samples.slice(skip).sort((a, b) => a - b);
  return {
    n: s.length,
    p50us: pct(s, 50),
    p99us: pct(s, 99),
    p999us: pct(s, 99.9),
    maxus: s[s.length - 1]!,
    meanus: s.reduce((a, b) => a + b, 0) / s.length,
  };
}

export function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function libVersion(): string {
  try {
    return spawnSync(["dpkg-query", "-W", "-f=${Version}", "librdkafka-dev"]).stdout.toString().trim() || "?";
  } catch {
    return "?";
  }
}

// ---------------------------------------------------------------- kgate

export interface KgateLauncher {
  argv: string[]; // command without flags
  label: string; // for the report
  compiled: boolean;
  flags: Set<string> | null; // flags listed in --help, or null if unknown
}

/** `kgateCmd` if set, else dist/kgate, else `bun src/main.ts`; its --help tells which flags exist. */
export function resolveKgate(kgateCmd: string): KgateLauncher | null {
  let argv: string[];
  let label: string;
  let compiled = false;
  if (kgateCmd) {
    argv = kgateCmd.split(/\s+/).filter(Boolean);
    label = kgateCmd;
  } else if (existsSync(join(ROOT, "dist/kgate"))) {
    argv = [join(ROOT, "dist/kgate")];
    label = "dist/kgate";
    compiled = true;
  } else if (existsSync(join(ROOT, "src/main.ts"))) {
    argv = [BUN, join(ROOT, "src/main.ts")];
    label = "bun src/main.ts";
  } else {
    return null;
  }
  let flags: Set<string> | null = null;
  try {
    const h = spawnSync([...argv, "--help"], { timeout: 10_000, stdout: "pipe", stderr: "pipe", cwd: ROOT });
    const text = h.stdout.toString() + h.stderr.toString();
    if (text.includes("--listen")) flags = new Set(text.match(/--[a-z][a-z0-9-]*/g) ?? []);
  } catch {}
  return { argv, label, compiled, flags };
}

/**
 * The flags of `want` that this kgate takes: --listen always; the others only if --help lists them, or if --help
 * could not be read, except those in `onlyIfListed`, which are passed only when --help lists them.
 */
export function kgateArgs(k: KgateLauncher, want: [string, string | null][], onlyIfListed: string[] = ["--log-level"]): string[] {
  const out: string[] = [];
  for (const [flag, value] of want) {
    if (flag !== "--listen" && k.flags && !k.flags.has(flag)) continue;
    if (onlyIfListed.includes(flag) && !k.flags) continue; // only when we know it exists
    out.push(flag);
    if (value !== null) out.push(value);
  }
  return out;
}

export interface StartedKgate {
  proc: Subprocess;
  pid: number;
  bootstrap: string;
  /** the fresh temp folder of this instance (removed by stopKgate) */
  dataDir: string;
  logFile: string;
  readyMs: number;
}

let kgateLogSeq = 0;

/**
 * Starts kgate on a fresh free port with a fresh temp folder under dataBase; `args(port, dir)` gives its flags. Output
 * goes to logDir/kgate-<seq>-<tag>.log. Resolves once the port accepts, or with an error (the log's tail) if kgate
 * exits or does not accept within startTimeoutMs.
 */
export async function startKgate(
  k: KgateLauncher,
  opts: { tag: string; dataBase: string; logDir: string; startTimeoutMs: number; args: (port: number, dir: string) => string[] },
): Promise<StartedKgate | { error: string }> {
  const port = await freePort();
  const dataDir = makeTempDir(opts.dataBase, opts.tag);
  const logFile = join(opts.logDir, `kgate-${++kgateLogSeq}-${opts.tag}.log`);
  const fd = openSync(logFile, "w");
  const args = [...k.argv, ...opts.args(port, dataDir)];
  writeFileSync(fd, `$ ${args.join(" ")}\n`);
  const t0 = performance.now();
  const proc = track(spawn(args, { stdout: fd, stderr: fd, stdin: "ignore", cwd: ROOT }));
  closeSync(fd);
  const readyMs = await waitForListen(HOST, port, proc, opts.startTimeoutMs, t0);
  if (readyMs === null) {
    const exited = proc.exitCode !== null || proc.signalCode !== null;
    await stop(proc);
    removeTempDir(dataDir);
    return {
      error: `kgate (${args.join(" ")}) ${exited ? `exited with ${proc.exitCode ?? proc.signalCode}` : `did not accept on ${HOST}:${port} within ${opts.startTimeoutMs} ms`}; log ${logFile}:\n    ${tail(logFile).split("\n").join("\n    ")}`,
    };
  }
  return { proc, pid: proc.pid, bootstrap: `${HOST}:${port}`, dataDir, logFile, readyMs };
}

/** Creates topics (`name[:partitions]`) with kafkajs (bench/admin.ts); returns null, or why it failed. */
export async function createTopics(bootstrap: string, specs: string[]): Promise<string | null> {
  const p = track(spawn([BUN, join(BENCH, "admin.ts"), bootstrap, ...specs], { stdout: "pipe", stderr: "pipe", cwd: ROOT }));
  const timer = setTimeout(() => p.kill("SIGKILL"), 30_000);
  const out = await new Response(p.stdout).text();
  await p.exited;
  clearTimeout(timer);
  return p.exitCode === 0 ? null : out.trim() || `exit ${p.exitCode}`;
}

// ---------------------------------------------------------------- formatting

export const fmtInt = (n: number): string => Math.round(n).toLocaleString("en-US");
export const isNum = (n: number | undefined | null): n is number => typeof n === "number" && Number.isFinite(n);
export const f = (n: number | undefined | null, digits = 2, unit = ""): string => (isNum(n) ? `${n.toFixed(digits)}${unit}` : "n/a");
export const median = (xs: number[] | undefined): number | undefined => {
  if (!xs || xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
export const div = (a: number | undefined, b: number | undefined): number | undefined => (isNum(a) && isNum(b) && b !== 0 ? a / b : undefined);
