import { describe, expect, test } from "bun:test";
import { compress, Codec } from "../compression/index.ts";
import { readInt16, readInt32, readInt64, writeInt32 } from "../protocol/records/big-endian.ts";
import {
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BATCH_LENGTH_OFFSET,
  COMPRESSION_MASK,
  CRC_OFFSET,
  Compression,
  LAST_OFFSET_DELTA_OFFSET,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORD_COUNT_OFFSET,
  RECORDS_OFFSET,
  TIMESTAMP_TYPE_BIT,
  TRANSACTIONAL_BIT,
  TimestampType,
  buildRecordBatch,
  computeBatchCrc,
  decodeRecords,
  hasValidCrc,
  readBatchHeader,
  validateBatchForAppend,
  type DecodedRecord,
  type RecordInput,
} from "../protocol/records/record-batch.ts";
import { keyPartition } from "./murmur2.ts";
import {
  ForwardBatchError,
  PROVENANCE_HEADER_KEY,
  collectSchemaIds,
  isVerbatimForward,
  prepareForward,
  stampProducer,
  type ForwardOptions,
  type OutgoingBatch,
} from "./forward-batches.ts";

const text = (value: string) => new TextEncoder().encode(value);
const utf8 = new TextDecoder();
const T0 = 1_700_000_000_000;
const CODECS: Codec[] = [Codec.none, Codec.gzip, Codec.snappy, Codec.lz4, Codec.zstd];
const CODEC_NAMES = ["none", "gzip", "snappy", "lz4", "zstd"];

const VERBATIM: ForwardOptions = { sourcePartition: 3, nextOffset: 0, provenance: null, keyPartitions: null, mergeBytesMax: 1 << 20 };
const PROVENANCE: ForwardOptions = { ...VERBATIM, provenance: { edgeId: "edge-1", topic: "orders", partition: 3 } };

/** Varied records: keys (some null), values (some null, some empty), headers (some with null values), timestamps out of order. */
function sampleRecords(count: number, from = 0): RecordInput[] {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    return {
      key: n % 7 === 3 ? null : text(`key-${n}`),
      value: n % 11 === 5 ? null : n % 13 === 4 ? new Uint8Array(0) : text(`value-${n}-${"x".repeat(n % 50)}`),
      headers: n % 3 === 0 ? [] : [{ key: "h1", value: text(`hv-${n}`) }, ...(n % 2 ? [{ key: "h2", value: null }] : [])],
      timestamp: T0 + n * 10 - (n % 4) * 25,
    };
  });
}

function batchOf(baseOffset: number, records: RecordInput[], compression: Compression = Compression.none, extra: Partial<Parameters<typeof buildRecordBatch>[0]> = {}): Uint8Array {
  return buildRecordBatch({ baseOffset, records, compression, ...extra });
}

/** Validates an output as kgate's Produce would, then decodes its records. */
function decodeOutput(output: OutgoingBatch): DecodedRecord[] {
  const { batch } = output;
  const result = validateBatchForAppend(batch, { keepDecompressedRecords: true });
  if (!result.ok) throw new Error(`output fails validation: ${result.message}`);
  expect(hasValidCrc(batch)).toBe(true);
  expect(result.info.recordCount).toBe(output.records);
  return decodeRecords(batch, result.decompressedRecords);
}

/** A stored batch's records with their offsets (baseOffset + offsetDelta). */
function decodeInput(batch: Uint8Array): (DecodedRecord & { offset: number })[] {
  const result = validateBatchForAppend(batch, { keepDecompressedRecords: true });
  const header = readBatchHeader(batch);
  const decompressed = result.ok ? result.decompressedRecords : undefined;
  return decodeRecords(batch, header.compression !== 0 ? (decompressed ?? rawSection(batch)) : undefined).map((record) => ({
    ...record,
    offset: header.baseOffset + record.offsetDelta,
  }));
}

/** The uncompressed records section of a hand-built gapped batch (validation refuses those, so no decompressed copy). */
function rawSection(batch: Uint8Array): Uint8Array {
  return batch.subarray(RECORDS_OFFSET);
}

function expectSameRecord(actual: DecodedRecord, expected: DecodedRecord, extraHeaders = 0): void {
  expect(actual.key).toEqual(expected.key);
  expect(actual.value).toEqual(expected.value);
  expect(actual.timestamp).toBe(expected.timestamp);
  expect(actual.headers.length).toBe(expected.headers.length + extraHeaders);
  expect(actual.headers.slice(0, expected.headers.length)).toEqual(expected.headers);
}

function provenanceOf(record: DecodedRecord): string {
  const header = record.headers[record.headers.length - 1]!;
  expect(header.key).toBe(PROVENANCE_HEADER_KEY);
  return utf8.decode(header.value!);
}

function expectOutgoingHeader(batch: Uint8Array): void {
  expect(readInt64(batch, BASE_OFFSET_OFFSET)).toBe(0);
  expect(readInt32(batch, PARTITION_LEADER_EPOCH_OFFSET)).toBe(-1);
  expect(readInt64(batch, PRODUCER_ID_OFFSET)).toBe(-1);
  expect(readInt16(batch, PRODUCER_EPOCH_OFFSET)).toBe(-1);
  expect(readInt32(batch, BASE_SEQUENCE_OFFSET)).toBe(-1);
  expect(readInt16(batch, ATTRIBUTES_OFFSET) & TRANSACTIONAL_BIT).toBe(0);
  expect(readInt32(batch, BATCH_LENGTH_OFFSET)).toBe(batch.length - 12);
  expect(hasValidCrc(batch)).toBe(true);
}

