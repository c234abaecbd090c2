// Moves one member's assignment towards its target, a step at a time, as Kafka's CurrentAssignmentBuilder
// (group-coordinator/…/modern/consumer/CurrentAssignmentBuilder.java). The rule that makes rebalances incremental:
// a partition is given to a member only when no other member owns it (its partition epoch is gone), and a member that
// must give partitions up stays at its epoch until its heartbeat no longer lists them as owned.
//   STABLE, epoch behind the target          → next assignment
//   UNREVOKED_PARTITIONS, still owns revoked  → unchanged (the rebalance timer runs)
//   UNREVOKED_PARTITIONS, revoked them        → next assignment (at memberEpoch + 1 if it must revoke again)
//   UNRELEASED_PARTITIONS                     → next assignment (picks up partitions released meanwhile)
// The next assignment keeps owned ∩ target; what leaves the target must be revoked first (UNREVOKED_PARTITIONS);
// otherwise the member moves to the target epoch with the free new partitions, UNRELEASED_PARTITIONS when some are
// still owned elsewhere, else STABLE.

import { addPartition, intersects, type Assignment } from "./assignment.ts";
import type { ReconciliationState } from "./member.ts";

/** The epoch of the member owning (or revoking) a partition; -1 when nobody does (Kafka's currentPartitionEpoch). */
export type PartitionEpochOf = (topicId: string, partition: number) => number;

export interface ReconcileInput {
  targetAssignmentEpoch: number;
  targetAssignment: Assignment;
  partitionEpochOf: PartitionEpochOf;
  /** What the member reports owning; null when its heartbeat left it out (then nothing counts as revoked). */
  ownedPartitions: Assignment | null;
}

export function reconcile(member: ReconciliationState, input: ReconcileInput): ReconciliationState {
  const ownsAnyOf = (partitions: Assignment) => input.ownedPartitions === null || intersects(input.ownedPartitions, partitions);
  switch (member.state) {
    case "STABLE":
      if (member.memberEpoch === input.targetAssignmentEpoch) return member;
      return nextAssignment(member, member.memberEpoch, input, ownsAnyOf);
    case "UNREVOKED_PARTITIONS":
      if (ownsAnyOf(member.partitionsPendingRevocation)) return member;
      return nextAssignment(member, member.memberEpoch + 1, input, ownsAnyOf);
    case "UNRELEASED_PARTITIONS":
      return nextAssignment(member, member.memberEpoch, input, ownsAnyOf);
  }
}

function nextAssignment(
  member: ReconciliationState,
  memberEpoch: number,
  input: ReconcileInput,
  ownsAnyOf: (partitions: Assignment) => boolean,
): ReconciliationState {
  const { targetAssignment, targetAssignmentEpoch, partitionEpochOf } = input;
  const assigned = new Map<string, Set<number>>();
  const pendingRevocation = new Map<string, Set<number>>();
  const pendingAssignment = new Map<string, Set<number>>();
  let hasUnreleasedPartitions = false;
  const topicIds = new Set([...targetAssignment.keys(), ...member.assignedPartitions.keys()]);
  for (const topicId of topicIds) {
    const target = targetAssignment.get(topicId);
    const current = member.assignedPartitions.get(topicId);
    for (const partition of current ?? []) {
      if (target?.has(partition)) addPartition(assigned, topicId, partition);
      else addPartition(pendingRevocation, topicId, partition);
    }
    for (const partition of target ?? []) {
      if (current?.has(partition)) continue;
      if (partitionEpochOf(topicId, partition) !== -1) hasUnreleasedPartitions = true;
      else addPartition(pendingAssignment, topicId, partition);
    }
  }
  if (pendingRevocation.size > 0 && ownsAnyOf(pendingRevocation)) {
    return {
      state: "UNREVOKED_PARTITIONS",
      memberEpoch,
      // Kafka's updateMemberEpoch: the previous epoch is the one the member had, even when unchanged.
      previousMemberEpoch: member.memberEpoch,
      assignedPartitions: assigned,
      partitionsPendingRevocation: pendingRevocation,
    };
  }
  for (const [topicId, partitions] of pendingAssignment) for (const partition of partitions) addPartition(assigned, topicId, partition);
  return {
    state: hasUnreleasedPartitions ? "UNRELEASED_PARTITIONS" : "STABLE",
    memberEpoch: targetAssignmentEpoch,
    previousMemberEpoch: member.memberEpoch,
    assignedPartitions: assigned,
    partitionsPendingRevocation: new Map(),
  };
}
