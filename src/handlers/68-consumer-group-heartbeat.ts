// ConsumerGroupHeartbeat: v0–1
// Behaviour (KIP-848, src/groups/consumer-group/coordinator.ts, Kafka 4's GroupMetadataManager.consumerGroupHeartbeat):
// - Epoch 0 joins (a member id of "" gets a new one in v0), a positive epoch heartbeats, -1 leaves, -2 is a static
//   member leaving for a while: it keeps its partitions until its session ends or it rejoins with its instance id.
// - The broker computes the target assignment with the member's ServerAssignor ("uniform" by default, or "range";
//   UNSUPPORTED_ASSIGNOR otherwise; the group uses the one most members ask for) whenever the group epoch moves:
//   a member joins, leaves, changes its subscription, or a subscribed topic is created, deleted or repartitioned
//   (seen at the next heartbeat of any member). Partitions move incrementally: one is given to its new owner only
//   once the old owner stopped listing it as owned.
// - The answer carries the member id and epoch, the heartbeat interval (group.consumer.heartbeat.interval.ms, 5 s)
//   and the assignment when the request was full (epoch 0, or rebalance timeout, subscription and owned partitions
//   all given) or the assignment changed.
// - Errors: INVALID_REQUEST (Kafka's request checks), UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH (an epoch ahead, or
//   behind unless it is the previous epoch and the owned partitions are within the assignment), FENCED_INSTANCE_ID,
//   UNRELEASED_INSTANCE_ID, GROUP_MAX_SIZE_REACHED, UNSUPPORTED_ASSIGNOR, INVALID_REGULAR_EXPRESSION,
//   GROUP_ID_NOT_FOUND (the id names a classic group with members; an Empty one converts when a member joins), and,
//   where Kafka answers GROUP_ID_NOT_FOUND to a member's heartbeat for an unknown group (or an Empty classic one),
//   UNKNOWN_MEMBER_ID: kgate keeps KIP-848 group state in memory (a group's offsets come back after a restart as an
//   Empty classic group), so after a restart members are told to rejoin.
// - Session timeout (group.consumer.session.timeout.ms, 45 s) removes a silent member; a member that does not revoke
//   within its rebalance timeout is removed too.
// - SubscribedTopicRegex (v1): Kafka's RE2/J is matched with a JavaScript RegExp, full-match, on the common subset
//   (literals, ., classes and ranges, \d \w \s \b, groups, alternation, greedy and lazy quantifiers, anchors).
//   Constructs RE2 refuses (backreferences, lookaround) and RE2 constructs JavaScript would read differently or not
//   at all (inline flags like (?i), \Q…\E, \z, [[:alpha:]], \pL, (?P<name>…)) get INVALID_REGULAR_EXPRESSION, and
//   so do patterns JavaScript's backtracking could take exponential time on where RE2 is linear (a repeated group
//   that repeats or alternates inside, more than 3 unbounded repeats); internal topics never match
//   (src/groups/consumer-group/topic-regex.ts).
// With an authorizer: READ on the group (else GROUP_AUTHORIZATION_FAILED) and DESCRIBE on each subscribed topic name
// (else TOPIC_AUTHORIZATION_FAILED), as Kafka's KafkaApis; a regex matches only topics the principal of the heartbeat
// that resolves it may DESCRIBE, as Kafka.
// Not emulated: rack-aware assignment, mixed classic/consumer members in one group, persistence of group state.
// Version notes: v1 SubscribedTopicRegex, and the client generates its member id (an empty one is INVALID_REQUEST).

import { clientHostOf } from "../groups/coordinator.ts";
import { assignmentToWire } from "../groups/consumer-group/assignment.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import type { ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse } from "../protocol/messages/68-consumer-group-heartbeat.ts";
import { AclOperation, authorizeGroup, authorizeTopic } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";

export const consumerGroupHeartbeatHandler: ApiHandler<ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse> = {
  apiKey: 68,
  minVersion: 0,
  maxVersion: 1,
  handle(context, request) {
    const refuse = (errorCode: number) => ({ throttleTimeMs: 0, errorCode, errorMessage: null, memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null });
    if (!authorizeGroup(context, AclOperation.READ, request.groupId)) return refuse(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    const deniedTopics = (request.subscribedTopicNames ?? []).filter((name) => !authorizeTopic(context, AclOperation.DESCRIBE, name));
    if (deniedTopics.length > 0) return refuse(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    const result = context.broker.groups.consumerGroupHeartbeat({
      groupId: request.groupId,
      memberId: request.memberId,
      memberEpoch: request.memberEpoch,
      instanceId: request.instanceId,
      rackId: request.rackId,
      rebalanceTimeoutMs: request.rebalanceTimeoutMs,
      subscribedTopicNames: request.subscribedTopicNames,
      subscribedTopicRegex: request.subscribedTopicRegex,
      serverAssignor: request.serverAssignor,
      topicPartitions: request.topicPartitions,
      clientId: context.clientId ?? "",
      clientHost: clientHostOf(context.clientAddress),
      apiVersion: context.apiVersion,
      mayDescribeTopic: context.broker.authorizer === null ? undefined : (topic) => authorizeTopic(context, AclOperation.DESCRIBE, topic, false),
    });
    return {
      throttleTimeMs: 0,
      errorCode: result.errorCode,
      errorMessage: result.errorMessage,
      memberId: result.memberId,
      memberEpoch: result.memberEpoch,
      heartbeatIntervalMs: result.heartbeatIntervalMs,
      assignment: result.assignment === null ? null : { topicPartitions: assignmentToWire(result.assignment) },
    };
  },
};
