// AddOffsetsToTxn: v0–4
// Behaviour: the group joins the producer's transaction (Kafka adds the group's __consumer_offsets partition), so
// TxnOffsetCommit may follow; the transaction becomes Ongoing. Errors as AddPartitionsToTxn (PRODUCER_FENCED is
// INVALID_PRODUCER_EPOCH before v2). With an authorizer: WRITE on the transactional id, READ on the group.

import type { AddOffsetsToTxnRequest, AddOffsetsToTxnResponse } from "../protocol/messages/25-add-offsets-to-txn.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import { AclOperation, authorizeGroup, authorizeTransactionalId } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";
import { fencedErrorFor } from "./transaction-errors.ts";

const PRODUCER_FENCED_VERSION_MIN = 2;

export const addOffsetsToTxnHandler: ApiHandler<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse> = {
  apiKey: 25,
  minVersion: 0,
  maxVersion: 4,
  async handle(context, request) {
    const { broker, apiVersion } = context;
    if (!authorizeTransactionalId(context, AclOperation.WRITE, request.transactionalId)) return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED };
    if (!authorizeGroup(context, AclOperation.READ, request.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
    const errorCode = await broker.transactions.addOffsets(request.transactionalId, Number(request.producerId), request.producerEpoch, request.groupId);
    return { throttleTimeMs: 0, errorCode: fencedErrorFor(errorCode, apiVersion, PRODUCER_FENCED_VERSION_MIN) };
  },
};
