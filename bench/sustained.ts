// kgate sustained benchmark (issue #14): gigabytes at acks=all with default flags, what that costs the gateway
// process (VmHWM, minor faults, user and system CPU per GB), and the produce latency against a bare
// write+fdatasync probe measured in the same run.
//
//   bun bench/sustained.ts       (bash bench/run.sh runs it after bench/run.ts unless BENCH_SKIP_SUSTAINED=1)
//
// Phases, each on a fresh kgate (dist/kgate, or BENCH_KGATE_CMD) with a fresh data folder and default flags:
//   single   1 producer, 1 partition, BENCH_SUSTAINED_GB of 1 KiB records, acks=all
//   consume  the same instance: one consumer reads them back from the beginning
//   mixed    topic of 8 partitions filled with BENCH_MIXED_LOG_GIB by 8 producers (measured: "8 producers"), then at
//            once 8 producers (BENCH_SUSTAINED_GB in total, another 8-partition topic) and 3 consumers each reading
//            the whole filled log from the beginning
//   latency  fsync probe, kgate produce latency (100 B at 1,000/s, one record per request), fsync probe again
// Prints a table with the targets, then one `sustained:` line; raw numbers go to bench/out/sustained-*.json. See
// bench/README.md ("Sustained phase").

import { spawn, spawnSync } from "bun";
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BENCH,
  BUN,
  HOST,
  LOGS,
  MiB,
  MOCK,
  OUT,
  PERF,
  ROOT,
  consumeArgs,
  createTopics,
  div,
  envNum,
  f,
  fmtInt,
  installCleanup,
  isNum,
  kgateArgs,
  killAll,
  latencyArgs,
  latencyStats,
  libVersion,
  parseConsume,
  parseProduce,
  perfFailure,
  probeArgs,
  procStat,
  procStatusBytes,
  produceArgs,
  readLatencySamples,
  removeTempDir,
  resetHwm,
  resolveKgate,
  rssBytes,
  runPerf,
  startKgate,
  stop,
  tail,
  track,
  type ConsumeResult,
  type KgateLauncher,
  type LatencyStats,
  type PerfRun,
  type ProduceResult,
  type StartedKgate,
} from "./lib.ts";

// ---------------------------------------------------------------- configuration

const SCALE = envNum("BENCH_SCALE", 1);
const RECORD_BYTES = 1024;
const PRODUCERS = 8; // one per partition of the 8-partition topics
const CONSUMERS = 3;
const GB = 1e9;
const GiB = 1024 * MiB;

const PHASES = ["single", "consume", "mixed", "latency"] as const;
type PhaseName = (typeof PHASES)[number];

const cfg = {
  sustainedGB: envNum("BENCH_SUSTAINED_GB", 3) * SCALE,
  mixedLogGiB: envNum("BENCH_MIXED_LOG_GIB", 5) * SCALE,
  lingerMs: envNum("BENCH_LINGER_MS", 5),
  latMsgs: Math.max(100, Math.round(envNum("BENCH_SUSTAINED_LAT_MSGS", 5_000))),
  latRate: envNum("BENCH_SUSTAINED_LAT_RATE", 1_000),
  latSkip: envNum("BENCH_SUSTAINED_LAT_SKIP", 200),
  /** Records sent at 5,000/s before the latency run, so the JIT has compiled the produce path (a broker's steady state). */
  latWarmup: Math.round(envNum("BENCH_SUSTAINED_LAT_WARMUP", 30_000)),
  probeBytes: envNum("BENCH_PROBE_BYTES", 170),
  phaseTimeoutMs: envNum("BENCH_SUSTAINED_TIMEOUT_S", 900) * 1000,
  startTimeoutMs: envNum("BENCH_START_TIMEOUT_S", 20) * 1000,
  kgateCmd: process.env.BENCH_KGATE_CMD ?? "",
  dataBase: process.env.BENCH_DATA_DIR ?? tmpdir(),
  phases: new Set((process.env.BENCH_SUSTAINED_PHASES ?? PHASES.join(",")).split(",").map((s) => s.trim()).filter(Boolean)),
};
for (const p of cfg.phases) if (!(PHASES as readonly string[]).includes(p)) throw new Error(`BENCH_SUSTAINED_PHASES: unknown phase ${p} (${PHASES.join(",")})`);
const want = (p: PhaseName): boolean => cfg.phases.has(p);

