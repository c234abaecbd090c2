// DescribeGroups: v0–5
// Behaviour (src/groups/coordinator.ts): state, protocol type, the selected protocol and the members with client id
// and host; member metadata and assignment only in Stable (Kafka's GroupMetadata.summary). An unknown group is
// described as Dead with no error, as Kafka does up to v5 (v6 would return GROUP_ID_NOT_FOUND).
// Authorized operations (v3+) are all group operations when asked for (no authorizer yet), else INT32_MIN.
// Not emulated: authorization.
// Version notes: v1 throttleTimeMs; v3 authorized operations; v4 groupInstanceId; v5 flexible.

import type { DescribeGroupsRequest, DescribeGroupsResponse } from "../protocol/messages/15-describe-groups.ts";
import type { ApiHandler } from "./handler.ts";

const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;
/** READ, DELETE, DESCRIBE (AclOperation codes as bits). */
const GROUP_OPERATIONS_ALL = [3, 6, 8].reduce((bits, operation) => bits | (1 << operation), 0);

export const describeGroupsHandler: ApiHandler<DescribeGroupsRequest, DescribeGroupsResponse> = {
  apiKey: 15,
  minVersion: 0,
  maxVersion: 5,
  handle(context, request) {
    const authorizedOperations = request.includeAuthorizedOperations ? GROUP_OPERATIONS_ALL : AUTHORIZED_OPERATIONS_OMITTED;
    return {
      throttleTimeMs: 0,
      groups: context.broker.groups.describeGroups(request.groups).map((group) => ({
        errorCode: group.errorCode,
        groupId: group.groupId,
        groupState: group.state,
        protocolType: group.protocolType,
        protocolData: group.protocolData,
        members: group.members,
        authorizedOperations,
      })),
    };
  },
};
