// One KIP-848 consumer group, as Kafka's ConsumerGroup (group-coordinator/…/modern/consumer/ConsumerGroup.java):
// its members, the group epoch (bumped when subscriptions or the subscribed topics' metadata change), the target
// assignment and the epoch it was computed for, and the epoch of the member owning each partition. Bookkeeping only;
// the rules of the heartbeat live in coordinator.ts.

import type { Assignment } from "./assignment.ts";
import type { ConsumerGroupMember, ReconciliationState } from "./member.ts";

/** Kafka's ConsumerGroupState names, as ListGroups and ConsumerGroupDescribe report them. */
export type ConsumerGroupState = "Empty" | "Assigning" | "Reconciling" | "Stable";

export class ConsumerGroup {
  groupEpoch = 0;
  assignmentEpoch = 0;
  readonly members = new Map<string, ConsumerGroupMember>();
  /** instance id → member id. */
  readonly staticMembers = new Map<string, string>();
  /** member id → its target assignment at assignmentEpoch. */
  readonly targetAssignment = new Map<string, Assignment>();
  /** topic id → partition → epoch of the member that owns it or must still revoke it. */
  private readonly partitionEpochs = new Map<string, Map<number, number>>();
  /** The subscribed topics' names, ids and partition counts when the group epoch last moved (Kafka's metadata hash). */
  subscriptionMetadata = "";
  /** TopicStore.version when the subscription metadata was last computed; a change means: look again. */
  topicsVersionSeen = -1;
  /** regex → matching topic names, at topicsVersionSeen. */
  readonly resolvedRegexes = new Map<string, ReadonlySet<string>>();
  /** When the group was last left Empty (ms), for the sweep that forgets empty groups. */
  emptySinceMs: number;

  constructor(
    readonly groupId: string,
    nowMs: number,
  ) {
    this.emptySinceMs = nowMs;
  }

  /** Kafka's maybeUpdateGroupState, computed on demand. */
  get state(): ConsumerGroupState {
    if (this.members.size === 0) return "Empty";
    if (this.groupEpoch > this.assignmentEpoch) return "Assigning";
    for (const member of this.members.values()) if (!member.isReconciledTo(this.assignmentEpoch)) return "Reconciling";
    return "Stable";
  }

  staticMember(instanceId: string): ConsumerGroupMember | undefined {
    const memberId = this.staticMembers.get(instanceId);
    return memberId === undefined ? undefined : this.members.get(memberId);
  }

  /** Kafka's currentPartitionEpoch: -1 when no member owns the partition. */
  partitionEpoch(topicId: string, partition: number): number {
    return this.partitionEpochs.get(topicId)?.get(partition) ?? -1;
  }

  addMember(member: ConsumerGroupMember): void {
    this.members.set(member.memberId, member);
    if (member.instanceId !== null) this.staticMembers.set(member.instanceId, member.memberId);
    this.addPartitionEpochs(member);
  }

  /** Replaces the member's reconciliation state, moving the partition epochs with it. */
  updateReconciliation(member: ConsumerGroupMember, next: ReconciliationState): void {
    this.removePartitionEpochs(member);
    member.state = next.state;
    member.memberEpoch = next.memberEpoch;
    member.previousMemberEpoch = next.previousMemberEpoch;
    member.assignedPartitions = next.assignedPartitions;
    member.partitionsPendingRevocation = next.partitionsPendingRevocation;
    this.addPartitionEpochs(member);
  }

  removeMember(member: ConsumerGroupMember, nowMs: number): void {
    this.removePartitionEpochs(member);
    this.members.delete(member.memberId);
    this.targetAssignment.delete(member.memberId);
    if (member.instanceId !== null && this.staticMembers.get(member.instanceId) === member.memberId) this.staticMembers.delete(member.instanceId);
    if (this.members.size === 0) this.emptySinceMs = nowMs;
  }

  /** Topic names some member subscribes to, by name or by its regex (Kafka's subscribedTopicNames). */
  subscribedTopicNames(): Set<string> {
    const names = new Set<string>();
    for (const member of this.members.values()) {
      for (const name of member.subscribedTopicNames) names.add(name);
      if (member.subscribedTopicRegex !== null) for (const name of this.resolvedRegexes.get(member.subscribedTopicRegex) ?? []) names.add(name);
    }
    return names;
  }

  /** The member's subscribed topic names: its names and what its regex matches. */
  memberTopicNames(member: ConsumerGroupMember): Set<string> {
    const names = new Set(member.subscribedTopicNames);
    if (member.subscribedTopicRegex !== null) for (const name of this.resolvedRegexes.get(member.subscribedTopicRegex) ?? []) names.add(name);
    return names;
  }

  private addPartitionEpochs(member: ConsumerGroupMember): void {
    for (const assignment of [member.assignedPartitions, member.partitionsPendingRevocation]) {
      for (const [topicId, partitions] of assignment) {
        let epochs = this.partitionEpochs.get(topicId);
        if (!epochs) this.partitionEpochs.set(topicId, (epochs = new Map()));
        for (const partition of partitions) epochs.set(partition, member.memberEpoch);
      }
    }
  }

  private removePartitionEpochs(member: ConsumerGroupMember): void {
    for (const assignment of [member.assignedPartitions, member.partitionsPendingRevocation]) {
      for (const [topicId, partitions] of assignment) {
        const epochs = this.partitionEpochs.get(topicId);
        if (!epochs) continue;
        for (const partition of partitions) epochs.delete(partition);
        if (epochs.size === 0) this.partitionEpochs.delete(topicId);
      }
    }
  }
}
