// The transaction coordinator (Kafka's TransactionCoordinator + TransactionStateManager + TransactionMarkerChannel,
// for one node): producer ids, transactional ids and their epochs, the partitions and groups of each open
// transaction, commit/abort markers written straight into the partitions, transactional offset commits applied on
// commit, timeouts that abort (and fence), and recovery after a restart.
// States: Empty → Ongoing (AddPartitionsToTxn/AddOffsetsToTxn) → PrepareCommit|PrepareAbort (EndTxn, timeout,
// InitProducerId over an open transaction) → CompleteCommit|CompleteAbort → Ongoing … Each transition that a restart
// must see is written to __transaction_state and fsynced before it is answered: a new producer id block, a new
// epoch, the first partitions of a transaction, PrepareCommit/PrepareAbort (with the offsets to commit). A restart
// finishes a Prepare* transaction (markers and offsets again: a repeated marker is harmless) and lets an Ongoing one
// run into its timeout.
// Errors follow Kafka: an unknown id or a foreign producer id INVALID_PRODUCER_ID_MAPPING, another epoch
// PRODUCER_FENCED (handlers map it to INVALID_PRODUCER_EPOCH for versions before KIP-588), a transition while one
// is being written CONCURRENT_TRANSACTIONS, an EndTxn that contradicts the state INVALID_TXN_STATE.

import type { AppendWaiters } from "../log/append-waiters.ts";
import type { TopicStore } from "../metadata/topic-store.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import type { GroupCoordinator } from "../groups/coordinator.ts";
import { OFFSETS_TOPIC } from "../groups/offset-store.ts";
import { log } from "../util/logger.ts";
import { buildTransactionMarker, type ProducerStates } from "./producer-states.ts";
import { TransactionLog, type PendingOffset, type StoredTransaction, type TransactionState } from "./transaction-log.ts";

export interface TransactionSettings {
  /** Kafka's transaction.max.timeout.ms: the longest transaction timeout a producer may ask for. */
  maxTimeoutMs: number;
  /** How often finished transactional ids are checked for expiry (open transactions time out on their own timers). */
  expiryCheckIntervalMs: number;
  /** Kafka's transactional.id.expiration.ms: an idle, finished transactional id is forgotten after this long. */
  transactionalIdExpirationMs: number;
  /** Producer ids reserved (and written down) at a time, so a restart never hands one out twice. */
  producerIdBlockSize: number;
}

export function defaultTransactionSettings(): TransactionSettings {
  return {
    maxTimeoutMs: 900_000,
    expiryCheckIntervalMs: 3_600_000,
    transactionalIdExpirationMs: 7 * 24 * 3_600_000,
    producerIdBlockSize: 1_000,
  };
}

/** Kafka's Short.MaxValue - 1: at this epoch a producer gets a new id instead of a bump. */
const PRODUCER_EPOCH_MAX = 32_766;
/** Single node, never re-elected: every marker carries coordinator epoch 0. */
const COORDINATOR_EPOCH = 0;

export interface ProducerIdAndEpoch {
  errorCode: number;
  producerId: number;
  producerEpoch: number;
}

export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

export interface TransactionDescription {
  transactionalId: string;
  state: TransactionState;
  timeoutMs: number;
  startTimeMs: number;
  producerId: number;
  producerEpoch: number;
  partitions: TopicPartitions[];
}

interface Transaction extends StoredTransaction {
  /** A transition is being written: other requests get CONCURRENT_TRANSACTIONS. */
  busy: boolean;
  /** Fires at startTimeMs + timeoutMs while the transaction is Ongoing. */
  timeoutTimer?: ReturnType<typeof setTimeout>;
}

export class TransactionCoordinator {
  readonly settings: TransactionSettings;
  private readonly transactions = new Map<string, Transaction>();
  private readonly byProducerId = new Map<number, Transaction>();
  private readonly stateLog: TransactionLog;
  private nextProducerId = 0;
  private producerIdBlockEnd = 0;
  private producerIdBlockWrite: Promise<void> | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private closed = false;

