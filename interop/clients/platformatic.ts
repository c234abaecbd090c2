// @platformatic/kafka 2.x scenarios. Reading back uses the consumer's public fetch() (assign-style, by topic id)
// except in the group scenario, which uses consume() with a group.

import { Admin, Consumer, Producer, stringDeserializers, stringSerializers } from "@platformatic/kafka";
import {
  BASIC_RECORDS, IDEMPOTENT_BATCH, IDEMPOTENT_RECORDS, PARTITIONS, SMALL_RECORDS, TRANSACTIONS, TXN_ABORTED_OFFSET, TXN_COMMITTED_OFFSET, TXN_INPUT_RECORDS,
  TXN_PARTITIONS, TXN_RECORDS, UPLINK_RECORDS, UPLINK_TIMEOUT_MS, askRestart, basicRecord, checkBasic, checkContiguous, checkLarge, checkTransactions, largeValue, main, step, topicName,
  txnValue, waitUntil,
} from "./common.mjs";

type Codec = "none" | "gzip" | "snappy" | "lz4" | "zstd";

function producerFor(bootstrap: string, compression: Codec = "none", extra: { idempotent?: boolean; transactionalId?: string } = {}) {
  return new Producer({ clientId: "interop-platformatic", bootstrapBrokers: [bootstrap], serializers: stringSerializers, compression, retries: 5, retryDelay: 200, ...extra });
}

function basicMessages(topic: string, from: number, to: number) {
  const messages = [];
  for (let j = from; j < to; j++) {
    const record = basicRecord(j);
    messages.push({ topic, key: record.key, value: record.value, headers: new Map(Object.entries(record.headers)), timestamp: BigInt(record.timestamp) });
  }
  return messages;
}

async function produceBasic(bootstrap: string, topic: string, from: number, to: number, compression: Codec = "none") {
  const producer = producerFor(bootstrap, compression);
  try {
    for (let i = from; i < to; i += 100) {
      const messages = [];
      for (let j = i; j < Math.min(i + 100, to); j++) {
        const record = basicRecord(j);
        messages.push({ topic, key: record.key, value: record.value, headers: new Map(Object.entries(record.headers)), timestamp: BigInt(record.timestamp) });
      }
      await producer.send({ messages, acks: -1 });
    }
  } finally {
    await producer.close();
  }
}

interface Received {
  partition: number;
  offset: number;
  key: string;
  value: string;
  valueBytes?: Buffer;
  headers: Record<string, string>;
  timestamp: number;
}

/**
 * Reads every partition of `topic` from offset 0 with Fetch until `count` records came back. The client's fetch()
 * drops aborted transactions' batches itself at read_committed (1, its default); control batches (commit/abort
 * markers) are skipped here, past their offsets.
 */
async function fetchAll(bootstrap: string, topic: string, count: number, { maxBytes = 1 << 20, timeoutMs = 20_000, isolationLevel = 1 } = {}) {
  const consumer = new Consumer({ clientId: "interop-platformatic", groupId: "interop-unused", bootstrapBrokers: [bootstrap], deserializers: stringDeserializers });
  const received: Received[] = [];
  try {
    const metadata = await consumer.metadata({ topics: [topic] });
    const topicMetadata = metadata.topics.get(topic)!;
    const partitions = topicMetadata.partitionsCount;
    const next = Array.from({ length: partitions }, () => 0n);
    const deadline = Date.now() + timeoutMs;
    while (received.length < count) {
      if (Date.now() > deadline) throw new Error(`received ${received.length} of ${count} records within ${timeoutMs} ms`);
      const response = await consumer.fetch({
        node: topicMetadata.partitions[0]!.leader,
        maxWaitTime: 200,
        minBytes: 1,
        maxBytes,
        isolationLevel,
        topics: [{
          topicId: topicMetadata.id,
          partitions: next.map((fetchOffset, partition) => ({ partition, fetchOffset, partitionMaxBytes: maxBytes, currentLeaderEpoch: -1, lastFetchedEpoch: -1 })),
        }],
      });
      if (response.responses.length === 0) throw new Error(`the fetch response has no topic (topic id ${topicMetadata.id} unknown?)`);
      for (const data of response.responses[0]!.partitions) {
        if (data.errorCode !== 0) throw new Error(`partition ${data.partitionIndex}: error ${data.errorCode}`);
        for (const batch of data.records ?? []) {
          const control = (batch.attributes & 0x20) !== 0;
          for (const record of batch.records) {
            const offset = batch.firstOffset + BigInt(record.offsetDelta);
            if (offset < next[data.partitionIndex]!) continue;
            next[data.partitionIndex] = offset + 1n;
            if (control) continue;
            const headers: Record<string, string> = {};
            for (const [name, value] of record.headers) headers[name!.toString()] = value!.toString();
            received.push({
              partition: data.partitionIndex,
              offset: Number(offset),
              key: record.key?.toString() ?? "",
              value: record.value?.toString() ?? "",
              valueBytes: record.value ? Buffer.from(record.value) : undefined,
              headers,
              timestamp: Number(batch.firstTimestamp + record.timestampDelta),
            });
          }
        }
      }
    }
  } finally {
    await consumer.close(true);
  }
  return received;
}

