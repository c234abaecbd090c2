// One uplink link: forwards the stored batches of the local topics it selects to a central Kafka cluster, as a Kafka
// producer, in rounds of at most limits.uplinkRoundBytesMax.
// Behaviour:
// - Exactly-once (delivery=exactly-once, or auto when the cluster speaks the transaction APIs): a transactional
//   producer with the id `kgate-uplink.<edge>.<link>`. Each round is one transaction holding the forwarded batches
//   and, in the positions topic, the next local offset of each partition it advanced. At every (re)connection
//   InitProducerId fences an older instance and aborts its open transaction, then the positions are read back with
//   read_committed: what the central cluster committed is the truth, so a round whose commit answer was lost is not
//   sent again, and one that was not committed is.
// - At-least-once: an idempotent producer; the position lives in the data folder's checkpoint, fsynced after each
//   acknowledged round, together with the end of what was in flight; records re-sent from that window after a
//   crash or a lost answer are counted as possible duplicates.
// - Only committed data leaves: a round stops at the local last stable offset; control batches and batches of
//   aborted local transactions are skipped.
// - Batches go as they are stored (no decompression) when the link adds no provenance header, keeps partition
//   numbers and rewrites no schema ids; otherwise records are rewritten (src/uplink/forward-batches.ts).
// - Failures (connection lost, timeouts, any error answer) end the session: the link backs off (exponential with
//   full jitter) and starts over from its committed position. Errors no retry can fix (refused credentials, a
//   remote topic too small, a batch over the remote size limit) keep being retried at the backoff's cap, with the
//   error in the link's status.
// - Retention and compaction keep every record a link has not forwarded (PartitionLog.retentionFloor); the full
//   policy (reject or drop-oldest) applies once a topic's unforwarded bytes reach max.unforwarded.bytes.

import type { Broker } from "../broker.ts";
import { limits } from "../config.ts";
import type { PartitionLog } from "../log/partition-log.ts";
import { uuidToString } from "../metadata/uuid.ts";
import type { Topic } from "../metadata/topic-store.ts";
import { ErrorCode, errorName } from "../protocol/error-codes.ts";
import { readBatchHeader, RECORD_BATCH_OVERHEAD } from "../protocol/records/record-batch.ts";
import { log } from "../util/logger.ts";
import { CentralCluster, isCoordinatorLoading, UplinkError } from "./central-cluster.ts";
import { SessionLoop, type LinkState, type SessionGuard } from "./session-loop.ts";
import { collectSchemaIds, isVerbatimForward, prepareForward, stampProducer, type ForwardOptions } from "./forward-batches.ts";
import { SchemaIdMapper } from "./schema-mapper.ts";
import type { SchemaStore } from "../registry/store.ts";
import { linkForwards, remoteTopicName, type DeliveryMode, type LinkConfig } from "./link-config.ts";
import { buildPositionsBatch, LocalCheckpointFile, partitionKey, readRemotePositions, splitPartitionKey, type LocalCheckpoint, type PartitionKey, type Position } from "./positions.ts";
import type { KafkaConnection } from "../client/kafka-connection.ts";
import { UNFORWARDED_BYTES_FULL_ERROR } from "../log/produce-admission.ts";

export type { LinkState } from "./session-loop.ts";

export interface LinkPartitionStatus {
  topic: string;
  partition: number;
  remoteTopic: string;
  /** The next local offset to forward. */
  forwardedOffset: number;
  logEndOffset: number;
  lagRecords: number;
  lagBytes: number;
  /** Age of the oldest unforwarded record, 0 when none. */
  lagSeconds: number;
  forwardedRecords: number;
  forwardedBytes: number;
  dropped: Record<string, number>;
}

export interface LinkStatus {
  name: string;
  state: LinkState;
  delivery: DeliveryMode | "auto";
  lastError: string | null;
  /** What lastError is about: auth (credentials, ACLs), config (fix the setup), connect, timeout, remote, fenced. */
  lastErrorKind: UplinkError["kind"] | null;
  since: number;
  forwardedRecords: number;
  forwardedBytes: number;
  /** Bytes per second over the last rounds. */
  throughputBytesPerSecond: number;
  possibleDuplicates: number;
  rejectedProduces: number;
  partitions: LinkPartitionStatus[];
}

interface ForwardedPartition {
  key: PartitionKey;
  topic: string;
  partition: number;
  topicId: string;
  log: PartitionLog;
  remoteTopic: string;
}

interface PartitionCounters {
  forwardedRecords: number;
  forwardedBytes: number;
  dropped: Record<string, number>;
  /** Cached age of the oldest unforwarded record: [position it was read at, its timestamp, when it was read]. */
  oldest: [number, number, number] | null;
  droppedLoggedAtMs?: number;
}

const DROP_LOG_INTERVAL_MS = 10_000;

/** One Produce partition entry of a round: the batch and what it advances. */
interface RoundEntry {
  remoteTopic: string;
  remotePartition: number;
  batch: Uint8Array;
  records: number;
}

interface Round {
  entries: RoundEntry[];
  /** The position each partition reaches once the round is committed. */
  advances: Map<PartitionKey, { position: Position; records: number; bytes: number }>;
  bytes: number;
  /** Ends the leases of the log reads the entries may still be views of (the verbatim path on owned reads). */
  releases: (() => void)[];
}

