// Idempotent and transactional producer state of one partition (Kafka's ProducerStateManager/ProducerAppendInfo):
// - per producer id: its epoch, the sequence ranges and offsets of its last five batches (duplicates are answered
//   with the original offsets instead of being stored twice), and the first offset of its open transaction;
// - the open transactions (their first offsets bound the last stable offset) and the aborted ones (first offset to
//   abort marker offset) that read_committed fetches return so consumers drop that data.
// Everything here is written in the batches themselves (producer id, epoch, sequence, transactional bit, control
// markers), so replay() over the log rebuilds it after a restart or a kill -9.
// Rules (Kafka 3.x ProducerAppendInfo): an older epoch is INVALID_PRODUCER_EPOCH; a new epoch must start at sequence
// 0 unless the producer is unknown; within an epoch the sequence must follow on (wrapping at 2^31-1), else
// OUT_OF_ORDER_SEQUENCE_NUMBER; an unknown producer (never seen, or expired) is accepted at any sequence, as Kafka
// has done since KIP-360; a non-transactional batch inside an open transaction is INVALID_TXN_STATE.

import { ErrorCode } from "../protocol/error-codes.ts";

/** Kafka's ProducerStateEntry.NUM_BATCHES_TO_RETAIN: batches per producer remembered for duplicate detection. */
export const PRODUCER_BATCHES_KEPT = 5;
const NO_EPOCH = -1;
const NO_SEQUENCE = -1;
const INT32_MAX = 2 ** 31 - 1;

interface BatchMetadata {
  firstSequence: number;
  lastSequence: number;
  firstOffset: number;
  lastOffset: number;
}

export interface ProducerEntry {
  readonly producerId: number;
  epoch: number;
  /** Oldest first, at most PRODUCER_BATCHES_KEPT. */
  batches: BatchMetadata[];
  /** Wall-clock ms of the last append (expiry). */
  lastAppendMs: number;
  /** Kafka's lastTimestamp: the max timestamp of the producer's last batch. */
  lastTimestamp: number;
  /** First offset of the open transaction, or -1. */
  transactionFirstOffset: number;
  coordinatorEpoch: number;
}

export interface AbortedTransaction {
  producerId: number;
  firstOffset: number;
  /** Offset of the abort marker. */
  lastOffset: number;
}

/** The producer fields of a batch about to be appended (or read back from the log). */
export interface ProducerBatch {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  lastOffsetDelta: number;
  transactional: boolean;
  maxTimestamp: number;
}

export type AppendCheck =
  | { kind: "append" }
  | { kind: "duplicate"; firstOffset: number; lastOffset: number }
  | { kind: "error"; errorCode: number; message: string };

const APPEND: AppendCheck = { kind: "append" };

/** Sequence + delta, wrapping past 2^31-1 to 0 (Kafka DefaultRecordBatch.incrementSequence). */
export function incrementSequence(sequence: number, increment: number): number {
  return sequence > INT32_MAX - increment ? increment - (INT32_MAX - sequence) - 1 : sequence + increment;
}

function inSequence(lastSequence: number, nextSequence: number): boolean {
  return nextSequence === lastSequence + 1 || (nextSequence === 0 && lastSequence === INT32_MAX);
}

export class PartitionProducerState {
  readonly producers = new Map<number, ProducerEntry>();
  /** producer id → first offset of its open transaction. */
  private readonly open = new Map<number, number>();
  /** In marker order. */
  private aborted: AbortedTransaction[] = [];

  /** Whether `batch` may be appended, is a duplicate of a remembered batch, or is refused (Kafka's order). */
  checkAppend(batch: ProducerBatch): AppendCheck {
    const entry = this.producers.get(batch.producerId);
    if (!entry) return APPEND;
    if (batch.producerEpoch === entry.epoch) {
      const lastSequence = incrementSequence(batch.baseSequence, batch.lastOffsetDelta);
      for (const known of entry.batches) {
        if (known.firstSequence === batch.baseSequence && known.lastSequence === lastSequence) {
          return { kind: "duplicate", firstOffset: known.firstOffset, lastOffset: known.lastOffset };
        }
      }
    }
    if (batch.producerEpoch < entry.epoch) {
      return {
        kind: "error",
        errorCode: ErrorCode.INVALID_PRODUCER_EPOCH,
        message: `epoch ${batch.producerEpoch} of producer ${batch.producerId} is older than its current epoch ${entry.epoch}`,
      };
    }
    if (batch.producerEpoch !== entry.epoch) {
      if (batch.baseSequence !== 0 && entry.epoch !== NO_EPOCH) {
        return {
          kind: "error",
          errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          message: `new epoch ${batch.producerEpoch} of producer ${batch.producerId} starts at sequence ${batch.baseSequence}, not 0`,
        };
      }
    } else {
      const lastSequence = entry.batches.at(-1)?.lastSequence ?? NO_SEQUENCE;
      if (!inSequence(lastSequence, batch.baseSequence)) {
        return {
          kind: "error",
          errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          message: `out of order sequence ${batch.baseSequence} from producer ${batch.producerId} (epoch ${batch.producerEpoch}): last was ${lastSequence}`,
        };
      }
    }
    if (!batch.transactional && entry.transactionFirstOffset >= 0) {
      return {
        kind: "error",
        errorCode: ErrorCode.INVALID_TXN_STATE,
        message: `non-transactional batch from producer ${batch.producerId} while its transaction is open`,
      };
    }
    return APPEND;
  }

