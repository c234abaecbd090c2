// Metadata: v0–13
// Behaviour:
// - One broker, this node, at the address advertised for the request's listener; it is the controller and leads every partition
//   (leader epoch 0, replicas and ISR = [this node]).
// - Topics: v0's empty list and v1+'s null list mean all topics; unknown topics are created when
//   auto.create.topics.enable is on and (v4+) the client allows it, and are returned ready at once.
// - v10+ returns real topic ids; v12+ may ask by topic id alone (v10/v11 must not: trap 18).
// - With an authorizer (Kafka's rules): a listing of all topics leaves out those the principal may not DESCRIBE;
//   a named one it may not DESCRIBE gets TOPIC_AUTHORIZATION_FAILED whether or not it exists; an unknown one that
//   auto-creation would make needs CREATE on the cluster or the topic, else TOPIC_AUTHORIZATION_FAILED.
// - Authorized operations are what the principal may do (all without an authorizer) when asked for, else INT32_MIN.
// Not emulated: racks, offline replicas.

import type { Broker } from "../broker.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import type { Encodable } from "../protocol/messages/encodable.ts";
import type { MetadataRequest, MetadataResponse } from "../protocol/messages/03-metadata.ts";
import { PARTITION_LEADER_EPOCH, type Topic } from "../metadata/topic-store.ts";
import { isZeroUuid } from "../metadata/uuid.ts";
import {
  AclOperation,
  AUTHORIZED_OPERATIONS_OMITTED,
  CLUSTER_NAME,
  CLUSTER_OPERATIONS,
  ResourceType,
  TOPIC_OPERATIONS,
  authorizeTopic,
  authorizedOperations,
  autoCreationDenied,
} from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";

type MetadataResponseTopic = Encodable<MetadataResponse>["topics"] extends (infer T)[] | undefined ? T : never;


export const metadataHandler: ApiHandler<MetadataRequest, MetadataResponse> = {
  apiKey: 3,
  minVersion: 0,
  maxVersion: 13,
  handle(context, request) {
    const { broker, apiVersion } = context;
    const { config } = broker;
    const topicOperations = (name: string) =>
      request.includeTopicAuthorizedOperations ? authorizedOperations(context, ResourceType.TOPIC, name, TOPIC_OPERATIONS) : AUTHORIZED_OPERATIONS_OMITTED;
    const describe = (topic: Topic) => describeTopic(broker, topic, topicOperations(topic.name));

    let topics: MetadataResponseTopic[];
    const wantsAll = request.topics === null || (apiVersion === 0 && request.topics.length === 0);
    if (wantsAll) {
      topics = broker.topics.list().filter((topic) => !topic.isInternal && authorizeTopic(context, AclOperation.DESCRIBE, topic.name, false)).map(describe);
    } else {
      const allowAutoCreate = apiVersion < 4 || request.allowAutoTopicCreation;
      topics = request.topics!.map((wanted): MetadataResponseTopic => {
        if (wanted.name === null) {
          if (apiVersion < 12 || isZeroUuid(wanted.topicId)) {
            return { errorCode: ErrorCode.INVALID_REQUEST, name: null, topicId: wanted.topicId, partitions: [] };
          }
          const topic = broker.topics.getById(wanted.topicId);
          if (!topic) return { errorCode: ErrorCode.UNKNOWN_TOPIC_ID, name: null, topicId: wanted.topicId, partitions: [] };
          if (!authorizeTopic(context, AclOperation.DESCRIBE, topic.name)) return denied(null, wanted.topicId);
          return describe(topic);
        }
        if (!authorizeTopic(context, AclOperation.DESCRIBE, wanted.name)) return denied(wanted.name);
        if (allowAutoCreate && autoCreationDenied(context, wanted.name)) return denied(wanted.name);
        const found = broker.findOrCreateTopic(wanted.name, allowAutoCreate);
        if ("errorCode" in found) return { errorCode: found.errorCode, name: wanted.name, partitions: [], topicAuthorizedOperations: topicOperations(wanted.name) };
        return describe(found.topic);
      });
    }

    return {
      throttleTimeMs: 0,
      // The address advertised for the listener the request came in on, as Kafka answers per listener.
      brokers: [{ nodeId: config.nodeId, host: context.security.listener.advertisedHost, port: context.security.listener.advertisedPort, rack: null }],
      clusterId: config.clusterId,
      controllerId: config.nodeId,
      topics,
      clusterAuthorizedOperations: request.includeClusterAuthorizedOperations
        ? authorizedOperations(context, ResourceType.CLUSTER, CLUSTER_NAME, CLUSTER_OPERATIONS)
        : AUTHORIZED_OPERATIONS_OMITTED,
      errorCode: ErrorCode.NONE,
    };
  },
};

function describeTopic(broker: Broker, topic: Topic, topicAuthorizedOperations: number): MetadataResponseTopic {
  const nodeId = broker.config.nodeId;
  return {
    errorCode: ErrorCode.NONE,
    name: topic.name,
    topicId: topic.topicId,
    isInternal: topic.isInternal,
    partitions: topic.partitions.map((_, partitionIndex) => ({
      errorCode: ErrorCode.NONE,
      partitionIndex,
      leaderId: nodeId,
      leaderEpoch: PARTITION_LEADER_EPOCH,
      replicaNodes: [nodeId],
      isrNodes: [nodeId],
      offlineReplicas: [],
    })),
    topicAuthorizedOperations,
  };
}

/** A topic the principal may not see (or create): no partitions, nothing that tells whether it exists. */
function denied(name: string | null, topicId?: Uint8Array): MetadataResponseTopic {
  return { errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, name, topicId, isInternal: false, partitions: [], topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED };
}
