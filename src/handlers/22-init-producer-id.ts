// InitProducerId: v0–5
// Behaviour (src/transactions/transaction-coordinator.ts):
// - Without a transactional id: a new producer id at epoch 0 for an idempotent producer, whatever id and epoch it
//   sends (as Kafka: @platformatic/kafka sends 0/0, so trusting it would give every such producer id 0).
// - With one: the id's producer id at the next epoch (a new id once the epoch is exhausted); an open transaction of
//   the previous incarnation is aborted first; INVALID_TRANSACTION_TIMEOUT above transaction.max.timeout.ms;
//   CONCURRENT_TRANSACTIONS while a commit/abort is being written; PRODUCER_FENCED (INVALID_PRODUCER_EPOCH before v4)
//   for an id/epoch that is neither the current nor the previous one.
// - Producer ids are reserved in blocks written to __transaction_state first, so none is handed out twice.
// - With an authorizer: WRITE on the transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED); without one,
//   IDEMPOTENT_WRITE on the cluster or WRITE on any topic (CLUSTER_AUTHORIZATION_FAILED), as Kafka 2.8+.
// Not emulated: v6 keepPreparedTxn (two-phase commit, KIP-939).

import type { InitProducerIdRequest, InitProducerIdResponse } from "../protocol/messages/22-init-producer-id.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import { AclOperation, authorizeIdempotentWrite, authorizeTransactionalId } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";
import { fencedErrorFor } from "./transaction-errors.ts";

const PRODUCER_FENCED_VERSION_MIN = 4;

export const initProducerIdHandler: ApiHandler<InitProducerIdRequest, InitProducerIdResponse> = {
  apiKey: 22,
  minVersion: 0,
  maxVersion: 5,
  async handle(context, request) {
    const { broker, apiVersion } = context;
    const denied =
      request.transactionalId !== null
        ? !authorizeTransactionalId(context, AclOperation.WRITE, request.transactionalId) && ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
        : !authorizeIdempotentWrite(context) && ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
    if (denied) return { throttleTimeMs: 0, errorCode: denied, producerId: -1n, producerEpoch: -1 };
    const result = await broker.transactions.initProducerId(
      request.transactionalId,
      request.transactionTimeoutMs,
      Number(request.producerId),
      request.producerEpoch,
    );
    return {
      throttleTimeMs: 0,
      errorCode: fencedErrorFor(result.errorCode, apiVersion, PRODUCER_FENCED_VERSION_MIN),
      producerId: BigInt(result.producerId),
      producerEpoch: result.producerEpoch,
    };
  },
};
