// Fetch behaviour that real clients rely on but rarely exercise on purpose: the first-batch rule, maxBytes filling,
// long polls woken by produce, out-of-range offsets, and fetch sessions (full, incremental, errors).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ErrorCode } from "../protocol/error-codes.ts";
import { buildRecordBatch, splitBatches } from "../protocol/records/record-batch.ts";
import { RawClient, requestFrame } from "../../test/helpers/raw-client.ts";
import { startTestServer, type TestServer } from "../../test/helpers/server.ts";

const FETCH_VERSION = 12;
let server: TestServer;
let client: RawClient;

beforeAll(async () => {
  server = await startTestServer();
  client = await RawClient.connect(server.port);
});
afterAll(async () => {
  client.close();
  await server[Symbol.asyncDispose]();
});

const call = (apiKey: number, version: number, body: object): Promise<any> => client.call(apiKey, version, body);

async function produce(topic: string, partition: number, values: number[]): Promise<void> {
  const batch = buildRecordBatch({ records: values.map((size) => ({ key: null, value: new Uint8Array(size), timestamp: 1 })) });
  const body = await call(0, 9, { acks: -1, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }] });
  expect(body.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
}

interface FetchPartition {
  partition: number;
  fetchOffset: number;
  partitionMaxBytes: number;
}

function fetch(topic: string, partitions: FetchPartition[], options: { maxBytes?: number; minBytes?: number; maxWaitMs?: number; sessionId?: number; sessionEpoch?: number; forgotten?: number[] } = {}): Promise<any> {
  return call(1, FETCH_VERSION, {
    maxWaitMs: options.maxWaitMs ?? 0,
    minBytes: options.minBytes ?? 0,
    maxBytes: options.maxBytes ?? 0x7fffffff,
    isolationLevel: 1,
    sessionId: options.sessionId ?? 0,
    sessionEpoch: options.sessionEpoch ?? -1,
    topics: partitions.length ? [{ topic, partitions: partitions.map((p) => ({ ...p, fetchOffset: BigInt(p.fetchOffset) })) }] : [],
    forgottenTopicsData: options.forgotten ? [{ topic, partitions: options.forgotten }] : [],
  });
}

const batchesIn = (records: Uint8Array) => (records.length === 0 ? [] : (splitBatches(records) as { batches: Uint8Array[] }).batches);