/** Another instance of the link (same edge id and link name) took over: a new epoch was handed out. */
const FENCED_CODES = new Set<number>([ErrorCode.PRODUCER_FENCED, ErrorCode.INVALID_PRODUCER_EPOCH]);
const AUTHORIZATION_CODES = new Set<number>([ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, ErrorCode.TOPIC_AUTHORIZATION_FAILED, ErrorCode.CLUSTER_AUTHORIZATION_FAILED]);

function errorKind(code: number): "fenced" | "auth" | "remote" {
  return FENCED_CODES.has(code) ? "fenced" : AUTHORIZATION_CODES.has(code) ? "auth" : "remote";
}

export class UplinkLink extends SessionLoop {
  /** Committed positions (the truth once connected; the local copy before). */
  private readonly positions = new Map<PartitionKey, Position>();
  private readonly inFlightEnd = new Map<PartitionKey, number>();
  private readonly counters = new Map<PartitionKey, PartitionCounters>();
  private readonly checkpoint: LocalCheckpointFile;
  private readonly transactionalId: string;
  private mode: DeliveryMode | null = null;
  private producer = { id: -1, epoch: -1 };
  private readonly sequences = new Map<string, number>();
  /** Records section of a merged batch per remote topic, under its max.message.bytes (read at each session start). */
  private readonly mergeBytesMaxByTopic = new Map<string, number>();
  private possibleDuplicates = 0;
  private rejectedProduces = 0;
  private readonly throughput = { windowStartMs: Date.now(), bytes: 0, rate: 0 };
  private bandwidthTokens = 0;
  private checkpointWrittenMs = 0;
  private rounds = 0;
  private bandwidthRefillMs = Date.now();
  private readonly topicCache = new WeakMap<Topic, { forwards: boolean; partitions: ForwardedPartition[] }>();
  /** Output batches of the round being built and sent; reused by the next round (see RoundArena). */
  private readonly arena = new RoundArena(Math.ceil(limits.uplinkRoundBytesMax * 1.1) + limits.uplinkMergeBytesMax);
  /** Maps local schema ids to the central registry's (schema.registry.url), or null. */
  private readonly schemaIds: SchemaIdMapper | null;

  constructor(
    config: LinkConfig,
    edgeId: string,
    private readonly broker: Broker,
    localSchemaStore: () => SchemaStore | null = () => null,
  ) {
    super(config, "uplink", edgeId);
    this.schemaIds = config.schemaRegistryUrl ? new SchemaIdMapper(config.schemaRegistryUrl, localSchemaStore, config.requestTimeoutMs) : null;
    this.checkpoint = new LocalCheckpointFile(broker.config.dataDir, config.name);
    const stored: LocalCheckpoint = this.checkpoint.read();
    for (const [key, position] of stored.positions) this.positions.set(key, position);
    for (const [key, end] of stored.inFlightEnd) this.inFlightEnd.set(key, end);
    this.transactionalId = `kgate-uplink.${edgeId}.${config.name}`;
  }

  protected override onStopped(): void {
    this.checkpoint.write({ positions: this.positions, inFlightEnd: this.inFlightEnd }, true);
  }

  /**
   * The local partitions this link forwards now: asked each round, by status and by every scrape, so what does not
   * change for a topic (whether it matches, its id's text, its remote name, its partitions' keys) is kept per topic
   * object (a topic created again is another object).
   */
  forwardedPartitions(): ForwardedPartition[] {
    const found: ForwardedPartition[] = [];
    for (const topic of this.broker.topics.list()) {
      const known = this.known(topic);
      if (known.forwards) found.push(...known.partitions);
    }
    return found;
  }

  private known(topic: Topic): { forwards: boolean; partitions: ForwardedPartition[] } {
    let known = this.topicCache.get(topic);
    if (!known || known.partitions.length !== topic.partitions.length) {
      const topicId = uuidToString(topic.topicId);
      const remoteTopic = remoteTopicName(this.config, this.edgeId, topic.name);
      known = {
        forwards: linkForwards(this.config, topic.name, topic.isInternal),
        partitions: topic.partitions.map((log, partition) => ({ key: partitionKey(topic.name, partition), topic: topic.name, partition, topicId, log, remoteTopic })),
      };
      this.topicCache.set(topic, known);
    }
    return known;
  }

  /** The first offset of the partition this link still needs (retention and compaction keep it), or null when it does not forward it. */
  retentionFloor(topic: string, partition: number, topicId: string, isInternal: boolean): number | null {
    if (!linkForwards(this.config, topic, isInternal)) return null;
    const position = this.positions.get(partitionKey(topic, partition));
    return position && position.topicId === topicId ? position.nextOffset : 0;
  }

