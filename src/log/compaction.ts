// Key compaction of stored record batches, Kafka's LogCleaner rules (core/…/log/LogCleaner.scala, MemoryRecords
// .filterTo), shared by the memory and file logs; the pass that applies them is log-compaction.ts, the logs only
// decide where batches come from and go to:
// - Pass 1 reads the dirty part of the log (not yet cleaned, below the first uncleanable offset) into an offset map:
//   key → offset of its latest record, and producer id → its last batch.
// - Pass 2 rewrites every batch below the end of the mapped range: a record survives when it has a key, no later
//   record of that key is in the map, and it is not a tombstone (null value) whose delete horizon has passed.
//   Records without a key are dropped (Kafka counts them as invalid). Control batches stay as they are.
// - A batch that loses records is rebuilt with the same base offset, lastOffsetDelta (so the log end and producer
//   sequences stay right), producer id/epoch/base sequence, partition leader epoch and codec; its CRC is recomputed.
//   A batch that loses every record goes, unless it is its producer's last batch (producer state, as Kafka's
//   BatchRetention.RETAIN_EMPTY): then only its header stays.
// - Tombstones (KIP-534): the first cleaning that keeps a tombstone stamps its batch with a delete horizon
//   (attribute bit 0x40, baseTimestamp = now + delete.retention.ms; record timestamp deltas rebased so every
//   record's timestamp is unchanged). A later cleaning after the horizon drops the tombstones.

import { ProtocolDecodeError } from "../protocol/byte-reader.ts";
import { ByteWriter } from "../protocol/byte-writer.ts";
import {
  ATTRIBUTES_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_LENGTH_OFFSET,
  COMPRESSION_MASK,
  CONTROL_BIT,
  CRC_OFFSET,
  DELETE_HORIZON_BIT,
  LOG_OVERHEAD,
  MAX_TIMESTAMP_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORDS_OFFSET,
  RECORD_BATCH_OVERHEAD,
  RECORD_COUNT_OFFSET,
  TIMESTAMP_TYPE_BIT,
  TRANSACTIONAL_BIT,
  computeBatchCrc,
  hasValidCrc,
} from "../protocol/records/record-batch.ts";
import { compress, decompress, type Codec } from "../compression/index.ts";
import { limits } from "../config.ts";
import type { LogConfigs } from "./log-configs.ts";
import { readInt16, readInt32, readInt64, writeInt16, writeInt32, writeInt64 } from "../protocol/records/big-endian.ts";
import { readVarintAt, readVarlongAt, recordCursor } from "../protocol/records/record-cursor.ts";



/** Whether the transactional batch of `producerId` at `offset` was aborted (the partition's producer state knows). */
export type AbortedCheck = (producerId: number, offset: number) => boolean;

function isAbortedBatch(map: OffsetMap, batch: Uint8Array, producerId: number, baseOffset: number): boolean {
  return producerId >= 0 && (readInt16(batch, ATTRIBUTES_OFFSET) & TRANSACTIONAL_BIT) !== 0 && map.isAborted(producerId, baseOffset);
}

/** What pass 1 learned about the dirty range. */
export class OffsetMap {
  /** Key (its bytes as a latin1 string: exact, one char per byte) → offset of its latest record. */
  readonly keys = new Map<string, number>();
  /** Producer id → base offset of its last batch. */
  readonly lastBatchByProducer = new Map<number, number>();
  /** Offsets below this were not mapped: cleaning treats their keys as unknown. */
  fromOffset = 0;

  /**
   * Whether the transactional batch of this producer at this offset belongs to an aborted transaction. Its records
   * are never a key's latest value and are removed, as Kafka's cleaner does: otherwise an aborted write could make
   * the committed value of its key disappear for read_committed consumers.
   */
  constructor(readonly isAborted: AbortedCheck = () => false) {}

  get size(): number {
    return this.keys.size;
  }
}

// --- Walking records -------------------------------------------------------------------------------------------

/** One record of a batch: byte positions within the records section, plus the fields the cleaner looks at. */
interface RecordView {
  /** First byte of its length varint. */
  start: number;
  end: number;
  /** Where offsetDelta begins: the bytes from here to `end` are copied as they are when rebasing timestamps. */
  afterTimestamp: number;
  attributes: number;
  timestampDelta: number;
  offsetDelta: number;
  keyStart: number;
  /** -1: null key. */
  keyLength: number;
  /** True when the value is null. */
  tombstone: boolean;
}

