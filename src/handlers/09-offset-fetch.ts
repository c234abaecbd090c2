// OffsetFetch: v0–9
// Behaviour (src/groups/coordinator.ts):
// - Committed offset, leader epoch and metadata per asked partition; -1 (and metadata "") where nothing is
//   committed, including unknown groups and topics (trap 24).
// - A null topic list (v2+) means every partition the group committed.
// - v8+ asks for many groups at once (Groups) and answers per group.
// - With an authorizer: DESCRIBE on the group (else GROUP_AUTHORIZATION_FAILED) and on each asked topic (else
//   TOPIC_AUTHORIZATION_FAILED for its partitions); a null topic list leaves out topics the principal may not
//   describe. Kafka asks DESCRIBE here, which READ implies.
// - requireStable (v7+): UNSTABLE_OFFSET_COMMIT for a partition an open transaction holds an offset for.
// - v9 KIP-848 member checks on consumer-protocol groups (Kafka's ConsumerGroup.validateOffsetFetch): a member id
//   the group does not know gets UNKNOWN_MEMBER_ID, another epoch than the member's STALE_MEMBER_EPOCH, as the
//   group's error; a null member id with a negative epoch (admin tools, simple consumers) is not checked.
// Version notes: v2 top-level errorCode and null topics; v3 throttleTimeMs; v5 committedLeaderEpoch; v6 flexible;
// v7 requireStable; v8 batched groups; v9 memberId/memberEpoch; v10 topic ids (not advertised).

import { ErrorCode } from "../protocol/error-codes.ts";
import type { OffsetFetchRequest, OffsetFetchResponse } from "../protocol/messages/09-offset-fetch.ts";
import { AclOperation, authorizeGroup, authorizeTopic } from "../security/authorize.ts";
import type { ApiHandler, RequestContext } from "./handler.ts";

const BATCHED_GROUPS_VERSION_MIN = 8;
/** Before v2 the response has no top-level error: a group error goes on every partition. */
const TOP_LEVEL_ERROR_VERSION_MIN = 2;

function fetchTopics(
  context: RequestContext,
  groupId: string,
  topics: { name: string; partitionIndexes: number[] }[] | null,
  requireStable: boolean,
  member: { memberId: string | null; memberEpoch: number } | null = null,
) {
  const noOffset = { committedOffset: -1n, committedLeaderEpoch: -1, metadata: "" };
  if (!authorizeGroup(context, AclOperation.DESCRIBE, groupId)) {
    const partitionError = context.apiVersion < TOP_LEVEL_ERROR_VERSION_MIN ? ErrorCode.GROUP_AUTHORIZATION_FAILED : ErrorCode.NONE;
    return {
      errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
      topics: (topics ?? []).map(({ name, partitionIndexes }) => ({
        name,
        partitions: partitionIndexes.map((partitionIndex) => ({ partitionIndex, ...noOffset, errorCode: partitionError })),
      })),
    };
  }
  if (member !== null) {
    const memberError = context.broker.groups.validateOffsetFetch(groupId, member.memberId, member.memberEpoch);
    if (memberError !== ErrorCode.NONE) return { errorCode: memberError, topics: [] };
  }
  const denied = new Set<string>();
  for (const { name } of topics ?? []) if (!authorizeTopic(context, AclOperation.DESCRIBE, name)) denied.add(name);
  const wanted = topics === null ? null : topics.filter(({ name }) => !denied.has(name)).map(({ name, partitionIndexes }) => ({ topic: name, partitions: partitionIndexes }));
  const fetched = context.broker.groups.fetchOffsets(groupId, wanted).filter(({ topic }) => topics !== null || authorizeTopic(context, AclOperation.DESCRIBE, topic, false));
  const answer = (topic: string, partitions: FetchedPartition[]) => ({
    name: topic,
    partitions: partitions.map(({ partition, offset, leaderEpoch, metadata }) => ({
      partitionIndex: partition,
      committedOffset: BigInt(offset),
      committedLeaderEpoch: leaderEpoch,
      metadata,
      // A transaction holds an offset for this partition that it has not committed yet (KIP-447).
      errorCode: requireStable && context.broker.transactions.hasPendingOffset(groupId, topic, partition) ? ErrorCode.UNSTABLE_OFFSET_COMMIT : ErrorCode.NONE,
    })),
  });
  if (topics === null) return { errorCode: ErrorCode.NONE, topics: fetched.map(({ topic, partitions }) => answer(topic, partitions)) };
  // Answered in request order (fetchOffsets keeps it), denied topics in place with TOPIC_AUTHORIZATION_FAILED.
  let next = 0;
  return {
    errorCode: ErrorCode.NONE,
    topics: topics.map(({ name, partitionIndexes }) =>
      denied.has(name)
        ? { name, partitions: partitionIndexes.map((partitionIndex) => ({ partitionIndex, ...noOffset, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED })) }
        : answer(name, fetched[next++]?.partitions ?? []),
    ),
  };
}

type FetchedPartition = { partition: number; offset: number; leaderEpoch: number; metadata: string };

export const offsetFetchHandler: ApiHandler<OffsetFetchRequest, OffsetFetchResponse> = {
  apiKey: 9,
  minVersion: 0,
  maxVersion: 9,
  handle(context, request) {
    if (context.apiVersion >= BATCHED_GROUPS_VERSION_MIN) {
      return {
        throttleTimeMs: 0,
        groups: request.groups.map(({ groupId, topics, memberId, memberEpoch }) => ({
          groupId,
          ...fetchTopics(context, groupId, topics, request.requireStable, { memberId, memberEpoch }),
        })),
      };
    }
    return { throttleTimeMs: 0, ...fetchTopics(context, request.groupId, request.topics, request.requireStable) };
  },
};
