// In-memory partition log: record batches v2 copied once into pooled slabs, metadata in parallel typed arrays.
// First touch of fresh memory costs ~12 µs per 4 KiB page here (PERFORMANCE.md), so appends copy into large
// reused slabs instead of allocating per batch, and the per-batch index holds numbers, not objects.

import { limits } from "../config.ts";
import { yieldToEventLoop, type AbortedCheck, type CompactionResult } from "./compaction.ts";
import { LogCompaction, type CleanedOutput, type CleaningGroup, type CleaningSteps, type CleaningVisitor, type CompactableLog } from "./log-compaction.ts";
import { topicLogConfigs, type LogConfigs } from "./log-configs.ts";
import { assertAppendable, assertLog as assert } from "./append-contract.ts";
import { writeInt64 } from "../protocol/records/big-endian.ts";
import { RECORD_BATCH_OVERHEAD } from "../protocol/records/record-batch.ts";
import type {
  AppendBatchInfo,
  AppendResult,
  OffsetAndTimestamp,
  PartitionLog,
  ReadResult,
} from "./partition-log.ts";

/** Initial capacity of the per-batch index arrays; small because a broker may hold thousands of partitions. */
export const LOG_BATCH_INDEX_CAPACITY_INITIAL = 64;

const MEMORY_PAGE_BYTES = 4096;

/** Bisection: the first index of [low, high) whose value ≥ target (values ascending there), high when none. */
function firstAtLeast(values: Float64Array, low: number, high: number, target: number): number {
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (values[middle]! < target) low = middle + 1;
    else high = middle;
  }
  return low;
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
    assert(Number.isSafeInteger(this.slabBytes) && this.slabBytes >= RECORD_BATCH_OVERHEAD, "slab size");
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
export class MemoryPartitionLog implements PartitionLog, CompactableLog {
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
  /** Key compaction (log-compaction.ts); its units are this log's batches. */
  private readonly compaction: LogCompaction;
  /** PartitionLog.retentionFloor (this log has no retention: only compaction honours it). */
  retentionFloor?: (() => number | null) | undefined;

