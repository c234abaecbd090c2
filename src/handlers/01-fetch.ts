// Fetch: v0–17
// Behaviour:
// - Partitions are answered in request order; each gets whole batches up to its partitionMaxBytes while the
//   response stays under maxBytes, except that the first batch of the first partition with data is always
//   returned whole even when it alone is larger (KIP-74, trap 13).
// - Long poll: with fewer than minBytes available the answer waits up to maxWaitMs (capped by
//   limits.fetchMaxWaitMsMax) and is sent as soon as an append brings enough (trap 17).
// - highWatermark = log end (single node); lastStableOffset = the first offset of the oldest open transaction, else
//   the high watermark (trap 14). read_committed reads stop at the last stable offset and get the aborted
//   transactions overlapping what they read (clients drop those records); read_uncommitted gets null there.
// - Offsets outside [logStartOffset, highWatermark] get OFFSET_OUT_OF_RANGE (trap 15).
// - Fetch sessions (KIP-227): full and incremental, with FETCH_SESSION_ID_NOT_FOUND and
//   INVALID_FETCH_SESSION_EPOCH; incremental answers leave out partitions with nothing new.
// - Stored batches go out as stored (zero-copy), except: before v10 a partition whose batches include zstd gets
//   UNSUPPORTED_COMPRESSION_TYPE, as Kafka (KIP-110); v0–3 get the batches down-converted to message sets, magic 0
//   for v0–1 and magic 1 for v2–3 (trap 28; src/protocol/records/message-set.ts), sized by the stored batches.
// - With an authorizer: READ on the topic, else TOPIC_AUTHORIZATION_FAILED for its partitions, as Kafka.
// - Memory budget (Broker.memory, bufferMemoryMax): a Fetch reads at most what the budget has left (the KIP-74 first
//   batch may go past it), holds those bytes until its response is written, and reads nothing while the budget is
//   exhausted: the partitions answer with their offsets and no records, after the long poll as when nothing is new.
//   Not Kafka, whose responses are bounded by one per connection instead.
// Not emulated: preferred read replicas, diverging epochs (one epoch only), rack awareness.
// Version notes: v7 sessions, v9 currentLeaderEpoch, v11 rackId, v12 flexible, v13 topic ids (UNKNOWN_TOPIC_ID),
// v15 replica state moves to a tagged field, v16 nodeEndpoints, v17 replicaDirectoryId.

import type { Broker } from "../broker.ts";
import { limits } from "../config.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import type { Encodable } from "../protocol/messages/encodable.ts";
import type { FetchRequest, FetchResponse } from "../protocol/messages/01-fetch.ts";
import { uuidToString } from "../metadata/uuid.ts";
import { ATTRIBUTES_OFFSET, COMPRESSION_MASK, Compression, readBaseOffset, readLastOffsetDelta } from "../protocol/records/record-batch.ts";
import { downConvertBatches } from "../protocol/records/message-set.ts";
import { FINAL_EPOCH, INITIAL_EPOCH, sessionPartitionKey, type FetchSession, type SessionPartition } from "./fetch-sessions.ts";
import { AclOperation, authorizeTopic } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";

type TopicResponse = NonNullable<Encodable<FetchResponse>["responses"]>[number];
type PartitionResponse = NonNullable<TopicResponse["partitions"]>[number];

const TOPIC_IDS_VERSION_MIN = 13;
/** KIP-110: zstd batches go only to Fetch v10+. */
const ZSTD_VERSION_MIN = 10;
/** Fetch v0–3 read message sets: magic 0 up to v1, magic 1 for v2–3. */
const MESSAGE_SET_VERSION_MAX = 3;
const MAGIC_V0_VERSION_MAX = 1;
const READ_COMMITTED = 1;
const EMPTY_RECORDS: Uint8Array = new Uint8Array(0);

interface FetchPlan {
  /** Partitions to read, in response order. */
  partitions: SessionPartition[];
  session: FetchSession | null;
  incremental: boolean;
  /** Topics the principal may not READ: their partitions answer TOPIC_AUTHORIZATION_FAILED. */
  denied?: ReadonlySet<string>;
}

