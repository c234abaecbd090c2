// In-memory partition log: record batches v2 copied once into pooled slabs, metadata in parallel typed arrays.
// First touch of fresh memory costs ~12 µs per 4 KiB page here (PERFORMANCE.md), so appends copy into large
// reused slabs instead of allocating per batch, and the per-batch index holds numbers, not objects.

import { limits } from "../config.ts";
import { OffsetMap, addToOffsetMap, cleanBatch, cleaningDue, yieldToEventLoop, type AbortedCheck, type CleanableState, type CompactionResult } from "./compaction.ts";
import { topicLogConfigs, type LogConfigs } from "./log-configs.ts";
import { assertAppendable } from "./append-contract.ts";
import { writeInt64 } from "../protocol/records/big-endian.ts";
import type {
  AppendBatchInfo,
  AppendResult,
  OffsetAndTimestamp,
  PartitionLog,
  ReadResult,
} from "./partition-log.ts";

/** Initial capacity of the per-batch index arrays; small because a broker may hold thousands of partitions. */
export const LOG_BATCH_INDEX_CAPACITY_INITIAL = 64;

/** Record batch v2 header: baseOffset..recordsCount, the bytes before the first record. */
const RECORD_BATCH_V2_HEADER_BYTES = 61;
const MEMORY_PAGE_BYTES = 4096;

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

export interface SlabPoolOptions {
  slabBytes?: number;
  pooledBytesMax?: number;
  reuseDelayMs?: number;
  /** Monotonic clock; tests pass a fake one. */
  nowMs?: () => number;
}

/**
 * Fixed-size slabs shared by memory logs. A released slab waits `reuseDelayMs` before it is handed out again
 * (readers may still hold views into it); slabs released past `pooledBytesMax` are left to the GC.
 */
export class SlabPool {
  readonly slabBytes: number;
  private readonly pooledBytesMax: number;
  private readonly reuseDelayMs: number;
  private readonly nowMs: () => number;
  // Oldest release first, so only the head can be the first one ready.
  private readonly releasedSlabs: Uint8Array[] = [];
  private readonly releasedAtMs: number[] = [];

  constructor(options: SlabPoolOptions = {}) {
    this.slabBytes = options.slabBytes ?? limits.logSlabBytes;
    this.pooledBytesMax = options.pooledBytesMax ?? limits.logSlabPoolBytesMax;
    this.reuseDelayMs = options.reuseDelayMs ?? limits.logSlabReuseDelayMs;
    this.nowMs = options.nowMs ?? (() => performance.now());
    assert(Number.isSafeInteger(this.slabBytes) && this.slabBytes >= RECORD_BATCH_V2_HEADER_BYTES, "slab size");
  }

  /** Slabs held for reuse (waiting or ready). */
  get pooledSlabCount(): number {
    return this.releasedSlabs.length;
  }

  /** A slab whose reuse delay has passed, else a fresh one (its pages fault in as they are first written). */
  acquire(): Uint8Array {
    if (this.releasedSlabs.length > 0 && this.releasedAtMs[0]! + this.reuseDelayMs <= this.nowMs()) {
      this.releasedAtMs.shift();
      return this.releasedSlabs.shift()!;
    }
    return new Uint8Array(this.slabBytes);
  }

  /** Takes back a slab no retained batch references any longer. */
  release(slab: Uint8Array): void {
    assert(slab.length === this.slabBytes && slab.byteOffset === 0, "released slab comes from this pool");
    // When full, keep the older slabs: they are the first to come out of their reuse delay.
    if ((this.releasedSlabs.length + 1) * this.slabBytes > this.pooledBytesMax) return;
    this.releasedSlabs.push(slab);
    this.releasedAtMs.push(this.nowMs());
  }