  /**
   * The full policy, before a Produce appends to a forwarded partition: null to accept; a refusal (reject policy);
   * or, with drop-oldest, the oldest unforwarded records are dropped until the topic is under its cap.
   */
  admit(topicName: string, partition: number, log: PartitionLog): { errorCode: number; throttleTimeMs: number; message: string } | null {
    const topic = this.broker.topics.get(topicName);
    if (!topic) return null;
    const known = this.known(topic);
    if (!known.forwards) return null;
    const topicId = known.partitions[0]?.topicId ?? uuidToString(topic.topicId);
    const unforwarded = () => {
      let bytes = 0;
      for (const forwarded of known.partitions) bytes += forwarded.log.bytesFrom(this.floorOf(forwarded.topic, forwarded.partition, topicId, forwarded.log));
      return bytes;
    };
    if (unforwarded() < this.config.unforwardedBytesMax) return null;
    if (this.config.fullPolicy === "reject") {
      this.rejectedProduces++;
      this.broker.metrics.uplinkRejectedProduces.inc({ link: this.config.name, topic: topicName });
      return {
        errorCode: UNFORWARDED_BYTES_FULL_ERROR,
        throttleTimeMs: limits.uplinkFullThrottleMs,
        message: `topic ${topicName} holds max.unforwarded.bytes (${this.config.unforwardedBytesMax}) not yet forwarded by uplink ${this.config.name}`,
      };
    }
    // drop-oldest: from the partition being produced to, whole batches from its floor, until the topic fits.
    const key = partitionKey(topicName, partition);
    for (let guard = 0; guard < 10_000 && unforwarded() >= this.config.unforwardedBytesMax; guard++) {
      const from = this.floorOf(topicName, partition, topicId, log);
      if (from >= log.logEndOffset) break;
      const read = log.read(from, 1, true);
      const last = read.batches.at(-1);
      if (!last) break;
      const header = readBatchHeader(last);
      const to = header.baseOffset + header.lastOffsetDelta + 1;
      read.release?.();
      log.advanceLogStartOffset(to);
      this.countDrop(key, "drop-oldest", to - from);
      this.positions.set(key, { topicId, nextOffset: to });
    }
    return null;
  }

  status(): LinkStatus {
    const partitions: LinkPartitionStatus[] = [];
    let forwardedRecords = 0;
    let forwardedBytes = 0;
    for (const forwarded of this.forwardedPartitions()) {
      const counters = this.countersOf(forwarded.key);
      forwardedRecords += counters.forwardedRecords;
      forwardedBytes += counters.forwardedBytes;
      const next = this.floorOf(forwarded.topic, forwarded.partition, forwarded.topicId, forwarded.log);
      partitions.push({
        topic: forwarded.topic,
        partition: forwarded.partition,
        remoteTopic: forwarded.remoteTopic,
        forwardedOffset: next,
        logEndOffset: forwarded.log.logEndOffset,
        lagRecords: Math.max(0, forwarded.log.logEndOffset - next),
        lagBytes: forwarded.log.bytesFrom(next),
        lagSeconds: this.lagSeconds(forwarded, next, counters),
        forwardedRecords: counters.forwardedRecords,
        forwardedBytes: counters.forwardedBytes,
        dropped: { ...counters.dropped },
      });
    }
    return {
      name: this.config.name,
      state: this.state,
      delivery: this.mode ?? this.config.delivery,
      lastError: this.lastError,
      lastErrorKind: this.lastError === null ? null : this.lastErrorKind,
      since: this.stateSince,
      forwardedRecords,
      forwardedBytes,
      throughputBytesPerSecond: this.throughput.rate,
      possibleDuplicates: this.possibleDuplicates,
      rejectedProduces: this.rejectedProduces,
      partitions,
    };
  }

  // --- the session loop ---------------------------------------------------------------------------------------

  protected override describeFailure(error: UplinkError): { state: LinkState; message: string } {
    if (error.kind !== "fenced") return { state: "backing-off", message: error.message };
    const message = error.message.includes("another instance")
      ? error.message
      : `${error.message}: another instance of this link (transactional id ${this.transactionalId}: same --edge-id and link name) took over`;
    return { state: "fenced", message };
  }

  protected override stateFields(): Record<string, unknown> {
    return this.mode ? { delivery: this.mode } : {};
  }

  protected override async session(cluster: CentralCluster, guard: SessionGuard): Promise<void> {
    this.mode = this.chooseMode(cluster);
    this.sequences.clear();
    if (this.mode === "exactly-once") {
      await guard(cluster.refreshMetadata([this.config.positionsTopic]));
      await guard(this.ensurePositionsTopic(cluster));
      const coordinator = await guard(cluster.transactionCoordinator(this.transactionalId));
      await guard(this.initProducer(coordinator, this.transactionalId));
      const committed = await guard(readRemotePositions(cluster, this.config.positionsTopic, this.edgeId, this.config.name));
      // The central cluster's committed positions win over the local copy, in both directions.
      this.positions.clear();
      for (const [key, position] of committed) this.positions.set(key, position);
      this.checkpoint.write({ positions: this.positions, inFlightEnd: new Map() }, false);
    } else {
      await guard(this.initProducer(cluster.any, null));
      for (const [key, end] of this.inFlightEnd) {
        const position = this.positions.get(key);
        const inDoubt = end - (position?.nextOffset ?? 0);
        if (inDoubt > 0) {
          this.possibleDuplicates += inDoubt;
          const [topic, partition] = splitPartitionKey(key);
          this.broker.metrics.uplinkPossibleDuplicates.inc({ link: this.config.name, topic, partition }, inDoubt);
          log.warn("uplink re-sends records whose delivery is unknown (at-least-once: possible duplicates)", { link: this.config.name, topic, partition, records: inDoubt });
        }
      }
      // Counted once: the next round records its own window.
      this.inFlightEnd.clear();
    }
    // Connected once the remote topics are usable too: a link that cannot forward should not flap to connected.
    const knownRemote = new Set<string>();
    const checkRemoteTopics = async (partitions: ForwardedPartition[]) => {
      const remoteTopics = [...new Set(partitions.map((forwarded) => forwarded.remoteTopic))];
      if (!remoteTopics.some((name) => !knownRemote.has(name))) return;
      await guard(this.ensureRemoteTopics(cluster, partitions));
      for (const name of remoteTopics) knownRemote.add(name);
    };
    await checkRemoteTopics(this.forwardedPartitions());
    this.setState("connected", null);

    while (!this.stopped) {
      const partitions = this.forwardedPartitions();
      await checkRemoteTopics(partitions);
      const round = await guard(this.buildRound(partitions, cluster));
      if (round === null) {
        // Idle: wait for an append; a quiet second probes the cluster, so a dead link is noticed within the request timeout.
        const appended = await this.waitForAppend(partitions.map((forwarded) => forwarded.log));
        if (!appended && !this.stopped) await guard(cluster.any.call(3, cluster.any.version(3, 12), { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false }));
        else await this.sleep(limits.uplinkLingerMs);
        continue;
      }
      try {
        await guard(this.sendRound(cluster, round));
      } finally {
        for (const release of round.releases) release();
      }
      // A round short of the budget caught up: let the next one gather more (each round has a fixed cost centrally).
      if (round.bytes < limits.uplinkRoundBytesMax / 2) await this.sleep(limits.uplinkLingerMs);
    }
  }

