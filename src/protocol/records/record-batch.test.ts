import { describe, expect, test } from "bun:test";
import { ErrorCode } from "../error-codes.ts";
import { crc32c } from "./crc32c.ts";
import type { Codec } from "../../compression/index.ts";
import {
  ATTRIBUTES_OFFSET,
  BATCH_LENGTH_OFFSET,
  Compression,
  CONTROL_BIT,
  CRC_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORD_COUNT_OFFSET,
  RECORDS_OFFSET,
  TimestampType,
  buildRecordBatch,
  computeBatchCrc,
  decodeRecords,
  findOffsetForTimestamp,
  hasValidCrc,
  readBatchHeader,
  readProduceBatch,
  rewriteBaseOffset,
  setLogAppendTime,
  setMaxTimestamp,
  setPartitionLeaderEpoch,
  splitBatches,
  validateBatchForAppend,
  recompressBatch,
  batchRecordsSection,
  type RecordInput,
  type ValidateBatchResult,
} from "./record-batch.ts";

const text = (value: string) => new TextEncoder().encode(value);
const T0 = 1_700_000_000_000;

/** Recomputes the CRC after a test edits covered bytes, so the edit, not the CRC, is what validation sees. */
function fixCrc(batch: Uint8Array): Uint8Array {
  new DataView(batch.buffer, batch.byteOffset).setUint32(CRC_OFFSET, crc32c(batch.subarray(ATTRIBUTES_OFFSET)));
  return batch;
}

function view(batch: Uint8Array): DataView {
  return new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
}

function expectError(result: ValidateBatchResult | { ok: boolean; errorCode?: number }, errorCode: number): void {
  expect(result.ok).toBe(false);
  if (!result.ok) expect(result.errorCode).toBe(errorCode);
}

function simpleBatch(records: RecordInput[] = [{ key: text("k"), value: text("v1"), timestamp: T0 }]) {
  return buildRecordBatch({ records });
}

describe("batch bytes written by hand from the spec", () => {
  // One record, key "k", value "v1", no headers, at T0; no producer id; partitionLeaderEpoch -1.
  function handWritten(): Uint8Array {
    const record = [
      0x12, // length: 9 body bytes, zigzag → 18
      0x00, // attributes
      0x00, // timestampDelta 0
      0x00, // offsetDelta 0
      0x02, 0x6b, // key length 1 (zigzag 2), "k"
      0x04, 0x76, 0x31, // value length 2 (zigzag 4), "v1"
      0x00, // header count 0
    ];
    const batch = new Uint8Array(61 + record.length);
    const fields = new DataView(batch.buffer);
    fields.setBigInt64(0, 0n); // baseOffset
    fields.setInt32(8, batch.length - 12); // batchLength
    fields.setInt32(12, -1); // partitionLeaderEpoch
    fields.setInt8(16, 2); // magic
    fields.setInt16(21, 0); // attributes
    fields.setInt32(23, 0); // lastOffsetDelta
    fields.setBigInt64(27, BigInt(T0)); // baseTimestamp
    fields.setBigInt64(35, BigInt(T0)); // maxTimestamp
    fields.setBigInt64(43, -1n); // producerId
    fields.setInt16(51, -1); // producerEpoch
    fields.setInt32(53, -1); // baseSequence
    fields.setInt32(57, 1); // recordCount
    batch.set(record, 61);
    // CRC-32C of attributes → end, computed by kafkajs's implementation: independent of ours.
    const kafkajsCrc32c = require("kafkajs/src/protocol/recordBatch/crc32C") as (buffer: Buffer) => number;
    fields.setUint32(17, kafkajsCrc32c(Buffer.from(batch.subarray(21))));
    return batch;
  }

  test("buildRecordBatch writes exactly these bytes", () => {
    expect(simpleBatch()).toEqual(handWritten());
  });

  test("readBatchHeader reads each field", () => {
    const batch = handWritten();
    expect(readBatchHeader(batch)).toEqual({
      baseOffset: 0,
      batchLength: 59,
      partitionLeaderEpoch: -1,
      magic: 2,
      crc: view(batch).getUint32(17),
      attributes: 0,
      compression: 0,
      timestampType: TimestampType.createTime,
      transactional: false,
      control: false,
      hasDeleteHorizon: false,
      lastOffsetDelta: 0,
      baseTimestamp: T0,
      maxTimestamp: T0,
      producerId: -1,
      producerEpoch: -1,
      baseSequence: -1,
      recordCount: 1,
    });
  });

  test("validates and decodes", () => {
    const batch = handWritten();
    const result = validateBatchForAppend(batch);
    expect(result).toEqual({
      ok: true,
      info: {
        recordCount: 1,
        lastOffsetDelta: 0,
        firstTimestamp: T0,
        maxTimestamp: T0,
        maxTimestampOffsetDelta: 0,
        compression: 0,
        timestampType: TimestampType.createTime,
        transactional: false,
        producerId: -1,
        producerEpoch: -1,
        baseSequence: -1,
      },
    });
    const [record] = decodeRecords(batch);
    expect(record).toEqual({ offsetDelta: 0, timestampDelta: 0, timestamp: T0, key: text("k"), value: text("v1"), headers: [] });
    expect(record!.value!.buffer).toBe(batch.buffer); // a view, not a copy
  });
});

