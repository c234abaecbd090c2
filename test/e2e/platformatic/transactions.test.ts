// @platformatic/kafka idempotent and transactional producers against kgate (InitProducerId v5, AddPartitionsToTxn,
// EndTxn), read back with its own Fetch in read_committed (aborted transactions listed, LSO) and read_uncommitted.
// On both logs: the aborted transactions and the last stable offset are the store's.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Admin, Consumer, Producer, stringDeserializers, stringSerializers } from "@platformatic/kafka";
import { bothStores, startTestServer, type TestServer } from "../../helpers/server.ts";

/** Values and offsets in one partition from offset 0, as the client's own Fetch returns them at `isolationLevel`. */
async function readAll(consumer: Consumer<string, string, string, string>, topic: string, isolationLevel: number) {
  const metadata = await consumer.metadata({ topics: [topic] });
  const topicId = metadata.topics.get(topic)!.id;
  const response = await consumer.fetch({
    node: 1,
    maxWaitTime: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel,
    topics: [{ topicId, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1 }] }],
  });
  const data = response.responses[0]!.partitions[0]!;
  const records: { value: string; producerId: bigint; control: boolean }[] = [];
  for (const batch of data.records ?? []) {
    for (const record of batch.records) {
      records.push({ value: record.value?.toString() ?? "", producerId: batch.producerId, control: (batch.attributes & 0x20) !== 0 });
    }
  }
  return { data, records };
}

describe.each(bothStores)("@platformatic/kafka idempotence and transactions (%s log)", (store) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ store });
  });
  afterAll(async () => {
    await server[Symbol.asyncDispose]();
  });

  test("idempotent producer: sequence numbers, every record once", async () => {
    const bootstrapBrokers = [server.bootstrap];
    const admin = new Admin({ clientId: "pk-idem-admin", bootstrapBrokers });
    const producer = new Producer({ clientId: "pk-idem", bootstrapBrokers, serializers: stringSerializers, idempotent: true });
    const consumer = new Consumer({ clientId: "pk-idem-reader", groupId: "unused", bootstrapBrokers, deserializers: stringDeserializers });
    try {
      await admin.createTopics({ topics: ["pk-idempotent"], partitions: 1, replicas: 1 });
      for (let i = 0; i < 10; i++) {
        await producer.send({ messages: Array.from({ length: 10 }, (_, j) => ({ topic: "pk-idempotent", partition: 0, value: `m${i * 10 + j}` })), acks: -1 });
      }
      const { records } = await readAll(consumer, "pk-idempotent", 1);
      expect(records.map((r) => r.value)).toEqual(Array.from({ length: 100 }, (_, i) => `m${i}`));
      expect(records.every((r) => r.producerId >= 0n)).toBe(true);
    } finally {
      await Promise.allSettled([producer.close(), consumer.close(), admin.close()]);
    }
  });

  test("two idempotent producers get their own producer ids (the client sends id 0, epoch 0) and write one partition", async () => {
    const bootstrapBrokers = [server.bootstrap];
    const admin = new Admin({ clientId: "pk-idem2-admin", bootstrapBrokers });
    const producers = [0, 1].map((n) => new Producer({ clientId: `pk-idem2-${n}`, bootstrapBrokers, serializers: stringSerializers, idempotent: true }));
    const consumer = new Consumer({ clientId: "pk-idem2-reader", groupId: "unused", bootstrapBrokers, deserializers: stringDeserializers });
    try {
      await admin.createTopics({ topics: ["pk-idempotent-two"], partitions: 1, replicas: 1 });
      for (let round = 0; round < 3; round++) {
        for (const [n, producer] of producers.entries()) {
          await producer.send({ messages: [{ topic: "pk-idempotent-two", partition: 0, value: `p${n}r${round}` }], acks: -1 });
        }
      }
      expect(producers[0]!.producerId).not.toBe(producers[1]!.producerId);
      const { records } = await readAll(consumer, "pk-idempotent-two", 1);
      expect(records.map((r) => r.value)).toEqual(["p0r0", "p1r0", "p0r1", "p1r1", "p0r2", "p1r2"]);
    } finally {
      await Promise.allSettled([...producers.map((p) => p.close()), consumer.close(), admin.close()]);
    }
  });

  test("transactions: committed data visible to read_committed, aborted data listed and skipped", async () => {
    const bootstrapBrokers = [server.bootstrap];
    const admin = new Admin({ clientId: "pk-txn-admin", bootstrapBrokers });
    const producer = new Producer({ clientId: "pk-txn", bootstrapBrokers, serializers: stringSerializers, idempotent: true, transactionalId: "pk-txn" });
    const consumer = new Consumer({ clientId: "pk-txn-reader", groupId: "unused", bootstrapBrokers, deserializers: stringDeserializers });
    try {
      await admin.createTopics({ topics: ["pk-txn"], partitions: 1, replicas: 1 });
      for (const [name, commit] of [["a", true], ["b", false], ["c", true]] as const) {
        const transaction = await producer.beginTransaction();
        await transaction.send({ messages: Array.from({ length: 3 }, (_, i) => ({ topic: "pk-txn", partition: 0, value: `${name}${i}` })) });
        if (commit) await transaction.commit();
        else await transaction.abort();
      }
      // read_committed: the response lists the aborted transaction (clients drop its records) and LSO = HW.
      const committed = await readAll(consumer, "pk-txn", 1);
      expect(committed.data.lastStableOffset).toBe(committed.data.highWatermark);
      expect(committed.data.abortedTransactions?.map((t) => t.firstOffset)).toEqual([4n]);
      // The client drops the aborted transaction's records itself, from that list.
      expect(committed.records.filter((r) => !r.control).map((r) => r.value)).toEqual(["a0", "a1", "a2", "c0", "c1", "c2"]);
      const uncommitted = await readAll(consumer, "pk-txn", 0);
      expect(uncommitted.data.abortedTransactions ?? null).toBeNull();
      expect(uncommitted.records.filter((r) => !r.control).map((r) => r.value)).toEqual(["a0", "a1", "a2", "b0", "b1", "b2", "c0", "c1", "c2"]);
    } finally {
      await Promise.allSettled([producer.close(), consumer.close(), admin.close()]);
    }
  });
});
