// Idempotence and transactions over the wire on the file log, across restarts: a replayed Produce request is stored
// once, producer state and open/prepared transactions come back from the data folder, and a transaction left open
// by a vanished producer is aborted at its timeout.

import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestServer, waitFor, type TestServer } from "../../test/helpers/server.ts";
import { decodeResponse, RawClient, requestFrame } from "../../test/helpers/raw-client.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import { buildRecordBatch, decodeRecords } from "../protocol/records/record-batch.ts";
import { Broker } from "../broker.ts";
import { parseConfig } from "../config.ts";
import { TransactionLog } from "./transaction-log.ts";

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});
function dataFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), "kgate-txn-"));
  folders.push(folder);
  return folder;
}

const encoder = new TextEncoder();

function produceBody(topic: string, records: Uint8Array, transactionalId: string | null = null) {
  return { transactionalId, acks: -1, timeoutMs: 5_000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] };
}

function idempotentBatch(producerId: number, producerEpoch: number, baseSequence: number, values: string[], transactional = false): Uint8Array {
  return buildRecordBatch({
    records: values.map((value) => ({ value: encoder.encode(value) })),
    producerId,
    producerEpoch,
    baseSequence,
    transactional,
  });
}

async function createTopic(client: RawClient, name: string): Promise<void> {
  const created = await client.call(19, 4, { topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5_000, validateOnly: false });
  expect(created.topics[0].errorCode).toBe(0);
}

async function fetchCommitted(client: RawClient, topic: string) {
  const response = await client.call(1, 11, {
    replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 1, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
    forgottenTopicsData: [], rackId: "",
  });
  return response.responses[0].partitions[0];
}

async function restart(server: TestServer, dataDir: string): Promise<TestServer> {
  await server.stop();
  return startTestServer({ dataDir });
}