  private chooseMode(cluster: CentralCluster): DeliveryMode {
    if (this.config.delivery === "at-least-once") return "at-least-once";
    if (cluster.transactionsSupported) return "exactly-once";
    if (this.config.delivery === "exactly-once") {
      throw new UplinkError("the central cluster does not support transactions (no InitProducerId/AddPartitionsToTxn/EndTxn in ApiVersions): exactly-once is impossible; set delivery=at-least-once", "config");
    }
    log.warn("uplink: the central cluster has no transactions; forwarding at-least-once", { link: this.config.name });
    return "at-least-once";
  }

  private async initProducer(connection: KafkaConnection, transactionalId: string | null): Promise<void> {
    const version = connection.version(22, 4);
    for (let attempt = 0; ; attempt++) {
      const answer = await connection.call(22, version, {
        transactionalId,
        transactionTimeoutMs: this.config.transactionTimeoutMs,
        producerId: -1n,
        producerEpoch: -1,
        enable2Pc: false,
        keepPreparedTxn: false,
      });
      if (answer.errorCode === ErrorCode.NONE) {
        this.producer = { id: Number(answer.producerId), epoch: answer.producerEpoch };
        return;
      }
      // An older instance's transaction is being aborted (or the coordinator loads): Kafka's clients retry.
      if ((answer.errorCode === ErrorCode.CONCURRENT_TRANSACTIONS || isCoordinatorLoading(answer.errorCode)) && attempt < 100) {
        await Bun.sleep(Math.min(50 * (attempt + 1), 500));
        continue;
      }
      throw new UplinkError(`InitProducerId${transactionalId ? ` (${transactionalId})` : ""}: ${errorName(answer.errorCode)}`, errorKind(answer.errorCode));
    }
  }

  private async ensurePositionsTopic(cluster: CentralCluster): Promise<void> {
    const remote = cluster.remoteTopic(this.config.positionsTopic);
    if (remote && remote.errorCode === ErrorCode.NONE) return;
    // The positions topic is the link's own: it is always created, compacted, with one partition.
    const errors = await cluster.createTopics([{ name: this.config.positionsTopic, partitions: 1, configs: { "cleanup.policy": "compact" } }]);
    const error = errors.get(this.config.positionsTopic);
    if (error) throw new UplinkError(`cannot create the positions topic ${this.config.positionsTopic} on the central cluster: ${error}`, "remote");
    for (let attempt = 0; attempt < 50; attempt++) {
      await cluster.refreshMetadata([this.config.positionsTopic]);
      const created = cluster.remoteTopic(this.config.positionsTopic);
      if (created && created.errorCode === ErrorCode.NONE && created.leaders.every((leader) => leader >= 0)) return;
      await Bun.sleep(100);
    }
    throw new UplinkError(`the positions topic ${this.config.positionsTopic} has no leader on the central cluster`);
  }

