// The classic group coordinator of a single node, following Kafka 3.x's GroupCoordinator.scala request by request:
// join (KIP-394 two-step for v4+, static members of KIP-345), sync, heartbeat, leave, describe, list, delete, and
// committed offsets through OffsetStore. Everything runs on the one event loop; JoinGroup and SyncGroup park a
// callback that a later request or a timer answers. Every parked request is answered exactly once (a client
// pipelines later requests behind it on the same connection).
// Timers: one session timer per member, one join timer (initial delay / rebalance timeout) and one sync timer per
// group, one pending-member timer per KIP-394 member id, one sweep interval for the coordinator.
// Offsets of Empty groups expire after offsets.retention.minutes (KIP-211), checked by the sweep.
// KIP-848 consumer groups live beside the classic ones in consumer-group/coordinator.ts (ConsumerGroupHeartbeat); one
// group id is one kind at a time, as in Kafka 4: an Empty group of one kind converts to the other when a member of
// the other protocol joins (a classic JoinGroup on an Empty consumer group, a ConsumerGroupHeartbeat with epoch 0 on an
// Empty classic group), committed offsets kept; otherwise JoinGroup gets INCONSISTENT_GROUP_PROTOCOL and
// ConsumerGroupHeartbeat GROUP_ID_NOT_FOUND (Kafka's answers where it cannot or may not migrate the group; kgate
// does not run Kafka's mixed groups of classic and KIP-848 members). Offsets, DeleteGroups, OffsetDelete, ListGroups
// and the sweep cover both kinds.
// Not emulated: per-request retention (OffsetCommit v2-4), expiry of unsubscribed topics' offsets in active groups
// (KIP-496), transactional offsets.

import { randomUUID } from "node:crypto";
import { limits } from "../config.ts";
import type { AppendWaiters } from "../log/append-waiters.ts";
import type { TopicStore } from "../metadata/topic-store.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import { log } from "../util/logger.ts";
import { Group, Member, joinError, syncError, type GroupState, type JoinResult, type Protocol, type SyncResult } from "./group.ts";
import { OffsetStore, type OffsetEntry, type TopicPartition } from "./offset-store.ts";
import { subscribedTopics, type CommittedOffset, type StoredGroup } from "./offsets-topic-format.ts";
import { ConsumerGroupCoordinator, type ConsumerGroupSettings, type DescribedConsumerGroup, type HeartbeatInput, type HeartbeatResult } from "./consumer-group/coordinator.ts";

export type { GroupState, JoinResult, SyncResult, Protocol } from "./group.ts";

/** Scheduling, injectable so unit tests run timers by hand. */
export interface GroupTimers {
  now(): number;
  set(callback: () => void, delayMs: number): unknown;
  clear(handle: unknown): void;
}

