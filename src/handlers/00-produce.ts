// Produce: v0–11 (v0–2 carry message sets of magic 0/1, converted to one record batch v2 on the way in; v0 is also
// advertised for librdkafka's feature detection, trap 4)
// Behaviour:
// - v3+: Kafka's rule, exactly one record batch v2 per partition (readProduceBatch), validated (length, magic 2,
//   CRC-32C, record count, offset deltas, timestamps) before it is appended. Compressed batches are decompressed for
//   that walk (bounded by limits.decompressedBatchBytesMax: a bomb is INVALID_RECORD) and stored as produced.
// - v0–2: the message set's CRC-32s are checked, wrappers decompressed, and its messages become one batch v2 in the
//   producer's codec (src/protocol/records/message-set.ts), then validated like a v3+ batch.
// - A topic compression.type other than `producer` (gzip, snappy, lz4, zstd, uncompressed) recompresses a batch
//   whose codec differs; otherwise the batch is stored as sent (zero-copy, trap 11). Errors are per partition.
// - The log assigns offsets and rewrites each stored batch's base offset (the CRC does not cover it).
// - Topics with message.timestamp.type=LogAppendTime get the append time written into the batch (CRC redone).
// - Unknown topics are auto-created when allowed; acks must be 0, 1 or -1; acks=0 gets no response (trap 6), and when a
//   partition failed the connection is closed instead, as Kafka does, so that the producer notices.
// - Single node: acks=1 is answered after the append (write), acks=-1 after the log's sync (fsync with --flush
//   always; KAFKA_STORAGE_ERROR when it fails).
// - With an authorizer: WRITE on the transactional id when the request names one (TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
//   and on the topic, else TOPIC_AUTHORIZATION_FAILED for its partitions (before existence);
//   auto-creation also needs CREATE on the cluster or the topic (else UNKNOWN_TOPIC_OR_PARTITION).
// - Idempotent/transactional batches (producer id ≥ 0) go through the partition's producer state
//   (src/transactions/producer-state.ts): a duplicate of one of the producer's last five batches is answered with
//   its original offset and not stored again; epoch and sequence errors as Kafka; a transactional batch needs its
//   partition in the producer's open transaction (INVALID_TXN_STATE otherwise, as Kafka 3.6+ verifies).
// - Admission (Broker.produceAdmission, the uplink's cap on a forwarded topic's unforwarded bytes): asked per partition
//   after authorization and the topic lookup, before validation. A refusal fails the partition with its error code and
//   message (UNFORWARDED_BYTES_FULL_ERROR, retried by every client), nothing is appended, and the response's
//   throttleTimeMs is the largest refusal's (a quota's when larger). The answer is not delayed; the connection is
//   muted for the throttle time after it, as for quotas. Not Kafka: a real broker has no such hook.
// Version notes: v2 adds logAppendTimeMs, v5 logStartOffset, v8 recordErrors/errorMessage, v9 flexible,
// v10 currentLeader/nodeEndpoints tagged fields (left at defaults: this node always leads).

import type { Broker } from "../broker.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import type { ProduceRequest, ProduceResponse } from "../protocol/messages/00-produce.ts";
import type { Encodable } from "../protocol/messages/encodable.ts";
import {
  RECORDS_OFFSET,
  TimestampType,
  buildRecordBatch,
  readProduceBatch,
  recompressBatch,
  setLogAppendTime,
  setMaxTimestamp,
  validateBatchForAppend,
} from "../protocol/records/record-batch.ts";
import { readProduceMessageSet } from "../protocol/records/message-set.ts";
import { codecForCompressionType, type Codec } from "../compression/index.ts";
import { StorageError, type AppendBatchInfo, type PartitionLog } from "../log/partition-log.ts";
import { schemaRecordErrors } from "../registry/record-validation.ts";
import { AclOperation, authorizeTopic, authorizeTransactionalId, autoCreationDenied } from "../security/authorize.ts";
import { isCompactedTopic } from "../log/log-configs.ts";
import { batchTooLargeError } from "../metadata/topic-configs.ts";
import { CLOSE_WITHOUT_RESPONSE, NO_RESPONSE, type ApiHandler } from "./handler.ts";

type PartitionResponse = NonNullable<NonNullable<Encodable<ProduceResponse>["responses"]>[number]["partitionResponses"]>[number];

const LEGACY_MESSAGE_FORMAT_VERSION_MAX = 2;

