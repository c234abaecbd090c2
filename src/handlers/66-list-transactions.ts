// ListTransactions: v0–2 — transactional ids with their producer id and state, filtered by state, producer id,
// v1 minimum running time (durationFilter ms, open transactions only) and v2 an id pattern (a regular expression;
// INVALID_REQUEST when it does not compile). Unknown state names come back in unknownStateFilters. With an authorizer,
// only ids the principal may DESCRIBE are listed.

import { ErrorCode } from "../protocol/error-codes.ts";
import type { ListTransactionsRequest, ListTransactionsResponse } from "../protocol/messages/66-list-transactions.ts";
import { AclOperation, authorizeTransactionalId } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";

const KNOWN_STATES = new Set(["Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort", "Dead", "PrepareEpochFence"]);

export const listTransactionsHandler: ApiHandler<ListTransactionsRequest, ListTransactionsResponse> = {
  apiKey: 66,
  minVersion: 0,
  maxVersion: 2,
  handle(context, request) {
    const { broker } = context;
    let pattern: RegExp | null = null;
    if (request.transactionalIdPattern !== null && request.transactionalIdPattern.length > 0) {
      try {
        pattern = new RegExp(`^(?:${request.transactionalIdPattern})$`);
      } catch {
        return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, unknownStateFilters: [], transactionStates: [] };
      }
    }
    const states = new Set(request.stateFilters);
    const producerIds = new Set(request.producerIdFilters.map(Number));
    const minDurationMs = Number(request.durationFilter);
    const now = Date.now();
    const transactionStates = broker.transactions
      .list()
      .filter((transaction) => states.size === 0 || states.has(transaction.state))
      .filter((transaction) => producerIds.size === 0 || producerIds.has(transaction.producerId))
      .filter((transaction) => minDurationMs < 0 || (transaction.startTimeMs >= 0 && now - transaction.startTimeMs >= minDurationMs))
      .filter((transaction) => pattern === null || pattern.test(transaction.transactionalId))
      .filter((transaction) => authorizeTransactionalId(context, AclOperation.DESCRIBE, transaction.transactionalId, false))
      .map((transaction) => ({ transactionalId: transaction.transactionalId, producerId: BigInt(transaction.producerId), transactionState: transaction.state }));
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      unknownStateFilters: request.stateFilters.filter((state) => !KNOWN_STATES.has(state)),
      transactionStates,
    };
  },
};