/** The records of a section (uncompressed), in order; throws ProtocolDecodeError when they do not parse. */
function walkRecords(records: Uint8Array, start: number, end: number, count: number): RecordView[] {
  const views: RecordView[] = [];
  recordCursor.at = start;
  recordCursor.overrun = false;
  for (let index = 0; index < count; index++) {
    const recordStart = recordCursor.at;
    const length = readVarintAt(records, end);
    const recordEnd = recordCursor.at + length;
    if (recordCursor.overrun || length < 0 || recordEnd > end) throw new ProtocolDecodeError(`record ${index} runs past its section`);
    const attributes = records[recordCursor.at++]!;
    const timestampDelta = readVarlongAt(records, recordEnd);
    const afterTimestamp = recordCursor.at;
    const offsetDelta = readVarintAt(records, recordEnd);
    const keyLength = readVarintAt(records, recordEnd);
    const keyStart = recordCursor.at;
    if (keyLength > 0) recordCursor.at += keyLength;
    const valueLength = readVarintAt(records, recordEnd);
    if (recordCursor.overrun || keyLength < -1 || valueLength < -1 || recordCursor.at + Math.max(valueLength, 0) > recordEnd) {
      throw new ProtocolDecodeError(`record ${index} has bad key or value lengths`);
    }
    views.push({
      start: recordStart,
      end: recordEnd,
      afterTimestamp,
      attributes,
      timestampDelta,
      offsetDelta,
      keyStart,
      keyLength,
      tombstone: valueLength === -1,
    });
    recordCursor.at = recordEnd;
  }
  return views;
}

function keyString(records: Uint8Array, record: RecordView): string {
  return Buffer.from(records.buffer, records.byteOffset + record.keyStart, record.keyLength).toString("latin1");
}

/** The records section of a stored batch, uncompressed, and where its records lie in it. */
function recordsOf(batch: Uint8Array): { records: Uint8Array; start: number; end: number } {
  const compression = readInt16(batch, ATTRIBUTES_OFFSET) & COMPRESSION_MASK;
  if (compression === 0) return { records: batch, start: RECORDS_OFFSET, end: batch.length };
  const expanded = decompress(compression, batch.subarray(RECORDS_OFFSET), limits.decompressedBatchBytesMax);
  if (!expanded.ok) throw new ProtocolDecodeError(`stored batch does not decompress: ${expanded.message}`);
  return { records: expanded.data, start: 0, end: expanded.data.length };
}

/** The batch's records section (uncompressed) and its records; null when they do not parse. */
function parseRecords(batch: Uint8Array): { records: Uint8Array; views: RecordView[] } | null {
  try {
    const section = recordsOf(batch);
    return { records: section.records, views: walkRecords(section.records, section.start, section.end, readInt32(batch, RECORD_COUNT_OFFSET)) };
  } catch (error) {
    if (error instanceof ProtocolDecodeError) return null;
    throw error;
  }
}

function isControl(batch: Uint8Array): boolean {
  return (readInt16(batch, ATTRIBUTES_OFFSET) & CONTROL_BIT) !== 0;
}

function batchBaseOffset(batch: Uint8Array): number {
  return readInt64(batch, 0);
}

// --- Pass 1 ----------------------------------------------------------------------------------------------------

/**
 * Adds a stored batch's keyed records at offsets ≥ map.fromOffset to the map. Returns false (and adds nothing) when
 * the batch fails its CRC or its records do not parse: such a batch is never served and is left out of the output.
 */
export function addToOffsetMap(map: OffsetMap, batch: Uint8Array): boolean {
  if (batch.length < RECORD_BATCH_OVERHEAD || !hasValidCrc(batch)) return false;
  const baseOffset = batchBaseOffset(batch);
  const producerId = readInt64(batch, PRODUCER_ID_OFFSET);
  if (producerId >= 0) map.lastBatchByProducer.set(producerId, baseOffset);
  if (isControl(batch) || isAbortedBatch(map, batch, producerId, baseOffset)) return true;
  const parsed = parseRecords(batch);
  if (parsed === null) return false;
  const { records, views } = parsed;
  for (const record of views) {
    const offset = baseOffset + record.offsetDelta;
    if (record.keyLength < 0 || offset < map.fromOffset) continue;
    map.keys.set(keyString(records, record), offset);
  }
  return true;
}

// --- Pass 2 ----------------------------------------------------------------------------------------------------

export interface CleanOptions {
  map: OffsetMap;
  nowMs: number;
  deleteRetentionMs: number;
}

