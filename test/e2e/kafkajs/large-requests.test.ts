// Large Produce requests reuse their frame buffers (src/server/frame-pool.ts): kafkajs sends rounds of ~150 KB
// batches concurrently, so frames are split across socket chunks, joined into pooled buffers, given back after the
// answer and overwritten by later requests. Every record must come back with its own bytes, on both logs.

import { describe, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import { bothStores, startTestServer, waitFor } from "../../helpers/server.ts";

const ROUNDS = 3;
const BATCHES_PER_ROUND = 6;
const RECORDS_PER_BATCH = 150;
const VALUE_BYTES = 1_000;

/** A value that names its round, batch and record and whose filler differs for each, so a stale byte shows. */
function valueFor(round: number, batch: number, record: number): Buffer {
  const label = `${round}/${batch}/${record}:`;
  const bytes = Buffer.alloc(VALUE_BYTES);
  bytes.write(label);
  const seed = round * 7919 + batch * 104_729 + record * 31;
  for (let i = label.length; i < VALUE_BYTES; i++) bytes[i] = 33 + ((seed + i * 13) % 90);
  return bytes;
}

function pooledFrameBytes(metrics: string): number {
  const line = metrics.split("\n").find((candidate) => candidate.startsWith("kgate_pooled_frame_bytes "));
  if (line === undefined) throw new Error("no kgate_pooled_frame_bytes in the scrape");
  return Number(line.split(" ")[1]);
}

describe("large Produce requests through pooled frame buffers", () => {
  for (const store of bothStores) {
    test(`${store} log: concurrent ~150 KB batches, acks=all, consumed back byte for byte`, async () => {
      await using server = await startTestServer({ store, registryListen: { host: "127.0.0.1", port: 0 } });
      const kafka = new Kafka({ clientId: "large-requests", brokers: [server.bootstrap], logLevel: logLevel.NOTHING });
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: "large", numPartitions: 1 }] });
      await admin.disconnect();

      const producer = kafka.producer({ maxInFlightRequests: BATCHES_PER_ROUND });
      await producer.connect();
      let pooledAfterFirstRound = 0;
      for (let round = 0; round < ROUNDS; round++) {
        await Promise.all(
          Array.from({ length: BATCHES_PER_ROUND }, (_, batch) =>
            producer.send({
              topic: "large",
              acks: -1,
              messages: Array.from({ length: RECORDS_PER_BATCH }, (_, record) => ({ key: `${round}/${batch}`, value: valueFor(round, batch, record) })),
            }),
          ),
        );
        if (round === 0) {
          const metrics = await (await fetch(`http://127.0.0.1:${server.registry!.server.port}/metrics`)).text();
          pooledAfterFirstRound = pooledFrameBytes(metrics);
        }
      }
      await producer.disconnect();
      // The first round's frames went back to the pool, so later rounds ran on reused buffers.
      expect(pooledAfterFirstRound).toBeGreaterThan(0);

      const consumer = kafka.consumer({ groupId: `large-${store}`, maxBytesPerPartition: 4 << 20 });
      await consumer.connect();
      await consumer.subscribe({ topic: "large", fromBeginning: true });
      const seen = new Map<string, number>();
      let mismatches = 0;
      await consumer.run({
        eachMessage: async ({ message }) => {
          const [round, batch, record] = message.value!.toString("latin1", 0, 20).split(":")[0]!.split("/").map(Number);
          if (!message.value!.equals(valueFor(round!, batch!, record!)) || message.key!.toString() !== `${round}/${batch}`) mismatches++;
          const key = `${round}/${batch}`;
          const next = seen.get(key) ?? 0;
          if (record !== next) mismatches++; // records of a batch stay in order
          seen.set(key, next + 1);
        },
      });
      const total = ROUNDS * BATCHES_PER_ROUND * RECORDS_PER_BATCH;
      await waitFor(() => [...seen.values()].reduce((sum, count) => sum + count, 0) >= total, { timeoutMs: 30_000 });
      await consumer.disconnect();
      expect(mismatches).toBe(0);
      expect(seen.size).toBe(ROUNDS * BATCHES_PER_ROUND);
      for (const count of seen.values()) expect(count).toBe(RECORDS_PER_BATCH);
    }, 60_000);
  }
});
