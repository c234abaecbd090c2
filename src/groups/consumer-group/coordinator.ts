// The KIP-848 group coordinator of one node: ConsumerGroupHeartbeat and ConsumerGroupDescribe, following Kafka 4's
// GroupMetadataManager.consumerGroupHeartbeat. Each heartbeat, in order:
//   1. validates the request and finds or creates the member (epoch 0 joins; -1 leaves; -2 is a static member
//      leaving for a while), checking its epoch (FENCED_MEMBER_EPOCH, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID,
//      UNRELEASED_INSTANCE_ID);
//   2. bumps the group epoch when the member's subscription changed or the subscribed topics' metadata (names, ids,
//      partition counts, regex matches) differs from what the group last saw; TopicStore.version tells when to look;
//   3. computes a new target assignment with the group's assignor when the group epoch is past the assignment epoch;
//   4. moves the member one step towards its target (reconciliation.ts), arming the rebalance timer while it must
//      revoke partitions;
//   5. restarts the member's session timer and answers with its epoch, the heartbeat interval and, for a full
//      request or a changed assignment, the assignment.
// Topic changes therefore reach a group on the next heartbeat of any member (every heartbeatIntervalMs), as in Kafka.
// Timers: one session timer per member (consumerGroupSessionTimeoutMs: the member is removed), one rebalance timer
// per member that must revoke (its rebalanceTimeoutMs: it is removed if still at that epoch).
// Group state is in memory only: the member and assignment records Kafka writes to __consumer_offsets are not kept,
// so after a restart every member gets UNKNOWN_MEMBER_ID (its group is unknown) or FENCED_MEMBER_EPOCH and rejoins
// with epoch 0. Committed offsets are kept, by the classic coordinator's OffsetStore.
// Not emulated: rack-aware assignment, mixed groups of classic and KIP-848 members (a classic group converts only
// when empty, see GroupCoordinator), asynchronous regex resolution (kgate resolves a regex during the heartbeat that
// brings it), the metadata refresh interval (kgate looks again after any topic change instead).

import { randomUUID } from "node:crypto";
import { limits } from "../../config.ts";
import type { TopicStore } from "../../metadata/topic-store.ts";
import { uuidFromString, uuidToString } from "../../metadata/uuid.ts";
import { ErrorCode } from "../../protocol/error-codes.ts";
import { log } from "../../util/logger.ts";
import type { GroupTimers } from "../coordinator.ts";
import { assignmentFromWire, assignmentsEqual, isSubsetOf, partitionCount, type Assignment } from "./assignment.ts";
import { serverAssignors, uniformAssignor } from "./assignors.ts";
import { ConsumerGroup, type ConsumerGroupState } from "./consumer-group.ts";
import { ConsumerGroupMember, LEAVE_GROUP_MEMBER_EPOCH, LEAVE_GROUP_STATIC_MEMBER_EPOCH, type ReconciliationState } from "./member.ts";
import { reconcile } from "./reconciliation.ts";
import { compileTopicRegex } from "./topic-regex.ts";

export interface ConsumerGroupSettings {
  /** Kafka's group.consumer.heartbeat.interval.ms. */
  heartbeatIntervalMs: number;
  /** Kafka's group.consumer.session.timeout.ms. */
  sessionTimeoutMs: number;
  /** Kafka's group.consumer.max.size. */
  membersMax: number;
}

export function defaultConsumerGroupSettings(): ConsumerGroupSettings {
  return {
    heartbeatIntervalMs: limits.consumerGroupHeartbeatIntervalMs,
    sessionTimeoutMs: limits.consumerGroupSessionTimeoutMs,
    membersMax: limits.consumerGroupMembersMax,
  };
}

