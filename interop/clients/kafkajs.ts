// kafkajs 2.2.4 scenarios. kafkajs consumes only through a consumer group (no assign-style consumer), so every
// scenario that reads records back needs the group APIs.

import { CompressionTypes, ConfigResourceTypes, Kafka, logLevel, type Consumer } from "kafkajs";
import {
  BASIC_RECORDS, IDEMPOTENT_BATCH, IDEMPOTENT_RECORDS, LARGE_BYTES, PARTITIONS, SMALL_RECORDS, TRANSACTIONS, TXN_ABORTED_OFFSET, TXN_COMMITTED_OFFSET,
  TXN_INPUT_RECORDS, TXN_PARTITIONS, TXN_RECORDS, UPLINK_RECORDS, UPLINK_TIMEOUT_MS, askRestart, basicRecord, checkBasic, checkContiguous, checkLarge, checkTransactions, largeValue, main,
  step, topicName, txnValue, waitUntil,
} from "./common.mjs";

function connect(bootstrap: string): Kafka {
  return new Kafka({ clientId: "interop-kafkajs", brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 100 } });
}

interface Received {
  partition: number;
  offset: number;
  key: string;
  value: string;
  valueBytes: Buffer;
  headers: Record<string, string>;
  timestamp: number;
}

/** Reads `count` records of `topic` from the beginning with a fresh group; fails on a consumer crash. */
async function consume(
  kafka: Kafka,
  topic: string,
  count: number,
  { timeoutMs = 20_000, maxBytes, groupId, readUncommitted = false }: { timeoutMs?: number; maxBytes?: number; groupId?: string; readUncommitted?: boolean } = {},
) {
  const received: Received[] = [];
  const consumer: Consumer = kafka.consumer({ groupId: groupId ?? topicName("kafkajs-group"), maxBytes, maxBytesPerPartition: maxBytes, retry: { retries: 1 }, readUncommitted });
  let crashed: Error | null = null;
  consumer.on(consumer.events.CRASH, (event) => {
    crashed = event.payload.error;
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
        received.push({
          partition,
          offset: Number(message.offset),
          key: message.key?.toString() ?? "",
          value: message.value?.toString() ?? "",
          valueBytes: message.value ?? Buffer.alloc(0),
          headers,
          timestamp: Number(message.timestamp),
        });
      },
    });
    await waitUntil(() => {
      if (crashed) throw crashed;
      return received.length >= count;
    }, timeoutMs, `${count} records (got ${received.length})`);
  } finally {
    await consumer.disconnect().catch(() => {});
  }
  return received;
}

function basicMessages(from: number, to: number) {
  const messages = [];
  for (let j = from; j < to; j++) {
    const record = basicRecord(j);
    messages.push({ key: record.key, value: record.value, headers: record.headers, timestamp: String(record.timestamp) });
  }
  return messages;
}

async function produceBasic(kafka: Kafka, topic: string, from: number, to: number, compression = CompressionTypes.None) {
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  for (let i = from; i < to; i += 100) await producer.send({ topic, messages: basicMessages(i, Math.min(i + 100, to)), acks: -1, compression });
  await producer.disconnect();
}

async function createTopic(kafka: Kafka, topic: string, partitions = PARTITIONS) {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  await admin.disconnect();
}