describe("build → validate → decode", () => {
  const big = new Uint8Array(20_000).map((_, i) => i & 0xff); // 3-byte varint length
  const medium = new Uint8Array(200).fill(7); // 2-byte varint length
  const records: RecordInput[] = [
    { key: text("a"), value: text("first"), timestamp: T0 + 500 },
    { key: null, value: null, timestamp: T0 - 70_000 }, // negative 3-byte timestampDelta, null key and value
    {
      key: medium,
      value: big,
      timestamp: T0 + 90_000,
      headers: [
        { key: "trace-id", value: text("abc") },
        { key: "ünïcödé", value: null },
        { key: "", value: new Uint8Array(0) },
      ],
    },
    { key: text("d"), value: new Uint8Array(0), timestamp: T0 + 90_000 }, // ties the max: the first one counts
  ];

  test("round trip keeps every field", () => {
    const batch = buildRecordBatch({ records, producerId: 4242, producerEpoch: 3, baseSequence: 17 });
    const result = validateBatchForAppend(batch);
    expect(result).toEqual({
      ok: true,
      info: {
        recordCount: 4,
        lastOffsetDelta: 3,
        firstTimestamp: T0 + 500,
        maxTimestamp: T0 + 90_000,
        maxTimestampOffsetDelta: 2,
        compression: 0,
        timestampType: TimestampType.createTime,
        transactional: false,
        producerId: 4242,
        producerEpoch: 3,
        baseSequence: 17,
      },
    });
    const decoded = decodeRecords(batch);
    expect(decoded.map((record) => record.offsetDelta)).toEqual([0, 1, 2, 3]);
    expect(decoded.map((record) => record.timestamp)).toEqual(records.map((record) => record.timestamp!));
    expect(decoded[1]!.timestampDelta).toBe(-70_500);
    expect(decoded[0]!.key).toEqual(text("a"));
    expect(decoded[1]!.key).toBeNull();
    expect(decoded[1]!.value).toBeNull();
    expect(decoded[2]!.key).toEqual(medium);
    expect(decoded[2]!.value).toEqual(big);
    expect(decoded[2]!.headers).toEqual(records[2]!.headers!);
    expect(decoded[3]!.value).toEqual(new Uint8Array(0));
    const header = readBatchHeader(batch);
    expect(header.baseTimestamp).toBe(T0 + 500);
    expect(header.maxTimestamp).toBe(T0 + 90_000);
  });

  test("a multi-byte record count and offset deltas", () => {
    const many = Array.from({ length: 300 }, (_, i) => ({ key: null, value: text(`v${i}`), timestamp: T0 + i }));
    const batch = buildRecordBatch({ records: many });
    const result = validateBatchForAppend(batch);
    expect(result.ok && result.info).toMatchObject({ recordCount: 300, lastOffsetDelta: 299, maxTimestampOffsetDelta: 299 });
    expect(decodeRecords(batch)[299]!.value).toEqual(text("v299"));
  });

  test("transactional and LogAppendTime batches", () => {
    const batch = buildRecordBatch({
      records: [{ value: text("x"), timestamp: T0 }],
      transactional: true,
      producerId: 9,
      producerEpoch: 0,
      baseSequence: 0,
      timestampType: TimestampType.logAppendTime,
      logAppendTimeMs: T0 + 5,
    });
    const header = readBatchHeader(batch);
    expect(header.transactional).toBe(true);
    expect(header.timestampType).toBe(TimestampType.logAppendTime);
    expect(header.maxTimestamp).toBe(T0 + 5);
    const result = validateBatchForAppend(batch);
    expect(result.ok && result.info).toMatchObject({ transactional: true, maxTimestamp: T0 + 5, firstTimestamp: T0 + 5 });
    expect(decodeRecords(batch)[0]!.timestamp).toBe(T0 + 5);
  });
});