export type CleanedBatch =
  /** Unchanged: copy the stored bytes. deleteHorizonMs: its horizon when it holds tombstones, else -1. */
  | { kind: "keep"; deleteHorizonMs: number }
  /**
   * Rebuilt (records removed, or a delete horizon stamped). maxTimestamp and the offset delta of its first record
   * are what the log's time lookups need.
   */
  | { kind: "rewrite"; batch: Uint8Array; deleteHorizonMs: number; maxTimestamp: number; maxTimestampOffsetDelta: number }
  /** Nothing of it survives. */
  | { kind: "drop" }
  /** Fails its CRC or does not parse: left out (it was never served). */
  | { kind: "corrupt" };

/** Applies the cleaning rules to one stored batch. */
export function cleanBatch(batch: Uint8Array, options: CleanOptions): CleanedBatch {
  if (batch.length < RECORD_BATCH_OVERHEAD || !hasValidCrc(batch)) return { kind: "corrupt" };
  if (isControl(batch)) return { kind: "keep", deleteHorizonMs: -1 };
  const attributes = readInt16(batch, ATTRIBUTES_OFFSET);
  const baseOffset = batchBaseOffset(batch);
  const hasHorizon = (attributes & DELETE_HORIZON_BIT) !== 0;
  const horizonMs = hasHorizon ? readInt64(batch, BASE_TIMESTAMP_OFFSET) : -1;
  const tombstonesExpired = hasHorizon && options.nowMs >= horizonMs;
  const parsed = parseRecords(batch);
  if (parsed === null) return { kind: "corrupt" };
  const { records, views } = parsed;
  const retained: RecordView[] = [];
  let tombstones = false;
  const aborted = isAbortedBatch(options.map, batch, readInt64(batch, PRODUCER_ID_OFFSET), baseOffset);
  for (const record of views) {
    if (record.keyLength < 0 || aborted) continue;
    const latest = options.map.keys.get(keyString(records, record));
    if (latest !== undefined && latest > baseOffset + record.offsetDelta) continue;
    if (record.tombstone && tombstonesExpired) continue;
    retained.push(record);
    if (record.tombstone) tombstones = true;
  }
  const stampHorizon = tombstones && !hasHorizon;
  if (retained.length === 0) {
    const producerId = readInt64(batch, PRODUCER_ID_OFFSET);
    const last = options.map.lastBatchByProducer.get(producerId);
    if (producerId < 0 || (last !== undefined && last > baseOffset)) return { kind: "drop" };
    if (views.length === 0) return { kind: "keep", deleteHorizonMs: -1 };
    const empty = emptyBatch(batch);
    return { kind: "rewrite", batch: empty, deleteHorizonMs: -1, maxTimestamp: readInt64(empty, MAX_TIMESTAMP_OFFSET), maxTimestampOffsetDelta: readInt32(batch, LAST_OFFSET_DELTA_OFFSET) };
  }
  if (retained.length === views.length && !stampHorizon) return { kind: "keep", deleteHorizonMs: tombstones ? horizonMs : -1 };
  const newHorizonMs = stampHorizon ? options.nowMs + options.deleteRetentionMs : horizonMs;
  const rebuilt = rebuildBatch(batch, records, retained, stampHorizon ? newHorizonMs : null);
  return {
    kind: "rewrite",
    batch: rebuilt.batch,
    deleteHorizonMs: tombstones ? newHorizonMs : -1,
    maxTimestamp: readInt64(rebuilt.batch, MAX_TIMESTAMP_OFFSET),
    maxTimestampOffsetDelta: rebuilt.maxTimestampOffsetDelta,
  };
}

/**
 * The batch with only `retained` records. Header fields stay (base offset, epoch, lastOffsetDelta, producer
 * fields, codec); record count, maxTimestamp (CreateTime: the largest kept), length and CRC are recomputed. With
 * `horizonMs`, the delete-horizon bit is set and baseTimestamp becomes the horizon, each record's delta rebased.
 */