export const fetchHandler: ApiHandler<FetchRequest, FetchResponse> = {
  apiKey: 1,
  minVersion: 0,
  maxVersion: 17,
  handle(context, request) {
    const { broker, apiVersion } = context;
    const plan = planFetch(broker, apiVersion, request);
    if (typeof plan === "number") return { throttleTimeMs: 0, errorCode: plan, sessionId: 0, responses: [] };
    // Without an authorizer everything is allowed: no per-request sets on the consume path.
    if (broker.authorizer !== null) {
      const topicNames = new Set(plan.partitions.map((entry) => entry.topicName));
      plan.denied = new Set([...topicNames].filter((name) => name !== "" && !authorizeTopic(context, AclOperation.READ, name)));
    }

    const readCommitted = request.isolationLevel === READ_COMMITTED;
    const maxWaitMs = Math.min(Math.max(request.maxWaitMs, 0), limits.fetchMaxWaitMsMax);
    const first = collect(broker, apiVersion, plan, request.maxBytes, readCommitted);
    if (first.bytes >= request.minBytes || maxWaitMs === 0 || first.failed) {
      context.afterResponse?.(() => releaseReads(first));
      if (first.leased) context.leasesViews?.();
      return respond(plan, first.partitions);
    }
    releaseReads(first);

    return new Promise((resolve) => {
      let cancelWait = () => {};
      const finish = () => {
        cancelWait();
        clearTimeout(timer);
        const collected = collect(broker, apiVersion, plan, request.maxBytes, readCommitted);
        context.afterResponse?.(() => releaseReads(collected));
        if (collected.leased) context.leasesViews?.();
        resolve(respond(plan, collected.partitions));
      };
      const timer = setTimeout(finish, maxWaitMs);
      const logs = plan.partitions.flatMap((entry) => broker.topics.get(entry.topicName)?.partitions[entry.partition] ?? []);
      const waitForAppend = () => {
        cancelWait = broker.appendWaiters.wait(logs, () => {
          if (broker.closing || hasMinBytes(broker, apiVersion, plan, request)) finish();
          else waitForAppend();
        });
      };
      waitForAppend();
    });
  },
};

/** Resolves the session and the partition list, or returns a top-level error code. */
function planFetch(broker: Broker, apiVersion: number, request: FetchRequest): FetchPlan | number {
  const useTopicIds = apiVersion >= TOPIC_IDS_VERSION_MIN;
  const sessions = broker.fetchSessions;
  const { sessionId, sessionEpoch } = request;

  const requested: SessionPartition[] = [];
  for (const topic of request.topics) {
    const topicName = useTopicIds ? (broker.topics.getById(topic.topicId)?.name ?? "") : topic.topic;
    for (const partition of topic.partitions) {
      requested.push({
        topicName,
        topicId: topic.topicId,
        partition: partition.partition,
        fetchOffset: Number(partition.fetchOffset),
        partitionMaxBytes: partition.partitionMaxBytes,
        sentHighWatermark: -1,
        sentLogStartOffset: -1,
      });
    }
  }
  const keyOf = (entry: { topicName: string; topicId: Uint8Array; partition: number }) =>
    sessionPartitionKey(useTopicIds ? uuidToString(entry.topicId) : entry.topicName, entry.partition);

  if (sessionId === 0 && sessionEpoch === FINAL_EPOCH) return { partitions: requested, session: null, incremental: false };
  if (sessionEpoch === FINAL_EPOCH || sessionEpoch === INITIAL_EPOCH) {
    if (sessionId !== 0) sessions.remove(sessionId);
    if (sessionEpoch === FINAL_EPOCH) return { partitions: requested, session: null, incremental: false };
    const session = sessions.create();
    for (const entry of requested) session.partitions.set(keyOf(entry), entry);
    return { partitions: [...session.partitions.values()], session, incremental: false };
  }

  const session = sessions.get(sessionId);
  if (!session) return ErrorCode.FETCH_SESSION_ID_NOT_FOUND;
  if (sessionEpoch !== session.nextEpoch) return ErrorCode.INVALID_FETCH_SESSION_EPOCH;
  session.nextEpoch = sessionEpoch === 2 ** 31 - 1 ? 1 : sessionEpoch + 1;
  for (const forgotten of request.forgottenTopicsData) {
    const topicKey = useTopicIds ? uuidToString(forgotten.topicId) : forgotten.topic;
    for (const partition of forgotten.partitions) session.partitions.delete(sessionPartitionKey(topicKey, partition));
  }
  for (const entry of requested) {
    const key = keyOf(entry);
    const cached = session.partitions.get(key);
    if (cached) {
      cached.fetchOffset = entry.fetchOffset;
      cached.partitionMaxBytes = entry.partitionMaxBytes;
    } else {
      session.partitions.set(key, entry);
    }
  }
  return { partitions: [...session.partitions.values()], session, incremental: true };
}

