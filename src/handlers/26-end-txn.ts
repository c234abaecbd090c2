// EndTxn: v0–4
// Behaviour (src/transactions/transaction-coordinator.ts): commit or abort. PrepareCommit/PrepareAbort is made durable,
// a control batch (commit/abort marker) is appended to every partition of the transaction, committed offsets go to
// their groups, all of it fsynced (--flush always) before the answer; then CompleteCommit/CompleteAbort. A retried
// EndTxn of a finished transaction with the same outcome answers NONE; the other outcome, or an EndTxn with nothing
// begun, INVALID_TXN_STATE. PRODUCER_FENCED is INVALID_PRODUCER_EPOCH before v2. With an authorizer: WRITE on the
// transactional id.
// Not served: v5 (transaction version 2, KIP-890: an epoch bump per transaction) — clients use it only when the
// broker finalizes the transaction.version feature, which kgate does not.

import type { EndTxnRequest, EndTxnResponse } from "../protocol/messages/26-end-txn.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import { AclOperation, authorizeTransactionalId } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";
import { fencedErrorFor } from "./transaction-errors.ts";

const PRODUCER_FENCED_VERSION_MIN = 2;

export const endTxnHandler: ApiHandler<EndTxnRequest, EndTxnResponse> = {
  apiKey: 26,
  minVersion: 0,
  maxVersion: 4,
  async handle(context, request) {
    const { broker, apiVersion } = context;
    if (!authorizeTransactionalId(context, AclOperation.WRITE, request.transactionalId)) return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED };
    const errorCode = await broker.transactions.endTxn(request.transactionalId, Number(request.producerId), request.producerEpoch, request.committed);
    return { throttleTimeMs: 0, errorCode: fencedErrorFor(errorCode, apiVersion, PRODUCER_FENCED_VERSION_MIN) };
  },
};
