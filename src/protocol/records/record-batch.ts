// Record batch v2 (magic 2), hand-written: the generated codecs hand `records` around as opaque Uint8Array views.
//
// Layout (Kafka `DefaultRecordBatch.java` class doc); offsets are bytes from the batch start:
//   baseOffset int64 @0 · batchLength int32 @8 (bytes after this field) · partitionLeaderEpoch int32 @12 ·
//   magic int8 @16 · crc uint32 @17 · attributes int16 @21 · lastOffsetDelta int32 @23 · baseTimestamp int64 @27 ·
//   maxTimestamp int64 @35 · producerId int64 @43 · producerEpoch int16 @51 · baseSequence int32 @53 ·
//   recordCount int32 @57 · records @61
// The CRC-32C covers attributes → end, so baseOffset, batchLength, partitionLeaderEpoch and magic are rewritten
// without recomputing it; a maxTimestamp/attributes change (LogAppendTime) must recompute it.
// Record: length varint · attributes int8 · timestampDelta varlong · offsetDelta varint · key (varint length, -1 =
// null) · value (same) · headers: count varint, then key (varint length, never null) and value (varint length, -1 =
// null). Varints are zigzag.
//
// Behaviour:
// - Client data never throws: splitBatches/validateBatchForAppend return `{ ok: false, errorCode, message }` with
//   Kafka's code: CORRUPT_MESSAGE (2, retriable) for damage in transit — CRC mismatch, truncation, a length field
//   that disagrees with the bytes; INVALID_RECORD (87, not retriable) where Kafka's ProduceRequest.validateRecords
//   and LogValidator.validateBatch use it — magic ≠ 2, bad offset range or count, control batch, bad sequence,
//   records that do not parse; INVALID_TIMESTAMP (32); UNSUPPORTED_COMPRESSION_TYPE (76).
// - Validation walks every record without allocating (byte reads over the Uint8Array and a shared cursor, record-cursor.ts);
//   a compressed batch has its records section decompressed first, bounded by decompressedBytesMax (one batch's
//   worth, dropped after validation unless recompression needs it), the stored batch staying as produced.
// - Offsets, timestamps and producer ids are numbers: exact while below 2^53, which real values are.
// - decodeRecords, findOffsetForTimestamp and readBatchHeader expect a batch that passed validation (stored data).
//
// Not emulated here: Kafka's per-record error list (we report the first bad record). Message sets v0/v1 live in
// message-set.ts.

import { ProtocolDecodeError, ByteReader } from "../byte-reader.ts";
import { ByteWriter } from "../byte-writer.ts";
import { ErrorCode } from "../error-codes.ts";
import { crc32cRange } from "./crc32c.ts";
import { readVarintAt, readVarlongAt, recordCursor, skipBytesAt } from "./record-cursor.ts";
import { readInt16, readInt32, readInt64, readUint32, writeInt16, writeInt32, writeInt64 } from "./big-endian.ts";
import { compress, decompress, type Codec } from "../../compression/index.ts";
import { limits } from "../../config.ts";

// --- Layout ----------------------------------------------------------------------------------------------------

export const BASE_OFFSET_OFFSET = 0;
export const BATCH_LENGTH_OFFSET = 8;
export const PARTITION_LEADER_EPOCH_OFFSET = 12;
export const MAGIC_OFFSET = 16;
export const CRC_OFFSET = 17;
export const ATTRIBUTES_OFFSET = 21;
export const LAST_OFFSET_DELTA_OFFSET = 23;
export const BASE_TIMESTAMP_OFFSET = 27;
export const MAX_TIMESTAMP_OFFSET = 35;
export const PRODUCER_ID_OFFSET = 43;
export const PRODUCER_EPOCH_OFFSET = 51;
export const BASE_SEQUENCE_OFFSET = 53;
export const RECORD_COUNT_OFFSET = 57;
export const RECORDS_OFFSET = 61;
/** baseOffset + batchLength: the bytes before what batchLength counts (Kafka `Records.LOG_OVERHEAD`). */
export const LOG_OVERHEAD = 12;
/** The smallest batch: a header and no records (Kafka `RECORD_BATCH_OVERHEAD`). */
export const RECORD_BATCH_OVERHEAD = RECORDS_OFFSET;
/** partitionLeaderEpoch + magic: the least batchLength that reaches the magic byte (Kafka `HEADER_SIZE_UP_TO_MAGIC`). */
const BATCH_LENGTH_TO_MAGIC = 5;

export const MAGIC_V2 = 2;

export const COMPRESSION_MASK = 0x07;
export const TIMESTAMP_TYPE_BIT = 0x08;
export const TRANSACTIONAL_BIT = 0x10;
export const CONTROL_BIT = 0x20;
export const DELETE_HORIZON_BIT = 0x40;

export const Compression = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type Compression = (typeof Compression)[keyof typeof Compression];
const COMPRESSION_ID_MAX = Compression.zstd;

export const TimestampType = { createTime: 0, logAppendTime: 1 } as const;
export type TimestampType = (typeof TimestampType)[keyof typeof TimestampType];

export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
export const NO_TIMESTAMP = -1;
export const NO_PARTITION_LEADER_EPOCH = -1;

// --- Checks (byte access is in big-endian.ts) ----------------------------------------------------------------------

