// ListGroups: v0–5
// Behaviour (src/groups/coordinator.ts): every group this node coordinates except Dead ones, with protocol type
// ("consumer" for KIP-848 groups, as Kafka); v4+ filters by state (case-insensitive, empty = all; KIP-848 groups are
// Empty, Assigning, Reconciling or Stable) and reports it; v5 reports the type, "classic" or "consumer", and filters
// by it (case-insensitive, empty = all).
// With an authorizer: DESCRIBE on the cluster lists every group, else only the groups the principal may DESCRIBE
// (Kafka's rule; no error either way).
// Version notes: v1 throttleTimeMs; v3 flexible; v4 statesFilter/groupState; v5 typesFilter/groupType.

import { ErrorCode } from "../protocol/error-codes.ts";
import type { ListGroupsRequest, ListGroupsResponse } from "../protocol/messages/16-list-groups.ts";
import { AclOperation, authorizeCluster, authorizeGroup } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";

export const listGroupsHandler: ApiHandler<ListGroupsRequest, ListGroupsResponse> = {
  apiKey: 16,
  minVersion: 0,
  maxVersion: 5,
  handle(context, request) {
    const types = request.typesFilter.map((type) => type.toLowerCase());
    const listed = context.broker.groups.listGroups(request.statesFilter).filter((group) => types.length === 0 || types.includes(group.groupType));
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
        groupType: group.groupType,
      })),
    };
  },
};
