// Uplink benchmark: an edge kgate builds a backlog while its link is down, then a central kgate (same machine)
// comes up and the edge forwards the backlog; then steady-state forwarding at a fixed produce rate.
//
//   bash bench/setup.sh && bun bench/uplink.ts
//   BENCH_BACKLOG_MIB=1024 BENCH_STEADY_S=20 BENCH_STEADY_MBPS=10 BENCH_PROVENANCE=header|off bun bench/uplink.ts
//
// Figures (the edge process's own, from /proc): the edge's produce throughput of 1 KiB records at acks=all while
// the link is down (the baseline), catch-up throughput and its ratio to that baseline, the edge's CPU (user + system)
// per GB forwarded, the edge's RSS growth during catch-up (VmHWM reset with clear_refs before it), minor faults per
// GB forwarded, and the edge's CPU at BENCH_STEADY_MBPS with the topic forwarded against a topic that is not, in
// the same run, alternated twice.

import { spawn, type Subprocess } from "bun";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
const PERF = join(ROOT, "bench/out/rdkafka_performance");
const BINARY = join(ROOT, "dist/kgate");
const MiB = 1024 * 1024;
const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const cfg = {
  backlogMiB: env("BENCH_BACKLOG_MIB", 1024),
  steadySeconds: env("BENCH_STEADY_S", 20),
  steadyMBps: env("BENCH_STEADY_MBPS", 10),
  provenance: process.env.BENCH_PROVENANCE ?? "header",
  dataBase: process.env.BENCH_DATA_DIR ?? tmpdir(),
};
const RECORD_BYTES = 1024;

function log(line: string): void {
  process.stderr.write(`[uplink-bench] ${line}\n`);
}

function procStat(pid: number): { cpuS: number; minorFaults: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  const ticks = 100; // CLK_TCK on Linux
  return { cpuS: (Number(fields[11]) + Number(fields[12])) / ticks, minorFaults: Number(fields[7]) };
}

/** CPU seconds, user and system apart, per thread name: where a phase's CPU went (JS thread, GC helpers, I/O pool). */
function threadCpu(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      byName.set(`${name}.user`, (byName.get(`${name}.user`) ?? 0) + Number(fields[11]) / 100);
      byName.set(`${name}.sys`, (byName.get(`${name}.sys`) ?? 0) + Number(fields[12]) / 100);
    } catch {}
  }
  return byName;
}

function threadCpuDelta(before: Map<string, number>, after: Map<string, number>, perGB: number): string {
  return [...after]
    .map(([name, cpu]) => [name, (cpu - (before.get(name) ?? 0)) / perGB] as const)
    .filter(([, cpu]) => cpu >= 0.01)
    .sort((a, b) => b[1] - a[1])
    .map(([name, cpu]) => `${name} ${cpu.toFixed(2)}`)
    .join(", ");
}