/** True when the int64 at `at` is -1 or within [0, 2^53). */
function isSafeInt64OrMinusOne(bytes: Uint8Array, at: number): boolean {
  const high = readInt32(bytes, at);
  if (high === -1) return readUint32(bytes, at + 4) === 0xffffffff;
  return high >= 0 && high < 0x200000;
}
function assertSafeInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${name} ${value} is not a safe integer`);
}

// --- Header -----------------------------------------------------------------------------------------------------

export interface RecordBatchHeader {
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  compression: number;
  timestampType: TimestampType;
  transactional: boolean;
  control: boolean;
  hasDeleteHorizon: boolean;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  /** -1 (none) or a safe integer; readBatchHeader does not check which (validateBatchForAppend does). */
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

/** The header of a batch at least RECORD_BATCH_OVERHEAD bytes long (validated or stored data). */
export function readBatchHeader(batch: Uint8Array): RecordBatchHeader {
  if (batch.length < RECORD_BATCH_OVERHEAD) {
    throw new ProtocolDecodeError(`a record batch header needs ${RECORD_BATCH_OVERHEAD} bytes, got ${batch.length}`);
  }
  const attributes = readInt16(batch, ATTRIBUTES_OFFSET);
  return {
    baseOffset: readInt64(batch, BASE_OFFSET_OFFSET),
    batchLength: readInt32(batch, BATCH_LENGTH_OFFSET),
    partitionLeaderEpoch: readInt32(batch, PARTITION_LEADER_EPOCH_OFFSET),
    magic: (batch[MAGIC_OFFSET]! << 24) >> 24,
    crc: readUint32(batch, CRC_OFFSET),
    attributes,
    compression: attributes & COMPRESSION_MASK,
    timestampType: attributes & TIMESTAMP_TYPE_BIT ? TimestampType.logAppendTime : TimestampType.createTime,
    transactional: (attributes & TRANSACTIONAL_BIT) !== 0,
    control: (attributes & CONTROL_BIT) !== 0,
    hasDeleteHorizon: (attributes & DELETE_HORIZON_BIT) !== 0,
    lastOffsetDelta: readInt32(batch, LAST_OFFSET_DELTA_OFFSET),
    baseTimestamp: readInt64(batch, BASE_TIMESTAMP_OFFSET),
    maxTimestamp: readInt64(batch, MAX_TIMESTAMP_OFFSET),
    producerId: readInt64(batch, PRODUCER_ID_OFFSET),
    producerEpoch: readInt16(batch, PRODUCER_EPOCH_OFFSET),
    baseSequence: readInt32(batch, BASE_SEQUENCE_OFFSET),
    recordCount: readInt32(batch, RECORD_COUNT_OFFSET),
  };
}

/** baseOffset of a batch; one read instead of a whole header. */
export function readBaseOffset(batch: Uint8Array): number {
  return readInt64(batch, BASE_OFFSET_OFFSET);
}

/** lastOffsetDelta of a batch. */
export function readLastOffsetDelta(batch: Uint8Array): number {
  return readInt32(batch, LAST_OFFSET_DELTA_OFFSET);
}

/** The CRC-32C the batch's bytes have (compare with the stored `crc`). */
export function computeBatchCrc(batch: Uint8Array): number {
  return crc32cRange(batch, ATTRIBUTES_OFFSET, batch.length);
}

/** Whether the stored CRC matches the bytes; for batches read back from the log. */
export function hasValidCrc(batch: Uint8Array): boolean {
  return batch.length >= RECORD_BATCH_OVERHEAD && readUint32(batch, CRC_OFFSET) === computeBatchCrc(batch);
}

// --- Errors -----------------------------------------------------------------------------------------------------

export interface BatchError {
  ok: false;
  errorCode: number;
  message: string;
  /** Index of the first bad record, for ProduceResponse RecordErrors (v8+); absent for batch-level errors. */
  recordIndex?: number;
}

function batchError(errorCode: number, message: string, recordIndex?: number): BatchError {
  return recordIndex === undefined ? { ok: false, errorCode, message } : { ok: false, errorCode, message, recordIndex };
}

// --- Splitting a records blob -----------------------------------------------------------------------------------

export type SplitBatchesResult =
  | { ok: true; batches: Uint8Array[] }
  | (BatchError & {
      /** The whole batches before the bad one. */
      batches: Uint8Array[];
      /** Where the bad batch starts in the blob (log recovery cuts the tail here). */
      position: number;
    });

/**
 * Views of the whole batches in a blob (Produce `records`, a log segment read). Checks framing only: length fields,
 * magic 2, minimum size; not CRCs. An empty blob gives no batches. A batch running past the end (truncated, or its
 * length field too large) is CORRUPT_MESSAGE; a length below the header size too; magic ≠ 2 is INVALID_RECORD.
 */
export function splitBatches(records: Uint8Array): SplitBatchesResult {
  const batches: Uint8Array[] = [];
  let position = 0;
  const end = records.length;
  while (position < end) {
    const remaining = end - position;
    const fail = (errorCode: number, message: string): SplitBatchesResult => ({
      ...batchError(errorCode, message),
      batches,
      position,
    });
    if (remaining < LOG_OVERHEAD) {
      return fail(ErrorCode.CORRUPT_MESSAGE, `truncated batch at byte ${position}: ${remaining} bytes left`);
    }
    const batchLength = readInt32(records, position + BATCH_LENGTH_OFFSET);
    if (batchLength < BATCH_LENGTH_TO_MAGIC) {
      return fail(ErrorCode.CORRUPT_MESSAGE, `batch at byte ${position} has length ${batchLength}`);
    }
    const batchBytes = LOG_OVERHEAD + batchLength;
    if (batchBytes > remaining) {
      return fail(
        ErrorCode.CORRUPT_MESSAGE,
        `batch at byte ${position} declares ${batchBytes} bytes but ${remaining} remain (truncated or bad length)`,
      );
    }
    const magic = records[position + MAGIC_OFFSET]!;
    if (magic !== MAGIC_V2) {
      return fail(ErrorCode.INVALID_RECORD, `batch at byte ${position} has magic ${magic}; only magic 2 is accepted`);
    }
    if (batchBytes < RECORD_BATCH_OVERHEAD) {
      return fail(
        ErrorCode.CORRUPT_MESSAGE,
        `batch at byte ${position} is ${batchBytes} bytes, less than the ${RECORD_BATCH_OVERHEAD}-byte header`,
      );
    }
    batches.push(records.subarray(position, position + batchBytes));
    position += batchBytes;
  }
  return { ok: true, batches };
}

/** What Kafka's batch iterator (ByteBufferLogInputStream.nextBatch) makes of the bytes at `position`. */
function peekBatch(records: Uint8Array, position: number): "none" | "lengthBelowMagic" | "whole" {
  const remaining = records.length - position;
  if (remaining < LOG_OVERHEAD) return "none";
  const batchLength = readInt32(records, position + BATCH_LENGTH_OFFSET);
  if (batchLength < BATCH_LENGTH_TO_MAGIC) return "lengthBelowMagic"; // Kafka throws CorruptRecordException
  return LOG_OVERHEAD + batchLength > remaining ? "none" : "whole"; // a partial batch ends the iteration
}

/**
 * The one batch of a Produce v3+ partition, with Kafka's `ProduceRequest.validateRecords` rules: at least one whole
 * batch (INVALID_RECORD), magic 2 (INVALID_RECORD), no zstd before Produce v7 (UNSUPPORTED_COMPRESSION_TYPE),
 * exactly one batch (INVALID_RECORD). A length field below the magic byte is CORRUPT_MESSAGE. Trailing bytes too
 * short to be a batch are ignored, as in Kafka (its iterator stops there and UnifiedLog trims them). Run
 * validateBatchForAppend on the result.
 */
export function readProduceBatch(records: Uint8Array, produceVersion: number): { ok: true; batch: Uint8Array } | BatchError {
  const first = peekBatch(records, 0);
  if (first === "lengthBelowMagic") {
    return batchError(ErrorCode.CORRUPT_MESSAGE, `record batch length ${readInt32(records, BATCH_LENGTH_OFFSET)} is less than the minimum record overhead`);
  }
  if (first === "none") {
    return batchError(
      ErrorCode.INVALID_RECORD,
      `Produce requests with version ${produceVersion} must have at least one record batch per partition`,
    );
  }
  if (records[MAGIC_OFFSET] !== MAGIC_V2) {
    return batchError(
      ErrorCode.INVALID_RECORD,
      `Produce requests with version ${produceVersion} are only allowed to contain record batches with magic version 2`,
    );
  }
  const batchBytes = LOG_OVERHEAD + readInt32(records, BATCH_LENGTH_OFFSET);
  if (produceVersion < 7 && batchBytes > ATTRIBUTES_OFFSET + 1 && (records[ATTRIBUTES_OFFSET + 1]! & COMPRESSION_MASK) === Compression.zstd) {
    return batchError(
      ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
      `Produce requests with version ${produceVersion} are not allowed to use ZStandard compression`,
    );
  }
  const next = peekBatch(records, batchBytes);
  if (next === "lengthBelowMagic") {
    return batchError(ErrorCode.CORRUPT_MESSAGE, `the bytes after the record batch have a length below the minimum record overhead`);
  }
  if (next === "whole") {
    return batchError(
      ErrorCode.INVALID_RECORD,
      `Produce requests with version ${produceVersion} are only allowed to contain exactly one record batch per partition`,
    );
  }
  return { ok: true, batch: records.subarray(0, batchBytes) };
}

// --- Validation for append -----------------------------------------------------------------------------------------

export interface ValidateBatchOptions {
  /** The topic's message.timestamp.type; default createTime. */
  timestampType?: TimestampType;
  /** Clock for the timestamp bounds; default Date.now(). */
  nowMs?: number;
  /** message.timestamp.before.max.ms: how far a CreateTime timestamp may lie in the past; default no limit. */
  timestampBeforeMaxMs?: number;
  /** message.timestamp.after.max.ms: how far in the future; default no limit. */
  timestampAfterMaxMs?: number;
  /** Compacted topics require keys (INVALID_RECORD otherwise). */
  keyRequired?: boolean;
  /** Most bytes a compressed records section may expand to; default limits.decompressedBatchBytesMax. */
  decompressedBytesMax?: number;
  /** Hand the decompressed records back (for recompression) instead of dropping them; default false. */
  keepDecompressedRecords?: boolean;
}

/** What validation learned; a superset of the log's AppendBatchInfo. */
export interface BatchAppendInfo {
  recordCount: number;
  lastOffsetDelta: number;
  /** The first record's timestamp (from the decompressed records when the batch is compressed). */
  firstTimestamp: number;
  /**
   * The largest record timestamp (-1 if none has one), as Kafka's LogValidator recomputes it, compressed or not;
   * the header's maxTimestamp may differ, see setMaxTimestamp.
   */
  maxTimestamp: number;
  /** Offset delta of the first record holding maxTimestamp; lastOffsetDelta when no record has a timestamp. */
  maxTimestampOffsetDelta: number;
  compression: number;
  /** The batch's own timestamp type bit (not the topic's). */
  timestampType: TimestampType;
  transactional: boolean;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
}

export type ValidateBatchResult =
  | {
      ok: true;
      info: BatchAppendInfo;
      /** The records section uncompressed: set for a compressed batch when keepDecompressedRecords was asked. */
      decompressedRecords?: Uint8Array;
    }
  | BatchError;

/**
 * Checks one batch from a client before it is appended, in Kafka's order (UnifiedLog.analyzeAndValidateRecords,
 * then LogValidator.validateBatch/validateRecord):
 * length field = buffer length, magic 2, header size, CRC-32C, compression id ≤ 4, lastOffsetDelta ≥ 0, recordCount
 * ≥ 1 and = lastOffsetDelta + 1, not a control batch, producerId -1 or a safe integer ≥ 0, a sequence ≥ 0 when there
 * is a producer id, a producer id when transactional, no producer-set LogAppendTime on a LogAppendTime topic.
 * Uncompressed batches then have every record walked: lengths, offsetDelta = its index (stricter than Kafka, which
 * rewrites compressed batches with bad inner offsets and does not look at uncompressed ones — we store batches as
 * sent, so a wrong delta would give consumers wrong offsets), key/value/header framing, no bytes left over, keys
 * when required, CreateTime timestamps within the bounds.
 * Compressed batches get the same record walk over their decompressed records section: a stream that does not
 * decompress (truncated, corrupt, wrong framing) is INVALID_RECORD (its CRC matched, so the producer wrote it so),
 * and so is one that would expand past decompressedBytesMax (a bomb), refused before or while expanding.
 */
export function validateBatchForAppend(batch: Uint8Array, options: ValidateBatchOptions = {}): ValidateBatchResult {
  const size = batch.length;
  if (size < LOG_OVERHEAD) {
    return batchError(ErrorCode.CORRUPT_MESSAGE, `record batch of ${size} bytes is shorter than its length fields`);
  }
  const batchLength = readInt32(batch, BATCH_LENGTH_OFFSET);
  if (batchLength !== size - LOG_OVERHEAD) {
    return batchError(
      ErrorCode.CORRUPT_MESSAGE,
      `batch length field says ${batchLength} bytes follow it, the buffer has ${size - LOG_OVERHEAD}`,
    );
  }
  if (size > MAGIC_OFFSET && batch[MAGIC_OFFSET] !== MAGIC_V2) {
    return batchError(ErrorCode.INVALID_RECORD, `record batch has magic ${batch[MAGIC_OFFSET]}; only magic 2 is accepted`);
  }
  if (size < RECORD_BATCH_OVERHEAD) {
    return batchError(
      ErrorCode.CORRUPT_MESSAGE,
      `record batch of ${size} bytes is smaller than the ${RECORD_BATCH_OVERHEAD}-byte header`,
    );
  }
  const storedCrc = readUint32(batch, CRC_OFFSET);
  const computedCrc = crc32cRange(batch, ATTRIBUTES_OFFSET, size);
  if (storedCrc !== computedCrc) {
    return batchError(ErrorCode.CORRUPT_MESSAGE, `record batch is corrupt (stored crc = ${storedCrc}, computed crc = ${computedCrc})`);
  }

  const attributes = readInt16(batch, ATTRIBUTES_OFFSET);
  const compression = attributes & COMPRESSION_MASK;
  if (compression > COMPRESSION_ID_MAX) {
    return batchError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `unknown compression type id ${compression}`);
  }
  const lastOffsetDelta = readInt32(batch, LAST_OFFSET_DELTA_OFFSET);
  const recordCount = readInt32(batch, RECORD_COUNT_OFFSET);
  if (lastOffsetDelta < 0) {
    return batchError(ErrorCode.INVALID_RECORD, `batch has an invalid offset range: lastOffsetDelta ${lastOffsetDelta}`);
  }
  if (recordCount <= 0) {
    return batchError(ErrorCode.INVALID_RECORD, `invalid reported count for record batch: ${recordCount}`);
  }
  if (recordCount !== lastOffsetDelta + 1) {
    return batchError(
      ErrorCode.INVALID_RECORD,
      `inconsistent batch offset range [0, ${lastOffsetDelta}] and count of records ${recordCount}`,
    );
  }
  if (attributes & CONTROL_BIT) {
    return batchError(ErrorCode.INVALID_RECORD, "clients are not allowed to write control records");
  }
  if (!isSafeInt64OrMinusOne(batch, PRODUCER_ID_OFFSET)) {
    return batchError(ErrorCode.INVALID_RECORD, `invalid producer id ${readInt64(batch, PRODUCER_ID_OFFSET)}`);
  }
  const producerId = readInt64(batch, PRODUCER_ID_OFFSET);
  const baseSequence = readInt32(batch, BASE_SEQUENCE_OFFSET);
  const transactional = (attributes & TRANSACTIONAL_BIT) !== 0;
  if (producerId !== NO_PRODUCER_ID && baseSequence < 0) {
    return batchError(ErrorCode.INVALID_RECORD, `invalid sequence number ${baseSequence} in record batch with producerId ${producerId}`);
  }
  if (transactional && producerId === NO_PRODUCER_ID) {
    return batchError(ErrorCode.INVALID_RECORD, "transactional record batch without a producer id");
  }
  const batchTimestampType = attributes & TIMESTAMP_TYPE_BIT ? TimestampType.logAppendTime : TimestampType.createTime;
  const topicTimestampType = options.timestampType ?? TimestampType.createTime;
  if (topicTimestampType === TimestampType.logAppendTime && batchTimestampType === TimestampType.logAppendTime) {
    return batchError(
      ErrorCode.INVALID_TIMESTAMP,
      "invalid timestamp type in record batch: producers should not set the timestamp type to LogAppendTime",
      0,
    );
  }

  const baseTimestamp = readInt64(batch, BASE_TIMESTAMP_OFFSET);
  const headerMaxTimestamp = readInt64(batch, MAX_TIMESTAMP_OFFSET);
  const producerEpoch = readInt16(batch, PRODUCER_EPOCH_OFFSET);
  let records = batch;
  let recordsStart = RECORDS_OFFSET;
  let recordsEnd = size;
  if (compression !== Compression.none) {
    const maxBytes = options.decompressedBytesMax ?? limits.decompressedBatchBytesMax;
    const expanded = decompress(compression, batch.subarray(RECORDS_OFFSET, size), maxBytes);
    if (!expanded.ok) {
      const what = expanded.tooLarge ? `would expand past ${maxBytes} bytes` : "does not decompress";
      return batchError(ErrorCode.INVALID_RECORD, `compressed records section ${what}: ${expanded.message}`);
    }
    records = expanded.data;
    recordsStart = 0;
    recordsEnd = records.length;
  }

  // Walk the records.
  const checkTimestamps =
    topicTimestampType === TimestampType.createTime &&
    (options.timestampBeforeMaxMs !== undefined || options.timestampAfterMaxMs !== undefined);
  const nowMs = checkTimestamps ? (options.nowMs ?? Date.now()) : 0;
  const earliestMs = nowMs - (options.timestampBeforeMaxMs ?? Infinity);
  const latestMs = nowMs + (options.timestampAfterMaxMs ?? Infinity);
  const keyRequired = options.keyRequired === true;
  const logAppendTimeBatch = batchTimestampType === TimestampType.logAppendTime;

  let maxTimestamp = NO_TIMESTAMP;
  let maxTimestampOffsetDelta = -1;
  let firstTimestamp = NO_TIMESTAMP;
  recordCursor.at = recordsStart;
  recordCursor.overrun = false;
  for (let index = 0; index < recordCount; index++) {
    const length = readVarintAt(records, recordsEnd);
    const recordEnd = recordCursor.at + length;
    if (recordCursor.overrun || length < 0 || recordEnd > recordsEnd) {
      return batchError(ErrorCode.INVALID_RECORD, `record ${index}: incorrect declared batch size, premature EOF reached`, index);
    }
    recordCursor.at += 1; // attributes: unused
    const timestampDelta = readVarlongAt(records, recordEnd);
    const offsetDelta = readVarintAt(records, recordEnd);
    const keyLength = readVarintAt(records, recordEnd);
    let framed = keyLength >= -1;
    if (keyLength > 0) recordCursor.at += keyLength;
    framed = framed && skipBytesAt(records, recordEnd, true); // value
    const headerCount = readVarintAt(records, recordEnd);
    if (headerCount < 0 || headerCount * 2 > recordEnd - recordCursor.at) framed = false;
    for (let header = 0; framed && header < headerCount && !recordCursor.overrun; header++) {
      framed = skipBytesAt(records, recordEnd, false) && skipBytesAt(records, recordEnd, true);
    }
    if (!framed || recordCursor.overrun || recordCursor.at !== recordEnd) {
      return batchError(ErrorCode.INVALID_RECORD, `record ${index} is malformed: its fields do not fill its ${length}-byte length`, index);
    }
    if (offsetDelta !== index) {
      return batchError(ErrorCode.INVALID_RECORD, `record ${index} has offsetDelta ${offsetDelta}; expected ${index}`, index);
    }
    if (keyRequired && keyLength < 0) {
      return batchError(ErrorCode.INVALID_RECORD, "compacted topic cannot accept message without key", index);
    }
    const timestamp = logAppendTimeBatch ? headerMaxTimestamp : baseTimestamp + timestampDelta;
    if (checkTimestamps && timestamp !== NO_TIMESTAMP && (timestamp < earliestMs || timestamp > latestMs)) {
      return batchError(
        ErrorCode.INVALID_TIMESTAMP,
        `timestamp ${timestamp} of record ${index} is out of range; it should be within [${earliestMs}, ${latestMs}]`,
        index,
      );
    }
    if (index === 0) firstTimestamp = timestamp;
    if (timestamp > maxTimestamp) {
      maxTimestamp = timestamp;
      maxTimestampOffsetDelta = index;
    }
  }
  if (recordCursor.at !== recordsEnd) {
    return batchError(ErrorCode.INVALID_RECORD, `incorrect declared batch size: ${recordsEnd - recordCursor.at} bytes after the last record`);
  }
  return {
    ok: true,
    ...(options.keepDecompressedRecords && records !== batch ? { decompressedRecords: records } : {}),
    info: {
      recordCount,
      lastOffsetDelta,
      firstTimestamp,
      maxTimestamp,
      maxTimestampOffsetDelta: maxTimestampOffsetDelta < 0 ? lastOffsetDelta : maxTimestampOffsetDelta,
      compression,
      timestampType: batchTimestampType,
      transactional,
      producerId,
      producerEpoch,
      baseSequence,
    },
  };
}

// --- In-place rewrites ------------------------------------------------------------------------------------------

/** Sets baseOffset (bytes 0-7, as two 32-bit halves). The CRC does not cover it. */
export function rewriteBaseOffset(batch: Uint8Array, baseOffset: number): void {
  if (!Number.isSafeInteger(baseOffset) || baseOffset < 0) throw new RangeError(`baseOffset ${baseOffset} is not a safe offset`);
  writeInt64(batch, BASE_OFFSET_OFFSET, baseOffset);
}

/** Sets partitionLeaderEpoch; the CRC does not cover it. */
export function setPartitionLeaderEpoch(batch: Uint8Array, partitionLeaderEpoch: number): void {
  writeInt32(batch, PARTITION_LEADER_EPOCH_OFFSET, partitionLeaderEpoch);
}

/**
 * Kafka's `DefaultRecordBatch.setMaxTimestamp`: sets the timestamp-type bit and maxTimestamp, then recomputes the
 * CRC; does nothing when both already hold. Other attribute bits stay. LogValidator calls it on every in-place
 * append: with CreateTime to store the maxTimestamp it computed from the records (validateBatchForAppend's
 * info.maxTimestamp), with LogAppendTime to stamp the batch.
 */
export function setMaxTimestamp(batch: Uint8Array, timestampType: TimestampType, maxTimestamp: number): void {
  assertSafeInteger("maxTimestamp", maxTimestamp);
  const attributes = readInt16(batch, ATTRIBUTES_OFFSET);
  const newAttributes =
    timestampType === TimestampType.logAppendTime ? attributes | TIMESTAMP_TYPE_BIT : attributes & ~TIMESTAMP_TYPE_BIT;
  if (newAttributes === attributes && readInt64(batch, MAX_TIMESTAMP_OFFSET) === maxTimestamp) return;
  writeInt16(batch, ATTRIBUTES_OFFSET, newAttributes);
  writeInt64(batch, MAX_TIMESTAMP_OFFSET, maxTimestamp);
  writeInt32(batch, CRC_OFFSET, computeBatchCrc(batch));
}

/**
 * Stamps a batch for a LogAppendTime topic as Kafka does: timestamp-type bit set, maxTimestamp = the append time,
 * CRC recomputed. baseTimestamp and the record deltas stay: Kafka keeps the create time there ("FirstTimestamp …
 * is always the create time", DefaultRecordBatch), and readers take every record's timestamp from maxTimestamp.
 * Report maxTimestamp = timestamp to the log, at offset delta lastOffsetDelta (uncompressed, LogValidator
 * assignOffsetsNonCompressed) or 0 (compressed, validateMessagesAndAssignOffsetsCompressed).
 */
export function setLogAppendTime(batch: Uint8Array, timestamp: number): void {
  setMaxTimestamp(batch, TimestampType.logAppendTime, timestamp);
}

// --- Decoding -----------------------------------------------------------------------------------------------------

export interface RecordHeader {
  key: string;
  value: Uint8Array | null;
}

export interface DecodedRecord {
  offsetDelta: number;
  timestampDelta: number;
  /** baseTimestamp + timestampDelta, or the batch's maxTimestamp when it is LogAppendTime. */
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
}

// Kafka decodes header keys with replacement characters rather than failing; so do we.
const utf8 = new TextDecoder("utf-8");

/**
 * The records of an uncompressed batch, with keys, values and header values as views into it. For a compressed
 * batch pass the decompressed records section as `decompressedRecords`. Throws ProtocolDecodeError on malformed
 * data: run it on validated or stored batches.
 */
export function decodeRecords(batch: Uint8Array, decompressedRecords?: Uint8Array): DecodedRecord[] {
  const header = readBatchHeader(batch);
  let reader: ByteReader;
  if (decompressedRecords !== undefined) reader = new ByteReader(decompressedRecords);
  else if (header.compression !== Compression.none) {
    throw new ProtocolDecodeError(`batch is compressed (type ${header.compression}); pass the decompressed records`);
  } else reader = new ByteReader(batch, RECORDS_OFFSET, Math.min(batch.length, LOG_OVERHEAD + header.batchLength));
  if (header.recordCount < 0 || header.recordCount > reader.remaining) {
    throw new ProtocolDecodeError(`record count ${header.recordCount} cannot fit in ${reader.remaining} bytes`);
  }
  const logAppendTime = header.timestampType === TimestampType.logAppendTime;
  const records: DecodedRecord[] = new Array(header.recordCount);
  for (let index = 0; index < header.recordCount; index++) {
    const length = reader.readVarint();
    if (length < 0) throw new ProtocolDecodeError(`record ${index} has length ${length}`);
    const recordReader = new ByteReader(reader.buffer, reader.offset, reader.offset + length);
    reader.readView(length);
    recordReader.readInt8(); // attributes
    const timestampDelta = recordReader.readVarlong();
    const offsetDelta = recordReader.readVarint();
    const key = readVarintBytes(recordReader);
    const value = readVarintBytes(recordReader);
    const headerCount = recordReader.readVarint();
    if (headerCount < 0 || headerCount * 2 > recordReader.remaining) {
      throw new ProtocolDecodeError(`record ${index} has ${headerCount} headers in ${recordReader.remaining} bytes`);
    }
    const headers: RecordHeader[] = new Array(headerCount);
    for (let i = 0; i < headerCount; i++) {
      const headerKey = readVarintBytes(recordReader);
      if (headerKey === null) throw new ProtocolDecodeError(`record ${index} has a header with a null key`);
      headers[i] = { key: utf8.decode(headerKey), value: readVarintBytes(recordReader) };
    }
    if (recordReader.remaining !== 0) {
      throw new ProtocolDecodeError(`record ${index} has ${recordReader.remaining} bytes after its headers`);
    }
    records[index] = {
      offsetDelta,
      timestampDelta,
      timestamp: logAppendTime ? header.maxTimestamp : header.baseTimestamp + timestampDelta,
      key,
      value,
      headers,
    };
  }
  return records;
}

function readVarintBytes(reader: ByteReader): Uint8Array | null {
  const length = reader.readVarint();
  if (length < -1) throw new ProtocolDecodeError(`byte field has length ${length}`);
  return length === -1 ? null : reader.readView(length);
}

/**
 * The first record whose timestamp is ≥ `timestamp`, as its offset and timestamp (what ListOffsets returns), or
 * null when the batch has none (the caller skips batches whose maxTimestamp is below the target). Walks
 * uncompressed records without allocating; in a LogAppendTime batch every record has the maxTimestamp.
 * A compressed batch needs its records section decompressed, as Kafka does (LogSegment.findOffsetByTimestamp):
 * pass it as `decompressedRecords`; without it the answer is { baseOffset, maxTimestamp }, early whenever the
 * matching record is not the first.
 */
export function findOffsetForTimestamp(
  batch: Uint8Array,
  timestamp: number,
  decompressedRecords?: Uint8Array,
): { offset: number; timestamp: number } | null {
  const baseOffset = readInt64(batch, BASE_OFFSET_OFFSET);
  const maxTimestamp = readInt64(batch, MAX_TIMESTAMP_OFFSET);
  if (maxTimestamp < timestamp) return null;
  const attributes = readInt16(batch, ATTRIBUTES_OFFSET);
  const logAppendTime = (attributes & TIMESTAMP_TYPE_BIT) !== 0;
  const compressed = (attributes & COMPRESSION_MASK) !== Compression.none;
  if (logAppendTime || (compressed && decompressedRecords === undefined)) return { offset: baseOffset, timestamp: maxTimestamp };

  const baseTimestamp = readInt64(batch, BASE_TIMESTAMP_OFFSET);
  const recordCount = readInt32(batch, RECORD_COUNT_OFFSET);
  const records = compressed && decompressedRecords !== undefined ? decompressedRecords : batch;
  const size = records !== batch ? records.length : Math.min(batch.length, LOG_OVERHEAD + readInt32(batch, BATCH_LENGTH_OFFSET));
  recordCursor.at = records !== batch ? 0 : RECORDS_OFFSET;
  recordCursor.overrun = false;
  for (let index = 0; index < recordCount; index++) {
    const length = readVarintAt(records, size);
    const recordEnd = recordCursor.at + length;
    if (recordCursor.overrun || length < 0 || recordEnd > size) return null;
    recordCursor.at += 1; // attributes
    const timestampDelta = readVarlongAt(records, recordEnd);
    const offsetDelta = readVarintAt(records, recordEnd);
    if (recordCursor.overrun) return null;
    const recordTimestamp = baseTimestamp + timestampDelta;
    if (recordTimestamp >= timestamp) return { offset: baseOffset + offsetDelta, timestamp: recordTimestamp };
    recordCursor.at = recordEnd;
  }
  return null;
}

// --- Building -----------------------------------------------------------------------------------------------------

export interface RecordInput {
  key?: Uint8Array | null;
  value: Uint8Array | null;
  headers?: RecordHeader[];
  /** Create time in ms; default the time of the build. */
  timestamp?: number;
}

export interface BuildRecordBatchOptions {
  records: RecordInput[];
  baseOffset?: number;
  /** Default -1, as producers send it. */
  partitionLeaderEpoch?: number;
  /** Codec of the records section; default none. */
  compression?: Compression;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
  control?: boolean;
  timestampType?: TimestampType;
  /** maxTimestamp of a LogAppendTime batch; default the time of the build. */
  logAppendTimeMs?: number;
}

const utf8Encoder = new TextEncoder();

function sizeOfUnsignedVarint(value: number): number {
  let bytes = 1;
  for (let rest = value >>> 0; rest >= 0x80; rest >>>= 7) bytes++;
  return bytes;
}
function sizeOfVarint(value: number): number {
  return sizeOfUnsignedVarint((value << 1) ^ (value >> 31));
}
function sizeOfVarlong(value: number): number {
  let rest = value >= 0 ? value * 2 : -value * 2 - 1;
  let bytes = 1;
  for (; rest >= 0x80; rest = Math.floor(rest / 0x80)) bytes++;
  return bytes;
}
function sizeOfVarintBytes(bytes: Uint8Array | null): number {
  return bytes === null ? 1 : sizeOfVarint(bytes.length) + bytes.length;
}
function writeVarintBytes(writer: ByteWriter, bytes: Uint8Array | null): void {
  if (bytes === null) {
    writer.writeVarint(-1);
    return;
  }
  writer.writeVarint(bytes.length);
  writer.writeRaw(bytes);
}

/**
 * A record batch v2 with a correct CRC: baseTimestamp is the first record's timestamp and maxTimestamp the largest
 * (or logAppendTimeMs for LogAppendTime). For tests and conversions, not for the produce path.
 */
export function buildRecordBatch(options: BuildRecordBatchOptions): Uint8Array {
  const { records } = options;
  if (records.length === 0) throw new RangeError("a record batch needs at least one record");
  const compression = options.compression ?? Compression.none;
  const baseOffset = options.baseOffset ?? 0;
  assertSafeInteger("baseOffset", baseOffset);
  const timestampType = options.timestampType ?? TimestampType.createTime;
  const nowMs = Date.now();
  const timestamps = records.map((record) => record.timestamp ?? nowMs);
  for (const timestamp of timestamps) assertSafeInteger("timestamp", timestamp);
  const baseTimestamp = timestamps[0]!;
  let maxTimestamp = timestampType === TimestampType.logAppendTime ? (options.logAppendTimeMs ?? nowMs) : NO_TIMESTAMP;
  if (timestampType === TimestampType.createTime) for (const timestamp of timestamps) maxTimestamp = Math.max(maxTimestamp, timestamp);
  const producerId = options.producerId ?? NO_PRODUCER_ID;
  assertSafeInteger("producerId", producerId);

  let attributes = compression;
  if (timestampType === TimestampType.logAppendTime) attributes |= TIMESTAMP_TYPE_BIT;
  if (options.transactional) attributes |= TRANSACTIONAL_BIT;
  if (options.control) attributes |= CONTROL_BIT;

  const writer = new ByteWriter(4096);
  writer.writeInt64Number(baseOffset);
  writer.writeInt32(0); // batchLength, patched below
  writer.writeInt32(options.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH);
  writer.writeInt8(MAGIC_V2);
  writer.writeUint32(0); // crc, patched below
  writer.writeInt16(attributes);
  writer.writeInt32(records.length - 1);
  writer.writeInt64Number(baseTimestamp);
  writer.writeInt64Number(maxTimestamp);
  writer.writeInt64Number(producerId);
  writer.writeInt16(options.producerEpoch ?? NO_PRODUCER_EPOCH);
  writer.writeInt32(options.baseSequence ?? NO_SEQUENCE);
  writer.writeInt32(records.length);

  const recordsWriter = compression === Compression.none ? writer : new ByteWriter(4096);
  writeRecords(recordsWriter, records, timestamps, baseTimestamp);
  if (recordsWriter !== writer) writer.writeRaw(compress(compression, recordsWriter.toUint8Array()));

  const batch = writer.toUint8Array();
  writeInt32(batch, BATCH_LENGTH_OFFSET, batch.length - LOG_OVERHEAD);
  writeInt32(batch, CRC_OFFSET, computeBatchCrc(batch));
  return batch;
}

function writeRecords(writer: ByteWriter, records: RecordInput[], timestamps: number[], baseTimestamp: number): void {
  for (let index = 0; index < records.length; index++) {
    const record = records[index]!;
    const key = record.key ?? null;
    const timestampDelta = timestamps[index]! - baseTimestamp;
    const headers = (record.headers ?? []).map((header) => ({ key: utf8Encoder.encode(header.key), value: header.value }));
    let bodyBytes =
      1 + sizeOfVarlong(timestampDelta) + sizeOfVarint(index) + sizeOfVarintBytes(key) + sizeOfVarintBytes(record.value);
    bodyBytes += sizeOfVarint(headers.length);
    for (const header of headers) bodyBytes += sizeOfVarintBytes(header.key) + sizeOfVarintBytes(header.value);

    writer.writeVarint(bodyBytes);
    writer.writeInt8(0); // record attributes: unused
    writer.writeVarlong(timestampDelta);
    writer.writeVarint(index);
    writeVarintBytes(writer, key);
    writeVarintBytes(writer, record.value);
    writer.writeVarint(headers.length);
    for (const header of headers) {
      writeVarintBytes(writer, header.key);
      writeVarintBytes(writer, header.value);
    }
  }
}

/**
 * The batch with its records section in `codec` (a topic's compression.type other than `producer`): the header is
 * copied, the compression bits, batchLength and CRC rewritten. `records` is the batch's records section
 * uncompressed (validateBatchForAppend's decompressedRecords, or the batch's own bytes from RECORDS_OFFSET).
 * A new buffer: the caller's batch is untouched.
 */
export function recompressBatch(batch: Uint8Array, records: Uint8Array, codec: Codec): Uint8Array {
  const section = compress(codec, records);
  const rebuilt = new Uint8Array(RECORDS_OFFSET + section.length);
  rebuilt.set(batch.subarray(0, RECORDS_OFFSET));
  rebuilt.set(section, RECORDS_OFFSET);
  writeInt16(rebuilt, ATTRIBUTES_OFFSET, (readInt16(batch, ATTRIBUTES_OFFSET) & ~COMPRESSION_MASK) | codec);
  writeInt32(rebuilt, BATCH_LENGTH_OFFSET, rebuilt.length - LOG_OVERHEAD);
  writeInt32(rebuilt, CRC_OFFSET, computeBatchCrc(rebuilt));
  return rebuilt;
}

/** The records section of a batch, uncompressed (a view for an uncompressed batch), bounded by maxBytes. */
export function batchRecordsSection(batch: Uint8Array, maxBytes = limits.decompressedBatchBytesMax): ReturnType<typeof decompress> {
  const compression = readInt16(batch, ATTRIBUTES_OFFSET) & COMPRESSION_MASK;
  const end = Math.min(batch.length, LOG_OVERHEAD + readInt32(batch, BATCH_LENGTH_OFFSET));
  return decompress(compression, batch.subarray(RECORDS_OFFSET, end), maxBytes);
}