export const produceHandler: ApiHandler<ProduceRequest, ProduceResponse> = {
  apiKey: 0,
  minVersion: 0,
  maxVersion: 11,
  handle(context, request) {
    const { broker, apiVersion } = context;
    // Logs write or copy what they append (PartitionLog.append) and nothing here keeps a view of the request: its
    // frame's buffer can serve the next large request (fresh memory costs a page fault per 4 KiB).
    context.releasesFrame?.();
    const acksValid = request.acks === 0 || request.acks === 1 || request.acks === -1;
    const transactionalIdAllowed = request.transactionalId === null || authorizeTransactionalId(context, AclOperation.WRITE, request.transactionalId);
    let throttleTimeMs = 0;
    const responses = request.topicData.map((topicData) => {
      const writable = acksValid && transactionalIdAllowed && authorizeTopic(context, AclOperation.WRITE, topicData.name);
      const found = writable ? broker.findOrCreateTopic(topicData.name, !autoCreationDenied(context, topicData.name)) : null;
      const partitionResponses = topicData.partitionData.map((partitionData): PartitionResponse => {
        const index = partitionData.index;
        if (!acksValid) return failed(index, ErrorCode.INVALID_REQUIRED_ACKS);
        if (!transactionalIdAllowed) return failed(index, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
        if (!writable) return failed(index, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
        if (!found || "errorCode" in found) return failed(index, found?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        // Kafka refuses client appends to its internal topics; the coordinators write them directly.
        if (found.topic.isInternal) return failed(index, ErrorCode.INVALID_TOPIC_EXCEPTION, `Cannot append to internal topic ${found.topic.name}`);
        const log = found.topic.partitions[index];
        if (!log) return failed(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        const refusal = broker.produceAdmission?.(found.topic.name, index, log) ?? null;
        if (refusal !== null) {
          throttleTimeMs = Math.max(throttleTimeMs, refusal.throttleTimeMs);
          return failed(index, refusal.errorCode, refusal.message);
        }
        const logAppendTime = found.topic.effectiveConfigs.get("message.timestamp.type") === "LogAppendTime";
        const targetCodec = codecForCompressionType(found.topic.effectiveConfigs.get("compression.type"));
        return appendRecords(broker, log, found.topic.name, index, partitionData.records, apiVersion, logAppendTime, targetCodec, found.topic.effectiveConfigs);
      });
      return { name: topicData.name, topicId: found && !("errorCode" in found) ? found.topic.topicId : undefined, partitionResponses };
    });
    if (request.acks === 0) {
      const failed = responses.some(({ partitionResponses }) => partitionResponses.some((partition) => partition.errorCode !== ErrorCode.NONE));
      return failed ? CLOSE_WITHOUT_RESPONSE : NO_RESPONSE;
    }
    const response = { responses, throttleTimeMs };
    return request.acks === -1 ? afterSync(broker, responses, response) : response;
  },
};

/**
 * acks=-1: the answer waits until the appended records are on stable storage (the file log's group-commit fsync);
 * a partition whose sync fails gets KAFKA_STORAGE_ERROR. Logs needing no sync (memory) keep the answer synchronous.
 */
function afterSync<Response>(
  broker: Broker,
  responses: { name: string; partitionResponses: PartitionResponse[] }[],
  response: Response,
): Response | Promise<Response> {
  const pending: Promise<void>[] = [];
  for (const topicResponse of responses) {
    const topic = broker.topics.get(topicResponse.name);
    for (const partitionResponse of topicResponse.partitionResponses) {
      const index = partitionResponse.index;
      if (partitionResponse.errorCode !== ErrorCode.NONE || !topic || index === undefined) continue;
      const synced = topic.partitions[index]?.sync?.();
      if (!synced) continue;
      pending.push(
        synced.catch((error: unknown) => {
          Object.assign(partitionResponse, failed(index, ErrorCode.KAFKA_STORAGE_ERROR, String(error)));
        }),
      );
    }
  }
  return pending.length === 0 ? response : Promise.all(pending).then(() => response);
}

function failed(index: number, errorCode: number, errorMessage: string | null = null): PartitionResponse {
  return { index, errorCode, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n, errorMessage };
}

/** The partition's one record batch v2, read from a v3+ batch or converted from a v0–2 message set. */
function producedBatch(records: Uint8Array, apiVersion: number): { ok: true; batch: Uint8Array } | { ok: false; errorCode: number; message: string } {
  if (apiVersion > LEGACY_MESSAGE_FORMAT_VERSION_MAX) return readProduceBatch(records, apiVersion);
  const legacy = readProduceMessageSet(records);
  if (!legacy.ok) return legacy;
  return { ok: true, batch: buildRecordBatch({ records: legacy.records, compression: legacy.codec as Codec }) };
}

function appendRecords(
  broker: Broker,
  log: PartitionLog,
  topicName: string,
  index: number,
  records: Uint8Array | null,
  apiVersion: number,
  logAppendTime: boolean,
  targetCodec: Codec | null,
  configs: ReadonlyMap<string, string>,
): PartitionResponse {
  if (records === null || records.length === 0) return failed(index, ErrorCode.CORRUPT_MESSAGE, "no records");
  const tooLarge = batchTooLargeError(configs, records.length);
  if (tooLarge !== null) return failed(index, ErrorCode.MESSAGE_TOO_LARGE, tooLarge);
  const produced = producedBatch(records, apiVersion);
  if (!produced.ok) return failed(index, produced.errorCode, produced.message);
  let batch = produced.batch;
  const result = validateBatchForAppend(batch, {
    timestampType: logAppendTime ? TimestampType.logAppendTime : TimestampType.createTime,
    keepDecompressedRecords: targetCodec !== null,
    keyRequired: isCompactedTopic(configs),
  });
  if (!result.ok) return failed(index, result.errorCode, result.message);
  // Schema validation (topic configs confluent.*.schema.validation): one bad record fails the whole batch.
  const recordErrors = schemaRecordErrors(broker, topicName, configs, batch, result.decompressedRecords);
  if (recordErrors !== null) {
    return { ...failed(index, ErrorCode.INVALID_RECORD, `${recordErrors.length} record(s) failed schema validation: ${recordErrors[0]!.batchIndexErrorMessage}`), recordErrors };
  }
  const info: AppendBatchInfo = result.info;
  if (targetCodec !== null && targetCodec !== result.info.compression) {
    batch = recompressBatch(batch, result.decompressedRecords ?? batch.subarray(RECORDS_OFFSET), targetCodec);
  }

  const appendTime = logAppendTime ? Date.now() : -1;
  if (logAppendTime) {
    setLogAppendTime(batch, appendTime);
    info.maxTimestamp = appendTime;
    info.maxTimestampOffsetDelta = 0;
  } else {
    // Some producers (Sarama 1.22) leave the header's maxTimestamp at -1; Kafka stores the one it computed, and
    // time lookups and retention depend on it. Rewrites (and re-CRCs) only when it differs.
    setMaxTimestamp(batch, TimestampType.createTime, info.maxTimestamp);
  }
  const producerState = result.info.producerId >= 0 ? broker.producerStates.of(log) : null;
  if (producerState) {
    const check = producerState.checkAppend(result.info);
    // A retried batch already stored: answered with its original offset, not stored again.
    if (check.kind === "duplicate") return appended(index, check.firstOffset, -1, log);
    if (check.kind === "error") return failed(index, check.errorCode, check.message);
    if (result.info.transactional) {
      const errorCode = broker.transactions.checkTransactionalProduce(result.info.producerId, result.info.producerEpoch, topicName, index);
      if (errorCode !== ErrorCode.NONE) return failed(index, errorCode, `partition ${topicName}-${index} is not in an open transaction of producer ${result.info.producerId}`);
    }
  }
  let baseOffset: number;
  try {
    baseOffset = log.append(batch, info).baseOffset;
  } catch (error) {
    if (!(error instanceof StorageError)) throw error;
    return failed(index, ErrorCode.KAFKA_STORAGE_ERROR, error.message);
  }
  producerState?.onAppend(result.info, baseOffset, Date.now());
  broker.metrics.producedRecords.inc(undefined, info.lastOffsetDelta + 1);
  broker.metrics.producedBytes.inc(undefined, batch.length);
  broker.appendWaiters.notify(log);
  return appended(index, baseOffset, appendTime, log);
}

function appended(index: number, baseOffset: number, appendTime: number, log: PartitionLog): PartitionResponse {
  return {
    index,
    errorCode: ErrorCode.NONE,
    baseOffset: BigInt(baseOffset),
    logAppendTimeMs: BigInt(appendTime),
    logStartOffset: BigInt(log.logStartOffset),
    errorMessage: null,
  };
}
