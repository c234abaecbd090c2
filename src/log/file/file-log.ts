// A partition stored as a folder of segments (see segment.ts), behind the same PartitionLog interface as the memory
// log. Appends are one writev on the active segment's append-mode descriptor; durability (fdatasync, group commit)
// is the FileLogStore's job. Reads find their start through the sparse index and read only the bytes they return,
// with positioned reads into pooled read buffers, checking each batch's CRC before handing it out.
//
// Files in the folder: the segments, `partition.metadata` (Kafka's: version and topic id, so a folder left behind
// by a deleted topic is never mistaken for a new topic of the same name) and `log-start-offset` (decimal; written
// atomically when DeleteRecords or retention moves the start).

import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { findOffsetForTimestamp } from "../../protocol/records/record-batch.ts";
import { uuidToString } from "../../metadata/uuid.ts";
import { log } from "../../util/logger.ts";
import { StorageError, type AppendBatchInfo, type AppendResult, type OffsetAndTimestamp, type PartitionLog, type ReadResult } from "../partition-log.ts";
import { fsyncDirectory, readExactly, recordDurability, writeFileAtomic } from "./file-io.ts";
import { cacheKeptFrom, dropCachedPages, DROP_BEHIND_BYTES } from "./page-cache.ts";
import type { FileLogStore } from "./file-log-store.ts";
import { limits } from "../../config.ts";
import { OffsetMap, addToOffsetMap, cleanBatch, cleaningDue, type AbortedCheck, type CleanableState, type CompactionResult } from "../compaction.ts";
import type { LogConfigs } from "../log-configs.ts";
import { assertAppendable } from "../append-contract.ts";
import { CleanedSegmentWriter, forEachStoredBatch, reachedSwapStep, recoverCleanerFiles } from "./segment-cleaning.ts";
import {
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_POSITION,
  LOG_FILE_SUFFIX,
  LOG_OVERHEAD,
  Segment,
  segmentFileName,
  batchCrcValid,
  parseSegmentFileName,
  readHeader,
  readInt32,
  scanBatches,
  writeInt64,
} from "./segment.ts";

const PARTITION_METADATA_FILE = "partition.metadata";
const LOG_START_OFFSET_FILE = "log-start-offset";
/** Kafka's cleaner-offset-checkpoint, per partition: "<first dirty offset> <earliest tombstone delete horizon or -1>". */
const CLEANER_CHECKPOINT_FILE = "cleaner-checkpoint";
const MAGIC_POSITION = 16;
const MAGIC_V2 = 2;
const ATTRIBUTES_COMPRESSION_MASK = 0x07;
const ATTRIBUTES_LOW_BYTE_POSITION = 22;
/** Header walks that look for a fetch's first batch read this much at a time (the index is 4 KiB sparse). */
const LOOKUP_WINDOW_BYTES = 16 * 1024;
/** Kafka caps segment.bytes at Int.MAX: positions in the index are int32. */
const SEGMENT_BYTES_MAX = 2 ** 31 - 1;

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

/** The topic configs a log reads (live: AlterConfigs changes apply to the next append). */
export type FileLogConfigs = LogConfigs;

function emptyRead(): ReadResult {
  return { batches: [], bytes: 0 };
}

export class FilePartitionLog implements PartitionLog {
  private segments: Segment[];
  private currentLogStartOffset: number;
  private closed = false;
  /** Bytes 0–7 of the batch being appended (its base offset), written ahead of the rest in one writev. */
  private readonly offsetField = new Uint8Array(8);
  /** Set by append, cleared when a sync round starts on this log. */
  unsynced = false;
  /** Bytes appended since a sync round last started on this log (how much its next fdatasync must write). */
  unsyncedBytes = 0;
  /** Where the previous read ended, so a consumer reading on skips the index walk. */
  private readonly hint = { offset: -1, segment: null as Segment | null, position: 0 };
  /** Everything below it has been cleaned (compaction); persisted in the cleaner checkpoint. */
  private firstDirtyOffset: number;
  /** The earliest delete horizon of a tombstone still kept, -1 when none. */
  private deleteHorizonMs: number;
  /** Bumped whenever segments are dropped or the log closes: a cleaning pass running across it gives up. */
  private generation = 0;
  private compacting = false;
  /** The cleaned segment being written, removed by close() when a pass is cut short. */
  private cleaningOutput: CleanedSegmentWriter | null = null;
  /** PartitionLog.retentionFloor. */
  retentionFloor?: (() => number | null) | undefined;
  /** Retention was held back by the floor at its last run: logged once per hold, not at every run. */
  private retentionHeld = false;

