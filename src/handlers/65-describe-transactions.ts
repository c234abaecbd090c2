// DescribeTransactions: v0 — state, timeout, start time, producer id/epoch and partitions of each transactional id
// (kafka-transactions.sh describe); TRANSACTIONAL_ID_NOT_FOUND for an unknown id; with an authorizer, DESCRIBE on the
// transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED).

import { ErrorCode } from "../protocol/error-codes.ts";
import type { DescribeTransactionsRequest, DescribeTransactionsResponse } from "../protocol/messages/65-describe-transactions.ts";
import { AclOperation, authorizeTransactionalId } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";

export const describeTransactionsHandler: ApiHandler<DescribeTransactionsRequest, DescribeTransactionsResponse> = {
  apiKey: 65,
  minVersion: 0,
  maxVersion: 0,
  handle(context, request) {
    const { broker } = context;
    return {
      throttleTimeMs: 0,
      transactionStates: request.transactionalIds.map((transactionalId) => {
        const allowed = authorizeTransactionalId(context, AclOperation.DESCRIBE, transactionalId);
        const found = allowed ? broker.transactions.describe(transactionalId) : null;
        if (!found) {
          return {
            errorCode: allowed ? ErrorCode.TRANSACTIONAL_ID_NOT_FOUND : ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
            transactionalId,
            transactionState: "",
            transactionTimeoutMs: 0,
            transactionStartTimeMs: -1n,
            producerId: -1n,
            producerEpoch: -1,
            topics: [],
          };
        }
        return {
          errorCode: ErrorCode.NONE,
          transactionalId,
          transactionState: found.state,
          transactionTimeoutMs: found.timeoutMs,
          transactionStartTimeMs: BigInt(found.startTimeMs),
          producerId: BigInt(found.producerId),
          producerEpoch: found.producerEpoch,
          topics: found.partitions.map(({ topic, partitions }) => ({ topic, partitions })),
        };
      }),
    };
  },
};