  /** Allocates and touches slabs ahead of time (e.g. at startup), so the first appends do not pay page faults. */
  prewarm(slabCount: number): void {
    for (let count = 0; count < slabCount; count++) {
      if ((this.releasedSlabs.length + 1) * this.slabBytes > this.pooledBytesMax) return;
      const slab = new Uint8Array(this.slabBytes);
      for (let position = 0; position < slab.length; position += MEMORY_PAGE_BYTES) slab[position] = 1;
      // Ready at once: nobody ever held a view into it.
      this.releasedSlabs.unshift(slab);
      this.releasedAtMs.unshift(Number.NEGATIVE_INFINITY);
    }
  }
}

/** The pool every memory log uses unless given another. */
export const sharedSlabPool = new SlabPool();

/** A slab (or a dedicated buffer for a batch larger than a slab) and how many retained batches live in it. */
interface Arena {
  readonly bytes: Uint8Array;
  usedBytes: number;
  liveBatchCount: number;
  /** False for a dedicated buffer: those go to the GC, not back to the pool. */
  readonly pooled: boolean;
}

const defaultLogConfigs = topicLogConfigs(new Map());

/** A batch the cleaner produced, waiting for the swap: a view into an arena and its index fields. */
interface CleanedEntry {
  arena: Arena;
  position: number;
  length: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  maxTimestampOffset: number;
}

/**
 * Retained batches occupy index slots [head, tail) of the parallel arrays below. Dropping batches moves head;
 * the arrays compact or double when tail reaches their capacity.
 * Segments exist only as the active one's start: it rolls by segment.bytes and segment.ms as the file log's does,
 * so that compaction (which never touches the active segment) behaves the same on both logs. Compaction replaces
 * the batches [head, k) by the cleaned ones in slots [k − n, k) and moves head there: no later slot moves.
 */
export class MemoryPartitionLog implements PartitionLog {
  private currentLogStartOffset = 0;
  private currentLogEndOffset = 0;
  private retainedBytes = 0;
  private closed = false;

  private head = 0;
  private tail = 0;
  private capacity = LOG_BATCH_INDEX_CAPACITY_INITIAL;
  private baseOffsets = new Float64Array(this.capacity);
  private lastOffsets = new Float64Array(this.capacity);
  private maxTimestamps = new Float64Array(this.capacity);
  /** Max of maxTimestamps over [head, i]: batch max timestamps need not be monotonic, this is, so it bisects. */
  private prefixMaxTimestamps = new Float64Array(this.capacity);
  private maxTimestampOffsets = new Float64Array(this.capacity);
  private positions = new Int32Array(this.capacity);
  private lengths = new Int32Array(this.capacity);
  /**
   * A running count of the bytes appended before each batch, so that the bytes from a batch on are one subtraction
   * (bytesFrom). Compaction gives the batches it puts in place counts that end where the first batch it kept starts.
   */
  private bytesBeforeBatch = new Float64Array(this.capacity);
  /** The running count after the last batch. */
  private bytesAtEnd = 0;
  private arenas: (Arena | null)[] = new Array<Arena | null>(this.capacity).fill(null);
  /** The slab appends go to; kept even when all its batches were dropped, until it is full. */
  private currentArena: Arena | null = null;

  private activeSegmentBaseOffset = 0;
  private activeSegmentBytes = 0;
  private activeSegmentFirstAppendAtMs = -1;
  /** Everything below it has been cleaned (compaction); a batch boundary. */
  private firstDirtyOffset = 0;
  /** The earliest delete horizon of a tombstone still kept, -1 when none. */
  private deleteHorizonMs = -1;
  /** Bumped whenever batches are dropped from the head: a cleaning pass running across it gives up. */
  private generation = 0;
  private compacting = false;
  /** PartitionLog.retentionFloor (this log has no retention: only compaction honours it). */
  retentionFloor?: (() => number | null) | undefined;

  constructor(
    private readonly slabPool: SlabPool = sharedSlabPool,
    private readonly configs: () => LogConfigs = defaultLogConfigs,
  ) {}

  get logStartOffset(): number {
    return this.currentLogStartOffset;
  }

  get logEndOffset(): number {
    return this.currentLogEndOffset;
  }

  get highWatermark(): number {
    return this.currentLogEndOffset;
  }