export interface HeartbeatInput {
  groupId: string;
  memberId: string;
  memberEpoch: number;
  instanceId: string | null;
  rackId: string | null;
  /** -1: unchanged. */
  rebalanceTimeoutMs: number;
  subscribedTopicNames: string[] | null;
  subscribedTopicRegex: string | null;
  serverAssignor: string | null;
  topicPartitions: { topicId: Uint8Array; partitions: number[] }[] | null;
  clientId: string;
  clientHost: string;
  apiVersion: number;
  /**
   * With an authorizer: whether the member's principal may DESCRIBE a topic; a regex matches only those (as Kafka,
   * which resolves regexes with the context of the heartbeat that triggers it). Absent: every topic.
   */
  mayDescribeTopic?: (topic: string) => boolean;
}

export interface HeartbeatResult {
  errorCode: number;
  errorMessage: string | null;
  memberId: string | null;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  /** null: not included (the member keeps what it has). */
  assignment: Assignment | null;
}

export interface DescribedAssignment {
  topicId: Uint8Array;
  topicName: string;
  partitions: number[];
}

export interface DescribedConsumerGroup {
  groupId: string;
  groupState: ConsumerGroupState;
  groupEpoch: number;
  assignmentEpoch: number;
  assignorName: string;
  members: {
    memberId: string;
    instanceId: string | null;
    rackId: string | null;
    memberEpoch: number;
    clientId: string;
    clientHost: string;
    subscribedTopicNames: string[];
    subscribedTopicRegex: string | null;
    assignment: { topicPartitions: DescribedAssignment[] };
    targetAssignment: { topicPartitions: DescribedAssignment[] };
    memberType: number;
  }[];
}

/** ConsumerGroupHeartbeat v1 (KIP-1082): the client makes its member id. */
const CLIENT_MEMBER_ID_VERSION_MIN = 1;
/** ConsumerGroupDescribe's MemberType for a member speaking the consumer protocol. */
const CONSUMER_MEMBER_TYPE = 1;

