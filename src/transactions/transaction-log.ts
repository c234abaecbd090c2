// Durable state of the transaction coordinator, in the internal topic __transaction_state (one partition, compacted):
// one record per transactional id (key "txn:<id>", value the metadata as JSON, a null value once the id expired)
// and one per producer id block (key "producer-id-block", value the first id after the highest block handed out).
// The format is kgate's own (Kafka's TransactionLogValue has no room for pending offset commits, which Kafka keeps
// as transactional records in __consumer_offsets instead). Replaying the partition from its start, the latest record
// of each key wins.

import type { AppendWaiters } from "../log/append-waiters.ts";
import type { PartitionLog } from "../log/partition-log.ts";
import type { TopicStore } from "../metadata/topic-store.ts";
import { internalTopicConfigs } from "../metadata/topic-configs.ts";
import { replayKeyedRecords } from "../log/replay.ts";
import { buildRecordBatch } from "../protocol/records/record-batch.ts";
import { log } from "../util/logger.ts";

export const TRANSACTION_STATE_TOPIC = "__transaction_state";
const TRANSACTION_KEY_PREFIX = "txn:";
const PRODUCER_ID_BLOCK_KEY = "producer-id-block";
const STORED_FORMAT_VERSION = 1;

export type TransactionState = "Empty" | "Ongoing" | "PrepareCommit" | "PrepareAbort" | "CompleteCommit" | "CompleteAbort";

export interface PendingOffset {
  groupId: string;
  topic: string;
  partition: number;
  offset: number;
  leaderEpoch: number;
  metadata: string;
}

/** What is stored per transactional id. */
export interface StoredTransaction {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  /** The producer id and epoch before the last bump, so a retried InitProducerId is recognised (KIP-360). */
  lastProducerId: number;
  lastProducerEpoch: number;
  timeoutMs: number;
  state: TransactionState;
  /** topic → partitions in the transaction. */
  partitions: [string, number[]][];
  /** Groups added by AddOffsetsToTxn. */
  groups: string[];
  /** Offsets committed by TxnOffsetCommit; stored from PrepareCommit on, so a restart can finish the commit. */
  pendingOffsets: PendingOffset[];
  startTimeMs: number;
  updateTimeMs: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class TransactionLog {
  constructor(
    private readonly topics: TopicStore,
    private readonly appendWaiters: AppendWaiters | null,
  ) {}

  /** Replays the topic: the transactions and the next producer id block start (0 when none was handed out). */
  load(): { transactions: Map<string, StoredTransaction>; nextProducerIdBlock: number } {
    const transactions = new Map<string, StoredTransaction>();
    let nextProducerIdBlock = 0;
    const partitionLog = this.topics.get(TRANSACTION_STATE_TOPIC)?.partitions[0];
    if (!partitionLog) return { transactions, nextProducerIdBlock };
    replayKeyedRecords(partitionLog, (keyBytes, value) => {
      const key = decoder.decode(keyBytes);
      try {
        if (key === PRODUCER_ID_BLOCK_KEY && value) {
          nextProducerIdBlock = Math.max(nextProducerIdBlock, Number(JSON.parse(decoder.decode(value)).next));
        } else if (key.startsWith(TRANSACTION_KEY_PREFIX)) {
          const id = key.slice(TRANSACTION_KEY_PREFIX.length);
          if (value === null) transactions.delete(id);
          else transactions.set(id, JSON.parse(decoder.decode(value)).transaction as StoredTransaction);
        }
      } catch (error) {
        log.warn("skipping a malformed record in the transaction log", { key, error });
      }
    });
    return { transactions, nextProducerIdBlock };
  }

  /** Writes the transaction's state; the promise settles once it is on stable storage. */
  writeTransaction(transaction: StoredTransaction): Promise<void> {
    const stored: StoredTransaction = {
      transactionalId: transaction.transactionalId,
      producerId: transaction.producerId,
      producerEpoch: transaction.producerEpoch,
      lastProducerId: transaction.lastProducerId,
      lastProducerEpoch: transaction.lastProducerEpoch,
      timeoutMs: transaction.timeoutMs,
      state: transaction.state,
      partitions: transaction.partitions,
      groups: transaction.groups,
      pendingOffsets: transaction.pendingOffsets,
      startTimeMs: transaction.startTimeMs,
      updateTimeMs: transaction.updateTimeMs,
    };
    const value = JSON.stringify({ v: STORED_FORMAT_VERSION, transaction: stored });
    return this.append(TRANSACTION_KEY_PREFIX + transaction.transactionalId, encoder.encode(value));
  }

  /** A tombstone for an expired transactional id. */
  deleteTransaction(transactionalId: string): Promise<void> {
    return this.append(TRANSACTION_KEY_PREFIX + transactionalId, null);
  }

  /** Records that ids below `next` are handed out; settles once durable, before any of them is used. */
  writeProducerIdBlock(next: number): Promise<void> {
    return this.append(PRODUCER_ID_BLOCK_KEY, encoder.encode(JSON.stringify({ v: STORED_FORMAT_VERSION, next })));
  }

  private partitionLog(): PartitionLog {
    const existing = this.topics.get(TRANSACTION_STATE_TOPIC);
    if (existing) return existing.partitions[0]!;
    const created = this.topics.create(TRANSACTION_STATE_TOPIC, 1, internalTopicConfigs());
    if (!created.topic) throw new Error(`cannot create ${TRANSACTION_STATE_TOPIC}: ${created.errorMessage}`);
    return created.topic.partitions[0]!;
  }

  private append(key: string, value: Uint8Array | null): Promise<void> {
    const partitionLog = this.partitionLog();
    const now = Date.now();
    const batch = buildRecordBatch({ records: [{ key: encoder.encode(key), value, timestamp: now }], partitionLeaderEpoch: 0 });
    partitionLog.append(batch, { lastOffsetDelta: 0, maxTimestamp: now, firstTimestamp: now, maxTimestampOffsetDelta: 0 });
    this.appendWaiters?.notify(partitionLog);
    return partitionLog.sync?.() ?? Promise.resolve();
  }
}
