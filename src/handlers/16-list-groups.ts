// ListGroups: v0–5
// Behaviour (src/groups/coordinator.ts): every group this node coordinates except Dead ones, with protocol type;
// v4+ filters by state (case-insensitive, empty = all) and reports it; v5 filters by type: all groups are "classic",
// so a types filter without "classic" lists nothing.
// Not emulated: authorization (DESCRIBE on each group).
// Version notes: v1 throttleTimeMs; v3 flexible; v4 statesFilter/groupState; v5 typesFilter/groupType.

import { ErrorCode } from "../protocol/error-codes.ts";
import type { ListGroupsRequest, ListGroupsResponse } from "../protocol/messages/16-list-groups.ts";
import type { ApiHandler } from "./handler.ts";

const CLASSIC_GROUP_TYPE = "classic";

export const listGroupsHandler: ApiHandler<ListGroupsRequest, ListGroupsResponse> = {
  apiKey: 16,
  minVersion: 0,
  maxVersion: 5,
  handle(context, request) {
    const types = request.typesFilter.map((type) => type.toLowerCase());
    const groups = types.length > 0 && !types.includes(CLASSIC_GROUP_TYPE) ? [] : context.broker.groups.listGroups(request.statesFilter);
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      groups: groups.map((group) => ({
        groupId: group.groupId,
        protocolType: group.protocolType,
        groupState: group.state,
        groupType: CLASSIC_GROUP_TYPE,
      })),
    };
  },
};
