// Interop with kafkajs's own record batch v2 codec (node_modules/kafkajs/src/protocol/recordBatch): a batch kafkajs
// encodes must validate and decode here, and kafkajs must decode ours. Its encoder is the one its producer uses
// (without a broker: `new Kafka({ brokers })` would need one).

import { describe, expect, test } from "bun:test";
import { buildRecordBatch, decodeRecords, readBatchHeader, rewriteBaseOffset, validateBatchForAppend } from "./record-batch.ts";

interface KafkajsRecordInput {
  offsetDelta?: number;
  timestampDelta?: number;
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, Buffer | string | (Buffer | string)[]>;
}
interface KafkajsDecodedRecord {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | Buffer[]>;
}
interface KafkajsDecodedBatch {
  firstOffset: string;
  lastOffsetDelta: number;
  producerId: string;
  inTransaction: boolean;
  records: KafkajsDecodedRecord[];
}

const { RecordBatch } = require("kafkajs/src/protocol/recordBatch/v0") as {
  RecordBatch: (options: Record<string, unknown>) => Promise<{ buffer: Buffer }>;
};
const Record = require("kafkajs/src/protocol/recordBatch/record/v0") as (record: KafkajsRecordInput) => unknown;
const decodeKafkajsBatch = require("kafkajs/src/protocol/recordBatch/v0/decoder") as (decoder: unknown) => Promise<KafkajsDecodedBatch>;
const Decoder = require("kafkajs/src/protocol/decoder") as new (buffer: Buffer) => unknown;
const Long = require("kafkajs/src/utils/long") as { fromValue(value: number): unknown };

const T0 = 1_700_000_000_000;
const text = (value: string) => new TextEncoder().encode(value);

describe("kafkajs → kgate", () => {
  test("one message, as a kafkajs producer sends it", async () => {
    const encoded = await RecordBatch({
      firstTimestamp: T0,
      maxTimestamp: T0,
      lastOffsetDelta: 0,
      records: [Record({ key: "user-1", value: '{"hello":"world"}', headers: { source: "test" } })],
    });
    const batch = new Uint8Array(encoded.buffer);
    const result = validateBatchForAppend(batch);
    expect(result.ok && result.info).toMatchObject({ recordCount: 1, lastOffsetDelta: 0, maxTimestamp: T0, firstTimestamp: T0 });
    const [record] = decodeRecords(batch);
    expect(record!.key).toEqual(text("user-1"));
    expect(record!.value).toEqual(text('{"hello":"world"}'));
    expect(record!.headers).toEqual([{ key: "source", value: text("test") }]);
    expect(record!.timestamp).toBe(T0);
  });

  test("several records with null values, big values, negative deltas, an idempotent producer", async () => {
    const big = Buffer.alloc(5000, 0x42);
    const encoded = await RecordBatch({
      firstTimestamp: T0,
      maxTimestamp: T0 + 20_000,
      lastOffsetDelta: 2,
      producerId: Long.fromValue(77),
      producerEpoch: 2,
      firstSequence: 10,
      records: [
        Record({ offsetDelta: 0, timestampDelta: 0, key: null, value: "a" }),
        Record({ offsetDelta: 1, timestampDelta: -300, key: "k", value: null, headers: { h: ["1", "2"] } }),
        Record({ offsetDelta: 2, timestampDelta: 20_000, key: big, value: big }),
      ],
    });
    const batch = new Uint8Array(encoded.buffer);
    const result = validateBatchForAppend(batch);
    expect(result.ok && result.info).toMatchObject({
      recordCount: 3,
      maxTimestamp: T0 + 20_000,
      maxTimestampOffsetDelta: 2,
      producerId: 77,
      producerEpoch: 2,
      baseSequence: 10,
    });
    const records = decodeRecords(batch);
    expect(records.map((record) => record.timestamp)).toEqual([T0, T0 - 300, T0 + 20_000]);
    expect(records[1]!.value).toBeNull();
    expect(records[1]!.headers).toEqual([
      { key: "h", value: text("1") },
      { key: "h", value: text("2") },
    ]);
    expect(records[2]!.value).toEqual(new Uint8Array(big));
  });

  test("kafkajs with a wrong lastOffsetDelta is caught", async () => {
    const encoded = await RecordBatch({ lastOffsetDelta: 5, records: [Record({ key: null, value: "x" })] });
    const result = validateBatchForAppend(new Uint8Array(encoded.buffer));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errorCode).toBe(87);
  });
});

describe("kgate → kafkajs", () => {
  test("kafkajs's decoder reads our batch", async () => {
    const batch = buildRecordBatch({
      records: [
        { key: text("a"), value: text("one"), timestamp: T0, headers: [{ key: "x", value: text("1") }] },
        { key: null, value: null, timestamp: T0 - 1000 },
        { key: text("c"), value: new Uint8Array(300).fill(9), timestamp: T0 + 1000 },
      ],
      producerId: 5,
      producerEpoch: 1,
      baseSequence: 0,
    });
    rewriteBaseOffset(batch, 123_456_789_012);
    const decoded = await decodeKafkajsBatch(new Decoder(Buffer.from(batch)));
    expect(decoded.firstOffset).toBe("123456789012");
    expect(decoded.lastOffsetDelta).toBe(2);
    expect(decoded.producerId).toBe("5");
    expect(decoded.records.map((record) => record.offset)).toEqual(["123456789012", "123456789013", "123456789014"]);
    expect(decoded.records.map((record) => record.timestamp)).toEqual([String(T0), String(T0 - 1000), String(T0 + 1000)]);
    expect(decoded.records[0]!.key!.toString()).toBe("a");
    expect(decoded.records[0]!.value!.toString()).toBe("one");
    expect(decoded.records[0]!.headers).toEqual({ x: Buffer.from("1") });
    expect(decoded.records[1]!.key).toBeNull();
    expect(decoded.records[1]!.value).toBeNull();
    expect([...decoded.records[2]!.value!]).toEqual(new Array(300).fill(9));
    expect(readBatchHeader(batch).recordCount).toBe(3);
  });

  test("kafkajs re-encodes what it decoded from us into the same bytes", async () => {
    const batch = buildRecordBatch({
      records: [
        { key: text("k1"), value: text("v1"), timestamp: T0 },
        { key: text("k2"), value: text("v2"), timestamp: T0 + 7 },
      ],
      partitionLeaderEpoch: 0,
      producerEpoch: 0,
      baseSequence: 0,
    });
    const encoded = await RecordBatch({
      firstTimestamp: T0,
      maxTimestamp: T0 + 7,
      lastOffsetDelta: 1,
      records: [
        Record({ offsetDelta: 0, timestampDelta: 0, key: "k1", value: "v1" }),
        Record({ offsetDelta: 1, timestampDelta: 7, key: "k2", value: "v2" }),
      ],
    });
    expect(new Uint8Array(encoded.buffer)).toEqual(new Uint8Array(batch));
  });
});
