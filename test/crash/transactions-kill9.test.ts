// Kill -9 in the middle of transactions: the gateway runs as a child process on a data folder, a kafkajs
// transactional producer commits transactions of 10 records over 2 partitions in a loop, and the gateway is killed
// with SIGKILL mid-loop, restarted, and this repeats with a new transactional id each cycle (so the transaction the
// kill left open is not rescued by its producer: it must run into its timeout after the restart). At the end a
// read_committed consumer must see every transaction whose commit was acknowledged, whole; any other transaction
// either whole or not at all; no record twice; and the last stable offset back at the log end.

import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { startGatewayProcess } from "../helpers/gateway-process.ts";
import { waitFor } from "../helpers/server.ts";
import { RawClient } from "../helpers/raw-client.ts";

const repoRoot = join(import.meta.dir, "../..");
const TOPIC = "txn-crash";
const CYCLES = 3;
const RECORDS_PER_TRANSACTION = 10;
// A transaction takes a few fsyncs: 5 s leaves a loaded machine room before the coordinator aborts a live one.
const TRANSACTION_TIMEOUT_MS = 5_000;

test("transactions stay atomic across kill -9 and restarts; an orphaned transaction aborts at its timeout", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "kgate-txn-crash-"));
  const startGateway = () => startGatewayProcess([process.execPath, "src/main.ts", "--data", dataDir, "--flush", "always", "--registry-listen", "off"], { cwd: repoRoot });
  const acknowledged = new Set<string>();
  try {
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const gateway = await startGateway();
      const kafka = new Kafka({ clientId: `txn-crash-${cycle}`, brokers: [gateway.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 50 }, requestTimeout: 5_000 });
      if (cycle === 0) {
        const admin = kafka.admin();
        await admin.connect();
        await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 2 }] });
        await admin.disconnect();
      }
      const producer = kafka.producer({ transactionalId: `txn-crash-${cycle}`, transactionTimeout: TRANSACTION_TIMEOUT_MS, maxInFlightRequests: 1, idempotent: true });
      await producer.connect();
      let running = true;
      let loopEnded = false;
      const acknowledgedBefore = acknowledged.size;
      const loop = (async () => {
        for (let i = 0; running; i++) {
          const name = `c${cycle}-t${i}`;
          try {
            const transaction = await producer.transaction();
            await transaction.send({
              topic: TOPIC,
              acks: -1,
              messages: Array.from({ length: RECORDS_PER_TRANSACTION }, (_, r) => ({ partition: r % 2, value: `${name}-r${r}` })),
            });
            await transaction.commit();
            acknowledged.add(name);
          } catch {
            return; // the gateway died under us
          }
        }
      })().finally(() => (loopEnded = true));
      // Killed mid-loop once this cycle committed a transaction (a fixed sleep could end before the first one on a
      // slow machine).
      await waitFor(() => acknowledged.size > acknowledgedBefore || loopEnded, { timeoutMs: 20_000 });
      await Bun.sleep(Math.random() * 400);
      gateway.process.kill(9);
      running = false;
      await gateway.process.exited;
      await loop;
      await producer.disconnect().catch(() => {});
    }

    // Restart once more and read everything committed.
    await using gateway = await startGateway();
    const kafka = new Kafka({ clientId: "txn-crash-check", brokers: [gateway.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    // The last cycle's open transaction (if the kill left one) aborts at its timeout: the LSO reaches the log end.
    const client = await RawClient.connect(gateway.port);
    const latest = async (isolationLevel: number) => {
      const body = await client.call(2, 2, { replicaId: -1, isolationLevel, topics: [{ name: TOPIC, partitions: [0, 1].map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 })) }] });
      return body.topics[0].partitions.map((p: { offset: bigint }) => Number(p.offset));
    };
    await waitFor(async () => JSON.stringify(await latest(1)) === JSON.stringify(await latest(0)), { timeoutMs: TRANSACTION_TIMEOUT_MS + 20_000, intervalMs: 100 });
    const highWatermarks: number[] = await latest(0);
    client.close();
    await admin.disconnect();

    const consumer = kafka.consumer({ groupId: "txn-crash-reader", readUncommitted: false, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    const seen: string[] = [];
    let lastAt = Date.now();
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value!.toString());
        lastAt = Date.now();
      },
    });
    // The group's first join waits group.initial.rebalance.delay.ms; then everything arrives and goes quiet.
    await waitFor(() => seen.length >= acknowledged.size * RECORDS_PER_TRANSACTION && Date.now() - lastAt > 2_000, { timeoutMs: 45_000 }).catch(() => {});
    await consumer.disconnect();

    expect(acknowledged.size).toBeGreaterThan(0);
    expect(new Set(seen).size).toBe(seen.length); // nothing twice
    const byTransaction = new Map<string, number>();
    for (const value of seen) {
      const name = value.slice(0, value.lastIndexOf("-r"));
      byTransaction.set(name, (byTransaction.get(name) ?? 0) + 1);
    }
    for (const name of acknowledged) expect(byTransaction.get(name)).toBe(RECORDS_PER_TRANSACTION);
    for (const [name, count] of byTransaction) expect([name, count]).toEqual([name, RECORDS_PER_TRANSACTION]);
    expect(highWatermarks.every((high) => high > 0)).toBe(true);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 120_000);
