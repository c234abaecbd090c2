// One log segment on disk, Kafka's layout (storage/…/log/LogSegment.java, OffsetIndex.java, TimeIndex.java):
//   <baseOffset, 20 digits>.log        record batches v2 exactly as stored (base offset rewritten), back to back
//   <baseOffset>.index                 sparse offset index: (offset − baseOffset int32, position int32) big-endian,
//                                      one entry for the first batch after every `index.interval.bytes` appended
//   <baseOffset>.timeindex             (max timestamp of the batches before the entry int64, offset − baseOffset
//                                      int32), written with each offset index entry, so entry i of both belong together
// Kafka's time index holds the max timestamp up to and including the entry's batch; ours holds the max strictly
// before it, so "every batch before this position is older than T" reads straight off an entry.
// The index files are derived data: after an unclean shutdown they are rebuilt while the .log is scanned, and a
// damaged one (wrong size, entries out of order or past the end) is rebuilt too. Only the .log is ever fsynced
// for durability.

import { readInt32, writeInt32, writeInt64 } from "../../protocol/records/big-endian.ts";
import {
  ATTRIBUTES_OFFSET,
  BATCH_LENGTH_OFFSET,
  CRC_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAGIC_V2,
  MAX_TIMESTAMP_OFFSET,
  RECORD_BATCH_OVERHEAD,
} from "../../protocol/records/record-batch.ts";
import { closeSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { crc32cRange } from "../../protocol/records/crc32c.ts";
import { readExactly, recordDurability, writeAll } from "./file-io.ts";
import { dropCachedPages, DROP_BEHIND_BYTES } from "./page-cache.ts";
import { FALLOC_FL_KEEP_SIZE, libcFallocate } from "../../util/libc.ts";
import type { CleanedSegmentSummary } from "./segment-cleaning.ts";
import { limits } from "../../config.ts";
import { assertLog as assert } from "../append-contract.ts";

/** Kafka names segment files by base offset, zero-padded to 20 digits (the width of Long.MAX_VALUE). */
const SEGMENT_NAME_DIGITS = 20;
export const LOG_FILE_SUFFIX = ".log";
export const INDEX_FILE_SUFFIX = ".index";
export const TIME_INDEX_FILE_SUFFIX = ".timeindex";
const INDEX_ENTRY_BYTES = 8;
const TIME_INDEX_ENTRY_BYTES = 12;
const INDEX_CAPACITY_INITIAL = 16;

const UINT32_RANGE = 0x1_0000_0000;

/** Scan reads go through one reused buffer of this size (grown for a larger batch): no fresh memory per read. */
const SCAN_WINDOW_BYTES = 1 << 20;
let scanBuffer: Uint8Array = new Uint8Array(SCAN_WINDOW_BYTES);

export function segmentFileName(baseOffset: number, suffix: string): string {
  return String(baseOffset).padStart(SEGMENT_NAME_DIGITS, "0") + suffix;
}

/** The base offset a segment file name encodes, or null for other files. */
export function parseSegmentFileName(name: string): number | null {
  const match = /^(\d{20})\.log$/.exec(name);
  if (!match) return null;
  const baseOffset = Number(match[1]);
  return Number.isSafeInteger(baseOffset) ? baseOffset : null;
}

/** int64 as a number; NaN when outside the safe range (a corrupt field must not pass as an offset). */
export function readInt64(bytes: Uint8Array, at: number): number {
  const high = readInt32(bytes, at);
  const low = readInt32(bytes, at + 4) >>> 0;
  const value = high * UINT32_RANGE + low;
  return Number.isSafeInteger(value) ? value : Number.NaN;
}

/** Whether the batch starting at bytes[at] (length bytes) has the CRC-32C its header claims. */
export function batchCrcValid(bytes: Uint8Array, at: number, length: number): boolean {
  return (readInt32(bytes, at + CRC_OFFSET) >>> 0) === crc32cRange(bytes, at + ATTRIBUTES_OFFSET, at + length);
}

/** The header fields a scan needs, read from bytes[at…]. */
export interface BatchHeaderView {
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  length: number;
}

export function readHeader(bytes: Uint8Array, at: number): BatchHeaderView {
  const baseOffset = readInt64(bytes, at);
  return {
    baseOffset,
    lastOffset: baseOffset + readInt32(bytes, at + LAST_OFFSET_DELTA_OFFSET),
    maxTimestamp: readInt64(bytes, at + MAX_TIMESTAMP_OFFSET),
    length: batchLengthAt(bytes, at),
  };
}

/** The whole length of the batch whose header starts at bytes[at] (its batchLength field plus LOG_OVERHEAD). */
export function batchLengthAt(bytes: Uint8Array, at: number): number {
  return LOG_OVERHEAD + readInt32(bytes, at + BATCH_LENGTH_OFFSET);
}

/**
 * What a scan makes of one batch. `bytes[at…]` holds its header, or all of it when the scan reads batches whole.
 * Returning true stops the scan.
 */
type ScanVisitor = (bytes: Uint8Array, at: number, position: number, length: number, crcValid: boolean) => boolean | void;

/** Where a scan stopped: the end, or the position of bytes that do not frame as a batch, and why. */
export interface ScanEnd {
  position: number;
  problem: string | null;
}

/** Bytes of a segment file a scan holds in memory: bytes[0, length) are the file's [start, start + length). */
export interface ScanWindow {
  bytes: Uint8Array;
  start: number;
  length: number;
}

export interface ScanOptions {
  /** Check each batch's CRC (reads it whole). */
  checkCrc?: boolean;
  /** Hand the visitor whole batches, not just headers. */
  whole?: boolean;
  /** A batch whose magic is not 2 ends the scan as a problem (default); false leaves magic to the visitor. */
  checkMagic?: boolean;
  /** How much one read fetches (grown for a larger batch). */
  windowBytes?: number;
  /**
   * Where the bytes go: default, the shared scan buffer. A window already holding [start, end) (a Fetch read into a
   * pooled buffer) is walked without reading the file.
   */
  window?: ScanWindow;
  /** Drop what was read from the page cache behind the scan (page-cache.ts): a one-pass read of a whole file. */
  dropCacheBehind?: boolean;
  /**
   * Stop (problem null) where the next batch needs a new read once some batch was visited: the caller lets the event
   * loop run, then scans on from the returned position.
   */
  stopBeforeNextRead?: boolean;
}

/**
 * The one walk over stored batches: the batches of [start, end) of a segment file, read window by window. Framing is
 * checked (a header's worth of bytes, the length field, magic 2 unless told otherwise, the batch ends by `end`); CRCs
 * only when `checkCrc`.
 */
export function scanBatches(fd: number, start: number, end: number, visit: ScanVisitor, options: ScanOptions = {}): ScanEnd {
  const { checkCrc = false, checkMagic = true, windowBytes = SCAN_WINDOW_BYTES, dropCacheBehind = false, stopBeforeNextRead = false } = options;
  const whole = checkCrc || options.whole === true;
  const window = options.window ?? { bytes: scanBuffer, start: 0, length: 0 };
  const holds = (position: number, length: number) => position >= window.start && position + length <= window.start + window.length;
  const load = (position: number, length: number) => {
    if (length > window.bytes.length) {
      window.bytes = new Uint8Array(Math.max(length, window.bytes.length * 2));
      if (options.window === undefined) scanBuffer = window.bytes;
    }
    window.start = position;
    window.length = Math.min(Math.max(length, Math.min(windowBytes, window.bytes.length)), end - position);
    readExactly(fd, window.bytes, 0, window.length, position);
    if (dropCacheBehind) dropCachedPages(fd, Math.max(0, position - DROP_BEHIND_BYTES), position);
  };
  let visited = false;
  let position = start;
  while (position < end) {
    const remaining = end - position;
    if (remaining < RECORD_BATCH_OVERHEAD) return { position, problem: `${remaining} bytes, too few for a batch header` };
    if (!holds(position, RECORD_BATCH_OVERHEAD)) {
      if (stopBeforeNextRead && visited) return { position, problem: null };
      load(position, RECORD_BATCH_OVERHEAD);
    }
    let at = position - window.start;
    const length = batchLengthAt(window.bytes, at);
    if (length < RECORD_BATCH_OVERHEAD || length > remaining) {
      return { position, problem: `batch length field says ${length} bytes, ${remaining} remain` };
    }
    if (checkMagic && window.bytes[at + MAGIC_OFFSET] !== MAGIC_V2) {
      return { position, problem: `magic ${window.bytes[at + MAGIC_OFFSET]}, not 2` };
    }
    if (whole && !holds(position, length)) {
      if (stopBeforeNextRead && visited) return { position, problem: null };
      load(position, length);
      at = position - window.start;
    }
    const crcValid = !checkCrc || batchCrcValid(window.bytes, at, length);
    if (visit(window.bytes, at, position, length, crcValid) === true) return { position, problem: null };
    visited = true;
    position += length;
  }
  return { position: end, problem: null };
}

/** What recovery did to a segment, for the log line. */
export interface SegmentRecovery {
  /** Bytes cut from the end (torn or corrupt tail), 0 when none. */
  truncatedBytes: number;
  /** The offset the cut tail started at (the segment's next offset after the cut). */
  truncatedAtOffset: number;
  truncationReason: string | null;
  /** Batches in the middle whose CRC or offsets are wrong: kept on disk, never served. */
  corruptBatches: { position: number; length: number }[];
  indexRebuilt: boolean;
}

export class Segment {
  /** The offset the next batch appended here gets (baseOffset while empty). */
  nextOffset: number;
  /** Bytes of whole batches in the .log file. */
  sizeBytes = 0;
  /** Largest batch max timestamp, -Infinity while empty. */
  maxTimestamp = Number.NEGATIVE_INFINITY;
  /** Offset of the first record carrying maxTimestamp; -1 when not yet known (computed on demand after a restart). */
  maxTimestampOffset = -1;
  /** When the first batch was appended (segment.ms rolls from it); for a reopened segment, when it was opened. */
  firstAppendAtMs = -1;
  /** Positions of batches found corrupt by recovery or a read; skipped by every reader. */
  corruptPositions: Set<number> | null = null;
  /** The prefix of the .log already dropped from the page cache after it became durable (page-cache.ts). */
  pagesDroppedBytes = 0;
  /** How far the .log is known allocated on disk (fallocate, KEEP_SIZE), and whether that stopped working here. */
  private preallocatedBytes = 0;
  private preallocationFailed = false;

  private indexCount = 0;
  private indexRelativeOffsets = new Int32Array(INDEX_CAPACITY_INITIAL);
  private indexPositions = new Int32Array(INDEX_CAPACITY_INITIAL);
  private indexMaxTimestampsBefore = new Float64Array(INDEX_CAPACITY_INITIAL);
  private bytesSinceIndexEntry = 0;
  /** Index spacing used when recovery rebuilds the index (the topic's index.interval.bytes). */
  private recoveryIndexIntervalBytes = 4096;
  private readonly indexEntry = new Uint8Array(INDEX_ENTRY_BYTES);
  private readonly timeIndexEntry = new Uint8Array(TIME_INDEX_ENTRY_BYTES);

  private constructor(
    readonly directory: string,
    readonly baseOffset: number,
    /** The .log, opened for append and positioned reads; -1 once closed. */
    public logFd: number,
    private indexFd: number,
    private timeIndexFd: number,
  ) {
    this.nextOffset = baseOffset;
  }

  private static openFiles(directory: string, baseOffset: number, indexFlags: string): Segment {
    const logFd = openSync(join(directory, segmentFileName(baseOffset, LOG_FILE_SUFFIX)), "a+");
    const indexFd = openSync(join(directory, segmentFileName(baseOffset, INDEX_FILE_SUFFIX)), indexFlags);
    const timeIndexFd = openSync(join(directory, segmentFileName(baseOffset, TIME_INDEX_FILE_SUFFIX)), indexFlags);
    return new Segment(directory, baseOffset, logFd, indexFd, timeIndexFd);
  }

  /** A new, empty segment. The caller fsyncs the folder. */
  static create(directory: string, baseOffset: number): Segment {
    assert(Number.isSafeInteger(baseOffset) && baseOffset >= 0, "segment base offset");
    const segment = Segment.openFiles(directory, baseOffset, "w+");
    for (const suffix of [LOG_FILE_SUFFIX, INDEX_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX]) {
      recordDurability("create", join(directory, segmentFileName(baseOffset, suffix)));
    }
    return segment;
  }

  /**
   * A cleaned segment just renamed to `<baseOffset>.log` (segment-cleaning.ts): takes its size, offsets and index
   * from what the cleaner wrote instead of reading it again, writes its index files and seals it.
   */
  static adoptCleaned(directory: string, baseOffset: number, summary: CleanedSegmentSummary): Segment {
    const segment = Segment.openFiles(directory, baseOffset, "w+");
    segment.sizeBytes = summary.sizeBytes;
    segment.nextOffset = summary.nextOffset;
    segment.maxTimestamp = summary.maxTimestamp;
    segment.firstAppendAtMs = Date.now();
    for (const entry of summary.indexEntries) segment.addIndexEntry(entry.relativeOffset, entry.position, entry.maxTimestampBefore, false);
    segment.rewriteIndexes();
    segment.closeIndexes();
    return segment;
  }

  get logPath(): string {
    return join(this.directory, segmentFileName(this.baseOffset, LOG_FILE_SUFFIX));
  }

  /**
   * Opens an existing segment. `checkAll` (after an unclean shutdown) scans every batch with its CRC, cuts a
   * torn or corrupt tail and rebuilds the indexes; otherwise the indexes are loaded (rebuilt when damaged or
   * missing) and only the bytes after the last index entry are walked to find the segment's end.
   */
  static open(
    directory: string,
    baseOffset: number,
    checkAll: boolean,
    indexIntervalBytes: number,
  ): { segment: Segment; recovery: SegmentRecovery } {
    const indexPath = join(directory, segmentFileName(baseOffset, INDEX_FILE_SUFFIX));
    const timeIndexPath = join(directory, segmentFileName(baseOffset, TIME_INDEX_FILE_SUFFIX));
    let indexes: { index: Uint8Array; timeIndex: Uint8Array } | null = null;
    if (!checkAll) {
      try {
        indexes = { index: readFileSync(indexPath), timeIndex: readFileSync(timeIndexPath) };
      } catch {
        indexes = null;
      }
    }
    const segment = Segment.openFiles(directory, baseOffset, "a+");
    segment.firstAppendAtMs = Date.now();
    segment.recoveryIndexIntervalBytes = indexIntervalBytes;
    const fileBytes = fstatSync(segment.logFd).size;
    const recovery: SegmentRecovery = {
      truncatedBytes: 0,
      truncatedAtOffset: -1,
      truncationReason: null,
      corruptBatches: [],
      indexRebuilt: false,
    };
    if (indexes !== null && segment.loadIndexes(indexes.index, indexes.timeIndex, fileBytes)) {
      segment.walkTail(fileBytes, recovery);
    } else {
      segment.recover(fileBytes, recovery);
    }
    return { segment, recovery };
  }

  /** Position of the batch the index points at for `offset`: the last indexed batch starting at or before it. */
  indexedPositionFor(offset: number): number {
    const relative = offset - this.baseOffset;
    let low = 0;
    let high = this.indexCount;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.indexRelativeOffsets[middle]! <= relative) low = middle + 1;
      else high = middle;
    }
    return low === 0 ? 0 : this.indexPositions[low - 1]!;
  }

  /** A position before which every batch's max timestamp is below `timestamp` (from the time index). */
  indexedPositionForTimestamp(timestamp: number): number {
    let low = 0;
    let high = this.indexCount;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.indexMaxTimestampsBefore[middle]! < timestamp) low = middle + 1;
      else high = middle;
    }
    return low === 0 ? 0 : this.indexPositions[low - 1]!;
  }

  /**
   * Appends one batch: `offsetField` (8 bytes, its base offset) then `batch` from byte 8 on, in one writev.
   * Index entries go out after the batch, so a crash never leaves an entry pointing past the data.
   */
  append(
    offsetField: Uint8Array,
    batch: Uint8Array,
    baseOffset: number,
    lastOffset: number,
    maxTimestamp: number,
    maxTimestampOffset: number,
    indexIntervalBytes: number,
  ): void {
    assert(this.logFd >= 0, "append to a closed segment");
    assert(baseOffset >= this.nextOffset, "offsets grow within a segment");
    const position = this.sizeBytes;
    const needsIndexEntry = position > 0 && this.bytesSinceIndexEntry >= indexIntervalBytes;
    if (position + batch.length > this.preallocatedBytes && !this.preallocationFailed) this.preallocate(position, batch.length);
    try {
      writeAll(this.logFd, [offsetField, batch.subarray(8)]);
    } catch (error) {
      // A partial write (full disk) must not stay: the next batch would land after half a batch.
      try {
        ftruncateSync(this.logFd, position);
      } catch {}
      throw error;
    }
    if (this.sizeBytes === 0) this.firstAppendAtMs = Date.now();
    const maxTimestampBefore = this.maxTimestamp;
    this.sizeBytes = position + batch.length;
    this.nextOffset = lastOffset + 1;
    if (maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = maxTimestamp;
      this.maxTimestampOffset = maxTimestampOffset;
    }
    // Last, once the batch counts: index writes may fail without harm (the index is sparse and rebuilt when damaged).
    if (needsIndexEntry) this.addIndexEntry(baseOffset - this.baseOffset, position, maxTimestampBefore, true);
    this.bytesSinceIndexEntry += batch.length;
  }

  /**
   * Allocates disk blocks ahead of a growing segment (fallocate with KEEP_SIZE: the file's size, which recovery reads,
   * stays the data's): appends into allocated blocks cost the filesystem less (measured with write+fdatasync of 3 GB:
   * 0.27 -> 0.18 s/GB of system time). Only a segment past limits.preallocateFromBytes gets any, at most an eighth of what
   * it holds, so idle partitions of an edge box's small disk stay small; the excess is released when the segment is
   * sealed or closed. A failure (no fallocate, a full disk) just ends preallocation here: the write reports its own.
   */
  private preallocate(position: number, length: number): void {
    if (position < limits.preallocateFromBytes) return;
    const fallocate = libcFallocate();
    const end = position + length + Math.min(limits.preallocateStepBytesMax, position >>> 3);
    const start = Math.max(position, this.preallocatedBytes);
    if (fallocate === null || fallocate(this.logFd, FALLOC_FL_KEEP_SIZE, start, end - start) !== 0) {
      this.preallocationFailed = true;
      return;
    }
    this.preallocatedBytes = end;
  }

  /** Gives back the blocks preallocated past the end (a same-size truncate frees them). */
  private releasePreallocation(): void {
    if (this.preallocatedBytes <= this.sizeBytes) return;
    try {
      ftruncateSync(this.logFd, this.sizeBytes);
    } catch {}
    this.preallocatedBytes = 0;
  }

  /** fdatasync of the .log: what an acknowledged append needs (indexes are rebuilt after a crash). */
  syncData(): void {
    if (this.logFd < 0) return;
    fdatasyncSync(this.logFd);
    recordDurability("sync", this.logPath, this.sizeBytes);
  }

  /** Clean close: data and indexes synced, descriptors closed. */
  close(): void {
    if (this.logFd < 0) return;
    this.releasePreallocation();
    this.syncData();
    this.closeIndexes();
    this.closeDescriptors();
  }

  /**
   * A segment that will not grow again (rolled, or an older one at start): its data and indexes are synced and the
   * index descriptors closed, so a partition holds one descriptor per old segment, not three.
   */
  seal(): void {
    if (this.logFd < 0) return;
    this.releasePreallocation();
    this.syncData();
    this.closeIndexes();
  }

  private closeIndexes(): void {
    if (this.indexFd < 0) return;
    fdatasyncSync(this.indexFd);
    fdatasyncSync(this.timeIndexFd);
    recordDurability("sync", join(this.directory, segmentFileName(this.baseOffset, INDEX_FILE_SUFFIX)), fstatSync(this.indexFd).size);
    recordDurability("sync", join(this.directory, segmentFileName(this.baseOffset, TIME_INDEX_FILE_SUFFIX)), fstatSync(this.timeIndexFd).size);
    closeSync(this.indexFd);
    closeSync(this.timeIndexFd);
    this.indexFd = -1;
    this.timeIndexFd = -1;
  }

  /** Closes and removes the three files (retention, topic deletion); the caller fsyncs the folder. */
  delete(): void {
    this.closeDescriptors();
    for (const suffix of [LOG_FILE_SUFFIX, INDEX_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX]) {
      try {
        unlinkSync(join(this.directory, segmentFileName(this.baseOffset, suffix)));
      } catch {}
    }
  }

  /** Closes the descriptors without syncing anything (a simulated kill -9 in tests). */
  abandon(): void {
    this.closeDescriptors();
  }

  markCorrupt(position: number): void {
    (this.corruptPositions ??= new Set()).add(position);
  }

  private closeDescriptors(): void {
    if (this.logFd < 0) return;
    closeSync(this.logFd);
    if (this.indexFd >= 0) closeSync(this.indexFd);
    if (this.timeIndexFd >= 0) closeSync(this.timeIndexFd);
    this.logFd = -1;
    this.indexFd = -1;
    this.timeIndexFd = -1;
  }

  private addIndexEntry(relativeOffset: number, position: number, maxTimestampBefore: number, write: boolean): void {
    if (this.indexCount === this.indexPositions.length) {
      const capacity = this.indexCount * 2;
      const grow = <T extends Int32Array<ArrayBuffer> | Float64Array<ArrayBuffer>>(array: T, make: (n: number) => T): T => {
        const grown = make(capacity);
        grown.set(array);
        return grown;
      };
      this.indexRelativeOffsets = grow(this.indexRelativeOffsets, (n) => new Int32Array(n));
      this.indexPositions = grow(this.indexPositions, (n) => new Int32Array(n));
      this.indexMaxTimestampsBefore = grow(this.indexMaxTimestampsBefore, (n) => new Float64Array(n));
    }
    this.indexRelativeOffsets[this.indexCount] = relativeOffset;
    this.indexPositions[this.indexCount] = position;
    this.indexMaxTimestampsBefore[this.indexCount] = maxTimestampBefore;
    this.indexCount++;
    this.bytesSinceIndexEntry = 0;
    if (!write) return;
    writeInt32(this.indexEntry, 0, relativeOffset);
    writeInt32(this.indexEntry, 4, position);
    // An empty segment's "max before" is -Infinity; stored as Kafka's "no timestamp" (-1).
    writeInt64(this.timeIndexEntry, 0, Number.isFinite(maxTimestampBefore) ? maxTimestampBefore : -1);
    writeInt32(this.timeIndexEntry, 8, relativeOffset);
    try {
      writeAll(this.indexFd, [this.indexEntry]);
      writeAll(this.timeIndexFd, [this.timeIndexEntry]);
    } catch {
      // Full disk: the files now disagree with memory, and the next start sees a damaged index and rebuilds it.
    }
  }

  /** Loads both index files; false when they disagree, are out of order or point past the data. */
  private loadIndexes(index: Uint8Array, timeIndex: Uint8Array, fileBytes: number): boolean {
    if (index.length % INDEX_ENTRY_BYTES !== 0) return false;
    const count = index.length / INDEX_ENTRY_BYTES;
    if (timeIndex.length !== count * TIME_INDEX_ENTRY_BYTES) return false;
    let previousPosition = 0;
    let previousRelative = -1;
    let previousTimestamp = Number.NEGATIVE_INFINITY;
    for (let entry = 0; entry < count; entry++) {
      const relative = readInt32(index, entry * INDEX_ENTRY_BYTES);
      const position = readInt32(index, entry * INDEX_ENTRY_BYTES + 4);
      const rawTimestamp = readInt64(timeIndex, entry * TIME_INDEX_ENTRY_BYTES);
      const timestamp = rawTimestamp === -1 ? Number.NEGATIVE_INFINITY : rawTimestamp;
      const timeRelative = readInt32(timeIndex, entry * TIME_INDEX_ENTRY_BYTES + 8);
      if (
        relative <= previousRelative ||
        position <= previousPosition ||
        position >= fileBytes ||
        timeRelative !== relative ||
        Number.isNaN(timestamp) ||
        timestamp < previousTimestamp
      ) {
        this.indexCount = 0;
        return false;
      }
      this.addIndexEntry(relative, position, timestamp, false);
      previousRelative = relative;
      previousPosition = position;
      previousTimestamp = timestamp;
    }
    this.maxTimestamp = previousTimestamp;
    return true;
  }

  /** After a clean shutdown: walks headers from the last index entry to find the end, offsets and max timestamp. */
  private walkTail(fileBytes: number, recovery: SegmentRecovery): void {
    const start = this.indexCount === 0 ? 0 : this.indexPositions[this.indexCount - 1]!;
    let end = start;
    const ended = scanBatches(this.logFd, start, fileBytes, (bytes, at, position, length) => {
      const header = readHeader(bytes, at);
      this.nextOffset = Math.max(this.nextOffset, header.lastOffset + 1);
      if (header.maxTimestamp > this.maxTimestamp) {
        this.maxTimestamp = header.maxTimestamp;
        this.maxTimestampOffset = -1;
      }
      end = position + length;
    });
    this.bytesSinceIndexEntry = end - start;
    this.sizeBytes = end;
    if (ended.problem !== null) {
      // A clean shutdown leaves whole batches; anything else means the files changed under us: check it all.
      this.indexCount = 0;
      this.nextOffset = this.baseOffset;
      this.maxTimestamp = Number.NEGATIVE_INFINITY;
      this.recover(fileBytes, recovery);
    }
  }

  /**
   * Scans every batch with its CRC. A bad batch followed by good ones is corrupt in the middle: recorded, kept,
   * never served. Bad batches with nothing good after them, and bytes that do not frame as a batch, are a torn
   * or corrupt tail: cut. Offsets must grow; a batch whose offsets go backwards counts as bad.
   */
  private recover(fileBytes: number, recovery: SegmentRecovery): void {
    this.indexCount = 0;
    this.bytesSinceIndexEntry = 0;
    let validEnd = 0;
    let pendingBad: { position: number; length: number; reason: string }[] = [];
    // Recovery reads the whole segment once: its pages go back behind the scan instead of filling the cache.
    const ended = scanBatches(this.logFd, 0, fileBytes, (bytes, at, position, length, crcValid) => {
      const header = readHeader(bytes, at);
      let reason: string | null = null;
      if (!crcValid) reason = "CRC-32C mismatch";
      else if (!(header.baseOffset >= this.nextOffset) || !(header.lastOffset >= header.baseOffset)) {
        reason = `offsets ${header.baseOffset}..${header.lastOffset} do not follow ${this.nextOffset - 1}`;
      } else if (Number.isNaN(header.maxTimestamp)) reason = "max timestamp out of range";
      if (reason !== null) {
        pendingBad.push({ position, length, reason });
        return;
      }
      for (const bad of pendingBad) {
        recovery.corruptBatches.push({ position: bad.position, length: bad.length });
        this.markCorrupt(bad.position);
      }
      pendingBad = [];
      if (position > 0 && this.bytesSinceIndexEntry >= this.recoveryIndexIntervalBytes) {
        this.addIndexEntry(header.baseOffset - this.baseOffset, position, this.maxTimestamp, false);
      }
      this.bytesSinceIndexEntry += position + length - validEnd;
      validEnd = position + length;
      this.nextOffset = header.lastOffset + 1;
      if (header.maxTimestamp > this.maxTimestamp) {
        this.maxTimestamp = header.maxTimestamp;
        this.maxTimestampOffset = -1;
      }
    }, { checkCrc: true, dropCacheBehind: true });
    let cutAt = fileBytes;
    let reason: string | null = null;
    if (pendingBad.length > 0) {
      cutAt = pendingBad[0]!.position;
      reason = pendingBad[0]!.reason;
    } else if (ended.problem !== null) {
      cutAt = ended.position;
      reason = ended.problem;
    }
    if (cutAt < fileBytes) {
      ftruncateSync(this.logFd, cutAt);
      fdatasyncSync(this.logFd);
      recordDurability("sync", this.logPath, cutAt);
      recovery.truncatedBytes = fileBytes - cutAt;
      recovery.truncatedAtOffset = this.nextOffset;
      recovery.truncationReason = reason;
    }
    this.sizeBytes = cutAt;
    this.rewriteIndexes();
    recovery.indexRebuilt = true;
  }


  private rewriteIndexes(): void {
    const index = new Uint8Array(this.indexCount * INDEX_ENTRY_BYTES);
    const timeIndex = new Uint8Array(this.indexCount * TIME_INDEX_ENTRY_BYTES);
    for (let entry = 0; entry < this.indexCount; entry++) {
      const relative = this.indexRelativeOffsets[entry]!;
      const timestamp = this.indexMaxTimestampsBefore[entry]!;
      writeInt32(index, entry * INDEX_ENTRY_BYTES, relative);
      writeInt32(index, entry * INDEX_ENTRY_BYTES + 4, this.indexPositions[entry]!);
      writeInt64(timeIndex, entry * TIME_INDEX_ENTRY_BYTES, Number.isFinite(timestamp) ? timestamp : -1);
      writeInt32(timeIndex, entry * TIME_INDEX_ENTRY_BYTES + 8, relative);
    }
    closeSync(this.indexFd);
    closeSync(this.timeIndexFd);
    writeFileSync(join(this.directory, segmentFileName(this.baseOffset, INDEX_FILE_SUFFIX)), index);
    writeFileSync(join(this.directory, segmentFileName(this.baseOffset, TIME_INDEX_FILE_SUFFIX)), timeIndex);
    this.indexFd = openSync(join(this.directory, segmentFileName(this.baseOffset, INDEX_FILE_SUFFIX)), "a+");
    this.timeIndexFd = openSync(join(this.directory, segmentFileName(this.baseOffset, TIME_INDEX_FILE_SUFFIX)), "a+");
  }
}
