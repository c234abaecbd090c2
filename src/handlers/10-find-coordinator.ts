// FindCoordinator: v0–6
// Behaviour:
// - Group keys (key type 0) and transactional ids (key type 1): always this node at its advertised address; one
//   node coordinates every group and every transaction.
// - v4+ batches keys (CoordinatorKeys) and answers one Coordinator per key; v0–3 carry one key and top-level fields.
// - Share-group keys (type 2, v6) and unknown key types: INVALID_REQUEST.
// - With an authorizer: DESCRIBE on the group (GROUP_AUTHORIZATION_FAILED) or transactional id
//   (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), per key.
// Not emulated: other listeners.
// Version notes: v1 keyType, errorMessage and throttleTimeMs; v3 flexible; v4 batched keys; v5 TRANSACTION_ABORTABLE
// (unused); v6 share-group keys.

import type { Broker } from "../broker.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import type { FindCoordinatorRequest, FindCoordinatorResponse } from "../protocol/messages/10-find-coordinator.ts";
import { AclOperation, ResourceType, authorize } from "../security/authorize.ts";
import type { ListenerConfig } from "../security/listeners.ts";
import type { ApiHandler, RequestContext } from "./handler.ts";

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
  if (keyType === KEY_TYPE_GROUP || keyType === KEY_TYPE_TRANSACTION) {
    // This node, at the address advertised for the request's listener.
    return { nodeId: config.nodeId, host: listener.advertisedHost, port: listener.advertisedPort, errorCode: ErrorCode.NONE, errorMessage: null };
  }
  return { nodeId: -1, host: "", port: -1, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `unsupported coordinator key type ${keyType}` };
}

/** Kafka checks DESCRIBE on the key's resource before answering where its coordinator is. */
function answerFor(context: RequestContext, keyType: number, key: string): CoordinatorAnswer {
  const resource =
    keyType === KEY_TYPE_GROUP ? { type: ResourceType.GROUP, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED }
    : keyType === KEY_TYPE_TRANSACTION ? { type: ResourceType.TRANSACTIONAL_ID, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED }
    : null;
  if (resource && !authorize(context, AclOperation.DESCRIBE, resource.type, key)) {
    return { nodeId: -1, host: "", port: -1, errorCode: resource.errorCode, errorMessage: null };
  }
  return coordinatorFor(context.broker, context.security.listener, keyType);
}

export const findCoordinatorHandler: ApiHandler<FindCoordinatorRequest, FindCoordinatorResponse> = {
  apiKey: 10,
  minVersion: 0,
  maxVersion: 6,
  handle(context, request) {
    if (context.apiVersion >= BATCHED_KEYS_VERSION_MIN) {
      return {
        throttleTimeMs: 0,
        coordinators: request.coordinatorKeys.map((key) => ({ key, ...answerFor(context, request.keyType, key) })),
      };
    }
    return { throttleTimeMs: 0, ...answerFor(context, request.keyType, request.key) };
  },
};
