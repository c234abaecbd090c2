// ListGroups: v0–5
// Behaviour (src/groups/coordinator.ts): every group this node coordinates except Dead ones, with protocol type;
// v4+ filters by state (case-insensitive, empty = all) and reports it; v5 filters by type: all groups are "classic",
// so a types filter without "classic" lists nothing.
// With an authorizer: DESCRIBE on the cluster lists every group, else only the groups the principal may DESCRIBE
// (Kafka's rule; no error either way).
// Version notes: v1 throttleTimeMs; v3 flexible; v4 statesFilter/groupState; v5 typesFilter/groupType.

import { ErrorCode } from "../protocol/error-codes.ts";
import type { ListGroupsRequest, ListGroupsResponse } from "../protocol/messages/16-list-groups.ts";
import { AclOperation, authorizeCluster, authorizeGroup } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";

const CLASSIC_GROUP_TYPE = "classic";

export const listGroupsHandler: ApiHandler<ListGroupsRequest, ListGroupsResponse> = {
  apiKey: 16,
  minVersion: 0,
  maxVersion: 5,
  handle(context, request) {
    const types = request.typesFilter.map((type) => type.toLowerCase());
    const listed = types.length > 0 && !types.includes(CLASSIC_GROUP_TYPE) ? [] : context.broker.groups.listGroups(request.statesFilter);
    const groups = authorizeCluster(context, AclOperation.DESCRIBE, false)
      ? listed
      : listed.filter((group) => authorizeGroup(context, AclOperation.DESCRIBE, group.groupId, false));
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