describe("validation errors", () => {
  test("corrupted CRC → CORRUPT_MESSAGE", () => {
    const batch = simpleBatch();
    batch[batch.length - 2]! ^= 0x01; // inside the value
    expectError(validateBatchForAppend(batch), ErrorCode.CORRUPT_MESSAGE);
    const crcFlipped = simpleBatch();
    crcFlipped[CRC_OFFSET]! ^= 0x80;
    expectError(validateBatchForAppend(crcFlipped), ErrorCode.CORRUPT_MESSAGE);
  });

  test("truncated batch → CORRUPT_MESSAGE", () => {
    const batch = simpleBatch();
    expectError(validateBatchForAppend(batch.subarray(0, batch.length - 1)), ErrorCode.CORRUPT_MESSAGE);
    expectError(validateBatchForAppend(batch.subarray(0, 11)), ErrorCode.CORRUPT_MESSAGE);
    expectError(validateBatchForAppend(new Uint8Array(0)), ErrorCode.CORRUPT_MESSAGE);
  });

  test("length field lying either way → CORRUPT_MESSAGE", () => {
    for (const delta of [-1, 1, 1000, -1000]) {
      const batch = simpleBatch();
      view(batch).setInt32(BATCH_LENGTH_OFFSET, batch.length - 12 + delta);
      expectError(validateBatchForAppend(batch), ErrorCode.CORRUPT_MESSAGE);
    }
  });

  test("a header-sized buffer shorter than the header → CORRUPT_MESSAGE", () => {
    const short = simpleBatch().slice(0, 40);
    view(short).setInt32(BATCH_LENGTH_OFFSET, 28);
    expectError(validateBatchForAppend(short), ErrorCode.CORRUPT_MESSAGE);
  });

  test("wrong magic → INVALID_RECORD", () => {
    for (const magic of [0, 1, 3]) {
      const batch = simpleBatch();
      batch[MAGIC_OFFSET] = magic;
      expectError(validateBatchForAppend(batch), ErrorCode.INVALID_RECORD);
    }
  });

  test("bad offset deltas → INVALID_RECORD with the record's index", () => {
    const batch = buildRecordBatch({
      records: [
        { value: text("a"), timestamp: T0 },
        { value: text("b"), timestamp: T0 },
      ],
    });
    // The first record is 1 length byte + 7 body bytes (attributes, timestampDelta, offsetDelta, null key, value
    // length, "a", header count); the second record's offsetDelta is 3 bytes in and reads 0x02 (zigzag 1).
    const second = RECORDS_OFFSET + 8;
    expect(batch[second + 3]).toBe(0x02);
    for (const wrong of [0x00, 0x04, 0x01 /* -1 */]) {
      const edited = batch.slice();
      edited[second + 3] = wrong;
      const result = validateBatchForAppend(fixCrc(edited));
      expectError(result, ErrorCode.INVALID_RECORD);
      expect(!result.ok && result.recordIndex).toBe(1);
    }
  });

  test("recordCount and lastOffsetDelta disagreeing or out of range → INVALID_RECORD", () => {
    const cases: [number, number][] = [
      [2, 0], // recordCount, lastOffsetDelta
      [1, 1],
      [0, -1],
      [0, 0],
      [-5, 0],
      [1, -1],
    ];
    for (const [recordCount, lastOffsetDelta] of cases) {
      const batch = simpleBatch();
      view(batch).setInt32(RECORD_COUNT_OFFSET, recordCount);
      view(batch).setInt32(LAST_OFFSET_DELTA_OFFSET, lastOffsetDelta);
      expectError(validateBatchForAppend(fixCrc(batch)), ErrorCode.INVALID_RECORD);
    }
  });

  test("more records claimed than present, and bytes after the last → INVALID_RECORD", () => {
    const batch = simpleBatch();
    view(batch).setInt32(RECORD_COUNT_OFFSET, 2);
    view(batch).setInt32(LAST_OFFSET_DELTA_OFFSET, 1);
    expectError(validateBatchForAppend(fixCrc(batch)), ErrorCode.INVALID_RECORD);

    const padded = new Uint8Array(simpleBatch().length + 3);
    padded.set(simpleBatch());
    view(padded).setInt32(BATCH_LENGTH_OFFSET, padded.length - 12);
    expectError(validateBatchForAppend(fixCrc(padded)), ErrorCode.INVALID_RECORD);
  });

  test("record length lying, fields overrunning the record → INVALID_RECORD", () => {
    for (const [at, value] of [
      [RECORDS_OFFSET, 0x10], // length 8 instead of 9
      [RECORDS_OFFSET, 0x01], // length -1
      [RECORDS_OFFSET + 4, 0x7e], // key length 63
      [RECORDS_OFFSET + 4, 0x03], // key length -2
      [RECORDS_OFFSET + 9, 0x02], // one header that is not there
      [RECORDS_OFFSET + 9, 0x01], // -1 headers
      [RECORDS_OFFSET + 2, 0xff], // an unterminated timestampDelta
    ] as const) {
      const batch = simpleBatch();
      batch[at] = value;
      expectError(validateBatchForAppend(fixCrc(batch)), ErrorCode.INVALID_RECORD);
    }
  });

  test("a control batch from a client → INVALID_RECORD", () => {
    const batch = buildRecordBatch({ records: [{ value: text("x"), timestamp: T0 }], control: true });
    expectError(validateBatchForAppend(batch), ErrorCode.INVALID_RECORD);
  });

  test("producer id rules", () => {
    // An idempotent (non-transactional) batch with a producer id is fine...
    expect(validateBatchForAppend(buildRecordBatch({ records: [{ value: null }], producerId: 7, producerEpoch: 0, baseSequence: 0 })).ok).toBe(true);
    // ...but needs a sequence.
    expectError(
      validateBatchForAppend(buildRecordBatch({ records: [{ value: null }], producerId: 7, baseSequence: -1 })),
      ErrorCode.INVALID_RECORD,
    );
    // Transactional needs a producer id.
    expectError(validateBatchForAppend(buildRecordBatch({ records: [{ value: null }], transactional: true })), ErrorCode.INVALID_RECORD);
    // Producer ids outside -1 and [0, 2^53) are refused rather than rounded.
    for (const [high, low] of [
      [0x7fffffff, 0xffffffff],
      [-1, 0xfffffffe],
      [0x00200000, 0],
    ]) {
      const batch = buildRecordBatch({ records: [{ value: null }], producerId: 1, baseSequence: 0 });
      view(batch).setInt32(PRODUCER_ID_OFFSET, high!);
      view(batch).setUint32(PRODUCER_ID_OFFSET + 4, low!);
      expectError(validateBatchForAppend(fixCrc(batch)), ErrorCode.INVALID_RECORD);
    }
  });

  test("unknown compression id → UNSUPPORTED_COMPRESSION_TYPE", () => {
    const batch = simpleBatch();
    view(batch).setInt16(ATTRIBUTES_OFFSET, 5);
    expectError(validateBatchForAppend(fixCrc(batch)), ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
  });

  test("timestamps: producer LogAppendTime on a LogAppendTime topic, and the CreateTime bounds → INVALID_TIMESTAMP", () => {
    const logAppend = buildRecordBatch({ records: [{ value: null, timestamp: T0 }], timestampType: TimestampType.logAppendTime });
    expectError(validateBatchForAppend(logAppend, { timestampType: TimestampType.logAppendTime }), ErrorCode.INVALID_TIMESTAMP);
    expect(validateBatchForAppend(logAppend).ok).toBe(true);

    const batch = buildRecordBatch({
      records: [
        { value: null, timestamp: T0 },
        { value: null, timestamp: T0 + 10_000 },
      ],
    });
    const bounds = { nowMs: T0 + 1000, timestampBeforeMaxMs: 5000, timestampAfterMaxMs: 5000 };
    const result = validateBatchForAppend(batch, bounds);
    expectError(result, ErrorCode.INVALID_TIMESTAMP);
    expect(!result.ok && result.recordIndex).toBe(1);
    expect(validateBatchForAppend(batch, { ...bounds, timestampAfterMaxMs: 9000 }).ok).toBe(true);
    expectError(validateBatchForAppend(batch, { ...bounds, nowMs: T0 + 6000, timestampAfterMaxMs: 9000 }), ErrorCode.INVALID_TIMESTAMP);
    // A LogAppendTime topic does not look at create times.
    expect(validateBatchForAppend(batch, { ...bounds, timestampType: TimestampType.logAppendTime }).ok).toBe(true);
  });

  test("keys are required on compacted topics", () => {
    const batch = buildRecordBatch({ records: [{ key: text("k"), value: null }, { key: null, value: text("v") }] });
    const result = validateBatchForAppend(batch, { keyRequired: true });
    expectError(result, ErrorCode.INVALID_RECORD);
    expect(!result.ok && result.recordIndex).toBe(1);
    expect(validateBatchForAppend(batch).ok).toBe(true);
  });

  test("a compressed batch whose records section does not decompress is INVALID_RECORD; a CRC error stays CORRUPT_MESSAGE", () => {
    const batch = simpleBatch();
    view(batch).setInt16(ATTRIBUTES_OFFSET, Compression.gzip);
    batch.fill(0xee, RECORDS_OFFSET); // not gzip
    const result = validateBatchForAppend(fixCrc(batch));
    expectError(result, ErrorCode.INVALID_RECORD);
    expect(!result.ok && result.message).toContain("does not decompress");
    batch[RECORDS_OFFSET]! ^= 1;
    expectError(validateBatchForAppend(batch), ErrorCode.CORRUPT_MESSAGE);
    expect(() => decodeRecords(batch)).toThrow("compressed");
  });

  test("random damage never throws", () => {
    const original = buildRecordBatch({
      records: [
        { key: text("key"), value: text("value"), headers: [{ key: "h", value: text("1") }], timestamp: T0 },
        { key: null, value: new Uint8Array(300).fill(1), timestamp: T0 - 5 },
      ],
    });
    let seed = 12345;
    const random = (below: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % below;
    };
    for (let round = 0; round < 5000; round++) {
      const batch = original.slice();
      for (let edits = 1 + random(3); edits > 0; edits--) batch[random(batch.length)] = random(256);
      if (random(2) === 0) fixCrc(batch);
      const cut = random(4) === 0 ? batch.subarray(0, random(batch.length)) : batch;
      const result = validateBatchForAppend(cut);
      if (result.ok) expect(() => decodeRecords(cut)).not.toThrow();
      expect(() => splitBatches(cut)).not.toThrow();
      expect(() => readProduceBatch(cut, 9)).not.toThrow();
    }
  });
});

describe("in-place rewrites", () => {
  test("rewriteBaseOffset writes both halves and keeps the CRC valid", () => {
    const batch = simpleBatch();
    const crc = view(batch).getUint32(CRC_OFFSET);
    const offset = 2 ** 40 + 0x01020304;
    rewriteBaseOffset(batch, offset);
    expect([...batch.subarray(0, 8)]).toEqual([0x00, 0x00, 0x01, 0x00, 0x01, 0x02, 0x03, 0x04]);
    expect(readBatchHeader(batch).baseOffset).toBe(offset);
    expect(view(batch).getUint32(CRC_OFFSET)).toBe(crc);
    expect(validateBatchForAppend(batch).ok).toBe(true);
    expect(() => rewriteBaseOffset(batch, -1)).toThrow(RangeError);
    expect(() => rewriteBaseOffset(batch, 2 ** 53)).toThrow(RangeError);
  });

  test("setPartitionLeaderEpoch keeps the CRC valid", () => {
    const batch = simpleBatch();
    setPartitionLeaderEpoch(batch, 7);
    expect(readBatchHeader(batch).partitionLeaderEpoch).toBe(7);
    expect(hasValidCrc(batch)).toBe(true);
  });

  test("setLogAppendTime sets the type bit and maxTimestamp, keeps baseTimestamp, recomputes the CRC", () => {
    const batch = buildRecordBatch({
      records: [
        { value: text("a"), timestamp: T0 },
        { value: text("b"), timestamp: T0 + 3 },
      ],
      transactional: true,
      producerId: 1,
      baseSequence: 0,
    });
    const before = view(batch).getUint32(CRC_OFFSET);
    setLogAppendTime(batch, T0 + 99);
    const header = readBatchHeader(batch);
    expect(header.timestampType).toBe(TimestampType.logAppendTime);
    expect(header.transactional).toBe(true); // other attribute bits stay
    expect(header.maxTimestamp).toBe(T0 + 99);
    expect(header.baseTimestamp).toBe(T0);
    expect(header.crc).not.toBe(before);
    expect(header.crc).toBe(crc32c(batch.subarray(ATTRIBUTES_OFFSET)));
    expect(validateBatchForAppend(batch).ok).toBe(true);
    expect(decodeRecords(batch).map((record) => record.timestamp)).toEqual([T0 + 99, T0 + 99]);
  });

  test("setMaxTimestamp with CreateTime stores a recomputed max; a no-op leaves the bytes alone", () => {
    const batch = simpleBatch();
    view(batch).setBigInt64(MAX_TIMESTAMP_OFFSET, BigInt(T0 + 1000)); // a producer's wrong max
    fixCrc(batch);
    const result = validateBatchForAppend(batch);
    expect(result.ok && result.info.maxTimestamp).toBe(T0);
    setMaxTimestamp(batch, TimestampType.createTime, T0);
    expect(readBatchHeader(batch).maxTimestamp).toBe(T0);
    expect(hasValidCrc(batch)).toBe(true);
    const copy = batch.slice();
    view(copy).setUint32(CRC_OFFSET, 0); // not recomputed when nothing changes
    setMaxTimestamp(copy, TimestampType.createTime, T0);
    expect(view(copy).getUint32(CRC_OFFSET)).toBe(0);
    expect(computeBatchCrc(copy)).toBe(readBatchHeader(batch).crc);
  });
});

describe("splitBatches", () => {
  const first = simpleBatch();
  const second = buildRecordBatch({ records: [{ value: new Uint8Array(1000) }, { value: null }] });
  const third = buildRecordBatch({ records: [{ key: text("x"), value: text("y") }] });
  const blob = new Uint8Array(first.length + second.length + third.length);
  blob.set(first, 0);
  blob.set(second, first.length);
  blob.set(third, first.length + second.length);

  test("several concatenated batches → views of each", () => {
    const result = splitBatches(blob);
    expect(result.ok).toBe(true);
    expect(result.batches).toEqual([first, second, third]);
    expect(result.batches.every((batch) => batch.buffer === blob.buffer)).toBe(true);
    expect(splitBatches(new Uint8Array(0))).toEqual({ ok: true, batches: [] });
  });

  test("a truncated last batch → CORRUPT_MESSAGE after the whole ones, with its position", () => {
    const result = splitBatches(blob.subarray(0, blob.length - 1));
    expectError(result, ErrorCode.CORRUPT_MESSAGE);
    expect(result.batches).toEqual([first, second]);
    expect(!result.ok && result.position).toBe(first.length + second.length);
    const tail = splitBatches(blob.subarray(0, first.length + 5));
    expectError(tail, ErrorCode.CORRUPT_MESSAGE);
    expect(tail.batches).toEqual([first]);
  });

  test("garbage", () => {
    expectError(splitBatches(text("hello, this is not a record batch at all")), ErrorCode.CORRUPT_MESSAGE);
    const wrongMagic = first.slice();
    wrongMagic[MAGIC_OFFSET] = 1;
    expectError(splitBatches(wrongMagic), ErrorCode.INVALID_RECORD);
    const tiny = first.slice(0, 20);
    view(tiny).setInt32(BATCH_LENGTH_OFFSET, 8);
    expectError(splitBatches(tiny), ErrorCode.CORRUPT_MESSAGE);
    const negative = first.slice();
    view(negative).setInt32(BATCH_LENGTH_OFFSET, -100);
    expectError(splitBatches(negative), ErrorCode.CORRUPT_MESSAGE);
  });
});

describe("readProduceBatch (Kafka's ProduceRequest.validateRecords)", () => {
  const batch = simpleBatch();
  test("one batch", () => {
    const result = readProduceBatch(batch, 9);
    expect(result).toEqual({ ok: true, batch });
    const withTail = new Uint8Array(batch.length + 5);
    withTail.set(batch);
    expect(readProduceBatch(withTail, 9)).toEqual({ ok: true, batch }); // short trailing bytes ignored, as Kafka does
  });
  test("none, two, wrong magic, zstd before v7", () => {
    expectError(readProduceBatch(new Uint8Array(0), 9), ErrorCode.INVALID_RECORD);
    expectError(readProduceBatch(batch.subarray(0, 40), 9), ErrorCode.INVALID_RECORD); // no whole batch
    const two = new Uint8Array(batch.length * 2);
    two.set(batch);
    two.set(batch, batch.length);
    expectError(readProduceBatch(two, 9), ErrorCode.INVALID_RECORD);
    const magic1 = batch.slice();
    magic1[MAGIC_OFFSET] = 1;
    expectError(readProduceBatch(magic1, 9), ErrorCode.INVALID_RECORD);
    const zstd = batch.slice();
    view(zstd).setInt16(ATTRIBUTES_OFFSET, Compression.zstd);
    expectError(readProduceBatch(zstd, 6), ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
    expect(readProduceBatch(zstd, 7).ok).toBe(true);
    const lengthBelowMagic = batch.slice();
    view(lengthBelowMagic).setInt32(BATCH_LENGTH_OFFSET, 4);
    expectError(readProduceBatch(lengthBelowMagic, 9), ErrorCode.CORRUPT_MESSAGE);
  });
});

describe("findOffsetForTimestamp", () => {
  const batch = buildRecordBatch({
    baseOffset: 1000,
    records: [10, 50, 300, 200].map((delta) => ({ value: null, timestamp: T0 + delta })),
  });
  test("the first record at or after the target, with its timestamp", () => {
    expect(findOffsetForTimestamp(batch, 0)).toEqual({ offset: 1000, timestamp: T0 + 10 });
    expect(findOffsetForTimestamp(batch, T0 + 11)).toEqual({ offset: 1001, timestamp: T0 + 50 });
    expect(findOffsetForTimestamp(batch, T0 + 200)).toEqual({ offset: 1002, timestamp: T0 + 300 });
    expect(findOffsetForTimestamp(batch, T0 + 300)).toEqual({ offset: 1002, timestamp: T0 + 300 });
    expect(findOffsetForTimestamp(batch, T0 + 301)).toBeNull();
  });
  test("LogAppendTime and compressed batches answer from the header", () => {
    const stamped = batch.slice();
    setLogAppendTime(stamped, T0 + 5000);
    expect(findOffsetForTimestamp(stamped, T0 + 4000)).toEqual({ offset: 1000, timestamp: T0 + 5000 });
    expect(findOffsetForTimestamp(stamped, T0 + 5001)).toBeNull();
    const compressed = batch.slice();
    view(compressed).setInt16(ATTRIBUTES_OFFSET, Compression.lz4);
    expect(findOffsetForTimestamp(compressed, T0 + 200)).toEqual({ offset: 1000, timestamp: T0 + 300 });
  });
});

test("CONTROL_BIT is bit 5", () => {
  expect(CONTROL_BIT).toBe(0x20);
});

describe("compressed batches", () => {
  const codecs = [Compression.gzip, Compression.snappy, Compression.lz4, Compression.zstd];
  const records: RecordInput[] = [
    { key: text("a"), value: text("first"), timestamp: T0 + 5 },
    { key: null, value: text("second"), timestamp: T0 + 20, headers: [{ key: "h", value: text("v") }] },
    { key: text("c"), value: null, timestamp: T0 + 10 },
  ];

  /** The batch with its records section replaced by `section` compressed in `codec`; header fields kept, CRC redone. */
  function withSection(batch: Uint8Array, section: Uint8Array, codec: number): Uint8Array {
    return fixCrc(recompressBatch(batch, section, codec as Codec));
  }

  test("every codec: validation walks the decompressed records and reports their timestamps", () => {
    for (const compression of codecs) {
      const batch = buildRecordBatch({ records, compression });
      expect(batch[ATTRIBUTES_OFFSET + 1]! & 0x07).toBe(compression);
      const result = validateBatchForAppend(batch, { keepDecompressedRecords: true });
      if (!result.ok) throw new Error(result.message);
      expect(result.info).toMatchObject({ recordCount: 3, compression, firstTimestamp: T0 + 5, maxTimestamp: T0 + 20, maxTimestampOffsetDelta: 1 });
      const decoded = decodeRecords(batch, result.decompressedRecords);
      expect(decoded.map((record) => [record.offsetDelta, record.timestamp, record.value])).toEqual([
        [0, T0 + 5, text("first")],
        [1, T0 + 20, text("second")],
        [2, T0 + 10, null],
      ]);
      expect(decoded[1]!.headers).toEqual([{ key: "h", value: text("v") }]);
    }
  });

  test("inside a compressed section: a wrong offset delta, a missing record and trailing bytes are INVALID_RECORD", () => {
    const plain = buildRecordBatch({ records });
    const section = plain.subarray(RECORDS_OFFSET);
    for (const compression of codecs) {
      const template = buildRecordBatch({ records, compression });
      // Record 1's offsetDelta (after its length varint, attributes and timestamp delta) set to 5.
      const badDelta = section.slice();
      const record0Length = badDelta[0]! >> 1;
      const record1 = 1 + record0Length;
      expect(badDelta[record1 + 3]).toBe(2); // zigzag(1)
      badDelta[record1 + 3] = 10; // zigzag(5)
      const result = validateBatchForAppend(withSection(template, badDelta, compression));
      expectError(result, ErrorCode.INVALID_RECORD);
      expect(!result.ok && result.recordIndex).toBe(1);
      expectError(validateBatchForAppend(withSection(template, section.subarray(0, record1), compression)), ErrorCode.INVALID_RECORD);
      const trailing = new Uint8Array(section.length + 3);
      trailing.set(section);
      expectError(validateBatchForAppend(withSection(template, trailing, compression)), ErrorCode.INVALID_RECORD);
    }
  });

  test("a section over decompressedBytesMax is refused as a bomb", () => {
    const batch = buildRecordBatch({ records: [{ value: new Uint8Array(2 * 1024 * 1024) }], compression: Compression.zstd });
    expect(batch.length).toBeLessThan(4096);
    const result = validateBatchForAppend(batch, { decompressedBytesMax: 1024 * 1024 });
    expectError(result, ErrorCode.INVALID_RECORD);
    expect(!result.ok && result.message).toContain("would expand past 1048576 bytes");
    expect(validateBatchForAppend(batch, { decompressedBytesMax: 4 * 1024 * 1024 }).ok).toBe(true);
  });

  test("recompressBatch changes only the codec bits, the records section, batchLength and CRC", () => {
    const gzip = buildRecordBatch({ records, compression: Compression.gzip, producerId: 7, producerEpoch: 1, baseSequence: 3 });
    const validated = validateBatchForAppend(gzip, { keepDecompressedRecords: true });
    if (!validated.ok) throw new Error(validated.message);
    for (const target of [Compression.none, Compression.zstd]) {
      const rebuilt = recompressBatch(gzip, validated.decompressedRecords!, target as Codec);
      expect(hasValidCrc(rebuilt)).toBe(true);
      const header = readBatchHeader(rebuilt);
      expect(header).toMatchObject({ ...readBatchHeader(gzip), compression: target, attributes: target, batchLength: rebuilt.length - 12, crc: header.crc });
      const again = validateBatchForAppend(rebuilt);
      expect(again.ok && again.info.maxTimestamp).toBe(T0 + 20);
    }
  });

  test("findOffsetForTimestamp walks decompressed records; without them it answers the batch start", () => {
    const batch = buildRecordBatch({ records, compression: Compression.lz4, baseOffset: 100 });
    const section = batchRecordsSection(batch);
    if (!section.ok) throw new Error(section.message);
    expect(findOffsetForTimestamp(batch, T0 + 15, section.data)).toEqual({ offset: 101, timestamp: T0 + 20 });
    expect(findOffsetForTimestamp(batch, T0 + 15)).toEqual({ offset: 100, timestamp: T0 + 20 });
    expect(findOffsetForTimestamp(batch, T0 + 21, section.data)).toBeNull();
  });
});
