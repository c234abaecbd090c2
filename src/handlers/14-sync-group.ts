// SyncGroup: v0–5
// Behaviour (src/groups/coordinator.ts):
// - In CompletingRebalance every member's SyncGroup waits for the leader's; the leader's assignment is stored in
//   __consumer_offsets, each member gets its own part (empty when the leader left it out) and the group is Stable.
// - In Stable a member gets its current assignment at once; in PreparingRebalance REBALANCE_IN_PROGRESS.
// - Errors: INVALID_GROUP_ID, UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_INSTANCE_ID, INCONSISTENT_GROUP_PROTOCOL
//   (v5 protocolType/protocolName that differ from the group's), REBALANCE_IN_PROGRESS.
// - Members that do not sync within the rebalance timeout are removed and a new rebalance starts.
// With an authorizer: READ on the group, else GROUP_AUTHORIZATION_FAILED, as Kafka.
// Version notes: v1 throttleTimeMs; v3 groupInstanceId; v4 flexible; v5 protocolType/protocolName.

import type { SyncGroupRequest, SyncGroupResponse } from "../protocol/messages/14-sync-group.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import { AclOperation, authorizeGroup } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";

export const syncGroupHandler: ApiHandler<SyncGroupRequest, SyncGroupResponse> = {
  apiKey: 14,
  minVersion: 0,
  maxVersion: 5,
  async handle(context, request) {
    if (!authorizeGroup(context, AclOperation.READ, request.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
    const result = await context.broker.groups.syncGroup({
      groupId: request.groupId,
      generationId: request.generationId,
      memberId: request.memberId,
      groupInstanceId: request.groupInstanceId,
      protocolType: request.protocolType,
      protocolName: request.protocolName,
      assignments: request.assignments,
    });
    return {
      throttleTimeMs: 0,
      errorCode: result.errorCode,
      protocolType: result.protocolType,
      protocolName: result.protocolName,
      assignment: result.assignment,
    };
  },
};
