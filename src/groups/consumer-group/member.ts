// One member of a KIP-848 consumer group, as Kafka's ConsumerGroupMember: what it subscribes to, and where its
// reconciliation stands (member epoch, the partitions it owns, those it must give up).

import { EMPTY_ASSIGNMENT, type Assignment } from "./assignment.ts";

/**
 * Kafka's MemberState: STABLE (owns its share of the target at memberEpoch), UNREVOKED_PARTITIONS (must give up
 * partitionsPendingRevocation before it moves to the next epoch), UNRELEASED_PARTITIONS (at the target epoch, waiting
 * for partitions other members still own).
 */
export type MemberState = "STABLE" | "UNREVOKED_PARTITIONS" | "UNRELEASED_PARTITIONS";

/** Kafka's ConsumerGroupHeartbeatRequest.LEAVE_GROUP_MEMBER_EPOCH: the member leaves for good. */
export const LEAVE_GROUP_MEMBER_EPOCH = -1;
/** Kafka's LEAVE_GROUP_STATIC_MEMBER_EPOCH: a static member leaves for a while and keeps its partitions. */
export const LEAVE_GROUP_STATIC_MEMBER_EPOCH = -2;

/** The reconciliation part of a member, replaced as a whole by reconcile(). */
export interface ReconciliationState {
  state: MemberState;
  memberEpoch: number;
  previousMemberEpoch: number;
  /** Partitions the member owns or is being given (Kafka's assignedPartitions). */
  assignedPartitions: Assignment;
  /** Partitions the member must revoke before it may move on. */
  partitionsPendingRevocation: Assignment;
}

export class ConsumerGroupMember implements ReconciliationState {
  state: MemberState = "STABLE";
  memberEpoch = 0;
  previousMemberEpoch = 0;
  assignedPartitions: Assignment = EMPTY_ASSIGNMENT;
  partitionsPendingRevocation: Assignment = EMPTY_ASSIGNMENT;
  instanceId: string | null = null;
  rackId: string | null = null;
  rebalanceTimeoutMs = 0;
  clientId = "";
  clientHost = "";
  subscribedTopicNames: readonly string[] = [];
  /** null: no regex subscription. */
  subscribedTopicRegex: string | null = null;
  /** The assignor the member asks for; null: the group's choice. */
  serverAssignor: string | null = null;
  sessionTimer: unknown = null;
  rebalanceTimer: unknown = null;

  constructor(public memberId: string) {}

  /** Kafka's isReconciledTo: STABLE at the given epoch. */
  isReconciledTo(assignmentEpoch: number): boolean {
    return this.state === "STABLE" && this.memberEpoch === assignmentEpoch;
  }

  reconciliation(): ReconciliationState {
    const { state, memberEpoch, previousMemberEpoch, assignedPartitions, partitionsPendingRevocation } = this;
    return { state, memberEpoch, previousMemberEpoch, assignedPartitions, partitionsPendingRevocation };
  }
}