  constructor(
    private readonly slabPool: SlabPool = sharedSlabPool,
    private readonly configs: () => LogConfigs = defaultLogConfigs,
  ) {
    this.compaction = new LogCompaction(this, configs);
  }

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
    const baseOffset = this.currentLogEndOffset;
    const lastOffset = assertAppendable(batch, info, baseOffset);
    const length = batch.length;
    const { maxTimestamp, maxTimestampOffsetDelta } = info;
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
    this.compaction.invalidate();

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
    this.compaction.close();
    for (let index = this.head; index < this.tail; index++) this.dropBatch(index);
    this.head = 0;
    this.tail = 0;
    const arena = this.currentArena;
    this.currentArena = null;
    if (arena !== null && arena.liveBatchCount === 0) this.slabPool.release(arena.bytes);
    assert(this.retainedBytes === 0, "close drops every batch");
  }

  compactionDue(nowMs: number): boolean {
    return this.compaction.due(nowMs);
  }

  compact(nowMs: number, isAborted?: AbortedCheck): Promise<CompactionResult> {
    return this.compaction.run(nowMs, isAborted);
  }

  // --- CompactableLog: the units are the retained batches, indexes [head, tail) -------------------------------------

  cleaningBounds(): { first: number; active: number } {
    return { first: this.head, active: this.firstBatchStartingAtOrAfter(this.activeSegmentBaseOffset) };
  }

  firstDirtyUnit(firstDirtyOffset: number): number {
    return Math.max(this.head, this.firstBatchStartingAtOrAfter(firstDirtyOffset));
  }

  firstUnitReaching(offset: number): number {
    return this.firstBatchEndingAtOrAfter(offset);
  }

  unitBaseOffset(index: number): number {
    return index < this.tail ? this.baseOffsets[index]! : this.currentLogEndOffset;
  }

  unitBytes(index: number): number {
    return this.lengths[index]!;
  }

  unitMaxTimestamp(index: number): number {
    return this.maxTimestamps[index]!;
  }

  /** Batches are found by offset after each yield: an append meanwhile may move them to other index slots (makeRoom). */
  async forEachBatch(fromOffset: number, toOffset: number, visit: CleaningVisitor, steps: CleaningSteps, stopBefore?: () => boolean): Promise<number | null> {
    let next = fromOffset;
    while (next < toOffset && (next === fromOffset || !stopBefore?.())) {
      const index = this.firstBatchStartingAtOrAfter(next);
      visit(this.batchView(index), index, this.baseOffsets[index]!);
      next = this.unitBaseOffset(index + 1);
      if (steps.count(this.lengths[index]!)) {
        await yieldToEventLoop();
        if (steps.changed()) return null;
      }
    }
    return Math.min(next, toOffset);
  }

  /** One group: every batch below cleanEnd, swapped in at once. */
  cleaningGroups(cleanEnd: number): CleaningGroup[] {
    const endIndex = this.firstBatchStartingAtOrAfter(cleanEnd);
    let bytes = 0;
    for (let index = this.head; index < endIndex; index++) bytes += this.lengths[index]!;
    return [{ fromOffset: this.unitBaseOffset(this.head), toOffset: cleanEnd, units: endIndex - this.head, bytes }];
  }

  /** Kept batches stay where they are; rebuilt ones are copied into new arenas. */
  openCleanedOutput(group: CleaningGroup): CleanedOutput {
    const entries: CleanedEntry[] = [];
    let created: Arena[] = [];
    let arena: Arena | null = null;
    let sizeBytes = 0;
    return {
      keep: (_batch, index) => {
        entries.push({
          arena: this.arenas[index]!,
          position: this.positions[index]!,
          length: this.lengths[index]!,
          baseOffset: this.baseOffsets[index]!,
          lastOffset: this.lastOffsets[index]!,
          maxTimestamp: this.maxTimestamps[index]!,
          maxTimestampOffset: this.maxTimestampOffsets[index]!,
        });
        sizeBytes += this.lengths[index]!;
      },
      rewrite: (_batch, index, cleaned) => {
        const bytes = cleaned.batch;
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
          maxTimestamp: cleaned.maxTimestamp,
          maxTimestampOffset: baseOffset + cleaned.maxTimestampOffsetDelta,
        });
        arena.usedBytes += bytes.length;
        sizeBytes += bytes.length;
      },
      leaveOutCorrupt: () => {},
      get sizeBytes() {
        return sizeBytes;
      },
      commit: async (changed) => {
        if (changed()) return false;
        this.swapCleaned(entries, group.toOffset);
        created = [];
        return true;
      },
      discard: () => {
        // Abandoned: arenas made for the pass hold no retained batch.
        for (const made of created) if (made.pooled) this.slabPool.release(made.bytes);
        created = [];
      },
    };
  }

  /** Replaces the batches below cleanEnd by `entries` (synchronous: readers see all old or all new). */
  private swapCleaned(entries: CleanedEntry[], cleanEnd: number): void {
    const endIndex = this.firstBatchStartingAtOrAfter(cleanEnd);
    assert(entries.length <= endIndex - this.head, "cleaning never adds batches");
    // Count the new references first, so an arena both dropped and kept is not released in between.
    for (const entry of entries) entry.arena.liveBatchCount++;
    for (let index = this.head; index < endIndex; index++) this.dropBatch(index);
    const first = endIndex - entries.length;
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
  }

  /** First retained batch whose base offset ≥ offset (tail when none). */
  private firstBatchStartingAtOrAfter(offset: number): number {
    return firstAtLeast(this.baseOffsets, this.head, this.tail, offset);
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
    return firstAtLeast(this.lastOffsets, this.head, this.tail, offset);
  }

  private firstBatchWithPrefixMaxAtLeast(timestamp: number): number {
    return firstAtLeast(this.prefixMaxTimestamps, this.head, this.tail, timestamp);
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
