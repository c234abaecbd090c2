// Message sets v0/v1 (magic 0 and 1), the format before record batches (Kafka `LegacyRecord.java`, KIP-31/32):
// converted to record batch v2 on the way in (Produce v0–2) and from v2 on the way out (Fetch v0–3, which can only
// read magic 0 (v0–1) or magic ≤ 1 (v2–3), trap 28). The log only ever holds record batches v2.
//
// Layout: a message set is entries of offset int64 · messageSize int32 · message, where a message is
//   crc uint32 (CRC-32 IEEE of magic → end) · magic int8 · attributes int8 (bits 0-2 codec, bit 3 LogAppendTime,
//   magic 1 only) · timestamp int64 (magic 1 only) · key bytes (int32 length, -1 null) · value bytes (same).
// Compression wraps a whole message set in the value of one "wrapper" message whose attributes name the codec.
// Inner offsets: absolute in magic 0; relative (0, 1, …) in magic 1, the wrapper carrying the absolute offset of
// the last inner message (KIP-31). zstd does not exist in these formats.
//
// Behaviour:
// - Produce: every message's CRC-32 is checked (CORRUPT_MESSAGE), magic 0/1 only, nested compression and a wrapper
//   without a value are INVALID_RECORD, a codec id above lz4 is UNSUPPORTED_COMPRESSION_TYPE. Producer-sent offsets
//   are ignored (the log assigns them, as Kafka's LogValidator does). A partial trailing entry is ignored, as Kafka's
//   iterator does. Inner data is bounded by decompressedBytesMax. The result is one batch in the wrapper's codec
//   (or none): Kafka's conversion with compression.type=producer. Magic 0 timestamps become -1 (no timestamp).
// - LZ4 in magic 0 uses the pre-KIP-57 frame header checksum, read and written (see src/compression/lz4.ts).
// - Fetch: a compressed v2 batch becomes one wrapper in the same codec, an uncompressed one a run of plain messages;
//   records below the fetch offset are left out (Kafka `RecordsUtil.downConvert`), control batches are skipped,
//   headers are dropped (the old formats have none), LogAppendTime batches stamp their maxTimestamp (magic 1).

import { ErrorCode } from "../error-codes.ts";
import { readInt32, readInt64 } from "./big-endian.ts";
import { compress, decompress, type Codec } from "../../compression/index.ts";
import { limits } from "../../config.ts";
import {
  Compression,
  TimestampType,
  NO_TIMESTAMP,
  batchRecordsSection,
  decodeRecords,
  readBatchHeader,
  type BatchError,
  type RecordInput,
} from "./record-batch.ts";

export const MAGIC_V0 = 0;
export const MAGIC_V1 = 1;

/** offset int64 + messageSize int32. */
const ENTRY_OVERHEAD = 12;
const CRC_BYTES = 4;
/** crc + magic + attributes + key length + value length. */
const MESSAGE_V0_OVERHEAD = 14;
/** MESSAGE_V0_OVERHEAD + timestamp. */
const MESSAGE_V1_OVERHEAD = 22;
const CODEC_MASK = 0x07;
const LOG_APPEND_TIME_BIT = 0x08;
const CODEC_ID_MAX = Compression.lz4;


function messageSetError(errorCode: number, message: string): BatchError {
  return { ok: false, errorCode, message };
}

// --- Produce: message set → records -----------------------------------------------------------------------------

export type ReadMessageSetResult =
  | {
      ok: true;
      records: RecordInput[];
      /** The codec the producer used (that of the first wrapper), Compression.none when none. */
      codec: number;
    }
  | BatchError;

export interface ReadMessageSetOptions {
  /** Most bytes the wrappers' inner message sets may expand to, together; default limits.decompressedBatchBytesMax. */
  decompressedBytesMax?: number;
  /** Most messages; default limits.messageSetRecordsMax. */
  recordsMax?: number;
}

/** The records of a Produce v0–2 message set, validated as the file comment says; at least one. */
export function readProduceMessageSet(records: Uint8Array, options: ReadMessageSetOptions = {}): ReadMessageSetResult {
  const state: WalkState = {
    out: [],
    codec: Compression.none,
    budget: options.decompressedBytesMax ?? limits.decompressedBatchBytesMax,
    recordsMax: options.recordsMax ?? limits.messageSetRecordsMax,
  };
  const error = walkMessageSet(records, state, null);
  if (error) return error;
  if (state.out.length === 0) return messageSetError(ErrorCode.INVALID_RECORD, "the message set holds no whole message");
  return { ok: true, records: state.out, codec: state.codec };
}

