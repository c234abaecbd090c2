// OffsetForLeaderEpoch: v2–4 (Kafka 4 dropped v0–1). Consumers send it after a leader change (KIP-320) to check that
// the offset they hold was not truncated away; librdkafka and the Java consumer validate positions with it.
// Behaviour:
// - One node has led every partition since it was created, at leader epoch 0 (PARTITION_LEADER_EPOCH). So:
//   - currentLeaderEpoch -1 skips the check; above 0 is UNKNOWN_LEADER_EPOCH (the client knows a newer leader than
//     this one, as Kafka answers), below 0 otherwise impossible;
//   - the requested epoch 0 ends at the log end offset; a larger epoch, or -1, gets epoch -1 and end offset -1
//     (Kafka's UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET).
// - Unknown topic or partition: UNKNOWN_TOPIC_OR_PARTITION. With an authorizer: DESCRIBE on the topic
//   (TOPIC_AUTHORIZATION_FAILED), as Kafka asks of consumers.

import { PARTITION_LEADER_EPOCH } from "../metadata/topic-store.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import type { OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse } from "../protocol/messages/23-offset-for-leader-epoch.ts";
import { AclOperation, authorizeTopic } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";

const UNDEFINED_EPOCH = -1;
const UNDEFINED_EPOCH_OFFSET = -1n;
const NO_CURRENT_EPOCH = -1;

export const offsetForLeaderEpochHandler: ApiHandler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse> = {
  apiKey: 23,
  minVersion: 2,
  maxVersion: 4,
  handle(context, request) {
    const { broker } = context;
    return {
      throttleTimeMs: 0,
      topics: request.topics.map(({ topic, partitions }) => {
        const allowed = authorizeTopic(context, AclOperation.DESCRIBE, topic);
        const found = allowed ? broker.topics.get(topic) : undefined;
        return {
          topic,
          partitions: partitions.map(({ partition, currentLeaderEpoch, leaderEpoch }) => {
            const refused = (errorCode: number) => ({ errorCode, partition, leaderEpoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET });
            if (!allowed) return refused(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
            const log = found?.partitions[partition];
            if (!log) return refused(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
            if (currentLeaderEpoch !== NO_CURRENT_EPOCH && currentLeaderEpoch > PARTITION_LEADER_EPOCH) return refused(ErrorCode.UNKNOWN_LEADER_EPOCH);
            if (currentLeaderEpoch !== NO_CURRENT_EPOCH && currentLeaderEpoch < PARTITION_LEADER_EPOCH) return refused(ErrorCode.FENCED_LEADER_EPOCH);
            if (leaderEpoch !== PARTITION_LEADER_EPOCH) return refused(ErrorCode.NONE);
            return { errorCode: ErrorCode.NONE, partition, leaderEpoch: PARTITION_LEADER_EPOCH, endOffset: BigInt(log.logEndOffset) };
          }),
        };
      }),
    };
  },
};
