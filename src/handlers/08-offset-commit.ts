// OffsetCommit: v0–9
// Behaviour (src/groups/coordinator.ts, Kafka's handleCommitOffsets):
// - Offsets (with leader epoch, metadata and commit time) go to __consumer_offsets as one record batch per request
//   and are answered once appended and, with --flush always, fsynced (COORDINATOR_NOT_AVAILABLE if that fails).
// - Simple consumers and tools (generation -1, empty member id) may commit to an unknown or Empty group; members
//   must match the group's member id / group.instance.id and generation: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION,
//   FENCED_INSTANCE_ID, REBALANCE_IN_PROGRESS (CompletingRebalance); a known generation for an unknown group is
//   ILLEGAL_GENERATION before v9, GROUP_ID_NOT_FOUND from v9 (Kafka's OffsetMetadataManager). A member's commit also
//   counts as a heartbeat.
// - KIP-848 groups (Kafka's ConsumerGroup.validateOffsetCommit): the request's generation is the member epoch; an
//   unknown member id gets UNKNOWN_MEMBER_ID, another epoch than the member's STALE_MEMBER_EPOCH, a member of the
//   consumer protocol committing below v9 UNSUPPORTED_VERSION; epoch -1 with an empty member id (tools, simple
//   consumers) commits only while the group has no members (else UNKNOWN_MEMBER_ID).
// - Per partition: UNKNOWN_TOPIC_OR_PARTITION for partitions that do not exist, OFFSET_METADATA_TOO_LARGE beyond
//   offset.metadata.max.bytes; an offset beyond 2^53 (not representable here) gets OFFSET_OUT_OF_RANGE.
// - With an authorizer: READ on the group (else GROUP_AUTHORIZATION_FAILED for every partition) and READ on each
//   topic (else TOPIC_AUTHORIZATION_FAILED for its partitions), as Kafka.
// Not emulated: retention (v2–4 retentionTimeMs is read and ignored; offsets do not expire).
// Version notes: v1 generation, member id and a per-partition commit timestamp (-1 = now); v2–4 retention time;
// v3 throttleTimeMs; v6 committedLeaderEpoch; v7 groupInstanceId; v8 flexible; v9 KIP-848 member epochs; v10 topic
// ids (not advertised).

import { ErrorCode } from "../protocol/error-codes.ts";
import type { OffsetCommitRequest, OffsetCommitResponse } from "../protocol/messages/08-offset-commit.ts";
import type { CommitInput } from "../groups/coordinator.ts";
import { AclOperation, authorizeGroup, authorizeTopic } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";

const COMMIT_TIMESTAMP_NOW = -1;

export const offsetCommitHandler: ApiHandler<OffsetCommitRequest, OffsetCommitResponse> = {
  apiKey: 8,
  minVersion: 0,
  maxVersion: 9,
  handle(context, request) {
    const { broker } = context;
    if (!authorizeGroup(context, AclOperation.READ, request.groupId)) {
      return {
        throttleTimeMs: 0,
        topics: request.topics.map(({ name, partitions }) => ({
          name,
          partitions: partitions.map(({ partitionIndex }) => ({ partitionIndex, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED })),
        })),
      };
    }
    const now = Date.now();
    const offsets: CommitInput["offsets"] = [];
    // Per request partition: an error found here, or the index of its entry in `offsets`.
    const slots = request.topics.map(({ name, partitions }) => {
      const partitionCount = broker.topics.get(name)?.partitions.length ?? 0;
      const topicAllowed = authorizeTopic(context, AclOperation.READ, name);
      return partitions.map((partition) => {
        if (!topicAllowed) return { errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED };
        if (partition.partitionIndex < 0 || partition.partitionIndex >= partitionCount) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
        const offset = Number(partition.committedOffset);
        if (!Number.isSafeInteger(offset)) return { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE };
        const commitTimestamp = Number(partition.commitTimestamp);
        offsets.push({
          topic: name,
          partition: partition.partitionIndex,
          value: {
            offset,
            leaderEpoch: partition.committedLeaderEpoch,
            metadata: partition.committedMetadata ?? "",
            commitTimestamp: commitTimestamp === COMMIT_TIMESTAMP_NOW || !Number.isSafeInteger(commitTimestamp) ? now : commitTimestamp,
          },
        });
        return { index: offsets.length - 1 };
      });
    });
    const errors =
      offsets.length === 0
        ? []
        : broker.groups.commitOffsets({
            groupId: request.groupId,
            generationId: request.generationIdOrMemberEpoch,
            memberId: request.memberId,
            groupInstanceId: request.groupInstanceId,
            offsets,
            apiVersion: context.apiVersion,
          });
    const respond = (storeErrorCode: number | null) => ({
      throttleTimeMs: 0,
      topics: request.topics.map(({ name, partitions }, topicIndex) => ({
        name,
        partitions: partitions.map(({ partitionIndex }, partitionIndex2) => {
          const slot = slots[topicIndex]![partitionIndex2]!;
          const errorCode = "errorCode" in slot ? slot.errorCode : errors[slot.index]!;
          return { partitionIndex, errorCode: errorCode === ErrorCode.NONE && storeErrorCode !== null ? storeErrorCode : errorCode };
        }),
      })),
    });
    // A commit is answered once it is on stable storage (with --flush always), sharing the log's group fsync.
    const syncs = (broker.topics.get(OFFSETS_TOPIC)?.partitions ?? []).map((log) => log.sync?.() ?? null).filter((sync) => sync !== null);
    if (syncs.length === 0) return respond(null);
    return Promise.all(syncs).then(
      () => respond(null),
      () => respond(ErrorCode.COORDINATOR_NOT_AVAILABLE),
    );
  },
};

const OFFSETS_TOPIC = "__consumer_offsets";