  private constructor(
    private readonly store: FileLogStore,
    readonly directory: string,
    private readonly configs: () => FileLogConfigs,
    segments: Segment[],
    logStartOffset: number,
  ) {
    assert(segments.length > 0, "a log has an active segment");
    this.segments = segments;
    this.currentLogStartOffset = logStartOffset;
    const checkpoint = readCleanerCheckpoint(directory);
    this.firstDirtyOffset = checkpoint.firstDirtyOffset;
    this.deleteHorizonMs = checkpoint.deleteHorizonMs;
  }

  /** A new, empty partition folder (an existing one is replaced); durable before it returns. */
  static create(store: FileLogStore, directory: string, topicId: Uint8Array, configs: () => FileLogConfigs): FilePartitionLog {
    rmSync(directory, { recursive: true, force: true });
    mkdirSync(directory, { recursive: true });
    recordDurability("create", directory);
    FilePartitionLog.writeTopicId(directory, topicId);
    const segment = Segment.create(directory, 0);
    fsyncDirectory(directory);
    fsyncDirectory(dirname(directory));
    return new FilePartitionLog(store, directory, configs, [segment], 0);
  }

  /** Kafka's partition.metadata: which topic (by id) the folder belongs to. */
  static writeTopicId(directory: string, topicId: Uint8Array): void {
    writeFileAtomic(join(directory, PARTITION_METADATA_FILE), `version: 0\ntopic_id: ${uuidToString(topicId)}\n`);
  }

  /** The topic id a partition folder belongs to, or null when it has none or it cannot be read. */
  static readTopicId(directory: string): string | null {
    try {
      const match = /^topic_id:\s*(\S+)\s*$/m.exec(readFileSync(join(directory, PARTITION_METADATA_FILE), "utf8"));
      return match ? match[1]! : null;
    } catch {
      return null;
    }
  }

  /**
   * Opens a partition folder, recovering its segments (see Segment.open): `checkAll` after an unclean shutdown.
   * Cut tails, corrupt batches and rebuilt indexes are logged.
   */
  static open(store: FileLogStore, directory: string, configs: () => FileLogConfigs, checkAll: boolean): FilePartitionLog {
    const cleaner = recoverCleanerFiles(directory);
    if (cleaner.discarded.length > 0) log.warn("discarded a cleaned segment a stopped compaction left unfinished", { directory, files: cleaner.discarded });
    if (cleaner.completed.length > 0) log.warn("completed a segment swap a stopped compaction left half done", { directory, files: cleaner.completed });
    const baseOffsets = readdirSync(directory)
      .map(parseSegmentFileName)
      .filter((baseOffset): baseOffset is number => baseOffset !== null)
      .sort((left, right) => left - right);
    const partition = basename(directory);
    const segments: Segment[] = [];
    for (const baseOffset of baseOffsets) {
      const { segment, recovery } = Segment.open(directory, baseOffset, checkAll, configs().indexIntervalBytes);
      segments.push(segment);
      if (recovery.truncatedBytes > 0) {
        log.warn("log recovery cut a torn or corrupt tail", {
          partition,
          segment: baseOffset,
          offset: recovery.truncatedAtOffset,
          position: segment.sizeBytes,
          bytesDropped: recovery.truncatedBytes,
          reason: recovery.truncationReason,
        });
      }
      for (const corrupt of recovery.corruptBatches) {
        log.error("log recovery found a corrupt batch in the middle of a segment; it will not be served", {
          partition,
          segment: baseOffset,
          position: corrupt.position,
          bytes: corrupt.length,
        });
      }
      if (recovery.indexRebuilt && !checkAll) log.warn("rebuilt a missing or damaged index", { partition, segment: baseOffset });
    }
    if (segments.length === 0) {
      // The folder lost its segments (or never got one): start empty where the recorded start says.
      const start = readLogStartOffset(directory) ?? 0;
      segments.push(Segment.create(directory, start));
      fsyncDirectory(directory);
      log.warn("partition folder had no segments; starting it empty", { partition, offset: start });
    }
    for (let index = 0; index < segments.length - 1; index++) segments[index]!.seal();
    const first = segments[0]!.baseOffset;
    const end = segments[segments.length - 1]!.nextOffset;
    const logStartOffset = Math.min(Math.max(readLogStartOffset(directory) ?? first, first), end);
    return new FilePartitionLog(store, directory, configs, segments, logStartOffset);
  }

  get logStartOffset(): number {
    return this.currentLogStartOffset;
  }

  get logEndOffset(): number {
    return this.activeSegment.nextOffset;
  }

  get highWatermark(): number {
    return this.activeSegment.nextOffset;
  }

  get sizeBytes(): number {
    let total = 0;
    for (const segment of this.segments) total += segment.sizeBytes;
    return total;
  }