// --- Hand-built batches (gaps and damage buildRecordBatch cannot make) ---------------------------------------------

function varint(value: number): number[] {
  let raw = ((value << 1) ^ (value >> 31)) >>> 0;
  const bytes: number[] = [];
  while (raw >= 0x80) {
    bytes.push((raw & 0x7f) | 0x80);
    raw >>>= 7;
  }
  bytes.push(raw);
  return bytes;
}

function field(bytes: Uint8Array | null): number[] {
  return bytes === null ? varint(-1) : [...varint(bytes.length), ...bytes];
}

/** One record: length, attributes, deltas, key, value, headers. */
function encodeRecord(offsetDelta: number, timestampDelta: number, key: Uint8Array | null, value: Uint8Array | null, headers: [string, Uint8Array | null][] = []): number[] {
  const body = [0, ...varint(timestampDelta), ...varint(offsetDelta), ...field(key), ...field(value), ...varint(headers.length)];
  for (const [headerKey, headerValue] of headers) body.push(...field(text(headerKey)), ...field(headerValue));
  return [...varint(body.length), ...body];
}

/** A batch with the given records section (already encoded) and header fields; CRC valid. */
function rawBatch(options: { baseOffset: number; lastOffsetDelta: number; recordCount: number; section: Uint8Array; attributes?: number; baseTimestamp?: number; maxTimestamp?: number }): Uint8Array {
  const batch = new Uint8Array(RECORDS_OFFSET + options.section.length);
  const view = new DataView(batch.buffer);
  view.setBigInt64(0, BigInt(options.baseOffset));
  view.setInt32(BATCH_LENGTH_OFFSET, batch.length - 12);
  view.setInt32(PARTITION_LEADER_EPOCH_OFFSET, -1);
  batch[MAGIC_OFFSET] = 2;
  view.setInt16(ATTRIBUTES_OFFSET, options.attributes ?? 0);
  view.setInt32(LAST_OFFSET_DELTA_OFFSET, options.lastOffsetDelta);
  view.setBigInt64(27, BigInt(options.baseTimestamp ?? T0));
  view.setBigInt64(MAX_TIMESTAMP_OFFSET, BigInt(options.maxTimestamp ?? T0));
  view.setBigInt64(PRODUCER_ID_OFFSET, -1n);
  view.setInt16(PRODUCER_EPOCH_OFFSET, -1);
  view.setInt32(BASE_SEQUENCE_OFFSET, -1);
  view.setInt32(RECORD_COUNT_OFFSET, options.recordCount);
  batch.set(options.section, RECORDS_OFFSET);
  fixCrc(batch);
  return batch;
}

function fixCrc(batch: Uint8Array): Uint8Array {
  writeInt32(batch, CRC_OFFSET, computeBatchCrc(batch));
  return batch;
}

/** A compacted batch: offsets 0..9 at base 40 with only the even deltas kept. */
function gappedBatch(codec: Codec = Codec.none): Uint8Array {
  const section: number[] = [];
  for (const delta of [0, 2, 4, 6, 8]) section.push(...encodeRecord(delta, delta * 5, text(`k${delta}`), text(`v${delta}`), [["h", text(`${delta}`)]]));
  return rawBatch({ baseOffset: 40, lastOffsetDelta: 9, recordCount: 5, section: compress(codec, new Uint8Array(section)), attributes: codec });
}

// --- Tests ---------------------------------------------------------------------------------------------------------

describe("isVerbatimForward", () => {
  test("only without provenance, key partitioning and schema rewriting", () => {
    expect(isVerbatimForward(VERBATIM)).toBe(true);
    expect(isVerbatimForward(PROVENANCE)).toBe(false);
    expect(isVerbatimForward({ ...VERBATIM, keyPartitions: 4 })).toBe(false);
    expect(isVerbatimForward({ ...VERBATIM, schemaId: () => null })).toBe(false);
  });
});