  get sizeBytes(): number {
    return this.retainedBytes;
  }

  bytesFrom(offset: number): number {
    // Negated so NaN counts everything.
    if (!(offset > this.currentLogStartOffset)) return this.retainedBytes;
    if (offset >= this.currentLogEndOffset) return 0;
    const index = this.firstBatchEndingAtOrAfter(offset);
    return index < this.tail ? this.bytesAtEnd - this.bytesBeforeBatch[index]! : 0;
  }

  append(batch: Uint8Array, info: AppendBatchInfo): AppendResult {
    assert(!this.closed, "append to a closed log");
    assertAppendable(batch, info);
    const length = batch.length;
    const { lastOffsetDelta, maxTimestamp, maxTimestampOffsetDelta } = info;

    const baseOffset = this.currentLogEndOffset;
    const lastOffset = baseOffset + lastOffsetDelta;
    assert(Number.isSafeInteger(lastOffset + 1), "offsets stay safe integers");
    this.maybeRoll(length);

    const arena = this.arenaFor(length);
    const position = arena.usedBytes;
    arena.bytes.set(batch, position);
    writeInt64(arena.bytes, position, baseOffset);
    arena.usedBytes = position + length;
    arena.liveBatchCount++;

    if (this.tail === this.capacity) this.makeRoom();
    const index = this.tail++;
    this.baseOffsets[index] = baseOffset;
    this.lastOffsets[index] = lastOffset;
    this.maxTimestamps[index] = maxTimestamp;
    this.prefixMaxTimestamps[index] =
      index > this.head ? Math.max(this.prefixMaxTimestamps[index - 1]!, maxTimestamp) : maxTimestamp;
    this.maxTimestampOffsets[index] = baseOffset + maxTimestampOffsetDelta;
    this.positions[index] = position;
    this.lengths[index] = length;
    this.arenas[index] = arena;
    this.bytesBeforeBatch[index] = this.bytesAtEnd;
    this.bytesAtEnd += length;

    this.retainedBytes += length;
    this.activeSegmentBytes += length;
    this.currentLogEndOffset = lastOffset + 1;
    this.assertOffsetInvariants();
    return { baseOffset };
  }

  /** Starts a new active segment when this batch would overflow segment.bytes or the active one is segment.ms old. */
  private maybeRoll(batchBytes: number): void {
    const nowMs = Date.now();
    if (this.activeSegmentBytes > 0) {
      const { segmentBytes, segmentMs } = this.configs();
      const full = this.activeSegmentBytes + batchBytes > segmentBytes;
      if (full || nowMs - this.activeSegmentFirstAppendAtMs >= segmentMs) {
        this.activeSegmentBaseOffset = this.currentLogEndOffset;
        this.activeSegmentBytes = 0;
      }
    }
    if (this.activeSegmentBytes === 0) this.activeSegmentFirstAppendAtMs = nowMs;
  }

  read(fetchOffset: number, maxBytes: number, minOneBatch: boolean): ReadResult {
    const batches: Uint8Array[] = [];
    let bytes = 0;
    // Written as a negation so NaN also lands here; out-of-range errors are the caller's to report.
    if (!(fetchOffset >= this.currentLogStartOffset && fetchOffset < this.currentLogEndOffset)) {
      return { batches, bytes };
    }
    for (let index = this.firstBatchEndingAtOrAfter(fetchOffset); index < this.tail; index++) {
      const length = this.lengths[index]!;
      // Negated so a NaN maxBytes admits nothing beyond the KIP-74 first batch.
      if (!(bytes + length <= maxBytes) && !(minOneBatch && batches.length === 0)) break;
      batches.push(this.batchView(index));
      bytes += length;
    }
    return { batches, bytes };
  }

  batchForTimestamp(timestamp: number): Uint8Array | null {
    if (this.head === this.tail || !(this.prefixMaxTimestamps[this.tail - 1]! >= timestamp)) return null;
    return this.batchView(this.firstBatchWithPrefixMaxAtLeast(timestamp));
  }

