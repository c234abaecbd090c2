// ListOffsets: v0–8
// Behaviour:
// - Timestamp -1 latest (the last stable offset for read_committed, the high watermark otherwise), -2 earliest
//   (log start), -3 the record with the largest timestamp (v7+, KIP-734), -4 earliest local (v8+: all data is
//   local, so the log start); t ≥ 0: the first offset whose timestamp ≥ t, or offset -1 when none.
// - v0 answers with oldStyleOffsets, at most maxNumOffsets of them: [log end] or [log start].
// - Leader epoch 0: this node has led every partition since it was created.
// - With an authorizer: DESCRIBE on the topic, else TOPIC_AUTHORIZATION_FAILED for its partitions, as Kafka.
// Not emulated: v9+ (-5 last tiered and -6 earliest pending upload need tiered storage).

import type { ListOffsetsRequest, ListOffsetsResponse } from "../protocol/messages/02-list-offsets.ts";
import type { Encodable } from "../protocol/messages/encodable.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import { batchRecordsSection, findOffsetForTimestamp } from "../protocol/records/record-batch.ts";
import type { PartitionLog } from "../log/partition-log.ts";
import { AclOperation, authorizeTopic } from "../security/authorize.ts";
import { PARTITION_LEADER_EPOCH } from "../metadata/topic-store.ts";
import type { ApiHandler } from "./handler.ts";

type PartitionResponse = NonNullable<NonNullable<Encodable<ListOffsetsResponse>["topics"]>[number]["partitions"]>[number];

const LATEST = -1;
const EARLIEST = -2;
const MAX_TIMESTAMP = -3;
const EARLIEST_LOCAL = -4;
const READ_COMMITTED = 1;

export const listOffsetsHandler: ApiHandler<ListOffsetsRequest, ListOffsetsResponse> = {
  apiKey: 2,
  minVersion: 0,
  maxVersion: 8,
  handle(context, request) {
    const { broker, apiVersion } = context;
    const topics = request.topics.map((topic) => {
      const known = broker.topics.get(topic.name);
      const allowed = authorizeTopic(context, AclOperation.DESCRIBE, topic.name);
      const partitions = topic.partitions.map((partition): PartitionResponse => {
        if (!allowed) return { partitionIndex: partition.partitionIndex, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, oldStyleOffsets: [] };
        const log = known?.partitions[partition.partitionIndex];
        if (!log) return { partitionIndex: partition.partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, oldStyleOffsets: [] };
        const timestamp = Number(partition.timestamp);
        if (apiVersion === 0) {
          const offset = timestamp === EARLIEST ? log.logStartOffset : log.highWatermark;
          const offsets = partition.maxNumOffsets > 0 ? [BigInt(offset)] : [];
          return { partitionIndex: partition.partitionIndex, errorCode: ErrorCode.NONE, oldStyleOffsets: offsets };
        }
        const latest = request.isolationLevel === READ_COMMITTED ? broker.producerStates.lastStableOffset(log) : log.highWatermark;
        const found = lookUp(log, timestamp, latest);
        if (found === "invalid") return { partitionIndex: partition.partitionIndex, errorCode: ErrorCode.INVALID_REQUEST };
        return {
          partitionIndex: partition.partitionIndex,
          errorCode: ErrorCode.NONE,
          timestamp: BigInt(found.timestamp),
          offset: BigInt(found.offset),
          leaderEpoch: found.offset >= 0 ? PARTITION_LEADER_EPOCH : -1,
        };
      });
      return { name: topic.name, partitions };
    });
    return { throttleTimeMs: 0, topics };
  },
};

function lookUp(log: PartitionLog, timestamp: number, latest: number): { offset: number; timestamp: number } | "invalid" {
  switch (timestamp) {
    case LATEST:
      return { offset: latest, timestamp: -1 };
    case EARLIEST:
    case EARLIEST_LOCAL:
      return { offset: log.logStartOffset, timestamp: -1 };
    case MAX_TIMESTAMP:
      return log.maxTimestampOffset() ?? { offset: -1, timestamp: -1 };
  }
  if (timestamp < 0) return "invalid";
  const batch = log.batchForTimestamp(timestamp);
  if (!batch) return { offset: -1, timestamp: -1 };
  // A compressed batch is decompressed to find the record, as Kafka does (LogSegment.findOffsetByTimestamp).
  const section = batchRecordsSection(batch);
  return findOffsetForTimestamp(batch, timestamp, section.ok ? section.data : undefined) ?? { offset: -1, timestamp: -1 };
}