describe("verbatim path", () => {
  for (const codec of CODECS) {
    test(`${CODEC_NAMES[codec]}: a byte copy but for offsets, epoch, producer fields, transactional bit and CRC`, () => {
      const input = batchOf(100, sampleRecords(20), codec, {
        partitionLeaderEpoch: 7,
        producerId: 4242,
        producerEpoch: 3,
        baseSequence: 17,
        transactional: true,
      });
      const before = input.slice();
      const [output, ...rest] = prepareForward([input], VERBATIM);
      expect(rest).toEqual([]);
      expect(output!.batch.buffer).not.toBe(input.buffer);
      expect(output!.partition).toBe(3);
      expect(output!.records).toBe(20);
      expect(output!.firstOffset).toBe(100);
      expect(output!.lastOffset).toBe(119);
      const batch = output!.batch;
      expect(batch.length).toBe(input.length);
      expectOutgoingHeader(batch);
      expect(readInt16(batch, ATTRIBUTES_OFFSET)).toBe(codec);
      const rewritten = new Set<number>();
      for (const [from, to] of [[0, 8], [12, 16], [17, 23], [43, 57]] as const) for (let i = from; i < to; i++) rewritten.add(i);
      for (let i = 0; i < batch.length; i++) if (!rewritten.has(i)) expect(batch[i]).toBe(input[i]!);
      expect(input).toEqual(before);
      const records = decodeOutput(output!);
      const expected = decodeInput(input);
      expect(records.length).toBe(expected.length);
      records.forEach((record, i) => expectSameRecord(record, expected[i]!));
    });
  }

  test("skips batches below nextOffset, copies a straddling batch whole", () => {
    const batches = [batchOf(0, sampleRecords(10)), batchOf(10, sampleRecords(10, 10)), batchOf(20, sampleRecords(10, 20))];
    const outputs = prepareForward(batches, { ...VERBATIM, nextOffset: 15 });
    expect(outputs.map((o) => [o.firstOffset, o.lastOffset, o.records])).toEqual([
      [10, 19, 10],
      [20, 29, 10],
    ]);
    expect(prepareForward(batches, { ...VERBATIM, nextOffset: 30 })).toEqual([]);
    expect(prepareForward(batches, { ...VERBATIM, nextOffset: 29 }).length).toBe(1);
  });

  test("keeps the LogAppendTime bit and the stamp", () => {
    const input = batchOf(5, sampleRecords(3), Compression.lz4, { timestampType: TimestampType.logAppendTime, logAppendTimeMs: T0 + 999 });
    const [output] = prepareForward([input], VERBATIM);
    expect(readInt16(output!.batch, ATTRIBUTES_OFFSET)).toBe(Compression.lz4 | TIMESTAMP_TYPE_BIT);
    for (const record of decodeOutput(output!)) expect(record.timestamp).toBe(T0 + 999);
  });

  test("skips control batches and empty batches", () => {
    const control = batchOf(3, [{ key: new Uint8Array([0, 0, 0, 0]), value: new Uint8Array([0, 0, 0, 0, 0, 0]) }], Compression.none, {
      control: true,
      transactional: true,
      producerId: 1,
      producerEpoch: 0,
      baseSequence: 0,
    });
    const empty = rawBatch({ baseOffset: 4, lastOffsetDelta: 2, recordCount: 0, section: new Uint8Array(0) });
    const data = batchOf(7, sampleRecords(2));
    expect(prepareForward([control, empty, data], VERBATIM).map((o) => o.firstOffset)).toEqual([7]);
    expect(prepareForward([control, empty, data], PROVENANCE).map((o) => o.firstOffset)).toEqual([7]);
    expect(collectSchemaIds([control, empty])).toEqual(new Set());
  });

  for (const codec of [Codec.none, Codec.zstd]) {
    test(`${CODEC_NAMES[codec]}: a compacted batch with offset gaps is renumbered, still one batch`, () => {
      const input = gappedBatch(codec);
      expect(validateBatchForAppend(input).ok).toBe(false); // what Kafka would say too
      const outputs = prepareForward([batchOf(30, sampleRecords(2)), input, batchOf(50, sampleRecords(2))], { ...VERBATIM, mergeBytesMax: 1 });
      expect(outputs.map((o) => [o.firstOffset, o.lastOffset, o.records])).toEqual([
        [30, 31, 2],
        [40, 48, 5],
        [50, 51, 2],
      ]);
      const records = decodeOutput(outputs[1]!);
      expect(records.map((r) => utf8.decode(r.key!))).toEqual(["k0", "k2", "k4", "k6", "k8"]);
      expect(records.map((r) => r.offsetDelta)).toEqual([0, 1, 2, 3, 4]);
      expect(records.map((r) => r.timestamp)).toEqual([0, 10, 20, 30, 40].map((d) => T0 + d));
      expect(records.map((r) => r.headers)).toEqual([0, 2, 4, 6, 8].map((d) => [{ key: "h", value: text(`${d}`) }]));
      expect(readInt16(outputs[1]!.batch, ATTRIBUTES_OFFSET) & COMPRESSION_MASK).toBe(codec);
      // Records below nextOffset are dropped from a rewritten gapped batch.
      const later = prepareForward([input], { ...VERBATIM, nextOffset: 45 });
      expect(later.map((o) => [o.firstOffset, o.lastOffset, o.records])).toEqual([[46, 48, 2]]);
    });
  }
});