const counts = {
  single: Math.max(1_000, Math.round((cfg.sustainedGB * GB) / RECORD_BYTES)),
  fillPerPartition: Math.max(100, Math.ceil((cfg.mixedLogGiB * GiB) / RECORD_BYTES / PRODUCERS)),
  mixedPerProducer: Math.max(100, Math.ceil((cfg.sustainedGB * GB) / RECORD_BYTES / PRODUCERS)),
};
const fillTotal = counts.fillPerPartition * PRODUCERS;
const ALL_PARTITIONS = Array.from({ length: PRODUCERS }, (_, i) => i);

const SLOGS = join(LOGS, "sustained");
const TARGETS = {
  hwmSingleMiB: 150,
  hwmMixedMiB: 200,
  cpuInS: 1.0,
  cpuOutS: 0.5,
  faultsPerGBIn: 20_000,
  p50x: 1.5,
  p99x: 2,
};

installCleanup("[sustained]");
const log = (msg: string): void => console.error(`[sustained] ${msg}`);

// ---------------------------------------------------------------- measurement

interface Usage {
  userS: number;
  sysS: number;
  minflt: number;
  /** VmHWM at the end of the phase; reset to the current RSS at its start when hwmReset */
  hwmBytes: number;
  hwmReset: boolean;
  rssStartBytes: number;
  rssEndBytes: number;
  wallMs: number;
}

interface GroupResult {
  ok: boolean;
  produce: ProduceResult[];
  consume: ConsumeResult[];
  bytesIn: number;
  bytesOut: number;
  /** aggregate: bytes ÷ the longest client's own time (rdkafka_performance's summary), 10⁶ B/s */
  mbPerSecIn?: number;
  mbPerSecOut?: number;
  usage?: Usage;
  timedOut: boolean;
}

const alive = (g: StartedKgate): boolean => g.proc.exitCode === null && g.proc.signalCode === null;

/** Runs producers and consumers at once against g, measuring kgate's /proc figures over the whole group. */
async function runGroup(g: StartedKgate, label: string, producers: { args: string[]; count: number }[], consumers: { args: string[]; count: number }[]): Promise<GroupResult> {
  let hwmReset = true;
  try {
    resetHwm(g.pid);
  } catch (err) {
    hwmReset = false;
    errors.push(`${label}: cannot reset VmHWM (${(err as Error).message}); the figure includes start-up`);
  }
  const rssStartBytes = rssBytes(g.pid);
  const before = procStat(g.pid);
  const t0 = performance.now();
  const runs = await Promise.all([...producers, ...consumers].map((c) => runPerf(c.args, cfg.phaseTimeoutMs)));
  const wallMs = performance.now() - t0;
  let usage: Usage | undefined;
  if (alive(g)) {
    const after = procStat(g.pid);
    usage = {
      userS: after.userS - before.userS,
      sysS: after.sysS - before.sysS,
      minflt: after.minflt - before.minflt,
      hwmBytes: procStatusBytes(g.pid, "VmHWM"),
      hwmReset,
      rssStartBytes,
      rssEndBytes: rssBytes(g.pid),
      wallMs,
    };
  } else errors.push(`${label}: kgate exited during the phase`); // withKgate reports the exit status and log tail

  const res: GroupResult = { ok: usage !== undefined, produce: [], consume: [], bytesIn: 0, bytesOut: 0, timedOut: runs.some((r) => r.timedOut) };
  const timeoutS = cfg.phaseTimeoutMs / 1000;
  producers.forEach((c, i) => {
    const run = runs[i]!;
    const parsed = parseProduce(run.stdout);
    // rdkafka_performance exits 1 when its count of produce() calls differs from its delivery reports, and the two
    // counters race (seen: "655359 messages produced ..., 655360 delivered"): every record acknowledged is what counts.
    const allDelivered = parsed !== null && parsed.delivered === c.count && parsed.failed === 0;
    if (!allDelivered || (run.code !== 0 && run.code !== 1) || run.timedOut) {
      res.ok = false;
      errors.push(perfFailure(`${label}: producer ${i} (delivered ${parsed?.delivered ?? "?"} of ${c.count})`, run, timeoutS));
    }
    if (parsed) res.produce.push(parsed);
  });
  consumers.forEach((c, i) => {
    const run = runs[producers.length + i]!;
    const parsed = parseConsume(run.stdout);
    if (!parsed || parsed.msgs < c.count) {
      res.ok = false;
      errors.push(perfFailure(`${label}: consumer ${i} (consumed ${parsed?.msgs ?? "?"} of ${c.count})`, run, timeoutS));
    }
    if (parsed) res.consume.push(parsed);
  });
  res.bytesIn = res.produce.reduce((a, p) => a + p.bytes, 0);
  res.bytesOut = res.consume.reduce((a, p) => a + p.bytes, 0);
  const maxMs = (xs: { ms: number }[]): number => Math.max(0, ...xs.map((x) => x.ms));
  if (res.produce.length > 0) res.mbPerSecIn = div(res.bytesIn / 1000, maxMs(res.produce));
  if (res.consume.length > 0) res.mbPerSecOut = div(res.bytesOut / 1000, maxMs(res.consume));
  res.usage = usage;
  const u = usage;
  const parts = [
    ...(producers.length ? [`in ${fmtGB(res.bytesIn)} at ${f(res.mbPerSecIn, 1)} MB/s`] : []),
    ...(consumers.length ? [`out ${fmtGB(res.bytesOut)} at ${f(res.mbPerSecOut, 1)} MB/s`] : []),
    ...(u ? [`kgate user ${u.userS.toFixed(2)} s sys ${u.sysS.toFixed(2)} s, ${fmtInt(u.minflt)} minor faults, VmHWM ${mib(u.hwmBytes)}`] : []),
  ];
  log(`${label}: ${res.ok ? "" : "FAILED: "}${parts.join(", ")} (${(wallMs / 1000).toFixed(1)} s)`);
  return res;
}