function procStatus(pid: number, key: "VmRSS" | "VmHWM"): number {
  const match = new RegExp(`${key}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) * 1024 : NaN;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

interface Gateway {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  kafkaPort: number;
  httpPort: number;
  output: () => string;
}

/**
 * BENCH_EDGE_CMD runs the edge another way, e.g. `bun --cpu-prof-md --cpu-prof-dir=/tmp/prof src/main.ts`; with
 * BENCH_RESTART_EDGE=1 the backlog is built by the binary and the edge restarted that way for the catch-up only (a
 * profile of forwarding alone; JIT warm-up then counts in the catch-up).
 */
async function startGateway(args: string[], command = [BINARY]): Promise<Gateway> {
  const proc = spawn([...command, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let output = "";
  const decoder = new TextDecoder();
  void (async () => {
    for await (const chunk of proc.stderr) output += decoder.decode(chunk);
  })();
  const deadline = Date.now() + 30_000;
  for (;;) {
    const kafka = /kafka listener up listen=[^\s]*:(\d+)/.exec(output);
    const http = /schema registry up listen=[^\s]*:(\d+)/.exec(output);
    if (kafka && (http || args.includes("off"))) return { proc, kafkaPort: Number(kafka[1]), httpPort: http ? Number(http[1]) : 0, output: () => output };
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`gateway did not start:\n${output}`);
    await Bun.sleep(20);
  }
}

async function perfProduce(port: number, topic: string, count: number, ratePerSecond = 0): Promise<{ mbPerSec: number; ms: number }> {
  const args = ["-P", "-t", topic, "-p", "0", "-b", `127.0.0.1:${port}`, "-s", String(RECORD_BYTES), "-c", String(count), "-a", "-1", "-X", "linger.ms=5"];
  if (ratePerSecond > 0) args.push("-r", String(ratePerSecond));
  const proc = spawn([PERF, ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  // The last progress line is the summary.
  const match = [...stdout.matchAll(/% (\d+) messages produced \((\d+) bytes\), (\d+) delivered .* in (\d+)ms: (\d+) msgs\/s and ([\d.]+) MB\/s/g)].at(-1);
  if (!match || Number(match[3]) !== count) throw new Error(`rdkafka_performance failed:\n${stdout.slice(-2000)}\n${stderr.slice(-2000)}`);
  return { mbPerSec: Number(match[6]), ms: Number(match[4]) };
}

async function links(httpPort: number): Promise<any[]> {
  return ((await (await fetch(`http://127.0.0.1:${httpPort}/uplinks`)).json()) as { links: any[] }).links;
}

async function main(): Promise<void> {
  if (!existsSync(PERF)) throw new Error("bench/out/rdkafka_performance is missing: run bash bench/setup.sh");
  if (!existsSync(BINARY)) {
    const build = spawn([process.execPath, "build.ts"], { cwd: ROOT, stdout: "inherit", stderr: "inherit" });
    if ((await build.exited) !== 0) throw new Error("build.ts failed");
  }
  const edgeDir = mkdtempSync(join(cfg.dataBase, "kgate-uplink-edge-"));
  const centralDir = mkdtempSync(join(cfg.dataBase, "kgate-uplink-central-"));
  const centralPort = await freePort();
  const link = `central bootstrap.servers=127.0.0.1:${centralPort} topics=backlog,steady create.remote.topics=true max.unforwarded.bytes=16GiB provenance=${cfg.provenance}`;
  const edgeArgs = ["--listen", "127.0.0.1:0", "--data", edgeDir, "--registry-listen", "127.0.0.1:0", "--edge-id", "bench", "--uplink", link];
  const edgeCommand = process.env.BENCH_EDGE_CMD ? process.env.BENCH_EDGE_CMD.split(" ") : undefined;
  const restartEdge = process.env.BENCH_RESTART_EDGE === "1";
  let edge = await startGateway(edgeArgs, restartEdge ? undefined : edgeCommand);
  let central: Gateway | null = null;
  try {
    let pid = edge.proc.pid;
    // 1. The backlog, with the link down: the edge's own produce throughput of 1 KiB records.
    const count = Math.round((cfg.backlogMiB * MiB) / RECORD_BYTES);
    log(`producing ${cfg.backlogMiB} MiB of 1 KiB records to the edge, link down`);
    const produceBefore = procStat(pid);
    const produced = await perfProduce(edge.kafkaPort, "backlog", count);
    const produceAfter = procStat(pid);
    const producedGB = (count * RECORD_BYTES) / 1e9;

    // 2. Catch-up: the central cluster comes up.
    if (restartEdge) {
      edge.proc.kill("SIGTERM");
      await edge.proc.exited;
      edge = await startGateway(edgeArgs, edgeCommand);
      pid = edge.proc.pid;
    }
    await Bun.sleep(1_000);
    writeFileSync(`/proc/${pid}/clear_refs`, "5"); // resets VmHWM to the current RSS
    const rssBefore = procStatus(pid, "VmRSS");
    const before = procStat(pid);
    const threadsBefore = threadCpu(pid);
    const startedMs = performance.now();
    // BENCH_PERF_OUT=FILE: `perf record` of the edge during the catch-up (kernel and native frames; JIT code shows as addresses).
    const perfRecord = process.env.BENCH_PERF_OUT ? spawn(["perf", "record", "-F", "2000", "-g", "-p", String(pid), "-o", process.env.BENCH_PERF_OUT], { stdout: "ignore", stderr: "ignore" }) : null;
    if (perfRecord) await Bun.sleep(500);
    log("starting the central kgate; the edge forwards its backlog");
    central = await startGateway(["--listen", `127.0.0.1:${centralPort}`, "--data", centralDir, "--registry-listen", "off"]);
    let forwardedBytes = 0;
    let centralUpMs = 0;
    let connectedMs = 0;
    for (;;) {
      const [status] = await links(edge.httpPort);
      if (centralUpMs === 0) centralUpMs = performance.now();
      if (connectedMs === 0 && status.state === "connected") connectedMs = performance.now();
      const backlog = status.partitions.find((partition: any) => partition.topic === "backlog");
      if (status.state === "connected" && backlog && backlog.lagRecords === 0) {
        forwardedBytes = backlog.forwardedBytes;
        break;
      }
      if (performance.now() - startedMs > 600_000) throw new Error(`catch-up did not finish: ${JSON.stringify(status).slice(0, 500)}`);
      await Bun.sleep(100);
    }
    const seconds = (performance.now() - startedMs) / 1_000;
    // Forwarding alone: from the link's connection to the end (the central's start and the link's backoff apart).
    const forwardingSeconds = (performance.now() - connectedMs) / 1_000;
    const after = procStat(pid);
    const threadsAfter = threadCpu(pid);
    if (perfRecord) {
      perfRecord.kill("SIGINT");
      await perfRecord.exited;
    }
    const hwm = procStatus(pid, "VmHWM");
    const catchUpMBps = forwardedBytes / 1e6 / forwardingSeconds;
    const forwardedGB = forwardedBytes / 1e9;

    // 3. Steady state at cfg.steadyMBps: a forwarded topic against one that is not, alternated.
    const rate = Math.round((cfg.steadyMBps * 1e6) / RECORD_BYTES);
    const steadyCount = rate * cfg.steadySeconds;
    const cpuPerSecond = async (topic: string) => {
      const start = procStat(pid);
      const t0 = performance.now();
      await perfProduce(edge.kafkaPort, topic, steadyCount, rate);
      if (topic === "steady") {
        // Until forwarded: the forwarding's CPU belongs to this phase.
        for (;;) {
          const [status] = await links(edge.httpPort);
          if (status.partitions.find((partition: any) => partition.topic === "steady")?.lagRecords === 0) break;
          await Bun.sleep(50);
        }
      }
      return (procStat(pid).cpuS - start.cpuS) / ((performance.now() - t0) / 1_000);
    };
    const local: number[] = [];
    const forwarded: number[] = [];
    for (let i = 0; i < (cfg.steadySeconds > 0 ? 2 : 0); i++) {
      log(`steady state ${i + 1}/2: ${cfg.steadyMBps} MB/s for ${cfg.steadySeconds} s, local topic then forwarded topic`);
      local.push(await cpuPerSecond("local"));
      forwarded.push(await cpuPerSecond("steady"));
    }
    const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
    const result = {
      provenance: cfg.provenance,
      backlogMiB: cfg.backlogMiB,
      edgeProduceMBps: produced.mbPerSec,
      edgeProduceCpuSPerGB: (produceAfter.cpuS - produceBefore.cpuS) / producedGB,
      catchUpMBps: Math.round(catchUpMBps * 10) / 10,
      catchUpRatio: Math.round((catchUpMBps / produced.mbPerSec) * 100) / 100,
      catchUpSeconds: Math.round(seconds * 10) / 10,
      forwardingSeconds: Math.round(forwardingSeconds * 10) / 10,
      reconnectSeconds: Math.round(((connectedMs - centralUpMs) / 1_000) * 10) / 10,
      cpuSPerGBForwarded: Math.round(((after.cpuS - before.cpuS) / forwardedGB) * 100) / 100,
      cpuSPerGBByThread: threadCpuDelta(threadsBefore, threadsAfter, forwardedBytes / 1e9),
      minorFaultsPerGBForwarded: Math.round((after.minorFaults - before.minorFaults) / forwardedGB),
      rssGrowthMiB: Math.round(((hwm - rssBefore) / MiB) * 10) / 10,
      steadyCpuLocal: local.map((value) => Math.round(value * 1000) / 1000),
      steadyCpuForwarded: forwarded.map((value) => Math.round(value * 1000) / 1000),
      steadyOverhead: local.length > 0 ? Math.round((mean(forwarded) / mean(local) - 1) * 1000) / 10 : null,
    };
    console.log(JSON.stringify(result));
    console.log(
      `uplink: catch-up ${result.catchUpMBps} MB/s = ${result.catchUpRatio}x edge produce (${result.edgeProduceMBps} MB/s); ` +
        `edge CPU ${result.cpuSPerGBForwarded} s/GB forwarded, ${result.minorFaultsPerGBForwarded} faults/GB, RSS +${result.rssGrowthMiB} MiB; ` +
        `steady ${cfg.steadyMBps} MB/s: CPU +${result.steadyOverhead}% (provenance=${cfg.provenance})`,
    );
  } finally {
    edge.proc.kill("SIGTERM");
    central?.proc.kill("SIGTERM");
    await Promise.all([edge.proc.exited, central?.proc.exited]);
    rmSync(edgeDir, { recursive: true, force: true });
    rmSync(centralDir, { recursive: true, force: true });
  }
}

await main();