  /** Checks (and with create.remote.topics, creates) the remote topics: they must have the partitions the mapping needs. */
  private async ensureRemoteTopics(cluster: CentralCluster, partitions: ForwardedPartition[]): Promise<void> {
    const needed = new Map<string, number>();
    for (const forwarded of partitions) needed.set(forwarded.remoteTopic, Math.max(needed.get(forwarded.remoteTopic) ?? 0, forwarded.partition + 1));
    const names = [...needed.keys()];
    await cluster.refreshMetadata([...names, ...(this.mode === "exactly-once" ? [this.config.positionsTopic] : [])]);
    const missing = names.filter((name) => cluster.remoteTopic(name)?.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION || !cluster.remoteTopic(name));
    if (missing.length > 0) {
      if (!this.config.createRemoteTopics) {
        throw new UplinkError(`remote topic${missing.length > 1 ? "s" : ""} ${missing.join(", ")} missing on the central cluster (create ${missing.length > 1 ? "them" : "it"}, or set create.remote.topics=true)`, "config");
      }
      const errors = await cluster.createTopics(missing.map((name) => ({ name, partitions: needed.get(name)! })));
      if (errors.size > 0) throw new UplinkError(`cannot create remote topics: ${[...errors].map(([name, error]) => `${name}: ${error}`).join("; ")}`, "remote");
      for (let attempt = 0; attempt < 50; attempt++) {
        await cluster.refreshMetadata(names);
        if (missing.every((name) => (cluster.remoteTopic(name)?.leaders.length ?? 0) >= needed.get(name)! && cluster.remoteTopic(name)!.leaders.every((leader) => leader >= 0))) break;
        await Bun.sleep(100);
      }
    }
    for (const [name, count] of needed) {
      const remote = cluster.remoteTopic(name);
      if (!remote || remote.errorCode !== ErrorCode.NONE) throw new UplinkError(`remote topic ${name}: ${errorName(remote?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)}`, remote?.errorCode === ErrorCode.TOPIC_AUTHORIZATION_FAILED ? "auth" : "remote");
      if (this.config.partitioning === "same" && remote.partitions < count) {
        throw new UplinkError(`remote topic ${name} has ${remote.partitions} partitions; partitioning=same needs ${count} (add partitions there, or use partitioning=key)`, "config");
      }
    }
    // Merged batches stay under each remote topic's max.message.bytes; one stored batch over it still fails, saying so.
    const maxMessageBytes = await cluster.maxMessageBytes(names);
    for (const name of names) {
      const max = maxMessageBytes.get(name);
      if (max === undefined) this.mergeBytesMaxByTopic.delete(name);
      else this.mergeBytesMaxByTopic.set(name, Math.max(1, max - RECORD_BATCH_OVERHEAD));
    }
  }

  // --- rounds -------------------------------------------------------------------------------------------------

  /** Reads what each partition has not forwarded, up to the round's budget; null when nothing is waiting. */
  private async buildRound(partitions: ForwardedPartition[], cluster: CentralCluster): Promise<Round | null> {
    const round: Round = { entries: [], advances: new Map(), bytes: 0, releases: [] };
    // The previous round is answered (or its session is gone): its batches are no longer read.
    this.arena.reset();
    // With a bandwidth cap a round must still fit well inside the transaction timeout.
    const roundBytesMax =
      this.config.bandwidthBytesPerSecond > 0
        ? Math.max(64 * 1024, Math.min(limits.uplinkRoundBytesMax, Math.floor((this.config.bandwidthBytesPerSecond * this.config.transactionTimeoutMs) / 4_000)))
        : limits.uplinkRoundBytesMax;
    const budgetPerPartition = Math.max(Math.min(limits.uplinkMergeBytesMax, roundBytesMax), Math.floor(roundBytesMax / Math.max(1, partitions.length)));
    // Partitions take turns at going first, so that one with a deep backlog cannot starve the others.
    const rotate = partitions.length > 0 ? this.rounds++ % partitions.length : 0;
    for (let i = 0; i < partitions.length && round.bytes < roundBytesMax; i++) {
      const forwarded = partitions[(i + rotate) % partitions.length]!;
      const { log: partitionLog, key } = forwarded;
      let next = this.floorOf(forwarded.topic, forwarded.partition, forwarded.topicId, partitionLog);
      if (next < partitionLog.logStartOffset) {
        // Deleted before it was forwarded (DeleteRecords, or a policy that drops): counted, then skipped.
        this.countDrop(key, "deleted", partitionLog.logStartOffset - next);
        next = partitionLog.logStartOffset;
        this.positions.set(key, { topicId: forwarded.topicId, nextOffset: next });
      }
      const stable = this.broker.producerStates.lastStableOffset(partitionLog);
      if (next >= stable) continue;
      // Chunk by chunk (a slab each): a rewritten chunk's read buffer goes back at once, so a round holds its output
      // in the arena and one slab of input; a chunk forwarded in place keeps its buffer until the round is answered.
      const remote = cluster.remoteTopic(forwarded.remoteTopic);
      let end = next;
      let records = 0;
      let bytes = 0;
      try {
        for (const chunk of this.readCommitted(partitionLog, next, Math.min(budgetPerPartition, roundBytesMax - round.bytes), stable)) {
          end = chunk.end;
          const options: ForwardOptions = {
            sourcePartition: forwarded.partition,
            nextOffset: next,
            provenance: this.config.provenance ? { edgeId: this.edgeId, topic: forwarded.topic, partition: forwarded.partition } : null,
            keyPartitions: this.config.partitioning === "key" ? (remote?.partitions ?? 1) : null,
            mergeBytesMax: Math.min(limits.uplinkMergeBytesMax, this.mergeBytesMaxByTopic.get(forwarded.remoteTopic) ?? Infinity),
            allocate: this.arena.allocate,
            ownedInput: chunk.owned,
          };
          const schemaIds = this.schemaIds;
          if (schemaIds) options.schemaId = (localId) => schemaIds.remoteId(localId);
          const inPlace = chunk.owned && isVerbatimForward(options);
          try {
            // Ids of the local registry must exist centrally before their envelopes are rewritten.
            if (schemaIds && chunk.data.length > 0) await schemaIds.resolve(collectSchemaIds(chunk.data));
            for (const batch of chunk.data.length === 0 ? [] : prepareForward(chunk.data, options)) {
              round.entries.push({ remoteTopic: forwarded.remoteTopic, remotePartition: batch.partition, batch: batch.batch, records: batch.records });
              records += batch.records;
              bytes += batch.batch.length;
            }
          } finally {
            if (inPlace) round.releases.push(chunk.release);
            else chunk.release();
          }
        }
      } catch (error) {
        for (const release of round.releases) release();
        throw error;
      }
      if (end <= next) continue;
      round.bytes += bytes;
      round.advances.set(key, { position: { topicId: forwarded.topicId, nextOffset: end }, records, bytes });
    }
    if (round.advances.size > 0) return round;
    for (const release of round.releases) release();
    return null;
  }

