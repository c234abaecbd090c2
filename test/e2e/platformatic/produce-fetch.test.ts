// @platformatic/kafka against kgate: admin create/delete, a keyed producer with headers to a 3-partition topic,
// Fetch v17 by topic id (the client's own fetch API), and ListOffsets earliest/latest/by timestamp. On both logs:
// the reads and the offset look-ups are the store's.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Admin, Consumer, Producer, stringSerializers, stringDeserializers } from "@platformatic/kafka";
import { bothStores, startTestServer, type TestServer } from "../../helpers/server.ts";

const TOPIC = "platformatic-e2e";
const PARTITIONS = 3;
const RECORDS = 300;
const BASE_TIMESTAMP = 1_700_000_000_000n;

describe.each(bothStores)("@platformatic/kafka (%s log)", (store) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ store });
  });
  afterAll(async () => {
    await server[Symbol.asyncDispose]();
  });

  test("create, produce keyed records with headers, fetch by topic id from earliest, list offsets, delete", async () => {
    const bootstrapBrokers = [server.bootstrap];
    const admin = new Admin({ clientId: "kgate-e2e-admin", bootstrapBrokers });
    const producer = new Producer({ clientId: "kgate-e2e-producer", bootstrapBrokers, serializers: stringSerializers });
    const consumer = new Consumer({ clientId: "kgate-e2e-consumer", groupId: "unused", bootstrapBrokers, deserializers: stringDeserializers });
    try {
      await admin.createTopics({ topics: [TOPIC], partitions: PARTITIONS, replicas: 1 });
      expect(await admin.listTopics()).toContain(TOPIC);

      const sent = Array.from({ length: RECORDS }, (_, i) => ({
        topic: TOPIC,
        partition: i % PARTITIONS,
        key: `key-${i}`,
        value: `value-${i}`,
        timestamp: BASE_TIMESTAMP + BigInt(i),
        headers: new Map([["index", String(i)]]),
      }));
      for (let i = 0; i < RECORDS; i += 30) {
        const result = await producer.send({ messages: sent.slice(i, i + 30), acks: -1 });
        expect(result.offsets?.length ?? 0).toBeGreaterThan(0);
      }

      const metadata = await consumer.metadata({ topics: [TOPIC] });
      const topicId = metadata.topics.get(TOPIC)!.id;
      expect(topicId).not.toBe("AAAAAAAAAAAAAAAAAAAAAA");

      for (let partition = 0; partition < PARTITIONS; partition++) {
        const received: { key: string; value: string; offset: bigint; timestamp: bigint; index: string }[] = [];
        let fetchOffset = 0n;
        for (let round = 0; round < 100 && received.length < RECORDS / PARTITIONS; round++) {
          const response = await consumer.fetch({
            node: 1,
            maxWaitTime: 100,
            minBytes: 1,
            maxBytes: 512,
            topics: [{ topicId, partitions: [{ partition, fetchOffset, partitionMaxBytes: 512, currentLeaderEpoch: -1, lastFetchedEpoch: -1 }] }],
          });
          const data = response.responses[0]!.partitions[0]!;
          expect(data.errorCode).toBe(0);
          expect(data.highWatermark).toBe(BigInt(RECORDS / PARTITIONS));
          expect(data.lastStableOffset).toBe(data.highWatermark);
          for (const batch of data.records ?? []) {
            for (const record of batch.records) {
              const offset = batch.firstOffset + BigInt(record.offsetDelta);
              if (offset < fetchOffset) continue;
              const header = record.headers.find(([key]) => key?.toString() === "index");
              received.push({
                key: record.key!.toString(),
                value: record.value!.toString(),
                offset,
                timestamp: batch.firstTimestamp + record.timestampDelta,
                index: header![1]!.toString(),
              });
            }
          }
          if (received.length > 0) fetchOffset = received[received.length - 1]!.offset + 1n;
        }
        expect(received.length).toBe(RECORDS / PARTITIONS);
        received.forEach((record, i) => {
          const original = sent[i * PARTITIONS + partition]!;
          expect(record.offset).toBe(BigInt(i));
          expect(record.key).toBe(original.key);
          expect(record.value).toBe(original.value);
          expect(record.timestamp).toBe(original.timestamp);
          expect(record.index).toBe(original.headers.get("index")!);
        });
      }

      const latest = await consumer.listOffsets({ topics: [TOPIC] });
      expect(latest.get(TOPIC)).toEqual([100n, 100n, 100n]);
      const earliest = await consumer.listOffsets({ topics: [TOPIC], timestamp: -2n });
      expect(earliest.get(TOPIC)).toEqual([0n, 0n, 0n]);
      // Record i sits in partition i % 3 at offset floor(i / 3): the first at or after t=150 is record 150, 151, 152.
      const byTime = await consumer.listOffsets({ topics: [TOPIC], timestamp: BASE_TIMESTAMP + 150n });
      expect(byTime.get(TOPIC)).toEqual([50n, 50n, 50n]);

      await admin.deleteTopics({ topics: [TOPIC] });
      expect(await admin.listTopics()).not.toContain(TOPIC);
    } finally {
      await Promise.allSettled([consumer.close(true), producer.close(), admin.close()]);
    }
  });
});
