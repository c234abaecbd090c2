// CreatePartitions: v0–3
// Behaviour:
// - Grows a topic to `count` partitions (never shrinks: a count at or below the current one is INVALID_PARTITIONS,
//   as is one above limits.partitionsPerTopicMax); the new partitions' logs are created (and, with a data folder,
//   persisted with the topic) before the answer. validateOnly checks without creating.
// - Manual assignments must give every new partition exactly this node (INVALID_REPLICA_ASSIGNMENT otherwise).
// - A topic named twice in one request fails for each occurrence (INVALID_REQUEST); unknown topics get
//   UNKNOWN_TOPIC_OR_PARTITION.
// - With an authorizer: ALTER on the topic, else TOPIC_AUTHORIZATION_FAILED (before existence), as Kafka.
// Not emulated: create-partitions policies, controller mutation quotas (throttle is always 0).
// Version notes: v2 flexible; v3 same as v2.

import { ErrorCode } from "../protocol/error-codes.ts";
import type { CreatePartitionsRequest, CreatePartitionsResponse } from "../protocol/messages/37-create-partitions.ts";
import { AclOperation, authorizeTopic } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";

export const createPartitionsHandler: ApiHandler<CreatePartitionsRequest, CreatePartitionsResponse> = {
  apiKey: 37,
  minVersion: 0,
  maxVersion: 3,
  handle(context, request) {
    const { broker } = context;
    const counts = new Map<string, number>();
    for (const topic of request.topics) counts.set(topic.name, (counts.get(topic.name) ?? 0) + 1);
    const results = request.topics.map(({ name, count, assignments }) => {
      const result = (errorCode: number, errorMessage: string | null) => ({ name, errorCode, errorMessage });
      if (counts.get(name)! > 1) return result(ErrorCode.INVALID_REQUEST, `Duplicate topic name ${name} in the request`);
      if (!authorizeTopic(context, AclOperation.ALTER, name)) return result(ErrorCode.TOPIC_AUTHORIZATION_FAILED, null);
      const topic = broker.topics.get(name);
      if (!topic) return result(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic-partition.");
      if (assignments !== null) {
        const added = count - topic.partitions.length;
        if (assignments.length !== added) {
          return result(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Increasing the number of partitions by ${added} but ${assignments.length} assignments provided.`);
        }
        const nodeId = broker.config.nodeId;
        if (assignments.some((assignment) => assignment.brokerIds.length !== 1 || assignment.brokerIds[0] !== nodeId)) {
          return result(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `This single-node cluster can only place partitions on broker ${nodeId}.`);
        }
      }
      const created = broker.topics.createPartitions(name, count, request.validateOnly);
      return result(created.errorCode, created.errorMessage);
    });
    return { throttleTimeMs: 0, results };
  },
};
