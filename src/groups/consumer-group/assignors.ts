// The server-side assignors of KIP-848, chosen per member with ConsumerGroupHeartbeat's ServerAssignor:
// - "uniform" (the default, Kafka's UniformAssignor): every partition of every subscribed topic to one member that
//   subscribes to its topic, as evenly as the subscriptions allow, moving as few partitions as possible from the
//   previous target. Kafka's goals, kgate's own algorithms, with Kafka's split by subscription type: identical
//   subscriptions (the usual case) take a quota pass in O(partitions + members): each member floor(P/M) partitions
//   and P % M of them one more, previous partitions kept up to the quota, the rest to members below it; differing
//   subscriptions keep each member's previous partitions still valid for it, give the rest to the least loaded
//   eligible member, then move partitions from a member two or more above an eligible one until none is. Counts
//   differ by at most one with identical subscriptions, as in Kafka; which partitions move may differ from Kafka's
//   OptimizedUniformAssignmentBuilder / GeneralUniformAssignmentBuilder, which no client can observe beyond balance
//   and stickiness. 5,000 members on 10,000 partitions: ~50-70 ms (the heterogeneous path is slower on big groups).
// - "range" (Kafka's RangeAssignor): per topic, the subscribed members get consecutive ranges, the first
//   (partitions % members) one partition more; members in Kafka's order: static members first, by instance id (a
//   restarted static member gets its ranges back), then the others by member id. So members with the same topics of
//   equal partition counts get the same partition numbers of each (co-partitioning). Rack-unaware, as all of kgate.

import { addPartition, removePartition, type Assignment } from "./assignment.ts";

export interface AssignorMember {
  memberId: string;
  /** Static members' instance id (the range assignor orders by it). */
  instanceId?: string | null;
  /** Topic ids the member subscribes to (only topics that exist). */
  subscribedTopicIds: ReadonlySet<string>;
  /** Its previous target assignment (stickiness). */
  currentAssignment: Assignment;
}

export interface AssignorInput {
  members: readonly AssignorMember[];
  /** Topic id → partition count, for every subscribed topic that exists. */
  topics: ReadonlyMap<string, number>;
}

export interface Assignor {
  readonly name: string;
  /** memberId → target assignment; every member gets an entry. */
  assign(input: AssignorInput): Map<string, Assignment>;
}

export const uniformAssignor: Assignor = {
  name: "uniform",
  assign(input) {
    return hasIdenticalSubscriptions(input.members) ? assignHomogeneous(input) : assignHeterogeneous(input);
  },
};

/** Every member subscribes to the same topics (Kafka's SubscriptionType.HOMOGENEOUS). */
function hasIdenticalSubscriptions(members: readonly AssignorMember[]): boolean {
  const first = members[0];
  if (!first) return true;
  return members.every(({ subscribedTopicIds }) => subscribedTopicIds.size === first.subscribedTopicIds.size && [...subscribedTopicIds].every((id) => first.subscribedTopicIds.has(id)));
}

/**
 * Identical subscriptions, in O(partitions + members log members): every member gets floor(P/M) partitions and
 * P % M of them one more. Members keep their previous partitions up to that quota, those with more keep one extra
 * while extra places remain, and the partitions left go to the members below their quota.
 */
function assignHomogeneous({ members, topics }: AssignorInput): Map<string, Assignment> {
  const result = new Map(members.map((member) => [member.memberId, new Map<string, Set<number>>()]));
  if (members.length === 0) return result;
  let partitionTotal = 0;
  for (const count of topics.values()) partitionTotal += count;
  const quotaMin = Math.floor(partitionTotal / members.length);
  let extras = partitionTotal % members.length;
  const taken = new Set<string>();
  const counts = new Map<string, number>();
  const surplus: { memberId: string; topicId: string; partition: number }[] = [];
  const ordered = [...members].sort(byMemberId);
  for (const member of ordered) {
    let count = 0;
    for (const [topicId, partitions] of member.currentAssignment) {
      const partitionCount = topics.get(topicId);
      if (partitionCount === undefined) continue;
      for (const partition of partitions) {
        const key = `${topicId}:${partition}`;
        if (partition >= partitionCount || taken.has(key)) continue;
        if (count < quotaMin) {
          taken.add(key);
          addPartition(result.get(member.memberId)!, topicId, partition);
          count++;
        } else if (count === quotaMin && surplus.at(-1)?.memberId !== member.memberId) {
          surplus.push({ memberId: member.memberId, topicId, partition });
        }
      }
    }
    counts.set(member.memberId, count);
  }
  // Members that had more than the quota keep one partition more while there are extra places.
  for (const { memberId, topicId, partition } of surplus) {
    const key = `${topicId}:${partition}`;
    if (extras === 0 || counts.get(memberId) !== quotaMin || taken.has(key)) continue;
    taken.add(key);
    addPartition(result.get(memberId)!, topicId, partition);
    counts.set(memberId, quotaMin + 1);
    extras--;
  }
  // The rest: first to members below the quota, then one each to members at it while extra places remain.
  const below = ordered.filter((member) => counts.get(member.memberId)! < quotaMin);
  const atQuota = ordered.filter((member) => counts.get(member.memberId) === quotaMin);
  let nextBelow = 0;
  let nextAtQuota = 0;
  for (const topicId of [...topics.keys()].sort()) {
    for (let partition = 0; partition < topics.get(topicId)!; partition++) {
      if (taken.has(`${topicId}:${partition}`)) continue;
      let receiver: AssignorMember | undefined;
      // A member filled up to the quota may still take one extra place, after the others.
      while (nextBelow < below.length && counts.get(below[nextBelow]!.memberId)! >= quotaMin) atQuota.push(below[nextBelow++]!);
      if (nextBelow < below.length) receiver = below[nextBelow];
      else if (extras > 0) {
        receiver = atQuota[nextAtQuota++];
        extras--;
      }
      if (!receiver) throw new Error(`uniform assignor: no member for ${topicId}:${partition}`);
      addPartition(result.get(receiver.memberId)!, topicId, partition);
      counts.set(receiver.memberId, counts.get(receiver.memberId)! + 1);
    }
  }
  return result;
}