  maxTimestampOffset(): OffsetAndTimestamp | null {
    if (this.head === this.tail) return null;
    const timestamp = this.prefixMaxTimestamps[this.tail - 1]!;
    // The first batch reaching the overall max holds the first record with it (ties go to the lowest offset).
    const index = this.firstBatchWithPrefixMaxAtLeast(timestamp);
    return { offset: this.maxTimestampOffsets[index]!, timestamp };
  }

  advanceLogStartOffset(offset: number): void {
    assert(Number.isSafeInteger(offset), "log start offset is a safe integer");
    const nextLogStartOffset = Math.max(this.currentLogStartOffset, Math.min(offset, this.currentLogEndOffset));
    if (nextLogStartOffset === this.currentLogStartOffset) return;
    this.currentLogStartOffset = nextLogStartOffset;
    this.generation++;

    let index = this.head;
    while (index < this.tail && this.lastOffsets[index]! < nextLogStartOffset) this.dropBatch(index++);
    this.head = index;
    if (this.head === this.tail) {
      this.head = 0;
      this.tail = 0;
    } else {
      this.repairPrefixMaxTimestamps();
    }
    // Compaction may have removed the records at the start: the first batch ends at or after it, need not hold it.
    assert(this.head === this.tail || this.lastOffsets[this.head]! >= nextLogStartOffset, "the first retained batch ends at or after the log start");
    this.assertOffsetInvariants();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.generation++;
    for (let index = this.head; index < this.tail; index++) this.dropBatch(index);
    this.head = 0;
    this.tail = 0;
    const arena = this.currentArena;
    this.currentArena = null;
    if (arena !== null && arena.liveBatchCount === 0) this.slabPool.release(arena.bytes);
    assert(this.retainedBytes === 0, "close drops every batch");
  }

  compactionDue(nowMs: number): boolean {
    const configs = this.configs();
    if (!configs.compactPolicy || this.closed || this.compacting) return false;
    const range = this.cleanableRange(nowMs, configs);
    // No batch to clean (only the active segment, or the retention floor holds them all): compact() would do nothing.
    return range.endIndex > this.head && cleaningDue(range, configs, this.deleteHorizonMs, nowMs);
  }

  /**
   * Indexes of the first dirty batch and the first uncleanable one (the active segment's first, or an earlier one
   * whose records are younger than min.compaction.lag.ms), and the bytes before and between them.
   */
  private cleanableRange(nowMs: number, configs: LogConfigs): CleanableState & { dirtyIndex: number; endIndex: number } {
    const dirtyIndex = Math.max(this.head, this.firstBatchStartingAtOrAfter(this.firstDirtyOffset));
    let endIndex = Math.max(dirtyIndex, this.firstBatchStartingAtOrAfter(this.activeSegmentBaseOffset));
    if (configs.minCompactionLagMs > 0) {
      for (let index = dirtyIndex; index < endIndex; index++) {
        if (this.maxTimestamps[index]! > nowMs - configs.minCompactionLagMs) {
          endIndex = index;
          break;
        }
      }
    }
    // The retention floor: only batches wholly below it are cleaned. A pass rewrites every batch before its end, so
    // when the floor lies below the dirty ones there is nothing to do.
    const floor = this.retentionFloor?.() ?? null;
    if (floor !== null) {
      const belowFloor = this.firstBatchEndingAtOrAfter(floor);
      if (belowFloor < dirtyIndex) return { dirtyIndex: this.head, endIndex: this.head, cleanBytes: 0, dirtyBytes: 0, oldestDirtyTimestamp: Number.POSITIVE_INFINITY };
      endIndex = Math.min(endIndex, belowFloor);
    }
    let cleanBytes = 0;
    for (let index = this.head; index < dirtyIndex; index++) cleanBytes += this.lengths[index]!;
    let dirtyBytes = 0;
    let oldestDirtyTimestamp = Number.POSITIVE_INFINITY;
    for (let index = dirtyIndex; index < endIndex; index++) {
      dirtyBytes += this.lengths[index]!;
      const timestamp = this.maxTimestamps[index]!;
      if (timestamp > 0 && timestamp < oldestDirtyTimestamp) oldestDirtyTimestamp = timestamp;
    }
    return { dirtyIndex, endIndex, cleanBytes, dirtyBytes, oldestDirtyTimestamp };
  }