// ---------------------------------------------------------------- kgate instances

let launcher: KgateLauncher | null = null;

/** A fresh kgate with default flags on a fresh data folder, for the duration of fn; stopped and removed after. */
async function withKgate(tag: string, fn: (g: StartedKgate) => Promise<void>): Promise<void> {
  const k = launcher!;
  const s = await startKgate(k, {
    tag: `sustained-${tag}`,
    dataBase: cfg.dataBase,
    logDir: SLOGS,
    startTimeoutMs: cfg.startTimeoutMs,
    args: (port, dir) =>
      kgateArgs(
        k,
        [
          ["--listen", `${HOST}:${port}`],
          ["--advertise", `${HOST}:${port}`],
          ["--data", join(dir, "data")],
          ["--log-level", "warn"],
          ["--registry-listen", "off"],
        ],
        ["--log-level", "--registry-listen"],
      ),
  });
  if ("error" in s) {
    errors.push(`${tag}: ${s.error}`);
    log(`${tag}: SKIPPED: kgate did not start`);
    return;
  }
  log(`${tag}: kgate on ${s.bootstrap} (pid ${s.pid}), data ${join(s.dataDir, "data")}, log ${s.logFile.replace(ROOT + "/", "")}`);
  try {
    await fn(s);
  } catch (err) {
    errors.push(`${tag}: ${(err as Error)?.stack ?? err}`);
  } finally {
    if (!alive(s)) errors.push(`${tag}: kgate exited (${s.proc.exitCode ?? s.proc.signalCode}); log ${s.logFile}:\n    ${tail(s.logFile).split("\n").join("\n    ")}`);
    await stop(s.proc);
    removeTempDir(s.dataDir);
  }
}

async function setUp(g: StartedKgate, tag: string, topics: string[], required: boolean): Promise<boolean> {
  const err = await createTopics(g.bootstrap, ["probe", ...topics]);
  if (err !== null) {
    if (required) {
      errors.push(`${tag}: CreateTopics (${topics.join(" ")}) via kafkajs failed: ${err}; phase skipped`);
      return false;
    }
    log(`${tag}: CreateTopics via kafkajs failed (${err}); relying on auto-creation`);
  }
  const run = await runPerf(probeArgs(g.bootstrap), 30_000);
  if (run.code === 0 && parseProduce(run.stdout)?.delivered === 1) return true;
  errors.push(perfFailure(`${tag}: probe (1 record to topic probe); phase skipped`, run));
  return false;
}

const produceSpec = (g: StartedKgate, topic: string, count: number, partition: number) => ({
  args: [...produceArgs(g.bootstrap, topic, RECORD_BYTES, count, partition), "-X", `linger.ms=${cfg.lingerMs}`],
  count,
});

// ---------------------------------------------------------------- phases

interface ProbeResult extends LatencyStats {
  bytes: number;
  count: number;
  rate: number;
  skip: number;
  achievedRate: number;
  wallMs: number;
}

const results: {
  single?: GroupResult;
  consume?: GroupResult;
  fill8?: GroupResult;
  mixed?: GroupResult;
  latency?: { probeBefore?: ProbeResult; kgate?: LatencyStats & { skip: number }; probeAfter?: ProbeResult; mock?: LatencyStats; file: string };
} = {};
const errors: string[] = [];

