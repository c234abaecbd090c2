// Kill -9 durability: the gateway runs as a child process on a data folder (`bun src/main.ts --data DIR`), kafkajs
// produces with acks=all in two concurrent loops, the gateway is killed with SIGKILL mid-stream, restarted on the
// same folder, and this repeats. Every record a send() acknowledged must be in the log exactly once, in the order
// its loop sent it, at the offset the acknowledgement named; offsets are contiguous. Records sent but not
// acknowledged when the process died may or may not be there (at most once: the producer does not retry).
//
// The power-loss variant also drops, at each kill, every write no fsync covered (test/helpers/power-loss.ts
// replays the gateway's durability journal), and checks that every topic CreateTopics or auto-creation reported
// still exists. The final check reads the folder through the same log code after a clean SIGTERM shutdown.

import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { parseConfig } from "../../src/config.ts";
import { Broker } from "../../src/broker.ts";
import { decodeRecords, readBaseOffset } from "../../src/protocol/records/record-batch.ts";
import { setLogLevel } from "../../src/util/logger.ts";
import { startGatewayProcess } from "../helpers/gateway-process.ts";
import { simulatePowerLoss, snapshotSizes } from "../helpers/power-loss.ts";
import { waitFor } from "../helpers/server.ts";

const repoRoot = join(import.meta.dir, "../..");
const TOPIC = "crash";
const CYCLES = 4;
const LOOPS = 2;
const RECORDS_PER_SEND = 5;

interface Acknowledged {
  baseOffset: number;
  values: string[];
}

async function runCrashCycles({ powerLoss }: { powerLoss: boolean }): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "kgate-crash-"));
  const dataDir = join(root, "data");
  const journalPath = join(root, "durability.jsonl");
  const env = powerLoss ? { ...process.env, KGATE_DURABILITY_JOURNAL: journalPath } : process.env;
  const startGateway = () =>
    startGatewayProcess([process.execPath, "src/main.ts", "--data", dataDir, "--flush", "always"], { cwd: repoRoot, env });
  const acknowledged: Acknowledged[][] = Array.from({ length: LOOPS }, () => []);
  const createdTopics: string[] = [];
  let acknowledgedCount = 0;

  try {
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      rmSync(journalPath, { force: true });
      const initialSizes = snapshotSizes(root);
      const gateway = await startGateway();
      const kafka = new Kafka({
        clientId: `crash-${cycle}`,
        brokers: [gateway.bootstrap],
        logLevel: logLevel.NOTHING,
        retry: { retries: 0 },
        requestTimeout: 5_000,
      });
      const admin = kafka.admin();
      await admin.connect();
      if (cycle === 0) await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1 }] });
      // Every topic reported created so far is there, and so is everything acknowledged.
      const [partition] = await admin.fetchTopicOffsets(TOPIC);
      expect(Number(partition!.high)).toBeGreaterThanOrEqual(acknowledgedCount);
      const listed = new Set(await admin.listTopics());
      for (const topic of createdTopics) expect(listed.has(topic)).toBe(true);
      expect(await admin.createTopics({ topics: [{ topic: `created-${cycle}`, numPartitions: 2 }] })).toBe(true);
      createdTopics.push(`created-${cycle}`);
      await admin.disconnect();

      const producer = kafka.producer({ retry: { retries: 0 }, allowAutoTopicCreation: true });
      await producer.connect();
      // Auto-creation by Produce: acknowledged, so the topic must survive too.
      await producer.send({ topic: `auto-${cycle}`, acks: -1, messages: [{ value: "x" }] });
      createdTopics.push(`auto-${cycle}`);
      let stopped = false;
      const acknowledgedBefore = acknowledgedCount;
      let loopsEnded = 0;
      const loops = Array.from({ length: LOOPS }, async (_, loop) => {
        for (let send = 0; !stopped; send++) {
          const values = Array.from({ length: RECORDS_PER_SEND }, (_, i) => `c${cycle}-l${loop}-s${send}-${i}`);
          try {
            const [result] = await producer.send({ topic: TOPIC, acks: -1, messages: values.map((value) => ({ value })) });
            acknowledged[loop]!.push({ baseOffset: Number(result!.baseOffset), values });
            acknowledgedCount += values.length;
          } catch {
            return;
          }
        }
      }).map((loop) => loop.finally(() => loopsEnded++));
      // Killed mid-stream, once this cycle has some acknowledged sends (a fixed sleep could end before the first on a
      // slow machine, and the count below would then fall short).
      await waitFor(() => acknowledgedCount - acknowledgedBefore >= 2 * RECORDS_PER_SEND || loopsEnded === LOOPS, { timeoutMs: 20_000 });
      await Bun.sleep(Math.random() * 400);
      gateway.process.kill(9);
      expect(await gateway.process.exited).not.toBe(0);
      stopped = true;
      await Promise.all(loops);
      await producer.disconnect().catch(() => {});
      if (powerLoss) simulatePowerLoss(root, journalPath, initialSizes);
    }
    expect(acknowledgedCount).toBeGreaterThan(CYCLES * RECORDS_PER_SEND);

    // One more restart after the last kill, then a clean shutdown (SIGTERM writes the clean-shutdown marker).
    const last = await startGateway();
    expect(last.output()).toContain("kafka listener up");
    last.process.kill("SIGTERM");
    expect(await last.process.exited).toBe(0);

    setLogLevel("error");
    const broker = new Broker({ ...parseConfig(["--data", dataDir, "--listen", "127.0.0.1:0"], {})!, autoCreateTopics: false });
    try {
      expect(broker.fileLogs!.recovering).toBe(false);
      for (const topic of createdTopics) expect(broker.topics.get(topic)).toBeDefined();
      const log = broker.topics.get(TOPIC)!.partitions[0]!;
      const stored: string[] = [];
      let next = 0;
      while (next < log.logEndOffset) {
        const read = log.read(next, 1 << 20, true);
        expect(read.batches.length).toBeGreaterThan(0);
        for (const batch of read.batches) {
          const baseOffset = readBaseOffset(batch);
          for (const record of decodeRecords(batch)) {
            const offset = baseOffset + record.offsetDelta;
            if (offset < next) continue;
            // Contiguous: every offset from 0 to the end holds one record.
            expect(offset).toBe(stored.length);
            stored.push(Buffer.from(record.value!).toString());
            next = offset + 1;
          }
        }
      }
      const positions = new Map<string, number>();
      for (const [offset, value] of stored.entries()) {
        expect(positions.has(value)).toBe(false); // nothing twice, acknowledged or not
        positions.set(value, offset);
      }
      let checked = 0;
      for (const sends of acknowledged) {
        let previous = -1;
        for (const { baseOffset, values } of sends) {
          for (const [i, value] of values.entries()) {
            if (positions.get(value) !== baseOffset + i) {
              throw new Error(`acknowledged record ${value} at offset ${baseOffset + i}: found at ${positions.get(value)}`);
            }
            checked++;
          }
          expect(baseOffset).toBeGreaterThan(previous);
          previous = baseOffset;
        }
      }
      expect(checked).toBe(acknowledgedCount);
    } finally {
      broker.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test("every record acknowledged with acks=all survives kill -9, exactly once, in order", async () => {
  await runCrashCycles({ powerLoss: false });
}, 120_000);

test("…and survives power loss (unsynced writes dropped at each kill); created topics too", async () => {
  await runCrashCycles({ powerLoss: true });
}, 120_000);