interface WalkState {
  out: RecordInput[];
  codec: number;
  budget: number;
  recordsMax: number;
}

interface Wrapper {
  magic: number;
  logAppendTime: boolean;
  timestamp: number;
}

function walkMessageSet(records: Uint8Array, state: WalkState, wrapper: Wrapper | null): BatchError | null {
  let position = 0;
  while (records.length - position >= ENTRY_OVERHEAD) {
    const size = readInt32(records, position + 8);
    const start = position + ENTRY_OVERHEAD;
    if (size < MESSAGE_V0_OVERHEAD) {
      return messageSetError(ErrorCode.CORRUPT_MESSAGE, `message at byte ${position} has size ${size}, below the ${MESSAGE_V0_OVERHEAD}-byte minimum`);
    }
    if (start + size > records.length) {
      if (wrapper) return messageSetError(ErrorCode.CORRUPT_MESSAGE, `inner message at byte ${position} is truncated`);
      break; // a partial trailing entry: ignored, as Kafka's iterator does
    }
    const error = readMessage(records.subarray(start, start + size), state, wrapper);
    if (error) return error;
    position = start + size;
  }
  if (wrapper && position !== records.length) {
    return messageSetError(ErrorCode.CORRUPT_MESSAGE, `${records.length - position} stray bytes after the inner messages`);
  }
  return null;
}

function readMessage(message: Uint8Array, state: WalkState, wrapper: Wrapper | null): BatchError | null {
  const storedCrc = readInt32(message, 0) >>> 0;
  const computedCrc = Bun.hash.crc32(message.subarray(CRC_BYTES)) >>> 0;
  if (storedCrc !== computedCrc) {
    return messageSetError(ErrorCode.CORRUPT_MESSAGE, `message is corrupt (stored crc = ${storedCrc}, computed crc = ${computedCrc})`);
  }
  const magic = message[4]!;
  if (magic !== MAGIC_V0 && magic !== MAGIC_V1) return messageSetError(ErrorCode.INVALID_RECORD, `message has magic ${magic}; a message set holds magic 0 or 1`);
  if (wrapper && magic !== wrapper.magic) {
    return messageSetError(ErrorCode.INVALID_RECORD, `inner message has magic ${magic}, its wrapper magic ${wrapper.magic}`);
  }
  if (magic === MAGIC_V1 && message.length < MESSAGE_V1_OVERHEAD) {
    return messageSetError(ErrorCode.CORRUPT_MESSAGE, `magic 1 message of ${message.length} bytes is below the ${MESSAGE_V1_OVERHEAD}-byte minimum`);
  }
  const attributes = message[5]!;
  const codec = attributes & CODEC_MASK;
  let at = 6;
  let timestamp = NO_TIMESTAMP;
  if (magic === MAGIC_V1) {
    timestamp = readInt64(message, at);
    at += 8;
  }
  const key = readBytes(message, at);
  if (key === "bad") return messageSetError(ErrorCode.CORRUPT_MESSAGE, "message key length disagrees with the message size");
  at += 4 + (key?.length ?? 0);
  const value = readBytes(message, at);
  if (value === "bad") return messageSetError(ErrorCode.CORRUPT_MESSAGE, "message value length disagrees with the message size");
  at += 4 + (value?.length ?? 0);
  if (at !== message.length) return messageSetError(ErrorCode.CORRUPT_MESSAGE, `${message.length - at} stray bytes after the message value`);

  if (codec === Compression.none) {
    if (state.out.length >= state.recordsMax) return messageSetError(ErrorCode.INVALID_RECORD, `the message set holds more than ${state.recordsMax} messages`);
    if (wrapper?.logAppendTime) timestamp = wrapper.timestamp;
    state.out.push({ key, value, timestamp });
    return null;
  }
  if (codec > CODEC_ID_MAX) {
    return messageSetError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `compression type id ${codec} does not exist in message format ${magic}`);
  }
  if (wrapper) return messageSetError(ErrorCode.INVALID_RECORD, "a compressed message holds another compressed message");
  if (value === null) return messageSetError(ErrorCode.INVALID_RECORD, "a compressed wrapper message has no value");
  const inner = decompress(codec, value, state.budget, { lz4BrokenHeaderChecksum: magic === MAGIC_V0 });
  if (!inner.ok) {
    const what = inner.tooLarge ? `would expand past ${state.budget} more bytes` : "does not decompress";
    return messageSetError(ErrorCode.INVALID_RECORD, `compressed message ${what}: ${inner.message}`);
  }
  state.budget -= inner.data.length;
  if (state.codec === Compression.none) state.codec = codec;
  const before = state.out.length;
  const error = walkMessageSet(inner.data, state, { magic, logAppendTime: (attributes & LOG_APPEND_TIME_BIT) !== 0, timestamp });
  if (error) return error;
  if (state.out.length === before) return messageSetError(ErrorCode.INVALID_RECORD, "a compressed wrapper message holds no messages");
  return null;
}