async function phaseSingle(): Promise<void> {
  await withKgate("single", async (g) => {
    if (!(await setUp(g, "single", ["s1"], false))) return;
    log(`single: 1 producer, 1 partition, ${fmtInt(counts.single)} x 1 KiB (${fmtGB(counts.single * RECORD_BYTES)}), acks=all, linger.ms=${cfg.lingerMs}`);
    results.single = await runGroup(g, "single", [produceSpec(g, "s1", counts.single, 0)], []);
    if (!want("consume")) return;
    if (!results.single.ok || results.single.timedOut) {
      errors.push("consume: skipped (the single phase failed)");
      return;
    }
    log(`consume: 1 consumer reads the ${fmtInt(counts.single)} records from the beginning`);
    results.consume = await runGroup(g, "consume", [], [{ args: consumeArgs(g.bootstrap, "s1", [0], counts.single), count: counts.single }]);
  });
}

async function phaseMixed(): Promise<void> {
  await withKgate("mixed", async (g) => {
    if (!(await setUp(g, "mixed", [`log8:${PRODUCERS}`, `in8:${PRODUCERS}`], true))) return;
    log(`mixed: fill log8 with ${PRODUCERS} producers x ${fmtInt(counts.fillPerPartition)} x 1 KiB (${fmtGB(fillTotal * RECORD_BYTES)})`);
    results.fill8 = await runGroup(
      g,
      "8 producers (fill)",
      ALL_PARTITIONS.map((p) => produceSpec(g, "log8", counts.fillPerPartition, p)),
      [],
    );
    if (!results.fill8.ok || results.fill8.timedOut) {
      errors.push("mixed: combined phase skipped (the fill failed)");
      return;
    }
    log(
      `mixed: at once ${PRODUCERS} producers x ${fmtInt(counts.mixedPerProducer)} x 1 KiB to in8 (${fmtGB(counts.mixedPerProducer * PRODUCERS * RECORD_BYTES)}) ` +
        `and ${CONSUMERS} consumers each reading log8 (${PRODUCERS} partitions) from the beginning`,
    );
    results.mixed = await runGroup(
      g,
      "mixed",
      ALL_PARTITIONS.map((p) => produceSpec(g, "in8", counts.mixedPerProducer, p)),
      Array.from({ length: CONSUMERS }, () => ({ args: consumeArgs(g.bootstrap, "log8", ALL_PARTITIONS, fillTotal), count: fillTotal })),
    );
  });
}

async function fsyncProbe(dir: string, label: string): Promise<ProbeResult | undefined> {
  log(`latency: ${label}: ${cfg.latMsgs} x write(${cfg.probeBytes} B)+fdatasync at ${cfg.latRate}/s in ${dir}`);
  const p = track(
    spawn(
      [BUN, join(BENCH, "fsync-probe.ts"), "--dir", dir, "--bytes", String(cfg.probeBytes), "--count", String(cfg.latMsgs), "--rate", String(cfg.latRate), "--skip", String(cfg.latSkip)],
      { stdout: "pipe", stderr: "pipe", stdin: "ignore", cwd: ROOT },
    ),
  );
  const timer = setTimeout(() => p.kill("SIGKILL"), latencyTimeoutMs());
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  await p.exited;
  clearTimeout(timer);
  try {
    const j = JSON.parse(out.trim().split("\n").pop() ?? "") as ProbeResult;
    log(`latency: ${label}: p50 ${j.p50us} us, p99 ${j.p99us} us (${j.n} samples, ${j.achievedRate}/s)`);
    return j;
  } catch {
    errors.push(`latency: ${label} failed (exit ${p.exitCode ?? p.signalCode}): ${(out + err).trim().slice(-500)}`);
    return undefined;
  }
}

/** Twice the paced duration plus 30 s. */
const latencyTimeoutMs = (): number => (cfg.latMsgs / Math.max(1, cfg.latRate)) * 1000 * 2 + 30_000;

async function phaseLatency(): Promise<void> {
  await withKgate("latency", async (g) => {
    if (!(await setUp(g, "latency", ["lat"], false))) return;
    const file = join(OUT, "latency-sustained-kgate.txt");
    const lat: NonNullable<typeof results.latency> = { file: file.replace(ROOT + "/", "") };
    results.latency = lat;
    const probeDir = join(g.dataDir, "fsync-probe"); // next to kgate's data folder: same filesystem
    lat.probeBefore = await fsyncProbe(probeDir, "fsync probe before");
    rmSync(file, { force: true });
    if (cfg.latWarmup > 0) {
      log(`latency: kgate: warm-up, ${cfg.latWarmup} x 100 B at 5000/s`);
      await runPerf([...produceArgs(g.bootstrap, "lat", 100, cfg.latWarmup), "-r", "5000", "-X", "linger.ms=0"], latencyTimeoutMs());
    }
    log(`latency: kgate: ${cfg.latMsgs} x 100 B at ${cfg.latRate}/s (acks=all, linger.ms=0)`);
    const run: PerfRun = await runPerf(latencyArgs(g.bootstrap, "lat", cfg.latMsgs, cfg.latRate, file), latencyTimeoutMs());
    const samples = readLatencySamples(file);
    if (run.code !== 0 || !parseProduce(run.stdout) || samples.length < cfg.latMsgs * 0.9) {
      errors.push(perfFailure(`latency (${samples.length} samples of ${cfg.latMsgs})`, run, latencyTimeoutMs() / 1000));
    } else {
      const skip = Math.min(cfg.latSkip, Math.floor(samples.length / 10));
      lat.kgate = { ...latencyStats(samples, skip), skip };
      log(`latency: kgate: p50 ${lat.kgate.p50us} us, p99 ${lat.kgate.p99us} us (${lat.kgate.n} samples, first ${skip} skipped)`);
    }
    if (alive(g)) lat.probeAfter = await fsyncProbe(probeDir, "fsync probe after");
  });
  if (results.latency) results.latency.mock = (await mockLatency()) ?? undefined;
}