  /**
   * The batches to forward from `from`, one slab-sized read at a time (the file log reads a larger piece into fresh
   * memory): up to `budget` bytes, below the last stable offset, without control batches and batches of aborted
   * transactions (`end`, the position after the chunk, passes those too). Each chunk's views stay valid until its
   * release(), which the caller must call.
   */
  private *readCommitted(log: PartitionLog, from: number, budget: number, stable: number): Generator<{ data: Uint8Array[]; end: number; owned: boolean; release: () => void }> {
    const producerState = this.broker.producerStates.of(log);
    let end = from;
    let bytes = 0;
    while (bytes < budget && end < stable) {
      const read = log.read(end, Math.min(limits.logSlabBytes, budget - bytes), true);
      const release = () => read.release?.();
      if (read.batches.length === 0) {
        release();
        return;
      }
      const data: Uint8Array[] = [];
      let reachedStable = false;
      for (const batch of read.batches) {
        const header = readBatchHeader(batch);
        if (header.baseOffset >= stable) {
          reachedStable = true;
          break;
        }
        end = header.baseOffset + header.lastOffsetDelta + 1;
        bytes += batch.length;
        if (header.control) continue;
        if (header.transactional && producerState.isAborted(header.producerId, header.baseOffset)) continue;
        data.push(batch);
      }
      yield { data, end, owned: read.owned === true, release };
      if (reachedStable) return;
    }
  }

  private async sendRound(cluster: CentralCluster, round: Round): Promise<void> {
    const transactional = this.mode === "exactly-once";
    if (transactional) {
      const positions = buildPositionsBatch(this.edgeId, this.config.name, [...round.advances].map(([key, advance]) => [key, advance.position]), Date.now());
      if (positions) round.entries.push({ remoteTopic: this.config.positionsTopic, remotePartition: 0, batch: positions, records: round.advances.size });
      await this.addPartitionsToTransaction(cluster, round.entries);
    } else {
      // The window whose delivery becomes unknown if this round's answers are lost: durable before anything is sent.
      for (const [key, advance] of round.advances) this.inFlightEnd.set(key, advance.position.nextOffset);
      this.checkpoint.write({ positions: this.positions, inFlightEnd: this.inFlightEnd }, true);
    }
    await this.produce(cluster, round.entries, transactional);
    if (transactional) await this.endTransaction(cluster);

    const nowMs = Date.now();
    for (const [key, advance] of round.advances) {
      const current = this.positions.get(key);
      // A drop-oldest may have moved the position past the round meanwhile.
      if (!current || current.topicId !== advance.position.topicId || current.nextOffset < advance.position.nextOffset) this.positions.set(key, advance.position);
      this.inFlightEnd.delete(key);
      const counters = this.countersOf(key);
      counters.forwardedRecords += advance.records;
      counters.forwardedBytes += advance.bytes;
      const [topic, partition] = splitPartitionKey(key);
      this.broker.metrics.uplinkForwardedRecords.inc({ link: this.config.name, topic, partition }, advance.records);
      this.broker.metrics.uplinkForwardedBytes.inc({ link: this.config.name, topic, partition }, advance.bytes);
    }
    // At least once: the truth, durable each round. Exactly once: a copy for the retention floor before the next
    // connection, which may lag (it only holds more back), so at most once a second.
    if (!transactional || nowMs - this.checkpointWrittenMs >= 1_000) {
      this.checkpoint.write({ positions: this.positions, inFlightEnd: this.inFlightEnd }, !transactional);
      this.checkpointWrittenMs = nowMs;
    }
    this.throughput.bytes += round.bytes;
    const elapsedMs = nowMs - this.throughput.windowStartMs;
    if (elapsedMs >= 1_000) {
      this.throughput.rate = Math.round((this.throughput.bytes * 1_000) / elapsedMs);
      this.throughput.bytes = 0;
      this.throughput.windowStartMs = nowMs;
    }
  }

  private async addPartitionsToTransaction(cluster: CentralCluster, entries: RoundEntry[]): Promise<void> {
    const byTopic = new Map<string, Set<number>>();
    for (const entry of entries) {
      let set = byTopic.get(entry.remoteTopic);
      if (!set) byTopic.set(entry.remoteTopic, (set = new Set()));
      set.add(entry.remotePartition);
    }
    const coordinator = await cluster.transactionCoordinator(this.transactionalId);
    const version = coordinator.version(24, 3);
    for (let attempt = 0; ; attempt++) {
      const answer = await coordinator.call(24, version, {
        transactions: [],
        v3AndBelowTransactionalId: this.transactionalId,
        v3AndBelowProducerId: BigInt(this.producer.id),
        v3AndBelowProducerEpoch: this.producer.epoch,
        v3AndBelowTopics: [...byTopic].map(([name, partitions]) => ({ name, partitions: [...partitions] })),
      });
      let retry = false;
      for (const topic of answer.resultsByTopicV3AndBelow) {
        for (const partition of topic.resultsByPartition) {
          const code = partition.partitionErrorCode;
          if (code === ErrorCode.NONE) continue;
          // The previous transaction's markers are still being written: Kafka's producer retries shortly.
          if (code === ErrorCode.CONCURRENT_TRANSACTIONS || code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) retry = true;
          else if (code !== ErrorCode.OPERATION_NOT_ATTEMPTED) {
            throw new UplinkError(`AddPartitionsToTxn ${topic.name}-${partition.partitionIndex}: ${errorName(code)}`, errorKind(code));
          }
        }
      }
      if (!retry) return;
      if (attempt >= 200) throw new UplinkError("AddPartitionsToTxn: the previous transaction did not complete");
      await Bun.sleep(Math.min(5 * (attempt + 1), 100));
    }
  }

