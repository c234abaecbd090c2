// AddOffsetsToTxn: v0–4
// Behaviour: the group joins the producer's transaction (Kafka adds the group's __consumer_offsets partition), so
// TxnOffsetCommit may follow; the transaction becomes Ongoing. Errors as AddPartitionsToTxn (PRODUCER_FENCED is
// INVALID_PRODUCER_EPOCH before v2).

import type { AddOffsetsToTxnRequest, AddOffsetsToTxnResponse } from "../protocol/messages/25-add-offsets-to-txn.ts";
import type { ApiHandler } from "./handler.ts";
import { fencedErrorFor } from "./transaction-errors.ts";

const PRODUCER_FENCED_VERSION_MIN = 2;

export const addOffsetsToTxnHandler: ApiHandler<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse> = {
  apiKey: 25,
  minVersion: 0,
  maxVersion: 4,
  async handle(context, request) {
    const { broker, apiVersion } = context;
    const errorCode = await broker.transactions.addOffsets(request.transactionalId, Number(request.producerId), request.producerEpoch, request.groupId);
    return { throttleTimeMs: 0, errorCode: fencedErrorFor(errorCode, apiVersion, PRODUCER_FENCED_VERSION_MIN) };
  },
};
