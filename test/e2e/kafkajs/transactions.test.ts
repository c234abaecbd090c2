// kafkajs 2.2.4 idempotent and transactional producers against kgate: InitProducerId, AddPartitionsToTxn,
// AddOffsetsToTxn, TxnOffsetCommit, EndTxn, FindCoordinator(transaction), Fetch read_committed with aborted
// transactions, and fencing of a zombie producer.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Kafka, logLevel, type KafkaMessage } from "kafkajs";
import { startTestServer, waitFor, type TestServer } from "../../helpers/server.ts";

let server: TestServer;
let kafka: Kafka;

beforeAll(async () => {
  server = await startTestServer();
  server.broker.groups.settings.initialRebalanceDelayMs = 0;
  kafka = new Kafka({ clientId: "kgate-txn-e2e", brokers: [server.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
});
afterAll(async () => {
  await server[Symbol.asyncDispose]();
});

async function createTopic(topic: string, numPartitions = 1): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true });
  await admin.disconnect();
}

/** Everything a consumer group sees on `topic` from the beginning, until `expected` messages or `idleMs` of silence. */
async function consumeAll(topic: string, options: { readUncommitted: boolean; expected: number; idleMs?: number }): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({ groupId: `reader-${topic}-${options.readUncommitted}-${Math.random()}`, readUncommitted: options.readUncommitted, maxWaitTimeInMs: 100 });
  const seen: KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let lastAt = Date.now();
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen.push(message);
      lastAt = Date.now();
    },
  });
  await waitFor(() => seen.length >= options.expected && Date.now() - lastAt > (options.idleMs ?? 300), { timeoutMs: 20_000 }).catch(() => {});
  await consumer.disconnect();
  return seen;
}

const values = (messages: KafkaMessage[]) => messages.map((message) => message.value?.toString());

describe("kafkajs idempotent producer", () => {
  test("every record is stored once, in order, with contiguous offsets", async () => {
    const topic = "idempotent-once";
    await createTopic(topic);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let i = 0; i < 20; i++) {
      await producer.send({ topic, acks: -1, messages: Array.from({ length: 5 }, (_, j) => ({ value: `m${i * 5 + j}` })) });
    }
    await producer.disconnect();
    const seen = await consumeAll(topic, { readUncommitted: false, expected: 100 });
    expect(values(seen)).toEqual(Array.from({ length: 100 }, (_, i) => `m${i}`));
    expect(seen.map((message) => Number(message.offset))).toEqual(Array.from({ length: 100 }, (_, i) => i));
  }, 30_000);
});

