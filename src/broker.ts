// The state one kgate node serves: its configuration, its topics, fetch sessions and the long polls waiting.

import { openFileLimit } from "./util/open-files.ts";
import type { FaultInjector } from "./faults/faults.ts";
import type { Config } from "./config.ts";
import { FetchSessionCache } from "./handlers/fetch-sessions.ts";
import { AppendWaiters } from "./log/append-waiters.ts";
import { MemoryPartitionLog, sharedSlabPool } from "./log/memory-log.ts";
import { LogCleaner, type CleanableLog } from "./log/log-cleaner.ts";
import type { ProduceAdmission } from "./log/produce-admission.ts";
import { isCompactedTopic, topicLogConfigs } from "./log/log-configs.ts";
import { limits, serverLimits } from "./config.ts";
import { MemoryBudget } from "./util/memory-budget.ts";
import { FileLogStore } from "./log/file/file-log-store.ts";
import { TopicCatalog } from "./metadata/topic-catalog.ts";
import { log as logger } from "./util/logger.ts";
import { TopicStore, type PartitionLogFactory, type Topic } from "./metadata/topic-store.ts";
import { ErrorCode } from "./protocol/error-codes.ts";
import { createGatewayMetrics } from "./metrics/metrics.ts";
import { GroupCoordinator } from "./groups/coordinator.ts";
import { ProducerStates } from "./transactions/producer-states.ts";
import { TransactionCoordinator, type TransactionSettings } from "./transactions/transaction-coordinator.ts";
import { TRANSACTION_STATE_TOPIC } from "./transactions/transaction-log.ts";
import { AclStore } from "./security/acl-store.ts";
import { Authorizer } from "./security/authorizer.ts";

export class Broker {
  readonly topics: TopicStore;
  readonly appendWaiters = new AppendWaiters();
  readonly fetchSessions = new FetchSessionCache();
  readonly metrics = createGatewayMetrics();
  /** The bytes held for requests over every connection (connections and Fetch take from it): bufferMemoryMax. */
  readonly memory: MemoryBudget;
  /** Set by close(): parked long polls answer with what they have. */
  closing = false;
  private groupCoordinator: GroupCoordinator | null = null;
  /** Idempotent and transactional producer state per partition, replayed from each log on first use. */
  readonly producerStates = new ProducerStates();
  private transactionCoordinator: TransactionCoordinator | null = null;
  private readonly producerExpiryTimer = setInterval(
    () => this.producerStates.expireIdle(this.topics.list().flatMap((topic) => topic.partitions)),
    limits.producerIdExpirationCheckIntervalMs,
  ).unref();
  /** Overrides of the transaction coordinator's defaults (tests shorten timeouts). */
  transactionSettings: Partial<TransactionSettings> = {};
  /** Injected faults (src/faults/faults.ts, the library's tests); null: requests go straight to their handlers. */
  faults: FaultInjector | null = null;
  /** Asked per partition before Produce appends (the uplink's cap on unforwarded bytes); null: everything is admitted. */
  produceAdmission: ProduceAdmission | null = null;

  /** Consumer groups and committed offsets; created on first use, after the topics (and __consumer_offsets) are back. */
  get groups(): GroupCoordinator {
    this.groupCoordinator ??= new GroupCoordinator(this.topics, { appendWaiters: this.appendWaiters });
    return this.groupCoordinator;
  }

  /**
   * Producer ids and transactions; created on first use, or at start when __transaction_state exists, so that a
   * transaction prepared before a restart is finished and an open one times out even if no producer comes back.
   */
  get transactions(): TransactionCoordinator {
    this.transactionCoordinator ??= new TransactionCoordinator(
      this.topics,
      this.producerStates,
      () => this.groups,
      this.appendWaiters,
      this.transactionSettings,
    );
    return this.transactionCoordinator;
  }

  /** Compacts the partitions of topics with cleanup.policy=compact in the background. */
  readonly logCleaner: LogCleaner;

  /** The data folder's logs when the broker keeps files (config.dataDir set and no factory given), else null. */
  readonly fileLogs: FileLogStore | null = null;
  /** The ACL authorizer (config.authorizer), its ACLs in the data folder's acls.json; null: everything is allowed. */
  readonly authorizer: Authorizer | null = null;