  private async endTransaction(cluster: CentralCluster): Promise<void> {
    const coordinator = await cluster.transactionCoordinator(this.transactionalId);
    const version = coordinator.version(26, 4);
    for (let attempt = 0; ; attempt++) {
      const answer = await coordinator.call(26, version, { transactionalId: this.transactionalId, producerId: BigInt(this.producer.id), producerEpoch: this.producer.epoch, committed: true });
      if (answer.errorCode === ErrorCode.NONE) return;
      // NOT_COORDINATOR ends the session: the coordinator found for it moved, and the next session finds it again.
      if ((answer.errorCode === ErrorCode.CONCURRENT_TRANSACTIONS || answer.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) && attempt < 100) {
        await Bun.sleep(Math.min(5 * (attempt + 1), 100));
        continue;
      }
      throw new UplinkError(`EndTxn(commit): ${errorName(answer.errorCode)}`, errorKind(answer.errorCode));
    }
  }

  /**
   * Sends the entries with Produce, one batch per partition per request (Kafka's rule for v3+), pipelined up to
   * limits.uplinkProduceInFlightMax requests per broker; every answer must be a success.
   */
  private async produce(cluster: CentralCluster, entries: RoundEntry[], transactional: boolean): Promise<void> {
    // Stamp producer fields in order: sequences run per remote partition.
    for (const entry of entries) {
      const sequenceKey = `${entry.remoteTopic}\u0000${entry.remotePartition}`;
      const sequence = this.sequences.get(sequenceKey) ?? 0;
      stampProducer(entry.batch, this.producer.id, this.producer.epoch, sequence, transactional);
      this.sequences.set(sequenceKey, (sequence + entry.records) % 2 ** 31);
    }
    // Requests by leader: the k-th request to a leader holds the k-th pending batch of each of its partitions.
    const byLeader = new Map<KafkaConnection, RoundEntry[][]>();
    const queues = new Map<string, RoundEntry[]>();
    for (const entry of entries) {
      const key = `${entry.remoteTopic}\u0000${entry.remotePartition}`;
      let queue = queues.get(key);
      if (!queue) queues.set(key, (queue = []));
      queue.push(entry);
    }
    for (const queue of queues.values()) {
      const connection = await cluster.leader(queue[0]!.remoteTopic, queue[0]!.remotePartition);
      let requests = byLeader.get(connection);
      if (!requests) byLeader.set(connection, (requests = []));
      queue.forEach((entry, index) => (requests![index] ??= []).push(entry));
    }
    await Promise.all([...byLeader].map(([connection, requests]) => this.produceTo(connection, requests, transactional)));
  }

