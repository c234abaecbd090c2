// TxnOffsetCommit: v0–4
// Behaviour: offsets a transactional producer commits for a consumer group (consume-transform-produce). They are
// held by the transaction and reach the group only when it commits (dropped on abort); OffsetFetch with
// requireStable sees UNSTABLE_OFFSET_COMMIT meanwhile. The producer's transaction must be Ongoing with the group
// added (AddOffsetsToTxn): INVALID_TXN_STATE otherwise; INVALID_PRODUCER_ID_MAPPING / PRODUCER_FENCED
// (INVALID_PRODUCER_EPOCH before v3) as the other transaction APIs. v3+ carries the consumer's member id, instance
// id and generation, checked like OffsetCommit (UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID, ILLEGAL_GENERATION).
// With an authorizer: WRITE on the transactional id, READ on the group and on each topic, as Kafka.
// Not served: v5 (transaction version 2).

import { ErrorCode } from "../protocol/error-codes.ts";
import type { TxnOffsetCommitRequest, TxnOffsetCommitResponse } from "../protocol/messages/28-txn-offset-commit.ts";
import { AclOperation, authorizeGroup, authorizeTopic, authorizeTransactionalId } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";
import { fencedErrorFor } from "./transaction-errors.ts";

const PRODUCER_FENCED_VERSION_MIN = 3;

export const txnOffsetCommitHandler: ApiHandler<TxnOffsetCommitRequest, TxnOffsetCommitResponse> = {
  apiKey: 28,
  minVersion: 0,
  maxVersion: 4,
  handle(context, request) {
    const { broker, apiVersion } = context;
    const answer = (codeOf: (topic: string, partition: number) => number) => ({
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map(({ partitionIndex }) => ({ partitionIndex, errorCode: codeOf(topic.name, partitionIndex) })),
      })),
    });
    const unknown = (topic: string, partition: number) => !broker.topics.get(topic)?.partitions[partition];
    const metadataMax = broker.groups.settings.offsetMetadataBytesMax;
    const tooLarge = (metadata: string | null) => metadata !== null && Buffer.byteLength(metadata) > metadataMax;
    if (!authorizeTransactionalId(context, AclOperation.WRITE, request.transactionalId)) return answer(() => ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    if (!authorizeGroup(context, AclOperation.READ, request.groupId)) return answer(() => ErrorCode.GROUP_AUTHORIZATION_FAILED);
    const deniedTopics = new Set(request.topics.filter(({ name }) => !authorizeTopic(context, AclOperation.READ, name)).map(({ name }) => name));
    if (deniedTopics.size > 0) return answer((topic) => (deniedTopics.has(topic) ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : ErrorCode.OPERATION_NOT_ATTEMPTED));
    const memberError = broker.groups.validateTransactionalCommit(request.groupId, request.generationId, request.memberId, request.groupInstanceId);
    if (memberError !== ErrorCode.NONE) return answer(() => memberError);
    const offsets = request.topics.flatMap((topic) =>
      topic.partitions
        .filter((partition) => !unknown(topic.name, partition.partitionIndex) && !tooLarge(partition.committedMetadata))
        .map((partition) => ({
          topic: topic.name,
          partition: partition.partitionIndex,
          offset: Number(partition.committedOffset),
          leaderEpoch: partition.committedLeaderEpoch,
          metadata: partition.committedMetadata ?? "",
        })),
    );
    const errorCode = fencedErrorFor(
      broker.transactions.txnOffsetCommit(request.transactionalId, request.groupId, Number(request.producerId), request.producerEpoch, offsets),
      apiVersion,
      PRODUCER_FENCED_VERSION_MIN,
    );
    const metadataOf = (topic: string, partition: number) =>
      request.topics.find((t) => t.name === topic)?.partitions.find((p) => p.partitionIndex === partition)?.committedMetadata ?? null;
    return answer((topic, partition) => {
      if (unknown(topic, partition)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      if (tooLarge(metadataOf(topic, partition))) return ErrorCode.OFFSET_METADATA_TOO_LARGE;
      return errorCode;
    });
  },
};
