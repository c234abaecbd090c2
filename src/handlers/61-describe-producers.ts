// DescribeProducers: v0 — the idempotent/transactional producers a partition knows (id, epoch, last sequence, last
// timestamp, coordinator epoch, first offset of an open transaction), from its producer state
// (kafka-transactions.sh describe-producers, used to find hanging transactions). With an authorizer: READ on the
// topic (TOPIC_AUTHORIZATION_FAILED).

import { ErrorCode } from "../protocol/error-codes.ts";
import type { DescribeProducersRequest, DescribeProducersResponse } from "../protocol/messages/61-describe-producers.ts";
import { AclOperation, authorizeTopic } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";

export const describeProducersHandler: ApiHandler<DescribeProducersRequest, DescribeProducersResponse> = {
  apiKey: 61,
  minVersion: 0,
  maxVersion: 0,
  handle(context, request) {
    const { broker } = context;
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitionIndexes.map((partitionIndex) => {
          if (!authorizeTopic(context, AclOperation.READ, topic.name)) {
            return { partitionIndex, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: null, activeProducers: [] };
          }
          const log = broker.topics.get(topic.name)?.partitions[partitionIndex];
          if (!log) return { partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null, activeProducers: [] };
          const producers = [...broker.producerStates.of(log).producers.values()];
          return {
            partitionIndex,
            errorCode: ErrorCode.NONE,
            errorMessage: null,
            activeProducers: producers.map((producer) => ({
              producerId: BigInt(producer.producerId),
              producerEpoch: producer.epoch,
              lastSequence: producer.batches.at(-1)?.lastSequence ?? -1,
              lastTimestamp: BigInt(producer.lastTimestamp),
              coordinatorEpoch: producer.coordinatorEpoch,
              currentTxnStartOffset: BigInt(producer.transactionFirstOffset),
            })),
          };
        }),
      })),
    };
  },
};