  private async produceTo(connection: KafkaConnection, requests: RoundEntry[][], transactional: boolean): Promise<void> {
    const version = connection.version(0, 9);
    if (version < 3) throw new UplinkError(`the central broker serves Produce only up to v${version}; record batches need v3+`, "config");
    const inFlight = new Set<Promise<void>>();
    let failure: Error | null = null;
    for (const request of requests) {
      if (failure) break;
      const bytes = request.reduce((sum, entry) => sum + entry.batch.length, 0);
      await this.takeBandwidth(bytes);
      const byTopic = new Map<string, { index: number; records: Uint8Array }[]>();
      for (const entry of request) {
        let list = byTopic.get(entry.remoteTopic);
        if (!list) byTopic.set(entry.remoteTopic, (list = []));
        list.push({ index: entry.remotePartition, records: entry.batch });
      }
      const call = connection
        .call(0, version, {
          transactionalId: transactional ? this.transactionalId : null,
          acks: -1,
          timeoutMs: this.config.requestTimeoutMs,
          topicData: [...byTopic].map(([name, partitionData]) => ({ name, topicId: new Uint8Array(16), partitionData })),
        })
        .then((answer) => {
          for (const topic of answer.responses) {
            for (const partition of topic.partitionResponses) {
              if (partition.errorCode !== ErrorCode.NONE) throw produceError(topic.name, partition.index, partition.errorCode, partition.errorMessage, request);
            }
          }
        })
        .catch((error) => {
          failure ??= error;
        });
      inFlight.add(call);
      call.finally(() => inFlight.delete(call));
      if (inFlight.size >= limits.uplinkProduceInFlightMax) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    if (failure) throw failure;
  }

  // --- helpers ------------------------------------------------------------------------------------------------

  private floorOf(topic: string, partition: number, topicId: string, log: PartitionLog): number {
    const position = this.positions.get(partitionKey(topic, partition));
    return position && position.topicId === topicId ? position.nextOffset : log.logStartOffset;
  }

  private countersOf(key: PartitionKey): PartitionCounters {
    let counters = this.counters.get(key);
    if (!counters) this.counters.set(key, (counters = { forwardedRecords: 0, forwardedBytes: 0, dropped: {}, oldest: null }));
    return counters;
  }

  private countDrop(key: PartitionKey, reason: string, records: number): void {
    if (records <= 0) return;
    const counters = this.countersOf(key);
    counters.dropped[reason] = (counters.dropped[reason] ?? 0) + records;
    const [topic, partition] = splitPartitionKey(key);
    this.broker.metrics.uplinkDroppedRecords.inc({ link: this.config.name, topic, partition, reason }, records);
    // drop-oldest drops on every Produce of a full topic: one line per partition every DROP_LOG_INTERVAL_MS at most.
    const nowMs = Date.now();
    if (nowMs - (counters.droppedLoggedAtMs ?? 0) < DROP_LOG_INTERVAL_MS) return;
    counters.droppedLoggedAtMs = nowMs;
    log.warn("uplink: records dropped before they were forwarded", { link: this.config.name, topic, partition, reason, records, droppedSoFar: counters.dropped[reason] });
  }

  /**
   * Age of the oldest unforwarded record: the first timestamp of the batch at the position. Finding it reads that
   * batch (from disk, for an old one), so it is looked up again only when the position moved and a second passed:
   * status and metrics scrapes cost no reads in between.
   */
  private lagSeconds(forwarded: ForwardedPartition, next: number, counters: PartitionCounters): number {
    if (next >= forwarded.log.logEndOffset) return 0;
    const nowMs = Date.now();
    if (counters.oldest === null || (counters.oldest[0] !== next && nowMs - counters.oldest[2] >= 1_000)) {
      const read = forwarded.log.read(next, 1, true);
      const first = read.batches[0];
      counters.oldest = [next, first ? readBatchHeader(first).baseTimestamp : nowMs, nowMs];
      read.release?.();
    }
    return Math.max(0, (nowMs - counters.oldest[1]) / 1_000);
  }

  /** True when woken by an append (or stop), false after limits.uplinkIdleWaitMs of quiet. */
  private async waitForAppend(logs: PartitionLog[]): Promise<boolean> {
    return await new Promise<boolean>((resolve) => {
      let cancel = () => {};
      const done = (appended: boolean) => {
        clearTimeout(timer);
        cancel();
        this.wake = null;
        resolve(appended);
      };
      const timer = setTimeout(() => done(false), limits.uplinkIdleWaitMs);
      cancel = this.broker.appendWaiters.wait(logs, () => done(true));
      this.wake = () => done(true);
    });
  }

  /** Token bucket of bandwidth.bytes.per.second (one second of burst). */
  private async takeBandwidth(bytes: number): Promise<void> {
    const rate = this.config.bandwidthBytesPerSecond;
    if (rate <= 0) return;
    for (;;) {
      const nowMs = Date.now();
      this.bandwidthTokens = Math.min(rate, this.bandwidthTokens + ((nowMs - this.bandwidthRefillMs) * rate) / 1_000);
      this.bandwidthRefillMs = nowMs;
      // A request larger than a second's worth goes once the bucket is full, and leaves it in debt.
      if (this.bandwidthTokens >= Math.min(bytes, rate)) {
        this.bandwidthTokens -= bytes;
        return;
      }
      await this.sleep(Math.ceil(((Math.min(bytes, rate) - this.bandwidthTokens) * 1_000) / rate));
      if (this.stopped) throw new UplinkError("stopped");
    }
  }
}

function produceError(topic: string, partition: number, code: number, message: string | null, request: RoundEntry[]): UplinkError {
  const detail = message ? ` (${message})` : "";
  if (code === ErrorCode.MESSAGE_TOO_LARGE || code === ErrorCode.RECORD_LIST_TOO_LARGE) {
    const size = request.find((entry) => entry.remoteTopic === topic && entry.remotePartition === partition)?.batch.length ?? 0;
    return new UplinkError(`Produce ${topic}-${partition}: ${errorName(code)}: a batch of ${size} bytes is over the remote topic's max.message.bytes${detail}; raise it there`, "config");
  }
  if (FENCED_CODES.has(code)) return new UplinkError(`Produce ${topic}-${partition}: ${errorName(code)}: another instance of this link took over${detail}`, "fenced");
  return new UplinkError(`Produce ${topic}-${partition}: ${errorName(code)}${detail}`, errorKind(code));
}

/**
 * A bump allocator over one buffer reused round after round: forwarded batches are written into warm memory instead
 * of fresh allocations (a page fault per 4 KiB on first touch, ~12 µs each on the development VM: 3 s per GB).
 * What does not fit goes to fresh memory.
 */
class RoundArena {
  private buffer: Uint8Array | null = null;
  private used = 0;

  constructor(private readonly capacity: number) {}

  reset(): void {
    this.used = 0;
  }

  readonly allocate = (bytes: number): Uint8Array => {
    // 8-byte aligned: batches are read with DataViews.
    const start = (this.used + 7) & ~7;
    if (start + bytes > this.capacity) return Bun.allocUnsafe(bytes);
    this.buffer ??= Bun.allocUnsafe(this.capacity);
    this.used = start + bytes;
    return this.buffer.subarray(start, start + bytes);
  };
}
