// DeleteRecords: v0–2
// Behaviour:
// - Moves each partition's log start offset to the requested offset (Kafka's UnifiedLog.maybeIncrementLogStartOffset);
//   -1 means the high watermark. An offset at or below the current start changes nothing; above the high
//   watermark, or negative other than -1, is OFFSET_OUT_OF_RANGE. The answer carries the new low watermark.
// - Whole batches (memory log) or whole segments (file log) below the new start are dropped; the file log
//   persists the start before answering, so it survives a restart.
// - Unknown topics or partitions get UNKNOWN_TOPIC_OR_PARTITION with lowWatermark -1.
// - With an authorizer: DELETE on the topic, else TOPIC_AUTHORIZATION_FAILED for its partitions, as Kafka.
// Not emulated: timeoutMs (single node: the answer never waits for replicas).
// Version notes: v2 flexible.

import { ErrorCode } from "../protocol/error-codes.ts";
import type { DeleteRecordsRequest, DeleteRecordsResponse } from "../protocol/messages/21-delete-records.ts";
import { AclOperation, authorizeTopic } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";

const HIGH_WATERMARK = -1n;

export const deleteRecordsHandler: ApiHandler<DeleteRecordsRequest, DeleteRecordsResponse> = {
  apiKey: 21,
  minVersion: 0,
  maxVersion: 2,
  handle(context, request) {
    const { broker } = context;
    const topics = request.topics.map((topicRequest) => {
      const topic = broker.topics.get(topicRequest.name);
      const allowed = authorizeTopic(context, AclOperation.DELETE, topicRequest.name);
      const partitions = topicRequest.partitions.map(({ partitionIndex, offset }) => {
        const failed = (errorCode: number) => ({ partitionIndex, lowWatermark: -1n, errorCode });
        if (!allowed) return failed(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
        const log = topic?.partitions[partitionIndex];
        if (!log) return failed(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        const highWatermark = BigInt(log.highWatermark);
        const target = offset === HIGH_WATERMARK ? highWatermark : offset;
        if (target < 0n || target > highWatermark) return failed(ErrorCode.OFFSET_OUT_OF_RANGE);
        log.advanceLogStartOffset(Number(target));
        broker.appendWaiters.notify(log);
        return { partitionIndex, lowWatermark: BigInt(log.logStartOffset), errorCode: ErrorCode.NONE };
      });
      return { name: topicRequest.name, partitions };
    });
    return { throttleTimeMs: 0, topics };
  },
};