export const realTimers: GroupTimers = {
  now: () => Date.now(),
  set(callback, delayMs) {
    const timer = setTimeout(callback, delayMs);
    timer.unref?.();
    return timer;
  },
  clear(handle) {
    if (handle !== null) clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

export interface GroupSettings {
  /** Kafka's group.initial.rebalance.delay.ms: a new group waits this long for more members before its first generation. */
  initialRebalanceDelayMs: number;
  /** Kafka's group.min.session.timeout.ms and group.max.session.timeout.ms. */
  sessionTimeoutMsMin: number;
  sessionTimeoutMsMax: number;
  /** Kafka's group.max.size. */
  membersPerGroupMax: number;
  /** Kafka's GroupCoordinator.NewMemberJoinTimeoutMs: a new member's JoinGroup expires after this long. */
  newMemberJoinTimeoutMs: number;
  /** Kafka's offset.metadata.max.bytes. */
  offsetMetadataBytesMax: number;
  /** How often offsets expire and Empty groups without offsets are forgotten (offsets.retention.check.interval.ms). */
  emptyGroupSweepIntervalMs: number;
  /** Kafka's offsets.retention.minutes, in ms. */
  offsetsRetentionMs: number;
}

export function defaultGroupSettings(): GroupSettings {
  return {
    initialRebalanceDelayMs: limits.groupInitialRebalanceDelayMs,
    sessionTimeoutMsMin: limits.groupSessionTimeoutMsMin,
    sessionTimeoutMsMax: limits.groupSessionTimeoutMsMax,
    membersPerGroupMax: limits.groupMembersMax,
    newMemberJoinTimeoutMs: limits.groupNewMemberJoinTimeoutMs,
    offsetMetadataBytesMax: limits.offsetMetadataBytesMax,
    emptyGroupSweepIntervalMs: limits.groupEmptySweepIntervalMs,
    offsetsRetentionMs: limits.offsetsRetentionMs,
  };
}

export interface JoinGroupInput {
  groupId: string;
  /** "" for a new member. */
  memberId: string;
  groupInstanceId: string | null;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: Protocol[];
  clientId: string;
  clientHost: string;
  /** JoinGroup v4+ without group.instance.id: answer MEMBER_ID_REQUIRED first (KIP-394). */
  requireKnownMemberId: boolean;
  /** JoinGroup v9+. */
  supportSkippingAssignment: boolean;
}

export interface SyncGroupInput {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string | null;
  protocolName: string | null;
  assignments: { memberId: string; assignment: Uint8Array }[];
}

export interface MemberIdentity {
  memberId: string;
  groupInstanceId: string | null;
}

export interface LeaveResult {
  errorCode: number;
  members: (MemberIdentity & { errorCode: number })[];
}

export interface GroupDescription {
  groupId: string;
  errorCode: number;
  state: GroupState;
  protocolType: string;
  protocolData: string;
  members: {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    memberMetadata: Uint8Array;
    memberAssignment: Uint8Array;
  }[];
}

export interface ListedGroup {
  groupId: string;
  protocolType: string;
  /** Classic states, or a consumer group's Empty, Assigning, Reconciling, Stable. */
  state: string;
  groupType: "classic" | "consumer";
  members: number;
}

/** The protocol type Kafka reports for KIP-848 groups (ConsumerGroup.protocolType()). */
const CONSUMER_PROTOCOL_TYPE = "consumer";

export interface CommitInput {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  offsets: { topic: string; partition: number; value: CommittedOffset }[];
  /** OffsetCommit's version: v9+ answers GROUP_ID_NOT_FOUND for an unknown group, and KIP-848 members need v9. */
  apiVersion?: number;
}

export interface FetchedOffsets {
  topic: string;
  partitions: { partition: number; offset: number; leaderEpoch: number; metadata: string }[];
}

const EMPTY_ASSIGNMENT = new Uint8Array(0);

export class GroupCoordinator {
  readonly settings: GroupSettings;
  private readonly groups = new Map<string, Group>();
  private readonly offsets: OffsetStore;
  private loaded = false;
  private sweepTimer: unknown = null;
  private closed = false;
  private readonly timers: GroupTimers;
  /** KIP-848 groups (ConsumerGroupHeartbeat); their ids never name a classic group at the same time. */
  readonly consumerGroups: ConsumerGroupCoordinator;

  constructor(
    topics: TopicStore,
    options: {
      appendWaiters?: AppendWaiters;
      timers?: GroupTimers;
      settings?: Partial<GroupSettings>;
      consumerGroupSettings?: Partial<ConsumerGroupSettings>;
    } = {},
  ) {
    this.timers = options.timers ?? realTimers;
    this.settings = { ...defaultGroupSettings(), ...options.settings };
    this.offsets = new OffsetStore(topics, options.appendWaiters ?? null);
    this.consumerGroups = new ConsumerGroupCoordinator(topics, this.timers, options.consumerGroupSettings);
  }

  // --- Loading and shutdown -------------------------------------------------------------------------------------

  /** Rebuilds groups and offsets from __consumer_offsets on first use, so the log is recovered before we read it. */
  private ensureLoaded(): void {
    if (this.loaded) return;
    this.loaded = true;
    const stored = this.offsets.load();
    for (const [groupId, record] of stored) this.groups.set(groupId, this.loadGroup(groupId, record));
    for (const groupId of this.offsets.groupIds()) if (!this.groups.has(groupId)) this.groups.set(groupId, this.newGroup(groupId));
    this.sweepTimer = this.timers.set(() => this.sweep(), this.settings.emptyGroupSweepIntervalMs);
  }

  private newGroup(groupId: string): Group {
    return new Group(groupId, () => this.timers.now());
  }

  /** Kafka's GroupMetadata.loadGroup: Stable with the stored members, who keep their generation if they heartbeat. */
  private loadGroup(groupId: string, record: StoredGroup): Group {
    const group = this.newGroup(groupId);
    group.generationId = record.generation;
    group.protocolType = record.protocolType.length > 0 ? record.protocolType : null;
    group.protocolName = record.protocolName;
    group.leaderId = record.leader;
    if (record.members.length === 0 || record.protocolName === null) return group;
    for (const stored of record.members) {
      const member = new Member(
        stored.memberId,
        stored.groupInstanceId,
        stored.clientId,
        stored.clientHost,
        stored.rebalanceTimeoutMs,
        stored.sessionTimeoutMs,
        record.protocolType,
        [{ name: record.protocolName, metadata: stored.subscription }],
      );
      member.assignment = stored.assignment;
      group.add(member, null);
    }
    group.leaderId = record.leader;
    group.state = "Stable";
    for (const member of group.members.values()) this.touch(group, member);
    return group;
  }

  /** Answers every parked request with NOT_COORDINATOR (Kafka's onGroupUnloaded) and stops all timers. */
  close(): void {
    this.closed = true;
    this.timers.clear(this.sweepTimer);
    this.consumerGroups.close();
    for (const group of this.groups.values()) {
      this.timers.clear(group.joinTimer);
      this.timers.clear(group.syncTimer);
      for (const timer of group.pendingMembers.values()) this.timers.clear(timer);
      for (const member of group.members.values()) {
        this.timers.clear(member.sessionTimer);
        group.invokeJoinCallback(member, joinError(member.memberId, ErrorCode.NOT_COORDINATOR));
        group.invokeSyncCallback(member, syncError(ErrorCode.NOT_COORDINATOR));
      }
    }
    this.groups.clear();
  }

  /**
   * Kafka's cleanupGroupMetadata: expires offsets of Empty groups (KIP-211: all of them once the group has been Empty
   * for offsetsRetentionMs; for a group that never had members, each offset offsetsRetentionMs after its commit),
   * then forgets Empty groups with no offsets and no pending members.
   */
  private sweep(): void {
    const now = this.timers.now();
    const retentionMs = this.settings.offsetsRetentionMs;
    for (const group of [...this.groups.values()]) {
      if (!group.is("Empty")) continue;
      const expired: TopicPartition[] = [];
      const groupExpired = group.protocolType !== null && now - group.stateTimestamp >= retentionMs;
      for (const [topic, partitions] of this.offsets.committed(group.groupId)) {
        for (const [partition, value] of partitions) {
          if (groupExpired || (group.protocolType === null && now - value.commitTimestamp >= retentionMs)) expired.push({ topic, partition });
        }
      }
      if (expired.length > 0) {
        try {
          this.offsets.deleteOffsets(group.groupId, expired);
          log.info("expired committed offsets", { group: group.groupId, partitions: expired.length });
        } catch (error) {
          log.warn("could not expire committed offsets", { group: group.groupId, error });
        }
      }
      if (group.pendingMembers.size > 0 || this.offsets.hasOffsets(group.groupId)) continue;
      if (now - group.stateTimestamp < this.settings.emptyGroupSweepIntervalMs) continue;
      this.removeGroup(group);
    }
    this.sweepConsumerGroups(now);
    if (!this.closed) this.sweepTimer = this.timers.set(() => this.sweep(), this.settings.emptyGroupSweepIntervalMs);
  }

  /** The same for KIP-848 groups: offsets of a group Empty for offsetsRetentionMs expire, then the group goes. */
  private sweepConsumerGroups(now: number): void {
    for (const group of this.consumerGroups.list()) {
      if (group.members.size > 0) continue;
      if (now - group.emptySinceMs >= this.settings.offsetsRetentionMs && this.offsets.hasOffsets(group.groupId)) {
        try {
          this.offsets.deleteGroup(group.groupId);
          log.info("expired committed offsets", { group: group.groupId });
        } catch (error) {
          log.warn("could not expire committed offsets", { group: group.groupId, error });
        }
      }
      if (this.offsets.hasOffsets(group.groupId) || now - group.emptySinceMs < this.settings.emptyGroupSweepIntervalMs) continue;
      this.consumerGroups.delete(group.groupId);
    }
  }

  // --- ConsumerGroupHeartbeat -------------------------------------------------------------------------------------

  /**
   * KIP-848 heartbeat. A classic group of the same id converts when it is Empty and the member joins (epoch 0), as
   * Kafka's getOrMaybeCreateConsumerGroup deletes an empty classic group (its metadata record; offsets stay); a
   * classic group with members answers GROUP_ID_NOT_FOUND ("not a consumer group"). A member with an epoch finding an
   * Empty classic group gets UNKNOWN_MEMBER_ID: after a restart the offsets of a KIP-848 group come back as an Empty
   * classic group (kgate keeps no KIP-848 state), and its members must rejoin.
   */
  consumerGroupHeartbeat(input: HeartbeatInput): HeartbeatResult {
    this.ensureLoaded();
    const classic = this.groups.get(input.groupId);
    if (classic && input.groupId.length > 0) {
      const empty = classic.is("Empty") || classic.is("Dead");
      if (!empty || input.memberEpoch !== 0) {
        return {
          errorCode: empty ? ErrorCode.UNKNOWN_MEMBER_ID : ErrorCode.GROUP_ID_NOT_FOUND,
          errorMessage: empty ? `Member ${input.memberId} is not a member of group ${input.groupId}.` : `Group ${input.groupId} is not a consumer group.`,
          memberId: null,
          memberEpoch: 0,
          heartbeatIntervalMs: 0,
          assignment: null,
        };
      }
      const result = this.consumerGroups.heartbeat(input);
      if (result.errorCode === ErrorCode.NONE) this.convertEmptyClassicGroup(classic);
      return result;
    }
    return this.consumerGroups.heartbeat(input);
  }

  /** Forgets an Empty classic group that became a consumer group: its metadata record goes, its offsets stay. */
  private convertEmptyClassicGroup(group: Group): void {
    log.info("empty classic group converted to a consumer group", { group: group.groupId });
    if (!group.is("Dead")) group.transitionTo("Dead");
    this.groups.delete(group.groupId);
    this.timers.clear(group.joinTimer);
    this.timers.clear(group.syncTimer);
    for (const timer of group.pendingMembers.values()) this.timers.clear(timer);
    try {
      this.offsets.deleteGroupMetadata(group.groupId);
    } catch (error) {
      log.warn("could not write the tombstone of a converted group", { group: group.groupId, error });
    }
  }

  private removeGroup(group: Group): void {
    group.transitionTo("Dead");
    this.groups.delete(group.groupId);
    this.timers.clear(group.joinTimer);
    this.timers.clear(group.syncTimer);
    for (const timer of group.pendingMembers.values()) this.timers.clear(timer);
    try {
      this.offsets.deleteGroup(group.groupId);
    } catch (error) {
      log.warn("could not write the tombstones of a removed group", { group: group.groupId, error });
    }
  }

  // --- JoinGroup ------------------------------------------------------------------------------------------------

  joinGroup(request: JoinGroupInput): Promise<JoinResult> {
    this.ensureLoaded();
    // Metadata arrives as views into the request's frame; keep copies, not the whole frame.
    const input = { ...request, protocols: request.protocols.map(({ name, metadata }) => ({ name, metadata: metadata.slice() })) };
    const { groupId, memberId } = input;
    if (groupId.length === 0) return Promise.resolve(joinError(memberId, ErrorCode.INVALID_GROUP_ID));
    const { sessionTimeoutMs } = input;
    if (sessionTimeoutMs < this.settings.sessionTimeoutMsMin || sessionTimeoutMs > this.settings.sessionTimeoutMsMax) {
      return Promise.resolve(joinError(memberId, ErrorCode.INVALID_SESSION_TIMEOUT));
    }
    const consumerGroup = this.consumerGroups.get(groupId);
    if (consumerGroup) {
      // Kafka converts an Empty consumer group to a classic one (maybeDeleteEmptyConsumerGroup); a consumer group with
      // members would take the classic member into a mixed group, which kgate does not run.
      if (consumerGroup.members.size > 0) return Promise.resolve(joinError(memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
      log.info("empty consumer group converted to a classic group", { group: groupId });
      this.consumerGroups.delete(groupId);
    }
    const isUnknownMember = memberId.length === 0;
    let group = this.groups.get(groupId);
    if (!group) {
      // A known member id for a group we do not have: it belongs to a group that is gone.
      if (!isUnknownMember) return Promise.resolve(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
      group = this.newGroup(groupId);
      this.groups.set(groupId, group);
    }
    const joined = group;
    return new Promise((resolve) => {
      if (!this.acceptJoiningMember(joined, memberId)) {
        resolve(joinError("", ErrorCode.GROUP_MAX_SIZE_REACHED));
      } else if (isUnknownMember) {
        this.joinNewMember(joined, input, resolve);
      } else {
        this.joinCurrentMember(joined, input, resolve);
      }
      if (joined.is("PreparingRebalance")) this.tryCompleteJoin(joined);
    });
  }

  private acceptJoiningMember(group: Group, memberId: string): boolean {
    switch (group.state) {
      case "Empty":
      case "Dead":
        return true;
      case "PreparingRebalance":
        return (group.has(memberId) && group.get(memberId).awaitingJoin !== null) || group.membersAwaitingJoin < this.settings.membersPerGroupMax;
      case "CompletingRebalance":
      case "Stable":
        return group.has(memberId) || group.members.size < this.settings.membersPerGroupMax;
    }
  }

  private joinNewMember(group: Group, input: JoinGroupInput, resolve: (result: JoinResult) => void): void {
    if (group.is("Dead")) return resolve(joinError("", ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (!group.supportsProtocols(input.protocolType, input.protocols)) return resolve(joinError("", ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    const newMemberId = `${input.groupInstanceId ?? input.clientId}-${randomUUID()}`;
    if (input.groupInstanceId !== null) {
      const oldMemberId = group.staticMembers.get(input.groupInstanceId);
      if (oldMemberId !== undefined) return this.replaceStaticMember(group, input, oldMemberId, newMemberId, resolve);
      return this.addMemberAndRebalance(group, input, newMemberId, resolve);
    }
    if (input.requireKnownMemberId) {
      // KIP-394: remember the id; the member must come back with it within its session timeout. Bounded like the
      // members, so clients that never come back cannot pile up ids and timers.
      if (group.pendingMembers.size >= this.settings.membersPerGroupMax) return resolve(joinError("", ErrorCode.GROUP_MAX_SIZE_REACHED));
      const timer = this.timers.set(() => this.expirePendingMember(group, newMemberId), input.sessionTimeoutMs);
      group.pendingMembers.set(newMemberId, timer);
      return resolve(joinError(newMemberId, ErrorCode.MEMBER_ID_REQUIRED));
    }
    this.addMemberAndRebalance(group, input, newMemberId, resolve);
  }

  private joinCurrentMember(group: Group, input: JoinGroupInput, resolve: (result: JoinResult) => void): void {
    const { memberId } = input;
    if (group.is("Dead")) return resolve(joinError(memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (!group.supportsProtocols(input.protocolType, input.protocols)) return resolve(joinError(memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    if (group.pendingMembers.has(memberId)) {
      this.timers.clear(group.pendingMembers.get(memberId));
      return this.addMemberAndRebalance(group, { ...input, groupInstanceId: null }, memberId, resolve);
    }
    const memberError = this.validateCurrentMember(group, memberId, input.groupInstanceId);
    if (memberError !== ErrorCode.NONE) return resolve(joinError(memberId, memberError));
    const member = group.get(memberId);
    switch (group.state) {
      case "PreparingRebalance":
        return this.updateMemberAndRebalance(group, member, input, resolve);
      case "CompletingRebalance":
        if (member.matches(input.protocols)) {
          // The member missed its JoinGroup answer: send the current generation again.
          return resolve(this.joinResult(group, member, group.isLeader(memberId)));
        }
        return this.updateMemberAndRebalance(group, member, input, resolve);
      case "Stable":
        // The leader rejoining forces a rebalance (it saw a metadata change); so does changed metadata.
        if (group.isLeader(memberId) || !member.matches(input.protocols)) {
          return this.updateMemberAndRebalance(group, member, input, resolve);
        }
        return resolve(this.joinResult(group, member, false));
      case "Empty":
      case "Dead":
        return resolve(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    }
  }

  private joinResult(group: Group, member: Member, withMembers: boolean): JoinResult {
    return {
      errorCode: ErrorCode.NONE,
      memberId: member.memberId,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId ?? "",
      skipAssignment: false,
      members: withMembers ? group.currentMemberMetadata() : [],
    };
  }

  private addMemberAndRebalance(group: Group, input: JoinGroupInput, memberId: string, resolve: (result: JoinResult) => void): void {
    const member = new Member(
      memberId,
      input.groupInstanceId,
      input.clientId,
      input.clientHost,
      input.rebalanceTimeoutMs,
      input.sessionTimeoutMs,
      input.protocolType,
      input.protocols,
    );
    member.isNew = true;
    if (group.is("PreparingRebalance") && group.generationId === 0) group.newMemberAdded = true;
    group.add(member, resolve);
    this.touch(group, member, this.settings.newMemberJoinTimeoutMs);
    this.maybePrepareRebalance(group, `member ${memberId} joined`);
  }

  private updateMemberAndRebalance(group: Group, member: Member, input: JoinGroupInput, resolve: (result: JoinResult) => void): void {
    // A second JoinGroup from the same member replaces the first; the first must still get an answer.
    group.invokeJoinCallback(member, joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
    group.updateMember(member, input.protocols, input.rebalanceTimeoutMs, input.sessionTimeoutMs, resolve);
    this.maybePrepareRebalance(group, `member ${member.memberId} rejoined`);
  }

  /** A static member restarted with a new member id (KIP-345): it takes over the old id's place. */
  private replaceStaticMember(
    group: Group,
    input: JoinGroupInput,
    oldMemberId: string,
    newMemberId: string,
    resolve: (result: JoinResult) => void,
  ): void {
    const previousLeader = group.leaderId;
    const member = group.replaceStaticMember(input.groupInstanceId!, oldMemberId, newMemberId, ErrorCode.FENCED_INSTANCE_ID);
    const previousProtocols = member.protocols;
    group.updateMember(member, input.protocols, input.rebalanceTimeoutMs, input.sessionTimeoutMs, resolve);
    this.touch(group, member);
    switch (group.state) {
      case "Stable": {
        if (group.protocolName !== group.selectProtocol()) {
          return this.maybePrepareRebalance(group, `static member ${input.groupInstanceId} changed protocols`);
        }
        try {
          this.storeGroup(group);
        } catch (error) {
          // Undo the replacement: the old member id stays valid.
          log.warn("could not store a replaced static member", { group: group.groupId, error });
          group.updateMember(member, previousProtocols, member.rebalanceTimeoutMs, member.sessionTimeoutMs, null);
          group.replaceStaticMember(input.groupInstanceId!, newMemberId, oldMemberId, ErrorCode.UNKNOWN_SERVER_ERROR);
          return resolve(joinError("", ErrorCode.COORDINATOR_NOT_AVAILABLE));
        }
        const isLeader = group.isLeader(newMemberId);
        const skip = isLeader && input.supportSkippingAssignment;
        // Everyone else gets the old leader id back, so a restarted leader does not compute an assignment that a
        // Stable group would never hand out (Kafka's comment in updateStaticMemberAndRebalance).
        group.invokeJoinCallback(member, {
          ...this.joinResult(group, member, skip),
          leader: skip ? newMemberId : (previousLeader ?? ""),
          skipAssignment: skip,
        });
        return;
      }
      case "CompletingRebalance":
        // The leader may already be assigning to the old id: start over.
        return this.prepareRebalance(group, `static member ${input.groupInstanceId} rejoined during CompletingRebalance`);
      case "PreparingRebalance":
        return;
      case "Empty":
      case "Dead":
        throw new Error(`group ${group.groupId}: static member in state ${group.state}`);
    }
  }

  private expirePendingMember(group: Group, memberId: string): void {
    if (!group.pendingMembers.delete(memberId)) return;
    log.debug("pending member expired", { group: group.groupId, member: memberId });
    if (group.is("PreparingRebalance")) this.tryCompleteJoin(group);
  }

  // --- Rebalance --------------------------------------------------------------------------------------------------

  private maybePrepareRebalance(group: Group, reason: string): void {
    if (group.canRebalance()) this.prepareRebalance(group, reason);
  }

  private prepareRebalance(group: Group, reason: string): void {
    if (group.is("CompletingRebalance")) this.resetAndPropagateAssignmentError(group, ErrorCode.REBALANCE_IN_PROGRESS);
    this.timers.clear(group.syncTimer);
    group.syncTimer = null;
    this.timers.clear(group.joinTimer);
    const wasEmpty = group.is("Empty");
    group.transitionTo("PreparingRebalance");
    log.debug("preparing rebalance", { group: group.groupId, generation: group.generationId, reason });
    if (wasEmpty) {
      const delayMs = this.settings.initialRebalanceDelayMs;
      this.scheduleInitialJoin(group, delayMs, Math.max(group.rebalanceTimeoutMs() - delayMs, 0));
    } else {
      group.joinTimer = this.timers.set(() => this.completeJoin(group), group.rebalanceTimeoutMs());
      this.tryCompleteJoin(group);
    }
  }

  /** Kafka's InitialDelayedJoin: wait, and wait again (up to the rebalance timeout) while new members keep coming. */
  private scheduleInitialJoin(group: Group, delayMs: number, remainingMs: number): void {
    group.newMemberAdded = false;
    group.joinTimer = this.timers.set(() => {
      group.joinTimer = null;
      if (group.newMemberAdded && remainingMs > 0) {
        const nextDelayMs = Math.min(this.settings.initialRebalanceDelayMs, remainingMs);
        this.scheduleInitialJoin(group, nextDelayMs, Math.max(remainingMs - nextDelayMs, 0));
      } else {
        this.completeJoin(group);
      }
    }, delayMs);
    group.inInitialDelay = true;
  }

  private tryCompleteJoin(group: Group): void {
    if (!group.is("PreparingRebalance") || group.inInitialDelay) return;
    if (group.hasAllMembersJoined()) this.completeJoin(group);
  }

  /** Kafka's onCompleteJoin: drop dynamic members that did not rejoin, start the next generation, answer the joins. */
  private completeJoin(group: Group): void {
    group.inInitialDelay = false;
    this.timers.clear(group.joinTimer);
    group.joinTimer = null;
    if (!group.is("PreparingRebalance")) return;
    for (const member of [...group.members.values()]) {
      if (member.awaitingJoin || member.groupInstanceId !== null) continue;
      log.debug("removing member that did not rejoin", { group: group.groupId, member: member.memberId });
      this.timers.clear(member.sessionTimer);
      group.invokeSyncCallback(member, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      group.remove(member.memberId);
    }
    if (!group.maybeElectNewJoinedLeader() && group.members.size > 0) {
      // Only static members that have not rejoined: wait another round for them or their session to end.
      group.joinTimer = this.timers.set(() => this.completeJoin(group), group.rebalanceTimeoutMs());
      return;
    }
    group.initNextGeneration();
    if (group.is("Empty")) {
      log.debug("group is empty", { group: group.groupId, generation: group.generationId });
      this.tryStoreGroup(group);
      return;
    }
    log.debug("group rebalanced", { group: group.groupId, generation: group.generationId, members: group.members.size });
    for (const member of group.members.values()) {
      group.invokeJoinCallback(member, this.joinResult(group, member, group.isLeader(member.memberId)));
      member.isNew = false;
      this.touch(group, member);
      group.pendingSyncMembers.add(member.memberId);
    }
    const generation = group.generationId;
    group.syncTimer = this.timers.set(() => this.expirePendingSync(group, generation), group.rebalanceTimeoutMs());
  }

  /** Members that got their JoinGroup answer but sent no SyncGroup within the rebalance timeout leave the group. */
  private expirePendingSync(group: Group, generation: number): void {
    group.syncTimer = null;
    if (generation !== group.generationId || !(group.is("CompletingRebalance") || group.is("Stable"))) return;
    if (group.pendingSyncMembers.size === 0) return;
    const missing = [...group.pendingSyncMembers];
    log.debug("removing members that did not sync", { group: group.groupId, members: missing.join(",") });
    for (const memberId of missing) {
      const member = group.members.get(memberId);
      if (member) this.timers.clear(member.sessionTimer);
      group.remove(memberId);
    }
    this.maybePrepareRebalance(group, "pending sync expired");
  }

  private removePendingSyncMember(group: Group, memberId: string): void {
    group.pendingSyncMembers.delete(memberId);
    if (group.pendingSyncMembers.size === 0) {
      this.timers.clear(group.syncTimer);
      group.syncTimer = null;
    }
  }

  private resetAndPropagateAssignmentError(group: Group, errorCode: number): void {
    for (const member of group.members.values()) member.assignment = EMPTY_ASSIGNMENT;
    this.propagateAssignment(group, errorCode);
  }

  private propagateAssignment(group: Group, errorCode: number): void {
    for (const member of group.members.values()) {
      const answered = group.invokeSyncCallback(member, {
        errorCode,
        protocolType: group.protocolType,
        protocolName: group.protocolName,
        assignment: member.assignment,
      });
      if (answered && errorCode === ErrorCode.NONE) this.touch(group, member);
    }
  }

  private storeGroup(group: Group): void {
    const protocolName = group.protocolName;
    this.offsets.storeGroup(group.groupId, {
      protocolType: group.protocolType ?? "",
      generation: group.generationId,
      protocolName,
      leader: group.leaderId,
      currentStateTimestamp: group.stateTimestamp,
      members:
        protocolName === null
          ? []
          : [...group.members.values()].map((member) => ({
              memberId: member.memberId,
              groupInstanceId: member.groupInstanceId,
              clientId: member.clientId,
              clientHost: member.clientHost,
              rebalanceTimeoutMs: member.rebalanceTimeoutMs,
              sessionTimeoutMs: member.sessionTimeoutMs,
              subscription: member.metadataFor(protocolName),
              assignment: member.assignment,
            })),
    });
  }

  private tryStoreGroup(group: Group): boolean {
    try {
      this.storeGroup(group);
      return true;
    } catch (error) {
      log.warn("could not store group metadata", { group: group.groupId, error });
      return false;
    }
  }

  // --- Sessions -----------------------------------------------------------------------------------------------------

  /** Restarts the member's session timer (Kafka's completeAndScheduleNextHeartbeatExpiration). */
  private touch(group: Group, member: Member, timeoutMs = member.sessionTimeoutMs): void {
    this.timers.clear(member.sessionTimer);
    member.sessionTimer = this.timers.set(() => this.expireMember(group, member), timeoutMs);
  }

  private expireMember(group: Group, member: Member): void {
    member.sessionTimer = null;
    if (group.members.get(member.memberId) !== member) return;
    // A member parked in a join (not new) or a sync is waited for by the rebalance and sync timers instead; look
    // again one session later, so a member that stops waiting and goes silent still expires.
    if ((member.awaitingJoin && !member.isNew) || member.awaitingSync) return this.touch(group, member);
    log.info("member session expired", { group: group.groupId, member: member.memberId });
    this.removeMemberAndUpdateGroup(group, member);
  }

  private removeMemberAndUpdateGroup(group: Group, member: Member): void {
    group.invokeJoinCallback(member, joinError("", ErrorCode.UNKNOWN_MEMBER_ID));
    group.invokeSyncCallback(member, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    this.timers.clear(member.sessionTimer);
    member.sessionTimer = null;
    group.remove(member.memberId);
    switch (group.state) {
      case "Stable":
      case "CompletingRebalance":
        return this.maybePrepareRebalance(group, `member ${member.memberId} left`);
      case "PreparingRebalance":
        return this.tryCompleteJoin(group);
      case "Empty":
      case "Dead":
        return;
    }
  }

  /** Kafka's validateCurrentMember: a static member must own its instance id, a dynamic one must exist. */
  private validateCurrentMember(group: Group, memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      if (!group.staticMembers.has(groupInstanceId)) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (group.isStaticMemberFenced(groupInstanceId, memberId)) return ErrorCode.FENCED_INSTANCE_ID;
      return ErrorCode.NONE;
    }
    return group.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  // --- SyncGroup, Heartbeat, LeaveGroup -----------------------------------------------------------------------------

  syncGroup(input: SyncGroupInput): Promise<SyncResult> {
    this.ensureLoaded();
    if (input.groupId.length === 0) return Promise.resolve(syncError(ErrorCode.INVALID_GROUP_ID));
    const group = this.groups.get(input.groupId);
    if (!group) return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    if (group.is("Dead")) return Promise.resolve(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    let errorCode = this.validateCurrentMember(group, input.memberId, input.groupInstanceId);
    if (errorCode === ErrorCode.NONE && input.generationId !== group.generationId) errorCode = ErrorCode.ILLEGAL_GENERATION;
    if (
      errorCode === ErrorCode.NONE &&
      ((input.protocolType !== null && input.protocolType !== group.protocolType) ||
        (input.protocolName !== null && input.protocolName !== group.protocolName))
    ) {
      errorCode = ErrorCode.INCONSISTENT_GROUP_PROTOCOL;
    }
    if (errorCode !== ErrorCode.NONE) return Promise.resolve(syncError(errorCode));
    const member = group.get(input.memberId);
    switch (group.state) {
      case "Empty":
        return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      case "PreparingRebalance":
        return Promise.resolve(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      case "Stable":
        this.removePendingSyncMember(group, member.memberId);
        this.touch(group, member);
        return Promise.resolve({
          errorCode: ErrorCode.NONE,
          protocolType: group.protocolType,
          protocolName: group.protocolName,
          assignment: member.assignment,
        });
      case "CompletingRebalance":
        return new Promise((resolve) => {
          group.invokeSyncCallback(member, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
          member.awaitingSync = resolve;
          this.removePendingSyncMember(group, member.memberId);
          if (group.isLeader(member.memberId)) this.completeSync(group, input);
        });
      case "Dead":
        throw new Error(`group ${group.groupId} is Dead`);
    }
  }

  /** The leader's assignment: store it, hand each member its part, and the group is Stable. */
  private completeSync(group: Group, input: SyncGroupInput): void {
    const assignments = new Map(input.assignments.map(({ memberId, assignment }) => [memberId, assignment.slice()]));
    for (const member of group.members.values()) member.assignment = assignments.get(member.memberId) ?? EMPTY_ASSIGNMENT;
    if (!this.tryStoreGroup(group)) {
      this.resetAndPropagateAssignmentError(group, ErrorCode.COORDINATOR_NOT_AVAILABLE);
      this.maybePrepareRebalance(group, "storing the assignment failed");
      return;
    }
    this.propagateAssignment(group, ErrorCode.NONE);
    group.transitionTo("Stable");
  }

  heartbeat(groupId: string, memberId: string, groupInstanceId: string | null, generationId: number): number {
    this.ensureLoaded();
    if (groupId.length === 0) return ErrorCode.INVALID_GROUP_ID;
    const group = this.groups.get(groupId);
    if (!group) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.is("Dead")) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const memberError = this.validateCurrentMember(group, memberId, groupInstanceId);
    if (memberError !== ErrorCode.NONE) return memberError;
    if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    switch (group.state) {
      case "Empty":
        return ErrorCode.UNKNOWN_MEMBER_ID;
      case "CompletingRebalance":
      case "Stable":
        this.touch(group, group.get(memberId));
        return ErrorCode.NONE;
      case "PreparingRebalance":
        this.touch(group, group.get(memberId));
        return ErrorCode.REBALANCE_IN_PROGRESS;
      case "Dead":
        return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
  }

  /** LeaveGroup; v0-2 pass one member. A member id of "" with an instance id removes that static member (admin). */
  leaveGroup(groupId: string, leaving: MemberIdentity[]): LeaveResult {
    this.ensureLoaded();
    if (groupId.length === 0) return { errorCode: ErrorCode.INVALID_GROUP_ID, members: [] };
    const group = this.groups.get(groupId);
    if (!group) return { errorCode: ErrorCode.NONE, members: leaving.map((member) => ({ ...member, errorCode: ErrorCode.UNKNOWN_MEMBER_ID })) };
    if (group.is("Dead")) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    const members = leaving.map((identity) => ({ ...identity, errorCode: this.leaveOne(group, identity) }));
    return { errorCode: ErrorCode.NONE, members };
  }

  private leaveOne(group: Group, { memberId, groupInstanceId }: MemberIdentity): number {
    if (memberId.length === 0) {
      const currentMemberId = groupInstanceId === null ? undefined : group.staticMembers.get(groupInstanceId);
      if (currentMemberId === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      this.removeMemberAndUpdateGroup(group, group.get(currentMemberId));
      return ErrorCode.NONE;
    }
    if (group.pendingMembers.has(memberId)) {
      this.timers.clear(group.pendingMembers.get(memberId));
      group.pendingMembers.delete(memberId);
      if (group.is("PreparingRebalance")) this.tryCompleteJoin(group);
      return ErrorCode.NONE;
    }
    const memberError = this.validateCurrentMember(group, memberId, groupInstanceId);
    if (memberError !== ErrorCode.NONE) return memberError;
    log.debug("member left", { group: group.groupId, member: memberId });
    this.removeMemberAndUpdateGroup(group, group.get(memberId));
    return ErrorCode.NONE;
  }

  // --- Describe, list, delete -----------------------------------------------------------------------------------------

  /** Unknown groups are described as Dead with no error, as Kafka does before DescribeGroups v6. */
  describeGroups(groupIds: string[]): GroupDescription[] {
    this.ensureLoaded();
    return groupIds.map((groupId) => {
      const group = this.groups.get(groupId);
      if (!group) return { groupId, errorCode: ErrorCode.NONE, state: "Dead", protocolType: "", protocolData: "", members: [] };
      const stable = group.is("Stable") && group.protocolName !== null;
      return {
        groupId,
        errorCode: ErrorCode.NONE,
        state: group.state,
        protocolType: group.protocolType ?? "",
        protocolData: stable ? group.protocolName! : "",
        members: [...group.members.values()].map((member) => ({
          memberId: member.memberId,
          groupInstanceId: member.groupInstanceId,
          clientId: member.clientId,
          clientHost: member.clientHost,
          memberMetadata: stable ? member.metadataFor(group.protocolName!) : EMPTY_ASSIGNMENT,
          memberAssignment: stable ? member.assignment : EMPTY_ASSIGNMENT,
        })),
      };
    });
  }

  /** ConsumerGroupDescribe: undefined for a classic or unknown group. */
  describeConsumerGroup(groupId: string): DescribedConsumerGroup | undefined {
    this.ensureLoaded();
    return this.consumerGroups.describe(groupId);
  }

  /** All groups, or those whose state is in statesFilter (case-insensitive). */
  listGroups(statesFilter: string[]): ListedGroup[] {
    this.ensureLoaded();
    const wanted = new Set(statesFilter.map((state) => state.toLowerCase()));
    const listed: ListedGroup[] = [];
    for (const group of this.groups.values()) {
      if (group.is("Dead")) continue;
      if (wanted.size > 0 && !wanted.has(group.state.toLowerCase())) continue;
      listed.push({ groupId: group.groupId, protocolType: group.protocolType ?? "", state: group.state, groupType: "classic", members: group.members.size });
    }
    for (const group of this.consumerGroups.list()) {
      const state = group.state;
      if (wanted.size > 0 && !wanted.has(state.toLowerCase())) continue;
      listed.push({ groupId: group.groupId, protocolType: CONSUMER_PROTOCOL_TYPE, state, groupType: "consumer", members: group.members.size });
    }
    return listed;
  }

  deleteGroups(groupIds: string[]): { groupId: string; errorCode: number }[] {
    this.ensureLoaded();
    return groupIds.map((groupId) => {
      const consumerGroup = this.consumerGroups.get(groupId);
      if (consumerGroup) {
        // Kafka's ConsumerGroup.validateDeleteGroup: only an Empty group goes, with its offsets.
        if (consumerGroup.members.size > 0) return { groupId, errorCode: ErrorCode.NON_EMPTY_GROUP };
        this.consumerGroups.delete(groupId);
        try {
          this.offsets.deleteGroup(groupId);
        } catch (error) {
          log.warn("could not write the tombstones of a removed group", { group: groupId, error });
        }
        return { groupId, errorCode: ErrorCode.NONE };
      }
      const group = this.groups.get(groupId);
      if (!group || group.is("Dead")) return { groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND };
      if (!group.is("Empty")) return { groupId, errorCode: ErrorCode.NON_EMPTY_GROUP };
      this.removeGroup(group);
      return { groupId, errorCode: ErrorCode.NONE };
    });
  }

  // --- Offsets ----------------------------------------------------------------------------------------------------------

  /** OffsetCommit after the handler's per-partition checks; one error code per offset, in order. */
  commitOffsets(input: CommitInput): number[] {
    this.ensureLoaded();
    const all = (errorCode: number) => input.offsets.map(() => errorCode);
    if (this.consumerGroups.has(input.groupId)) {
      const errorCode = this.consumerGroups.validateOffsetRequest(input.groupId, input.memberId, input.generationId, false, input.apiVersion ?? 0);
      return errorCode === ErrorCode.NONE ? this.storeCommit(input) : all(errorCode);
    }
    let group = this.groups.get(input.groupId);
    if (!group) {
      // No membership: a simple consumer or admin tool storing offsets; anything else is from a gone generation
      // (v9+: GROUP_ID_NOT_FOUND, which both kinds of member understand, as Kafka's OffsetMetadataManager).
      if (input.generationId >= 0) return all((input.apiVersion ?? 0) >= 9 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION);
      group = this.newGroup(input.groupId);
      this.groups.set(input.groupId, group);
    }
    const errorCode = this.validateOffsetCommit(group, input);
    if (errorCode !== ErrorCode.NONE) return all(errorCode);
    if (group.is("CompletingRebalance")) return all(ErrorCode.REBALANCE_IN_PROGRESS);
    if (group.is("Stable") || group.is("PreparingRebalance")) {
      const memberId = input.groupInstanceId !== null ? group.staticMembers.get(input.groupInstanceId) : input.memberId;
      const member = memberId === undefined ? undefined : group.members.get(memberId);
      if (member) this.touch(group, member);
    }
    return this.storeCommit(input);
  }

  /** Stores the offsets of a validated commit; OFFSET_METADATA_TOO_LARGE per offset, or one error for all. */
  private storeCommit(input: CommitInput): number[] {
    const errors = input.offsets.map(({ value }) =>
      Buffer.byteLength(value.metadata) > this.settings.offsetMetadataBytesMax ? ErrorCode.OFFSET_METADATA_TOO_LARGE : ErrorCode.NONE,
    );
    const entries: OffsetEntry[] = input.offsets.filter((_, index) => errors[index] === ErrorCode.NONE);
    try {
      this.offsets.commit(input.groupId, entries);
    } catch (error) {
      log.warn("could not store committed offsets", { group: input.groupId, error });
      return input.offsets.map(() => ErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
    return errors;
  }

  /**
   * Kafka's validateTransactionalOffsetCommit (TxnOffsetCommit v3+): a member and generation, when given, must be the
   * group's current ones; an unknown group takes commits (a producer committing for a simple consumer).
   */
  validateTransactionalCommit(groupId: string, generationId: number, memberId: string, groupInstanceId: string | null): number {
    this.ensureLoaded();
    if (this.consumerGroups.has(groupId)) {
      if (generationId < 0 && memberId.length === 0 && groupInstanceId === null) return ErrorCode.NONE;
      return this.consumerGroups.validateOffsetRequest(groupId, memberId, generationId, false, 9);
    }
    const group = this.groups.get(groupId);
    if (!group || (generationId < 0 && memberId.length === 0 && groupInstanceId === null)) return ErrorCode.NONE;
    if (group.is("Dead")) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const memberError = this.validateCurrentMember(group, memberId, groupInstanceId);
    if (memberError !== ErrorCode.NONE) return memberError;
    return generationId === group.generationId ? ErrorCode.NONE : ErrorCode.ILLEGAL_GENERATION;
  }

  /** The offsets of a committed transaction, applied without member checks (Kafka applies them on the marker). */
  commitTransactionalOffsets(groupId: string, offsets: { topic: string; partition: number; offset: number; leaderEpoch: number; metadata: string }[]): void {
    this.ensureLoaded();
    if (!this.groups.has(groupId) && !this.consumerGroups.has(groupId)) this.groups.set(groupId, this.newGroup(groupId));
    const commitTimestamp = Date.now();
    this.offsets.commit(
      groupId,
      offsets.map(({ topic, partition, offset, leaderEpoch, metadata }) => ({ topic, partition, value: { offset, leaderEpoch, metadata, commitTimestamp } })),
    );
  }

  /** Kafka's validateOffsetCommit (non-transactional). */
  private validateOffsetCommit(group: Group, input: CommitInput): number {
    if (group.is("Dead")) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (input.generationId >= 0 || input.memberId.length > 0 || input.groupInstanceId !== null) {
      const memberError = this.validateCurrentMember(group, input.memberId, input.groupInstanceId);
      if (memberError !== ErrorCode.NONE) return memberError;
      if (input.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
      return ErrorCode.NONE;
    }
    // Without membership only an Empty group takes commits.
    return group.is("Empty") ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  /**
   * OffsetFetch v9's member check for KIP-848 groups (Kafka's ConsumerGroup.validateOffsetFetch): UNKNOWN_MEMBER_ID,
   * STALE_MEMBER_EPOCH; no check for classic groups, unknown groups, or a null member id with a negative epoch.
   */
  validateOffsetFetch(groupId: string, memberId: string | null, memberEpoch: number): number {
    this.ensureLoaded();
    if (!this.consumerGroups.has(groupId)) return ErrorCode.NONE;
    return this.consumerGroups.validateOffsetRequest(groupId, memberId, memberEpoch, true, 9);
  }

  /** Committed offsets; topics null means every committed partition. Partitions without a commit get offset -1. */
  fetchOffsets(groupId: string, topics: { topic: string; partitions: number[] }[] | null): FetchedOffsets[] {
    this.ensureLoaded();
    const missing = (partition: number) => ({ partition, offset: -1, leaderEpoch: -1, metadata: "" });
    const found = (partition: number, value: CommittedOffset) => ({
      partition,
      offset: value.offset,
      leaderEpoch: value.leaderEpoch,
      metadata: value.metadata,
    });
    if (topics === null) {
      return [...this.offsets.committed(groupId)].map(([topic, partitions]) => ({
        topic,
        partitions: [...partitions].map(([partition, value]) => found(partition, value)),
      }));
    }
    return topics.map(({ topic, partitions }) => ({
      topic,
      partitions: partitions.map((partition) => {
        const value = this.offsets.get(groupId, topic, partition);
        return value ? found(partition, value) : missing(partition);
      }),
    }));
  }

  /** OffsetDelete: a group error, or one error per partition (GROUP_SUBSCRIBED_TO_TOPIC for topics in use). */
  deleteOffsets(groupId: string, partitions: TopicPartition[]): { errorCode: number; partitionErrors: number[] } {
    this.ensureLoaded();
    const consumerGroup = this.consumerGroups.get(groupId);
    // Kafka's ConsumerGroup.isSubscribedToTopic: topics some member subscribes to, by name or regex.
    const subscribed = consumerGroup ? this.consumerGroups.subscribedTopics(groupId) : this.classicSubscribedTopics(this.groups.get(groupId));
    if (typeof subscribed === "number") return { errorCode: subscribed, partitionErrors: [] };
    const partitionErrors = partitions.map(({ topic }) =>
      subscribed === null || subscribed.has(topic) ? ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC : ErrorCode.NONE,
    );
    try {
      this.offsets.deleteOffsets(groupId, partitions.filter((_, index) => partitionErrors[index] === ErrorCode.NONE));
    } catch (error) {
      log.warn("could not delete offsets", { group: groupId, error });
      return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, partitionErrors: [] };
    }
    return { errorCode: ErrorCode.NONE, partitionErrors };
  }

  /** Topics a classic group's members subscribe to (null: unknown, so all), or the error OffsetDelete answers. */
  private classicSubscribedTopics(group: Group | undefined): Set<string> | null | number {
    if (!group || group.is("Dead")) return ErrorCode.GROUP_ID_NOT_FOUND;
    if (group.is("Empty")) return new Set();
    if (!group.isConsumerGroup()) return ErrorCode.NON_EMPTY_GROUP;
    if (group.protocolName === null) return null;
    const subscribed = new Set<string>();
    for (const member of group.members.values()) {
      const metadata = member.protocols.find((protocol) => protocol.name === group.protocolName)?.metadata;
      const topics = metadata === undefined ? null : subscribedTopics(metadata);
      if (topics === null) return null;
      for (const topic of topics) subscribed.add(topic);
    }
    return subscribed;
  }

  /** Tombstones every group's offsets for a deleted topic (Kafka's onPartitionsDeleted); DeleteTopics calls it. */
  deleteTopicOffsets(topic: string): void {
    this.ensureLoaded();
    for (const groupId of this.offsets.groupIds()) {
      const partitions = this.offsets.committed(groupId).get(topic);
      if (!partitions) continue;
      try {
        this.offsets.deleteOffsets(groupId, [...partitions.keys()].map((partition) => ({ topic, partition })));
      } catch (error) {
        log.warn("could not delete the offsets of a deleted topic", { group: groupId, topic, error });
      }
    }
  }

  /** For tests and metrics. */
  groupState(groupId: string): GroupState | undefined {
    return this.groups.get(groupId)?.state;
  }

  get groupCount(): number {
    return this.groups.size + this.consumerGroups.list().length;
  }
}

/** Kafka's clientHost as DescribeGroups shows it: "/" and the address, without the port ("/127.0.0.1"). */
export function clientHostOf(clientAddress: string): string {
  const colon = clientAddress.lastIndexOf(":");
  return `/${colon > 0 ? clientAddress.slice(0, colon) : clientAddress}`;
}