  /**
   * With a data folder, opens it: recovers the logs and brings back the persisted topics (may throw: the folder is
   * unreadable, unwritable or its catalog is damaged).
   */
  constructor(
    readonly config: Config,
    logFactory?: PartitionLogFactory,
  ) {
    this.memory = new MemoryBudget(serverLimits(config).bufferMemoryMax);
    this.logCleaner = new LogCleaner(() => this.partitionLogs(), config.logCleanerIntervalMs ?? limits.cleanerIntervalMs);
    if (logFactory !== undefined || config.dataDir === null) {
      this.topics = new TopicStore(
        this.withProducerStates(logFactory ?? ((_topic, _partition, context) => new MemoryPartitionLog(sharedSlabPool, topicLogConfigs(context.configs)))),
        { configDefaults: config.topicConfigDefaults, partitionsMax: limits.partitionsMax },
      );
      if (config.authorizer) this.authorizer = new Authorizer(config.authorizer, new AclStore(null));
      return;
    }
    const startedAtMs = performance.now();
    let fileLogs: FileLogStore;
    try {
      fileLogs = new FileLogStore(config.dataDir, config.flush, { pageCacheWindowBytes: config.pageCacheWindowBytes });
    } catch (error) {
      this.logCleaner.stop();
      throw error;
    }
    const catalog = new TopicCatalog(config.dataDir);
    this.fileLogs = fileLogs;
    this.topics = new TopicStore(this.withProducerStates(fileLogs.createLog), {
      onChange: (store) => catalog.save(store),
      configDefaults: config.topicConfigDefaults,
      partitionsMax: fileLogPartitionsMax(),
    });
    try {
      for (const stored of catalog.load()) this.topics.restore(stored);
      catalog.save(this.topics);
    } catch (error) {
      // Not started: release the folder (its lock, timers and descriptors) without marking a clean shutdown.
      this.logCleaner.stop();
      fileLogs.abandon();
      throw error;
    }
    if (this.topics.get(TRANSACTION_STATE_TOPIC)) void this.transactions;
    if (config.authorizer) this.authorizer = new Authorizer(config.authorizer, new AclStore(config.dataDir));
    logger.info("data folder opened", {
      data: config.dataDir,
      flush: config.flush.mode === "interval" ? `interval=${config.flush.intervalMs}` : config.flush.mode,
      recovery: fileLogs.recovering ? "every segment checked (no clean shutdown)" : "none needed",
      topics: this.topics.list().length,
      acls: this.authorizer?.acls.size ?? "no authorizer",
      ms: Math.round(performance.now() - startedAtMs),
    });
  }

  /** The topic, created with the default partition count when unknown and auto-creation is on and allowed. */
  findOrCreateTopic(name: string, allowAutoCreate: boolean): { topic: Topic } | { errorCode: number } {
    const topic = this.topics.get(name);
    if (topic) return { topic };
    if (!allowAutoCreate || !this.config.autoCreateTopics) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
    const created = this.topics.create(name, this.config.defaultPartitions);
    if (created.topic) return { topic: created.topic };
    return { errorCode: created.errorCode };
  }

  /**
   * A log that starts empty gets its (empty) producer state at once: it is then kept up to date by every append that
   * carries a producer id, so the first Fetch does not replay the whole log (a full read of it, ~0.1 s of CPU per
   * GB: +40% on the first read_committed consume of a freshly produced log). Non-empty logs replay on first use.
   */
  private withProducerStates(factory: PartitionLogFactory): PartitionLogFactory {
    return (topic, partition, context) => {
      const log = factory(topic, partition, context);
      if (log.logEndOffset === log.logStartOffset) this.producerStates.of(log);
      return log;
    };
  }

  /**
   * The partitions the log cleaner may look at. One holding an open transaction waits until it ends: Kafka never
   * cleans past the first unstable offset, since a key's newer record there may still be aborted.
   */
  private *partitionLogs(): Iterable<CleanableLog> {
    for (const topic of this.topics.list()) {
      for (let partition = 0; partition < topic.partitions.length; partition++) {
        const log = topic.partitions[partition]!;
        if (!isCompactedTopic(topic.effectiveConfigs)) {
          yield { topic: topic.name, partition, log };
          continue;
        }
        const producerState = this.producerStates.of(log);
        if (producerState.firstUnstableOffset() !== null) continue;
        yield { topic: topic.name, partition, log, isAborted: (producerId, offset) => producerState.isAborted(producerId, offset) };
      }
    }
  }

  close(): void {
    this.closing = true;
    this.logCleaner.stop();
    this.appendWaiters.wakeAll();
    this.groupCoordinator?.close();
    this.transactionCoordinator?.close();
    clearInterval(this.producerExpiryTimer);
    for (const topic of this.topics.list()) for (const log of topic.partitions) log.close();
    this.fileLogs?.close();
  }
}

/** limits.partitionsMax, or fewer when the open-file limit cannot hold that many file-log partitions besides the reserve. */
export function fileLogPartitionsMax(openFiles = openFileLimit()): number {
  if (openFiles === null) return limits.partitionsMax;
  const room = Math.floor((openFiles - limits.fileDescriptorsReserved) / limits.fileDescriptorsPerPartition);
  return Math.max(1, Math.min(limits.partitionsMax, room));
}
