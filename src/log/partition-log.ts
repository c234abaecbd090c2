// The small interface every partition store implements (in-memory now, file segments later).
// Offsets are plain numbers: Number.isSafeInteger is asserted where a bigint from the wire converts.

import type { AbortedCheck, CompactionResult } from "./compaction.ts";

/** What the broker learned about a batch while validating it; the log needs no record decoding. */
export interface AppendBatchInfo {
  /** Records in the batch minus one, i.e. the batch's lastOffsetDelta. */
  lastOffsetDelta: number;
  /** The batch's max timestamp (ms), as stored (after any LogAppendTime rewrite). */
  maxTimestamp: number;
  /** The batch's first timestamp (ms). */
  firstTimestamp: number;
  /** Offset delta of the record carrying maxTimestamp (lastOffsetDelta when unknown, e.g. compressed). */
  maxTimestampOffsetDelta: number;
}

export interface AppendResult {
  baseOffset: number;
}

export interface ReadResult {
  /**
   * Whole batches, in offset order, as views (no copies in the memory log). Read-only for the caller. A view stays
   * valid while its batch is retained and for a grace period after advanceLogStartOffset/close drops it (the memory
   * log reuses a slab only limits.logSlabReuseDelayMs after its last batch is dropped): long enough to encode and
   * flush a response, not to keep forever. The file log reads into pooled slabs: its views stay valid until
   * release() is called, and forever when it never is.
   */
  batches: Uint8Array[];
  /** Sum of the batches' lengths. */
  bytes: number;
  /**
   * Present when the views live in reused buffers (the file log): call it once nothing reads them any more (Fetch:
   * after the response was written), so the buffer can serve the next read. Never calling it is safe, only slower.
   */
  release?(): void;
  /**
   * The views are the reader's own copies (the file log's read buffers), already CRC-checked: until release() the
   * caller may rewrite them in place (the uplink stamps its producer fields into them instead of copying).
   */
  owned?: boolean;
}

export interface OffsetAndTimestamp {
  offset: number;
  timestamp: number;
}

/**
 * The store could not write or sync (full disk, I/O error, unwritable folder). The log stays consistent (a failed
 * append leaves nothing behind); Produce answers KAFKA_STORAGE_ERROR for the partition.
 */
export class StorageError extends Error {
  override name = "StorageError";
}

export interface PartitionLog {
  readonly logStartOffset: number;
  /** The offset the next appended record gets. */
  readonly logEndOffset: number;
  /** Single node: everything appended is committed, so this equals logEndOffset. */
  readonly highWatermark: number;
  /** Bytes retained: the sum of the retained batches' lengths (not the memory reserved for them). */
  readonly sizeBytes: number;

  /**
   * Offsets at or above the returned offset must survive retention and compaction (an uplink has not forwarded them
   * yet); null: no hold. Retention keeps a segment holding any offset at or above it, the cleaner cleans only below
   * it. DeleteRecords and advanceLogStartOffset ignore it (an explicit admin action: the uplink counts those records
   * as skipped). Set and cleared by the uplink; absent: no hold.
   */
  retentionFloor?: (() => number | null) | undefined;

  /**
   * Bytes retained in the batches holding offsets ≥ offset (whole batches): sizeBytes for an offset at or below
   * logStartOffset, 0 at or past logEndOffset. Cheap (Produce asks it for forwarded partitions): the memory log is
   * exact; the file log reads no disk: it counts from the index entry at or before the offset, so it may include
   * less than index.interval.bytes of the batches before the one holding it (an over-count, never an under-count).
   */
  bytesFrom(offset: number): number;

  /**
   * Appends one validated record batch v2. The log assigns the base offset and rewrites bytes 0-7 of the
   * batch it stores (CRC stays valid: it does not cover the base offset). It keeps its own copy: the caller may
   * reuse `batch` afterwards, and `batch` itself is left untouched.
   */
  append(batch: Uint8Array, info: AppendBatchInfo): AppendResult;

  /**
   * Whole batches holding offsets ≥ fetchOffset, up to maxBytes. When minOneBatch is set, the first batch is
   * returned even if it alone exceeds maxBytes (KIP-74). A batch that starts before fetchOffset but contains it
   * is included whole, as Kafka does. A fetchOffset outside [logStartOffset, logEndOffset) gives no batches:
   * the caller compares with those two first and reports OFFSET_OUT_OF_RANGE itself.
   */
  read(fetchOffset: number, maxBytes: number, minOneBatch: boolean): ReadResult;

  /**
   * The first batch whose max timestamp ≥ timestamp, or null when none (ListOffsets by time). The caller
   * scans its records for the exact offset, as Kafka does, skipping records below logStartOffset. Only the first
   * retained batch can straddle logStartOffset; if none of its records at or above it qualifies, the caller goes
   * on with read(its lastOffset + 1, …) and the batches' maxTimestamp header fields.
   */
  batchForTimestamp(timestamp: number): Uint8Array | null;
  /** Offset and timestamp of the record with the largest timestamp (ListOffsets -3), or null when empty. */
  maxTimestampOffset(): OffsetAndTimestamp | null;

  /**
   * Moves the log start offset forward (DeleteRecords, retention); whole batches below it are dropped. Clamped
   * to logEndOffset; never moves backwards. The offset may fall inside a batch, which is then kept whole.
   */
  advanceLogStartOffset(offset: number): void;
  /**
   * A promise that settles once everything appended so far is on stable storage (rejects when syncing failed), or
   * null when there is nothing to wait for. Produce with acks=-1 answers after it. Absent: appends are as durable
   * as they get (the memory log).
   */
  sync?(): Promise<void> | null;

  /**
   * Key compaction (cleanup.policy=compact, src/log/log-compaction.ts): whether a cleaning pass is due (the dirty ratio
   * reached min.cleanable.dirty.ratio, or a tombstone's delete horizon passed). False for other topics.
   */
  compactionDue?(nowMs: number): boolean;
  /**
   * One cleaning pass, in steps with the event loop free between them; reads and appends go on meanwhile and see
   * either the old batches or the cleaned ones. Abandoned (cleaned: false) when the log is closed or its start moves
   * during the pass. Never touches the active segment.
   */
  compact?(nowMs: number, isAborted?: AbortedCheck): Promise<CompactionResult>;

  /**
   * The retained batches from the log start, for scans that mostly need headers (the producer-state replay): `header`
   * is a view of the batch's first 61 bytes, valid only during the call; `wholeBatch()` reads the batch itself (null
   * when its CRC fails), valid until the next call. Absent: the caller reads the batches with read().
   */
  forEachBatchHeader?(visit: (header: Uint8Array, wholeBatch: () => Uint8Array | null) => void): void;

  /** Releases everything the log holds: shutdown for a durable log, topic deletion for the memory log. */
  close(): void;
  /** Topic deletion: releases the log and removes its stored data. Absent: close() does both. */
  delete?(): void;
}
