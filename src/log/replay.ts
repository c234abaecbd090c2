// Replaying a partition: reading it from its log start to its end at startup to rebuild state kept in memory (the
// committed offsets of __consumer_offsets, the transactions of __transaction_state, the schemas of _schemas, every
// partition's producer state). One walk for all of them, so that each read is released once its batches were
// visited: the file log reads into leased slabs (read-buffers.ts) that a replay never giving back would leave to the
// GC, one slab per read step, instead of reusing one.

import type { PartitionLog } from "./partition-log.ts";
import { Compression, decodeRecords, readBatchHeader, type RecordBatchHeader } from "../protocol/records/record-batch.ts";

/** Bytes read from the log per step. */
const REPLAY_READ_BYTES = 1 << 20;

/**
 * Calls visit for every retained batch of the log, in offset order, from its start to its end as they are when the
 * replay starts. `batch` is a view valid only during the call (its read is released after the step): copy what must
 * outlive it. With `wanted`, only the batches whose header it accepts are visited; a log that can walk headers alone
 * (the file log's forEachBatchHeader) then reads only those batches whole.
 */
export function replayBatches(
  log: PartitionLog,
  visit: (batch: Uint8Array, header: RecordBatchHeader) => void,
  wanted?: (header: RecordBatchHeader) => boolean,
): void {
  if (wanted !== undefined && log.forEachBatchHeader) {
    // A corrupt batch reads as null and is left out, as read() leaves it out.
    log.forEachBatchHeader((headerBytes, wholeBatch) => {
      if (!wanted(readBatchHeader(headerBytes))) return;
      const batch = wholeBatch();
      if (batch !== null) visit(batch, readBatchHeader(batch));
    });
    return;
  }
  walkBatches(log, log.logStartOffset, (batch, header) => {
    if (wanted === undefined || wanted(header)) visit(batch, header);
    return true;
  });
}

/**
 * Calls visit for the retained batches from the one holding `fromOffset` to the log end as it is when the walk starts,
 * until visit returns false. Each read is released after its batches were visited (views valid only during the call).
 */
export function walkBatches(log: PartitionLog, fromOffset: number, visit: (batch: Uint8Array, header: RecordBatchHeader) => boolean): void {
  let offset = Math.max(fromOffset, log.logStartOffset);
  const end = log.logEndOffset;
  while (offset < end) {
    const read = log.read(offset, REPLAY_READ_BYTES, true);
    if (read.batches.length === 0) break;
    try {
      for (const batch of read.batches) {
        const header = readBatchHeader(batch);
        offset = header.baseOffset + header.lastOffsetDelta + 1;
        if (!visit(batch, header)) return;
      }
    } finally {
      read.release?.();
    }
  }
}

/**
 * Calls visit for every record with a key in the log's data batches, in offset order (the internal topics' replay:
 * the latest record of a key wins). Control batches are skipped, and so are compressed ones, which kgate never
 * writes to its internal topics: `onCompressed` hears of each. Key and value are views valid only during the call.
 */
export function replayKeyedRecords(
  log: PartitionLog,
  visit: (key: Uint8Array, value: Uint8Array | null) => void,
  onCompressed?: (header: RecordBatchHeader) => void,
): void {
  replayBatches(log, (batch, header) => {
    if (header.control) return;
    if (header.compression !== Compression.none) {
      onCompressed?.(header);
      return;
    }
    for (const record of decodeRecords(batch)) {
      if (record.key !== null) visit(record.key, record.value);
    }
  });
}