describe("rewriting path", () => {
  for (const codec of CODECS) {
    test(`${CODEC_NAMES[codec]}: provenance headers, offsets below nextOffset dropped, records byte-exact`, () => {
      const batches = [batchOf(1000, sampleRecords(30), codec), batchOf(1030, sampleRecords(30, 30), codec), batchOf(1060, sampleRecords(30, 60), codec)];
      const copies = batches.map((b) => b.slice());
      const outputs = prepareForward(batches, { ...PROVENANCE, nextOffset: 1012 });
      batches.forEach((b, i) => expect(b).toEqual(copies[i]!));
      expect(outputs.length).toBe(1);
      const [output] = outputs;
      expectOutgoingHeader(output!.batch);
      expect(readInt16(output!.batch, ATTRIBUTES_OFFSET)).toBe(codec);
      expect([output!.partition, output!.firstOffset, output!.lastOffset, output!.records]).toEqual([3, 1012, 1089, 78]);
      const expected = batches.flatMap(decodeInput).filter((r) => r.offset >= 1012);
      const records = decodeOutput(output!);
      expect(records.length).toBe(expected.length);
      records.forEach((record, i) => {
        expectSameRecord(record, expected[i]!, 1);
        expect(provenanceOf(record)).toBe(`edge-1/orders/3/${expected[i]!.offset}`);
        expect(record.offsetDelta).toBe(i);
      });
      const header = readBatchHeader(output!.batch);
      expect(header.baseTimestamp).toBe(expected[0]!.timestamp);
      expect(header.maxTimestamp).toBe(Math.max(...expected.map((r) => r.timestamp)));
    });
  }

  test("an output batch takes the codec of its first source batch, compressing once", () => {
    const batches = [batchOf(0, sampleRecords(5), Compression.snappy), batchOf(5, sampleRecords(5, 5), Compression.none), batchOf(10, sampleRecords(5, 10), Compression.zstd)];
    const [output] = prepareForward(batches, PROVENANCE);
    expect(readInt16(output!.batch, ATTRIBUTES_OFFSET) & COMPRESSION_MASK).toBe(Compression.snappy);
    expect(decodeOutput(output!).map(provenanceOf)).toEqual(Array.from({ length: 15 }, (_, i) => `edge-1/orders/3/${i}`));
  });

  test("an uncompressed output fed by compressed inputs outgrows its size estimate", () => {
    const compressible = Array.from({ length: 500 }, (_, i) => ({ key: text(`k${i}`), value: new Uint8Array(2000).fill(i & 0xff), timestamp: T0 + i }));
    const batches = [batchOf(0, sampleRecords(3)), batchOf(3, compressible, Compression.zstd)];
    expect(batches[1]!.length).toBeLessThan(100_000); // ~1 MB of records stored in far less
    const outputs = prepareForward(batches, { ...PROVENANCE, mergeBytesMax: 4 * 1024 * 1024 });
    expect(outputs.length).toBe(1);
    expect(readInt16(outputs[0]!.batch, ATTRIBUTES_OFFSET) & COMPRESSION_MASK).toBe(Compression.none);
    const records = decodeOutput(outputs[0]!);
    expect(records.length).toBe(503);
    records.slice(3).forEach((record, i) => expect(record.value).toEqual(compressible[i]!.value));
    expect(outputs[0]!.batch.buffer.byteLength).toBeLessThanOrEqual(outputs[0]!.batch.length * 1.125 + 1);
  });

  test("merges up to mergeBytesMax of records section", () => {
    const batches = Array.from({ length: 40 }, (_, i) => batchOf(i * 5, sampleRecords(5, i * 5)));
    const mergeBytesMax = 2000;
    const outputs = prepareForward(batches, { ...PROVENANCE, mergeBytesMax });
    expect(outputs.length).toBeGreaterThan(3);
    let next = 0;
    for (const [i, output] of outputs.entries()) {
      const section = output.batch.length - RECORDS_OFFSET;
      expect(section).toBeLessThanOrEqual(mergeBytesMax);
      // Every batch but the last is full: the next record (≤ 150 bytes here) would not have fit.
      if (i < outputs.length - 1) expect(section).toBeGreaterThan(mergeBytesMax - 150);
      expect(output.firstOffset).toBe(next);
      const records = decodeOutput(output);
      expect(records.length).toBe(output.records);
      expect(provenanceOf(records[records.length - 1]!)).toBe(`edge-1/orders/3/${output.lastOffset}`);
      next = output.lastOffset + 1;
    }
    expect(next).toBe(200);
  });

  test("a record larger than mergeBytesMax gets a batch of its own", () => {
    const big = { key: text("big"), value: new Uint8Array(5000).fill(7), timestamp: T0 };
    const small = (n: number) => ({ key: text(`s${n}`), value: text("v"), timestamp: T0 });
    const outputs = prepareForward([batchOf(0, [small(0), small(1), big, small(3), small(4)])], { ...PROVENANCE, mergeBytesMax: 1000 });
    expect(outputs.map((o) => [o.firstOffset, o.lastOffset, o.records])).toEqual([
      [0, 1, 2],
      [2, 2, 1],
      [3, 4, 2],
    ]);
    expect(decodeOutput(outputs[1]!)[0]!.value).toEqual(big.value);
  });

  test("key partitioning agrees with keyPartition; null keys go to sourcePartition % N; order kept per partition", () => {
    const batches = [batchOf(0, sampleRecords(100), Compression.lz4), batchOf(100, sampleRecords(100, 100), Compression.gzip)];
    const outputs = prepareForward(batches, { ...VERBATIM, sourcePartition: 6, keyPartitions: 4, nextOffset: 10 });
    const input = batches.flatMap(decodeInput).filter((r) => r.offset >= 10);
    const byPartition = new Map<number, DecodedRecord[]>();
    for (const output of outputs) {
      expectOutgoingHeader(output.batch);
      byPartition.set(output.partition, [...(byPartition.get(output.partition) ?? []), ...decodeOutput(output)]);
    }
    for (let partition = 0; partition < 4; partition++) {
      const expected = input.filter((r) => (r.key === null ? 6 % 4 : keyPartition(r.key, 4)) === partition);
      const actual = byPartition.get(partition) ?? [];
      expect(actual.length).toBe(expected.length);
      actual.forEach((record, i) => expectSameRecord(record, expected[i]!)); // no provenance: headers as they were
    }
    expect(byPartition.get(2)!.some((r) => r.key === null)).toBe(true);
    // One open batch per partition: with room to spare, each partition gets one batch.
    expect(outputs.length).toBe(4);
    expect(new Set(outputs.map((o) => o.partition)).size).toBe(4);
  });

  test("keyed batches per partition are each under mergeBytesMax and in offset order", () => {
    const batches = Array.from({ length: 10 }, (_, i) => batchOf(i * 50, sampleRecords(50, i * 50)));
    const outputs = prepareForward(batches, { ...PROVENANCE, keyPartitions: 3, mergeBytesMax: 1500 });
    const last = new Map<number, number>();
    let total = 0;
    for (const output of outputs) {
      expect(output.batch.length - RECORDS_OFFSET).toBeLessThanOrEqual(1500);
      expect(output.firstOffset).toBeGreaterThan(last.get(output.partition) ?? -1);
      last.set(output.partition, output.lastOffset);
      const offsets = decodeOutput(output).map((r) => Number(provenanceOf(r).split("/")[3]));
      expect(offsets[0]).toBe(output.firstOffset);
      expect(offsets[offsets.length - 1]).toBe(output.lastOffset);
      expect([...offsets].sort((a, b) => a - b)).toEqual(offsets);
      total += output.records;
    }
    expect(total).toBe(500);
  });

  test("LogAppendTime: each record keeps its batch's stamp; different stamps and types do not share a batch", () => {
    const lat1 = batchOf(0, sampleRecords(3), Compression.none, { timestampType: TimestampType.logAppendTime, logAppendTimeMs: T0 + 5000 });
    const lat2 = batchOf(3, sampleRecords(3, 3), Compression.none, { timestampType: TimestampType.logAppendTime, logAppendTimeMs: T0 + 6000 });
    const lat3 = batchOf(6, sampleRecords(2, 6), Compression.none, { timestampType: TimestampType.logAppendTime, logAppendTimeMs: T0 + 6000 });
    const create = batchOf(8, sampleRecords(3, 8));
    const outputs = prepareForward([lat1, lat2, lat3, create], PROVENANCE);
    expect(outputs.map((o) => [o.firstOffset, o.lastOffset])).toEqual([
      [0, 2],
      [3, 7],
      [8, 10],
    ]);
    const stamps = [T0 + 5000, T0 + 6000];
    for (const [i, stamp] of stamps.entries()) {
      const batch = outputs[i]!.batch;
      expect(readInt16(batch, ATTRIBUTES_OFFSET) & TIMESTAMP_TYPE_BIT).toBe(TIMESTAMP_TYPE_BIT);
      expect(readInt64(batch, MAX_TIMESTAMP_OFFSET)).toBe(stamp);
      for (const record of decodeOutput(outputs[i]!)) {
        expect(record.timestamp).toBe(stamp);
        expect(record.timestampDelta).toBe(0); // base + delta is the stamp too, should the bit be cleared
      }
    }
    expect(readInt16(outputs[2]!.batch, ATTRIBUTES_OFFSET) & TIMESTAMP_TYPE_BIT).toBe(0);
    expect(decodeOutput(outputs[2]!).map((r) => r.timestamp)).toEqual(sampleRecords(3, 8).map((r) => r.timestamp!));
  });

  test("timestamps: far apart (varlong deltas past 2^31), decreasing, and -1 survive", () => {
    const records = [T0, T0 - 3_000_000_000_000, T0 + 40_000_000_000, -1, 0].map((timestamp, i) => ({ key: text(`${i}`), value: text("v"), timestamp }));
    const [output] = prepareForward([batchOf(0, records, Compression.gzip)], PROVENANCE);
    expect(decodeOutput(output!).map((r) => r.timestamp)).toEqual(records.map((r) => r.timestamp));
    expect(readBatchHeader(output!.batch).maxTimestamp).toBe(T0 + 40_000_000_000);
  });

  test("large offsets give the right provenance digits", () => {
    const base = 2 ** 45 - 3;
    const [output] = prepareForward([batchOf(base, sampleRecords(6))], PROVENANCE);
    expect(decodeOutput(output!).map(provenanceOf)).toEqual(Array.from({ length: 6 }, (_, i) => `edge-1/orders/3/${base + i}`));
    expect(output!.firstOffset).toBe(base);
  });

  test("provenance with multi-byte UTF-8 and a long prefix", () => {
    const provenance = { edgeId: "edge-ü-" + "e".repeat(200), topic: "tópic", partition: 12 };
    const [output] = prepareForward([batchOf(9, sampleRecords(4), Compression.zstd)], { ...VERBATIM, provenance });
    expect(decodeOutput(output!).map(provenanceOf)).toEqual([9, 10, 11, 12].map((o) => `${provenance.edgeId}/tópic/12/${o}`));
  });

  test("the uncompressed output's buffer is its own and not much larger than the batch", () => {
    const input = batchOf(0, sampleRecords(50));
    const [output] = prepareForward([input], PROVENANCE);
    expect(output!.batch.buffer).not.toBe(input.buffer);
    expect(output!.batch.buffer.byteLength).toBeLessThanOrEqual(output!.batch.length * 1.125 + 1);
    output!.batch.fill(0);
    expect(decodeInput(input).length).toBe(50);
  });

  test("many small inputs (capacity estimation and growth)", () => {
    const input = batchOf(0, Array.from({ length: 3000 }, (_, i) => ({ key: text(`k${i}`), value: new Uint8Array(i % 300).fill(i & 0xff), timestamp: T0 + i })), Compression.zstd);
    const outputs = prepareForward([input], { ...PROVENANCE, keyPartitions: 7, mergeBytesMax: 64 * 1024 });
    let count = 0;
    for (const output of outputs) {
      for (const record of decodeOutput(output)) {
        const i = Number(utf8.decode(record.key!).slice(1));
        expect(record.value).toEqual(new Uint8Array(i % 300).fill(i & 0xff));
        count++;
      }
    }
    expect(count).toBe(3000);
  });
});

