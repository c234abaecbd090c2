// LeaveGroup: v0–5
// Behaviour (src/groups/coordinator.ts):
// - Removes each member and starts a rebalance for the rest (or completes the one in progress). A member id of ""
//   with a group.instance.id removes that static member (admin tools, v3+). A KIP-394 pending member id just goes.
// - v3+ answers per member; v0–2 carry one member and its error at the top level, as Kafka's LeaveGroupResponse.
// - Unknown group: UNKNOWN_MEMBER_ID per member; empty group id: INVALID_GROUP_ID.
// With an authorizer: READ on the group, else GROUP_AUTHORIZATION_FAILED, as Kafka.
// Version notes: v1 throttleTimeMs; v3 batched members with groupInstanceId; v4 flexible; v5 reason.

import type { LeaveGroupRequest, LeaveGroupResponse } from "../protocol/messages/13-leave-group.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import { AclOperation, authorizeGroup } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";

const BATCHED_MEMBERS_VERSION_MIN = 3;

export const leaveGroupHandler: ApiHandler<LeaveGroupRequest, LeaveGroupResponse> = {
  apiKey: 13,
  minVersion: 0,
  maxVersion: 5,
  handle(context, request) {
    if (!authorizeGroup(context, AclOperation.READ, request.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
    const batched = context.apiVersion >= BATCHED_MEMBERS_VERSION_MIN;
    const leaving = batched
      ? request.members.map(({ memberId, groupInstanceId }) => ({ memberId, groupInstanceId }))
      : [{ memberId: request.memberId, groupInstanceId: null }];
    const result = context.broker.groups.leaveGroup(request.groupId, leaving);
    if (batched) return { throttleTimeMs: 0, errorCode: result.errorCode, members: result.members };
    const memberError = result.members.find((member) => member.errorCode !== ErrorCode.NONE)?.errorCode ?? ErrorCode.NONE;
    return { throttleTimeMs: 0, errorCode: result.errorCode !== ErrorCode.NONE ? result.errorCode : memberError };
  },
};
