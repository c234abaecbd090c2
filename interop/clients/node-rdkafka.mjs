// node-rdkafka 3.x scenarios, built against Debian's librdkafka 2.0.2 (interop/install.sh). Runs under Node.js: the
// addon is a NAN/V8 module, which Bun cannot load. Its AdminClient has createTopic/deleteTopic/createPartitions only;
// metadata and offsets come from the producer and consumer objects.

import { createRequire } from "node:module";
import {
  BASIC_RECORDS, IDEMPOTENT_BATCH, IDEMPOTENT_RECORDS, PARTITIONS, SMALL_RECORDS, TRANSACTIONS, TXN_ABORTED_OFFSET, TXN_COMMITTED_OFFSET, TXN_INPUT_RECORDS,
  TXN_PARTITIONS, TXN_RECORDS, UPLINK_RECORDS, UPLINK_TIMEOUT_MS, askRestart, basicRecord, checkBasic, checkContiguous, checkLarge, checkTransactions, largeValue, main, step, topicName,
  txnValue, waitUntil,
} from "./common.mjs";

const Kafka = createRequire(import.meta.url)("../node_modules/node-rdkafka");
const QUIET = { log_level: 3 };

function promisify(fn) {
  return new Promise((resolve, reject) => fn((error, value) => (error ? reject(error) : resolve(value))));
}

async function producerFor(bootstrap, extra = {}) {
  const producer = new Kafka.HighLevelProducer({ "metadata.broker.list": bootstrap, acks: -1, ...QUIET, ...extra });
  await promisify((cb) => producer.connect({}, cb));
  return producer;
}

/** Sends basicRecord(from..to) and waits for every delivery report. */
function sendBasic(producer, topic, from, to) {
  const sends = [];
  for (let i = from; i < to; i++) {
    const r = basicRecord(i);
    const headers = Object.entries(r.headers).map(([k, v]) => ({ [k]: v }));
    sends.push(promisify((cb) => producer.produce(topic, null, Buffer.from(r.value), r.key, r.timestamp, headers, cb)));
  }
  return Promise.all(sends);
}

async function produceBasic(bootstrap, topic, from, to, extra = {}) {
  const producer = await producerFor(bootstrap, extra);
  try {
    await sendBasic(producer, topic, from, to);
  } finally {
    await promisify((cb) => producer.disconnect(cb));
  }
}

async function consumeAssigned(bootstrap, topic, count, { partitions = PARTITIONS, extra = {}, timeoutMs = 20_000 } = {}) {
  const consumer = new Kafka.KafkaConsumer({ "metadata.broker.list": bootstrap, "group.id": "interop-unused", "enable.auto.commit": false, ...QUIET, ...extra }, {});
  await promisify((cb) => consumer.connect({}, cb));
  consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: Kafka.CODES.RES_BEGINNING ?? -2 })));
  const received = [];
  try {
    const deadline = Date.now() + timeoutMs;
    while (received.length < count) {
      if (Date.now() > deadline) throw new Error(`received ${received.length} of ${count} records within ${timeoutMs} ms`);
      const messages = await promisify((cb) => consumer.consume(1000, cb));
      for (const m of messages) {
        const headers = {};
        for (const h of m.headers ?? []) for (const [k, v] of Object.entries(h)) headers[k] = v.toString();
        received.push({ partition: m.partition, offset: m.offset, key: m.key?.toString(), value: m.value?.toString(), valueBytes: m.value, headers, timestamp: m.timestamp });
      }
    }
  } finally {
    await promisify((cb) => consumer.disconnect(cb));
  }
  return received;
}

async function createTopic(bootstrap, topic, partitions = PARTITIONS) {
  const admin = Kafka.AdminClient.create({ "metadata.broker.list": bootstrap, ...QUIET });
  try {
    await promisify((cb) => admin.createTopic({ topic, num_partitions: partitions, replication_factor: 1 }, 10_000, cb));
  } finally {
    admin.disconnect();
  }
}

