// DeleteGroups: v0–2
// Behaviour (src/groups/coordinator.ts): an Empty group is deleted with its committed offsets (tombstones in
// __consumer_offsets); a group with members gets NON_EMPTY_GROUP, an unknown one GROUP_ID_NOT_FOUND. The same for
// KIP-848 groups (Empty: no members).
// With an authorizer: DELETE on each group, else GROUP_AUTHORIZATION_FAILED for it, as Kafka.
// Version notes: v1 same as v0; v2 flexible.

import type { DeleteGroupsRequest, DeleteGroupsResponse } from "../protocol/messages/42-delete-groups.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import { AclOperation, authorizeGroup } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";

export const deleteGroupsHandler: ApiHandler<DeleteGroupsRequest, DeleteGroupsResponse> = {
  apiKey: 42,
  minVersion: 0,
  maxVersion: 2,
  handle(context, request) {
    const allowed = request.groupsNames.filter((groupId) => authorizeGroup(context, AclOperation.DELETE, groupId));
    const deleted = context.broker.groups.deleteGroups(allowed);
    let next = 0;
    const results = request.groupsNames.map((groupId) =>
      allowed.includes(groupId) ? deleted[next++]! : { groupId, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED });
    return { throttleTimeMs: 0, results };
  },
};
