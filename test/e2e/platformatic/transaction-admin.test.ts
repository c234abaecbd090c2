// The admin APIs that find hanging transactions (KIP-664: what `kafka-transactions.sh describe-producers`, `describe`
// and `list` send), sent by @platformatic/kafka's own protocol functions over its own Connection, while a real
// transactional producer of the same client holds a transaction open, and after it commits: DescribeProducers v0,
// DescribeTransactions v0 and ListTransactions v1.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Admin, Connection, describeProducersV0, describeTransactionsV0, listTransactionsV1, Producer, stringSerializers } from "@platformatic/kafka";
import { ErrorCode } from "../../../src/protocol/error-codes.ts";
import { errorCodesOf, startProtocolSession, type ProtocolSession } from "../../helpers/platformatic-protocol.ts";
import type { TestServer } from "../../helpers/server.ts";

const TOPIC = "pk-hanging";
const TRANSACTIONAL_ID = "pk-hanging-txn";

let session: ProtocolSession;
let server: TestServer;
let connection: Connection;
beforeAll(async () => {
  session = await startProtocolSession("pk-transaction-admin");
  ({ server, connection } = session);
});
afterAll(() => session[Symbol.asyncDispose]());

const describeProducers = (partitionIndexes: number[]) => describeProducersV0.api.async(connection, [{ name: TOPIC, partitionIndexes }]);
const describeTransactions = (ids: string[]) => describeTransactionsV0.api.async(connection, ids);

describe("@platformatic/kafka: DescribeProducers, DescribeTransactions, ListTransactions", () => {
  test("an open transaction, then committed; an idempotent producer beside it; unknown ids and partitions", async () => {
    const bootstrapBrokers = [server.bootstrap];
    const admin = new Admin({ clientId: "pk-hanging-admin", bootstrapBrokers });
    const transactional = new Producer({ clientId: "pk-hanging", bootstrapBrokers, serializers: stringSerializers, idempotent: true, transactionalId: TRANSACTIONAL_ID });
    const idempotent = new Producer({ clientId: "pk-hanging-idem", bootstrapBrokers, serializers: stringSerializers, idempotent: true });
    try {
      await admin.createTopics({ topics: [TOPIC], partitions: 2, replicas: 1 });
      // Partition 1 gets 5 idempotent records first, so the transaction there starts at offset 5.
      await idempotent.send({ messages: Array.from({ length: 5 }, (_, i) => ({ topic: TOPIC, partition: 1, value: `i${i}` })), acks: -1 });

      const startedAt = Date.now();
      const transaction = await transactional.beginTransaction();
      await transaction.send({ messages: [0, 1, 1].map((partition, i) => ({ topic: TOPIC, partition, value: `t${i}` })) });
      const producerId = transactional.producerId!;
      const producerEpoch = transactional.producerEpoch!;

      const open = await describeTransactions([TRANSACTIONAL_ID]);
      expect(open.transactionStates).toHaveLength(1);
      const state = open.transactionStates[0]!;
      expect(state).toMatchObject({ errorCode: 0, transactionalId: TRANSACTIONAL_ID, transactionState: "Ongoing", producerId, producerEpoch });
      expect(state.transactionTimeoutMs).toBeGreaterThan(0);
      expect(Number(state.transactionStartTimeMs)).toBeGreaterThanOrEqual(startedAt - 1000);
      expect(Number(state.transactionStartTimeMs)).toBeLessThanOrEqual(Date.now());
      expect(state.topics).toEqual([{ topic: TOPIC, partitions: [0, 1] }]);

      const producers = await describeProducers([0, 1]);
      const [partition0, partition1] = producers.topics[0]!.partitions;
      expect(partition0).toMatchObject({ partitionIndex: 0, errorCode: 0 });
      expect(partition0!.activeProducers).toEqual([expect.objectContaining({ producerId, producerEpoch, lastSequence: 0, currentTxnStartOffset: 0n })]);
      expect(partition1!.activeProducers).toHaveLength(2);
      const onPartition1 = new Map(partition1!.activeProducers.map((p) => [p.producerId, p]));
      expect(onPartition1.get(producerId)).toMatchObject({ producerEpoch, lastSequence: 1, currentTxnStartOffset: 5n });
      const idempotentId = idempotent.producerId!;
      expect(onPartition1.get(idempotentId)).toMatchObject({ lastSequence: 4, currentTxnStartOffset: -1n });
      expect(Number(onPartition1.get(idempotentId)!.lastTimestamp)).toBeGreaterThanOrEqual(startedAt - 60_000);

      // ListTransactions v1 (state and producer id filters, minimum duration 0).
      const ongoing = await listTransactionsV1.api.async(connection, ["ONGOING"], [], -1n, null);
      expect(ongoing.errorCode).toBe(0);
      expect(ongoing.transactionStates).toContainEqual({ transactionalId: TRANSACTIONAL_ID, producerId, transactionState: "Ongoing" });
      const byOtherProducer = await listTransactionsV1.api.async(connection, [], [producerId + 1000n], -1n, null);
      expect(byOtherProducer.transactionStates).toEqual([]);

      await transaction.commit();
      const committed = await describeTransactions([TRANSACTIONAL_ID]);
      expect(committed.transactionStates[0]).toMatchObject({ errorCode: 0, transactionState: "CompleteCommit", topics: [] });
      const afterCommit = await describeProducers([1]);
      expect(new Map(afterCommit.topics[0]!.partitions[0]!.activeProducers.map((p) => [p.producerId, p])).get(producerId)).toMatchObject({ currentTxnStartOffset: -1n });
      expect((await listTransactionsV1.api.async(connection, ["ONGOING"], [], -1n, null)).transactionStates.map((t) => t.transactionalId)).not.toContain(TRANSACTIONAL_ID);

      // Unknowns: a transactional id nobody used, a partition the topic does not have. The client turns an error
      // code in the answer into a ResponseError that carries it.
      expect(await errorCodesOf(describeTransactions(["pk-never-used"]))).toEqual([ErrorCode.TRANSACTIONAL_ID_NOT_FOUND]);
      expect(await errorCodesOf(describeProducers([7]))).toEqual([ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    } finally {
      await Promise.allSettled([transactional.close(), idempotent.close(), admin.close()]);
    }
  }, 30_000);
});
