// OffsetDelete: v0
// Behaviour (src/groups/coordinator.ts, Kafka's handleDeleteOffsets): removes committed offsets (tombstones in
// __consumer_offsets). Any partition of an Empty group; in a consumer group with members only partitions of topics
// no member subscribes to (GROUP_SUBSCRIBED_TO_TOPIC otherwise). Unknown group: GROUP_ID_NOT_FOUND; a non-consumer
// group with members: NON_EMPTY_GROUP. A KIP-848 group, Empty or not: GROUP_SUBSCRIBED_TO_TOPIC for topics a member
// subscribes to by name or regex, the rest deleted. Partitions of unknown topics: UNKNOWN_TOPIC_OR_PARTITION.
// With an authorizer: DELETE on the group (GROUP_AUTHORIZATION_FAILED) and READ on each topic
// (TOPIC_AUTHORIZATION_FAILED for its partitions), as Kafka.

import { ErrorCode } from "../protocol/error-codes.ts";
import type { OffsetDeleteRequest, OffsetDeleteResponse } from "../protocol/messages/47-offset-delete.ts";
import { AclOperation, authorizeGroup, authorizeTopic } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";

export const offsetDeleteHandler: ApiHandler<OffsetDeleteRequest, OffsetDeleteResponse> = {
  apiKey: 47,
  minVersion: 0,
  maxVersion: 0,
  handle(context, request) {
    const { broker } = context;
    if (!authorizeGroup(context, AclOperation.DELETE, request.groupId)) return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, throttleTimeMs: 0, topics: [] };
    const denied = new Set(request.topics.filter(({ name }) => !authorizeTopic(context, AclOperation.READ, name)).map(({ name }) => name));
    const known = (topic: string, partition: number) => {
      if (denied.has(topic)) return false;
      const partitions = broker.topics.get(topic)?.partitions.length ?? 0;
      return partition >= 0 && partition < partitions;
    };
    const wanted = request.topics.flatMap(({ name, partitions }) =>
      partitions.filter(({ partitionIndex }) => known(name, partitionIndex)).map(({ partitionIndex }) => ({ topic: name, partition: partitionIndex })),
    );
    const result = broker.groups.deleteOffsets(request.groupId, wanted);
    if (result.errorCode !== ErrorCode.NONE) return { errorCode: result.errorCode, throttleTimeMs: 0, topics: [] };
    let next = 0;
    return {
      errorCode: ErrorCode.NONE,
      throttleTimeMs: 0,
      topics: request.topics.map(({ name, partitions }) => ({
        name,
        partitions: partitions.map(({ partitionIndex }) => ({
          partitionIndex,
          errorCode: denied.has(name)
            ? ErrorCode.TOPIC_AUTHORIZATION_FAILED
            : known(name, partitionIndex) ? result.partitionErrors[next++]! : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        })),
      })),
    };
  },
};
