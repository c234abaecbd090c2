// kgate as a library (#16): what a test pays for its own gateway.
//   1. start: startKgate() to a connection accepted, in memory, 100 times in one process (each stopped before the
//      next); baseline: Bun.listen to a connection accepted, same loop.
//   2. memory: VmRSS added per idle gateway, 50 kept running at once (after a full GC), with VmHWM and page faults.
//   3. a user's suite: the same 20 kafkajs tests (create a topic, produce 50 records, read the end offsets back) run
//      by `bun test`, once with startKgate() per test, once with a gateway process (`bun src/main.ts --memory`)
//      spawned per test and waited for, as a suite driving an external broker would; ratio process / in-process.
// Run: bun bench/library.ts (BENCH_LIBRARY_STARTS=100, BENCH_LIBRARY_IDLE=50, BENCH_LIBRARY_TESTS=20).

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";

import { join } from "node:path";
import { startKgate, type Kgate } from "../src/kgate.ts";
import { BUN, envNum, ROOT } from "./lib.ts";

const STARTS = envNum("BENCH_LIBRARY_STARTS", 100);
const IDLE = envNum("BENCH_LIBRARY_IDLE", 50);
const TESTS = envNum("BENCH_LIBRARY_TESTS", 20);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

function connect(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    void Bun.connect({ hostname: "127.0.0.1", port, socket: { open: (socket) => (socket.end(), resolve()), data() {}, error: (_socket, error) => reject(error), connectError: (_socket, error) => reject(error) } });
  });
}

function status(): { rssKiB: number; hwmKiB: number; minorFaults: number } {
  const text = readFileSync("/proc/self/status", "utf8");
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(text)![1]);
  const stat = readFileSync("/proc/self/stat", "utf8");
  const minorFaults = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[7]);
  return { rssKiB: field("VmRSS"), hwmKiB: field("VmHWM"), minorFaults };
}

async function measureStarts(): Promise<void> {
  const gateway: number[] = [];
  const listen: number[] = [];
  for (let i = 0; i < STARTS; i++) {
    let started = performance.now();
    const kgate = await startKgate();
    await connect(kgate.port);
    gateway.push(performance.now() - started);
    await kgate.stop();

    started = performance.now();
    const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    await connect(listener.port);
    listen.push(performance.now() - started);
    listener.stop(true);
  }
  gateway.sort((a, b) => a - b);
  listen.sort((a, b) => a - b);
  const line = (name: string, values: number[]) => `${name} p50 ${percentile(values, 50).toFixed(2)} ms, p99 ${percentile(values, 99).toFixed(2)} ms`;
  console.log(`start (${STARTS}): ${line("startKgate", gateway)}; ${line("Bun.listen", listen)}; p50 ratio ${(percentile(gateway, 50) / percentile(listen, 50)).toFixed(1)}x`);
}

async function measureIdleMemory(): Promise<void> {
  Bun.gc(true);
  const before = status();
  const gateways: Kgate[] = [];
  for (let i = 0; i < IDLE; i++) gateways.push(await startKgate());
  await Promise.all(gateways.map((kgate) => connect(kgate.port)));
  Bun.gc(true);
  await Bun.sleep(100);
  const after = status();
  console.log(
    `idle gateways (${IDLE}): +${((after.rssKiB - before.rssKiB) / 1024 / IDLE).toFixed(2)} MiB RSS each; ` +
      `VmRSS ${(before.rssKiB / 1024).toFixed(0)} → ${(after.rssKiB / 1024).toFixed(0)} MiB, VmHWM ${(after.hwmKiB / 1024).toFixed(0)} MiB, ` +
      `${after.minorFaults - before.minorFaults} page faults (${((after.minorFaults - before.minorFaults) / IDLE).toFixed(0)} each)`,
  );
  await Promise.all(gateways.map((kgate) => kgate.stop()));
}

const SUITE_BODY = `
test.each(Array.from({ length: ${TESTS} }, (_, i) => i))("test %i", async (i) => {
  const gateway = await startGateway();
  try {
    const kafka = new Kafka({ brokers: [gateway.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "t" + i, numPartitions: 1 }] });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: "t" + i, messages: Array.from({ length: 50 }, (_, n) => ({ value: "v" + n })) });
    const [offsets] = await admin.fetchTopicOffsets("t" + i);
    expect(offsets!.high).toBe("50");
    await Promise.all([producer.disconnect(), admin.disconnect()]);
  } finally {
    await gateway.stop();
  }
});
`;

const IN_PROCESS = `import { expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import { startKgate } from "${join(ROOT, "src/kgate.ts")}";
const startGateway = () => startKgate();
${SUITE_BODY}`;

const SEPARATE_PROCESS = `import { expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
async function startGateway() {
  const child = Bun.spawn([${JSON.stringify(BUN)}, ${JSON.stringify(join(ROOT, "src/main.ts"))}, "--memory", "--listen", "127.0.0.1:0", "--registry-listen", "off"], { stdout: "ignore", stderr: "pipe" });
  let seen = "";
  const reader = child.stderr.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += new TextDecoder().decode(value);
    const match = /kafka listener up listen=127\\.0\\.0\\.1:(\\d+)/.exec(seen);
    if (match) {
      // Keep draining its log so that the pipe never fills.
      void (async () => { while (!(await reader.read()).done); })();
      return { bootstrap: "127.0.0.1:" + match[1], stop: async () => { child.kill(); await child.exited; } };
    }
  }
  throw new Error("the gateway did not start: " + seen);
}
${SUITE_BODY}`;

function runSuite(folder: string, name: string, source: string): number {
  const file = join(folder, `${name}.test.ts`);
  writeFileSync(file, source);
  const started = performance.now();
  const result = Bun.spawnSync([BUN, "test", "--timeout", "60000", file], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const seconds = (performance.now() - started) / 1000;
  const output = result.stdout.toString() + result.stderr.toString();
  if (result.exitCode !== 0 || !new RegExp(`\\b${TESTS} pass\\b`).test(output)) throw new Error(`${name} suite failed:\n${output}`);
  return seconds;
}

async function measureSuites(): Promise<void> {
  // Inside the repository, so that the suites resolve kafkajs from its node_modules.
  mkdirSync(join(ROOT, "bench", "out"), { recursive: true });
  const folder = mkdtempSync(join(ROOT, "bench", "out", "library-"));
  try {
    const inProcess = runSuite(folder, "in-process", IN_PROCESS);
    const separate = runSuite(folder, "separate-process", SEPARATE_PROCESS);
    console.log(`bun test of ${TESTS} kafkajs tests, a gateway each: in-process ${inProcess.toFixed(2)} s, separate process ${separate.toFixed(2)} s, ratio ${(separate / inProcess).toFixed(2)}x`);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

await measureStarts();
await measureIdleMemory();
await measureSuites();

