// DeleteGroups: v0–2
// Behaviour (src/groups/coordinator.ts): an Empty group is deleted with its committed offsets (tombstones in
// __consumer_offsets); a group with members gets NON_EMPTY_GROUP, an unknown one GROUP_ID_NOT_FOUND.
// Not emulated: authorization.
// Version notes: v1 same as v0; v2 flexible.

import type { DeleteGroupsRequest, DeleteGroupsResponse } from "../protocol/messages/42-delete-groups.ts";
import type { ApiHandler } from "./handler.ts";

export const deleteGroupsHandler: ApiHandler<DeleteGroupsRequest, DeleteGroupsResponse> = {
  apiKey: 42,
  minVersion: 0,
  maxVersion: 2,
  handle(context, request) {
    return { throttleTimeMs: 0, results: context.broker.groups.deleteGroups(request.groupsNames) };
  },
};