  async compact(nowMs: number, isAborted?: AbortedCheck): Promise<CompactionResult> {
    const configs = this.configs();
    const idle: CompactionResult = { cleaned: false, bytesBefore: 0, bytesAfter: 0, cleanedUpTo: this.firstDirtyOffset };
    if (!configs.compactPolicy || this.closed || this.compacting) return idle;
    const range = this.cleanableRange(nowMs, configs);
    if (range.endIndex <= this.head) return idle;
    this.compacting = true;
    const generation = this.generation;
    const created: Arena[] = [];
    try {
      const changed = () => this.closed || this.generation !== generation;
      // Pass 1: the offset map over the dirty batches, stopping at a batch boundary once it holds enough keys.
      const map = new OffsetMap(isAborted);
      map.fromOffset = Math.max(this.firstDirtyOffset, this.currentLogStartOffset);
      const endOffset = range.endIndex < this.tail ? this.baseOffsets[range.endIndex]! : this.currentLogEndOffset;
      let mappedUpTo = range.dirtyIndex < this.tail ? this.baseOffsets[range.dirtyIndex]! : endOffset;
      let stepBytes = 0;
      while (mappedUpTo < endOffset && map.size < limits.cleanerOffsetMapKeysMax) {
        const index = this.firstBatchStartingAtOrAfter(mappedUpTo);
        addToOffsetMap(map, this.batchView(index));
        stepBytes += this.lengths[index]!;
        mappedUpTo = index + 1 < this.tail ? this.baseOffsets[index + 1]! : this.currentLogEndOffset;
        if (stepBytes >= limits.cleanerStepBytes) {
          stepBytes = 0;
          await yieldToEventLoop();
          if (changed()) return idle;
        }
      }
      const cleanEnd = Math.min(mappedUpTo, endOffset);

      // Pass 2: every batch below cleanEnd, kept in place, rebuilt into new arenas, or dropped.
      const entries: CleanedEntry[] = [];
      let arena: Arena | null = null;
      let horizonMs = -1;
      let bytesBefore = 0;
      let next = this.baseOffsets[this.head]!;
      while (next < cleanEnd) {
        const index = this.firstBatchStartingAtOrAfter(next);
        const length = this.lengths[index]!;
        const view = this.batchView(index);
        bytesBefore += length;
        const outcome = cleanBatch(view, { map, nowMs, deleteRetentionMs: configs.deleteRetentionMs });
        if (outcome.kind === "keep") {
          entries.push({
            arena: this.arenas[index]!,
            position: this.positions[index]!,
            length,
            baseOffset: this.baseOffsets[index]!,
            lastOffset: this.lastOffsets[index]!,
            maxTimestamp: this.maxTimestamps[index]!,
            maxTimestampOffset: this.maxTimestampOffsets[index]!,
          });
        } else if (outcome.kind === "rewrite") {
          const bytes = outcome.batch;
          if (arena === null || arena.bytes.length - arena.usedBytes < bytes.length) {
            arena = bytes.length > this.slabPool.slabBytes
              ? { bytes: new Uint8Array(bytes.length), usedBytes: 0, liveBatchCount: 0, pooled: false }
              : { bytes: this.slabPool.acquire(), usedBytes: 0, liveBatchCount: 0, pooled: true };
            created.push(arena);
          }
          arena.bytes.set(bytes, arena.usedBytes);
          const baseOffset = this.baseOffsets[index]!;
          entries.push({
            arena,
            position: arena.usedBytes,
            length: bytes.length,
            baseOffset,
            lastOffset: this.lastOffsets[index]!,
            maxTimestamp: outcome.maxTimestamp,
            maxTimestampOffset: baseOffset + outcome.maxTimestampOffsetDelta,
          });
          arena.usedBytes += bytes.length;
        }
        if ((outcome.kind === "keep" || outcome.kind === "rewrite") && outcome.deleteHorizonMs >= 0) {
          horizonMs = horizonMs < 0 ? outcome.deleteHorizonMs : Math.min(horizonMs, outcome.deleteHorizonMs);
        }
        next = index + 1 < this.tail ? this.baseOffsets[index + 1]! : this.currentLogEndOffset;
        stepBytes += length;
        if (stepBytes >= limits.cleanerStepBytes) {
          stepBytes = 0;
          await yieldToEventLoop();
          if (changed()) return idle;
        }
      }
      if (changed()) return idle;
      const bytesAfter = this.swapCleaned(entries, cleanEnd);
      created.length = 0;
      this.firstDirtyOffset = cleanEnd;
      this.deleteHorizonMs = horizonMs;
      return { cleaned: true, bytesBefore, bytesAfter, cleanedUpTo: cleanEnd };
    } finally {
      this.compacting = false;
      // Abandoned: arenas made for the pass hold no retained batch.
      for (const arena of created) if (arena.pooled) this.slabPool.release(arena.bytes);
    }
  }

