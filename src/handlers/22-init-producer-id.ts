// InitProducerId: v0–5
// Behaviour (src/transactions/transaction-coordinator.ts):
// - Without a transactional id: a new producer id at epoch 0 for an idempotent producer, or (v3+, KIP-360) the same
//   id at the next epoch when the producer sends its current id and epoch.
// - With one: the id's producer id at the next epoch (a new id once the epoch is exhausted); an open transaction of
//   the previous incarnation is aborted first; INVALID_TRANSACTION_TIMEOUT above transaction.max.timeout.ms;
//   CONCURRENT_TRANSACTIONS while a commit/abort is being written; PRODUCER_FENCED (INVALID_PRODUCER_EPOCH before v4)
//   for an id/epoch that is neither the current nor the previous one.
// - Producer ids are reserved in blocks written to __transaction_state first, so none is handed out twice.
// Not emulated: v6 keepPreparedTxn (two-phase commit, KIP-939).

import type { InitProducerIdRequest, InitProducerIdResponse } from "../protocol/messages/22-init-producer-id.ts";
import type { ApiHandler } from "./handler.ts";
import { fencedErrorFor } from "./transaction-errors.ts";

const PRODUCER_FENCED_VERSION_MIN = 4;

export const initProducerIdHandler: ApiHandler<InitProducerIdRequest, InitProducerIdResponse> = {
  apiKey: 22,
  minVersion: 0,
  maxVersion: 5,
  async handle(context, request) {
    const { broker, apiVersion } = context;
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