interface Collected {
  partitions: { entry: SessionPartition; response: PartitionResponse }[];
  bytes: number;
  /** A partition has an error: answer at once rather than long-poll. */
  failed: boolean;
  /** The reads' release functions (file log): called once the response holding their views was written. */
  releases: (() => void)[];
  /** Every view read stays valid until released (file-log reads are leased; the memory log's slabs are not). */
  leased: boolean;
}

function releaseReads(collected: Collected): void {
  for (const release of collected.releases) release();
  collected.releases.length = 0;
}

/** `countOnly`: only `bytes` is wanted (long-poll wake-ups), so v0–3 skip the down-conversion. */
function collect(broker: Broker, apiVersion: number, plan: FetchPlan, maxBytes: number, readCommitted: boolean, countOnly = false): Collected {
  const useTopicIds = apiVersion >= TOPIC_IDS_VERSION_MIN;
  const result: Collected = { partitions: [], bytes: 0, failed: false, releases: [], leased: true };
  const memoryAvailable = broker.memory.availableBytes;
  maxBytes = Math.min(maxBytes, memoryAvailable);
  for (const entry of plan.partitions) {
    if (plan.denied?.has(entry.topicName)) {
      result.partitions.push({ entry, response: emptyPartition(entry.partition, ErrorCode.TOPIC_AUTHORIZATION_FAILED, -1, -1, readCommitted) });
      result.failed = true;
      continue;
    }
    const topic = useTopicIds ? broker.topics.getById(entry.topicId) : broker.topics.get(entry.topicName);
    const log = topic?.partitions[entry.partition];
    if (!log) {
      const errorCode = useTopicIds && !topic ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      result.partitions.push({ entry, response: emptyPartition(entry.partition, errorCode, -1, -1, readCommitted) });
      result.failed = true;
      continue;
    }
    const highWatermark = log.highWatermark;
    const logStartOffset = log.logStartOffset;
    if (entry.fetchOffset < logStartOffset || entry.fetchOffset > highWatermark) {
      const response = emptyPartition(entry.partition, ErrorCode.OFFSET_OUT_OF_RANGE, highWatermark, logStartOffset, readCommitted);
      result.partitions.push({ entry, response });
      result.failed = true;
      continue;
    }
    const producerState = broker.producerStates.of(log);
    const lastStableOffset = producerState.lastStableOffset(highWatermark);
    // read_committed reads stop at the last stable offset: nothing of a still-open transaction goes out.
    const readEnd = readCommitted ? lastStableOffset : highWatermark;
    const budget = Math.min(entry.partitionMaxBytes, maxBytes - result.bytes);
    let records = EMPTY_RECORDS;
    let abortedTransactions: PartitionResponse["abortedTransactions"] = readCommitted ? [] : null;
    if ((budget > 0 || (result.bytes === 0 && memoryAvailable > 0)) && entry.fetchOffset < readEnd) {
      const read = log.read(entry.fetchOffset, Math.max(budget, 0), result.bytes === 0);
      if (read.release) result.releases.push(read.release);
      else if (read.bytes > 0) result.leased = false;
      let batches = read.batches;
      let bytes = read.bytes;
      if (readEnd < highWatermark) {
        batches = batches.filter((batch) => readBaseOffset(batch) < readEnd);
        if (batches.length !== read.batches.length) bytes = batches.reduce((sum, batch) => sum + batch.length, 0);
      }
      if (apiVersion < ZSTD_VERSION_MIN && batches.some(isZstd)) {
        const response = emptyPartition(entry.partition, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, highWatermark, logStartOffset, readCommitted, lastStableOffset);
        result.partitions.push({ entry, response });
        result.failed = true;
        continue;
      }
      if (readCommitted && batches.length > 0) {
        const last = batches[batches.length - 1]!;
        abortedTransactions = producerState.abortedTransactions(entry.fetchOffset, readBaseOffset(last) + readLastOffsetDelta(last) + 1).map(
          ({ producerId, firstOffset }) => ({ producerId: BigInt(producerId), firstOffset: BigInt(firstOffset) }),
        );
      }
      if (!countOnly && batches.length > 0) {
        const last = batches[batches.length - 1]!;
        broker.metrics.fetchedRecords.inc(undefined, readBaseOffset(last) + readLastOffsetDelta(last) + 1 - readBaseOffset(batches[0]!));
        broker.metrics.fetchedBytes.inc(undefined, bytes);
      }
      if (countOnly) records = EMPTY_RECORDS;
      else if (apiVersion <= MESSAGE_SET_VERSION_MAX) {
        records = downConvertBatches(batches, apiVersion <= MAGIC_V0_VERSION_MAX ? 0 : 1, entry.fetchOffset);
      } else records = joinViews(batches, bytes);
      result.bytes += bytes;
    }
    const response = emptyPartition(entry.partition, ErrorCode.NONE, highWatermark, logStartOffset, readCommitted, lastStableOffset);
    response.records = records;
    response.abortedTransactions = abortedTransactions;
    result.partitions.push({ entry, response });
  }
  const held = result.bytes;
  if (held > 0) {
    broker.memory.change(held);
    result.releases.push(() => broker.memory.change(-held));
  }
  return result;
}

