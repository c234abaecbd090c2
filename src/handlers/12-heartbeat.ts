// Heartbeat: v0–4
// Behaviour (src/groups/coordinator.ts): restarts the member's session timer. REBALANCE_IN_PROGRESS tells a member
// of PreparingRebalance to rejoin; UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_INSTANCE_ID and INVALID_GROUP_ID
// where Kafka returns them (an Empty group knows no members).
// With an authorizer: READ on the group, else GROUP_AUTHORIZATION_FAILED, as Kafka.
// Version notes: v1 throttleTimeMs; v3 groupInstanceId; v4 flexible.

import type { HeartbeatRequest, HeartbeatResponse } from "../protocol/messages/12-heartbeat.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import { AclOperation, authorizeGroup } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";

export const heartbeatHandler: ApiHandler<HeartbeatRequest, HeartbeatResponse> = {
  apiKey: 12,
  minVersion: 0,
  maxVersion: 4,
  handle(context, request) {
    if (!authorizeGroup(context, AclOperation.READ, request.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
    const errorCode = context.broker.groups.heartbeat(request.groupId, request.memberId, request.groupInstanceId, request.generationId);
    return { throttleTimeMs: 0, errorCode };
  },
};