describe("schema ids", () => {
  const envelope = (id: number, payload: string) => {
    const bytes = new Uint8Array(5 + payload.length);
    new DataView(bytes.buffer).setInt32(1, id);
    bytes.set(text(payload), 5);
    return bytes;
  };
  const map = new Map<number, number>([
    [7, 1007],
    [9, 70000],
  ]);
  const schemaId = (id: number) => map.get(id) ?? null;

  test("collectSchemaIds lists the ids of keys and values in envelopes", () => {
    const batches = [
      batchOf(0, [
        { key: envelope(9, "k"), value: envelope(7, "payload"), timestamp: T0 },
        { key: text("plain"), value: envelope(8, ""), timestamp: T0 },
        { key: null, value: new Uint8Array([0, 0, 0, 1]), timestamp: T0 }, // too short
      ], Compression.snappy),
      batchOf(3, [{ key: new Uint8Array([1, 0, 0, 0, 5]), value: null, timestamp: T0 }]),
    ];
    expect(collectSchemaIds(batches)).toEqual(new Set([9, 7, 8]));
  });

  for (const codec of [Codec.none, Codec.lz4]) {
    test(`${CODEC_NAMES[codec]}: rewrites mapped ids in keys and values, same length, nothing else`, () => {
      const inputs: RecordInput[] = [
        { key: envelope(9, "key-a"), value: envelope(7, "value-a"), headers: [{ key: "h", value: envelope(7, "x") }], timestamp: T0 },
        { key: envelope(8, "key-b"), value: envelope(8, "value-b"), timestamp: T0 + 1 },
        { key: null, value: new Uint8Array([0, 0, 0, 7]), timestamp: T0 + 2 },
        { key: text("plain"), value: null, timestamp: T0 + 3 },
      ];
      const [output] = prepareForward([batchOf(0, inputs, codec)], { ...VERBATIM, schemaId });
      const records = decodeOutput(output!);
      expect(records[0]!.key).toEqual(envelope(70000, "key-a"));
      expect(records[0]!.value).toEqual(envelope(1007, "value-a"));
      expect(records[0]!.headers).toEqual([{ key: "h", value: envelope(7, "x") }]); // headers are not rewritten
      expect(records[1]!.key).toEqual(envelope(8, "key-b"));
      expect(records[1]!.value).toEqual(envelope(8, "value-b"));
      expect(records[2]!.value).toEqual(new Uint8Array([0, 0, 0, 7]));
      expect(records[3]!.key).toEqual(text("plain"));
      expect(records[3]!.value).toBeNull();
    });
  }

  test("with provenance and key partitioning, the rewritten key is what is hashed", () => {
    const inputs = Array.from({ length: 60 }, (_, i) => ({ key: envelope(i % 2 ? 7 : 9, `user-${i}`), value: envelope(7, `v${i}`), timestamp: T0 + i }));
    const outputs = prepareForward([batchOf(0, inputs)], { ...PROVENANCE, keyPartitions: 5, schemaId });
    let count = 0;
    for (const output of outputs) {
      for (const record of decodeOutput(output)) {
        expect(output.partition).toBe(keyPartition(record.key!, 5));
        const i = Number(provenanceOf(record).split("/")[3]);
        expect(record.key).toEqual(envelope(i % 2 ? 1007 : 70000, `user-${i}`));
        expect(record.value).toEqual(envelope(1007, `v${i}`));
        count++;
      }
    }
    expect(count).toBe(60);
    // Not the local bytes' partitions: at least one key moves.
    expect(inputs.some((r, i) => keyPartition(r.key, 5) !== keyPartition(envelope(i % 2 ? 1007 : 70000, `user-${i}`), 5))).toBe(true);
  });
});