function isZstd(batch: Uint8Array): boolean {
  return (batch[ATTRIBUTES_OFFSET + 1]! & COMPRESSION_MASK) === Compression.zstd;
}

/**
 * Whether a woken long poll now has its minBytes. With minBytes ≤ 1 (what most clients send) one new record is enough,
 * and the offsets tell that without reading; larger asks read the batches to count them.
 */
function hasMinBytes(broker: Broker, apiVersion: number, plan: FetchPlan, request: FetchRequest): boolean {
  if (request.minBytes <= 1) {
    const useTopicIds = apiVersion >= TOPIC_IDS_VERSION_MIN;
    return plan.partitions.some((entry) => {
      const topic = useTopicIds ? broker.topics.getById(entry.topicId) : broker.topics.get(entry.topicName);
      const log = topic?.partitions[entry.partition];
      if (log === undefined) return true;
      const readEnd = request.isolationLevel === READ_COMMITTED ? broker.producerStates.lastStableOffset(log) : log.highWatermark;
      return readEnd > entry.fetchOffset;
    });
  }
  const collected = collect(broker, apiVersion, plan, request.maxBytes, request.isolationLevel === READ_COMMITTED, true);
  releaseReads(collected);
  return collected.bytes >= request.minBytes;
}

function emptyPartition(
  partitionIndex: number,
  errorCode: number,
  highWatermark: number,
  logStartOffset: number,
  readCommitted: boolean,
  lastStableOffset = highWatermark,
): PartitionResponse {
  return {
    partitionIndex,
    errorCode,
    highWatermark: BigInt(highWatermark),
    lastStableOffset: BigInt(lastStableOffset),
    logStartOffset: BigInt(logStartOffset),
    abortedTransactions: readCommitted ? [] : null,
    preferredReadReplica: -1,
    records: EMPTY_RECORDS,
  };
}

/** Batches adjacent in memory go out as one view; others are joined by one copy. */
function joinViews(views: Uint8Array[], totalBytes: number): Uint8Array {
  if (views.length === 0) return EMPTY_RECORDS;
  if (views.length === 1) return views[0]!;
  const first = views[0]!;
  let adjacent = true;
  for (let i = 1; i < views.length && adjacent; i++) {
    const previous = views[i - 1]!;
    adjacent = views[i]!.buffer === first.buffer && views[i]!.byteOffset === previous.byteOffset + previous.length;
  }
  if (adjacent) return new Uint8Array(first.buffer, first.byteOffset, totalBytes);
  const joined = new Uint8Array(totalBytes);
  let at = 0;
  for (const view of views) {
    joined.set(view, at);
    at += view.length;
  }
  return joined;
}

function respond(plan: FetchPlan, collected: Collected["partitions"]): Encodable<FetchResponse> {
  const responses: TopicResponse[] = [];
  let current: TopicResponse | null = null;
  let currentKey = "";
  for (const { entry, response } of collected) {
    const highWatermark = Number(response.highWatermark);
    const logStartOffset = Number(response.logStartOffset);
    const changed =
      (response.records as Uint8Array).length > 0 ||
      response.errorCode !== ErrorCode.NONE ||
      highWatermark !== entry.sentHighWatermark ||
      logStartOffset !== entry.sentLogStartOffset;
    entry.sentHighWatermark = highWatermark;
    entry.sentLogStartOffset = logStartOffset;
    if (plan.incremental && !changed) continue;
    const key = entry.topicName + "\u0000" + uuidToString(entry.topicId);
    if (!current || key !== currentKey) {
      current = { topic: entry.topicName, topicId: entry.topicId, partitions: [] };
      currentKey = key;
      responses.push(current);
    }
    current.partitions!.push(response);
  }
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: plan.session?.id ?? 0, responses };
}