function adminFor(bootstrap: string) {
  return new Admin({ clientId: "interop-platformatic", bootstrapBrokers: [bootstrap] });
}

async function createTopic(bootstrap: string, topic: string, partitions = PARTITIONS) {
  const admin = adminFor(bootstrap);
  try {
    await admin.createTopics({ topics: [topic], partitions, replicas: 1 });
  } finally {
    await admin.close();
  }
}

await main({
  async basic(bootstrap: string) {
    const topic = topicName("basic");
    await step("createTopics", () => createTopic(bootstrap, topic));
    await step("produce", () => produceBasic(bootstrap, topic, 0, BASIC_RECORDS));
    const received = await step("fetch", () => fetchAll(bootstrap, topic, BASIC_RECORDS));
    await step("check", () => checkBasic(received));
  },

  async admin(bootstrap: string) {
    const admin = adminFor(bootstrap);
    const topic = topicName("admin");
    try {
      await step("createTopics", () => admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: 1 }));
      await step("listTopics", async () => {
        if (!(await admin.listTopics()).includes(topic)) throw new Error("created topic not listed");
      });
      await step("metadata", async () => {
        const metadata = await admin.metadata({ topics: [topic] });
        if (metadata.topics.get(topic)!.partitionsCount !== PARTITIONS || metadata.brokers.size !== 1) throw new Error("wrong partition or broker count");
      });
      await step("produce", () => produceBasic(bootstrap, topic, 0, 30));
      const offsets = async (timestamp: bigint) => {
        const listed = await admin.listOffsets({ topics: [{ name: topic, partitions: [0, 1, 2].map((partitionIndex) => ({ partitionIndex, timestamp })) }] } as any);
        return listed[0]!.partitions.map((p) => Number(p.offset));
      };
      await step("listOffsets latest", async () => {
        const latest = await offsets(-1n);
        if (latest.reduce((a, b) => a + b, 0) !== 30) throw new Error(JSON.stringify(latest));
      });
      await step("listOffsets earliest", async () => {
        const earliest = await offsets(-2n);
        if (earliest.some((o) => o !== 0)) throw new Error(JSON.stringify(earliest));
      });
      await step("listOffsets by time", async () => {
        const byTime = await offsets(BigInt(basicRecord(0).timestamp));
        if (byTime.some((o) => o !== 0)) throw new Error(`the first timestamp should give offset 0 everywhere, got ${JSON.stringify(byTime)}`);
      });
      await step("describeConfigs", () => admin.describeConfigs({ resources: [{ resourceType: 2, resourceName: topic }] }));
      await step("listGroups", () => admin.listGroups());
      await step("deleteTopics", () => admin.deleteTopics({ topics: [topic] }));
      await step("listTopics after delete", async () => {
        if ((await admin.listTopics()).includes(topic)) throw new Error("deleted topic still listed");
      });
    } finally {
      await admin.close();
    }
  },

  async group(bootstrap: string) {
    const topic = topicName("group");
    const groupId = topicName("group-id");
    await step("createTopics", () => createTopic(bootstrap, topic));
    await step("produce", () => produceBasic(bootstrap, topic, 0, 300));
    const seen = new Map<string, string>();
    const member = async (name: string, mode: "earliest" | "committed") => {
      const consumer = new Consumer({
        clientId: `interop-platformatic-${name}`, groupId, bootstrapBrokers: [bootstrap], deserializers: stringDeserializers, sessionTimeout: 10_000, heartbeatInterval: 500, retries: 1,
      });
      const stream = await consumer.consume({ topics: [topic], mode: mode as any, fallbackMode: "earliest" as any, autocommit: 100, maxWaitTime: 200 });
      stream.on("data", (message: any) => void seen.set(message.key, name));
      return { consumer, stream };
    };
    const a = await step("member a joins", () => member("a", "committed"));
    const b = await step("member b joins", () => member("b", "committed"));
    await step("both members consume everything", () => waitUntil(() => seen.size >= 300, 20_000, `300 records (got ${seen.size})`));
    await step("member b leaves", async () => {
      await b.stream.close();
      await b.consumer.close();
    });
    await step("produce after leave", () => produceBasic(bootstrap, topic, 300, 400));
    await step("member a gets the rest", () => waitUntil(() => seen.size >= 400, 20_000, `400 records (got ${seen.size})`));
    await a.stream.close();
    await a.consumer.close();
    await step("produce while the group is empty", () => produceBasic(bootstrap, topic, 400, 450));
    seen.clear();
    const c = await step("a new member resumes from the committed offsets", () => member("c", "committed"));
    await step("new member reads the 50 new records", () => waitUntil(() => seen.size >= 50, 20_000, `50 records (got ${seen.size})`));
    await Bun.sleep(500);
    await c.stream.close();
    await c.consumer.close();
    const old = [...seen.keys()].filter((key) => Number(key.slice(4)) < 400);
    if (old.length > 0) throw new Error(`resumed member re-read ${old.length} committed records`);
  },

  async compression(bootstrap: string) {
    const failures: string[] = [];
    for (const codec of ["gzip", "snappy", "lz4", "zstd"] as const) {
      const topic = topicName(`compression-${codec}`);
      try {
        await step("createTopics", () => createTopic(bootstrap, topic));
        await step("produce", () => produceBasic(bootstrap, topic, 0, 300, codec));
        checkBasic(await step("fetch", () => fetchAll(bootstrap, topic, 300)), 300);
      } catch (error) {
        failures.push(`${codec}: ${(error as Error).message}`);
      }
    }
    if (failures.length > 0) throw new Error(failures.join("; "));
  },

  async large(bootstrap: string) {
    const topic = topicName("large");
    await step("createTopics", () => createTopic(bootstrap, topic, 1));
    const producer = new Producer({ clientId: "interop-platformatic", bootstrapBrokers: [bootstrap] });
    try {
      await step("produce 900 KB", () => producer.send({ messages: [{ topic, partition: 0, value: largeValue() }], acks: -1 }));
      await step("produce 10,000 small", async () => {
        for (let i = 0; i < SMALL_RECORDS; i += 1000)
          await producer.send({ acks: -1, messages: Array.from({ length: 1000 }, (_, j) => ({ topic, partition: 0, value: Buffer.from(`small-${i + j}`) })) });
      });
    } finally {
      await producer.close();
    }
    for (const [label, maxBytes] of [["maxBytes 1 KiB", 1024], ["maxBytes 10 MiB", 10 << 20]] as const) {
      const received = await step(`fetch ${label}`, () => fetchAll(bootstrap, topic, SMALL_RECORDS + 1, { maxBytes, timeoutMs: 25_000 }));
      await step(label, () => checkLarge(received, label));
    }
  },

  async versions(bootstrap: string) {
    // platformatic has no version setting: it negotiates from ApiVersions (v4 first) and uses the highest version
    // both sides support, so this runs its newest protocol end to end.
    const topic = topicName("versions");
    await step("createTopics", () => createTopic(bootstrap, topic));
    await step("produce", () => produceBasic(bootstrap, topic, 0, 30));
    checkBasic(await step("fetch", () => fetchAll(bootstrap, topic, 30)), 30);
  },

  async restart(bootstrap: string) {
    const topic = topicName("restart");
    await step("createTopics", () => createTopic(bootstrap, topic));
    const producer = producerFor(bootstrap);
    const send = async (from: number, to: number) => {
      for (let i = from; i < to; i += 100) {
        const messages = Array.from({ length: 100 }, (_, j) => {
          const record = basicRecord(i + j);
          return { topic, key: record.key, value: record.value, headers: new Map(Object.entries(record.headers)), timestamp: BigInt(record.timestamp) };
        });
        await producer.send({ messages, acks: -1 });
      }
    };
    await step("produce before restart", () => send(0, 500));
    await askRestart();
    await step("produce after restart (same producer)", () => send(500, 1000));
    await producer.close();
    const received = await step("fetch", () => fetchAll(bootstrap, topic, 1000, { timeoutMs: 10_000 }));
    await step("check", () => checkBasic(received, 1000));
  },
  async idempotent(bootstrap: string) {
    const topic = topicName("idempotent");
    await step("createTopics", () => createTopic(bootstrap, topic));
    const producer = producerFor(bootstrap, "none", { idempotent: true });
    try {
      await step("produce (idempotent)", async () => {
        for (let i = 0; i < IDEMPOTENT_RECORDS; i += IDEMPOTENT_BATCH) await producer.send({ messages: basicMessages(topic, i, i + IDEMPOTENT_BATCH), acks: -1 });
      });
    } finally {
      await producer.close();
    }
    const received = await step("fetch (read_committed)", () => fetchAll(bootstrap, topic, IDEMPOTENT_RECORDS));
    await step("check", () => {
      checkBasic(received, IDEMPOTENT_RECORDS);
      checkContiguous(received);
    });
  },

  async transactions(bootstrap: string) {
    // Consume-transform-produce: a group member reads the input topic, and transactions a and b add the offset of
    // one of its messages (addConsumer + addOffset = AddOffsetsToTxn + TxnOffsetCommit with its generation).
    const topic = topicName("txn");
    const input = topicName("txn-input");
    const groupId = topicName("txn-group");
    await step("createTopics", async () => {
      await createTopic(bootstrap, topic, TXN_PARTITIONS);
      await createTopic(bootstrap, input, 1);
    });
    await step("produce the input", () => produceBasic(bootstrap, input, 0, TXN_INPUT_RECORDS));
    const consumer = new Consumer({
      clientId: "interop-platformatic-txn", groupId, bootstrapBrokers: [bootstrap], deserializers: stringDeserializers, sessionTimeout: 10_000, heartbeatInterval: 500, retries: 1,
    });
    const producer = producerFor(bootstrap, "none", { idempotent: true, transactionalId: topicName("txn-id") });
    try {
      const inputMessages: any[] = [];
      const stream = await step("consume the input (group member)", () => consumer.consume({ topics: [input], mode: "earliest" as any, autocommit: false, maxWaitTime: 200 }));
      stream.on("data", (message: any) => void inputMessages.push(message));
      await step("input read", () => waitUntil(() => inputMessages.length >= TXN_INPUT_RECORDS, 20_000, `${TXN_INPUT_RECORDS} input records (got ${inputMessages.length})`));
      for (const [name, commit] of TRANSACTIONS as [string, boolean][]) {
        await step(`transaction ${name} (${commit ? "commit" : "abort"})`, async () => {
          const transaction = await producer.beginTransaction();
          for (let partition = 0; partition < TXN_PARTITIONS; partition++) {
            const messages = [];
            for (let i = partition; i < TXN_RECORDS; i += TXN_PARTITIONS) messages.push({ topic, partition, value: txnValue(name, i) });
            await transaction.send({ messages, acks: -1 });
          }
          const offset = name === "a" ? TXN_COMMITTED_OFFSET : name === "b" ? TXN_ABORTED_OFFSET : null;
          if (offset !== null) {
            // addOffset commits the message's offset + 1, the next one to read.
            await transaction.addConsumer(consumer);
            await transaction.addOffset(inputMessages.find((m) => m.offset === BigInt(offset - 1)));
          }
          if (commit) await transaction.commit();
          else await transaction.abort();
        });
      }
      await step("group offset committed in the transaction", async () => {
        const committed = await consumer.listCommittedOffsets({ topics: [{ topic: input, partitions: [0] }] });
        const offset = Number(committed.get(input)?.[0]);
        if (offset !== TXN_COMMITTED_OFFSET) throw new Error(`the group's offset is ${offset}, want ${TXN_COMMITTED_OFFSET} (sent in transaction a; b's ${TXN_ABORTED_OFFSET} was aborted)`);
      });
      await stream.close();
    } finally {
      await Promise.allSettled([producer.close(), consumer.close(true)]);
    }
    const committedCount = TRANSACTIONS.filter(([, commit]) => commit).length * TXN_RECORDS;
    const committed = await step("fetch read_committed", () => fetchAll(bootstrap, topic, committedCount, { isolationLevel: 1 }));
    await step("check read_committed", () => checkTransactions(committed, { committedOnly: true }));
    const everything = await step("fetch read_uncommitted", () => fetchAll(bootstrap, topic, TRANSACTIONS.length * TXN_RECORDS, { isolationLevel: 0 }));
    await step("check read_uncommitted", () => checkTransactions(everything, { committedOnly: false }));
  },

  async uplink(bootstrap: string, central: string) {
    const topic = topicName("uplink");
    await step("createTopics (edge)", () => createTopic(bootstrap, topic));
    await step("produce (edge)", () => produceBasic(bootstrap, topic, 0, UPLINK_RECORDS));
    // The uplink creates the topic on the central cluster once it sees it: until then metadata has no topic id.
    await step("topic on the central cluster", () => waitUntil(async () => {
      const admin = adminFor(central);
      try {
        const metadata = await admin.metadata({ topics: [topic] });
        return metadata.topics.get(topic)?.partitionsCount === PARTITIONS;
      } catch {
        return false;
      } finally {
        await admin.close();
      }
    }, UPLINK_TIMEOUT_MS, `${topic} on the central cluster`));
    const received = await step("fetch (central)", () => fetchAll(central, topic, UPLINK_RECORDS, { timeoutMs: UPLINK_TIMEOUT_MS }));
    await step("check", () => checkBasic(received, UPLINK_RECORDS));
  },
});
