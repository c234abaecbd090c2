// Group commit under concurrency: 8 kafkajs producers send 10 x 1 KiB records with acks=all in closed loops for
// BENCH_FLUSH_SECONDS (default 5) against `bun src/main.ts --data <tmp> --flush MODE`, for MODE = always, never;
// then one producer at 1,000 records/s (one record per send) for the latency percentiles.
//   bun bench/flush-modes.ts

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { startGatewayProcess } from "../test/helpers/gateway-process.ts";

const seconds = Number(process.env.BENCH_FLUSH_SECONDS ?? 5);
const PRODUCERS = 8;
const RECORDS_PER_SEND = 10;
const value = Buffer.alloc(1024, 7);
const repoRoot = join(import.meta.dir, "..");

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

for (const mode of ["always", "never"]) {
  const dataDir = mkdtempSync(join(tmpdir(), "kgate-flush-"));
  const gateway = await startGatewayProcess([process.execPath, "src/main.ts", "--data", dataDir, "--flush", mode], { cwd: repoRoot });
  try {
    const kafka = new Kafka({ brokers: [gateway.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "flush", numPartitions: 1 }, { topic: "latency", numPartitions: 1 }] });
    await admin.disconnect();

    const producers = await Promise.all(
      Array.from({ length: PRODUCERS }, async () => {
        const producer = kafka.producer();
        await producer.connect();
        return producer;
      }),
    );
    const messages = Array.from({ length: RECORDS_PER_SEND }, () => ({ value }));
    const deadline = performance.now() + seconds * 1000;
    let records = 0;
    await Promise.all(
      producers.map(async (producer) => {
        while (performance.now() < deadline) {
          await producer.send({ topic: "flush", acks: -1, messages });
          records += RECORDS_PER_SEND;
        }
      }),
    );
    const throughput = records / seconds;

    const latencies: number[] = [];
    const producer = producers[0]!;
    const latencyDeadline = performance.now() + seconds * 1000;
    for (let next = performance.now(); next < latencyDeadline; next += 1) {
      const wait = next - performance.now();
      if (wait > 0) await Bun.sleep(wait);
      const sentAt = performance.now();
      await producer.send({ topic: "latency", acks: -1, messages: [{ value: value.subarray(0, 100) }] });
      latencies.push(performance.now() - sentAt);
    }
    latencies.sort((left, right) => left - right);
    console.log(
      `--flush ${mode}: ${PRODUCERS} producers x ${RECORDS_PER_SEND} x 1 KiB acks=all: ${Math.round(throughput).toLocaleString()} records/s ` +
        `(${((throughput * 1024) / 1048576).toFixed(1)} MiB/s); 1 producer at <=1,000/s: ` +
        `p50 ${percentile(latencies, 0.5).toFixed(2)} ms, p99 ${percentile(latencies, 0.99).toFixed(2)} ms (${latencies.length} sends)`,
    );
    await Promise.all(producers.map((each) => each.disconnect()));
  } finally {
    await gateway[Symbol.asyncDispose]();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
