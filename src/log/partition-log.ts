// The small interface every partition store implements (in-memory now, file segments later).
// Offsets are plain numbers: Number.isSafeInteger is asserted where a bigint from the wire converts.

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
   * log reuses a slab only LOG_SLAB_REUSE_DELAY_MS after its last batch is dropped): long enough to encode and
   * flush a response, not to keep forever.
   */
  batches: Uint8Array[];
  /** Sum of the batches' lengths. */
  bytes: number;
}

export interface OffsetAndTimestamp {
  offset: number;
  timestamp: number;
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
  /** Releases everything the log holds (topic deletion). */
  close(): void;
}