describe("stampProducer", () => {
  test("sets producer id, epoch, base sequence and the transactional bit; CRC recomputed", () => {
    const [output] = prepareForward([batchOf(0, sampleRecords(4), Compression.zstd)], PROVENANCE);
    const batch = output!.batch;
    stampProducer(batch, 2 ** 40 + 5, 12, 1000, true);
    const header = readBatchHeader(batch);
    expect([header.producerId, header.producerEpoch, header.baseSequence, header.transactional]).toEqual([2 ** 40 + 5, 12, 1000, true]);
    expect(header.compression).toBe(Compression.zstd);
    expect(hasValidCrc(batch)).toBe(true);
    const result = validateBatchForAppend(batch);
    expect(result.ok).toBe(true);
    if (result.ok) expect([result.info.producerId, result.info.baseSequence, result.info.transactional]).toEqual([2 ** 40 + 5, 1000, true]);
    stampProducer(batch, 9, 0, 0, false);
    expect(readBatchHeader(batch).transactional).toBe(false);
    expect(validateBatchForAppend(batch).ok).toBe(true);
  });

  test("refuses values outside the fields' ranges", () => {
    const [output] = prepareForward([batchOf(0, sampleRecords(1))], VERBATIM);
    expect(() => stampProducer(output!.batch, -2, 0, 0, false)).toThrow(RangeError);
    expect(() => stampProducer(output!.batch, 1, 0x8000, 0, false)).toThrow(RangeError);
    expect(() => stampProducer(output!.batch, 1, 0, -5, false)).toThrow(RangeError);
    expect(() => stampProducer(new Uint8Array(10), 1, 0, 0, false)).toThrow(RangeError);
  });
});

