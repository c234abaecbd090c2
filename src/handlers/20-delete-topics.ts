// DeleteTopics: v0–6
// Behaviour:
// - Internal topics (__consumer_offsets, …) are refused with INVALID_TOPIC_EXCEPTION; committed offsets of a
//   deleted topic are dropped from every group.
// - By name (v0–5 topicNames; v6 topics[].name) or by id (v6 topics[].topicId); unknown names get
//   UNKNOWN_TOPIC_OR_PARTITION, unknown ids UNKNOWN_TOPIC_ID. The topic's logs are released at once; long polls
//   on it answer with UNKNOWN_TOPIC_OR_PARTITION when they wake.
// - With an authorizer: DELETE on the topic, else TOPIC_AUTHORIZATION_FAILED (checked before existence for names, so
//   an unauthorised client cannot probe which topics exist), as Kafka.
// Not emulated: delete.topic.enable=false, controller mutation quotas.

import { ErrorCode } from "../protocol/error-codes.ts";
import type { DeleteTopicsRequest, DeleteTopicsResponse } from "../protocol/messages/20-delete-topics.ts";
import { isZeroUuid } from "../metadata/uuid.ts";
import { AclOperation, authorizeTopic } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";

const TOPIC_STATES_VERSION_MIN = 6;

export const deleteTopicsHandler: ApiHandler<DeleteTopicsRequest, DeleteTopicsResponse> = {
  apiKey: 20,
  minVersion: 0,
  maxVersion: 6,
  handle(context, request) {
    const { broker, apiVersion } = context;
    const wanted = apiVersion >= TOPIC_STATES_VERSION_MIN
      ? request.topics
      : request.topicNames.map((name) => ({ name, topicId: undefined }));
    const responses = wanted.map(({ name, topicId }) => {
      const byId = name === null && topicId !== undefined && !isZeroUuid(topicId);
      const denied = { name, topicId, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: null };
      if (name !== null && !authorizeTopic(context, AclOperation.DELETE, name)) return denied;
      const topic = byId ? broker.topics.getById(topicId!) : name !== null ? broker.topics.get(name) : undefined;
      if (!topic) {
        return { name, topicId, errorCode: byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null };
      }
      if (byId && !authorizeTopic(context, AclOperation.DELETE, topic.name)) return denied;
      if (topic.isInternal) {
        return { name: topic.name, topicId: topic.topicId, errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, errorMessage: `Cannot delete internal topic ${topic.name}` };
      }
      const logs = topic.partitions;
      broker.topics.delete(topic.name);
      for (const log of logs) broker.appendWaiters.notify(log);
      // Committed offsets of a deleted topic go with it, as Kafka's coordinator drops them.
      broker.groups.deleteTopicOffsets(topic.name);
      return { name: topic.name, topicId: topic.topicId, errorCode: ErrorCode.NONE, errorMessage: null };
    });
    return { throttleTimeMs: 0, responses };
  },
};