/** A heartbeat refused: the error and its message (Kafka's exception message). */
class HeartbeatError extends Error {
  constructor(
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

export class ConsumerGroupCoordinator {
  readonly settings: ConsumerGroupSettings;
  private readonly groups = new Map<string, ConsumerGroup>();

  constructor(
    private readonly topics: TopicStore,
    private readonly timers: GroupTimers,
    settings: Partial<ConsumerGroupSettings> = {},
  ) {
    this.settings = { ...defaultConsumerGroupSettings(), ...settings };
  }

  has(groupId: string): boolean {
    return this.groups.has(groupId);
  }

  get(groupId: string): ConsumerGroup | undefined {
    return this.groups.get(groupId);
  }

  list(): ConsumerGroup[] {
    return [...this.groups.values()];
  }

  /** Forgets a group (DeleteGroups, the sweep, a classic JoinGroup converting an Empty group); stops its timers. */
  delete(groupId: string): void {
    const group = this.groups.get(groupId);
    if (!group) return;
    for (const member of group.members.values()) this.cancelTimers(member);
    this.groups.delete(groupId);
  }

  close(): void {
    for (const groupId of [...this.groups.keys()]) this.delete(groupId);
  }

  // --- ConsumerGroupHeartbeat -------------------------------------------------------------------------------------

  heartbeat(input: HeartbeatInput): HeartbeatResult {
    try {
      this.validate(input);
      if (input.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH || input.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) return this.leave(input);
      return this.join(input);
    } catch (error) {
      if (!(error instanceof HeartbeatError)) throw error;
      log.debug("consumer group heartbeat refused", { group: input.groupId, member: input.memberId, epoch: input.memberEpoch, error: error.message });
      return { errorCode: error.errorCode, errorMessage: error.message, memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null };
    }
  }

  /** Kafka's throwIfConsumerGroupHeartbeatRequestIsInvalid. */
  private validate(input: HeartbeatInput): void {
    const invalid = (message: string) => new HeartbeatError(ErrorCode.INVALID_REQUEST, message);
    if (input.groupId.length === 0) throw invalid("GroupId can't be empty.");
    if (input.instanceId === "") throw invalid("InstanceId can't be empty.");
    if (input.rackId === "") throw invalid("RackId can't be empty.");
    if (input.apiVersion >= CLIENT_MEMBER_ID_VERSION_MIN && input.memberId.length === 0) throw invalid("MemberId can't be empty.");
    const epoch = input.memberEpoch;
    if (epoch > 0 || epoch === LEAVE_GROUP_MEMBER_EPOCH) {
      if (input.memberId.length === 0) throw invalid("MemberId can't be empty.");
    } else if (epoch === 0) {
      if (input.rebalanceTimeoutMs === -1) throw invalid("RebalanceTimeoutMs must be provided in first request.");
      if (input.topicPartitions === null || input.topicPartitions.length > 0) throw invalid("TopicPartitions must be empty when (re-)joining.");
      if (input.subscribedTopicNames === null && input.subscribedTopicRegex === null) {
        throw invalid("SubscribedTopicNames or SubscribedTopicRegex must be set in first request.");
      }
    } else if (epoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      if (input.memberId.length === 0) throw invalid("MemberId can't be empty.");
      if (input.instanceId === null) throw invalid("InstanceId can't be null.");
    } else {
      throw invalid("MemberEpoch is invalid.");
    }
    if (input.serverAssignor !== null && !serverAssignors.has(input.serverAssignor)) {
      throw new HeartbeatError(
        ErrorCode.UNSUPPORTED_ASSIGNOR,
        `ServerAssignor ${input.serverAssignor} is not supported. Supported assignors: ${[...serverAssignors.keys()].join(", ")}.`,
      );
    }
    const regex = input.subscribedTopicRegex;
    if (regex !== null && regex.length > 0) {
      if (regex.length > limits.consumerGroupTopicRegexLengthMax) {
        throw new HeartbeatError(ErrorCode.INVALID_REGULAR_EXPRESSION, `SubscribedTopicRegex is longer than ${limits.consumerGroupTopicRegexLengthMax} characters.`);
      }
      const compiled = compileTopicRegex(regex);
      if ("error" in compiled) throw new HeartbeatError(ErrorCode.INVALID_REGULAR_EXPRESSION, compiled.error);
    }
  }

  private join(input: HeartbeatInput): HeartbeatResult {
    const { groupId, memberEpoch } = input;
    const joining = memberEpoch === 0;
    let group = this.groups.get(groupId);
    if (!group) {
      // Kafka answers GROUP_ID_NOT_FOUND; kgate keeps groups in memory only, so an unknown group is most often one
      // from before a restart, and UNKNOWN_MEMBER_ID makes its members rejoin.
      if (!joining) throw new HeartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${input.memberId} is not a member of group ${groupId}.`);
      group = new ConsumerGroup(groupId, this.timers.now());
    }
    if (group.members.size >= this.settings.membersMax && (input.memberId.length === 0 || !group.members.has(input.memberId))) {
      throw new HeartbeatError(ErrorCode.GROUP_MAX_SIZE_REACHED, `The consumer group has reached its maximum capacity of ${this.settings.membersMax} members.`);
    }
    const memberId = input.memberId.length > 0 ? input.memberId : randomUUID();
    const existing = input.instanceId === null ? this.dynamicMember(group, memberId, input) : this.staticMember(group, memberId, input.instanceId, input);
    if (!this.groups.has(groupId)) {
      this.groups.set(groupId, group);
      log.debug("consumer group created", { group: groupId });
    }
    const member = existing.member;
    if (existing.created) {
      group.addMember(member);
      log.debug("member joined the consumer group", { group: groupId, member: memberId, instance: input.instanceId ?? undefined });
    }
    const assignedBefore = member.assignedPartitions;
    // A new member starts from an empty subscription, a replacing static member from the old one's (Kafka's copy).
    const subscriptionChanged = this.updateMember(group, member, input);

    // 2. The group epoch.
    let bumpGroupEpoch = subscriptionChanged;
    if (subscriptionChanged || group.topicsVersionSeen !== this.topics.version) {
      const metadata = this.refreshSubscriptionMetadata(group, input.mayDescribeTopic ?? null);
      if (metadata !== group.subscriptionMetadata) {
        group.subscriptionMetadata = metadata;
        bumpGroupEpoch = true;
      }
    }
    if (bumpGroupEpoch) {
      group.groupEpoch++;
      log.debug("bumped the consumer group epoch", { group: groupId, epoch: group.groupEpoch });
    }

    // 3. The target assignment.
    if (group.groupEpoch > group.assignmentEpoch) this.computeTargetAssignment(group, member);

    // 4. Reconciliation.
    this.reconcileMember(group, member, input.topicPartitions === null ? null : assignmentFromWire(input.topicPartitions));

    // 5. Session and answer.
    this.scheduleSessionTimeout(group, member);
    const isFullRequest =
      memberEpoch === 0 ||
      (input.rebalanceTimeoutMs !== -1 && (input.subscribedTopicNames !== null || input.subscribedTopicRegex !== null) && input.topicPartitions !== null);
    const changed = !assignmentsEqual(assignedBefore, member.assignedPartitions);
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      memberId: member.memberId,
      memberEpoch: member.memberEpoch,
      heartbeatIntervalMs: this.settings.heartbeatIntervalMs,
      assignment: isFullRequest || changed ? member.assignedPartitions : null,
    };
  }

  /**
   * Kafka's getOrMaybeSubscribeDynamicConsumerGroupMember. A member rejoining with epoch 0 under an id the group
   * knows (a v1 client after FENCED_MEMBER_EPOCH keeps its id) starts over: epoch 0 says it owns nothing, so its
   * partitions are released at once and it keeps its place in the target assignment.
   */
  private dynamicMember(group: ConsumerGroup, memberId: string, input: HeartbeatInput): { member: ConsumerGroupMember; created: boolean } {
    const member = group.members.get(memberId);
    if (input.memberEpoch === 0) {
      if (!member) return { member: new ConsumerGroupMember(memberId), created: true };
      this.cancelRebalanceTimeout(member);
      group.updateReconciliation(member, { state: "STABLE", memberEpoch: 0, previousMemberEpoch: 0, assignedPartitions: new Map(), partitionsPendingRevocation: new Map() });
      return { member, created: false };
    }
    if (!member) throw new HeartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${memberId} is not a member of group ${group.groupId}.`);
    throwIfEpochIsInvalid(member, input);
    return { member, created: false };
  }

  /** Kafka's getOrMaybeSubscribeStaticConsumerGroupMember: a rejoining instance replaces its old member. */
  private staticMember(group: ConsumerGroup, memberId: string, instanceId: string, input: HeartbeatInput): { member: ConsumerGroupMember; created: boolean } {
    const existing = group.staticMember(instanceId);
    if (input.memberEpoch === 0) {
      // A new instance id: a new member, or one the group knows by its member id starting over.
      if (!existing) return this.dynamicMember(group, memberId, input);
      if (existing.memberEpoch !== LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
        throw new HeartbeatError(
          ErrorCode.UNRELEASED_INSTANCE_ID,
          `Static member ${memberId} with instance id ${instanceId} cannot join the group because the instance id is owned by ${existing.memberId} member.`,
        );
      }
      // The new member takes the old one's subscription, assignment and target, at epoch 0; no epoch bump.
      const replacement = new ConsumerGroupMember(memberId);
      Object.assign(replacement, {
        instanceId,
        rackId: existing.rackId,
        rebalanceTimeoutMs: existing.rebalanceTimeoutMs,
        subscribedTopicNames: existing.subscribedTopicNames,
        subscribedTopicRegex: existing.subscribedTopicRegex,
        serverAssignor: existing.serverAssignor,
        state: existing.state,
        assignedPartitions: existing.assignedPartitions,
        partitionsPendingRevocation: existing.partitionsPendingRevocation,
      });
      const target = group.targetAssignment.get(existing.memberId);
      this.cancelTimers(existing);
      group.removeMember(existing, this.timers.now());
      if (target) group.targetAssignment.set(memberId, target);
      log.debug("static member rejoined the consumer group", { group: group.groupId, instance: instanceId, member: memberId, replaced: existing.memberId });
      return { member: replacement, created: true };
    }
    if (!existing) throw new HeartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, `Instance id ${instanceId} is unknown.`);
    if (existing.memberId !== memberId) {
      throw new HeartbeatError(ErrorCode.FENCED_INSTANCE_ID, `Static member ${memberId} with instance id ${instanceId} was fenced by member ${existing.memberId}.`);
    }
    throwIfEpochIsInvalid(existing, input);
    return { member: existing, created: false };
  }

  /** Applies what the heartbeat changed (null fields are unchanged); true when the subscription changed. */
  private updateMember(group: ConsumerGroup, member: ConsumerGroupMember, input: HeartbeatInput): boolean {
    if (input.instanceId !== null && member.instanceId === null) {
      member.instanceId = input.instanceId;
      group.staticMembers.set(input.instanceId, member.memberId);
    }
    if (input.rackId !== null) member.rackId = input.rackId;
    if (input.rebalanceTimeoutMs !== -1) member.rebalanceTimeoutMs = input.rebalanceTimeoutMs;
    if (input.serverAssignor !== null) member.serverAssignor = input.serverAssignor;
    member.clientId = input.clientId;
    member.clientHost = input.clientHost;
    let changed = false;
    if (input.subscribedTopicNames !== null && !sameNames(input.subscribedTopicNames, member.subscribedTopicNames)) {
      member.subscribedTopicNames = [...new Set(input.subscribedTopicNames)].sort();
      changed = true;
    }
    if (input.subscribedTopicRegex !== null) {
      const regex = input.subscribedTopicRegex.length > 0 ? input.subscribedTopicRegex : null;
      if (regex !== member.subscribedTopicRegex) {
        member.subscribedTopicRegex = regex;
        changed = true;
      }
    }
    return changed;
  }

  /**
   * Resolves the group's regexes against the topics (again when topics changed) and describes the subscribed topics
   * that exist: name, id and partition count, sorted. Equal strings mean the assignment's input did not change.
   * `mayDescribeTopic` "keep": no heartbeat context (a timer fenced a member), so the regexes are not resolved again.
   */
  private refreshSubscriptionMetadata(group: ConsumerGroup, mayDescribeTopic: ((topic: string) => boolean) | null | "keep"): string {
    if (mayDescribeTopic !== "keep") {
      const version = this.topics.version;
      const regexes = new Set<string>();
      for (const member of group.members.values()) if (member.subscribedTopicRegex !== null) regexes.add(member.subscribedTopicRegex);
      if (group.topicsVersionSeen !== version) group.resolvedRegexes.clear();
      for (const regex of group.resolvedRegexes.keys()) if (!regexes.has(regex)) group.resolvedRegexes.delete(regex);
      for (const regex of regexes) if (!group.resolvedRegexes.has(regex)) group.resolvedRegexes.set(regex, this.matchTopics(regex, mayDescribeTopic));
      group.topicsVersionSeen = version;
    }
    const described: string[] = [];
    for (const name of group.subscribedTopicNames()) {
      const topic = this.topics.get(name);
      if (topic) described.push(`${name}/${uuidToString(topic.topicId)}/${topic.partitions.length}`);
    }
    return described.sort().join(",");
  }

  private matchTopics(source: string, mayDescribeTopic: ((topic: string) => boolean) | null): ReadonlySet<string> {
    const compiled = compileTopicRegex(source);
    if ("error" in compiled) return new Set();
    const matches = this.topics.list().filter((topic) => !topic.isInternal && compiled.regex.test(topic.name) && (mayDescribeTopic?.(topic.name) ?? true));
    return new Set(matches.map((topic) => topic.name));
  }

  /** Kafka's updateTargetAssignment: the preferred assignor over all members, at the group epoch. */
  private computeTargetAssignment(group: ConsumerGroup, updated: ConsumerGroupMember): void {
    const assignor = serverAssignors.get(preferredAssignor(group)) ?? uniformAssignor;
    const topics = new Map<string, number>();
    const idsByName = new Map<string, string>();
    for (const name of group.subscribedTopicNames()) {
      const topic = this.topics.get(name);
      if (!topic) continue;
      const topicId = uuidToString(topic.topicId);
      topics.set(topicId, topic.partitions.length);
      idsByName.set(name, topicId);
    }
    const members = [...group.members.values()].map((member) => ({
      memberId: member.memberId,
      instanceId: member.instanceId,
      subscribedTopicIds: new Set([...group.memberTopicNames(member)].flatMap((name) => idsByName.get(name) ?? [])),
      currentAssignment: group.targetAssignment.get(member.memberId) ?? new Map(),
    }));
    const startedAtMs = performance.now();
    const targets = assignor.assign({ members, topics });
    group.targetAssignment.clear();
    for (const [memberId, assignment] of targets) group.targetAssignment.set(memberId, assignment);
    group.assignmentEpoch = group.groupEpoch;
    log.debug("computed a new target assignment", {
      group: group.groupId,
      epoch: group.groupEpoch,
      assignor: assignor.name,
      members: members.length,
      partitions: [...targets.values()].reduce((sum, assignment) => sum + partitionCount(assignment), 0),
      ms: Math.round((performance.now() - startedAtMs) * 10) / 10,
      trigger: updated.memberId,
    });
  }

  /** Kafka's maybeReconcile: one step towards the target; the rebalance timer runs while partitions must be revoked. */
  private reconcileMember(group: ConsumerGroup, member: ConsumerGroupMember, ownedPartitions: Assignment | null): void {
    if (member.isReconciledTo(group.assignmentEpoch)) return;
    const next = reconcile(member, {
      targetAssignmentEpoch: group.assignmentEpoch,
      targetAssignment: group.targetAssignment.get(member.memberId) ?? new Map(),
      partitionEpochOf: (topicId, partition) => group.partitionEpoch(topicId, partition),
      ownedPartitions,
    });
    if (sameReconciliation(next, member)) return;
    // Reconciled members own their target: share its (never mutated) map rather than keep an equal copy.
    const target = group.targetAssignment.get(member.memberId);
    if (target !== undefined && assignmentsEqual(next.assignedPartitions, target)) next.assignedPartitions = target;
    group.updateReconciliation(member, next);
    log.debug("member reconciled", { group: group.groupId, member: member.memberId, epoch: member.memberEpoch, state: member.state });
    if (member.state === "UNREVOKED_PARTITIONS") this.scheduleRebalanceTimeout(group, member);
    else this.cancelRebalanceTimeout(member);
  }

  /** Kafka's consumerGroupLeave: -1 removes the member; -2 (static) keeps it and its partitions until its session ends. */
  private leave(input: HeartbeatInput): HeartbeatResult {
    const { groupId, memberId, instanceId, memberEpoch } = input;
    const group = this.groups.get(groupId);
    if (!group) throw new HeartbeatError(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} not found.`);
    const answer = { errorCode: ErrorCode.NONE, errorMessage: null, memberId, memberEpoch, heartbeatIntervalMs: 0, assignment: null };
    if (instanceId === null) {
      const member = group.members.get(memberId);
      if (!member) throw new HeartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${memberId} is not a member of group ${groupId}.`);
      log.debug("member left the consumer group", { group: groupId, member: memberId });
      this.fence(group, member);
      return answer;
    }
    const member = group.staticMember(instanceId);
    if (!member) throw new HeartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, `Instance id ${instanceId} is unknown.`);
    if (member.memberId !== memberId) {
      throw new HeartbeatError(ErrorCode.FENCED_INSTANCE_ID, `Static member ${memberId} with instance id ${instanceId} was fenced by member ${member.memberId}.`);
    }
    if (memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      log.debug("static member left the consumer group for now", { group: groupId, member: memberId, instance: instanceId });
      group.updateReconciliation(member, { ...member.reconciliation(), memberEpoch: LEAVE_GROUP_STATIC_MEMBER_EPOCH, partitionsPendingRevocation: new Map() });
      return { ...answer, memberId: member.memberId };
    }
    log.debug("static member left the consumer group", { group: groupId, member: memberId, instance: instanceId });
    this.fence(group, member);
    return answer;
  }

  /** Kafka's consumerGroupFenceMember: the member goes, its partitions are free, the group epoch moves. */
  private fence(group: ConsumerGroup, member: ConsumerGroupMember): void {
    this.cancelTimers(member);
    group.removeMember(member, this.timers.now());
    group.subscriptionMetadata = this.refreshSubscriptionMetadata(group, "keep");
    group.groupEpoch++;
  }

  // --- Timers -----------------------------------------------------------------------------------------------------

  private scheduleSessionTimeout(group: ConsumerGroup, member: ConsumerGroupMember): void {
    this.timers.clear(member.sessionTimer);
    member.sessionTimer = this.timers.set(() => {
      member.sessionTimer = null;
      if (this.groups.get(group.groupId) !== group || group.members.get(member.memberId) !== member) return;
      log.info("member removed from the consumer group: its session expired", { group: group.groupId, member: member.memberId });
      this.fence(group, member);
    }, this.settings.sessionTimeoutMs);
  }

  private scheduleRebalanceTimeout(group: ConsumerGroup, member: ConsumerGroupMember): void {
    this.timers.clear(member.rebalanceTimer);
    const epoch = member.memberEpoch;
    member.rebalanceTimer = this.timers.set(() => {
      member.rebalanceTimer = null;
      if (this.groups.get(group.groupId) !== group || group.members.get(member.memberId) !== member || member.memberEpoch !== epoch) return;
      log.info("member removed from the consumer group: it did not revoke its partitions in time", {
        group: group.groupId,
        member: member.memberId,
        epoch,
        rebalanceTimeoutMs: member.rebalanceTimeoutMs,
      });
      this.fence(group, member);
    }, member.rebalanceTimeoutMs);
  }

  private cancelRebalanceTimeout(member: ConsumerGroupMember): void {
    this.timers.clear(member.rebalanceTimer);
    member.rebalanceTimer = null;
  }

  private cancelTimers(member: ConsumerGroupMember): void {
    this.timers.clear(member.sessionTimer);
    member.sessionTimer = null;
    this.cancelRebalanceTimeout(member);
  }

  // --- Describe, offsets ------------------------------------------------------------------------------------------

  /** Kafka's ConsumerGroup.asDescribedGroup; undefined for a group this coordinator does not have. */
  describe(groupId: string): DescribedConsumerGroup | undefined {
    const group = this.groups.get(groupId);
    if (!group) return undefined;
    return {
      groupId,
      groupState: group.state,
      groupEpoch: group.groupEpoch,
      assignmentEpoch: group.assignmentEpoch,
      assignorName: preferredAssignor(group),
      members: [...group.members.values()].map((member) => ({
        memberId: member.memberId,
        instanceId: member.instanceId,
        rackId: member.rackId,
        memberEpoch: member.memberEpoch,
        clientId: member.clientId,
        clientHost: member.clientHost,
        subscribedTopicNames: [...member.subscribedTopicNames],
        subscribedTopicRegex: member.subscribedTopicRegex,
        assignment: { topicPartitions: this.describeAssignment(member.assignedPartitions) },
        targetAssignment: { topicPartitions: this.describeAssignment(group.targetAssignment.get(member.memberId) ?? new Map()) },
        memberType: CONSUMER_MEMBER_TYPE,
      })),
    };
  }

  private describeAssignment(assignment: Assignment): DescribedAssignment[] {
    return [...assignment].flatMap(([topicId, partitions]) => {
      const topic = this.topics.getById(uuidFromString(topicId));
      if (!topic) return [];
      return [{ topicId: topic.topicId, topicName: topic.name, partitions: [...partitions].sort((a, b) => a - b) }];
    });
  }

  /**
   * Kafka's ConsumerGroup.validateOffsetCommit (and validateOffsetFetch with forFetch): a negative epoch from a
   * non-member commits only while the group has no members; otherwise the member must exist and its epoch match.
   */
  validateOffsetRequest(groupId: string, memberId: string | null, memberEpoch: number, forFetch: boolean, apiVersion: number): number {
    const group = this.groups.get(groupId);
    if (!group) return ErrorCode.NONE;
    if (forFetch ? memberId === null && memberEpoch < 0 : memberEpoch < 0 && group.members.size === 0) return ErrorCode.NONE;
    const member = memberId === null ? undefined : group.members.get(memberId);
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (!forFetch && apiVersion < 9) return ErrorCode.UNSUPPORTED_VERSION;
    return memberEpoch === member.memberEpoch ? ErrorCode.NONE : ErrorCode.STALE_MEMBER_EPOCH;
  }

  /** Topics some member subscribes to (OffsetDelete answers GROUP_SUBSCRIBED_TO_TOPIC for them). */
  subscribedTopics(groupId: string): Set<string> {
    return this.groups.get(groupId)?.subscribedTopicNames() ?? new Set();
  }
}