describe("malformed input throws ForwardBatchError", () => {
  const good = () => batchOf(10, sampleRecords(5));
  const cases: [string, () => Uint8Array][] = [
    ["shorter than a header", () => good().subarray(0, 40)],
    ["truncated view", () => good().subarray(0, good().length - 3)],
    ["length field too large", () => { const b = good(); writeInt32(b, BATCH_LENGTH_OFFSET, b.length); return b; }],
    ["magic 1", () => { const b = good(); b[MAGIC_OFFSET] = 1; return b; }],
    ["CRC mismatch", () => { const b = good(); b[b.length - 1]! ^= 0xff; return b; }],
    ["unknown codec", () => { const b = good(); b[ATTRIBUTES_OFFSET + 1] = 6; return fixCrc(b); }],
    ["record count above the offset range", () => { const b = good(); writeInt32(b, RECORD_COUNT_OFFSET, 6); return fixCrc(b); }],
    ["record count below the records", () => rawBatch({ baseOffset: 0, lastOffsetDelta: 1, recordCount: 1, section: new Uint8Array([...encodeRecord(0, 0, null, text("a")), ...encodeRecord(1, 0, null, text("b"))]) })],
    ["record count above the records", () => rawBatch({ baseOffset: 0, lastOffsetDelta: 2, recordCount: 3, section: new Uint8Array([...encodeRecord(0, 0, null, text("a")), ...encodeRecord(1, 0, null, text("b"))]) })],
    ["record length past the section", () => rawBatch({ baseOffset: 0, lastOffsetDelta: 0, recordCount: 1, section: new Uint8Array(encodeRecord(0, 0, null, text("a")).map((b, i) => (i === 0 ? 100 : b))) })],
    ["key length past the record", () => rawBatch({ baseOffset: 0, lastOffsetDelta: 0, recordCount: 1, section: new Uint8Array([...varint(4), 0, 0, 0, ...varint(50)]) })],
    ["key length below -1", () => rawBatch({ baseOffset: 0, lastOffsetDelta: 0, recordCount: 1, section: new Uint8Array([...varint(6), 0, 0, 0, ...varint(-2), ...varint(-1), ...varint(0)]) })],
    ["header count beyond the bytes", () => rawBatch({ baseOffset: 0, lastOffsetDelta: 0, recordCount: 1, section: new Uint8Array([...varint(6), 0, 0, 0, ...varint(-1), ...varint(-1), ...varint(1000)]) })],
    ["null header key", () => rawBatch({ baseOffset: 0, lastOffsetDelta: 0, recordCount: 1, section: new Uint8Array([...varint(8), 0, 0, 0, ...varint(-1), ...varint(-1), ...varint(1), ...varint(-1), ...varint(-1)]) })],
    ["varint running off the section", () => rawBatch({ baseOffset: 0, lastOffsetDelta: 0, recordCount: 1, section: new Uint8Array([0xff, 0xff]) })],
    ["offsetDelta past lastOffsetDelta", () => rawBatch({ baseOffset: 0, lastOffsetDelta: 0, recordCount: 1, section: new Uint8Array(encodeRecord(3, 0, null, text("a"))) })],
    ["corrupt compressed section", () => rawBatch({ baseOffset: 0, lastOffsetDelta: 0, recordCount: 1, attributes: Compression.gzip, section: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) })],
    ["compressed section expanding past the limit", () => rawBatch({ baseOffset: 0, lastOffsetDelta: 0, recordCount: 1, attributes: Compression.zstd, section: compress(Codec.zstd, new Uint8Array(65 * 1024 * 1024)) })],
  ];
  const recordLevel = new Set(["record count below the records", "record count above the records", "record length past the section", "key length past the record", "key length below -1", "header count beyond the bytes", "null header key", "varint running off the section", "offsetDelta past lastOffsetDelta", "corrupt compressed section", "compressed section expanding past the limit"]);

  for (const [name, make] of cases) {
    test(name, () => {
      const batch = make();
      const expectThrow = (run: () => unknown) => {
        let error: unknown;
        try {
          run();
        } catch (caught) {
          error = caught;
        }
        expect(error).toBeInstanceOf(ForwardBatchError);
        expect((error as Error).message).toMatch(/^batch 1/);
      };
      expectThrow(() => prepareForward([good(), batch], PROVENANCE));
      expectThrow(() => prepareForward([good(), batch], { ...VERBATIM, keyPartitions: 2 }));
      expectThrow(() => collectSchemaIds([good(), batch]));
      // The verbatim path reads headers only; record damage under a valid CRC is the stored batch's own.
      if (!recordLevel.has(name)) expectThrow(() => prepareForward([good(), batch], VERBATIM));
    });
  }
});

test("options a programmer got wrong are RangeErrors", () => {
  const batches = [batchOf(0, sampleRecords(1))];
  expect(() => prepareForward(batches, { ...PROVENANCE, mergeBytesMax: 0 })).toThrow(RangeError);
  expect(() => prepareForward(batches, { ...VERBATIM, keyPartitions: 0 })).toThrow(RangeError);
  expect(() => prepareForward(batches, { ...VERBATIM, sourcePartition: -1 })).toThrow(RangeError);
  expect(() => prepareForward(batches, { ...VERBATIM, schemaId: () => 2 ** 31 })).not.toThrow(); // no envelope here
  const envelopeBatch = [batchOf(0, [{ value: new Uint8Array([0, 0, 0, 0, 1, 9]), timestamp: T0 }])];
  expect(() => prepareForward(envelopeBatch, { ...VERBATIM, schemaId: () => 2 ** 31 })).toThrow(RangeError);
});