await main({
  async basic(bootstrap: string) {
    const kafka = connect(bootstrap);
    const topic = topicName("basic");
    await step("createTopics", () => createTopic(kafka, topic));
    await step("produce", () => produceBasic(kafka, topic, 0, BASIC_RECORDS));
    const received = await step("consume (group)", () => consume(kafka, topic, BASIC_RECORDS));
    await step("check", () => checkBasic(received));
  },

  async admin(bootstrap: string) {
    const kafka = connect(bootstrap);
    const admin = kafka.admin();
    await admin.connect();
    const topic = topicName("admin");
    await step("createTopics", () => admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true }));
    await step("listTopics", async () => {
      if (!(await admin.listTopics()).includes(topic)) throw new Error("created topic not listed");
    });
    await step("describeCluster", async () => {
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length !== 1 || cluster.controller === null || !cluster.clusterId) throw new Error(JSON.stringify(cluster));
    });
    await step("fetchTopicMetadata", async () => {
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      if (metadata.topics[0]!.partitions.length !== PARTITIONS) throw new Error(`${metadata.topics[0]!.partitions.length} partitions`);
    });
    await step("produce", () => produceBasic(kafka, topic, 0, 30));
    await step("fetchTopicOffsets", async () => {
      const offsets = await admin.fetchTopicOffsets(topic);
      const total = offsets.reduce((sum, p) => sum + Number(p.high), 0);
      if (total !== 30 || offsets.some((p) => Number(p.low) !== 0)) throw new Error(JSON.stringify(offsets));
    });
    await step("fetchTopicOffsetsByTimestamp", async () => {
      const offsets = await admin.fetchTopicOffsetsByTimestamp(topic, basicRecord(0).timestamp + 1_000_000);
      const total = offsets.reduce((sum, p) => sum + Number(p.offset), 0);
      if (total !== 30) throw new Error(`a timestamp after every record should give the end offsets, got ${JSON.stringify(offsets)}`);
    });
    await step("describeConfigs", () => admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }], includeSynonyms: false }));
    const groupId = topicName("admin-group");
    await step("setOffsets (a group with committed offsets only)", () => admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: "5" }, { partition: 1, offset: "7" }] }));
    await step("fetchOffsets", async () => {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const offsets = committed!.partitions.sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset));
      if (JSON.stringify(offsets) !== "[5,7,-1]") throw new Error(`committed offsets ${JSON.stringify(offsets)}, want [5,7,-1]`);
    });
    await step("listGroups", async () => {
      const { groups } = await admin.listGroups();
      if (!groups.some((g) => g.groupId === groupId)) throw new Error(`${groupId} not listed among ${groups.length} groups`);
    });
    await step("describeGroups", async () => {
      const { groups } = await admin.describeGroups([groupId]);
      if (groups[0]?.state !== "Empty" || groups[0].members.length !== 0) throw new Error(`state ${groups[0]?.state}, ${groups[0]?.members.length} members`);
    });
    await step("deleteGroups", () => admin.deleteGroups([groupId]));
    await step("listGroups after delete", async () => {
      const { groups } = await admin.listGroups();
      if (groups.some((g) => g.groupId === groupId)) throw new Error(`${groupId} still listed`);
    });
    await step("deleteTopics", () => admin.deleteTopics({ topics: [topic] }));
    await step("listTopics after delete", async () => {
      if ((await admin.listTopics()).includes(topic)) throw new Error("deleted topic still listed");
    });
    await admin.disconnect();
  },

  async group(bootstrap: string) {
    const kafka = connect(bootstrap);
    const topic = topicName("group");
    const groupId = topicName("group-id");
    await step("createTopics", () => createTopic(kafka, topic));
    await step("produce", () => produceBasic(kafka, topic, 0, 300));
    const seen = new Map<string, string>();
    const members: Consumer[] = [];
    let crashed: Error | null = null;
    for (const name of ["a", "b"]) {
      const consumer = kafka.consumer({ groupId, retry: { retries: 1 }, sessionTimeout: 10_000, heartbeatInterval: 500 });
      consumer.on(consumer.events.CRASH, (event) => (crashed = event.payload.error));
      await step(`member ${name} join`, async () => {
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({ eachMessage: async ({ message }) => void seen.set(message.key!.toString(), name) });
      });
      members.push(consumer);
    }
    await step("both members consume everything", () =>
      waitUntil(() => {
        if (crashed) throw crashed;
        return seen.size >= 300;
      }, 25_000, `300 records (got ${seen.size})`));
    await step("member b leaves", () => members[1]!.disconnect());
    await step("produce after leave", () => produceBasic(kafka, topic, 300, 400));
    await step("member a gets the rest", () => waitUntil(() => seen.size >= 400, 20_000, `400 records (got ${seen.size})`));
    await members[0]!.disconnect();
    await step("produce while the group is empty", () => produceBasic(kafka, topic, 400, 450));
    const resumed = await step("a new member resumes from the committed offsets", () => consume(kafka, topic, 50, { groupId }));
    const old = resumed.filter((r: Received) => Number(r.key.slice(4)) < 400);
    if (old.length > 0) throw new Error(`resumed member re-read ${old.length} committed records`);
  },

  async compression(bootstrap: string) {
    const kafka = connect(bootstrap);
    const failures: string[] = [];
    for (const [name, codec] of [["gzip", CompressionTypes.GZIP]] as const) {
      const topic = topicName(`compression-${name}`);
      try {
        await step("createTopics", () => createTopic(kafka, topic));
        await step("produce", () => produceBasic(kafka, topic, 0, 300, codec));
        checkBasic(await step("consume (group)", () => consume(kafka, topic, 300)), 300);
      } catch (error) {
        failures.push(`${name}: ${(error as Error).message}`);
      }
    }
    if (failures.length > 0) throw new Error(failures.join("; "));
    // snappy, lz4 and zstd need third-party codec packages registered by the application; kafkajs ships gzip only.
  },

  async large(bootstrap: string) {
    const kafka = connect(bootstrap);
    const topic = topicName("large");
    await step("createTopics", () => createTopic(kafka, topic, 1));
    const producer = kafka.producer();
    await producer.connect();
    await step("produce 900 KB", () => producer.send({ topic, messages: [{ value: largeValue() }], acks: -1 }));
    await step("produce 10,000 small", async () => {
      for (let i = 0; i < SMALL_RECORDS; i += 1000)
        await producer.send({ topic, acks: -1, messages: Array.from({ length: 1000 }, (_, j) => ({ value: `small-${i + j}` })) });
    });
    await producer.disconnect();
    for (const [label, maxBytes] of [["maxBytes 1 KiB", 1024], ["maxBytes 10 MiB", 10 << 20]] as const) {
      const received = await step(`consume ${label}`, () => consume(kafka, topic, SMALL_RECORDS + 1, { maxBytes }));
      await step(label, () => checkLarge(received, label));
    }
    void LARGE_BYTES;
  },

  async versions(bootstrap: string) {
    // kafkajs has no version setting: it negotiates from ApiVersions (v2, falling back to v1 and v0) and sends
    // min(its max, the broker's max) of each API. This checks that negotiation end to end.
    const kafka = connect(bootstrap);
    const topic = topicName("versions");
    await step("produce", () => produceBasic(kafka, topic, 0, 30));
    checkBasic(await step("consume (group)", () => consume(kafka, topic, 30)), 30);
  },

  async restart(bootstrap: string) {
    const kafka = connect(bootstrap);
    const topic = topicName("restart");
    await step("createTopics", () => createTopic(kafka, topic));
    const producer = kafka.producer({ retry: { retries: 10, initialRetryTime: 200 } });
    await producer.connect();
    const send = async (from: number, to: number) => {
      for (let i = from; i < to; i += 100) {
        const messages = Array.from({ length: 100 }, (_, j) => {
          const record = basicRecord(i + j);
          return { key: record.key, value: record.value, headers: record.headers, timestamp: String(record.timestamp) };
        });
        await producer.send({ topic, messages, acks: -1 });
      }
    };
    await step("produce before restart", () => send(0, 500));
    await askRestart();
    await step("produce after restart (same producer)", () => send(500, 1000));
    await producer.disconnect();
    const received = await step("consume (group)", () => consume(kafka, topic, 1000));
    await step("check", () => checkBasic(received, 1000));
  },
  async idempotent(bootstrap: string) {
    const kafka = connect(bootstrap);
    const topic = topicName("idempotent");
    await step("createTopics", () => createTopic(kafka, topic));
    // kafkajs requires maxInFlightRequests 1 with idempotence (it keeps no per-partition sequence window).
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await step("connect (InitProducerId)", () => producer.connect());
    await step("produce (idempotent)", async () => {
      for (let i = 0; i < IDEMPOTENT_RECORDS; i += IDEMPOTENT_BATCH) await producer.send({ topic, acks: -1, messages: basicMessages(i, i + IDEMPOTENT_BATCH) });
    });
    await producer.disconnect();
    const received = await step("consume (group, read_committed)", () => consume(kafka, topic, IDEMPOTENT_RECORDS));
    await step("check", () => {
      checkBasic(received, IDEMPOTENT_RECORDS);
      checkContiguous(received);
    });
  },

  async transactions(bootstrap: string) {
    const kafka = connect(bootstrap);
    const topic = topicName("txn");
    const input = topicName("txn-input");
    const groupId = topicName("txn-group");
    await step("createTopics", async () => {
      await createTopic(kafka, topic, TXN_PARTITIONS);
      await createTopic(kafka, input, 1);
    });
    await step("produce the input", () => produceBasic(kafka, input, 0, TXN_INPUT_RECORDS));
    const producer = kafka.producer({ transactionalId: topicName("txn-id"), idempotent: true, maxInFlightRequests: 1 });
    await step("connect (InitProducerId)", () => producer.connect());
    for (const [name, commit] of TRANSACTIONS as [string, boolean][]) {
      await step(`transaction ${name} (${commit ? "commit" : "abort"})`, async () => {
        const transaction = await producer.transaction();
        for (let partition = 0; partition < TXN_PARTITIONS; partition++) {
          const messages = [];
          for (let i = partition; i < TXN_RECORDS; i += TXN_PARTITIONS) messages.push({ partition, value: txnValue(name, i) });
          await transaction.send({ topic, acks: -1, messages });
        }
        const offset = name === "a" ? TXN_COMMITTED_OFFSET : name === "b" ? TXN_ABORTED_OFFSET : null;
        if (offset !== null) await transaction.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: input, partitions: [{ partition: 0, offset: String(offset) }] }] });
        if (commit) await transaction.commit();
        else await transaction.abort();
      });
    }
    await producer.disconnect();
    const committedCount = TRANSACTIONS.filter(([, commit]) => commit).length * TXN_RECORDS;
    const committed = await step("consume (group, read_committed)", () => consume(kafka, topic, committedCount));
    await step("check read_committed", () => checkTransactions(committed, { committedOnly: true }));
    const everything = await step("consume (group, read_uncommitted)", () => consume(kafka, topic, TRANSACTIONS.length * TXN_RECORDS, { readUncommitted: true }));
    await step("check read_uncommitted", () => checkTransactions(everything, { committedOnly: false }));
    await step("group offset committed in the transaction", async () => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const [offsets] = await admin.fetchOffsets({ groupId, topics: [input] });
        const offset = Number(offsets!.partitions.find((p) => p.partition === 0)?.offset);
        if (offset !== TXN_COMMITTED_OFFSET) throw new Error(`the group's offset is ${offset}, want ${TXN_COMMITTED_OFFSET} (sent in transaction a; b's ${TXN_ABORTED_OFFSET} was aborted)`);
      } finally {
        await admin.disconnect();
      }
    });
  },

  async uplink(bootstrap: string, central: string) {
    const topic = topicName("uplink");
    await step("createTopics (edge)", () => createTopic(connect(bootstrap), topic));
    await step("produce (edge)", () => produceBasic(connect(bootstrap), topic, 0, UPLINK_RECORDS));
    const received = await step("consume (group, central)", () => consume(connect(central), topic, UPLINK_RECORDS, { timeoutMs: UPLINK_TIMEOUT_MS }));
    await step("check", () => checkBasic(received, UPLINK_RECORDS));
  },
});