  /** PartitionLog.bytesFrom: segment sizes and the in-memory offset index, no disk read. */
  bytesFrom(offset: number): number {
    // Negated so NaN counts everything.
    if (!(offset > this.currentLogStartOffset)) return this.sizeBytes;
    if (offset >= this.logEndOffset) return 0;
    const index = this.segmentIndexFor(offset);
    const segment = this.segments[index]!;
    // Past the segment's last batch (compaction can leave a gap before the next segment), none of it counts.
    let total = offset < segment.nextOffset ? segment.sizeBytes - segment.indexedPositionFor(offset) : 0;
    for (let later = index + 1; later < this.segments.length; later++) total += this.segments[later]!.sizeBytes;
    return total;
  }

  /** The descriptor a sync round fdatasyncs (older segments were synced when they rolled). */
  get activeFd(): number {
    return this.activeSegment.logFd;
  }

  /** The active segment: a sync round records its path and the bytes the sync covers (durability journal). */
  get activeSegmentFile(): { path: string; sizeBytes: number } {
    return { path: this.activeSegment.logPath, sizeBytes: this.activeSegment.sizeBytes };
  }

  private get activeSegment(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  append(batch: Uint8Array, info: AppendBatchInfo): AppendResult {
    assert(!this.closed, "append to a closed log");
    assertAppendable(batch, info);
    const length = batch.length;
    const { lastOffsetDelta, maxTimestamp, maxTimestampOffsetDelta } = info;

    const baseOffset = this.logEndOffset;
    const lastOffset = baseOffset + lastOffsetDelta;
    assert(Number.isSafeInteger(lastOffset + 1), "offsets stay safe integers");
    try {
      this.maybeRoll(length);
      writeInt64(this.offsetField, 0, baseOffset);
      this.activeSegment.append(
        this.offsetField,
        batch,
        baseOffset,
        lastOffset,
        maxTimestamp,
        baseOffset + maxTimestampOffsetDelta,
        this.configs().indexIntervalBytes,
      );
    } catch (error) {
      log.error("append failed", { partition: basename(this.directory), offset: baseOffset, error });
      throw new StorageError(`cannot append to ${basename(this.directory)}: ${error instanceof Error ? error.message : error}`);
    }
    this.unsynced = true;
    this.unsyncedBytes += length;
    this.store.appended(this);
    return { baseOffset };
  }

  /**
   * After a sync made `segmentPath` durable up to `syncedBytes` (or after a roll): drops the durable pages outside the
   * page-cache window from the cache (page-cache.ts). Sealed segments were synced when they rolled; when the synced
   * segment has rolled since, nothing of the new active one is known durable yet.
   */
  dropDurablePages(segmentPath: string, syncedBytes: number): void {
    const windowBytes = this.store.pageCacheWindowBytes;
    if (windowBytes < 0 || this.closed) return;
    const active = this.activeSegment;
    let newerBytes = 0;
    for (let index = this.segments.length - 1; index >= 0; index--) {
      const segment = this.segments[index]!;
      // A sealed segment is durable and final, its last partial page included.
      const durableBytes = segment !== active ? Number.POSITIVE_INFINITY : active.logPath === segmentPath ? Math.min(syncedBytes, active.sizeBytes) : 0;
      const dropTo = Math.min(cacheKeptFrom(segment.sizeBytes, newerBytes, windowBytes), durableBytes);
      if (dropTo > segment.pagesDroppedBytes) {
        dropCachedPages(segment.logFd, segment.pagesDroppedBytes, dropTo);
        segment.pagesDroppedBytes = dropTo;
      }
      // Older segments than a wholly dropped sealed one were dropped before it.
      if (segment !== active && segment.pagesDroppedBytes === cacheKeptFrom(segment.sizeBytes, Infinity, windowBytes)) break;
      newerBytes += segment.sizeBytes;
    }
  }

  /** A Fetch read [start, end) of a segment: the part outside the page-cache window goes back (drop-behind). */
  private dropColdPages(segment: Segment, start: number, end: number): void {
    const windowBytes = this.store.pageCacheWindowBytes;
    if (windowBytes < 0) return;
    let newerBytes = 0;
    for (let index = this.segments.length - 1; index >= 0 && this.segments[index] !== segment; index--) newerBytes += this.segments[index]!.sizeBytes;
    const keptFrom = cacheKeptFrom(segment.sizeBytes, newerBytes, windowBytes);
    if (start < keptFrom) dropCachedPages(segment.logFd, start, Math.min(end, keptFrom));
  }

  read(fetchOffset: number, maxBytes: number, minOneBatch: boolean): ReadResult {
    if (!(fetchOffset >= this.currentLogStartOffset && fetchOffset < this.logEndOffset)) return emptyRead();
    let segmentIndex = this.segmentIndexFor(fetchOffset);
    let position = -1;
    if (this.hint.offset === fetchOffset && this.hint.segment === this.segments[segmentIndex]) position = this.hint.position;
    for (; segmentIndex < this.segments.length; segmentIndex++, position = -1) {
      const segment = this.segments[segmentIndex]!;
      if (fetchOffset >= segment.nextOffset) continue;
      if (position < 0) position = this.findBatchPosition(segment, fetchOffset);
      while (position >= 0 && position < segment.sizeBytes) {
        const result = this.readBatchesAt(segment, position, fetchOffset, maxBytes, minOneBatch);
        if (result.batches.length > 0) return result;
        result.release?.();
        if (result.nextPosition === position) return emptyRead();
        // Everything read was corrupt: go on after it rather than answer empty forever.
        position = result.nextPosition;
      }
    }
    return emptyRead();
  }

  batchForTimestamp(timestamp: number): Uint8Array | null {
    for (const segment of this.segments) {
      if (!(segment.maxTimestamp >= timestamp) || segment.nextOffset <= this.currentLogStartOffset) continue;
      this.lastWholeBatch = null;
      const start = segment.indexedPositionForTimestamp(timestamp);
      scanBatches(
        segment.logFd,
        start,
        segment.sizeBytes,
        false,
        (bytes, at, position, length) => {
          if (segment.corruptPositions?.has(position)) return false;
          const header = readHeader(bytes, at);
          if (header.lastOffset < this.currentLogStartOffset || !(header.maxTimestamp >= timestamp)) return false;
          return this.readWholeBatch(segment, position, length) !== null;
        },
        LOOKUP_WINDOW_BYTES,
      );
      if (this.lastWholeBatch !== null) return this.lastWholeBatch;
    }
    return null;
  }

  maxTimestampOffset(): OffsetAndTimestamp | null {
    let best: Segment | null = null;
    for (const segment of this.segments) {
      if (segment.nextOffset <= this.currentLogStartOffset || segment.sizeBytes === 0) continue;
      if (best === null || segment.maxTimestamp > best.maxTimestamp) best = segment;
    }
    if (best === null) return null;
    if (best.maxTimestampOffset < 0) best.maxTimestampOffset = this.findMaxTimestampOffset(best);
    return { offset: best.maxTimestampOffset, timestamp: best.maxTimestamp };
  }

  advanceLogStartOffset(offset: number): void {
    assert(Number.isSafeInteger(offset), "log start offset is a safe integer");
    const next = Math.max(this.currentLogStartOffset, Math.min(offset, this.logEndOffset));
    if (next === this.currentLogStartOffset) return;
    this.currentLogStartOffset = next;
    writeFileAtomic(join(this.directory, LOG_START_OFFSET_FILE), `${next}\n`);
    let dropped = 0;
    while (dropped < this.segments.length - 1 && this.segments[dropped]!.nextOffset <= next) dropped++;
    if (dropped === 0) return;
    this.generation++;
    for (const segment of this.segments.splice(0, dropped)) {
      if (this.hint.segment === segment) this.hint.segment = null;
      segment.delete();
    }
    fsyncDirectory(this.directory);
  }

  /**
   * Kafka's retention (UnifiedLog.deleteOldSegments): drops the oldest segments, never the active one, while one's
   * newest record is older than retention.ms or the log without it still holds retention.bytes; the log start
   * offset moves to the first segment kept. Returns the segments dropped.
   */
  applyRetention(nowMs: number): number {
    const { retentionMs, retentionBytes, deletePolicy } = this.configs();
    if (!deletePolicy || this.closed) return 0;
    const floor = this.retentionFloor?.() ?? null;
    let size = this.sizeBytes;
    let dropped = 0;
    let held = false;
    while (dropped < this.segments.length - 1) {
      const segment = this.segments[dropped]!;
      const expired = retentionMs >= 0 && segment.maxTimestamp < nowMs - retentionMs;
      const oversized = retentionBytes >= 0 && size - segment.sizeBytes >= retentionBytes;
      if (!expired && !oversized) break;
      // The segment's offsets all lie below the next one's base offset: it may go only if that is at or below the floor.
      if (floor !== null && this.segments[dropped + 1]!.baseOffset > floor) {
        held = true;
        break;
      }
      size -= segment.sizeBytes;
      dropped++;
    }
    if (held && !this.retentionHeld) {
      log.debug("retention held back: records not yet forwarded", { partition: basename(this.directory), floor, logStartOffset: this.currentLogStartOffset });
    }
    this.retentionHeld = held;
    if (dropped === 0) return 0;
    const before = this.segments.length;
    this.advanceLogStartOffset(this.segments[dropped]!.baseOffset);
    return before - this.segments.length;
  }

  /** A promise that settles once every append so far is on stable storage; null when nothing needs waiting for. */
  sync(): Promise<void> | null {
    return this.store.syncFor(this);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.generation++;
    this.cleaningOutput?.discard();
    for (const segment of this.segments) segment.close();
  }

  /** FileLogStore.abandon: descriptors closed without syncing (a simulated kill -9). */
  abandon(): void {
    if (this.closed) return;
    this.closed = true;
    this.generation++;
    this.cleaningOutput?.close();
    for (const segment of this.segments) segment.abandon();
  }

  /** Topic deletion: closes the files and removes the folder. */
  delete(): void {
    if (!this.closed) {
      this.closed = true;
      this.generation++;
      this.cleaningOutput?.discard();
      for (const segment of this.segments) segment.delete();
    }
    rmSync(this.directory, { recursive: true, force: true });
    fsyncDirectory(dirname(this.directory));
    this.store.forget(this);
  }

  compactionDue(nowMs: number): boolean {
    const configs = this.configs();
    if (!configs.compactPolicy || this.closed || this.compacting) return false;
    const range = this.cleanableRange(nowMs, configs);
    // No segment to clean (only the active one, or the retention floor holds them all): compact() would do nothing.
    return range.endIndex > 0 && cleaningDue(range, configs, this.deleteHorizonMs, nowMs);
  }

  /**
   * Segment indexes: the first dirty one, and the first uncleanable one (the active segment, or an earlier one
   * holding records younger than min.compaction.lag.ms), with the bytes before and between them (Kafka's
   * LogCleanerManager.cleanableOffsets and its dirty ratio).
   */
  private cleanableRange(nowMs: number, configs: LogConfigs): CleanableState & { dirtyIndex: number; endIndex: number } {
    const firstDirty = Math.max(this.firstDirtyOffset, this.currentLogStartOffset);
    const active = this.segments.length - 1;
    let dirtyIndex = 0;
    while (dirtyIndex < active && this.segments[dirtyIndex]!.nextOffset <= firstDirty && this.segments[dirtyIndex + 1]!.baseOffset <= firstDirty) {
      dirtyIndex++;
    }
    let endIndex = active;
    if (configs.minCompactionLagMs > 0) {
      for (let index = dirtyIndex; index < active; index++) {
        if (this.segments[index]!.maxTimestamp > nowMs - configs.minCompactionLagMs) {
          endIndex = index;
          break;
        }
      }
    }
    endIndex = Math.max(endIndex, dirtyIndex);
    // The retention floor: only segments wholly below it are cleaned. A pass rewrites every segment before its end, so
    // when the floor lies below the dirty ones there is nothing to do.
    const floor = this.retentionFloor?.() ?? null;
    if (floor !== null) {
      let belowFloor = 0;
      while (belowFloor < endIndex && this.segments[belowFloor + 1]!.baseOffset <= floor) belowFloor++;
      if (belowFloor < dirtyIndex) return { dirtyIndex: 0, endIndex: 0, cleanBytes: 0, dirtyBytes: 0, oldestDirtyTimestamp: Number.POSITIVE_INFINITY };
      endIndex = belowFloor;
    }
    let cleanBytes = 0;
    for (let index = 0; index < dirtyIndex; index++) cleanBytes += this.segments[index]!.sizeBytes;
    let dirtyBytes = 0;
    let oldestDirtyTimestamp = Number.POSITIVE_INFINITY;
    for (let index = dirtyIndex; index < endIndex; index++) {
      const segment = this.segments[index]!;
      dirtyBytes += segment.sizeBytes;
      if (segment.maxTimestamp > 0 && segment.maxTimestamp < oldestDirtyTimestamp) oldestDirtyTimestamp = segment.maxTimestamp;
    }
    return { dirtyIndex, endIndex, cleanBytes, dirtyBytes, oldestDirtyTimestamp };
  }

  async compact(nowMs: number, isAborted?: AbortedCheck): Promise<CompactionResult> {
    const configs = this.configs();
    const idle: CompactionResult = { cleaned: false, bytesBefore: 0, bytesAfter: 0, cleanedUpTo: this.firstDirtyOffset };
    if (!configs.compactPolicy || this.closed || this.compacting) return idle;
    const range = this.cleanableRange(nowMs, configs);
    if (range.endIndex === 0) return idle;
    this.compacting = true;
    try {
      return await this.runCleaningPass(nowMs, configs, range, isAborted);
    } catch (error) {
      // close() pulls the output file from under a pass (its fdatasync may then fail): that is no failure.
      if (this.closed) return idle;
      throw error;
    } finally {
      this.compacting = false;
    }
  }

  private async runCleaningPass(
    nowMs: number,
    configs: LogConfigs,
    range: { dirtyIndex: number; endIndex: number },
    isAborted?: AbortedCheck,
  ): Promise<CompactionResult> {
    const idle: CompactionResult = { cleaned: false, bytesBefore: 0, bytesAfter: 0, cleanedUpTo: this.firstDirtyOffset };
    const generation = this.generation;
    const changed = () => this.closed || this.generation !== generation;
    const partition = basename(this.directory);

    // Pass 1: map the dirty segments' keys, a whole segment at a time, until the map is full.
    const map = new OffsetMap(isAborted);
    map.fromOffset = Math.max(this.firstDirtyOffset, this.currentLogStartOffset);
    let cleanEndIndex = range.dirtyIndex;
    while (cleanEndIndex < range.endIndex && (cleanEndIndex === range.dirtyIndex || map.size < limits.cleanerOffsetMapKeysMax)) {
      const segment = this.segments[cleanEndIndex]!;
      const finished = await forEachStoredBatch(segment.logFd, segment.sizeBytes, segment.corruptPositions, (batch) => addToOffsetMap(map, batch), changed);
      if (!finished || changed()) return idle;
      cleanEndIndex++;
    }
    const cleanEnd = this.segments[cleanEndIndex]!.baseOffset;

    // Pass 2: the segments below cleanEnd, in groups that fit one segment, each cleaned and swapped in.
    const groups: Segment[][] = [];
    const sizeLimit = Math.min(configs.segmentBytes, SEGMENT_BYTES_MAX);
    for (let index = 0; index < cleanEndIndex; index++) {
      const segment = this.segments[index]!;
      const group = groups[groups.length - 1];
      const groupBytes = group?.reduce((total, member) => total + member.sizeBytes, 0) ?? 0;
      // Relative offsets in the index are int32, like Kafka's.
      const fits = group !== undefined && groupBytes + segment.sizeBytes <= sizeLimit && segment.nextOffset - group[0]!.baseOffset < 2 ** 31;
      if (fits) group.push(segment);
      else groups.push([segment]);
    }
    let bytesBefore = 0;
    let bytesAfter = 0;
    let horizonMs = -1;
    for (const group of groups) {
      const next = this.segments[this.segments.indexOf(group[group.length - 1]!) + 1]!;
      const output = new CleanedSegmentWriter(this.directory, group[0]!.baseOffset, next.baseOffset, configs.indexIntervalBytes);
      this.cleaningOutput = output;
      let unchanged = group.length === 1;
      let groupHorizonMs = -1;
      try {
        for (const segment of group) {
          bytesBefore += segment.sizeBytes;
          const finished = await forEachStoredBatch(
            segment.logFd,
            segment.sizeBytes,
            segment.corruptPositions,
            (batch, position) => {
              const header = readHeader(batch, 0);
              const outcome = cleanBatch(batch, { map, nowMs, deleteRetentionMs: configs.deleteRetentionMs });
              if (outcome.kind === "corrupt") {
                log.error("compaction left out a corrupt batch", { partition, segment: segment.baseOffset, position, bytes: batch.length });
              }
              if (outcome.kind !== "keep") unchanged = false;
              if (outcome.kind === "keep") output.append(batch, header.baseOffset, header.lastOffset, header.maxTimestamp);
              if (outcome.kind === "rewrite") output.append(outcome.batch, header.baseOffset, header.lastOffset, outcome.maxTimestamp);
              if ((outcome.kind === "keep" || outcome.kind === "rewrite") && outcome.deleteHorizonMs >= 0) {
                groupHorizonMs = groupHorizonMs < 0 ? outcome.deleteHorizonMs : Math.min(groupHorizonMs, outcome.deleteHorizonMs);
              }
            },
            changed,
          );
          if (!finished || changed()) return idle;
        }
        if (groupHorizonMs >= 0) horizonMs = horizonMs < 0 ? groupHorizonMs : Math.min(horizonMs, groupHorizonMs);
        if (unchanged) {
          bytesAfter += output.summary.sizeBytes;
          continue;
        }
        await output.finish();
        if (changed()) return idle;
        this.swapIn(output, group);
        bytesAfter += output.summary.sizeBytes;
      } finally {
        if (this.cleaningOutput === output) this.cleaningOutput = null;
        output.discard();
      }
    }
    this.firstDirtyOffset = cleanEnd;
    this.deleteHorizonMs = horizonMs;
    writeFileAtomic(join(this.directory, CLEANER_CHECKPOINT_FILE), `${cleanEnd} ${horizonMs}\n`);
    return { cleaned: true, bytesBefore, bytesAfter, cleanedUpTo: cleanEnd };
  }

  /** Steps 2–4 of the swap (segment-cleaning.ts), synchronous: reads see the old segments or the new one. */
  private swapIn(output: CleanedSegmentWriter, group: Segment[]): void {
    const first = this.segments.indexOf(group[0]!);
    assert(first >= 0 && group.every((segment, at) => this.segments[first + at] === segment), "the cleaned segments are still in place");
    const swapPath = output.commitToSwap();
    for (const segment of group) {
      if (this.hint.segment === segment) this.hint.segment = null;
      segment.delete();
    }
    fsyncDirectory(this.directory);
    reachedSwapStep("old-deleted");
    const target = join(this.directory, segmentFileName(output.baseOffset, LOG_FILE_SUFFIX));
    renameSync(swapPath, target);
    recordDurability("rename", swapPath, resolve(target));
    const segment = Segment.adoptCleaned(this.directory, output.baseOffset, output.summary);
    fsyncDirectory(this.directory);
    this.segments.splice(first, group.length, segment);
    reachedSwapStep("swap-completed");
  }

  private maybeRoll(batchBytes: number): void {
    const active = this.activeSegment;
    if (active.sizeBytes === 0) return;
    const { segmentBytes, segmentMs } = this.configs();
    const full = active.sizeBytes + batchBytes > Math.min(segmentBytes, SEGMENT_BYTES_MAX);
    const old = Date.now() - active.firstAppendAtMs >= segmentMs;
    if (!full && !old) return;
    // The rolled segment is final: make it durable now, so sync rounds only ever look at the active one.
    active.seal();
    this.segments.push(Segment.create(this.directory, active.nextOffset));
    fsyncDirectory(this.directory);
    this.dropDurablePages(active.logPath, active.sizeBytes);
  }

  /** Index of the last segment whose base offset ≤ offset (0 when the offset precedes them all). */
  private segmentIndexFor(offset: number): number {
    let low = 0;
    let high = this.segments.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.segments[middle]!.baseOffset <= offset) low = middle + 1;
      else high = middle;
    }
    return Math.max(low - 1, 0);
  }

  /** Position of the first sound batch holding offsets ≥ offset, found from the index; -1 when none. */
  private findBatchPosition(segment: Segment, offset: number): number {
    let found = -1;
    scanBatches(
      segment.logFd,
      segment.indexedPositionFor(offset),
      segment.sizeBytes,
      false,
      (bytes, at, position) => {
        if (segment.corruptPositions?.has(position)) return false;
        if (readHeader(bytes, at).lastOffset < offset) return false;
        found = position;
        return true;
      },
      LOOKUP_WINDOW_BYTES,
    );
    return found;
  }

  /**
   * Reads whole batches from `position` on, within maxBytes (the first one whatever its size when minOneBatch),
   * in one positioned read into a pooled buffer; batches failing their CRC are marked corrupt, logged and left out.
   */
  private readBatchesAt(
    segment: Segment,
    position: number,
    fetchOffset: number,
    maxBytes: number,
    minOneBatch: boolean,
  ): ReadResult & { nextPosition: number } {
    const available = segment.sizeBytes - position;
    let wanted = Math.min(available, Math.max(maxBytes, 0));
    if (wanted < BATCH_HEADER_BYTES) {
      if (!minOneBatch) return { batches: [], bytes: 0, nextPosition: position };
      wanted = Math.min(available, BATCH_HEADER_BYTES);
    }
    const buffers = this.store.readBuffers;
    let bytes = buffers.reserve(wanted);
    readExactly(segment.logFd, bytes, 0, wanted, position);
    const firstLength = LOG_OVERHEAD + readInt32(bytes, BATCH_LENGTH_POSITION);
    if (firstLength > wanted && firstLength <= available) {
      buffers.shrinkLast(bytes, 0);
      buffers.release(bytes);
      if (!minOneBatch) return { batches: [], bytes: 0, nextPosition: position };
      wanted = firstLength;
      bytes = buffers.reserve(wanted);
      readExactly(segment.logFd, bytes, 0, wanted, position);
    }
    const batches: Uint8Array[] = [];
    let total = 0;
    let at = 0;
    let lastOffset = fetchOffset - 1;
    while (at + BATCH_HEADER_BYTES <= wanted) {
      const length = LOG_OVERHEAD + readInt32(bytes, at + BATCH_LENGTH_POSITION);
      if (length < BATCH_HEADER_BYTES || at + length > wanted) break;
      const batchPosition = position + at;
      if (segment.corruptPositions?.has(batchPosition)) {
        at += length;
        continue;
      }
      if (bytes[at + MAGIC_POSITION] !== MAGIC_V2 || !batchCrcValid(bytes, at, length)) {
        segment.markCorrupt(batchPosition);
        log.error("corrupt batch in a segment file; it will not be served", {
          partition: basename(this.directory),
          segment: segment.baseOffset,
          position: batchPosition,
          bytes: length,
        });
        at += length;
        continue;
      }
      batches.push(bytes.subarray(at, at + length));
      total += length;
      lastOffset = readHeader(bytes, at).lastOffset;
      at += length;
    }
    buffers.shrinkLast(bytes, at);
    // Behind the reader, not what it just read (its next read starts inside the last batch it was not given whole).
    // Each read drops the whole stretch behind it again: pages the kernel was still reading ahead into at the last
    // drop were skipped then, and a page cache that keeps them grows into fresh memory (measured: dropping each
    // range once made cold reads ~2x as costly in system time).
    this.dropColdPages(segment, Math.max(0, position - DROP_BEHIND_BYTES), position);
    if (batches.length > 0) {
      this.hint.offset = lastOffset + 1;
      this.hint.segment = segment;
      this.hint.position = position + at;
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      buffers.release(bytes);
    };
    return { batches, bytes: total, nextPosition: position + at, release, owned: true };
  }

  /** The last batch readWholeBatch returned (batchForTimestamp's scan callback cannot return it directly). */
  private lastWholeBatch: Uint8Array | null = null;

  /** Reads one batch into a pooled buffer; null (and marked corrupt) when its CRC fails. */
  private readWholeBatch(segment: Segment, position: number, length: number): Uint8Array | null {
    const batch = this.store.readBuffers.reserve(length);
    readExactly(segment.logFd, batch, 0, length, position);
    if (!batchCrcValid(batch, 0, length)) {
      this.store.readBuffers.release(batch);
      segment.markCorrupt(position);
      log.error("corrupt batch in a segment file; it will not be served", {
        partition: basename(this.directory),
        segment: segment.baseOffset,
        position,
        bytes: length,
      });
      return null;
    }
    this.lastWholeBatch = batch;
    return batch;
  }

  /**
   * PartitionLog.forEachBatchHeader: headers through the scan window, so the bodies of large batches are skipped
   * (reading them made a producer-state replay cost as much as reading the whole log).
   */
  forEachBatchHeader(visit: (header: Uint8Array, wholeBatch: () => Uint8Array | null) => void): void {
    let held: Uint8Array | null = null;
    const releaseHeld = () => {
      if (held !== null) this.store.readBuffers.release(held);
      held = null;
    };
    try {
      for (const segment of [...this.segments]) {
        if (segment.nextOffset <= this.currentLogStartOffset || segment.sizeBytes === 0) continue;
        scanBatches(
          segment.logFd,
          0,
          segment.sizeBytes,
          false,
          (bytes, at, position, length) => {
            if (segment.corruptPositions?.has(position)) return false;
            if (readHeader(bytes, at).lastOffset < this.currentLogStartOffset) return false;
            visit(bytes.subarray(at, at + BATCH_HEADER_BYTES), () => {
              releaseHeld();
              held = this.readWholeBatch(segment, position, length);
              return held;
            });
            return false;
          },
          LOOKUP_WINDOW_BYTES,
        );
      }
    } finally {
      releaseHeld();
    }
  }

  /** After a restart the offset of a segment's max timestamp is not known: find its batch and the record in it. */
  private findMaxTimestampOffset(segment: Segment): number {
    let offset = -1;
    scanBatches(segment.logFd, 0, segment.sizeBytes, false, (bytes, at, position, length) => {
      if (segment.corruptPositions?.has(position)) return false;
      const header = readHeader(bytes, at);
      if (header.maxTimestamp !== segment.maxTimestamp || header.lastOffset < this.currentLogStartOffset) return false;
      offset = header.lastOffset;
      const uncompressed = (bytes[at + ATTRIBUTES_LOW_BYTE_POSITION]! & ATTRIBUTES_COMPRESSION_MASK) === 0;
      const batch = uncompressed ? this.readWholeBatch(segment, position, length) : null;
      if (batch !== null) {
        offset = findOffsetForTimestamp(batch, segment.maxTimestamp)?.offset ?? offset;
        this.store.readBuffers.release(batch);
      }
      return true;
    });
    return offset;
  }
}

function readCleanerCheckpoint(directory: string): { firstDirtyOffset: number; deleteHorizonMs: number } {
  try {
    const [firstDirty, horizon] = readFileSync(join(directory, CLEANER_CHECKPOINT_FILE), "utf8").trim().split(/\s+/).map(Number);
    if (Number.isSafeInteger(firstDirty) && firstDirty! >= 0 && Number.isSafeInteger(horizon)) {
      return { firstDirtyOffset: firstDirty!, deleteHorizonMs: horizon! };
    }
  } catch {}
  // None (never cleaned) or unreadable: everything counts as dirty, which only costs one extra pass.
  return { firstDirtyOffset: 0, deleteHorizonMs: -1 };
}

function readLogStartOffset(directory: string): number | null {
  const path = join(directory, LOG_START_OFFSET_FILE);
  if (!existsSync(path)) return null;
  const value = Number(readFileSync(path, "utf8").trim());
  return Number.isSafeInteger(value) && value >= 0 ? value : null;
}