/**
 * The same client run against librdkafka's mock cluster, which keeps records in memory and syncs nothing: what the
 * client and the loopback round trip cost by themselves. kgate's floor is this plus the probe's fdatasync.
 */
async function mockLatency(): Promise<LatencyStats | null> {
  const proc = track(spawn([MOCK, "lat:1"], { stdout: "pipe", stderr: "ignore", stdin: "ignore" }));
  try {
    const reader = proc.stdout.getReader();
    let text = "";
    const deadline = performance.now() + 10_000;
    let match: RegExpExecArray | null = null;
    while (!match && performance.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
      match = /BOOTSTRAP (\S+)/.exec(text);
    }
    reader.releaseLock();
    if (!match) {
      errors.push(`latency: the mock broker did not start: ${text.slice(-300)}`);
      return null;
    }
    const bootstrap = match[1]!.split(",")[0]!;
    const file = join(OUT, "latency-sustained-mock.txt");
    rmSync(file, { force: true });
    if (cfg.latWarmup > 0) await runPerf([...produceArgs(bootstrap, "lat", 100, cfg.latWarmup), "-r", "5000", "-X", "linger.ms=0"], latencyTimeoutMs());
    log(`latency: mock: ${cfg.latMsgs} x 100 B at ${cfg.latRate}/s (acks=all, linger.ms=0)`);
    const run = await runPerf(latencyArgs(bootstrap, "lat", cfg.latMsgs, cfg.latRate, file), latencyTimeoutMs());
    const samples = readLatencySamples(file);
    if (run.code !== 0 || samples.length < cfg.latMsgs * 0.9) {
      errors.push(perfFailure(`mock latency (${samples.length} samples of ${cfg.latMsgs})`, run, latencyTimeoutMs() / 1000));
      return null;
    }
    const stats = latencyStats(samples, Math.min(cfg.latSkip, Math.floor(samples.length / 10)));
    log(`latency: mock: p50 ${stats.p50us} us, p99 ${stats.p99us} us`);
    return stats;
  } finally {
    await stop(proc);
  }
}

// ---------------------------------------------------------------- report

const mib = (b: number | undefined): string => (isNum(b) ? `${(b / MiB).toFixed(1)} MiB` : "n/a");
const fmtGB = (b: number): string => `${(b / GB).toFixed(2)} GB`;
const perGB = (x: number | undefined, bytes: number | undefined): number | undefined => (isNum(x) && isNum(bytes) && bytes > 0 ? x / (bytes / GB) : undefined);
const meanOf = (xs: (number | undefined)[]): number | undefined => {
  const v = xs.filter(isNum);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : undefined;
};

/** A phase's result if it counts (every record delivered and read): the figures and the table use only those. */
const counted = (r: GroupResult | undefined): GroupResult | undefined => (r?.ok ? r : undefined);

