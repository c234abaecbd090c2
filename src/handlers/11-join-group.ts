// JoinGroup: v0–9
// Behaviour (Kafka's classic GroupCoordinator, src/groups/coordinator.ts):
// - A join starts or joins a rebalance; the answer waits until every known member rejoined or the rebalance timeout
//   ran out (a new group first waits group.initial.rebalance.delay.ms for more members). The leader gets the members
//   and their metadata for the protocol chosen (supported by all, preferred by most).
// - v4+ without group.instance.id: a first join with an empty member id gets MEMBER_ID_REQUIRED and a new id (KIP-394).
// - v5+ static members (KIP-345): a known group.instance.id joining with an empty member id takes over its old
//   member without a rebalance when the group is Stable; its old id gets FENCED_INSTANCE_ID.
// - Errors: INVALID_GROUP_ID (empty id), INVALID_SESSION_TIMEOUT, UNKNOWN_MEMBER_ID, INCONSISTENT_GROUP_PROTOCOL,
//   GROUP_MAX_SIZE_REACHED, FENCED_INSTANCE_ID, COORDINATOR_NOT_AVAILABLE (group deleted meanwhile).
// With an authorizer: READ on the group, else GROUP_AUTHORIZATION_FAILED, as Kafka.
// - A KIP-848 group of the same id: converted to a classic group when Empty (offsets kept), else
//   INCONSISTENT_GROUP_PROTOCOL (Kafka would take the member into a mixed group, which kgate does not run).
// Version notes: v0 has no rebalance timeout (the session timeout serves); v4 MEMBER_ID_REQUIRED; v5 static members;
// v6 flexible; v7 protocolType/protocolName in the answer; v8 reason; v9 skipAssignment.

import { clientHostOf } from "../groups/coordinator.ts";
import type { JoinGroupRequest, JoinGroupResponse } from "../protocol/messages/11-join-group.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import { AclOperation, authorizeGroup } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";

const REQUIRE_KNOWN_MEMBER_ID_VERSION_MIN = 4;
const SKIP_ASSIGNMENT_VERSION_MIN = 9;

export const joinGroupHandler: ApiHandler<JoinGroupRequest, JoinGroupResponse> = {
  apiKey: 11,
  minVersion: 0,
  maxVersion: 9,
  async handle(context, request) {
    const { apiVersion } = context;
    if (!authorizeGroup(context, AclOperation.READ, request.groupId)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, generationId: -1, memberId: request.memberId };
    }
    const result = await context.broker.groups.joinGroup({
      groupId: request.groupId,
      memberId: request.memberId,
      groupInstanceId: request.groupInstanceId,
      sessionTimeoutMs: request.sessionTimeoutMs,
      rebalanceTimeoutMs: apiVersion === 0 ? request.sessionTimeoutMs : request.rebalanceTimeoutMs,
      protocolType: request.protocolType,
      protocols: request.protocols,
      clientId: context.clientId ?? "",
      clientHost: clientHostOf(context.clientAddress),
      requireKnownMemberId: apiVersion >= REQUIRE_KNOWN_MEMBER_ID_VERSION_MIN && request.groupInstanceId === null,
      supportSkippingAssignment: apiVersion >= SKIP_ASSIGNMENT_VERSION_MIN,
    });
    return {
      throttleTimeMs: 0,
      errorCode: result.errorCode,
      generationId: result.generationId,
      protocolType: result.protocolType,
      // Before v7 the name is a non-nullable string.
      protocolName: result.protocolName ?? (apiVersion >= 7 ? null : ""),
      leader: result.leader,
      skipAssignment: result.skipAssignment,
      memberId: result.memberId,
      members: result.members,
    };
  },
};
