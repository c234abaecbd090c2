// AddPartitionsToTxn: v0–5
// Behaviour (src/transactions/transaction-coordinator.ts):
// - v0–3 (clients): one transaction; the partitions join it (durable before the answer) and it becomes Ongoing.
//   Unknown partitions get UNKNOWN_TOPIC_OR_PARTITION and the others OPERATION_NOT_ATTEMPTED, nothing is added.
// - v4+ (the batched form brokers use, KIP-890): several transactions, each answered on its own; verifyOnly only
//   checks that the partitions are already in the transaction (INVALID_TXN_STATE for those that are not).
// - Producer errors per partition: INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED (INVALID_PRODUCER_EPOCH before v2),
//   CONCURRENT_TRANSACTIONS.
// - With an authorizer: WRITE on the transactional id (else TRANSACTIONAL_ID_AUTHORIZATION_FAILED everywhere) and on
//   each topic (TOPIC_AUTHORIZATION_FAILED for its partitions, OPERATION_NOT_ATTEMPTED for the rest), as Kafka.

import type { Broker } from "../broker.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import type {
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnResponse,
  AddPartitionsToTxnTopic,
  AddPartitionsToTxnTopicResult,
} from "../protocol/messages/24-add-partitions-to-txn.ts";
import { AclOperation, authorizeTopic, authorizeTransactionalId } from "../security/authorize.ts";
import type { ApiHandler, RequestContext } from "./handler.ts";
import { fencedErrorFor } from "./transaction-errors.ts";

const BATCHED_VERSION_MIN = 4;
const PRODUCER_FENCED_VERSION_MIN = 2;

async function addPartitions(
  context: RequestContext,
  apiVersion: number,
  transactionalId: string,
  producerId: bigint,
  producerEpoch: number,
  topics: AddPartitionsToTxnTopic[],
  verifyOnly: boolean,
): Promise<AddPartitionsToTxnTopicResult[]> {
  const everywhere = (errorCode: number) =>
    topics.map(({ name, partitions }) => ({ name, resultsByPartition: partitions.map((partitionIndex) => ({ partitionIndex, partitionErrorCode: errorCode })) }));
  if (!authorizeTransactionalId(context, AclOperation.WRITE, transactionalId)) return everywhere(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  const deniedTopics = new Set(topics.filter(({ name }) => !authorizeTopic(context, AclOperation.WRITE, name)).map(({ name }) => name));
  if (deniedTopics.size > 0) {
    return topics.map(({ name, partitions }) => ({
      name,
      resultsByPartition: partitions.map((partitionIndex) => ({
        partitionIndex,
        partitionErrorCode: deniedTopics.has(name) ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : ErrorCode.OPERATION_NOT_ATTEMPTED,
      })),
    }));
  }
  const broker: Broker = context.broker;
  const wanted = topics.map(({ name, partitions }) => ({ topic: name, partitions }));
  const codes = await broker.transactions.addPartitions(transactionalId, Number(producerId), producerEpoch, wanted, verifyOnly);
  return topics.map(({ name, partitions }) => ({
    name,
    resultsByPartition: partitions.map((partitionIndex) => ({
      partitionIndex,
      partitionErrorCode: fencedErrorFor(codes.get(name)?.get(partitionIndex) ?? ErrorCode.UNKNOWN_SERVER_ERROR, apiVersion, PRODUCER_FENCED_VERSION_MIN),
    })),
  }));
}

export const addPartitionsToTxnHandler: ApiHandler<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse> = {
  apiKey: 24,
  minVersion: 0,
  maxVersion: 5,
  async handle(context, request) {
    const { apiVersion } = context;
    if (apiVersion < BATCHED_VERSION_MIN) {
      const resultsByTopicV3AndBelow = await addPartitions(
        context,
        apiVersion,
        request.v3AndBelowTransactionalId,
        request.v3AndBelowProducerId,
        request.v3AndBelowProducerEpoch,
        request.v3AndBelowTopics,
        false,
      );
      return { throttleTimeMs: 0, resultsByTopicV3AndBelow };
    }
    const resultsByTransaction = await Promise.all(
      request.transactions.map(async (transaction) => ({
        transactionalId: transaction.transactionalId,
        topicResults: await addPartitions(
          context,
          apiVersion,
          transaction.transactionalId,
          transaction.producerId,
          transaction.producerEpoch,
          transaction.topics,
          transaction.verifyOnly,
        ),
      })),
    );
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction };
  },
};