describe("idempotent produce over the wire", () => {
  test("a replayed Produce request is acknowledged with the original offset and stored once, also after a restart", async () => {
    const dataDir = dataFolder();
    let server = await startTestServer({ dataDir });
    let client = await RawClient.connect(server.port);
    await createTopic(client, "replay");
    const init = await client.call(22, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
    expect(init.errorCode).toBe(0);
    const producerId = Number(init.producerId);

    const request = requestFrame(0, 9, 100, produceBody("replay", idempotentBatch(producerId, 0, 0, ["a", "b", "c"])));
    const answers: bigint[] = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      client.write(request); // the same bytes twice, as a client retrying after a lost answer
      const { body } = decodeResponse(0, 9, (await client.nextFrame())!);
      expect(body.responses[0].partitionResponses[0].errorCode).toBe(0);
      answers.push(body.responses[0].partitionResponses[0].baseOffset);
    }
    expect(answers).toEqual([0n, 0n]);
    const log = () => server.broker.topics.get("replay")!.partitions[0]!;
    expect(log().logEndOffset).toBe(3);

    const next = await client.call(0, 9, produceBody("replay", idempotentBatch(producerId, 0, 3, ["d"])));
    expect(next.responses[0].partitionResponses[0].baseOffset).toBe(3n);
    const gap = await client.call(0, 9, produceBody("replay", idempotentBatch(producerId, 0, 9, ["x"])));
    expect(gap.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    client.close();

    // After a restart the producer state is replayed from the log: the retry is still recognised.
    server = await restart(server, dataDir);
    client = await RawClient.connect(server.port);
    const retried = await client.call(0, 9, produceBody("replay", idempotentBatch(producerId, 0, 3, ["d"])));
    expect(retried.responses[0].partitionResponses[0]).toMatchObject({ errorCode: 0, baseOffset: 3n });
    expect(log().logEndOffset).toBe(4);
    // Producer ids are not handed out twice after a restart.
    const again = await client.call(22, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
    expect(Number(again.producerId)).toBeGreaterThan(producerId);
    client.close();
    await server.stop();
  }, 30_000);
});

describe("transactions across restarts", () => {
  async function openTransaction(client: RawClient, transactionalId: string, topic: string, timeoutMs: number) {
    expect((await client.call(10, 1, { key: transactionalId, keyType: 1 })).errorCode).toBe(0);
    const init = await client.call(22, 4, { transactionalId, transactionTimeoutMs: timeoutMs, producerId: -1n, producerEpoch: -1 });
    expect(init.errorCode).toBe(0);
    const producerId = Number(init.producerId);
    const producerEpoch = init.producerEpoch;
    const added = await client.call(24, 3, { v3AndBelowTransactionalId: transactionalId, v3AndBelowProducerId: BigInt(producerId), v3AndBelowProducerEpoch: producerEpoch, v3AndBelowTopics: [{ name: topic, partitions: [0] }] });
    expect(added.resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode).toBe(0);
    const produced = await client.call(0, 9, produceBody(topic, idempotentBatch(producerId, producerEpoch, 0, ["t1", "t2"], true), transactionalId));
    expect(produced.responses[0].partitionResponses[0].errorCode).toBe(0);
    return { producerId, producerEpoch };
  }

  test("an open transaction holds the LSO across a restart and is aborted at its timeout", async () => {
    const dataDir = dataFolder();
    let server = await startTestServer({ dataDir });
    let client = await RawClient.connect(server.port);
    await createTopic(client, "open-txn");
    await client.call(0, 9, produceBody("open-txn", buildRecordBatch({ records: [{ value: encoder.encode("plain") }] })));
    // Long enough that a slow machine's restart does not reach it before the first fetch.
    const { producerId } = await openTransaction(client, "left-open", "open-txn", 3_000);
    client.close();

    server = await restart(server, dataDir);
    client = await RawClient.connect(server.port);
    const held = await fetchCommitted(client, "open-txn");
    expect(Number(held.highWatermark)).toBe(3);
    expect(Number(held.lastStableOffset)).toBe(1);
    const partitionLog = server.broker.topics.get("open-txn")!.partitions[0]!;
    // The marker is written before the coordinator records CompleteAbort: wait for both.
    await waitFor(
      () =>
        server.broker.producerStates.lastStableOffset(partitionLog) === partitionLog.highWatermark &&
        server.broker.transactions.describe("left-open")?.state === "CompleteAbort",
      { timeoutMs: 8_000 },
    );
    const released = await fetchCommitted(client, "open-txn");
    expect(Number(released.lastStableOffset)).toBe(4); // the abort marker at offset 3
    expect(released.abortedTransactions).toEqual([{ producerId: BigInt(producerId), firstOffset: 1n }]);
    expect(server.broker.transactions.describe("left-open")?.state).toBe("CompleteAbort");
    // The fenced producer's EndTxn is refused.
    const late = await client.call(26, 3, { transactionalId: "left-open", producerId: BigInt(producerId), producerEpoch: 0, committed: true });
    expect(late.errorCode).toBe(ErrorCode.PRODUCER_FENCED);
    client.close();
    await server.stop();
  }, 30_000);

  test("a transaction prepared to commit before a crash is committed on restart, offsets included", async () => {
    const dataDir = dataFolder();
    let server = await startTestServer({ dataDir });
    let client = await RawClient.connect(server.port);
    await createTopic(client, "prepared");
    const { producerId, producerEpoch } = await openTransaction(client, "prepared", "prepared", 60_000);
    client.close();
    await server.stop();

    // What EndTxn writes before its first marker: the coordinator then dies.
    const broker = new Broker({ ...parseConfig(["--listen", "127.0.0.1:0"], {})!, dataDir });
    const stateLog = new TransactionLog(broker.topics, null);
    const stored = stateLog.load().transactions.get("prepared")!;
    expect(stored.state).toBe("Ongoing");
    await stateLog.writeTransaction({
      ...stored,
      state: "PrepareCommit",
      groups: ["prepared-group"],
      pendingOffsets: [{ groupId: "prepared-group", topic: "prepared", partition: 0, offset: 2, leaderEpoch: -1, metadata: "" }],
    });
    broker.close();

    server = await startTestServer({ dataDir });
    client = await RawClient.connect(server.port);
    await waitFor(() => server.broker.transactions.describe("prepared")?.state === "CompleteCommit", { timeoutMs: 5_000 });
    const committed = await fetchCommitted(client, "prepared");
    expect(Number(committed.lastStableOffset)).toBe(3);
    expect(committed.abortedTransactions).toEqual([]);
    const offsets = await client.call(9, 7, { groupId: "prepared-group", topics: [{ name: "prepared", partitionIndexes: [0] }], requireStable: true });
    expect(offsets.topics[0].partitions[0]).toMatchObject({ committedOffset: 2n, errorCode: 0 });
    // The producer carries on with its epoch.
    const endAgain = await client.call(26, 3, { transactionalId: "prepared", producerId: BigInt(producerId), producerEpoch, committed: true });
    expect(endAgain.errorCode).toBe(0);
    client.close();
    await server.stop();
  }, 30_000);

  test("a transactional batch for a partition not added to the transaction is INVALID_TXN_STATE", async () => {
    await using server = await startTestServer();
    const client = await RawClient.connect(server.port);
    await createTopic(client, "not-added");
    const init = await client.call(22, 4, { transactionalId: "not-added", transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
    const produced = await client.call(0, 9, produceBody("not-added", idempotentBatch(Number(init.producerId), init.producerEpoch, 0, ["x"], true), "not-added"));
    expect(produced.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.INVALID_TXN_STATE);
    expect(server.broker.topics.get("not-added")!.partitions[0]!.logEndOffset).toBe(0);
    const listed = await client.call(66, 1, { stateFilters: [], producerIdFilters: [], durationFilter: -1n });
    expect(listed.transactionStates).toEqual([{ transactionalId: "not-added", producerId: init.producerId, transactionState: "Empty" }]);
    client.close();
  });
});

describe("transactions with the ACL authorizer", () => {
  test("transactional and idempotent producers need WRITE on their transactional id / a topic, as Kafka", async () => {
    const { AclOperation, AclPermission, PatternType, ResourceType } = await import("../security/acl.ts");
    await using server = await startTestServer({ authorizer: { superUsers: [], allowEveryoneIfNoAclFound: false } });
    const allow = (resourceType: number, resourceName: string, operation: number) =>
      server.broker.authorizer!.acls.add([{ resourceType, resourceName, patternType: PatternType.LITERAL, principal: "User:ANONYMOUS", host: "*", operation, permissionType: AclPermission.ALLOW }]);
    allow(ResourceType.CLUSTER, "kafka-cluster", AclOperation.CREATE);
    const client = await RawClient.connect(server.port);
    await createTopic(client, "guarded");
    const init = (transactionalId: string | null) => client.call(22, 4, { transactionalId, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });

    expect((await init("tx-guarded")).errorCode).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    expect((await init(null)).errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    allow(ResourceType.TOPIC, "guarded", AclOperation.WRITE); // WRITE on any topic lets an idempotent producer start
    expect((await init(null)).errorCode).toBe(0);
    allow(ResourceType.TRANSACTIONAL_ID, "tx-guarded", AclOperation.WRITE);
    const granted = await init("tx-guarded");
    expect(granted.errorCode).toBe(0);
    const end = await client.call(26, 3, { transactionalId: "other-tx", producerId: granted.producerId, producerEpoch: granted.producerEpoch, committed: true });
    expect(end.errorCode).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    const produced = await client.call(0, 9, produceBody("guarded", idempotentBatch(Number(granted.producerId), granted.producerEpoch, 0, ["x"], true), "other-tx"));
    expect(produced.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    const listed = await client.call(66, 1, { stateFilters: [], producerIdFilters: [], durationFilter: -1n });
    expect(listed.transactionStates.map((t: { transactionalId: string }) => t.transactionalId)).toEqual(["tx-guarded"]); // WRITE implies DESCRIBE
    client.close();
  });
});

describe("transactions on compacted topics", () => {
  test("the cleaner waits out an open transaction, and an aborted write never replaces a key's committed value", async () => {
    await using server = await startTestServer();
    const client = await RawClient.connect(server.port);
    const created = await client.call(19, 4, {
      topics: [{ name: "changelog", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [
        { name: "cleanup.policy", value: "compact" }, { name: "segment.bytes", value: "1" }, { name: "min.cleanable.dirty.ratio", value: "0.01" },
      ] }],
      timeoutMs: 5_000,
      validateOnly: false,
    });
    expect(created.topics[0].errorCode).toBe(0);
    const keyed = (key: string, value: string, extra: object = {}) =>
      buildRecordBatch({ records: [{ key: encoder.encode(key), value: encoder.encode(value) }], ...extra });
    await client.call(0, 9, produceBody("changelog", keyed("k", "committed")));
    const init = await client.call(22, 4, { transactionalId: "changelog-tx", transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
    const producer = { producerId: Number(init.producerId), producerEpoch: init.producerEpoch };
    await client.call(24, 3, { v3AndBelowTransactionalId: "changelog-tx", v3AndBelowProducerId: init.producerId, v3AndBelowProducerEpoch: init.producerEpoch, v3AndBelowTopics: [{ name: "changelog", partitions: [0] }] });
    await client.call(0, 9, produceBody("changelog", keyed("k", "aborted", { ...producer, baseSequence: 0, transactional: true }), "changelog-tx"));
    await client.call(0, 9, produceBody("changelog", keyed("z", "filler")));

    const log = server.broker.topics.get("changelog")!.partitions[0]!;
    const values = () => {
      const { batches } = log.read(log.logStartOffset, 1 << 20, true);
      return batches.flatMap((batch) => decodeRecords(batch).map((record) => `${new TextDecoder().decode(record.key ?? new Uint8Array())}=${record.value ? new TextDecoder().decode(record.value) : "null"}`));
    };
    await server.broker.logCleaner.runOnce();
    expect(values()).toContain("k=committed"); // open transaction: nothing cleaned past it
    const ended = await client.call(26, 3, { transactionalId: "changelog-tx", ...{ producerId: init.producerId, producerEpoch: init.producerEpoch }, committed: false });
    expect(ended.errorCode).toBe(0);
    await client.call(0, 9, produceBody("changelog", keyed("y", "filler")));
    await server.broker.logCleaner.runOnce();
    const after = values();
    expect(after).toContain("k=committed");
    expect(after).not.toContain("k=aborted");
    client.close();
  });
});

describe("producer state of a new partition", () => {
  test("starts empty and is not replayed from the log it sees filled, while a restarted non-empty log replays", async () => {
    const dataDir = dataFolder();
    const config = { ...parseConfig(["--listen", "127.0.0.1:0"], {})!, dataDir };
    let broker = new Broker(config);
    broker.topics.create("fresh", 1);
    const log = broker.topics.get("fresh")!.partitions[0]!;
    // Registered at creation: reads by Fetch find it instead of replaying the log.
    expect(broker.producerStates.loaded(log)).toBeDefined();
    // An idempotent batch appended outside the Produce handler is only seen by a replay: proves none happens.
    const batch = idempotentBatch(7, 0, 0, ["a"]);
    log.append(batch, { lastOffsetDelta: 0, maxTimestamp: 0, firstTimestamp: 0, maxTimestampOffsetDelta: 0 });
    expect(broker.producerStates.of(log).producers.size).toBe(0);
    broker.close();

    broker = new Broker(config);
    const reopened = broker.topics.get("fresh")!.partitions[0]!;
    expect(broker.producerStates.loaded(reopened)).toBeUndefined();
    expect(broker.producerStates.of(reopened).producers.has(7)).toBe(true);
    broker.close();
  });
});