  /** Replaces the batches below cleanEnd by `entries` (synchronous: readers see all old or all new). */
  private swapCleaned(entries: CleanedEntry[], cleanEnd: number): number {
    const endIndex = this.firstBatchStartingAtOrAfter(cleanEnd);
    assert(entries.length <= endIndex - this.head, "cleaning never adds batches");
    // Count the new references first, so an arena both dropped and kept is not released in between.
    for (const entry of entries) entry.arena.liveBatchCount++;
    for (let index = this.head; index < endIndex; index++) this.dropBatch(index);
    const first = endIndex - entries.length;
    let bytesAfter = 0;
    for (let at = 0; at < entries.length; at++) {
      const entry = entries[at]!;
      const index = first + at;
      this.baseOffsets[index] = entry.baseOffset;
      this.lastOffsets[index] = entry.lastOffset;
      this.maxTimestamps[index] = entry.maxTimestamp;
      this.maxTimestampOffsets[index] = entry.maxTimestampOffset;
      this.positions[index] = entry.position;
      this.lengths[index] = entry.length;
      this.arenas[index] = entry.arena;
      this.retainedBytes += entry.length;
      bytesAfter += entry.length;
    }
    let bytesBefore = endIndex < this.tail ? this.bytesBeforeBatch[endIndex]! : this.bytesAtEnd;
    for (let index = endIndex - 1; index >= first; index--) {
      bytesBefore -= this.lengths[index]!;
      this.bytesBeforeBatch[index] = bytesBefore;
    }
    this.head = first;
    let runningMax = Number.NEGATIVE_INFINITY;
    for (let index = this.head; index < this.tail; index++) {
      runningMax = Math.max(runningMax, this.maxTimestamps[index]!);
      this.prefixMaxTimestamps[index] = runningMax;
    }
    this.assertOffsetInvariants();
    return bytesAfter;
  }

  /** First retained batch whose base offset ≥ offset (tail when none). */
  private firstBatchStartingAtOrAfter(offset: number): number {
    let low = this.head;
    let high = this.tail;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.baseOffsets[middle]! < offset) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** The arena a batch of `length` bytes is copied into: the current slab, a new slab, or its own buffer. */
  private arenaFor(length: number): Arena {
    const slabBytes = this.slabPool.slabBytes;
    if (length > slabBytes) {
      // Rare (batches are usually far below 1 MiB); pays its own page faults and goes to the GC when dropped.
      return { bytes: new Uint8Array(length), usedBytes: 0, liveBatchCount: 0, pooled: false };
    }
    const current = this.currentArena;
    if (current !== null && current.bytes.length - current.usedBytes >= length) return current;
    if (current !== null && current.liveBatchCount === 0) this.slabPool.release(current.bytes);
    const arena: Arena = { bytes: this.slabPool.acquire(), usedBytes: 0, liveBatchCount: 0, pooled: true };
    this.currentArena = arena;
    return arena;
  }