await main({
  async basic(bootstrap) {
    const topic = topicName("basic");
    await step("createTopic", () => createTopic(bootstrap, topic));
    await step("produce", () => produceBasic(bootstrap, topic, 0, BASIC_RECORDS));
    const received = await step("consume (assign)", () => consumeAssigned(bootstrap, topic, BASIC_RECORDS));
    await step("check", () => checkBasic(received));
  },

  async admin(bootstrap) {
    const topic = topicName("admin");
    await step("createTopic", () => createTopic(bootstrap, topic));
    const producer = await producerFor(bootstrap);
    try {
      await step("getMetadata", async () => {
        const metadata = await promisify((cb) => producer.getMetadata({ topic, timeout: 10_000 }, cb));
        const entry = metadata.topics.find((t) => t.name === topic);
        if (!entry || entry.partitions.length !== PARTITIONS || metadata.brokers.length !== 1) throw new Error("created topic missing or wrong partition/broker count");
      });
    } finally {
      await promisify((cb) => producer.disconnect(cb));
    }
    await step("produce", () => produceBasic(bootstrap, topic, 0, 30));
    const consumer = new Kafka.KafkaConsumer({ "metadata.broker.list": bootstrap, "group.id": "interop-unused", ...QUIET }, {});
    await promisify((cb) => consumer.connect({}, cb));
    try {
      await step("queryWatermarkOffsets", async () => {
        let total = 0;
        for (let p = 0; p < PARTITIONS; p++) {
          const marks = await promisify((cb) => consumer.queryWatermarkOffsets(topic, p, 10_000, cb));
          if (marks.lowOffset !== 0) throw new Error(`partition ${p}: low ${marks.lowOffset}`);
          total += marks.highOffset;
        }
        if (total !== 30) throw new Error(`high watermarks sum to ${total}, want 30`);
      });
      await step("offsetsForTimes", async () => {
        const found = await promisify((cb) =>
          consumer.offsetsForTimes(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition, offset: basicRecord(0).timestamp })), 10_000, cb));
        if (found.some((tp) => tp.offset !== 0)) throw new Error(`the first timestamp should give offset 0 everywhere, got ${JSON.stringify(found)}`);
      });
    } finally {
      await promisify((cb) => consumer.disconnect(cb));
    }
    const admin = Kafka.AdminClient.create({ "metadata.broker.list": bootstrap, ...QUIET });
    await step("deleteTopic", () => promisify((cb) => admin.deleteTopic(topic, 10_000, cb)));
    admin.disconnect();
  },

  async group(bootstrap) {
    const topic = topicName("group");
    const groupId = topicName("group-id");
    await step("createTopic", () => createTopic(bootstrap, topic));
    await step("produce", () => produceBasic(bootstrap, topic, 0, 300));
    const seen = new Map();
    const member = async (name) => {
      const consumer = new Kafka.KafkaConsumer(
        { "metadata.broker.list": bootstrap, "group.id": groupId, "auto.commit.interval.ms": 100, "session.timeout.ms": 6000, "heartbeat.interval.ms": 500, ...QUIET },
        { "auto.offset.reset": "earliest" },
      );
      await promisify((cb) => consumer.connect({}, cb));
      consumer.subscribe([topic]);
      consumer.on("data", (m) => seen.set(m.key.toString(), name));
      consumer.consume();
      return consumer;
    };
    const a = await member("a");
    const b = await member("b");
    await step("two members consume everything", () => waitUntil(() => seen.size >= 300, 25_000, `300 records (got ${seen.size})`));
    await step("members share the partitions", () => {
      if (new Set(seen.values()).size !== 2) throw new Error(`only member(s) ${[...new Set(seen.values())]} received records`);
    });
    await step("member b leaves", () => promisify((cb) => b.disconnect(cb)));
    await step("produce after leave", () => produceBasic(bootstrap, topic, 300, 400));
    await step("member a gets the rest", () => waitUntil(() => seen.size >= 400, 20_000, `400 records (got ${seen.size})`));
    await promisify((cb) => a.disconnect(cb));
    await step("produce while the group is empty", () => produceBasic(bootstrap, topic, 400, 450));
    seen.clear();
    const c = await member("c");
    await step("a new member resumes from the committed offsets", () => waitUntil(() => seen.size >= 50, 20_000, `50 records (got ${seen.size})`));
    await new Promise((resolve) => setTimeout(resolve, 500));
    await promisify((cb) => c.disconnect(cb));
    const old = [...seen.keys()].filter((key) => Number(key.slice(4)) < 400);
    if (old.length > 0) throw new Error(`resumed member re-read ${old.length} committed records`);
  },

  async compression(bootstrap) {
    const failures = [];
    for (const codec of ["gzip", "snappy", "lz4", "zstd"]) {
      const topic = topicName(`compression-${codec}`);
      try {
        await step("createTopic", () => createTopic(bootstrap, topic));
        await step("produce", () => produceBasic(bootstrap, topic, 0, 300, { "compression.codec": codec }));
        checkBasic(await step("consume", () => consumeAssigned(bootstrap, topic, 300)), 300);
      } catch (error) {
        failures.push(`${codec}: ${error.message}`);
      }
    }
    if (failures.length > 0) throw new Error(failures.join("; "));
  },

  async large(bootstrap) {
    const topic = topicName("large");
    await step("createTopic", () => createTopic(bootstrap, topic, 1));
    const producer = await producerFor(bootstrap);
    await step("produce", async () => {
      await promisify((cb) => producer.produce(topic, 0, largeValue(), null, null, cb));
      const sends = [];
      for (let i = 0; i < SMALL_RECORDS; i++) sends.push(promisify((cb) => producer.produce(topic, 0, Buffer.from(`small-${i}`), null, null, cb)));
      await Promise.all(sends);
    });
    await promisify((cb) => producer.disconnect(cb));
    for (const [label, extra] of [
      ["fetch.message.max.bytes=1024", { "fetch.message.max.bytes": 1024, "fetch.max.bytes": 1024, "message.max.bytes": 1000 }],
      ["fetch.max.bytes=50 MB", { "fetch.message.max.bytes": 10_000_000, "fetch.max.bytes": 50_000_000, "receive.message.max.bytes": 60_000_000 }],
    ]) {
      const received = await step(`consume ${label}`, () => consumeAssigned(bootstrap, topic, SMALL_RECORDS + 1, { partitions: 1, extra, timeoutMs: 25_000 }));
      await step(label, () => checkLarge(received, label));
    }
  },

  async versions(bootstrap) {
    const variants = [
      ["default", {}],
      ["broker.version.fallback=0.11.0", { "api.version.request": false, "broker.version.fallback": "0.11.0" }],
      ["broker.version.fallback=0.10.0", { "api.version.request": false, "broker.version.fallback": "0.10.0" }],
      ["broker.version.fallback=0.9.0", { "api.version.request": false, "broker.version.fallback": "0.9.0" }],
    ];
    const failures = [];
    for (const [label, extra] of variants) {
      const topic = topicName("versions");
      try {
        await step("produce", () => produceBasic(bootstrap, topic, 0, 30, extra));
        const received = await step("consume", () => consumeAssigned(bootstrap, topic, 30, { extra }));
        const legacy = label.includes("0.9") || label.includes("0.10");
        checkBasic(received, 30, { headers: !legacy, timestamps: !label.includes("0.9") });
      } catch (error) {
        failures.push(`${label}: ${error.message}`);
      }
    }
    if (failures.length > 0) throw new Error(failures.join("; "));
  },

  async restart(bootstrap) {
    const topic = topicName("restart");
    await step("createTopic", () => createTopic(bootstrap, topic));
    const producer = await producerFor(bootstrap, { "message.timeout.ms": 20_000 });
    const send = (from, to) => {
      const sends = [];
      for (let i = from; i < to; i++) {
        const r = basicRecord(i);
        sends.push(promisify((cb) => producer.produce(topic, null, Buffer.from(r.value), r.key, r.timestamp, Object.entries(r.headers).map(([k, v]) => ({ [k]: v })), cb)));
      }
      return Promise.all(sends);
    };
    const consumer = new Kafka.KafkaConsumer({ "metadata.broker.list": bootstrap, "group.id": "interop-unused", "enable.auto.commit": false, ...QUIET }, {});
    await promisify((cb) => consumer.connect({}, cb));
    consumer.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition, offset: -2 })));
    const received = [];
    const poll = async () => {
      for (const m of await promisify((cb) => consumer.consume(1000, cb))) {
        const headers = {};
        for (const h of m.headers ?? []) for (const [k, v] of Object.entries(h)) headers[k] = v.toString();
        received.push({ partition: m.partition, offset: m.offset, key: m.key.toString(), value: m.value.toString(), headers, timestamp: m.timestamp });
      }
      return false;
    };
    await step("produce before restart", () => send(0, 500));
    await step("consume before restart", () => waitUntil(async () => (await poll()) || received.length >= 500, 15_000, `500 records (got ${received.length})`));
    await askRestart();
    await step("the same producer after restart", () => send(500, 1000));
    await step("the same consumer after restart", () => waitUntil(async () => (await poll()) || received.length >= 1000, 20_000, `1000 records (got ${received.length})`));
    await promisify((cb) => consumer.disconnect(cb));
    await promisify((cb) => producer.disconnect(cb));
    await step("check", () => checkBasic(received, 1000));
  },
  async idempotent(bootstrap) {
    const topic = topicName("idempotent");
    await step("createTopic", () => createTopic(bootstrap, topic));
    const producer = await producerFor(bootstrap, { "enable.idempotence": true });
    try {
      await step("produce (enable.idempotence)", async () => {
        for (let i = 0; i < IDEMPOTENT_RECORDS; i += IDEMPOTENT_BATCH) await sendBasic(producer, topic, i, i + IDEMPOTENT_BATCH);
      });
    } finally {
      await promisify((cb) => producer.disconnect(cb));
    }
    const received = await step("consume (assign, read_committed)", () => consumeAssigned(bootstrap, topic, IDEMPOTENT_RECORDS, { extra: { "isolation.level": "read_committed" } }));
    await step("check", () => {
      checkBasic(received, IDEMPOTENT_RECORDS);
      checkContiguous(received);
    });
  },

  async transactions(bootstrap) {
    const topic = topicName("txn");
    const input = topicName("txn-input");
    const groupId = topicName("txn-group");
    await step("createTopic", async () => {
      await createTopic(bootstrap, topic, TXN_PARTITIONS);
      await createTopic(bootstrap, input, 1);
    });
    await step("produce the input", () => produceBasic(bootstrap, input, 0, TXN_INPUT_RECORDS));
    const producer = await producerFor(bootstrap, { "transactional.id": topicName("txn-id"), "transaction.timeout.ms": 30_000 });
    // sendOffsetsToTransaction takes the group from a consumer's group metadata (group.id; no membership needed).
    const groupConsumer = new Kafka.KafkaConsumer({ "metadata.broker.list": bootstrap, "group.id": groupId, "enable.auto.commit": false, ...QUIET }, {});
    await promisify((cb) => groupConsumer.connect({}, cb));
    try {
      await step("initTransactions", () => promisify((cb) => producer.initTransactions(10_000, cb)));
      for (const [name, commit] of TRANSACTIONS) {
        await step(`transaction ${name} (${commit ? "commit" : "abort"})`, async () => {
          await promisify((cb) => producer.beginTransaction(cb));
          // Waiting for every delivery report also flushes before an abort: librdkafka's abortTransaction purges
          // what is still queued, and the aborted records must reach the gateway for the check to mean anything.
          const sends = [];
          for (let i = 0; i < TXN_RECORDS; i++) sends.push(promisify((cb) => producer.produce(topic, i % TXN_PARTITIONS, Buffer.from(txnValue(name, i)), null, null, cb)));
          await Promise.all(sends);
          const offset = name === "a" ? TXN_COMMITTED_OFFSET : name === "b" ? TXN_ABORTED_OFFSET : null;
          if (offset !== null) await promisify((cb) => producer.sendOffsetsToTransaction([{ topic: input, partition: 0, offset }], groupConsumer, 10_000, cb));
          if (commit) await promisify((cb) => producer.commitTransaction(10_000, cb));
          else await promisify((cb) => producer.abortTransaction(10_000, cb));
        });
      }
      await step("group offset committed in the transaction", async () => {
        const [committed] = await promisify((cb) => groupConsumer.committed([{ topic: input, partition: 0 }], 10_000, cb));
        if (committed?.offset !== TXN_COMMITTED_OFFSET) throw new Error(`the group's offset is ${committed?.offset}, want ${TXN_COMMITTED_OFFSET} (sent in transaction a; b's ${TXN_ABORTED_OFFSET} was aborted)`);
      });
    } finally {
      await promisify((cb) => groupConsumer.disconnect(cb));
      await promisify((cb) => producer.disconnect(cb));
    }
    const committedCount = TRANSACTIONS.filter(([, commit]) => commit).length * TXN_RECORDS;
    const committed = await step("consume read_committed", () => consumeAssigned(bootstrap, topic, committedCount, { partitions: TXN_PARTITIONS, extra: { "isolation.level": "read_committed" } }));
    await step("check read_committed", () => checkTransactions(committed, { committedOnly: true }));
    const everything = await step("consume read_uncommitted", () => consumeAssigned(bootstrap, topic, TRANSACTIONS.length * TXN_RECORDS, { partitions: TXN_PARTITIONS, extra: { "isolation.level": "read_uncommitted" } }));
    await step("check read_uncommitted", () => checkTransactions(everything, { committedOnly: false }));
  },

  async uplink(bootstrap, central) {
    const topic = topicName("uplink");
    await step("createTopic (edge)", () => createTopic(bootstrap, topic));
    await step("produce (edge)", () => produceBasic(bootstrap, topic, 0, UPLINK_RECORDS));
    const received = await step("consume (assign, central)", () => consumeAssigned(central, topic, UPLINK_RECORDS, { timeoutMs: UPLINK_TIMEOUT_MS }));
    await step("check", () => checkBasic(received, UPLINK_RECORDS));
  },
});