test("no input, no output", () => {
  expect(prepareForward([], VERBATIM)).toEqual([]);
  expect(prepareForward([], PROVENANCE)).toEqual([]);
});

describe("scratch reuse between calls", () => {
  test("a call's outputs stay intact after later calls, including one that failed", () => {
    const first = prepareForward([batchOf(0, sampleRecords(40), Compression.none)], { ...PROVENANCE, keyPartitions: 3 });
    const copies = first.map((o) => o.batch.slice());
    const bad = batchOf(100, sampleRecords(5));
    bad[bad.length - 1]! ^= 1;
    expect(() => prepareForward([batchOf(50, sampleRecords(40, 50)), bad], { ...PROVENANCE, keyPartitions: 3 })).toThrow(ForwardBatchError);
    const big = { key: text("big"), value: new Uint8Array(3 * 1024 * 1024).fill(9), timestamp: T0 };
    const second = prepareForward([batchOf(200, [big, ...sampleRecords(30, 201)], Compression.none)], { ...PROVENANCE, keyPartitions: 3, mergeBytesMax: 4096 });
    first.forEach((o, i) => expect(o.batch).toEqual(copies[i]!));
    expect(second.reduce((sum, o) => sum + o.records, 0)).toBe(31);
    for (const output of second) decodeOutput(output);
  });
});

describe("edge cases of the record encoding", () => {
  test("63 headers plus provenance: the header count varint grows from one byte to two", () => {
    const headers = Array.from({ length: 63 }, (_, i) => ({ key: `h${i}`, value: i % 5 === 0 ? null : text(`v${i}`) }));
    const input = batchOf(0, [
      { key: text("a"), value: text("x".repeat(40)), headers, timestamp: T0 },
      { key: text("b"), value: null, headers: headers.slice(0, 62), timestamp: T0 + 1 },
    ]);
    const [output] = prepareForward([input], PROVENANCE);
    const records = decodeOutput(output!);
    expect(records[0]!.headers.length).toBe(64);
    expect(records[1]!.headers.length).toBe(63);
    records.forEach((record, i) => {
      expectSameRecord(record, decodeInput(input)[i]!, 1);
      expect(provenanceOf(record)).toBe(`edge-1/orders/3/${i}`);
    });
  });

  test("verbatim: the delete-horizon bit is cleared, timestamps unchanged", () => {
    const input = batchOf(0, sampleRecords(4));
    input[ATTRIBUTES_OFFSET + 1]! |= 0x40;
    fixCrc(input);
    const [output] = prepareForward([input], VERBATIM);
    expect(readInt16(output!.batch, ATTRIBUTES_OFFSET)).toBe(0);
    expect(decodeOutput(output!).map((r) => r.timestamp)).toEqual(sampleRecords(4).map((r) => r.timestamp!));
  });

  test("record lengths crossing varint sizes (63/64 and 8191/8192 bytes) re-encode right", () => {
    const records = [20, 40, 50, 60, 8150, 8170, 8180, 8200].map((size, i) => ({ key: null, value: new Uint8Array(size).fill(i), timestamp: T0 + i }));
    const input = batchOf(0, records);
    for (const options of [PROVENANCE, { ...PROVENANCE, provenance: { edgeId: "e", topic: "t", partition: 0 } }, { ...VERBATIM, keyPartitions: 1 }]) {
      const outputs = prepareForward([input], options);
      const decoded = outputs.flatMap(decodeOutput);
      expect(decoded.map((r) => r.value)).toEqual(records.map((r) => r.value));
    }
  });
});

describe("ownedInput (the file log's private read buffers)", () => {
  test("the verbatim path rewrites the caller's batch in place, without copying; stampProducer makes its CRC valid", () => {
    const input = batchOf(500, sampleRecords(4), Compression.lz4, { producerId: 9, producerEpoch: 2, baseSequence: 40, partitionLeaderEpoch: 7 });
    const records = decodeInput(input.slice());
    const [output] = prepareForward([input], { ...VERBATIM, nextOffset: 500, ownedInput: true });
    expect(output!.batch).toBe(input);
    expect([output!.firstOffset, output!.lastOffset, output!.records]).toEqual([500, 503, 4]);
    expect(readInt64(input, 0)).toBe(0);
    expect(readInt32(input, 12)).toBe(-1);
    stampProducer(input, 77, 3, 10, true);
    expect(hasValidCrc(input)).toBe(true);
    expect(validateBatchForAppend(input).ok).toBe(true);
    expect(decodeOutput(output!).map((record) => record.value && utf8.decode(record.value))).toEqual(records.map((record) => record.value && utf8.decode(record.value)));
  });

  test("the rewriting path leaves the input alone and leaves the outputs' CRC to stampProducer", () => {
    const input = batchOf(0, sampleRecords(3));
    const before = input.slice();
    const [output] = prepareForward([input], { ...PROVENANCE, ownedInput: true });
    expect(input).toEqual(before);
    stampProducer(output!.batch, 1, 0, 0, false);
    expect(hasValidCrc(output!.batch)).toBe(true);
    expect(decodeOutput(output!).map(provenanceOf)).toEqual(["edge-1/orders/3/0", "edge-1/orders/3/1", "edge-1/orders/3/2"]);
  });
});