  private batchView(index: number): Uint8Array {
    const position = this.positions[index]!;
    return this.arenas[index]!.bytes.subarray(position, position + this.lengths[index]!);
  }

  private dropBatch(index: number): void {
    const arena = this.arenas[index]!;
    this.arenas[index] = null;
    this.retainedBytes -= this.lengths[index]!;
    arena.liveBatchCount--;
    if (arena.liveBatchCount === 0 && arena.pooled && arena !== this.currentArena) {
      this.slabPool.release(arena.bytes);
    }
  }

  /** First retained batch whose lastOffset ≥ offset (the one containing it, offsets being contiguous). */
  private firstBatchEndingAtOrAfter(offset: number): number {
    let low = this.head;
    let high = this.tail;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.lastOffsets[middle]! < offset) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private firstBatchWithPrefixMaxAtLeast(timestamp: number): number {
    let low = this.head;
    let high = this.tail;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.prefixMaxTimestamps[middle]! < timestamp) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /**
   * After dropping batches, prefix maxima may still include a dropped batch's timestamp. Recompute from head; once
   * a stored value equals the recomputed one, every later value is right too (same recurrence), so this usually
   * stops after one step.
   */
  private repairPrefixMaxTimestamps(): void {
    let runningMax = Number.NEGATIVE_INFINITY;
    for (let index = this.head; index < this.tail; index++) {
      runningMax = Math.max(runningMax, this.maxTimestamps[index]!);
      if (this.prefixMaxTimestamps[index] === runningMax) return;
      this.prefixMaxTimestamps[index] = runningMax;
    }
  }

  /** Called when tail reaches capacity: compact in place if at least half the slots are dropped, else double. */
  private makeRoom(): void {
    const count = this.tail - this.head;
    const nextCapacity = count * 2 <= this.capacity ? this.capacity : this.capacity * 2;
    const moveFloat64 = (array: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
      if (nextCapacity === this.capacity) return array.copyWithin(0, this.head, this.tail);
      const grown = new Float64Array(nextCapacity);
      grown.set(array.subarray(this.head, this.tail));
      return grown;
    };
    const moveInt32 = (array: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
      if (nextCapacity === this.capacity) return array.copyWithin(0, this.head, this.tail);
      const grown = new Int32Array(nextCapacity);
      grown.set(array.subarray(this.head, this.tail));
      return grown;
    };
    this.baseOffsets = moveFloat64(this.baseOffsets);
    this.lastOffsets = moveFloat64(this.lastOffsets);
    this.maxTimestamps = moveFloat64(this.maxTimestamps);
    this.prefixMaxTimestamps = moveFloat64(this.prefixMaxTimestamps);
    this.maxTimestampOffsets = moveFloat64(this.maxTimestampOffsets);
    this.positions = moveInt32(this.positions);
    this.lengths = moveInt32(this.lengths);
    this.bytesBeforeBatch = moveFloat64(this.bytesBeforeBatch);
    const arenas = new Array<Arena | null>(nextCapacity).fill(null);
    for (let index = this.head; index < this.tail; index++) arenas[index - this.head] = this.arenas[index]!;
    this.arenas = arenas;
    this.capacity = nextCapacity;
    this.head = 0;
    this.tail = count;
  }

  private assertOffsetInvariants(): void {
    assert(
      Number.isSafeInteger(this.currentLogEndOffset) &&
        this.currentLogStartOffset >= 0 &&
        this.currentLogStartOffset <= this.highWatermark &&
        this.highWatermark <= this.currentLogEndOffset,
      "logStartOffset ≤ highWatermark ≤ logEndOffset",
    );
    assert(this.head === this.tail || this.bytesAtEnd - this.bytesBeforeBatch[this.head]! === this.retainedBytes, "the running byte counts add up to the retained bytes");
  }
}
