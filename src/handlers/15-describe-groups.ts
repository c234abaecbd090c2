// DescribeGroups: v0–5
// Behaviour (src/groups/coordinator.ts): state, protocol type, the selected protocol and the members with client id
// and host; member metadata and assignment only in Stable (Kafka's GroupMetadata.summary). An unknown group is
// described as Dead with no error, as Kafka does up to v5 (v6 would return GROUP_ID_NOT_FOUND); so is a KIP-848
// group, which Kafka's describeGroups looks up as a classic group and does not find (tools then use
// ConsumerGroupDescribe, as Kafka's admin client does).
// Authorized operations (v3+) are the group operations the principal may perform when asked for, else INT32_MIN.
// With an authorizer, a group the principal may not DESCRIBE gets GROUP_AUTHORIZATION_FAILED, as Kafka.
// Version notes: v1 throttleTimeMs; v3 authorized operations; v4 groupInstanceId; v5 flexible.

import type { DescribeGroupsRequest, DescribeGroupsResponse } from "../protocol/messages/15-describe-groups.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import { AclOperation, ResourceType, authorizeGroup, authorizedOperations, AUTHORIZED_OPERATIONS_OMITTED } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";

/** Kafka's group operations: READ, DELETE, DESCRIBE. */
const GROUP_OPERATIONS = [AclOperation.READ, AclOperation.DELETE, AclOperation.DESCRIBE];

export const describeGroupsHandler: ApiHandler<DescribeGroupsRequest, DescribeGroupsResponse> = {
  apiKey: 15,
  minVersion: 0,
  maxVersion: 5,
  handle(context, request) {
    const allowed = request.groups.filter((groupId) => authorizeGroup(context, AclOperation.DESCRIBE, groupId));
    const described = new Map(context.broker.groups.describeGroups(allowed).map((group) => [group.groupId, group]));
    return {
      throttleTimeMs: 0,
      groups: request.groups.map((groupId) => {
        const group = described.get(groupId);
        if (!group) return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, groupId, authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED };
        return {
          errorCode: group.errorCode,
          groupId: group.groupId,
          groupState: group.state,
          protocolType: group.protocolType,
          protocolData: group.protocolData,
          members: group.members,
          authorizedOperations: request.includeAuthorizedOperations
            ? authorizedOperations(context, ResourceType.GROUP, group.groupId, GROUP_OPERATIONS)
            : AUTHORIZED_OPERATIONS_OMITTED,
        };
      }),
    };
  },
};
