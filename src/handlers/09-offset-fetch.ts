// OffsetFetch: v0–9
// Behaviour (src/groups/coordinator.ts):
// - Committed offset, leader epoch and metadata per asked partition; -1 (and metadata "") where nothing is
//   committed, including unknown groups and topics (trap 24).
// - A null topic list (v2+) means every partition the group committed.
// - v8+ asks for many groups at once (Groups) and answers per group.
// - requireStable (v7+): UNSTABLE_OFFSET_COMMIT for a partition an open transaction holds an offset for.
// Not emulated: authorization, KIP-848 member checks (v9).
// Version notes: v2 top-level errorCode and null topics; v3 throttleTimeMs; v5 committedLeaderEpoch; v6 flexible;
// v7 requireStable; v8 batched groups; v9 memberId/memberEpoch; v10 topic ids (not advertised).

import type { Broker } from "../broker.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import type { OffsetFetchRequest, OffsetFetchResponse } from "../protocol/messages/09-offset-fetch.ts";
import type { ApiHandler } from "./handler.ts";

const BATCHED_GROUPS_VERSION_MIN = 8;

function fetchTopics(broker: Broker, groupId: string, topics: { name: string; partitionIndexes: number[] }[] | null, requireStable: boolean) {
  const wanted = topics === null ? null : topics.map(({ name, partitionIndexes }) => ({ topic: name, partitions: partitionIndexes }));
  return broker.groups.fetchOffsets(groupId, wanted).map(({ topic, partitions }) => ({
    name: topic,
    partitions: partitions.map(({ partition, offset, leaderEpoch, metadata }) => ({
      partitionIndex: partition,
      committedOffset: BigInt(offset),
      committedLeaderEpoch: leaderEpoch,
      metadata,
      // A transaction holds an offset for this partition that it has not committed yet (KIP-447).
      errorCode: requireStable && broker.transactions.hasPendingOffset(groupId, topic, partition) ? ErrorCode.UNSTABLE_OFFSET_COMMIT : ErrorCode.NONE,
    })),
  }));
}

export const offsetFetchHandler: ApiHandler<OffsetFetchRequest, OffsetFetchResponse> = {
  apiKey: 9,
  minVersion: 0,
  maxVersion: 9,
  handle(context, request) {
    const { broker, apiVersion } = context;
    if (apiVersion >= BATCHED_GROUPS_VERSION_MIN) {
      return {
        throttleTimeMs: 0,
        groups: request.groups.map(({ groupId, topics }) => ({
          groupId,
          topics: fetchTopics(broker, groupId, topics, request.requireStable),
          errorCode: ErrorCode.NONE,
        })),
      };
    }
    return { throttleTimeMs: 0, topics: fetchTopics(broker, request.groupId, request.topics, request.requireStable), errorCode: ErrorCode.NONE };
  },
};
