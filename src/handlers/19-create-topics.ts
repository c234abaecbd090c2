// CreateTopics: v0–7
// Behaviour:
// - numPartitions ≥ 1, or -1 (v4+) for the node default; replicationFactor 1 or -1 (one node: anything larger is
//   INVALID_REPLICATION_FACTOR); manual assignments must place every partition on this node alone and then come
//   without a partition count, as Kafka requires.
// - Configs are checked against Kafka's topic configs (INVALID_CONFIG names the culprit); validateOnly checks
//   without creating. A name given twice in one request fails for each occurrence (INVALID_REQUEST).
// - v5+ answers with the partition count, replication factor and every config with its source; v7 the topic id.
// - With an authorizer: CREATE on the cluster or on the topic, else TOPIC_AUTHORIZATION_FAILED, as Kafka.
// Not emulated: create-topic policies, controller mutation quotas (throttle is always 0).

import type { Broker } from "../broker.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import type { CreateTopicsRequest, CreateTopicsResponse } from "../protocol/messages/19-create-topics.ts";
import type { Encodable } from "../protocol/messages/encodable.ts";
import { checkTopicConfigs, topicConfigDefinitions } from "../metadata/topic-configs.ts";
import { topicNameError } from "../metadata/topic-store.ts";
import { authorizeTopicCreation } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";

type CreatableTopic = CreateTopicsRequest["topics"][number];
type TopicResult = NonNullable<Encodable<CreateTopicsResponse>["topics"]>[number];

const CONFIG_SOURCE_TOPIC = 1;
const CONFIG_SOURCE_DEFAULT = 5;

export const createTopicsHandler: ApiHandler<CreateTopicsRequest, CreateTopicsResponse> = {
  apiKey: 19,
  minVersion: 0,
  maxVersion: 7,
  handle(context, request) {
    const counts = new Map<string, number>();
    for (const topic of request.topics) counts.set(topic.name, (counts.get(topic.name) ?? 0) + 1);
    const topics = request.topics.map((topic): TopicResult => {
      if (counts.get(topic.name)! > 1) return failed(topic.name, ErrorCode.INVALID_REQUEST, `Duplicate topic name ${topic.name} in the request`);
      if (!authorizeTopicCreation(context, topic.name)) return failed(topic.name, ErrorCode.TOPIC_AUTHORIZATION_FAILED, "Authorization failed.");
      return createTopic(context.broker, topic, request.validateOnly);
    });
    return { throttleTimeMs: 0, topics };
  },
};

function failed(name: string, errorCode: number, errorMessage: string): TopicResult {
  return { name, errorCode, errorMessage, numPartitions: -1, replicationFactor: -1, configs: null, topicConfigErrorCode: ErrorCode.NONE };
}

function createTopic(broker: Broker, topic: CreatableTopic, validateOnly: boolean): TopicResult {
  const nodeId = broker.config.nodeId;
  let numPartitions = topic.numPartitions;
  if (topic.assignments.length > 0) {
    if (numPartitions !== -1 || topic.replicationFactor !== -1) {
      return failed(topic.name, ErrorCode.INVALID_REQUEST, "Both numPartitions or replicationFactor and replicasAssignments were set.");
    }
    const placedHereOnly = topic.assignments.every((assignment, i) =>
      assignment.partitionIndex === i && assignment.brokerIds.length === 1 && assignment.brokerIds[0] === nodeId);
    if (!placedHereOnly) return failed(topic.name, ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Every partition must be assigned to broker ${nodeId} alone.`);
    numPartitions = topic.assignments.length;
  } else {
    if (numPartitions === -1) numPartitions = broker.config.defaultPartitions;
    if (numPartitions < 1) return failed(topic.name, ErrorCode.INVALID_PARTITIONS, "Number of partitions must be larger than 0.");
    if (topic.replicationFactor !== -1 && topic.replicationFactor !== 1) {
      const message = topic.replicationFactor < 1
        ? "Replication factor must be larger than 0."
        : `Unable to replicate the partition ${topic.replicationFactor} time(s): The target replication factor of ${topic.replicationFactor} cannot be reached because only 1 broker(s) are registered.`;
      return failed(topic.name, ErrorCode.INVALID_REPLICATION_FACTOR, message);
    }
  }
  const configs = new Map<string, string>();
  for (const config of topic.configs) if (config.value !== null) configs.set(config.name, config.value);
  const configError = checkTopicConfigs(topic.configs.map((config) => [config.name, config.value]));
  if (configError) return failed(topic.name, ErrorCode.INVALID_CONFIG, configError);

  let topicId: Uint8Array | undefined;
  if (validateOnly) {
    const nameError = topicNameError(topic.name);
    if (nameError) return failed(topic.name, ErrorCode.INVALID_TOPIC_EXCEPTION, nameError);
    if (broker.topics.get(topic.name)) return failed(topic.name, ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${topic.name}' already exists.`);
  } else {
    const created = broker.topics.create(topic.name, numPartitions, configs);
    if (!created.topic) return failed(topic.name, created.errorCode, created.errorMessage ?? "");
    topicId = created.topic.topicId;
  }
  return {
    name: topic.name,
    topicId,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    numPartitions,
    replicationFactor: 1,
    configs: [...topicConfigDefinitions].map(([name, definition]) => ({
      name,
      value: configs.get(name) ?? definition.defaultValue,
      readOnly: false,
      configSource: configs.has(name) ? CONFIG_SOURCE_TOPIC : CONFIG_SOURCE_DEFAULT,
      isSensitive: false,
    })),
  };
}
