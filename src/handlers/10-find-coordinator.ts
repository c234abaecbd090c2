// FindCoordinator: v0–6
// Behaviour:
// - Group keys (key type 0): always this node at its advertised address; one node coordinates every group.
// - v4+ batches keys (CoordinatorKeys) and answers one Coordinator per key; v0–3 carry one key and top-level fields.
// - Transaction keys (type 1): COORDINATOR_NOT_AVAILABLE, a retriable error, until transactions exist, so a
//   transactional producer fails with a clear timeout instead of sending transaction APIs this node does not serve.
// - Share-group keys (type 2, v6) and unknown key types: INVALID_REQUEST.
// Not emulated: authorization (GROUP/TRANSACTIONAL_ID_AUTHORIZATION_FAILED), other listeners.
// Version notes: v1 keyType, errorMessage and throttleTimeMs; v3 flexible; v4 batched keys; v5 TRANSACTION_ABORTABLE
// (unused); v6 share-group keys.

import type { Broker } from "../broker.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import type { FindCoordinatorRequest, FindCoordinatorResponse } from "../protocol/messages/10-find-coordinator.ts";
import type { ListenerConfig } from "../security/listeners.ts";
import type { ApiHandler } from "./handler.ts";

const KEY_TYPE_GROUP = 0;
const KEY_TYPE_TRANSACTION = 1;
const BATCHED_KEYS_VERSION_MIN = 4;

interface CoordinatorAnswer {
  nodeId: number;
  host: string;
  port: number;
  errorCode: number;
  errorMessage: string | null;
}

function coordinatorFor(broker: Broker, listener: ListenerConfig, keyType: number): CoordinatorAnswer {
  const { config } = broker;
  if (keyType === KEY_TYPE_GROUP) {
    // This node, at the address advertised for the request's listener.
    return { nodeId: config.nodeId, host: listener.advertisedHost, port: listener.advertisedPort, errorCode: ErrorCode.NONE, errorMessage: null };
  }
  const errorCode = keyType === KEY_TYPE_TRANSACTION ? ErrorCode.COORDINATOR_NOT_AVAILABLE : ErrorCode.INVALID_REQUEST;
  const errorMessage =
    keyType === KEY_TYPE_TRANSACTION ? "transactions are not supported by this broker yet" : `unsupported coordinator key type ${keyType}`;
  return { nodeId: -1, host: "", port: -1, errorCode, errorMessage };
}

export const findCoordinatorHandler: ApiHandler<FindCoordinatorRequest, FindCoordinatorResponse> = {
  apiKey: 10,
  minVersion: 0,
  maxVersion: 6,
  handle(context, request) {
    const { broker, apiVersion } = context;
    if (apiVersion >= BATCHED_KEYS_VERSION_MIN) {
      return {
        throttleTimeMs: 0,
        coordinators: request.coordinatorKeys.map((key) => ({ key, ...coordinatorFor(broker, context.security.listener, request.keyType) })),
      };
    }
    return { throttleTimeMs: 0, ...coordinatorFor(broker, context.security.listener, request.keyType) };
  },
};
