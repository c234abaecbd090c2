// The downlink: topics of the central cluster copied into local topics of the edge (commands and configuration for
// the box). Configured on a link: `pull.topics=A,B` (remote names) and `pull.local.topic=TEMPLATE` (default
// ${topic}); it uses the link's bootstrap servers, security and request timeout, on connections of its own (a
// forwarding session that fails does not stop the pull, nor the other way round).
// Behaviour:
// - Each remote partition is read with Fetch read_committed (isolation 1), long-polling (limits.downlinkFetchMaxWaitMs)
//   on its leader, one request per leader for all its pulled partitions. Control batches and batches of aborted
//   transactions are skipped (readCommittedBatches, shared with the positions read in positions.ts).
// - Remote partition N is appended to local partition N, as batches of our own: producer id -1 (not idempotent
//   locally), one batch per fetched batch (split at limits.uplinkMergeBytesMax), record keys, values, headers and
//   timestamps kept, plus a `kgate-origin` header `central:<link>/<remoteTopic>/<partition>/<remoteOffset>` after the
//   record's own headers. The edge id part is `central:<link>`: the colon never occurs in an edge id (--edge-id
//   allows letters, digits, '.', '_', '-'), so a pulled record cannot be taken for one an edge forwarded, and two
//   links pulling the same topic name from two clusters keep apart. Batches are checked by validateBatchForAppend
//   (the local topic's timestamp type, keys on compacted topics) and max.message.bytes, appended with the log's
//   append, then appendWaiters.notify wakes local consumers. With --flush always the next Fetch waits for log.sync():
//   durability before progress.
// - Exactly once, with no position store of its own: the position (next remote offset) of a remote partition is the
//   last copied record's origin header + 1, read back from the local log on start and at every reconnect. Appending
//   and advancing happen in one synchronous step on the event loop, so position and data cannot diverge, and a crash
//   that loses the log's tail loses the position with it: those records are copied again, once.
//   The log is searched backwards from its end for the last record carrying this source's origin prefix: the last
//   batch when only the pull writes the topic; further back when local producers write it too.
// - Loop guard: a record with any `kgate-origin` header naming this edge (`<edge>/...`: our uplink forwarded it, maybe
//   after pulling it) is not copied back; it is counted as skipped.
// - Progress over skipped-only ranges (loop-guard records, aborted transactions, markers) leaves no record in the
//   local log, so the log alone would re-read them after a restart. A checkpoint file, DATA/uplink/<link>.pull.json,
//   keeps per source a mark: the last copy's local and remote offsets, the next remote offset past the skips after
//   it, and the local log end when taken (no copy of the source lies between the copy and that end). It is only a
//   hint, checked against the log before use: the copy it names must still be there (or deleted from the log's head
//   by retention or DeleteRecords, or removed by compaction, which leaves a gap), and the log must not have lost its
//   tail since (log end below the mark's). A mark that holds spares the search below its log end and gives the
//   position past skipped records; a later copy found above wins. A mark that fails is dropped and the log alone
//   decides (the skipped records are read and skipped again). So the file needs no fsync and no ordering against the
//   log's: written after a second of progress at most (limits.downlinkCheckpointIntervalMs) and on stop; losing it
//   costs re-reading, never a duplicate or a gap. It also keeps the position when retention emptied the local
//   topic. Kept in memory between sessions, where the same check runs at each reconnect (cheaply: nothing to search).
// - Local topics are created when missing with the remote partition count (default configs); internal topics are
//   never pulled nor written. Fewer local than remote partitions: the extra partitions are reported in error.
// - Remote records deleted before they were copied (the position below the remote log start) are counted as missed
//   and the pull goes on from the log start; a position past the remote end (the remote topic re-created) is reported
//   in error and waits: deleting the local topic starts the copy over.
// - Failures end the session as in the link (src/uplink/link.ts): connection lost, timeouts, leadership changes;
//   backoff with full jitter, then a new session re-reads metadata and positions. Errors of one partition (missing
//   remote topic, too few local partitions, a batch the local topic refuses) are kept in its status and retried
//   after limits.downlinkRetryMs without stopping the others. Nothing here throws out of the pull's loop.
// Not done: the local topic's configs are not copied from the remote one; pulled records skip schema validation and
// the full policy of Produce (they come from the central cluster); only static pull.topics (no regex).

import { mkdirSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "../log/file/file-io.ts";
import { join } from "node:path";
import type { Broker } from "../broker.ts";
import type { KafkaConnection } from "../client/kafka-connection.ts";
import { codecForCompressionType, type Codec } from "../compression/index.ts";
import { limits } from "../config.ts";
import { isCompactedTopic } from "../log/log-configs.ts";
import { StorageError, type PartitionLog } from "../log/partition-log.ts";
import { batchTooLargeError } from "../metadata/topic-configs.ts";
import type { Topic } from "../metadata/topic-store.ts";
import { uuidToString } from "../metadata/uuid.ts";
import { ErrorCode, errorName } from "../protocol/error-codes.ts";
import type { PartitionData } from "../protocol/messages/01-fetch.ts";
import {
  TimestampType,
  batchRecordsSection,
  buildRecordBatch,
  decodeRecords,
  hasValidCrc,
  readBatchHeader,
  setLogAppendTime,
  setMaxTimestamp,
  validateBatchForAppend,
  type DecodedRecord,
  type RecordHeader,
  type RecordInput,
} from "../protocol/records/record-batch.ts";
import { log } from "../util/logger.ts";
import { CentralCluster, UplinkError } from "./central-cluster.ts";
import { PROVENANCE_HEADER_KEY } from "./forward-batches.ts";
import { pullLocalTopicName, type LinkConfig } from "./link-config.ts";
import { SessionLoop, type LinkState, type SessionGuard } from "./session-loop.ts";
import { partitionKey, readCommittedBatches, type FetchedBatch, type PartitionKey } from "./positions.ts";

export interface PullPartitionStatus {
  remoteTopic: string;
  partition: number;
  localTopic: string;
  /** The next remote offset to copy; null before the position is known. */
  nextOffset: number | null;
  /** Of the remote partition, as of the last Fetch (-1: not fetched yet). */
  highWatermark: number;
  lastStableOffset: number;
  /** Committed remote records not copied (or skipped) yet: lastStableOffset - nextOffset. */
  lagRecords: number;
  copiedRecords: number;
  /** Records not copied because this edge forwarded them (loop guard). */
  skippedRecords: number;
  /** Records deleted on the central cluster before they were copied. */
  missedRecords: number;
  error: string | null;
}

export interface PullStatus {
  name: string;
  state: LinkState;
  lastError: string | null;
  /** What kind of failure lastError is (connect, timeout, auth, config, remote), null without one. */
  lastErrorKind: UplinkError["kind"] | null;
  since: number;
  copiedRecords: number;
  skippedRecords: number;
  /** Pulled topics that cannot be pulled at all (missing remote topic, local name refused), by remote name. */
  topicErrors: Record<string, string>;
  partitions: PullPartitionStatus[];
}

/** Where the copy of one source stands; persisted as a hint (see the file header). */
export interface PullMark {
  /** The local topic's id (hex): a re-created topic is searched again. */
  localTopicId: string;
  /** Local and remote offset of the last copied record; -1 when none. */
  localOffset: number;
  remoteOffset: number;
  /** The next remote offset: past the last copy and the records skipped after it. */
  next: number;
  /** The local log end when the mark was taken: no copy of this source lies in [localOffset + 1, verifiedEnd). */
  verifiedEnd: number;
}

/** One remote partition and where it goes. */
interface Source {
  key: PartitionKey;
  remoteTopic: string;
  partition: number;
  localTopic: string;
  /** `central:<link>/<remoteTopic>/<partition>/` as bytes: the origin header value of this source's copies, less the offset. */
  originPrefix: Uint8Array;
  mark: PullMark | null;
  /** Recovered from the local log in this session. */
  recovered: boolean;
  leaderId: number;
  highWatermark: number;
  lastStableOffset: number;
  copiedRecords: number;
  skippedRecords: number;
  missedRecords: number;
  error: string | null;
  /** Set where the topic is placed (too few local partitions, no leader): cleared there. Else (a Fetch error, a refused batch) the partition is read again after retryAtMs. */
  placementError: boolean;
  retryAtMs: number;
}

/** Fetch errors that mean the metadata is stale: a new session refreshes it. */
const LEADERSHIP_CODES = new Set<number>([
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
  ErrorCode.REPLICA_NOT_AVAILABLE,
  ErrorCode.KAFKA_STORAGE_ERROR,
]);
/** Offset and timestamp of ListOffsets: the log start (-2) and the high watermark (-1). */
const EARLIEST = -2n;
const LATEST = -1n;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class Downlink extends SessionLoop {
  private readonly sources = new Map<PartitionKey, Source>();
  private readonly topicErrors = new Map<string, string>();
  private readonly checkpoint: PullCheckpointFile;
  /** Marks read from the checkpoint file, by source key, until their source exists. */
  private readonly storedMarks: Map<PartitionKey, PullMark & { localTopic: string }>;
  private checkpointDirty = false;
  private checkpointWrittenMs = 0;
  /** `<edge>/`: the origin prefix of what this edge forwarded (loop guard). */
  private readonly ownOriginPrefix: Uint8Array;

  constructor(
    config: LinkConfig,
    edgeId: string,
    private readonly broker: Broker,
  ) {
    super(config, "downlink", edgeId);
    this.ownOriginPrefix = encoder.encode(`${edgeId}/`);
    this.checkpoint = new PullCheckpointFile(broker.config.dataDir, config.name);
    this.storedMarks = this.checkpoint.read();
    // Positions of the local topics that exist, before any local producer is served (the server is not listening
    // for requests yet while links are built).
    for (const remoteTopic of config.pull.topics) {
      const topic = this.localTopic(remoteTopic);
      if (!topic) continue;
      topic.partitions.forEach((_, partition) => this.recover(this.sourceOf(remoteTopic, partition, topic.name), topic));
    }
  }

  protected override onSessionEnd(): void {
    this.writeCheckpoint();
  }

  protected override onStopped(): void {
    this.writeCheckpoint();
  }

  status(): PullStatus {
    const partitions: PullPartitionStatus[] = [];
    let copiedRecords = 0;
    let skippedRecords = 0;
    for (const source of [...this.sources.values()].sort((a, b) => a.remoteTopic.localeCompare(b.remoteTopic) || a.partition - b.partition)) {
      copiedRecords += source.copiedRecords;
      skippedRecords += source.skippedRecords;
      const next = source.mark?.next ?? null;
      partitions.push({
        remoteTopic: source.remoteTopic,
        partition: source.partition,
        localTopic: source.localTopic,
        nextOffset: next,
        highWatermark: source.highWatermark,
        lastStableOffset: source.lastStableOffset,
        lagRecords: next === null || source.lastStableOffset < 0 ? 0 : Math.max(0, source.lastStableOffset - next),
        copiedRecords: source.copiedRecords,
        skippedRecords: source.skippedRecords,
        missedRecords: source.missedRecords,
        error: source.error,
      });
    }
    return {
      name: this.config.name,
      state: this.state,
      lastError: this.lastError,
      lastErrorKind: this.lastError === null ? null : this.lastErrorKind,
      since: this.stateSince,
      copiedRecords,
      skippedRecords,
      topicErrors: Object.fromEntries(this.topicErrors),
      partitions,
    };
  }

  // --- the session loop ---------------------------------------------------------------------------------------

  protected override async session(cluster: CentralCluster, guard: SessionGuard): Promise<void> {
    // Every position is read back from the local log at each session (see the file header).
    for (const source of this.sources.values()) source.recovered = false;
    await guard(this.refresh(cluster));
    this.setState("connected", null);
    while (!this.stopped) {
      const anyError = this.topicErrors.size > 0 || [...this.sources.values()].some((source) => source.error !== null);
      const untilMs = Date.now() + (anyError ? limits.downlinkRetryMs : limits.downlinkMetadataRefreshMs);
      const byLeader = new Map<number, Source[]>();
      for (const source of this.sources.values()) {
        if (!isReady(source)) continue;
        let list = byLeader.get(source.leaderId);
        if (!list) byLeader.set(source.leaderId, (list = []));
        list.push(source);
      }
      if (byLeader.size === 0) await this.sleep(untilMs - Date.now());
      else await guard(Promise.all([...byLeader].map(([leaderId, sources]) => this.pullFrom(cluster, leaderId, sources, untilMs))));
      if (!this.stopped) await guard(this.refresh(cluster));
    }
  }

  /** Metadata of the pulled topics; local topics created; sources added, placed and recovered. */
  private async refresh(cluster: CentralCluster): Promise<void> {
    await cluster.refreshMetadata(this.config.pull.topics);
    for (const remoteTopic of this.config.pull.topics) {
      const topicError = this.placeTopic(cluster, remoteTopic);
      const previous = this.topicErrors.get(remoteTopic);
      if (topicError === previous) continue;
      if (topicError === undefined) {
        this.topicErrors.delete(remoteTopic);
        log.info("downlink topic pulled again", { link: this.config.name, topic: remoteTopic });
      } else {
        this.topicErrors.set(remoteTopic, topicError);
        log.warn("downlink topic not pulled", { link: this.config.name, topic: remoteTopic, error: topicError });
      }
    }
  }

  /** Sets up the sources of one remote topic; returns why it cannot be pulled, if so. */
  private placeTopic(cluster: CentralCluster, remoteTopic: string): string | undefined {
    const remote = cluster.remoteTopic(remoteTopic);
    if (!remote || remote.errorCode !== ErrorCode.NONE) {
      const code = remote?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      return code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION ? `remote topic ${remoteTopic} does not exist on the central cluster` : `remote topic ${remoteTopic}: ${errorName(code)}`;
    }
    const localName = pullLocalTopicName(this.config, this.edgeId, remoteTopic);
    if (isInternalName(localName)) return `local topic ${localName} is internal: internal topics are never written by a pull`;
    let topic = this.broker.topics.get(localName);
    if (!topic) {
      const created = this.broker.topics.create(localName, remote.partitions);
      if (!created.topic) return `cannot create the local topic ${localName}: ${created.errorMessage ?? errorName(created.errorCode)}`;
      topic = created.topic;
      log.info("downlink created the local topic", { link: this.config.name, topic: localName, partitions: remote.partitions, from: remoteTopic });
    }
    if (topic.isInternal) return `local topic ${localName} is internal: internal topics are never written by a pull`;
    // Local partitions the remote topic does not have (recovered at start) have nothing to pull.
    for (const source of this.sources.values()) {
      if (source.remoteTopic === remoteTopic && source.partition >= remote.partitions) this.sources.delete(source.key);
    }
    for (let partition = 0; partition < remote.partitions; partition++) {
      const source = this.sourceOf(remoteTopic, partition, localName);
      source.leaderId = remote.leaders[partition] ?? -1;
      if (partition >= topic.partitions.length) {
        this.setSourceError(source, `the local topic ${localName} has ${topic.partitions.length} partitions, the remote topic ${remote.partitions}: add partitions locally`, true);
      } else if (source.leaderId < 0) {
        this.setSourceError(source, `no leader for ${remoteTopic}-${partition} on the central cluster`, true);
      } else {
        if (!source.recovered || source.mark?.localTopicId !== uuidToString(topic.topicId)) this.recover(source, topic);
        if (source.placementError) this.setSourceError(source, null);
      }
    }
    return undefined;
  }

  /** Fetch after Fetch from one leader until `untilMs`, then back to the session for a metadata refresh. */
  private async pullFrom(cluster: CentralCluster, leaderId: number, sources: Source[], untilMs: number): Promise<void> {
    const connection = await cluster.node(leaderId);
    const version = connection.version(1, 12);
    if (version < 4) throw new UplinkError(`the central broker serves Fetch only up to v${version}; read_committed needs v4+`, "config");
    while (!this.stopped && Date.now() < untilMs) {
      const ready = sources.filter(isReady);
      if (ready.length === 0) return;
      await this.fetchOnce(connection, version, ready);
    }
  }

  private async fetchOnce(connection: KafkaConnection, version: number, sources: Source[]): Promise<void> {
    const byTopic = new Map<string, Source[]>();
    for (const source of sources) {
      let list = byTopic.get(source.remoteTopic);
      if (!list) byTopic.set(source.remoteTopic, (list = []));
      list.push(source);
    }
    const answer = await connection.call(1, version, {
      clusterId: null,
      replicaId: -1,
      replicaState: { replicaId: -1, replicaEpoch: -1n },
      // Well inside the request timeout, which would otherwise take a quiet topic for a dead broker.
      maxWaitMs: Math.min(limits.downlinkFetchMaxWaitMs, Math.floor(this.config.requestTimeoutMs / 2)),
      minBytes: 1,
      maxBytes: limits.downlinkFetchBytesMax,
      isolationLevel: 1,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [...byTopic].map(([topic, list]) => ({
        topic,
        topicId: new Uint8Array(16),
        partitions: list.map((source) => ({
          partition: source.partition,
          currentLeaderEpoch: -1,
          fetchOffset: BigInt(source.mark!.next),
          lastFetchedEpoch: -1,
          logStartOffset: -1n,
          partitionMaxBytes: limits.downlinkPartitionFetchBytesMax,
        })),
      })),
      forgottenTopicsData: [],
      rackId: "",
    });
    if (answer.errorCode !== ErrorCode.NONE) throw new UplinkError(`Fetch: ${errorName(answer.errorCode)}`);
    if (this.stopped) return;
    const appended = new Set<PartitionLog>();
    const outOfRange: Source[] = [];
    for (const topic of answer.responses) {
      for (const data of topic.partitions as PartitionData[]) {
        const source = this.sources.get(partitionKey(topic.topic, data.partitionIndex));
        if (!source || source.mark === null) continue;
        if (data.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
          outOfRange.push(source);
          continue;
        }
        if (LEADERSHIP_CODES.has(data.errorCode)) throw new UplinkError(`Fetch ${source.remoteTopic}-${source.partition}: ${errorName(data.errorCode)}`);
        if (data.errorCode !== ErrorCode.NONE) {
          this.setSourceError(source, `Fetch: ${errorName(data.errorCode)}`);
          continue;
        }
        source.highWatermark = Number(data.highWatermark);
        source.lastStableOffset = Number(data.lastStableOffset) >= 0 ? Number(data.lastStableOffset) : source.highWatermark;
        const written = this.copy(source, data);
        if (written) appended.add(written);
        // Read without error: an earlier Fetch error or refused batch is over.
        if (source.error !== null && !source.placementError && Date.now() >= source.retryAtMs) this.setSourceError(source, null);
      }
    }
    // --flush always: what was copied is on disk before the pull moves on (the position is the log's own).
    if (this.broker.config.flush.mode === "always") {
      try {
        await Promise.all([...appended].map((partitionLog) => partitionLog.sync?.() ?? undefined));
      } catch (error) {
        throw new UplinkError(`local storage: ${(error as Error).message}`, "remote");
      }
    }
    for (const source of outOfRange) await this.outOfRange(connection, source);
    const nowMs = Date.now();
    if (this.checkpointDirty && nowMs - this.checkpointWrittenMs >= limits.downlinkCheckpointIntervalMs) this.writeCheckpoint();
  }

  // --- copying ------------------------------------------------------------------------------------------------

  /** Copies what one Fetch answer holds for a source; returns the log appended to, if any. Synchronous. */
  private copy(source: Source, data: PartitionData): PartitionLog | null {
    const topic = this.broker.topics.get(source.localTopic);
    const partitionLog = topic?.partitions[source.partition];
    if (!topic || !partitionLog) {
      this.setSourceError(source, `the local topic ${source.localTopic} is gone (it is created again at the next metadata refresh)`);
      return null;
    }
    const mark = source.mark!;
    if (mark.localTopicId !== uuidToString(topic.topicId)) {
      // Deleted and created again under the same name: where the copy stands is read from the new log.
      this.recover(source, topic);
      return null;
    }
    const batches = readCommittedBatches(data.records, data.abortedTransactions, mark.next);
    let wrote = false;
    for (const fetched of batches) {
      if (!hasValidCrc(fetched.batch)) throw new UplinkError(`Fetch ${source.remoteTopic}-${source.partition}: a batch at offset ${fetched.header.baseOffset} fails its CRC`);
      if (fetched.readable) {
        const result = this.copyBatch(source, fetched, topic, partitionLog);
        if (result === "error") break;
        if (result === "appended") wrote = true;
      }
      mark.next = Math.max(mark.next, fetched.nextOffset);
      mark.verifiedEnd = partitionLog.logEndOffset;
      this.checkpointDirty = true;
    }
    return wrote ? partitionLog : null;
  }

  /** Copies the records of one readable fetched batch at or past the position, less the loop guard's. */
  private copyBatch(source: Source, fetched: FetchedBatch, topic: Topic, partitionLog: PartitionLog): "appended" | "skipped" | "error" {
    const { batch, header } = fetched;
    const mark = source.mark!;
    const section = batchRecordsSection(batch);
    if (!section.ok) {
      this.setSourceError(source, `the batch at remote offset ${header.baseOffset} does not decompress: ${section.message}`);
      return "error";
    }
    let decoded: DecodedRecord[];
    try {
      decoded = decodeRecords(batch, section.data);
    } catch (error) {
      this.setSourceError(source, `the batch at remote offset ${header.baseOffset} holds malformed records: ${(error as Error).message}`);
      return "error";
    }
    const copies: { record: DecodedRecord; offset: number }[] = [];
    let skipped = 0;
    for (const record of decoded) {
      const offset = header.baseOffset + record.offsetDelta;
      if (offset < mark.next) continue;
      if (this.forwardedByThisEdge(record.headers)) skipped++;
      else copies.push({ record, offset });
    }
    if (copies.length === 0) {
      source.skippedRecords += skipped;
      return "skipped";
    }
    const configs = topic.effectiveConfigs;
    const codec: Codec = codecForCompressionType(configs.get("compression.type")) ?? (header.compression as Codec);
    const logAppendTime = configs.get("message.timestamp.type") === "LogAppendTime";
    const prefix = decoder.decode(source.originPrefix);
    for (const chunk of chunkByBytes(copies, limits.uplinkMergeBytesMax)) {
      const records: RecordInput[] = chunk.map(({ record, offset }) => ({
        key: record.key,
        value: record.value,
        headers: [...record.headers, { key: PROVENANCE_HEADER_KEY, value: encoder.encode(`${prefix}${offset}`) }],
        timestamp: record.timestamp,
      }));
      const local = buildRecordBatch({ records, compression: codec });
      const appended = this.appendLocal(partitionLog, local, configs, logAppendTime);
      if (typeof appended === "string") {
        this.setSourceError(source, `local topic ${source.localTopic} refused the records from remote offset ${chunk[0]!.offset}: ${appended}`);
        return "error";
      }
      // The position moves with the append, in the same synchronous step.
      const lastOffset = chunk.at(-1)!.offset;
      mark.localOffset = appended.lastOffset;
      mark.remoteOffset = lastOffset;
      mark.next = lastOffset + 1;
      mark.verifiedEnd = partitionLog.logEndOffset;
      source.copiedRecords += chunk.length;
      this.broker.metrics.uplinkPulledRecords.inc({ link: this.config.name, topic: source.remoteTopic, partition: source.partition }, chunk.length);
    }
    // Counted once the batch is done: a batch refused half-way is read (and its skips counted) again.
    source.skippedRecords += skipped;
    return "appended";
  }

  /** Validates and appends one local batch, as Produce does for a producer without id; an error text when refused. */
  private appendLocal(partitionLog: PartitionLog, batch: Uint8Array, configs: ReadonlyMap<string, string>, logAppendTime: boolean): { lastOffset: number } | string {
    const tooLarge = batchTooLargeError(configs, batch.length);
    if (tooLarge !== null) return tooLarge;
    const result = validateBatchForAppend(batch, {
      timestampType: logAppendTime ? TimestampType.logAppendTime : TimestampType.createTime,
      keyRequired: isCompactedTopic(configs),
    });
    if (!result.ok) return `${errorName(result.errorCode)}: ${result.message}`;
    const info = result.info;
    if (logAppendTime) {
      const nowMs = Date.now();
      setLogAppendTime(batch, nowMs);
      info.maxTimestamp = nowMs;
      info.maxTimestampOffsetDelta = 0;
    } else {
      setMaxTimestamp(batch, TimestampType.createTime, info.maxTimestamp);
    }
    let baseOffset: number;
    try {
      baseOffset = partitionLog.append(batch, info).baseOffset;
    } catch (error) {
      if (error instanceof StorageError) throw new UplinkError(`local storage: ${error.message}`, "remote");
      throw error;
    }
    this.broker.appendWaiters.notify(partitionLog);
    return { lastOffset: baseOffset + info.lastOffsetDelta };
  }

  /** Any kgate-origin header naming this edge: our own uplink forwarded the record (loop guard). */
  private forwardedByThisEdge(headers: RecordHeader[]): boolean {
    for (const header of headers) {
      if (header.key === PROVENANCE_HEADER_KEY && header.value !== null && startsWith(header.value, this.ownOriginPrefix)) return true;
    }
    return false;
  }

  /** The position is outside the remote log: below its start (deleted there first), or past its end (re-created). */
  private async outOfRange(connection: KafkaConnection, source: Source): Promise<void> {
    const mark = source.mark!;
    const earliest = await listOffset(connection, source, EARLIEST);
    if (mark.next < earliest) {
      const missed = earliest - mark.next;
      if (mark.localOffset >= 0 || mark.next > 0) {
        source.missedRecords += missed;
        log.warn("downlink: remote records were deleted before they were copied", { link: this.config.name, topic: source.remoteTopic, partition: source.partition, from: mark.next, to: earliest, records: missed });
      }
      mark.next = earliest;
      this.checkpointDirty = true;
      return;
    }
    const latest = await listOffset(connection, source, LATEST);
    if (mark.next > latest) {
      this.setSourceError(
        source,
        `the remote partition ends at offset ${latest}, below the next offset to copy (${mark.next}): the remote topic was re-created or truncated; delete the local topic ${source.localTopic} to copy it again from the start`,
      );
    }
  }

  // --- positions ----------------------------------------------------------------------------------------------

  private sourceOf(remoteTopic: string, partition: number, localTopic: string): Source {
    const key = partitionKey(remoteTopic, partition);
    let source = this.sources.get(key);
    if (source && source.localTopic === localTopic) return source;
    source = {
      key,
      remoteTopic,
      partition,
      localTopic,
      originPrefix: encoder.encode(`central:${this.config.name}/${remoteTopic}/${partition}/`),
      mark: null,
      recovered: false,
      leaderId: -1,
      highWatermark: -1,
      lastStableOffset: -1,
      copiedRecords: source?.copiedRecords ?? 0,
      skippedRecords: source?.skippedRecords ?? 0,
      missedRecords: source?.missedRecords ?? 0,
      error: null,
      placementError: false,
      retryAtMs: 0,
    };
    this.sources.set(key, source);
    return source;
  }

  /** Reads the source's position back from its local log (its mark in memory, else the checkpoint's, as a hint). */
  private recover(source: Source, topic: Topic): void {
    const partitionLog = topic.partitions[source.partition];
    if (!partitionLog) return;
    const stored = this.storedMarks.get(source.key);
    const hint = source.mark ?? (stored && stored.localTopic === source.localTopic ? stored : null);
    const before = source.mark?.next ?? null;
    source.mark = recoverPullMark(partitionLog, uuidToString(topic.topicId), source.originPrefix, hint);
    source.recovered = true;
    this.storedMarks.delete(source.key);
    if (before !== source.mark.next) {
      log.info("downlink position", { link: this.config.name, topic: source.remoteTopic, partition: source.partition, localTopic: source.localTopic, next: source.mark.next });
    }
  }

  private writeCheckpoint(): void {
    if (!this.checkpointDirty) return;
    const marks = new Map<PartitionKey, PullMark & { localTopic: string }>(this.storedMarks);
    for (const source of this.sources.values()) if (source.mark) marks.set(source.key, { ...source.mark, localTopic: source.localTopic });
    try {
      this.checkpoint.write(marks);
      this.checkpointDirty = false;
      this.checkpointWrittenMs = Date.now();
    } catch (error) {
      // Only a hint: the pull goes on, and re-reads skipped records after a restart.
      log.warn("downlink: cannot write the checkpoint file", { link: this.config.name, error: (error as Error).message });
      this.checkpointWrittenMs = Date.now();
    }
  }

  // --- helpers ------------------------------------------------------------------------------------------------

  private localTopic(remoteTopic: string): Topic | undefined {
    const name = pullLocalTopicName(this.config, this.edgeId, remoteTopic);
    const topic = this.broker.topics.get(name);
    return topic && !topic.isInternal && !isInternalName(name) ? topic : undefined;
  }

  /** Sets or clears a partition's error; one log line per change. `placement`: see Source.placementError. */
  private setSourceError(source: Source, error: string | null, placement = false): void {
    if (error !== null) source.retryAtMs = Date.now() + limits.downlinkRetryMs;
    source.placementError = error !== null && placement;
    if (source.error === error) return;
    source.error = error;
    const fields = { link: this.config.name, topic: source.remoteTopic, partition: source.partition, localTopic: source.localTopic };
    if (error === null) log.info("downlink partition pulled again", fields);
    else log.warn("downlink partition not pulled", { ...fields, error });
  }

}

// --- the position in the local log ----------------------------------------------------------------------------

/**
 * Where the copy of one source stands in a local log: the last record carrying its origin prefix (searched backwards
 * from the log end), with `hint` (a mark from memory or the checkpoint file) used when it holds: then only the part
 * of the log above the hint's log end is searched, and the hint's next offset (past skipped records) is kept unless a
 * later copy is found. See the file header.
 */
export function recoverPullMark(partitionLog: PartitionLog, localTopicId: string, originPrefix: Uint8Array, hint: PullMark | null): PullMark {
  const end = partitionLog.logEndOffset;
  const holds = hint !== null && hint.localTopicId === localTopicId && markHolds(partitionLog, originPrefix, hint);
  const floor = holds ? Math.max(partitionLog.logStartOffset, Math.min(hint.verifiedEnd, end)) : partitionLog.logStartOffset;
  const found = findLastCopy(partitionLog, originPrefix, floor, end);
  if (found) return { localTopicId, localOffset: found.localOffset, remoteOffset: found.remoteOffset, next: found.remoteOffset + 1, verifiedEnd: end };
  if (holds) return { ...hint, verifiedEnd: end };
  return { localTopicId, localOffset: -1, remoteOffset: -1, next: 0, verifiedEnd: end };
}

/** Whether a mark still describes the log (see the file header). */
function markHolds(partitionLog: PartitionLog, originPrefix: Uint8Array, hint: PullMark): boolean {
  // The log lost its tail since (a crash before its fsync): copies the mark counts may be gone.
  if (hint.verifiedEnd > partitionLog.logEndOffset) return false;
  // Nothing copied then, or deleted from the head since (retention, DeleteRecords).
  if (hint.localOffset < 0 || hint.localOffset < partitionLog.logStartOffset) return true;
  let verdict = true;
  forEachRecord(partitionLog, hint.localOffset, hint.localOffset + 1, (offset, record) => {
    if (offset === hint.localOffset) verdict = copiedOffset(record.headers, originPrefix) === hint.remoteOffset;
  });
  // Not found: removed by compaction (a gap), still a copy made before the mark.
  return verdict;
}

/** The last record in [floor, end) carrying the origin prefix: its local offset and the remote offset it names. */
function findLastCopy(partitionLog: PartitionLog, originPrefix: Uint8Array, floor: number, end: number): { localOffset: number; remoteOffset: number } | null {
  // Windows growing backwards from the end: the last batch first, the whole log at worst.
  let high = end;
  for (let span = 64; high > floor; span *= 4) {
    const low = Math.max(floor, high - span);
    let found: { localOffset: number; remoteOffset: number } | null = null;
    forEachRecord(partitionLog, low, high, (offset, record) => {
      const remoteOffset = copiedOffset(record.headers, originPrefix);
      if (remoteOffset !== null) found = { localOffset: offset, remoteOffset };
    });
    if (found) return found;
    high = low;
  }
  return null;
}

/** Visits the data records of the log with offsets in [low, high), in order. */
function forEachRecord(partitionLog: PartitionLog, low: number, high: number, visit: (offset: number, record: DecodedRecord) => void): void {
  let offset = Math.max(low, partitionLog.logStartOffset);
  while (offset < high) {
    const read = partitionLog.read(offset, limits.downlinkPartitionFetchBytesMax, true);
    try {
      if (read.batches.length === 0) return;
      for (const batch of read.batches) {
        const header = readBatchHeader(batch);
        const batchEnd = header.baseOffset + header.lastOffsetDelta + 1;
        if (!header.control && header.recordCount > 0 && header.baseOffset < high) {
          const section = batchRecordsSection(batch);
          if (section.ok) {
            for (const record of decodeRecords(batch, section.data)) {
              const recordOffset = header.baseOffset + record.offsetDelta;
              if (recordOffset >= low && recordOffset < high) visit(recordOffset, record);
            }
          }
        }
        offset = Math.max(offset, batchEnd);
        if (offset >= high) return;
      }
    } finally {
      read.release?.();
    }
  }
}

/** The remote offset named by the record's last origin header with this prefix, or null. */
function copiedOffset(headers: RecordHeader[], originPrefix: Uint8Array): number | null {
  for (let i = headers.length - 1; i >= 0; i--) {
    const header = headers[i]!;
    if (header.key !== PROVENANCE_HEADER_KEY || header.value === null || !startsWith(header.value, originPrefix)) continue;
    const offset = Number(decoder.decode(header.value.subarray(originPrefix.length)));
    if (Number.isSafeInteger(offset) && offset >= 0) return offset;
  }
  return null;
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** Read from now: its position known, a leader, and no error (or one whose retry time came). */
function isReady(source: Source): boolean {
  if (source.mark === null || source.leaderId < 0) return false;
  return source.error === null || (!source.placementError && Date.now() >= source.retryAtMs);
}

function isInternalName(name: string): boolean {
  return name.startsWith("__") || name === "_schemas";
}

/** Consecutive runs of records whose keys, values and headers stay under maxBytes (a larger record alone). */
function chunkByBytes<T extends { record: DecodedRecord }>(items: T[], maxBytes: number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const { record } = item;
    let size = 32 + (record.key?.length ?? 0) + (record.value?.length ?? 0);
    for (const header of record.headers) size += header.key.length + (header.value?.length ?? 0) + 4;
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

async function listOffset(connection: KafkaConnection, source: Source, timestamp: bigint): Promise<number> {
  const answer = await connection.call(2, connection.version(2, 7), {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: source.remoteTopic, partitions: [{ partitionIndex: source.partition, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 }] }],
    timeoutMs: 0,
  });
  const partition = answer.topics[0]?.partitions[0];
  if (!partition || partition.errorCode !== ErrorCode.NONE) {
    throw new UplinkError(`ListOffsets(${source.remoteTopic}-${source.partition}, ${timestamp === EARLIEST ? "earliest" : "latest"}): ${errorName(partition?.errorCode ?? -1)}`);
  }
  return Number(partition.offset);
}

/**
 * DATA/uplink/<link>.pull.json: each source's mark, replaced atomically (write then rename), without fsync: it is a
 * hint checked against the log (see the file header). No data folder (--memory): nothing is kept.
 */
class PullCheckpointFile {
  private readonly path: string | null;

  constructor(dataDir: string | null, linkName: string) {
    if (dataDir === null) {
      this.path = null;
      return;
    }
    mkdirSync(join(dataDir, "uplink"), { recursive: true });
    this.path = join(dataDir, "uplink", `${linkName}.pull.json`);
  }

  read(): Map<PartitionKey, PullMark & { localTopic: string }> {
    const marks = new Map<PartitionKey, PullMark & { localTopic: string }>();
    if (this.path === null) return marks;
    let parsed: { partitions?: Record<string, PullMark & { localTopic: string }> };
    try {
      parsed = JSON.parse(readFileSync(this.path, "utf8"));
    } catch {
      return marks;
    }
    for (const [name, mark] of Object.entries(parsed.partitions ?? {})) {
      const slash = name.lastIndexOf("/");
      const valid = ["localOffset", "remoteOffset", "next", "verifiedEnd"].every((field) => Number.isSafeInteger((mark as unknown as Record<string, unknown>)[field]));
      if (slash <= 0 || !valid || typeof mark.localTopic !== "string" || typeof mark.localTopicId !== "string") continue;
      marks.set(partitionKey(name.slice(0, slash), Number(name.slice(slash + 1))), mark);
    }
    return marks;
  }

  write(marks: Map<PartitionKey, PullMark & { localTopic: string }>): void {
    if (this.path === null) return;
    const partitions: Record<string, PullMark & { localTopic: string }> = {};
    for (const [key, mark] of marks) partitions[key.replace("\u0000", "/")] = mark;
    writeFileAtomic(this.path, JSON.stringify({ partitions }), { durable: false });
  }
}
