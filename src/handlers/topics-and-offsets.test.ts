// Metadata, CreateTopics, DeleteTopics and ListOffsets edge cases that the client end-to-end tests do not reach:
// old versions, null vs empty topic lists, auto-creation switches, ids, and every special ListOffsets timestamp.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ErrorCode } from "../protocol/error-codes.ts";
import { buildRecordBatch } from "../protocol/records/record-batch.ts";
import { isZeroUuid } from "../protocol/messages/encodable.ts";
import { RawClient } from "../../test/helpers/raw-client.ts";
import { startTestServer, type TestServer } from "../../test/helpers/server.ts";

let server: TestServer;
let client: RawClient;

beforeAll(async () => {
  server = await startTestServer({ defaultPartitions: 2 });
  client = await RawClient.connect(server.port);
});
afterAll(async () => {
  client.close();
  await server[Symbol.asyncDispose]();
});

const call = (apiKey: number, version: number, body: object): Promise<any> => client.call(apiKey, version, body);

describe("Metadata", () => {
  test("auto-creates with the default partition count, unless the client (v4+) or the broker says no", async () => {
    const created = await call(3, 12, { topics: [{ name: "auto" }], allowAutoTopicCreation: true });
    expect(created.topics[0].errorCode).toBe(ErrorCode.NONE);
    expect(created.topics[0].partitions.length).toBe(2);
    expect(isZeroUuid(created.topics[0].topicId)).toBe(false);
    expect(created.controllerId).toBe(1);
    expect(created.clusterId).toBe("kgate-cluster");
    expect(created.brokers).toEqual([{ nodeId: 1, host: "127.0.0.1", port: server.port, rack: null }]);

    const refused = await call(3, 12, { topics: [{ name: "not-auto" }], allowAutoTopicCreation: false });
    expect(refused.topics[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const invalid = await call(3, 1, { topics: [{ name: "bad name!" }] });
    expect(invalid.topics[0].errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
  });

  test("v0's empty list and v1+'s null list mean all topics; v1's empty list means none", async () => {
    await call(3, 1, { topics: [{ name: "listed" }] });
    const all0 = await call(3, 0, { topics: [] });
    expect(all0.topics.map((t: any) => t.name)).toContain("listed");
    const allNull = await call(3, 9, { topics: null });
    expect(allNull.topics.map((t: any) => t.name)).toContain("listed");
    const none = await call(3, 1, { topics: [] });
    expect(none.topics).toEqual([]);
  });

  test("v12 describes a topic by id alone", async () => {
    const byName = await call(3, 12, { topics: [{ name: "by-id" }], allowAutoTopicCreation: true });
    const topicId = byName.topics[0].topicId;
    const byId = await call(3, 12, { topics: [{ name: null, topicId }], allowAutoTopicCreation: false });
    expect(byId.topics[0].name).toBe("by-id");
    const unknown = await call(3, 12, { topics: [{ name: null, topicId: new Uint8Array(16).fill(7) }] });
    expect(unknown.topics[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
  });
});

describe("CreateTopics and DeleteTopics", () => {
  test("validateOnly creates nothing; configs are checked; v5+ reports partitions and configs", async () => {
    const dry = await call(19, 7, { topics: [{ name: "dry", numPartitions: 3, replicationFactor: 1 }], validateOnly: true, timeoutMs: 1000 });
    expect(dry.topics[0].errorCode).toBe(ErrorCode.NONE);
    expect(server.broker.topics.get("dry")).toBeUndefined();

    const badConfig = await call(19, 7, { topics: [{ name: "cfg", numPartitions: 1, replicationFactor: 1, configs: [{ name: "no.such.config", value: "1" }] }], timeoutMs: 1000 });
    expect(badConfig.topics[0].errorCode).toBe(ErrorCode.INVALID_CONFIG);

    const made = await call(19, 7, { topics: [{ name: "cfg", numPartitions: -1, replicationFactor: -1, configs: [{ name: "retention.ms", value: "1000" }] }], timeoutMs: 1000 });
    expect(made.topics[0].errorCode).toBe(ErrorCode.NONE);
    expect(made.topics[0].numPartitions).toBe(2);
    expect(made.topics[0].configs.find((c: any) => c.name === "retention.ms")).toMatchObject({ value: "1000", configSource: 1 });
    expect(made.topics[0].configs.find((c: any) => c.name === "cleanup.policy")).toMatchObject({ value: "delete", configSource: 5 });

    const old = await call(19, 0, { topics: [{ name: "old-create", numPartitions: 1, replicationFactor: 1 }], timeoutMs: 1000 });
    expect(old.topics[0].errorCode).toBe(ErrorCode.NONE);
  });

  test("delete by name (v1) and by id (v6); unknown ones report their own errors", async () => {
    const created = await call(19, 7, { topics: [{ name: "gone-by-id", numPartitions: 1, replicationFactor: 1 }, { name: "gone-by-name", numPartitions: 1, replicationFactor: 1 }], timeoutMs: 1000 });
    const topicId = created.topics[0].topicId;
    const byName = await call(20, 1, { topicNames: ["gone-by-name", "never-was"], timeoutMs: 1000 });
    expect(byName.responses.map((r: any) => r.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    const byId = await call(20, 6, { topics: [{ name: null, topicId }, { name: null, topicId: new Uint8Array(16).fill(1) }], timeoutMs: 1000 });
    expect(byId.responses.map((r: any) => r.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_ID]);
    expect(byId.responses[0].name).toBe("gone-by-id");
    expect(server.broker.topics.get("gone-by-id")).toBeUndefined();
  });
});

describe("ListOffsets", () => {
  test("latest, earliest, max timestamp, by timestamp, and v0's offsets array", async () => {
    // Timestamps out of order: 30, 10, 50, 20 at offsets 0..3, then 40 at offset 4 in a second batch.
    const first = buildRecordBatch({ records: [30, 10, 50, 20].map((timestamp) => ({ key: null, value: new Uint8Array(1), timestamp })) });
    const second = buildRecordBatch({ records: [{ key: null, value: new Uint8Array(1), timestamp: 40 }] });
    for (const batch of [first, second]) {
      await call(0, 9, { acks: 1, timeoutMs: 1000, topicData: [{ name: "times", partitionData: [{ index: 0, records: batch }] }] });
    }
    const ask = async (timestamp: number, version = 7) =>
      (await call(2, version, { replicaId: -1, isolationLevel: 1, topics: [{ name: "times", partitions: [{ partitionIndex: 0, timestamp: BigInt(timestamp) }] }] })).topics[0].partitions[0];
    expect(await ask(-1)).toMatchObject({ offset: 5n, timestamp: -1n });
    expect(await ask(-2)).toMatchObject({ offset: 0n, timestamp: -1n });
    expect(await ask(-3)).toMatchObject({ offset: 2n, timestamp: 50n });
    expect(await ask(15)).toMatchObject({ offset: 0n, timestamp: 30n });
    expect(await ask(35)).toMatchObject({ offset: 2n, timestamp: 50n });
    expect(await ask(60)).toMatchObject({ offset: -1n, timestamp: -1n });
    expect((await ask(-4, 8)).offset).toBe(0n);

    const v0 = await call(2, 0, { replicaId: -1, topics: [{ name: "times", partitions: [{ partitionIndex: 0, timestamp: -1n, maxNumOffsets: 1 }] }] });
    expect(v0.topics[0].partitions[0].oldStyleOffsets).toEqual([5n]);
    const unknown = await call(2, 1, { replicaId: -1, topics: [{ name: "times", partitions: [{ partitionIndex: 9, timestamp: -1n }] }] });
    expect(unknown.topics[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
});

describe("Produce stores the max timestamp it computed", () => {
  // Regression: Sarama 1.22 sends batches whose header maxTimestamp is -1. kgate kept it, so ListOffsets by time
  // skipped those batches (answering -1) and, after a restart of the file log, retention took the segments for
  // ancient and deleted them. Kafka's LogValidator writes the computed maxTimestamp into the batch.
  test("a batch whose header says maxTimestamp -1 is found by time and stored with its real maximum", async () => {
    const batch = buildRecordBatch({ records: [100, 300, 200].map((timestamp) => ({ key: null, value: new Uint8Array(1), timestamp })) });
    const view = new DataView(batch.buffer, batch.byteOffset);
    view.setBigInt64(35, -1n); // maxTimestamp, as Sarama 1.22 leaves it
    const { crc32c } = await import("../protocol/records/crc32c.ts");
    view.setUint32(17, crc32c(batch.subarray(21)));
    const produced = await call(0, 3, { acks: 1, timeoutMs: 1000, topicData: [{ name: "sarama-like", partitionData: [{ index: 0, records: batch }] }] });
    expect(produced.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
    const found = await call(2, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: "sarama-like", partitions: [{ partitionIndex: 0, timestamp: 250n }] }] });
    expect(found.topics[0].partitions[0]).toMatchObject({ offset: 1n, timestamp: 300n });
    const read = server.broker.topics.get("sarama-like")!.partitions[0]!.read(0, 1 << 20, true);
    const stored = read.batches[0]!;
    expect(new DataView(stored.buffer, stored.byteOffset).getBigInt64(35)).toBe(300n);
    read.release?.();
  });
});

describe("internal topics and deleted topics' offsets", () => {
  test("clients cannot produce to or delete __consumer_offsets; deleting a topic drops its committed offsets", async () => {
    await call(19, 7, { topics: [{ name: "committed", numPartitions: 1, replicationFactor: 1 }], timeoutMs: 1000 });
    const commit = await call(8, 2, { groupId: "simple", generationIdOrMemberEpoch: -1, memberId: "", retentionTimeMs: -1n, topics: [{ name: "committed", partitions: [{ partitionIndex: 0, committedOffset: 42n, committedMetadata: null }] }] });
    expect(commit.topics[0].partitions[0].errorCode).toBe(ErrorCode.NONE);
    const fetchCommitted = async () =>
      (await call(9, 1, { groupId: "simple", topics: [{ name: "committed", partitionIndexes: [0] }] })).topics[0].partitions[0].committedOffset;
    expect(await fetchCommitted()).toBe(42n);

    const batch = buildRecordBatch({ records: [{ key: null, value: new Uint8Array(1), timestamp: 1 }] });
    const produced = await call(0, 9, { acks: 1, timeoutMs: 1000, topicData: [{ name: "__consumer_offsets", partitionData: [{ index: 0, records: batch }] }] });
    expect(produced.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    const deleteInternal = await call(20, 1, { topicNames: ["__consumer_offsets"], timeoutMs: 1000 });
    expect(deleteInternal.responses[0].errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);

    await call(20, 1, { topicNames: ["committed"], timeoutMs: 1000 });
    await call(19, 7, { topics: [{ name: "committed", numPartitions: 1, replicationFactor: 1 }], timeoutMs: 1000 });
    expect(await fetchCommitted()).toBe(-1n);
  });
});
