// Idempotence and transaction figures for issue 8, against the real gateway in its own process (dist/kgate, or
// `bun src/main.ts`), file log with --flush always, a fresh data folder:
// 1. produce throughput of Debian's rdkafka_performance (bench/out, built by bench/setup.sh) with and without
//    enable.idempotence=true, 100-byte records, acks=all, alternating rounds in the same run: the ratio
//    idempotent/plain (target ≥ 0.9). librdkafka caps an idempotent producer at 5 requests in flight, so plain is
//    measured twice: as configured by default, and with max.in.flight=5 (the same pipeline depth), which isolates
//    what the gateway's duplicate detection costs; the gateway's CPU per million records is reported for each;
// 2. transaction latency: kafkajs (in this process) runs transactions of 100 records across 10 partitions
//    (AddPartitionsToTxn, Produce, EndTxn commit, each durable before it is answered); p50/p99 of begin → commit
//    answered (target p50 < 10 ms).
// Run: bash bench/setup.sh && ./node_modules/.bin/bun bench/transactions.ts [--rounds N] [--records N] [--transactions N]

import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "bun";
import { Kafka, logLevel } from "kafkajs";
import { startGatewayProcess } from "../test/helpers/gateway-process.ts";

const argument = (name: string, fallback: number) => {
  const index = process.argv.indexOf(name);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
};
const ROUNDS = argument("--rounds", 3);
const RECORDS = argument("--records", 1_000_000);
const TRANSACTIONS = argument("--transactions", 300);
const root = join(import.meta.dir, "..");
const perfPath = join(import.meta.dir, "out/rdkafka_performance");
const binary = join(root, "dist/kgate");
const command = existsSync(binary) ? [binary] : [process.execPath, join(root, "src/main.ts")];

const dataDir = mkdtempSync(join(tmpdir(), "kgate-bench-txn-"));
await using gateway = await startGatewayProcess([...command, "--data", dataDir, "--log-level", "info", "--registry-listen", "off"]);
const kafka = new Kafka({ clientId: "bench-txn", brokers: [gateway.bootstrap], logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({ topics: [{ topic: "plain", numPartitions: 1 }, { topic: "idempotent", numPartitions: 1 }, { topic: "txn", numPartitions: 10 }] });
await admin.disconnect();

// 1. Throughput, plain against idempotent.
/** The gateway's user+system CPU seconds so far. */
function gatewayCpuSeconds(): number {
  const fields = readFileSync(`/proc/${gateway.process.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100/s on Linux)
}

async function produce(topic: string, extra: string[]): Promise<{ msgsPerSec: number; cpuPerMillion: number }> {
  const args = ["-P", "-t", topic, "-p", "0", "-s", "100", "-c", String(RECORDS), "-a", "-1", "-b", gateway.bootstrap, "-X", "linger.ms=5", ...extra];
  const cpuBefore = gatewayCpuSeconds();
  const run = spawn([perfPath, ...args], { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(run.stdout).text();
  await run.exited;
  const match = [...out.matchAll(/(\d+) delivered .* in \d+ms: (\d+) msgs\/s/g)].at(-1);
  if (!match || Number(match[1]) !== RECORDS) throw new Error(`rdkafka_performance failed:\n${out.slice(-2000)}`);
  return { msgsPerSec: Number(match[2]), cpuPerMillion: ((gatewayCpuSeconds() - cpuBefore) * 1e6) / RECORDS };
}
if (existsSync(perfPath)) {
  const versusDefault: string[] = [];
  const versusSameDepth: string[] = [];
  const cpuRatios: string[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const plain = await produce("plain", []);
    const plainDepth5 = await produce("plain", ["-X", "max.in.flight=5"]);
    const idempotent = await produce("idempotent", ["-X", "enable.idempotence=true"]);
    versusDefault.push((idempotent.msgsPerSec / plain.msgsPerSec).toFixed(2) + "x");
    versusSameDepth.push((idempotent.msgsPerSec / plainDepth5.msgsPerSec).toFixed(2) + "x");
    cpuRatios.push((idempotent.cpuPerMillion / plainDepth5.cpuPerMillion).toFixed(2) + "x");
    console.log(
      `round ${round}: plain ${plain.msgsPerSec} msgs/s (${plain.cpuPerMillion.toFixed(2)} cpu s/M), plain max.in.flight=5 ${plainDepth5.msgsPerSec} msgs/s (${plainDepth5.cpuPerMillion.toFixed(2)} cpu s/M), idempotent ${idempotent.msgsPerSec} msgs/s (${idempotent.cpuPerMillion.toFixed(2)} cpu s/M)`,
    );
  }
  console.log(`idempotent/plain produce (100 B, acks=all, ${RECORDS} records): ${versusDefault.join(" ")}; against plain at the same depth (max.in.flight=5): ${versusSameDepth.join(" ")}; gateway CPU per record idempotent/plain(depth 5): ${cpuRatios.join(" ")}`);
} else {
  console.log(`skipping throughput: ${perfPath} missing (run bash bench/setup.sh)`);
}

// 2. Transaction latency.
const producer = kafka.producer({ transactionalId: "bench", maxInFlightRequests: 1, idempotent: true });
await producer.connect();
const messages = Array.from({ length: 100 }, (_, i) => ({ partition: i % 10, value: "x".repeat(100) }));
const latencies: number[] = [];
for (let i = 0; i < TRANSACTIONS; i++) {
  const started = performance.now();
  const transaction = await producer.transaction();
  await transaction.send({ topic: "txn", acks: -1, messages });
  await transaction.commit();
  if (i >= 20) latencies.push(performance.now() - started); // the first ones warm up connections and the JIT
}
await producer.disconnect();
latencies.sort((a, b) => a - b);
const percentile = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
console.log(`transaction of 100 records over 10 partitions (kafkajs, --flush always): p50 ${percentile(50).toFixed(2)} ms, p99 ${percentile(99).toFixed(2)} ms (${latencies.length} transactions)`);
rmSync(dataDir, { recursive: true, force: true });
