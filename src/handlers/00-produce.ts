// Produce: v0–11 (v3–11 served; v0–2 carry magic 0/1 message sets and are refused per partition until the
// legacy-format conversion lands — advertised from v0 anyway for librdkafka's feature detection, trap 4)
// Behaviour:
// - Each partition's records are split into batches and every batch validated (length, magic 2, CRC32C, record
//   count, offset deltas) before any is appended: a partition is all or nothing. Errors are per partition.
// - The log assigns offsets and rewrites each stored batch's base offset (the CRC does not cover it).
// - Topics with message.timestamp.type=LogAppendTime get the append time written into the batch (CRC redone).
// - Unknown topics are auto-created when allowed; acks must be 0, 1 or -1; acks=0 gets no response (trap 6).
// - Single node: acks=1 and acks=-1 are answered after the append; durability comes with the file log.
// Not emulated yet: idempotent/transactional producer state (InitProducerId is not advertised).
// Version notes: v2 adds logAppendTimeMs, v5 logStartOffset, v8 recordErrors/errorMessage, v9 flexible,
// v10 currentLeader/nodeEndpoints tagged fields (left at defaults: this node always leads).

import type { Broker } from "../broker.ts";
import { limits } from "../config.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import type { ProduceRequest, ProduceResponse } from "../protocol/messages/00-produce.ts";
import type { Encodable } from "../protocol/messages/encodable.ts";
import { splitBatches, validateBatchForAppend, setLogAppendTime } from "../protocol/records/record-batch.ts";
import type { AppendBatchInfo, PartitionLog } from "../log/partition-log.ts";
import { NO_RESPONSE, type ApiHandler } from "./handler.ts";

type PartitionResponse = NonNullable<NonNullable<Encodable<ProduceResponse>["responses"]>[number]["partitionResponses"]>[number];

const LEGACY_MESSAGE_FORMAT_VERSION_MAX = 2;

export const produceHandler: ApiHandler<ProduceRequest, ProduceResponse> = {
  apiKey: 0,
  minVersion: 0,
  maxVersion: 11,
  handle(context, request) {
    const { broker, apiVersion } = context;
    const acksValid = request.acks === 0 || request.acks === 1 || request.acks === -1;
    const responses = request.topicData.map((topicData) => {
      const found = acksValid ? broker.findOrCreateTopic(topicData.name, true) : null;
      const partitionResponses = topicData.partitionData.map((partitionData): PartitionResponse => {
        const index = partitionData.index;
        if (!acksValid) return failed(index, ErrorCode.INVALID_REQUIRED_ACKS);
        if (apiVersion <= LEGACY_MESSAGE_FORMAT_VERSION_MAX) return failed(index, ErrorCode.UNSUPPORTED_VERSION);
        if (!found || "errorCode" in found) return failed(index, found?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        const log = found.topic.partitions[index];
        if (!log) return failed(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        const logAppendTime = found.topic.configs.get("message.timestamp.type") === "LogAppendTime";
        return appendRecords(broker, log, index, partitionData.records, logAppendTime);
      });
      return { name: topicData.name, topicId: found && !("errorCode" in found) ? found.topic.topicId : undefined, partitionResponses };
    });
    if (request.acks === 0) return NO_RESPONSE;
    return { responses, throttleTimeMs: 0 };
  },
};

function failed(index: number, errorCode: number, errorMessage: string | null = null): PartitionResponse {
  return { index, errorCode, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n, errorMessage };
}

function appendRecords(
  broker: Broker,
  log: PartitionLog,
  index: number,
  records: Uint8Array | null,
  logAppendTime: boolean,
): PartitionResponse {
  if (records === null || records.length === 0) return failed(index, ErrorCode.CORRUPT_MESSAGE, "no records");
  const split = splitBatches(records);
  if (!split.ok) return failed(index, split.errorCode, split.message);

  const validated: { batch: Uint8Array; info: AppendBatchInfo }[] = [];
  for (const batch of split.batches) {
    if (batch.length > limits.batchBytesMax) {
      return failed(index, ErrorCode.MESSAGE_TOO_LARGE, `batch of ${batch.length} bytes exceeds ${limits.batchBytesMax}`);
    }
    const result = validateBatchForAppend(batch);
    if (!result.ok) return failed(index, result.errorCode, result.message);
    validated.push({ batch, info: result.info });
  }

  const appendTime = logAppendTime ? Date.now() : -1;
  let baseOffset = -1;
  for (const { batch, info } of validated) {
    if (logAppendTime) {
      setLogAppendTime(batch, appendTime);
      info.maxTimestamp = appendTime;
      info.maxTimestampOffsetDelta = 0;
    }
    const appended = log.append(batch, info);
    if (baseOffset < 0) baseOffset = appended.baseOffset;
  }
  broker.appendWaiters.notify(log);
  return {
    index,
    errorCode: ErrorCode.NONE,
    baseOffset: BigInt(baseOffset),
    logAppendTimeMs: BigInt(appendTime),
    logStartOffset: BigInt(log.logStartOffset),
    errorMessage: null,
  };
}