function figures() {
  const [single, consume, fill8, mixed] = [results.single, results.consume, results.fill8, results.mixed].map(counted);
  const latency = results.latency;
  const cpu = (r: GroupResult | undefined, bytes: number | undefined) => ({
    total: perGB(r?.usage ? r.usage.userS + r.usage.sysS : undefined, bytes),
    user: perGB(r?.usage?.userS, bytes),
    sys: perGB(r?.usage?.sysS, bytes),
  });
  const probeP50 = meanOf([latency?.probeBefore?.p50us, latency?.probeAfter?.p50us]);
  const probeP99 = meanOf([latency?.probeBefore?.p99us, latency?.probeAfter?.p99us]);
  const mixedCpu = mixed?.usage ? mixed.usage.userS + mixed.usage.sysS : undefined;
  const mixedBudget = mixed?.usage ? (TARGETS.cpuInS * mixed.bytesIn + TARGETS.cpuOutS * mixed.bytesOut) / GB : undefined;
  /** One group's figures per GB of what it produced (`in`) or consumed (`out`). */
  const perPhase = (r: GroupResult | undefined, direction: "in" | "out") => {
    const bytes = direction === "in" ? r?.bytesIn : r?.bytesOut;
    return {
      hwmMiB: r?.usage ? r.usage.hwmBytes / MiB : undefined,
      cpu: cpu(r, bytes),
      faultsPerGB: perGB(r?.usage?.minflt, bytes),
      mbPerSec: direction === "in" ? r?.mbPerSecIn : r?.mbPerSecOut,
    };
  };
  return {
    single: perPhase(single, "in"),
    consume: perPhase(consume, "out"),
    fill8: perPhase(fill8, "in"),
    mixed: {
      hwmMiB: mixed?.usage ? mixed.usage.hwmBytes / MiB : undefined,
      cpuS: mixedCpu,
      userS: mixed?.usage?.userS,
      sysS: mixed?.usage?.sysS,
      budgetS: mixedBudget,
      cpuOfBudget: div(mixedCpu, mixedBudget),
      cpuPerGBInOut: perGB(mixedCpu, mixed ? mixed.bytesIn + mixed.bytesOut : undefined),
      faultsPerGBIn: perGB(mixed?.usage?.minflt, mixed?.bytesIn),
      mbPerSecIn: mixed?.mbPerSecIn,
      mbPerSecOut: mixed?.mbPerSecOut,
    },
    latency: {
      probeP50us: probeP50,
      probeP99us: probeP99,
      p50x: div(latency?.kgate?.p50us, probeP50),
      p99x: div(latency?.kgate?.p99us, probeP99),
      /** The floor: the bare fdatasync plus what the client and loopback cost without any disk (the mock). */
      floorP50us: isNum(probeP50) && isNum(latency?.mock?.p50us) ? probeP50 + latency!.mock!.p50us : undefined,
      floorP99us: isNum(probeP99) && isNum(latency?.mock?.p99us) ? probeP99 + latency!.mock!.p99us : undefined,
    },
  };
}

