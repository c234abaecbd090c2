// kafkajs 2.2.4 against kgate: admin (create/delete topics, metadata, offsets), a keyed producer with headers to a
// 3-partition topic, and reading everything back through kafkajs's own Fetch code path (its cluster/broker
// objects, which its group consumer uses underneath; the group consumer itself needs the consumer-groups issue).
// On both logs: the reads (several batches per partition, 1 KiB fetches, offsets by timestamp) are the store's.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Kafka, logLevel, CompressionTypes } from "kafkajs";
import { bothStores, startTestServer, type TestServer } from "../../helpers/server.ts";

const TOPIC = "kafkajs-e2e";
const PARTITIONS = 3;
const RECORDS = 300;
const BASE_TIMESTAMP = 1_700_000_000_000;

// The current describe block's server and client (the blocks run one after the other).
let server: TestServer;
let kafka: Kafka;

/** kafkajs's internal cluster, as its consumer builds it. */
async function connectCluster(): Promise<any> {
  const createCluster = Object.getOwnPropertySymbols(kafka).find((symbol) => symbol.description === "private:Kafka:createCluster")!;
  const cluster = (kafka as any)[createCluster]({ metadataMaxAge: 300000, allowAutoTopicCreation: false, maxInFlightRequests: null, isolationLevel: 1 });
  await cluster.connect();
  return cluster;
}

interface Received {
  partition: number;
  offset: string;
  key: string;
  value: string;
  timestamp: string;
  headers: Record<string, string>;
}

async function fetchAll(cluster: any, topic: string, partition: number, maxBytes: number): Promise<Received[]> {
  await cluster.addTargetTopic(topic);
  await cluster.refreshMetadata();
  const leader = cluster.findTopicPartitionMetadata(topic).find((p: any) => p.partitionId === partition).leader;
  const broker = await cluster.findBroker({ nodeId: String(leader) });
  const received: Received[] = [];
  let offset = "0";
  for (let round = 0; round < 1000; round++) {
    const response = await broker.fetch({
      replicaId: -1,
      isolationLevel: 1,
      maxWaitTime: 50,
      minBytes: 1,
      maxBytes,
      topics: [{ topic, partitions: [{ partition, fetchOffset: offset, maxBytes }] }],
    });
    const data = response.responses[0].partitions[0];
    expect(data.errorCode).toBe(0);
    const messages = data.messages.filter((message: any) => BigInt(message.offset) >= BigInt(offset));
    for (const message of messages) {
      const headers: Record<string, string> = {};
      for (const [key, value] of Object.entries(message.headers ?? {})) headers[key] = String(value);
      received.push({ partition, offset: message.offset, key: message.key.toString(), value: message.value.toString(), timestamp: message.timestamp, headers });
    }
    if (messages.length > 0) offset = String(BigInt(messages[messages.length - 1].offset) + 1n);
    if (BigInt(offset) >= BigInt(data.highWatermark)) break;
  }
  return received;
}

describe.each(bothStores)("kafkajs (%s log)", (store) => {
  beforeAll(async () => {
    server = await startTestServer({ store });
    kafka = new Kafka({ clientId: "kgate-e2e", brokers: [server.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  });
  afterAll(async () => {
    await server[Symbol.asyncDispose]();
  });

  test("admin creates a topic, producer writes keyed records with headers, fetch reads them back in order", async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }], waitForLeaders: true })).toBe(true);
      const metadata = await admin.fetchTopicMetadata({ topics: [TOPIC] });
      expect(metadata.topics[0]!.partitions.length).toBe(PARTITIONS);
      const cluster = await admin.describeCluster();
      expect(cluster.brokers).toEqual([{ nodeId: 1, host: "127.0.0.1", port: server.port }]);
      expect(cluster.controller).toBe(1);

      const producer = kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      const sent = Array.from({ length: RECORDS }, (_, i) => ({
        key: `key-${i % 17}`,
        value: `value-${i}-${"x".repeat(i % 50)}`,
        timestamp: String(BASE_TIMESTAMP + i),
        headers: { index: String(i), source: "kafkajs" },
      }));
      // Several sends so that each partition holds several batches.
      for (let i = 0; i < RECORDS; i += 50) {
        const results = await producer.send({ topic: TOPIC, acks: -1, messages: sent.slice(i, i + 50) });
        for (const result of results) expect(result.errorCode).toBe(0);
      }
      await producer.send({ topic: TOPIC, acks: 1, compression: CompressionTypes.None, messages: [{ key: "last", value: "acks-1" }] });
      await producer.disconnect();

      const offsets = await admin.fetchTopicOffsets(TOPIC);
      const total = offsets.reduce((sum, partition) => sum + Number(partition.high), 0);
      expect(total).toBe(RECORDS + 1);
      for (const partition of offsets) expect(partition.low).toBe("0");

      const kafkaCluster = await connectCluster();
      try {
        const all: Received[] = [];
        for (let partition = 0; partition < PARTITIONS; partition++) {
          const received = await fetchAll(kafkaCluster, TOPIC, partition, 1024);
          // Per-partition order: offsets ascend with no gaps from 0.
          received.forEach((message, i) => expect(message.offset).toBe(String(i)));
          all.push(...received);
        }
        expect(all.length).toBe(RECORDS + 1);
        const byValue = new Map(all.map((message) => [message.value, message]));
        for (const record of sent) {
          const got = byValue.get(record.value)!;
          expect(got).toBeDefined();
          expect(got.key).toBe(record.key);
          expect(got.timestamp).toBe(record.timestamp);
          expect(got.headers).toEqual(record.headers);
        }
        // The same key always lands in the same partition, in send order.
        const partitionsByKey = new Map<string, Set<number>>();
        for (const message of all) {
          const set = partitionsByKey.get(message.key) ?? new Set();
          set.add(message.partition);
          partitionsByKey.set(message.key, set);
        }
        for (const set of partitionsByKey.values()) expect(set.size).toBe(1);
      } finally {
        await kafkaCluster.disconnect();
      }

      const byTime = await admin.fetchTopicOffsetsByTimestamp(TOPIC, BASE_TIMESTAMP + 150);
      const atOrAfter = byTime.reduce((sum, partition) => sum + (Number(offsets.find((o) => o.partition === partition.partition)!.high) - Number(partition.offset)), 0);
      // Records 150..299 and the untimed last record are at or after the timestamp.
      expect(atOrAfter).toBe(RECORDS - 150 + 1);

      await admin.deleteTopics({ topics: [TOPIC] });
      expect(await admin.listTopics()).not.toContain(TOPIC);
    } finally {
      await admin.disconnect();
    }
  });

  test("creating an existing topic and a bad replication factor report Kafka's errors", async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(await admin.createTopics({ topics: [{ topic: "dup", numPartitions: 1 }] })).toBe(true);
      expect(await admin.createTopics({ topics: [{ topic: "dup", numPartitions: 1 }] })).toBe(false);
      await expect(admin.createTopics({ topics: [{ topic: "rf3", numPartitions: 1, replicationFactor: 3 }] })).rejects.toThrow();
    } finally {
      await admin.disconnect();
    }
  });
});