  /** Records an appended batch (after checkAppend said "append", or while replaying the log). */
  onAppend(batch: ProducerBatch, baseOffset: number, nowMs: number): void {
    let entry = this.producers.get(batch.producerId);
    if (!entry) {
      entry = {
        producerId: batch.producerId,
        epoch: batch.producerEpoch,
        batches: [],
        lastAppendMs: nowMs,
        lastTimestamp: batch.maxTimestamp,
        transactionFirstOffset: -1,
        coordinatorEpoch: -1,
      };
      this.producers.set(batch.producerId, entry);
    }
    if (batch.producerEpoch !== entry.epoch) {
      entry.epoch = batch.producerEpoch;
      entry.batches = [];
    }
    entry.batches.push({
      firstSequence: batch.baseSequence,
      lastSequence: incrementSequence(batch.baseSequence, batch.lastOffsetDelta),
      firstOffset: baseOffset,
      lastOffset: baseOffset + batch.lastOffsetDelta,
    });
    if (entry.batches.length > PRODUCER_BATCHES_KEPT) entry.batches.shift();
    entry.lastAppendMs = nowMs;
    entry.lastTimestamp = batch.maxTimestamp;
    if (batch.transactional && entry.transactionFirstOffset < 0) {
      entry.transactionFirstOffset = baseOffset;
      this.open.set(batch.producerId, baseOffset);
    }
  }

  /**
   * Whether a transaction marker of this producer and epoch may be written (an older epoch is a zombie's:
   * PRODUCER_FENCED, as Kafka answers WriteTxnMarkers).
   */
  checkMarker(producerId: number, producerEpoch: number): number {
    const entry = this.producers.get(producerId);
    return entry && producerEpoch < entry.epoch ? ErrorCode.PRODUCER_FENCED : ErrorCode.NONE;
  }

  /** Records a commit/abort marker written at `offset`: closes the producer's open transaction, if any. */
  onMarker(producerId: number, producerEpoch: number, commit: boolean, offset: number, coordinatorEpoch: number, nowMs: number): void {
    let entry = this.producers.get(producerId);
    if (!entry) {
      entry = {
        producerId,
        epoch: producerEpoch,
        batches: [],
        lastAppendMs: nowMs,
        lastTimestamp: -1,
        transactionFirstOffset: -1,
        coordinatorEpoch,
      };
      this.producers.set(producerId, entry);
    }
    if (producerEpoch !== entry.epoch) {
      entry.epoch = producerEpoch;
      entry.batches = [];
    }
    entry.coordinatorEpoch = coordinatorEpoch;
    entry.lastAppendMs = nowMs;
    if (entry.transactionFirstOffset >= 0) {
      if (!commit) this.aborted.push({ producerId, firstOffset: entry.transactionFirstOffset, lastOffset: offset });
      entry.transactionFirstOffset = -1;
      this.open.delete(producerId);
    }
  }

  /** First offset of the oldest open transaction, or null when none is open. */
  firstUnstableOffset(): number | null {
    let first: number | null = null;
    for (const offset of this.open.values()) if (first === null || offset < first) first = offset;
    return first;
  }

  /** The last stable offset for a log ending at `highWatermark`. */
  lastStableOffset(highWatermark: number): number {
    return this.firstUnstableOffset() ?? highWatermark;
  }

  /** Aborted transactions overlapping [fetchOffset, upperBoundOffset) (Kafka's collectAbortedTxns). */
  abortedTransactions(fetchOffset: number, upperBoundOffset: number): AbortedTransaction[] {
    const found: AbortedTransaction[] = [];
    for (const aborted of this.aborted) {
      if (aborted.lastOffset >= fetchOffset && aborted.firstOffset < upperBoundOffset) found.push(aborted);
    }
    return found;
  }

  /** Whether the transactional batch of `producerId` at `offset` lies in one of its aborted transactions. */
  isAborted(producerId: number, offset: number): boolean {
    for (const aborted of this.aborted) {
      if (aborted.producerId === producerId && aborted.firstOffset <= offset && offset <= aborted.lastOffset) return true;
    }
    return false;
  }

  /** Forgets aborted transactions wholly below the log start offset: no fetch can reach them any more. */
  pruneBelow(logStartOffset: number): void {
    if (this.aborted.length > 0 && this.aborted[0]!.lastOffset < logStartOffset) {
      this.aborted = this.aborted.filter((aborted) => aborted.lastOffset >= logStartOffset);
    }
  }

  /** Drops producers idle longer than expirationMs without an open transaction (Kafka's producer.id.expiration.ms). */
  expire(nowMs: number, expirationMs: number): number {
    let removed = 0;
    for (const [producerId, entry] of this.producers) {
      if (entry.transactionFirstOffset < 0 && nowMs - entry.lastAppendMs > expirationMs) {
        this.producers.delete(producerId);
        removed++;
      }
    }
    return removed;
  }
}