/** Differing subscriptions: sticky first, then the least loaded eligible member, then moves until balanced. */
function assignHeterogeneous({ members, topics }: AssignorInput): Map<string, Assignment> {
  const owned = new Map(members.map((member) => [member.memberId, new Map<string, Set<number>>()]));
  const counts = new Map(members.map((member) => [member.memberId, 0]));
  const owner = new Map<string, string>(); // "topicId:partition" → member id
  const give = (memberId: string, topicId: string, partition: number) => {
    addPartition(owned.get(memberId)!, topicId, partition);
    counts.set(memberId, counts.get(memberId)! + 1);
    owner.set(`${topicId}:${partition}`, memberId);
  };
  const take = (memberId: string, topicId: string, partition: number) => {
    removePartition(owned.get(memberId)!, topicId, partition);
    counts.set(memberId, counts.get(memberId)! - 1);
    owner.delete(`${topicId}:${partition}`);
  };
  const eligible = new Map<string, AssignorMember[]>();
  for (const topicId of topics.keys()) {
    eligible.set(topicId, members.filter((member) => member.subscribedTopicIds.has(topicId)).sort(byMemberId));
  }
  // 1. Stickiness: previous partitions that still exist and that the member still subscribes to.
  for (const member of members) {
    for (const [topicId, partitions] of member.currentAssignment) {
      const partitionTotal = topics.get(topicId);
      if (partitionTotal === undefined || !member.subscribedTopicIds.has(topicId)) continue;
      for (const partition of partitions) {
        if (partition < partitionTotal && !owner.has(`${topicId}:${partition}`)) give(member.memberId, topicId, partition);
      }
    }
  }
  // 2. Unowned partitions to the least loaded eligible member; topics with fewer candidates first.
  const topicOrder = [...topics.keys()].sort((a, b) => eligible.get(a)!.length - eligible.get(b)!.length || (a < b ? -1 : a > b ? 1 : 0));
  for (const topicId of topicOrder) {
    const candidates = eligible.get(topicId)!;
    if (candidates.length === 0) continue;
    for (let partition = 0; partition < topics.get(topicId)!; partition++) {
      if (owner.has(`${topicId}:${partition}`)) continue;
      give(leastLoaded(candidates, counts).memberId, topicId, partition);
    }
  }
  // 3. Balance: move a partition from a member two or more above an eligible member, until none is.
  let moved = true;
  for (let round = 0; moved && round <= owner.size; round++) {
    moved = false;
    const heaviestFirst = [...members].sort((a, b) => counts.get(b.memberId)! - counts.get(a.memberId)! || byMemberId(a, b));
    for (const heavy of heaviestFirst) {
      for (const [topicId, partitions] of [...owned.get(heavy.memberId)!]) {
        for (const partition of [...partitions]) {
          const light = leastLoaded(eligible.get(topicId)!, counts);
          if (counts.get(heavy.memberId)! - counts.get(light.memberId)! < 2) continue;
          take(heavy.memberId, topicId, partition);
          give(light.memberId, topicId, partition);
          moved = true;
        }
      }
    }
  }
  return owned;
}

export const rangeAssignor: Assignor = {
  name: "range",
  assign({ members, topics }) {
    const result = new Map(members.map((member) => [member.memberId, new Map<string, Set<number>>()]));
    for (const [topicId, partitionTotal] of topics) {
      const subscribed = members.filter((member) => member.subscribedTopicIds.has(topicId)).sort(byInstanceThenMemberId);
      if (subscribed.length === 0) continue;
      const perMember = Math.floor(partitionTotal / subscribed.length);
      const withExtra = partitionTotal % subscribed.length;
      let next = 0;
      subscribed.forEach((member, index) => {
        const count = perMember + (index < withExtra ? 1 : 0);
        for (let i = 0; i < count; i++) addPartition(result.get(member.memberId)!, topicId, next++);
      });
    }
    return result;
  },
};

/** The assignors a member may name, by name (Kafka's group.consumer.assignors: uniform, range). */
export const serverAssignors: ReadonlyMap<string, Assignor> = new Map([uniformAssignor, rangeAssignor].map((assignor) => [assignor.name, assignor]));

function byMemberId(a: { memberId: string }, b: { memberId: string }): number {
  return a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0;
}

/** Kafka's RangeAssignor.sortMemberIds: static members first, by instance id; then the rest by member id. */
function byInstanceThenMemberId(a: AssignorMember, b: AssignorMember): number {
  const left = a.instanceId ?? null;
  const right = b.instanceId ?? null;
  if (left !== null && right !== null) return left < right ? -1 : left > right ? 1 : 0;
  if (left !== null) return -1;
  if (right !== null) return 1;
  return byMemberId(a, b);
}

function leastLoaded(candidates: readonly AssignorMember[], counts: ReadonlyMap<string, number>): AssignorMember {
  let best = candidates[0]!;
  for (const candidate of candidates) if (counts.get(candidate.memberId)! < counts.get(best.memberId)!) best = candidate;
  return best;
}