function report(): void {
  const fig = figures();
  const [single, consume, fill8, mixed] = [results.single, results.consume, results.fill8, results.mixed].map(counted);
  const latency = results.latency;
  const rows: [string, string, string, string][] = [];
  const row = (phase: string, metric: string, value: string, check = "(info)"): void => void rows.push([phase, metric, value, check]);
  const check = (v: number | undefined, ok: (v: number) => boolean, target: string): string =>
    isNum(v) ? `${ok(v) ? "ok  " : "MISS"} target ${target}` : `     target ${target}`;
  const cpuText = (c: { total?: number; user?: number; sys?: number }): string =>
    isNum(c.total) ? `${c.total.toFixed(2)} s (user ${f(c.user)} + sys ${f(c.sys)})` : "n/a";
  const hwmText = (r: GroupResult | undefined): string =>
    r?.usage ? `${mib(r.usage.hwmBytes)} (RSS at start ${mib(r.usage.rssStartBytes)}, at end ${mib(r.usage.rssEndBytes)})${r.usage.hwmReset ? "" : " [not reset]"}` : "n/a";
  const tp = (mbps: number | undefined, bytes: number | undefined): string => (isNum(mbps) ? `${mbps.toFixed(1)} MB/s (${fmtGB(bytes ?? 0)})` : "n/a");

  let ph = `single: 1 producer, 1 partition`;
  row(ph, "produce MB/s", tp(single?.mbPerSecIn, single?.bytesIn));
  row("", "VmHWM", hwmText(single), check(fig.single.hwmMiB, (v) => v <= TARGETS.hwmSingleMiB, `<= ${TARGETS.hwmSingleMiB} MiB`));
  row("", "CPU s/GB produced", cpuText(fig.single.cpu), check(fig.single.cpu.total, (v) => v <= TARGETS.cpuInS, `<= ${TARGETS.cpuInS.toFixed(1)} s/GB`));
  row("", "minor faults/GB produced", isNum(fig.single.faultsPerGB) ? fmtInt(fig.single.faultsPerGB) : "n/a", check(fig.single.faultsPerGB, (v) => v <= TARGETS.faultsPerGBIn, `<= ${fmtInt(TARGETS.faultsPerGBIn)}/GB`));

  ph = "consume: 1 consumer, from the start";
  row(ph, "consume MB/s", tp(consume?.mbPerSecOut, consume?.bytesOut));
  row("", "CPU s/GB consumed", cpuText(fig.consume.cpu), check(fig.consume.cpu.total, (v) => v <= TARGETS.cpuOutS, `<= ${TARGETS.cpuOutS.toFixed(1)} s/GB`));
  row("", "VmHWM", hwmText(consume));
  row("", "minor faults/GB consumed", isNum(fig.consume.faultsPerGB) ? fmtInt(fig.consume.faultsPerGB) : "n/a");

  ph = `8 producers, 8 partitions (fill)`;
  row(ph, "produce MB/s", tp(fill8?.mbPerSecIn, fill8?.bytesIn));
  row("", "VmHWM", hwmText(fill8));
  row("", "CPU s/GB produced", cpuText(fig.fill8.cpu), check(fig.fill8.cpu.total, (v) => v <= TARGETS.cpuInS, `<= ${TARGETS.cpuInS.toFixed(1)} s/GB`));
  row("", "minor faults/GB produced", isNum(fig.fill8.faultsPerGB) ? fmtInt(fig.fill8.faultsPerGB) : "n/a", check(fig.fill8.faultsPerGB, (v) => v <= TARGETS.faultsPerGBIn, `<= ${fmtInt(TARGETS.faultsPerGBIn)}/GB`));

  ph = `mixed: 8 producers + ${CONSUMERS} consumers`;
  row(ph, "produce MB/s (all producers)", tp(mixed?.mbPerSecIn, mixed?.bytesIn));
  row("", "consume MB/s (all consumers)", tp(mixed?.mbPerSecOut, mixed?.bytesOut));
  row("", "VmHWM", hwmText(mixed), check(fig.mixed.hwmMiB, (v) => v <= TARGETS.hwmMixedMiB, `<= ${TARGETS.hwmMixedMiB} MiB`));
  row(
    "",
    "CPU s",
    isNum(fig.mixed.cpuS) ? `${fig.mixed.cpuS.toFixed(2)} s (user ${f(fig.mixed.userS)} + sys ${f(fig.mixed.sysS)}), ${f(fig.mixed.cpuPerGBInOut)} s/GB in+out` : "n/a",
    check(fig.mixed.cpuOfBudget, (v) => v <= 1, `<= ${TARGETS.cpuInS.toFixed(1)} s/GB in + ${TARGETS.cpuOutS.toFixed(1)} s/GB out = ${f(fig.mixed.budgetS)} s`),
  );
  row("", "minor faults/GB produced", isNum(fig.mixed.faultsPerGBIn) ? fmtInt(fig.mixed.faultsPerGBIn) : "n/a", "(info: consumers' faults included)");

  ph = `latency: 100 B at ${cfg.latRate}/s, acks=all`;
  const lt = (x: LatencyStats | undefined): string => (x ? `p50 ${x.p50us} us, p99 ${x.p99us} us, p99.9 ${x.p999us} us, max ${x.maxus} us` : "n/a");
  row(ph, `fsync probe before (${cfg.probeBytes} B)`, lt(latency?.probeBefore));
  row("", "kgate produce latency", lt(latency?.kgate));
  row("", `fsync probe after (${cfg.probeBytes} B)`, lt(latency?.probeAfter));
  row("", "p50 / probe p50", `${f(fig.latency.p50x, 2, "x")} (probe p50: mean of the two, ${f(fig.latency.probeP50us, 0, " us")})`, check(fig.latency.p50x, (v) => v <= TARGETS.p50x, `<= ${TARGETS.p50x}x`));
  row("", "p99 / probe p99", `${f(fig.latency.p99x, 2, "x")} (probe p99: mean of the two, ${f(fig.latency.probeP99us, 0, " us")})`, check(fig.latency.p99x, (v) => v <= TARGETS.p99x, `<= ${TARGETS.p99x}x`));
  row("", "mock broker, same client (no disk)", lt(latency?.mock), "(info: client + loopback alone)");
  row(
    "",
    "kgate / (probe + mock)",
    `p50 ${f(div(latency?.kgate?.p50us, fig.latency.floorP50us), 2, "x")} of ${f(fig.latency.floorP50us, 0, " us")}, p99 ${f(div(latency?.kgate?.p99us, fig.latency.floorP99us), 2, "x")} of ${f(fig.latency.floorP99us, 0, " us")}`,
    "(info: against the floor of disk + client)",
  );

  const head = ["phase", "metric", "value", "check"];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length), head[i]!.length));
  const line = (cols: string[]): string => cols.map((c, i) => c.padEnd(widths[i]!)).join(" | ").trimEnd();
  console.log("");
  console.log(
    `kgate sustained  ${new Date().toISOString()}  cores=${navigator.hardwareConcurrency}  librdkafka=${libVersion()}  kgate=${launcher?.label ?? "n/a"}  data=${cfg.dataBase} (${fsType(cfg.dataBase)})`,
  );
  console.log(
    `sizes: single=${fmtInt(counts.single)}x1KiB (${fmtGB(counts.single * RECORD_BYTES)}) mixed log=${PRODUCERS}x${fmtInt(counts.fillPerPartition)}x1KiB (${((fillTotal * RECORD_BYTES) / GiB).toFixed(2)} GiB) ` +
      `mixed produce=${PRODUCERS}x${fmtInt(counts.mixedPerProducer)}x1KiB consumers=${CONSUMERS} latency=${cfg.latMsgs}@${cfg.latRate}/s skip ${cfg.latSkip} ` +
      `acks=all linger.ms=${cfg.lingerMs} phases=${[...cfg.phases].join(",")}`,
  );
  console.log(line(head));
  console.log(widths.map((w) => "-".repeat(w)).join("-|-"));
  for (const r of rows) console.log(line(r));
  for (const e of errors) console.log(`! ${e}`);

  mkdirSync(OUT, { recursive: true });
  const out = join(OUT, `sustained-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(out, JSON.stringify({ cfg: { ...cfg, phases: [...cfg.phases], scale: SCALE }, counts, targets: TARGETS, results, figures: fig, errors }, null, 2));
  console.log(`(raw numbers: ${out.replace(ROOT + "/", "")})`);

  const us = (c: { total?: number; user?: number; sys?: number }): string =>
    isNum(c.total) ? `${c.total.toFixed(2)}s(u${f(c.user)}+s${f(c.sys)})` : "n/a";
  console.log(
    [
      "sustained:",
      `hwm1p=${f(fig.single.hwmMiB, 0, "MiB")}`,
      `hwmMixed=${f(fig.mixed.hwmMiB, 0, "MiB")}`,
      `cpu/GBin=${us(fig.single.cpu)}`,
      `cpu/GBout=${us(fig.consume.cpu)}`,
      `flt/GBin=${isNum(fig.single.faultsPerGB) ? Math.round(fig.single.faultsPerGB) : "n/a"}`,
      `cpu/GBin8p=${us(fig.fill8.cpu)}`,
      `flt/GBin8p=${isNum(fig.fill8.faultsPerGB) ? Math.round(fig.fill8.faultsPerGB) : "n/a"}`,
      `cpuMixed=${f(fig.mixed.cpuOfBudget, 2, "xbudget")}`,
      `p50=${f(fig.latency.p50x, 2, "x")}`,
      `p99=${f(fig.latency.p99x, 2, "x")}`,
      `p50floor=${f(div(results.latency?.kgate?.p50us, fig.latency.floorP50us), 2, "x")}`,
      `in1p=${f(fig.single.mbPerSec, 0, "MB/s")}`,
      `out1p=${f(fig.consume.mbPerSec, 0, "MB/s")}`,
      `in8p=${f(fig.fill8.mbPerSec, 0, "MB/s")}`,
      `mixedIn=${f(fig.mixed.mbPerSecIn, 0, "MB/s")}`,
      `mixedOut=${f(fig.mixed.mbPerSecOut, 0, "MB/s")}`,
    ].join(" "),
  );
}

function fsType(dir: string): string {
  try {
    return spawnSync(["stat", "-f", "-c", "%T", dir]).stdout.toString().trim() || "?";
  } catch {
    return "?";
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  if (!existsSync(PERF) || !(statSync(PERF).mode & 0o111)) {
    console.error(`[sustained] ${PERF} missing: run bash bench/setup.sh (or bash bench/run.sh)`);
    process.exit(1);
  }
  rmSync(SLOGS, { recursive: true, force: true }); // logs of this run only
  mkdirSync(SLOGS, { recursive: true });
  launcher = resolveKgate(cfg.kgateCmd);
  if (!launcher) {
    errors.push("kgate not found: neither dist/kgate nor src/main.ts exists (set BENCH_KGATE_CMD to override)");
  } else {
    log(`using ${launcher.label}${launcher.flags ? "" : " (no usable --help output)"}; phases ${[...cfg.phases].join(",")}; data under ${cfg.dataBase}`);
    const t0 = performance.now();
    if (want("single") || want("consume")) {
      if (!want("single")) log("consume needs the single phase's log: running single too");
      await phaseSingle();
    }
    if (want("mixed")) await phaseMixed();
    if (want("latency")) await phaseLatency();
    log(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  report();
}

await main().catch((err) => {
  console.error(`[sustained] fatal: ${err?.stack ?? err}`);
  killAll();
  process.exit(1);
});
killAll();
process.exit(0);
