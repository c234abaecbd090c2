// DescribeTopicPartitions: v0 (KIP-966; Kafka 3.8+ admin clients describe topics with it, paging through many
// partitions with a cursor).
// Behaviour (Kafka's DescribeTopicPartitionsRequestHandler and KRaftMetadataCache):
// - No topics named: every topic the principal may DESCRIBE, internal ones included; named topics: those, and an
//   unknown one gets UNKNOWN_TOPIC_OR_PARTITION (INVALID_TOPIC_EXCEPTION for an invalid name), an unauthorized one
//   TOPIC_AUTHORIZATION_FAILED with the zero topic id (its existence is not disclosed).
// - Topics in name order, from the cursor's topic (names before it are left out) and, in that topic, from the cursor's
//   partition. At most min(responsePartitionLimit, limits.describeTopicPartitionsMax) partitions, at least 1; when
//   more remain, nextCursor names the next topic and partition.
// - A cursor whose topic is not among the named ones, or with a negative partition, is INVALID_REQUEST for every topic.
// - Each partition: this node leads it at PARTITION_LEADER_EPOCH, the only replica and in-sync replica; no eligible
//   leader replicas (KIP-966's ELR needs more than one replica).
// - Topic authorized operations: what the principal may do with the topic.

import { limits } from "../config.ts";
import { PARTITION_LEADER_EPOCH, topicNameError } from "../metadata/topic-store.ts";
import { ZERO_UUID } from "../metadata/uuid.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import type { DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse } from "../protocol/messages/75-describe-topic-partitions.ts";
import type { Encodable } from "../protocol/messages/encodable.ts";
import { AclOperation, AUTHORIZED_OPERATIONS_OMITTED, authorizedOperations, authorizeTopic, ResourceType, TOPIC_OPERATIONS } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";

type ResponseTopic = NonNullable<Encodable<DescribeTopicPartitionsResponse>["topics"]>[number];

export const describeTopicPartitionsHandler: ApiHandler<DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse> = {
  apiKey: 75,
  minVersion: 0,
  maxVersion: 0,
  handle(context, request) {
    const { broker } = context;
    const nodeId = broker.config.nodeId;
    const { cursor } = request;
    const all = request.topics.length === 0;
    const cursorTopic = cursor?.topicName ?? "";
    const names = (all ? broker.topics.list().map((topic) => topic.name) : request.topics.map((topic) => topic.name)).filter((name) => name >= cursorTopic);
    const invalidCursor = cursor !== null && ((!all && !names.includes(cursor.topicName)) || cursor.partitionIndex < 0);
    if (invalidCursor) {
      const topics = request.topics.map((topic): ResponseTopic => ({ errorCode: ErrorCode.INVALID_REQUEST, name: topic.name, topicId: ZERO_UUID, isInternal: false, partitions: [], topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED }));
      return { throttleTimeMs: 0, topics, nextCursor: null };
    }

    const topics: ResponseTopic[] = [];
    const refused: ResponseTopic[] = [];
    let remaining = Math.max(Math.min(limits.describeTopicPartitionsMax, request.responsePartitionLimit), 1);
    let nextCursor: { topicName: string; partitionIndex: number } | null = null;
    for (const name of [...new Set(names)].sort()) {
      if (!authorizeTopic(context, AclOperation.DESCRIBE, name, !all)) {
        if (!all) refused.push({ errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, name, topicId: ZERO_UUID, isInternal: false, partitions: [], topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED });
        continue;
      }
      if (remaining === 0) {
        // The cursor points at the start of the next topic: every partition of the topics before it was answered.
        nextCursor = { topicName: name, partitionIndex: 0 };
        break;
      }
      const topic = broker.topics.get(name);
      if (!topic) {
        if (!all) {
          const errorCode = topicNameError(name) === null ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.INVALID_TOPIC_EXCEPTION;
          topics.push({ errorCode, name, topicId: ZERO_UUID, isInternal: false, partitions: [], topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED });
        }
        continue;
      }
      const first = name === cursorTopic && cursor !== null ? cursor.partitionIndex : 0;
      const last = Math.min(topic.partitions.length, first + remaining);
      const partitions = [];
      for (let partitionIndex = first; partitionIndex < last; partitionIndex++) {
        partitions.push({ errorCode: ErrorCode.NONE, partitionIndex, leaderId: nodeId, leaderEpoch: PARTITION_LEADER_EPOCH, replicaNodes: [nodeId], isrNodes: [nodeId], eligibleLeaderReplicas: [], lastKnownElr: [], offlineReplicas: [] });
      }
      topics.push({
        errorCode: ErrorCode.NONE,
        name,
        topicId: topic.topicId,
        isInternal: topic.isInternal,
        partitions,
        topicAuthorizedOperations: authorizedOperations(context, ResourceType.TOPIC, name, TOPIC_OPERATIONS),
      });
      if (last < topic.partitions.length) {
        nextCursor = { topicName: name, partitionIndex: last };
        break;
      }
      remaining -= partitions.length;
    }
    return { throttleTimeMs: 0, topics: [...topics, ...refused], nextCursor };
  },
};