describe("Fetch", () => {
  test("fills maxBytes with whole batches, and returns a first batch larger than maxBytes whole (KIP-74)", async () => {
    await call(19, 7, { topics: [{ name: "fill", numPartitions: 2, replicationFactor: 1 }], timeoutMs: 1000 });
    for (let i = 0; i < 10; i++) await produce("fill", 0, [100]);
    await produce("fill", 1, [5000]);
    const oneBatchBytes = batchesIn((await fetch("fill", [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }], { maxBytes: 1 })).responses[0].partitions[0].records);
    expect(oneBatchBytes.length).toBe(1);
    const batchSize = oneBatchBytes[0]!.length;

    const filled = await fetch("fill", [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }], { maxBytes: batchSize * 3 + 10 });
    expect(batchesIn(filled.responses[0].partitions[0].records).length).toBe(3);

    // Partition 1 holds one 5 KB batch: alone it is returned whole; after partition 0 used the budget it is not.
    const big = await fetch("fill", [{ partition: 1, fetchOffset: 0, partitionMaxBytes: 100 }]);
    expect(batchesIn(big.responses[0].partitions[0].records).length).toBe(1);
    const both = await fetch("fill", [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }, { partition: 1, fetchOffset: 0, partitionMaxBytes: 1 << 20 }], { maxBytes: batchSize * 10 + 100 });
    expect(batchesIn(both.responses[0].partitions[0].records).length).toBe(10);
    expect(both.responses[0].partitions[1].records.length).toBe(0);
    expect(both.responses[0].partitions[1].highWatermark).toBe(1n);
  });

  test("a fetch in the middle of a batch returns that batch; offsets past the end are OFFSET_OUT_OF_RANGE", async () => {
    await produce("middle", 0, [10, 10, 10, 10]);
    const middle = await fetch("middle", [{ partition: 0, fetchOffset: 2, partitionMaxBytes: 1 << 20 }]);
    expect(batchesIn(middle.responses[0].partitions[0].records).length).toBe(1);
    const atEnd = await fetch("middle", [{ partition: 0, fetchOffset: 4, partitionMaxBytes: 1 << 20 }]);
    expect(atEnd.responses[0].partitions[0].errorCode).toBe(ErrorCode.NONE);
    const past = await fetch("middle", [{ partition: 0, fetchOffset: 5, partitionMaxBytes: 1 << 20 }]);
    expect(past.responses[0].partitions[0].errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    expect(past.responses[0].partitions[0].highWatermark).toBe(4n);
    expect(past.responses[0].partitions[0].lastStableOffset).toBe(4n);
    expect(past.responses[0].partitions[0].abortedTransactions).toEqual([]);
  });

  test("a long poll waits for minBytes and is woken by a produce on another connection", async () => {
    await produce("poll", 0, [10]);
    const started = Date.now();
    const waiting = fetch("poll", [{ partition: 0, fetchOffset: 1, partitionMaxBytes: 1 << 20 }], { minBytes: 1, maxWaitMs: 10_000 });
    await Bun.sleep(100);
    const producer = await RawClient.connect(server.port);
    const batch = buildRecordBatch({ records: [{ key: null, value: new Uint8Array(10), timestamp: 1 }] });
    producer.write(requestFrame(0, 9, 1, { acks: 1, timeoutMs: 1000, topicData: [{ name: "poll", partitionData: [{ index: 0, records: batch }] }] }));
    const response = await waiting;
    const elapsed = Date.now() - started;
    expect(batchesIn(response.responses[0].partitions[0].records).length).toBe(1);
    expect(elapsed).toBeGreaterThanOrEqual(90);
    expect(elapsed).toBeLessThan(5_000);
    producer.close();

    const idleStart = Date.now();
    const idle = await fetch("poll", [{ partition: 0, fetchOffset: 2, partitionMaxBytes: 1 << 20 }], { minBytes: 1, maxWaitMs: 200 });
    expect(Date.now() - idleStart).toBeGreaterThanOrEqual(190);
    expect(idle.responses[0].partitions[0].records.length).toBe(0);
  });

  test("fetch sessions: a full fetch creates one, incremental fetches carry and return only what changed", async () => {
    await call(19, 7, { topics: [{ name: "sessions", numPartitions: 2, replicationFactor: 1 }], timeoutMs: 1000 });
    await produce("sessions", 0, [10]);
    const full = await fetch("sessions", [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }, { partition: 1, fetchOffset: 0, partitionMaxBytes: 1 << 20 }], { sessionId: 0, sessionEpoch: 0 });
    const sessionId = full.sessionId;
    expect(sessionId).toBeGreaterThan(0);
    expect(full.responses[0].partitions.length).toBe(2);

    // The client consumed partition 0 and says so; nothing else changed, so the answer is empty.
    const quiet = await fetch("sessions", [{ partition: 0, fetchOffset: 1, partitionMaxBytes: 1 << 20 }], { sessionId, sessionEpoch: 1 });
    expect(quiet.errorCode).toBe(ErrorCode.NONE);
    expect(quiet.responses).toEqual([]);

    // New data on partition 1 only: it comes back alone, although the request names no partition.
    await produce("sessions", 1, [10]);
    const changed = await fetch("sessions", [], { sessionId, sessionEpoch: 2 });
    expect(changed.responses[0].partitions.map((p: any) => p.partitionIndex)).toEqual([1]);
    expect(batchesIn(changed.responses[0].partitions[0].records).length).toBe(1);

    // The client forgets partition 1: later data there is not reported.
    const moved = await fetch("sessions", [], { sessionId, sessionEpoch: 3, forgotten: [1] });
    expect(moved.responses).toEqual([]);
    await produce("sessions", 1, [10]);
    const forgotten = await fetch("sessions", [], { sessionId, sessionEpoch: 4 });
    expect(forgotten.responses).toEqual([]);

    expect((await fetch("sessions", [], { sessionId, sessionEpoch: 9 })).errorCode).toBe(ErrorCode.INVALID_FETCH_SESSION_EPOCH);
    expect((await fetch("sessions", [], { sessionId: 12345, sessionEpoch: 1 })).errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    // Epoch -1 closes the session.
    await fetch("sessions", [], { sessionId, sessionEpoch: -1 });
    expect((await fetch("sessions", [], { sessionId, sessionEpoch: 5 })).errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  });
});
