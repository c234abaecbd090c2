// ConsumerGroupDescribe: v0–1
// Behaviour (src/groups/consumer-group/coordinator.ts, Kafka's ConsumerGroup.asDescribedGroup): per KIP-848 group its
// state (Empty, Assigning, Reconciling, Stable), group epoch, assignment epoch, the assignor in use and each member
// with its epoch, client id and host, subscription (names and regex), current and target assignment (topic ids and
// names). A classic group or an unknown id answers GROUP_ID_NOT_FOUND, as Kafka ("Group X is not a consumer group").
// Authorized operations are the group operations the principal may perform when asked for, else INT32_MIN.
// With an authorizer: DESCRIBE on each group, else GROUP_AUTHORIZATION_FAILED, as Kafka.
// Version notes: v1 MemberType (1: a member of the consumer protocol; kgate has no classic members in these groups).

import { ErrorCode } from "../protocol/error-codes.ts";
import type { ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse } from "../protocol/messages/69-consumer-group-describe.ts";
import { AclOperation, AUTHORIZED_OPERATIONS_OMITTED, ResourceType, authorizeGroup, authorizedOperations } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";

/** Kafka's group operations: READ, DELETE, DESCRIBE. */
const GROUP_OPERATIONS = [AclOperation.READ, AclOperation.DELETE, AclOperation.DESCRIBE];

export const consumerGroupDescribeHandler: ApiHandler<ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse> = {
  apiKey: 69,
  minVersion: 0,
  maxVersion: 1,
  handle(context, request) {
    const { groups } = context.broker;
    const failed = (groupId: string, errorCode: number, errorMessage: string | null) => ({
      errorCode,
      errorMessage,
      groupId,
      groupState: "",
      groupEpoch: 0,
      assignmentEpoch: 0,
      assignorName: "",
      members: [],
      authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    });
    return {
      throttleTimeMs: 0,
      groups: request.groupIds.map((groupId) => {
        if (!authorizeGroup(context, AclOperation.DESCRIBE, groupId)) return failed(groupId, ErrorCode.GROUP_AUTHORIZATION_FAILED, null);
        const described = groups.describeConsumerGroup(groupId);
        if (described === undefined) {
          const isClassic = groups.groupState(groupId) !== undefined;
          return failed(groupId, ErrorCode.GROUP_ID_NOT_FOUND, isClassic ? `Group ${groupId} is not a consumer group.` : `Group ${groupId} not found.`);
        }
        return {
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          ...described,
          authorizedOperations: request.includeAuthorizedOperations
            ? authorizedOperations(context, ResourceType.GROUP, groupId, GROUP_OPERATIONS)
            : AUTHORIZED_OPERATIONS_OMITTED,
        };
      }),
    };
  },
};