describe("kafkajs transactions", () => {
  test("read_committed sees committed transactions only; read_uncommitted sees all", async () => {
    const topic = "txn-commit-abort";
    await createTopic(topic, 2);
    const producer = kafka.producer({ transactionalId: "txn-commit-abort", maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    const outcomes: [string, boolean][] = [["a", true], ["b", false], ["c", true]];
    for (const [name, commit] of outcomes) {
      const transaction = await producer.transaction();
      for (let partition = 0; partition < 2; partition++) {
        await transaction.send({ topic, messages: Array.from({ length: 5 }, (_, i) => ({ partition, value: `${name}${partition}-${i}` })) });
      }
      if (commit) await transaction.commit();
      else await transaction.abort();
    }
    await producer.disconnect();

    const committed = await consumeAll(topic, { readUncommitted: false, expected: 20 });
    const committedValues = values(committed).sort();
    expect(committedValues).toHaveLength(20);
    expect(committedValues.every((value) => value!.startsWith("a") || value!.startsWith("c"))).toBe(true);
    const everything = await consumeAll(topic, { readUncommitted: true, expected: 30 });
    expect(everything).toHaveLength(30);

    // The producer state and the coordinator as admin tools see them.
    const describe = await server.broker.transactions.describe("txn-commit-abort");
    expect(describe?.state).toBe("CompleteCommit");
  }, 40_000);

  test("an open transaction holds back read_committed consumers until it commits", async () => {
    const topic = "txn-open";
    await createTopic(topic);
    const plain = kafka.producer();
    await plain.connect();
    await plain.send({ topic, messages: [{ value: "before" }] });
    const producer = kafka.producer({ transactionalId: "txn-open", maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    const transaction = await producer.transaction();
    await transaction.send({ topic, messages: [{ value: "inside" }] });
    await plain.send({ topic, messages: [{ value: "after" }] });

    const log = server.broker.topics.get(topic)!.partitions[0]!;
    expect(log.highWatermark).toBe(3);
    expect(server.broker.producerStates.lastStableOffset(log)).toBe(1);
    const whileOpen = await consumeAll(topic, { readUncommitted: false, expected: 1, idleMs: 500 });
    expect(values(whileOpen)).toEqual(["before"]);

    await transaction.commit();
    expect(server.broker.producerStates.lastStableOffset(log)).toBe(log.highWatermark);
    const afterCommit = await consumeAll(topic, { readUncommitted: false, expected: 3 });
    expect(values(afterCommit)).toEqual(["before", "inside", "after"]);
    await plain.disconnect();
    await producer.disconnect();
  }, 40_000);

  test("consume-transform-produce: sendOffsets commits the group's offsets with the transaction, not on abort", async () => {
    const input = "ctp-input";
    const output = "ctp-output";
    const group = "ctp-group";
    await createTopic(input);
    await createTopic(output);
    const seed = kafka.producer();
    await seed.connect();
    await seed.send({ topic: input, messages: Array.from({ length: 10 }, (_, i) => ({ value: `in${i}` })) });
    await seed.disconnect();

    const producer = kafka.producer({ transactionalId: "ctp", maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    const admin = kafka.admin();
    await admin.connect();
    const committedOffset = async () => (await admin.fetchOffsets({ groupId: group, topics: [input] }))[0]!.partitions[0]!.offset;

    // First 5 records transformed and committed together with the input offset 5.
    const first = await producer.transaction();
    await first.send({ topic: output, messages: Array.from({ length: 5 }, (_, i) => ({ value: `out${i}` })) });
    await first.sendOffsets({ consumerGroupId: group, topics: [{ topic: input, partitions: [{ partition: 0, offset: "5" }] }] });
    expect(await committedOffset()).toBe("-1");
    await first.commit();
    expect(await committedOffset()).toBe("5");

    // An aborted attempt at the rest leaves the committed offset alone.
    const second = await producer.transaction();
    await second.send({ topic: output, messages: [{ value: "lost" }] });
    await second.sendOffsets({ consumerGroupId: group, topics: [{ topic: input, partitions: [{ partition: 0, offset: "10" }] }] });
    await second.abort();
    expect(await committedOffset()).toBe("5");

    await admin.disconnect();
    await producer.disconnect();
    const out = await consumeAll(output, { readUncommitted: false, expected: 5 });
    expect(values(out)).toEqual(["out0", "out1", "out2", "out3", "out4"]);
  }, 40_000);

  test("a second producer with the same transactional id fences the first (zombie)", async () => {
    const topic = "txn-zombie";
    await createTopic(topic);
    const zombie = kafka.producer({ transactionalId: "zombie", maxInFlightRequests: 1, idempotent: true, retry: { retries: 1, initialRetryTime: 50 } });
    await zombie.connect();
    const zombieTransaction = await zombie.transaction();
    await zombieTransaction.send({ topic, messages: [{ value: "zombie-open" }] });

    const successor = kafka.producer({ transactionalId: "zombie", maxInFlightRequests: 1, idempotent: true });
    await successor.connect(); // InitProducerId: aborts the zombie's open transaction and bumps the epoch
    const transaction = await successor.transaction();
    await transaction.send({ topic, messages: [{ value: "successor" }] });
    await transaction.commit();

    await expect(zombieTransaction.send({ topic, messages: [{ value: "zombie-late" }] })).rejects.toThrow();
    await expect(zombieTransaction.commit()).rejects.toThrow();
    await zombie.disconnect().catch(() => {});
    await successor.disconnect();

    const seen = await consumeAll(topic, { readUncommitted: false, expected: 1, idleMs: 500 });
    expect(values(seen)).toEqual(["successor"]);
  }, 40_000);
});