/** Kafka's throwIfConsumerGroupMemberEpochIsInvalid, with the tolerance for a lost answer that bumped the epoch. */
function throwIfEpochIsInvalid(member: ConsumerGroupMember, input: HeartbeatInput): void {
  const received = input.memberEpoch;
  if (received > member.memberEpoch) {
    throw new HeartbeatError(
      ErrorCode.FENCED_MEMBER_EPOCH,
      `The consumer group member has a greater member epoch (${received}) than the one known by the group coordinator (${member.memberEpoch}). The member must abandon all its partitions and rejoin.`,
    );
  }
  if (received < member.memberEpoch) {
    const owned = input.topicPartitions === null ? null : assignmentFromWire(input.topicPartitions);
    if (received !== member.previousMemberEpoch || owned === null || !isSubsetOf(owned, member.assignedPartitions)) {
      throw new HeartbeatError(
        ErrorCode.FENCED_MEMBER_EPOCH,
        `The consumer group member has a smaller member epoch (${received}) than the one known by the group coordinator (${member.memberEpoch}). The member must abandon all its partitions and rejoin.`,
      );
    }
  }
}

/** Kafka's computePreferredServerAssignor: the assignor most members ask for (ties: by name), else uniform. */
function preferredAssignor(group: ConsumerGroup): string {
  const votes = new Map<string, number>();
  for (const member of group.members.values()) if (member.serverAssignor !== null) votes.set(member.serverAssignor, (votes.get(member.serverAssignor) ?? 0) + 1);
  let best = uniformAssignor.name;
  let bestVotes = 0;
  for (const [name, count] of [...votes].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (count > bestVotes) {
      best = name;
      bestVotes = count;
    }
  }
  return best;
}

function sameNames(names: readonly string[], current: readonly string[]): boolean {
  const unique = new Set(names);
  return unique.size === current.length && current.every((name) => unique.has(name));
}

function sameReconciliation(next: ReconciliationState, current: ReconciliationState): boolean {
  return (
    next === current ||
    (next.state === current.state &&
      next.memberEpoch === current.memberEpoch &&
      next.previousMemberEpoch === current.previousMemberEpoch &&
      assignmentsEqual(next.assignedPartitions, current.assignedPartitions) &&
      assignmentsEqual(next.partitionsPendingRevocation, current.partitionsPendingRevocation))
  );
}