/** An int32-length byte field at `at`: a view, null for -1, "bad" when it runs past the message. */
function readBytes(message: Uint8Array, at: number): Uint8Array | null | "bad" {
  if (message.length - at < 4) return "bad";
  const length = readInt32(message, at);
  if (length === -1) return null;
  if (length < 0 || length > message.length - at - 4) return "bad";
  return message.subarray(at + 4, at + 4 + length);
}

// --- Fetch: record batches v2 → message set -----------------------------------------------------------------------

interface LegacyMessage {
  offset: number;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
}

/**
 * The stored v2 batches as a message set of `magic` (0 for Fetch v0–1, 1 for v2–3), leaving out records below
 * fetchOffset. Expects stored (validated) batches; zstd batches must have been refused before (Fetch < v10).
 */
export function downConvertBatches(batches: Uint8Array[], magic: 0 | 1, fetchOffset: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const batch of batches) {
    const header = readBatchHeader(batch);
    if (header.control) continue;
    const section = header.compression === Compression.none ? null : batchRecordsSection(batch);
    if (section && !section.ok) throw new Error(`stored batch at offset ${header.baseOffset} does not decompress: ${section.message}`);
    const logAppendTime = header.timestampType === TimestampType.logAppendTime;
    const messages: LegacyMessage[] = [];
    for (const record of decodeRecords(batch, section?.data)) {
      const offset = header.baseOffset + record.offsetDelta;
      if (offset < fetchOffset) continue;
      messages.push({ offset, timestamp: magic === MAGIC_V0 ? NO_TIMESTAMP : record.timestamp, key: record.key, value: record.value });
    }
    if (messages.length === 0) continue;
    const plainAttributes = magic === MAGIC_V1 && logAppendTime ? LOG_APPEND_TIME_BIT : 0;
    if (header.compression === Compression.none) {
      for (const message of messages) parts.push(encodeEntry(message.offset, magic, plainAttributes, message.timestamp, message.key, message.value));
      continue;
    }
    const firstOffset = messages[0]!.offset;
    const last = messages[messages.length - 1]!;
    const inner = messages.map((message) =>
      encodeEntry(magic === MAGIC_V1 ? message.offset - firstOffset : message.offset, magic, plainAttributes, message.timestamp, message.key, message.value),
    );
    const compressed = compress(header.compression as Codec, Buffer.concat(inner), { lz4BrokenHeaderChecksum: magic === MAGIC_V0 });
    let wrapperTimestamp = magic === MAGIC_V0 ? NO_TIMESTAMP : header.maxTimestamp;
    if (magic === MAGIC_V1 && !logAppendTime) {
      wrapperTimestamp = NO_TIMESTAMP; // the largest kept timestamp (a loop: a batch may hold millions of records)
      for (const message of messages) if (message.timestamp > wrapperTimestamp) wrapperTimestamp = message.timestamp;
    }
    parts.push(encodeEntry(last.offset, magic, header.compression | plainAttributes, wrapperTimestamp, null, compressed));
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** One message-set entry: offset, size, and the message with its CRC-32. */
export function encodeEntry(
  offset: number,
  magic: number,
  attributes: number,
  timestamp: number,
  key: Uint8Array | null,
  value: Uint8Array | null,
): Uint8Array {
  const messageBytes = (magic === MAGIC_V1 ? MESSAGE_V1_OVERHEAD : MESSAGE_V0_OVERHEAD) + (key?.length ?? 0) + (value?.length ?? 0);
  const entry = new Uint8Array(ENTRY_OVERHEAD + messageBytes);
  const view = new DataView(entry.buffer);
  view.setBigInt64(0, BigInt(offset));
  view.setInt32(8, messageBytes);
  let at = ENTRY_OVERHEAD + CRC_BYTES;
  entry[at++] = magic;
  entry[at++] = attributes;
  if (magic === MAGIC_V1) {
    view.setBigInt64(at, BigInt(timestamp));
    at += 8;
  }
  for (const field of [key, value]) {
    view.setInt32(at, field === null ? -1 : field.length);
    at += 4;
    if (field !== null) {
      entry.set(field, at);
      at += field.length;
    }
  }
  view.setUint32(ENTRY_OVERHEAD, Bun.hash.crc32(entry.subarray(ENTRY_OVERHEAD + CRC_BYTES)) >>> 0);
  return entry;
}
