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
import { ATTRIBUTES_OFFSET, COMPRESSION_MASK, MAGIC_OFFSET, MAGIC_V2, RECORD_BATCH_OVERHEAD, findOffsetForTimestamp } from "../../protocol/records/record-batch.ts";
import { uuidToString } from "../../metadata/uuid.ts";
import { log } from "../../util/logger.ts";
import { StorageError, type AppendBatchInfo, type AppendResult, type OffsetAndTimestamp, type PartitionLog, type ReadResult } from "../partition-log.ts";
import { fsyncDirectory, readExactly, recordDurability, writeFileAtomic } from "./file-io.ts";
import { cacheKeptFrom, dropCachedPages, DROP_BEHIND_BYTES } from "./page-cache.ts";
import type { FileLogStore } from "./file-log-store.ts";
import type { AbortedCheck, CompactionResult } from "../compaction.ts";
import { LogCompaction, type CleanedOutput, type CleaningGroup, type CleaningSteps, type CleaningVisitor, type CompactableLog } from "../log-compaction.ts";
import type { LogConfigs } from "../log-configs.ts";
import { assertAppendable, assertLog as assert } from "../append-contract.ts";
import { CleanedSegmentWriter, forEachStoredBatch, reachedSwapStep, recoverCleanerFiles } from "./segment-cleaning.ts";
import { LOG_FILE_SUFFIX, Segment, segmentFileName, batchCrcValid, batchLengthAt, parseSegmentFileName, readHeader, scanBatches } from "./segment.ts";
import { writeInt64 } from "../../protocol/records/big-endian.ts";

const PARTITION_METADATA_FILE = "partition.metadata";
const LOG_START_OFFSET_FILE = "log-start-offset";
/** Kafka's cleaner-offset-checkpoint, per partition: "<first dirty offset> <earliest tombstone delete horizon or -1>". */
const CLEANER_CHECKPOINT_FILE = "cleaner-checkpoint";
/** Header walks that look for a fetch's first batch read this much at a time (the index is 4 KiB sparse). */
const LOOKUP_WINDOW_BYTES = 16 * 1024;
/** Kafka caps segment.bytes at Int.MAX: positions in the index are int32. */
const SEGMENT_BYTES_MAX = 2 ** 31 - 1;

/** The topic configs a log reads (live: AlterConfigs changes apply to the next append). */
export type FileLogConfigs = LogConfigs;

function emptyRead(): ReadResult {
  return { batches: [], bytes: 0 };
}