  constructor(
    private readonly topics: TopicStore,
    private readonly producerStates: ProducerStates,
    private readonly groups: () => GroupCoordinator,
    private readonly appendWaiters: AppendWaiters | null,
    settings: Partial<TransactionSettings> = {},
  ) {
    this.settings = { ...defaultTransactionSettings(), ...settings };
    this.stateLog = new TransactionLog(topics, appendWaiters);
    const loaded = this.stateLog.load();
    this.nextProducerId = this.producerIdBlockEnd = loaded.nextProducerIdBlock;
    for (const stored of loaded.transactions.values()) this.remember({ ...stored, busy: false });
    for (const transaction of this.transactions.values()) {
      if (transaction.state === "PrepareCommit" || transaction.state === "PrepareAbort") {
        log.info("finishing a transaction prepared before the restart", { transactionalId: transaction.transactionalId, state: transaction.state });
        void this.run(transaction, () => this.complete(transaction, transaction.state === "PrepareCommit"));
      }
    }
    for (const transaction of this.transactions.values()) if (transaction.state === "Ongoing") this.scheduleTimeout(transaction);
    if (loaded.transactions.size > 0) log.info("loaded transactions", { transactions: loaded.transactions.size });
    this.timer = setInterval(() => this.expireTransactionalIds(), this.settings.expiryCheckIntervalMs);
    this.timer.unref?.();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const transaction of this.transactions.values()) clearTimeout(transaction.timeoutTimer);
  }

  // --- InitProducerId -------------------------------------------------------------------------------------------

  /** A producer id and epoch for an idempotent producer (transactionalId null) or a transactional one. */
  async initProducerId(transactionalId: string | null, timeoutMs: number, producerId: number, producerEpoch: number): Promise<ProducerIdAndEpoch> {
    if (transactionalId === null) {
      // Idempotent producer: always a fresh id at epoch 0, whatever id and epoch it sends, as Kafka's coordinator.
      // The id it sends is not proof of ownership (@platformatic/kafka sends 0/0 by default), so bumping it would
      // hand one id to many producers, which then fence each other; KIP-360 clients bump an idempotent epoch locally.
      return { errorCode: ErrorCode.NONE, producerId: await this.allocateProducerId(), producerEpoch: 0 };
    }
    if (transactionalId.length === 0) return failure(ErrorCode.INVALID_REQUEST);
    if (timeoutMs <= 0 || timeoutMs > this.settings.maxTimeoutMs) return failure(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    let transaction = this.transactions.get(transactionalId);
    if (!transaction) {
      const now = Date.now();
      transaction = {
        transactionalId,
        producerId: await this.allocateProducerId(),
        producerEpoch: -1,
        lastProducerId: -1,
        lastProducerEpoch: -1,
        timeoutMs,
        state: "Empty",
        partitions: [],
        groups: [],
        pendingOffsets: [],
        startTimeMs: -1,
        updateTimeMs: now,
        busy: false,
      };
      if (this.transactions.has(transactionalId)) return failure(ErrorCode.CONCURRENT_TRANSACTIONS);
      this.remember(transaction);
    }
    const target = transaction;
    if (target.busy) return failure(ErrorCode.CONCURRENT_TRANSACTIONS);
    // With an id and epoch (KIP-360) the caller must be this transactional id's producer: the current one, one that
    // finds the id new (epoch -1: recovering from UNKNOWN_PRODUCER_ID), or a retry of a bump it never heard back from.
    const expected = producerId >= 0 ? { producerId, producerEpoch } : null;
    if (expected) {
      const known = target.producerEpoch === -1 || producerId === target.producerId || producerId === target.lastProducerId;
      if (!known) return failure(ErrorCode.PRODUCER_FENCED);
    }
    if (target.state === "PrepareCommit" || target.state === "PrepareAbort") return failure(ErrorCode.CONCURRENT_TRANSACTIONS);
    if (expected && target.state !== "Ongoing" && target.producerEpoch !== -1) {
      const isCurrent = expected.producerId === target.producerId && expected.producerEpoch === target.producerEpoch;
      const isRetry = matchesCurrentOrLast(target, expected.producerId, expected.producerEpoch) && !isCurrent;
      // A retry of the InitProducerId that already bumped the epoch gets the same answer.
      if (isRetry) return { errorCode: ErrorCode.NONE, producerId: target.producerId, producerEpoch: target.producerEpoch };
      if (!isCurrent) return failure(ErrorCode.PRODUCER_FENCED);
    }
    return this.run(target, async () => {
      target.timeoutMs = timeoutMs;
      await this.bumpEpoch(target);
      if (target.state === "Ongoing") {
        // A new incarnation of the producer: its predecessor's open transaction is aborted, fenced by the new epoch.
        await this.prepare(target, false);
        await this.complete(target, false);
      }
      target.state = "Empty";
      target.partitions = [];
      target.groups = [];
      target.pendingOffsets = [];
      target.updateTimeMs = Date.now();
      await this.stateLog.writeTransaction(target);
      return { errorCode: ErrorCode.NONE, producerId: target.producerId, producerEpoch: target.producerEpoch };
    }).catch((error: unknown) => {
      log.warn("InitProducerId could not store the transaction state", { transactionalId, error });
      return failure(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    });
  }

  private async bumpEpoch(transaction: Transaction): Promise<void> {
    transaction.lastProducerId = transaction.producerId;
    transaction.lastProducerEpoch = transaction.producerEpoch;
    if (transaction.producerEpoch >= PRODUCER_EPOCH_MAX) {
      this.byProducerId.delete(transaction.producerId);
      transaction.producerId = await this.allocateProducerId();
      transaction.producerEpoch = 0;
      this.byProducerId.set(transaction.producerId, transaction);
    } else {
      transaction.producerEpoch++;
    }
  }

  private async allocateProducerId(): Promise<number> {
    while (this.nextProducerId >= this.producerIdBlockEnd) {
      if (!this.producerIdBlockWrite) {
        const end = this.producerIdBlockEnd + this.settings.producerIdBlockSize;
        this.producerIdBlockWrite = this.stateLog.writeProducerIdBlock(end).then(
          () => {
            this.producerIdBlockEnd = end;
            this.producerIdBlockWrite = null;
          },
          (error: unknown) => {
            this.producerIdBlockWrite = null;
            throw error;
          },
        );
      }
      await this.producerIdBlockWrite;
    }
    return this.nextProducerId++;
  }

  // --- Building a transaction -----------------------------------------------------------------------------------

  /** AddPartitionsToTxn: one error code per partition (all the same code when the transaction refuses). */
  async addPartitions(transactionalId: string, producerId: number, producerEpoch: number, wanted: TopicPartitions[], verifyOnly = false): Promise<Map<string, Map<number, number>>> {
    const answer = (codeOf: (topic: string, partition: number) => number) =>
      new Map(wanted.map(({ topic, partitions }) => [topic, new Map(partitions.map((partition) => [partition, codeOf(topic, partition)]))]));
    const unknown = wanted.some(({ topic, partitions }) => partitions.some((partition) => !this.topics.get(topic)?.partitions[partition]));
    if (unknown) {
      return answer((topic, partition) =>
        this.topics.get(topic)?.partitions[partition] ? ErrorCode.OPERATION_NOT_ATTEMPTED : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      );
    }
    const transaction = this.transactions.get(transactionalId);
    const refused = this.checkProducer(transaction, producerId, producerEpoch);
    if (refused !== ErrorCode.NONE) return answer(() => refused);
    const target = transaction!;
    if (verifyOnly) return answer((topic, partition) => (hasPartition(target, topic, partition) ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE));
    if (target.state === "Ongoing" && wanted.every(({ topic, partitions }) => partitions.every((p) => hasPartition(target, topic, p)))) {
      return answer(() => ErrorCode.NONE);
    }
    const errorCode = await this.run(target, async () => {
      this.begin(target);
      for (const { topic, partitions } of wanted) for (const partition of partitions) addPartition(target, topic, partition);
      await this.stateLog.writeTransaction(target);
      return ErrorCode.NONE;
    }).catch((error: unknown) => {
      log.warn("AddPartitionsToTxn could not store the transaction state", { transactionalId, error });
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    });
    return answer(() => errorCode);
  }

  /** AddOffsetsToTxn: the group's offsets partition joins the transaction. */
  async addOffsets(transactionalId: string, producerId: number, producerEpoch: number, groupId: string): Promise<number> {
    const transaction = this.transactions.get(transactionalId);
    const refused = this.checkProducer(transaction, producerId, producerEpoch);
    if (refused !== ErrorCode.NONE) return refused;
    const target = transaction!;
    if (target.state === "Ongoing" && target.groups.includes(groupId)) return ErrorCode.NONE;
    return this.run(target, async () => {
      this.begin(target);
      if (!target.groups.includes(groupId)) target.groups.push(groupId);
      await this.stateLog.writeTransaction(target);
      return ErrorCode.NONE;
    }).catch(() => ErrorCode.COORDINATOR_NOT_AVAILABLE);
  }

  /** TxnOffsetCommit: offsets held until the transaction commits; one code for all (per-partition codes are equal). */
  txnOffsetCommit(transactionalId: string, groupId: string, producerId: number, producerEpoch: number, offsets: Omit<PendingOffset, "groupId">[]): number {
    const transaction = this.transactions.get(transactionalId);
    const refused = this.checkProducer(transaction, producerId, producerEpoch);
    if (refused !== ErrorCode.NONE) return refused;
    const target = transaction!;
    if (target.state !== "Ongoing" || !target.groups.includes(groupId)) return ErrorCode.INVALID_TXN_STATE;
    for (const offset of offsets) {
      const pending = { groupId, ...offset };
      const index = target.pendingOffsets.findIndex((p) => p.groupId === groupId && p.topic === offset.topic && p.partition === offset.partition);
      if (index >= 0) target.pendingOffsets[index] = pending;
      else target.pendingOffsets.push(pending);
    }
    return ErrorCode.NONE;
  }

  /** Whether an open transaction holds an uncommitted offset for the group's partition (OffsetFetch requireStable). */
  hasPendingOffset(groupId: string, topic: string, partition: number): boolean {
    for (const transaction of this.transactions.values()) {
      if (transaction.state !== "Ongoing" && transaction.state !== "PrepareCommit") continue;
      if (transaction.pendingOffsets.some((p) => p.groupId === groupId && p.topic === topic && p.partition === partition)) return true;
    }
    return false;
  }

  /**
   * Produce of a transactional batch: the producer's transaction must be open and hold the partition (Kafka 3.6+
   * verifies this too, KIP-890), else the batch would open a transaction no marker ever closes.
   */
  checkTransactionalProduce(producerId: number, producerEpoch: number, topic: string, partition: number): number {
    const transaction = this.byProducerId.get(producerId);
    if (!transaction) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (producerEpoch < transaction.producerEpoch) return ErrorCode.INVALID_PRODUCER_EPOCH;
    if (transaction.state !== "Ongoing" || !hasPartition(transaction, topic, partition)) return ErrorCode.INVALID_TXN_STATE;
    return ErrorCode.NONE;
  }

  // --- Ending a transaction -------------------------------------------------------------------------------------

  /** EndTxn: commit or abort. */
  async endTxn(transactionalId: string, producerId: number, producerEpoch: number, commit: boolean): Promise<number> {
    const transaction = this.transactions.get(transactionalId);
    const refused = this.checkProducer(transaction, producerId, producerEpoch);
    if (refused !== ErrorCode.NONE) return refused;
    const target = transaction!;
    switch (target.state) {
      case "CompleteCommit":
        return commit ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE;
      case "CompleteAbort":
        return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.NONE;
      case "Empty":
        return ErrorCode.INVALID_TXN_STATE;
      case "Ongoing":
        break;
      default:
        return ErrorCode.INVALID_TXN_STATE;
    }
    return this.run(target, async () => {
      await this.prepare(target, commit);
      await this.complete(target, commit);
      return ErrorCode.NONE;
    }).catch((error: unknown) => {
      log.warn("EndTxn failed", { transactionalId, error });
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    });
  }

  /** PrepareCommit/PrepareAbort, durable before any marker is written. */
  private async prepare(transaction: Transaction, commit: boolean): Promise<void> {
    clearTimeout(transaction.timeoutTimer);
    transaction.state = commit ? "PrepareCommit" : "PrepareAbort";
    if (!commit) transaction.pendingOffsets = [];
    transaction.updateTimeMs = Date.now();
    await this.stateLog.writeTransaction(transaction);
  }

  /** Markers into every partition, the offsets into the groups, then CompleteCommit/CompleteAbort. */
  private async complete(transaction: Transaction, commit: boolean): Promise<void> {
    const now = Date.now();
    const syncs: Promise<void>[] = [];
    for (const [topicName, partitions] of transaction.partitions) {
      const topic = this.topics.get(topicName);
      for (const partition of partitions) {
        const partitionLog = topic?.partitions[partition];
        if (!partitionLog) continue; // deleted since: nothing left to mark
        const state = this.producerStates.of(partitionLog);
        const marker = buildTransactionMarker(transaction.producerId, transaction.producerEpoch, commit, COORDINATOR_EPOCH, now);
        const { baseOffset } = partitionLog.append(marker, { lastOffsetDelta: 0, maxTimestamp: now, firstTimestamp: now, maxTimestampOffsetDelta: 0 });
        state.onMarker(transaction.producerId, transaction.producerEpoch, commit, baseOffset, COORDINATOR_EPOCH, now);
        this.appendWaiters?.notify(partitionLog);
        const sync = partitionLog.sync?.();
        if (sync) syncs.push(sync);
      }
    }
    if (commit && transaction.pendingOffsets.length > 0) {
      const byGroup = new Map<string, PendingOffset[]>();
      for (const pending of transaction.pendingOffsets) {
        const list = byGroup.get(pending.groupId) ?? [];
        list.push(pending);
        byGroup.set(pending.groupId, list);
      }
      const groups = this.groups();
      for (const [groupId, offsets] of byGroup) groups.commitTransactionalOffsets(groupId, offsets);
      for (const offsetsLog of this.topics.get(OFFSETS_TOPIC)?.partitions ?? []) {
        const sync = offsetsLog.sync?.();
        if (sync) syncs.push(sync);
      }
    }
    await Promise.all(syncs);
    transaction.state = commit ? "CompleteCommit" : "CompleteAbort";
    transaction.partitions = [];
    transaction.groups = [];
    transaction.pendingOffsets = [];
    transaction.updateTimeMs = Date.now();
    // Not awaited: a restart that misses it redoes the Prepare* state, which is idempotent.
    this.stateLog.writeTransaction(transaction).catch((error: unknown) => log.warn("could not store a completed transaction", { error }));
  }

  // --- Timeouts, expiry, admin ------------------------------------------------------------------------------------

  /** Arms the abort at the transaction's deadline (Kafka checks every 10 s; a timer per transaction is exact). */
  private scheduleTimeout(transaction: Transaction): void {
    clearTimeout(transaction.timeoutTimer);
    const delayMs = Math.max(0, transaction.startTimeMs + transaction.timeoutMs - Date.now());
    transaction.timeoutTimer = setTimeout(() => void this.abortIfTimedOut(transaction), delayMs);
    transaction.timeoutTimer.unref?.();
  }

  /** Aborts a transaction open longer than its timeout, fencing the producer with a new epoch (as Kafka does). */
  private async abortIfTimedOut(transaction: Transaction): Promise<void> {
    if (this.closed || transaction.state !== "Ongoing") return;
    if (transaction.busy || Date.now() - transaction.startTimeMs < transaction.timeoutMs) {
      // A transition is being written, or the timer fired early: look again shortly.
      transaction.timeoutTimer = setTimeout(() => void this.abortIfTimedOut(transaction), 100);
      transaction.timeoutTimer.unref?.();
      return;
    }
    log.info("aborting a timed-out transaction", { transactionalId: transaction.transactionalId, producerId: transaction.producerId, timeoutMs: transaction.timeoutMs });
    await this.run(transaction, async () => {
      await this.bumpEpoch(transaction);
      await this.prepare(transaction, false);
      await this.complete(transaction, false);
    }).catch((error: unknown) => log.warn("could not abort a timed-out transaction", { transactionalId: transaction.transactionalId, error }));
  }

  /** Forgets transactional ids idle and finished for longer than transactionalIdExpirationMs. */
  expireTransactionalIds(now = Date.now()): void {
    for (const transaction of [...this.transactions.values()]) {
      if (transaction.busy || transaction.state === "Ongoing" || transaction.state === "PrepareCommit" || transaction.state === "PrepareAbort") continue;
      if (now - transaction.updateTimeMs <= this.settings.transactionalIdExpirationMs) continue;
      this.transactions.delete(transaction.transactionalId);
      this.byProducerId.delete(transaction.producerId);
      this.stateLog.deleteTransaction(transaction.transactionalId).catch(() => {});
    }
  }

  describe(transactionalId: string): TransactionDescription | null {
    const transaction = this.transactions.get(transactionalId);
    return transaction ? describe(transaction) : null;
  }

  list(): TransactionDescription[] {
    return [...this.transactions.values()].map(describe);
  }

  // --- Helpers --------------------------------------------------------------------------------------------------

  private checkProducer(transaction: Transaction | undefined, producerId: number, producerEpoch: number): number {
    if (!transaction || transaction.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (transaction.producerEpoch !== producerEpoch) return ErrorCode.PRODUCER_FENCED;
    if (transaction.busy || transaction.state === "PrepareCommit" || transaction.state === "PrepareAbort") return ErrorCode.CONCURRENT_TRANSACTIONS;
    return ErrorCode.NONE;
  }

  private begin(transaction: Transaction): void {
    if (transaction.state === "Ongoing") return;
    transaction.state = "Ongoing";
    transaction.partitions = [];
    transaction.groups = [];
    transaction.pendingOffsets = [];
    transaction.startTimeMs = Date.now();
    transaction.updateTimeMs = transaction.startTimeMs;
    this.scheduleTimeout(transaction);
  }

  /** Runs one transition of the transaction at a time. */
  private async run<T>(transaction: Transaction, transition: () => Promise<T>): Promise<T> {
    transaction.busy = true;
    try {
      return await transition();
    } finally {
      transaction.busy = false;
    }
  }

  private remember(transaction: Transaction): void {
    this.transactions.set(transaction.transactionalId, transaction);
    this.byProducerId.set(transaction.producerId, transaction);
  }
}

function failure(errorCode: number): ProducerIdAndEpoch {
  return { errorCode, producerId: -1, producerEpoch: -1 };
}

function matchesCurrentOrLast(transaction: StoredTransaction, producerId: number, producerEpoch: number): boolean {
  return (
    (producerId === transaction.producerId && producerEpoch === transaction.producerEpoch) ||
    (producerId === transaction.lastProducerId && producerEpoch === transaction.lastProducerEpoch)
  );
}

function hasPartition(transaction: StoredTransaction, topic: string, partition: number): boolean {
  return transaction.partitions.some(([name, partitions]) => name === topic && partitions.includes(partition));
}

function addPartition(transaction: StoredTransaction, topic: string, partition: number): void {
  const entry = transaction.partitions.find(([name]) => name === topic);
  if (!entry) transaction.partitions.push([topic, [partition]]);
  else if (!entry[1].includes(partition)) entry[1].push(partition);
}

function describe(transaction: StoredTransaction): TransactionDescription {
  return {
    transactionalId: transaction.transactionalId,
    state: transaction.state,
    timeoutMs: transaction.timeoutMs,
    startTimeMs: transaction.state === "Ongoing" ? transaction.startTimeMs : -1,
    producerId: transaction.producerId,
    producerEpoch: transaction.producerEpoch,
    partitions: transaction.partitions.map(([topic, partitions]) => ({ topic, partitions: [...partitions] })),
  };
}