function rebuildBatch(
  batch: Uint8Array,
  records: Uint8Array,
  retained: RecordView[],
  horizonMs: number | null,
): { batch: Uint8Array; maxTimestampOffsetDelta: number } {
  const attributes = readInt16(batch, ATTRIBUTES_OFFSET);
  const baseTimestamp = readInt64(batch, BASE_TIMESTAMP_OFFSET);
  const logAppendTime = (attributes & TIMESTAMP_TYPE_BIT) !== 0;
  const section = new ByteWriter(4096);
  let maxTimestamp = logAppendTime ? readInt64(batch, MAX_TIMESTAMP_OFFSET) : -1;
  let maxTimestampOffsetDelta = logAppendTime ? retained[0]!.offsetDelta : -1;
  for (const record of retained) {
    const timestamp = baseTimestamp + record.timestampDelta;
    if (!logAppendTime && timestamp > maxTimestamp) {
      maxTimestamp = timestamp;
      maxTimestampOffsetDelta = record.offsetDelta;
    }
    if (horizonMs === null) {
      section.writeRaw(records.subarray(record.start, record.end));
      continue;
    }
    // Rebased: length varint, attributes, new timestamp delta, then the rest as it was.
    const tail = records.subarray(record.afterTimestamp, record.end);
    const body = new ByteWriter(16 + tail.length);
    body.writeInt8(record.attributes << 24 >> 24);
    body.writeVarlong(timestamp - horizonMs);
    body.writeRaw(tail);
    const bodyBytes = body.toUint8Array();
    section.writeVarint(bodyBytes.length);
    section.writeRaw(bodyBytes);
  }
  let sectionBytes = section.toUint8Array();
  const codec = (attributes & COMPRESSION_MASK) as Codec;
  if (codec !== 0) sectionBytes = compress(codec, sectionBytes);
  const rebuilt = new Uint8Array(RECORDS_OFFSET + sectionBytes.length);
  rebuilt.set(batch.subarray(0, RECORDS_OFFSET));
  rebuilt.set(sectionBytes, RECORDS_OFFSET);
  if (horizonMs !== null) {
    writeInt16(rebuilt, ATTRIBUTES_OFFSET, attributes | DELETE_HORIZON_BIT);
    writeInt64(rebuilt, BASE_TIMESTAMP_OFFSET, horizonMs);
  }
  writeInt64(rebuilt, MAX_TIMESTAMP_OFFSET, maxTimestamp);
  writeInt32(rebuilt, RECORD_COUNT_OFFSET, retained.length);
  writeInt32(rebuilt, BATCH_LENGTH_OFFSET, rebuilt.length - LOG_OVERHEAD);
  writeInt32(rebuilt, CRC_OFFSET, computeBatchCrc(rebuilt));
  return { batch: rebuilt, maxTimestampOffsetDelta: maxTimestampOffsetDelta < 0 ? retained[retained.length - 1]!.offsetDelta : maxTimestampOffsetDelta };
}

/** Kafka's DefaultRecordBatch.writeEmptyHeader: the header alone, uncompressed, both timestamps the batch's max. */
function emptyBatch(batch: Uint8Array): Uint8Array {
  const empty = batch.slice(0, RECORDS_OFFSET);
  const attributes = readInt16(batch, ATTRIBUTES_OFFSET) & ~(COMPRESSION_MASK | DELETE_HORIZON_BIT);
  writeInt16(empty, ATTRIBUTES_OFFSET, attributes);
  writeInt64(empty, BASE_TIMESTAMP_OFFSET, readInt64(batch, MAX_TIMESTAMP_OFFSET));
  writeInt32(empty, RECORD_COUNT_OFFSET, 0);
  writeInt32(empty, BATCH_LENGTH_OFFSET, RECORDS_OFFSET - LOG_OVERHEAD);
  writeInt32(empty, CRC_OFFSET, computeBatchCrc(empty));
  return empty;
}

// --- Scheduling helpers ----------------------------------------------------------------------------------------

/** What decides whether a log is due for a pass. */
export interface CleanableState {
  cleanBytes: number;
  dirtyBytes: number;
  /** The smallest newest-record timestamp among the dirty segments (> 0 only), Infinity when none. */
  oldestDirtyTimestamp: number;
}

/**
 * Whether a log is due (Kafka's LogCleanerManager.grabFilthiestCompactedLog): enough of it is dirty, a dirty record
 * has waited max.compaction.lag.ms, or a tombstone's delete horizon has passed.
 */
export function cleaningDue(state: CleanableState, configs: LogConfigs, deleteHorizonMs: number, nowMs: number): boolean {
  if (deleteHorizonMs >= 0 && nowMs >= deleteHorizonMs) return true;
  if (state.dirtyBytes === 0) return false;
  if (state.oldestDirtyTimestamp < nowMs - configs.maxCompactionLagMs) return true;
  return state.dirtyBytes / (state.cleanBytes + state.dirtyBytes) >= configs.minCleanableDirtyRatio;
}

/** What one cleaning did, for the log line and tests. */
export interface CompactionResult {
  /** False when nothing was due, or the pass was abandoned (the log changed or closed under it). */
  cleaned: boolean;
  bytesBefore: number;
  bytesAfter: number;
  /** The new first dirty offset (everything below it is clean). */
  cleanedUpTo: number;
}

/** Lets the event loop run (sockets, timers) between the cleaner's steps. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