export class FilePartitionLog implements PartitionLog, CompactableLog {
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
  /** Key compaction (log-compaction.ts); its units are the segments, its state persisted in the cleaner checkpoint. */
  private readonly compaction: LogCompaction;
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
    this.compaction = new LogCompaction(this, configs, readCleanerCheckpoint(directory));
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
    const baseOffset = this.logEndOffset;
    const lastOffset = assertAppendable(batch, info, baseOffset);
    const length = batch.length;
    const { maxTimestamp, maxTimestampOffsetDelta } = info;
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
        (bytes, at, position, length) => {
          if (segment.corruptPositions?.has(position)) return false;
          const header = readHeader(bytes, at);
          if (header.lastOffset < this.currentLogStartOffset || !(header.maxTimestamp >= timestamp)) return false;
          return this.readWholeBatch(segment, position, length) !== null;
        },
        { windowBytes: LOOKUP_WINDOW_BYTES },
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
    this.compaction.invalidate();
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
    this.shutDown("close");
  }

  /** FileLogStore.abandon: descriptors closed without syncing (a simulated kill -9). */
  abandon(): void {
    this.shutDown("abandon");
  }

  /** Topic deletion: closes the files and removes the folder. */
  delete(): void {
    this.shutDown("delete");
    rmSync(this.directory, { recursive: true, force: true });
    fsyncDirectory(dirname(this.directory));
    this.store.forget(this);
  }

  /**
   * Closes the log once, the segments as `how` says (Segment.close, abandon or delete); a cleaning pass gives up, its
   * output is removed (kept on abandon, as a kill -9 would leave it).
   */
  private shutDown(how: "close" | "abandon" | "delete"): void {
    if (this.closed) return;
    this.closed = true;
    this.compaction.close();
    if (how === "abandon") this.cleaningOutput?.close();
    else this.cleaningOutput?.discard();
    for (const segment of this.segments) segment[how]();
  }

  compactionDue(nowMs: number): boolean {
    return this.compaction.due(nowMs);
  }

  compact(nowMs: number, isAborted?: AbortedCheck): Promise<CompactionResult> {
    return this.compaction.run(nowMs, isAborted);
  }

  // --- CompactableLog: the units are the segments ----------------------------------------------------------------

  cleaningBounds(): { first: number; active: number } {
    return { first: 0, active: this.segments.length - 1 };
  }

  firstDirtyUnit(firstDirtyOffset: number): number {
    const firstDirty = Math.max(firstDirtyOffset, this.currentLogStartOffset);
    const active = this.segments.length - 1;
    let index = 0;
    while (index < active && this.segments[index]!.nextOffset <= firstDirty && this.segments[index + 1]!.baseOffset <= firstDirty) index++;
    return index;
  }

  /** Segments end where the next one begins: only those whose successor starts at or below the offset are wholly below it. */
  firstUnitReaching(offset: number): number {
    let index = 0;
    while (index < this.segments.length - 1 && this.segments[index + 1]!.baseOffset <= offset) index++;
    return index;
  }

  unitBaseOffset(index: number): number {
    return index < this.segments.length ? this.segments[index]!.baseOffset : this.logEndOffset;
  }

  unitBytes(index: number): number {
    return this.segments[index]!.sizeBytes;
  }

  unitMaxTimestamp(index: number): number {
    return this.segments[index]!.maxTimestamp;
  }

  /** Whole segments, read cleanerStepBytes at a time (forEachStoredBatch); `ref` is the batch's position in its segment. */
  async forEachBatch(fromOffset: number, toOffset: number, visit: CleaningVisitor, steps: CleaningSteps, stopBefore?: () => boolean): Promise<number | null> {
    const segments = this.segments.filter((segment) => segment.baseOffset >= fromOffset && segment.baseOffset < toOffset);
    for (const segment of segments) {
      if (segment !== segments[0] && stopBefore?.()) return segment.baseOffset;
      const finished = await forEachStoredBatch(
        segment.logFd,
        segment.sizeBytes,
        segment.corruptPositions,
        (batch, position) => visit(batch, position, segment.baseOffset),
        steps.changed,
      );
      if (!finished || steps.changed()) return null;
    }
    return toOffset;
  }

  /** Consecutive segments below cleanEnd merged while they fit one segment (segment.bytes, int32 relative offsets). */
  cleaningGroups(cleanEnd: number, configs: LogConfigs): CleaningGroup[] {
    const groups: CleaningGroup[] = [];
    const sizeLimit = Math.min(configs.segmentBytes, SEGMENT_BYTES_MAX);
    for (let index = 0; index < this.segments.length && this.segments[index]!.baseOffset < cleanEnd; index++) {
      const segment = this.segments[index]!;
      const group = groups[groups.length - 1];
      const toOffset = this.segments[index + 1]!.baseOffset;
      // Relative offsets in the index are int32, like Kafka's.
      if (group !== undefined && group.bytes + segment.sizeBytes <= sizeLimit && segment.nextOffset - group.fromOffset < 2 ** 31) {
        group.units++;
        group.bytes += segment.sizeBytes;
        group.toOffset = toOffset;
      } else {
        groups.push({ fromOffset: segment.baseOffset, toOffset, units: 1, bytes: segment.sizeBytes });
      }
    }
    return groups;
  }

  /** A cleaned segment `<B>.<E>.cleaned` (segment-cleaning.ts), swapped in for the group's segments on commit. */
  openCleanedOutput(group: CleaningGroup, configs: LogConfigs): CleanedOutput {
    const output = new CleanedSegmentWriter(this.directory, group.fromOffset, group.toOffset, configs.indexIntervalBytes);
    this.cleaningOutput = output;
    const partition = basename(this.directory);
    return {
      keep: (batch) => {
        const header = readHeader(batch, 0);
        output.append(batch, header.baseOffset, header.lastOffset, header.maxTimestamp);
      },
      rewrite: (batch, _position, cleaned) => {
        const header = readHeader(batch, 0);
        output.append(cleaned.batch, header.baseOffset, header.lastOffset, cleaned.maxTimestamp);
      },
      leaveOutCorrupt: (batch, position, segment) => {
        log.error("compaction left out a corrupt batch", { partition, segment, position, bytes: batch.length });
      },
      get sizeBytes() {
        return output.summary.sizeBytes;
      },
      commit: async (changed) => {
        await output.finish();
        if (changed()) return false;
        this.swapIn(output, this.segments.filter((segment) => segment.baseOffset >= group.fromOffset && segment.baseOffset < group.toOffset));
        return true;
      },
      discard: () => {
        if (this.cleaningOutput === output) this.cleaningOutput = null;
        output.discard();
      },
    };
  }

  cleaningCompleted(firstDirtyOffset: number, deleteHorizonMs: number): void {
    writeFileAtomic(join(this.directory, CLEANER_CHECKPOINT_FILE), `${firstDirtyOffset} ${deleteHorizonMs}\n`);
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
      (bytes, at, position) => {
        if (segment.corruptPositions?.has(position)) return false;
        if (readHeader(bytes, at).lastOffset < offset) return false;
        found = position;
        return true;
      },
      { windowBytes: LOOKUP_WINDOW_BYTES },
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
    if (wanted < RECORD_BATCH_OVERHEAD) {
      if (!minOneBatch) return { batches: [], bytes: 0, nextPosition: position };
      wanted = Math.min(available, RECORD_BATCH_OVERHEAD);
    }
    const buffers = this.store.readBuffers;
    let bytes = buffers.reserve(wanted);
    readExactly(segment.logFd, bytes, 0, wanted, position);
    const firstLength = batchLengthAt(bytes, 0);
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
    let lastOffset = fetchOffset - 1;
    // The walk stops at the first batch not wholly read (a problem to the scan, only the end of this read here).
    const ended = scanBatches(
      segment.logFd,
      position,
      position + wanted,
      (batchBytes, at, batchPosition, length) => {
        if (segment.corruptPositions?.has(batchPosition)) return;
        if (batchBytes[at + MAGIC_OFFSET] !== MAGIC_V2 || !batchCrcValid(batchBytes, at, length)) {
          segment.markCorrupt(batchPosition);
          log.error("corrupt batch in a segment file; it will not be served", {
            partition: basename(this.directory),
            segment: segment.baseOffset,
            position: batchPosition,
            bytes: length,
          });
          return;
        }
        batches.push(batchBytes.subarray(at, at + length));
        total += length;
        lastOffset = readHeader(batchBytes, at).lastOffset;
      },
      { whole: true, checkMagic: false, window: { bytes, start: position, length: wanted } },
    );
    const at = ended.position - position;
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
          (bytes, at, position, length) => {
            if (segment.corruptPositions?.has(position)) return false;
            if (readHeader(bytes, at).lastOffset < this.currentLogStartOffset) return false;
            visit(bytes.subarray(at, at + RECORD_BATCH_OVERHEAD), () => {
              releaseHeld();
              held = this.readWholeBatch(segment, position, length);
              return held;
            });
            return false;
          },
          { windowBytes: LOOKUP_WINDOW_BYTES },
        );
      }
    } finally {
      releaseHeld();
    }
  }

  /** After a restart the offset of a segment's max timestamp is not known: find its batch and the record in it. */
  private findMaxTimestampOffset(segment: Segment): number {
    let offset = -1;
    scanBatches(segment.logFd, 0, segment.sizeBytes, (bytes, at, position, length) => {
      if (segment.corruptPositions?.has(position)) return false;
      const header = readHeader(bytes, at);
      if (header.maxTimestamp !== segment.maxTimestamp || header.lastOffset < this.currentLogStartOffset) return false;
      offset = header.lastOffset;
      // The codec bits are in the attributes' low byte.
      const uncompressed = (bytes[at + ATTRIBUTES_OFFSET + 1]! & COMPRESSION_MASK) === 0;
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
