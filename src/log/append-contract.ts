// What every PartitionLog.append asserts about its input: exactly one record batch v2, and validation's
// AppendBatchInfo agreeing with it. A failure is a broker bug (Produce validates first), hence an Error, not a code.
// assertLog is the log modules' one invariant check.

import { readInt32 } from "../protocol/records/big-endian.ts";
import { BATCH_LENGTH_OFFSET, LAST_OFFSET_DELTA_OFFSET, LOG_OVERHEAD, MAGIC_OFFSET, MAGIC_V2, RECORD_BATCH_OVERHEAD } from "../protocol/records/record-batch.ts";
import type { AppendBatchInfo } from "./partition-log.ts";

export function assertLog(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

/** Asserts the contract for a batch appended at baseOffset; returns its last offset (the next one stays a safe integer). */
export function assertAppendable(batch: Uint8Array, info: AppendBatchInfo, baseOffset: number): number {
  const length = batch.length;
  assertLog(
    length >= RECORD_BATCH_OVERHEAD && readInt32(batch, BATCH_LENGTH_OFFSET) + LOG_OVERHEAD === length && batch[MAGIC_OFFSET] === MAGIC_V2,
    "append takes exactly one record batch v2",
  );
  const { lastOffsetDelta, maxTimestamp, maxTimestampOffsetDelta } = info;
  assertLog(
    Number.isInteger(lastOffsetDelta) && lastOffsetDelta >= 0 && lastOffsetDelta === readInt32(batch, LAST_OFFSET_DELTA_OFFSET),
    "info.lastOffsetDelta matches the batch",
  );
  assertLog(
    Number.isInteger(maxTimestampOffsetDelta) && maxTimestampOffsetDelta >= 0 && maxTimestampOffsetDelta <= lastOffsetDelta,
    "info.maxTimestampOffsetDelta within the batch",
  );
  assertLog(Number.isSafeInteger(maxTimestamp), "info.maxTimestamp is a safe integer");
  const lastOffset = baseOffset + lastOffsetDelta;
  assertLog(Number.isSafeInteger(lastOffset + 1), "offsets stay safe integers");
  return lastOffset;
}
