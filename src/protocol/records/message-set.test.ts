// Message sets v0/v1: bytes written by hand from Kafka's protocol guide ("Message sets", LegacyRecord.java) with a
// bitwise CRC-32 (IEEE) written here, converted to record batch v2 (Produce v0–2) and back (Fetch v0–3).

import { describe, expect, test } from "bun:test";
import { gunzipSync, gzipSync } from "node:zlib";
import { ErrorCode } from "../error-codes.ts";
import { Codec, compress, decompress } from "../../compression/index.ts";
import { downConvertBatches, readProduceMessageSet } from "./message-set.ts";
import { Compression, buildRecordBatch, decodeRecords, batchRecordsSection, validateBatchForAppend } from "./record-batch.ts";

const text = (value: string) => new TextEncoder().encode(value);
const T0 = 1_700_000_000_000;

/** CRC-32 (IEEE 802.3, reflected 0xEDB88320), bit by bit: independent of Bun.hash.crc32. */
function crc32Reference(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

const int32 = (value: number) => [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
const int64 = (value: number) => [...int32(Math.floor(value / 2 ** 32)), ...int32(value >>> 0)];
const field = (value: Uint8Array | null) => (value === null ? int32(-1) : [...int32(value.length), ...value]);

/** offset int64 · size int32 · crc · magic · attributes · [timestamp] · key · value */
function entry(offset: number, magic: 0 | 1, attributes: number, timestamp: number, key: Uint8Array | null, value: Uint8Array | null): number[] {
  const body = [magic, attributes, ...(magic === 1 ? int64(timestamp) : []), ...field(key), ...field(value)];
  const message = [...int32(crc32Reference(Uint8Array.from(body))), ...body];
  return [...int64(offset), ...int32(message.length), ...message];
}

describe("Produce v0–2: message set → records", () => {
  test("plain magic 0 and magic 1 messages written by hand", () => {
    const magic0 = entry(0, 0, 0, -1, null, text("hello"));
    // 8 offset + 4 size + 4 crc + magic + attributes + 4 key length (-1) + 4 value length + 5 = 31 bytes, size 19.
    expect(magic0.length).toBe(31);
    expect(magic0.slice(8, 12)).toEqual([0, 0, 0, 19]);
    const magic1 = entry(1, 1, 0, T0, text("k"), text("v"));
    const result = readProduceMessageSet(Uint8Array.from([...magic0, ...magic1]));
    expect(result.ok && result.records).toEqual([
      { key: null, value: text("hello"), timestamp: -1 },
      { key: text("k"), value: text("v"), timestamp: T0 },
    ]);
    expect(result.ok && result.codec).toBe(Compression.none);
  });

  test("a gzip magic-1 wrapper with relative inner offsets becomes one gzip batch v2", () => {
    const inner = Uint8Array.from([...entry(0, 1, 0, T0, null, text("a")), ...entry(1, 1, 0, T0 + 5, text("k"), text("b"))]);
    const wrapper = entry(1, 1, Codec.gzip, T0 + 5, null, gzipSync(inner));
    const result = readProduceMessageSet(Uint8Array.from(wrapper));
    if (!result.ok) throw new Error(result.message);
    expect(result.codec).toBe(Compression.gzip);
    const batch = buildRecordBatch({ records: result.records, compression: Compression.gzip });
    const validated = validateBatchForAppend(batch);
    expect(validated.ok && validated.info).toMatchObject({ recordCount: 2, compression: Compression.gzip, maxTimestamp: T0 + 5 });
    const section = batchRecordsSection(batch);
    const records = decodeRecords(batch, section.ok ? section.data : undefined);
    expect(records.map((record) => [record.offsetDelta, record.timestamp, record.value])).toEqual([
      [0, T0, text("a")],
      [1, T0 + 5, text("b")],
    ]);
  });

  test("a magic-1 LogAppendTime wrapper gives its timestamp to the inner messages", () => {
    const inner = Uint8Array.from(entry(0, 1, 0, T0, null, text("a")));
    const result = readProduceMessageSet(Uint8Array.from(entry(0, 1, Codec.gzip | 0x08, T0 + 99, null, gzipSync(inner))));
    expect(result.ok && result.records[0]!.timestamp).toBe(T0 + 99);
  });

  test("magic-0 LZ4 with the pre-KIP-57 header checksum reads", () => {
    const inner = Uint8Array.from(entry(0, 0, 0, -1, null, text("old lz4")));
    const wrapper = entry(0, 0, Codec.lz4, -1, null, compress(Codec.lz4, inner, { lz4BrokenHeaderChecksum: true }));
    const result = readProduceMessageSet(Uint8Array.from(wrapper));
    expect(result.ok && result.records[0]!.value).toEqual(text("old lz4"));
  });

  test("a partial trailing entry is ignored; no whole message is INVALID_RECORD", () => {
    const whole = entry(0, 0, 0, -1, null, text("x"));
    const result = readProduceMessageSet(Uint8Array.from([...whole, ...whole.slice(0, 20)]));
    expect(result.ok && result.records.length).toBe(1);
    const none = readProduceMessageSet(Uint8Array.from(whole.slice(0, 20)));
    expect(!none.ok && none.errorCode).toBe(ErrorCode.INVALID_RECORD);
  });

  test("more messages than recordsMax is INVALID_RECORD", () => {
    const three = [0, 1, 2].flatMap((i) => entry(i, 1, 0, T0, null, text("m")));
    expect(readProduceMessageSet(Uint8Array.from(three), { recordsMax: 3 }).ok).toBe(true);
    const result = readProduceMessageSet(Uint8Array.from(three), { recordsMax: 2 });
    expect(!result.ok && result.errorCode).toBe(ErrorCode.INVALID_RECORD);
  });

  test("refusals: bad CRC, zstd id, nested compression, wrapper without value, bomb, truncated inner stream", () => {
    const expectCode = (bytes: number[], errorCode: number) => {
      const result = readProduceMessageSet(Uint8Array.from(bytes));
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.errorCode).toBe(errorCode);
    };
    const corrupt = entry(0, 1, 0, T0, null, text("v"));
    corrupt[corrupt.length - 1]! ^= 1;
    expectCode(corrupt, ErrorCode.CORRUPT_MESSAGE);
    expectCode(entry(0, 1, 4, T0, null, text("v")), ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
    const innerWrapper = Uint8Array.from(entry(0, 1, Codec.gzip, T0, null, gzipSync(Uint8Array.from(entry(0, 1, 0, T0, null, text("v"))))));
    expectCode(entry(0, 1, Codec.gzip, T0, null, gzipSync(innerWrapper)), ErrorCode.INVALID_RECORD);
    expectCode(entry(0, 1, Codec.gzip, T0, null, null), ErrorCode.INVALID_RECORD);
    expectCode(entry(0, 1, Codec.gzip, T0, null, gzipSync(new Uint8Array(80 * 1024 * 1024))), ErrorCode.INVALID_RECORD);
    const inner = gzipSync(Uint8Array.from(entry(0, 1, 0, T0, null, text("v"))));
    expectCode(entry(0, 1, Codec.gzip, T0, null, inner.subarray(0, inner.length - 6)), ErrorCode.INVALID_RECORD);
  });
});

describe("Fetch v0–3: record batches v2 → message set", () => {
  const batch = () =>
    buildRecordBatch({
      baseOffset: 10,
      records: [
        { key: text("k"), value: text("a"), timestamp: T0, headers: [{ key: "dropped", value: text("h") }] },
        { key: null, value: text("b"), timestamp: T0 + 7 },
      ],
    });

  test("an uncompressed batch becomes plain messages, magic 1 with timestamps, magic 0 without", () => {
    expect([...downConvertBatches([batch()], 1, 0)]).toEqual([
      ...entry(10, 1, 0, T0, text("k"), text("a")),
      ...entry(11, 1, 0, T0 + 7, null, text("b")),
    ]);
    expect([...downConvertBatches([batch()], 0, 0)]).toEqual([
      ...entry(10, 0, 0, -1, text("k"), text("a")),
      ...entry(11, 0, 0, -1, null, text("b")),
    ]);
  });

  test("records below the fetch offset are left out", () => {
    expect([...downConvertBatches([batch()], 1, 11)]).toEqual(entry(11, 1, 0, T0 + 7, null, text("b")));
  });

  test("a compressed batch becomes one wrapper in its codec: magic 1 relative inner offsets, magic 0 absolute", () => {
    const gzipBatch = buildRecordBatch({ baseOffset: 10, compression: Compression.gzip, records: [{ value: text("a"), timestamp: T0 }, { value: text("b"), timestamp: T0 + 7 }] });
    const magic1 = downConvertBatches([gzipBatch], 1, 0);
    // Wrapper: offset of the last inner message (11), attributes gzip, timestamp the largest.
    const header = [...int64(11), ...int32(magic1.length - 12)];
    expect([...magic1.subarray(0, 12)]).toEqual(header);
    expect([...magic1.subarray(16, 18 + 8)]).toEqual([1, Codec.gzip, ...int64(T0 + 7)]);
    // offset 8 · size 4 · crc 4 · magic · attributes · timestamp 8 · key length 4 (-1) · value length 4 at byte 30.
    expect([...magic1.subarray(26, 30)]).toEqual(int32(-1));
    const valueLength = new DataView(magic1.buffer, magic1.byteOffset).getInt32(30);
    expect(34 + valueLength).toBe(magic1.length);
    const inner = gunzipSync(magic1.subarray(34));
    expect([...inner]).toEqual([...entry(0, 1, 0, T0, null, text("a")), ...entry(1, 1, 0, T0 + 7, null, text("b"))]);

    const lz4Batch = buildRecordBatch({ baseOffset: 10, compression: Compression.lz4, records: [{ value: text("a"), timestamp: T0 }, { value: text("b"), timestamp: T0 + 7 }] });
    const magic0 = downConvertBatches([lz4Batch], 0, 0);
    expect([...magic0.subarray(0, 8)]).toEqual(int64(11));
    const value = magic0.subarray(26); // offset · size · crc · magic · attributes · key length · value length
    expect(decompress(Codec.lz4, value, 1024).ok).toBe(false); // magic 0 writes the broken header checksum
    const innerLz4 = decompress(Codec.lz4, value, 1024, { lz4BrokenHeaderChecksum: true });
    expect(innerLz4.ok && [...innerLz4.data]).toEqual([...entry(10, 0, 0, -1, null, text("a")), ...entry(11, 0, 0, -1, null, text("b"))]);
  });

  test("round trip: down-converted magic 1 reads back as the same records", () => {
    for (const compression of [Compression.none, Compression.gzip, Compression.snappy, Compression.lz4]) {
      const source = buildRecordBatch({ compression, records: [{ key: text("k"), value: text("v1"), timestamp: T0 }, { value: null, timestamp: T0 + 1 }] });
      const result = readProduceMessageSet(downConvertBatches([source], 1, 0));
      expect(result.ok && result.records).toEqual([
        { key: text("k"), value: text("v1"), timestamp: T0 },
        { key: null, value: null, timestamp: T0 + 1 },
      ]);
    }
  });
});
