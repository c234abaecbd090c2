// One consumer group for the console: DescribeGroups (state, members with client ids, hosts and their decoded
// assignments), committed offsets and lag as `kgate status` computes them (src/status/cluster-status.ts), and the reset
// of a group without members to the earliest, the latest or a timestamp's offsets (ListOffsets, then OffsetCommit,
// through the handlers as the caller's principal: the ACLs and the coordinator's checks are the Kafka APIs').

import { ByteReader } from "../protocol/byte-reader.ts";
import { ErrorCode, errorName } from "../protocol/error-codes.ts";
import { collectStatus, type GroupStatus } from "../status/cluster-status.ts";
import type { InProcessClient } from "./in-process-client.ts";
import { badRequest, ConsoleError, notFound, nonNegativeInteger } from "./responses.ts";

const API = { listOffsets: 2, offsetCommit: 8, describeGroups: 15 } as const;
/** OffsetCommit v10+ names topics by id; the console names them. */
const OFFSET_COMMIT_BY_NAME_MAX = 9;

export interface GroupMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** The consumer protocol's assignment; null for other protocols or an undecodable one. */
  assignment: { topic: string; partitions: number[] }[] | null;
}

export interface GroupDetail extends GroupStatus {
  protocol: string;
  memberList: GroupMember[];
  totalLag: number;
}

/** Kafka's ConsumerProtocolAssignment: version, [topic, [partition]], user data. */
export function decodeConsumerAssignment(bytes: Uint8Array): { topic: string; partitions: number[] }[] | null {
  if (bytes.length === 0) return [];
  try {
    const reader = new ByteReader(bytes);
    reader.readInt16();
    const topics: { topic: string; partitions: number[] }[] = [];
    const topicCount = reader.readArrayLength(2);
    for (let i = 0; i < topicCount; i++) {
      const topic = reader.readString();
      const partitions: number[] = [];
      const partitionCount = reader.readArrayLength(4);
      for (let j = 0; j < partitionCount; j++) partitions.push(reader.readInt32());
      topics.push({ topic, partitions: partitions.sort((a, b) => a - b) });
    }
    return topics;
  } catch {
    return null;
  }
}

export async function describeGroup(client: InProcessClient, groupId: string): Promise<GroupDetail> {
  const status = await collectStatus(client);
  const listed = status.groups.find((group) => group.groupId === groupId);
  if (!listed) throw notFound(`consumer group '${groupId}' does not exist`);
  const answer = await client.call(API.describeGroups, client.version(API.describeGroups, 5), { groups: [groupId], includeAuthorizedOperations: false });
  const described = answer.groups[0];
  if (described.errorCode !== ErrorCode.NONE) throw new ConsoleError(described.errorCode === ErrorCode.GROUP_AUTHORIZATION_FAILED ? 403 : 400, errorName(described.errorCode));
  const memberList: GroupMember[] = described.members.map((member: any) => ({
    memberId: member.memberId,
    groupInstanceId: member.groupInstanceId ?? null,
    clientId: member.clientId,
    clientHost: member.clientHost,
    assignment: described.protocolType === "consumer" ? decodeConsumerAssignment(member.memberAssignment) : null,
  }));
  return {
    ...listed,
    protocol: described.protocolData,
    memberList,
    totalLag: listed.offsets.reduce((sum, offset) => sum + (offset.lag ?? 0), 0),
  };
}

type ResetTarget = { to: "earliest" } | { to: "latest" } | { to: "timestamp"; timestampMs: number };

function resetTarget(body: Record<string, unknown>): ResetTarget {
  if (body.to === "earliest" || body.to === "latest") return { to: body.to };
  if (body.to === "timestamp") return { to: "timestamp", timestampMs: nonNegativeInteger(body.timestamp, "timestamp (milliseconds since the epoch)") };
  throw badRequest(`to must be earliest, latest or timestamp, not ${JSON.stringify(body.to)}`);
}

/**
 * Moves the group's committed offsets (every partition it committed, or those of body.topic) to the target. Refused
 * with 409 while the group has members: their next commit would overwrite the reset (Kafka's tool refuses too).
 */
export async function resetGroupOffsets(client: InProcessClient, groupId: string, body: Record<string, unknown>): Promise<{ partitions: { topic: string; partition: number; offset: number }[] }> {
  const target = resetTarget(body);
  const group = await describeGroup(client, groupId);
  if (group.memberList.length > 0) throw new ConsoleError(409, `consumer group '${groupId}' has ${group.memberList.length} active member(s); stop its consumers before resetting its offsets`);
  const topicFilter = typeof body.topic === "string" && body.topic !== "" ? body.topic : null;
  const partitions = group.offsets.filter((offset) => topicFilter === null || offset.topic === topicFilter);
  if (partitions.length === 0) throw badRequest(`consumer group '${groupId}' has no committed offsets${topicFilter ? ` for topic '${topicFilter}'` : ""} to reset`);
  const topics = [...new Set(partitions.map((offset) => offset.topic))];
  const timestamp = target.to === "earliest" ? -2n : target.to === "latest" ? -1n : BigInt(target.timestampMs);
  const listed = await client.call(API.listOffsets, client.version(API.listOffsets, 7), {
    replicaId: -1,
    isolationLevel: 0,
    topics: topics.map((name) => ({ name, partitions: partitions.filter((offset) => offset.topic === name).map((offset) => ({ partitionIndex: offset.partition, currentLeaderEpoch: -1, timestamp })) })),
  });
  const targets: { topic: string; partition: number; offset: number }[] = [];
  for (const topic of listed.topics) {
    for (const partition of topic.partitions) {
      if (partition.errorCode !== ErrorCode.NONE) throw new ConsoleError(400, `${topic.name}-${partition.partitionIndex}: ${errorName(partition.errorCode)}`);
      let offset = Number(partition.offset);
      // A timestamp after the last record: the end, as kafka-consumer-groups --to-datetime does.
      if (offset < 0) offset = partitions.find((item) => item.topic === topic.name && item.partition === partition.partitionIndex)?.endOffset ?? 0;
      targets.push({ topic: topic.name, partition: partition.partitionIndex, offset });
    }
  }
  const committed = await client.call(API.offsetCommit, client.version(API.offsetCommit, OFFSET_COMMIT_BY_NAME_MAX), {
    groupId,
    generationIdOrMemberEpoch: -1,
    memberId: "",
    groupInstanceId: null,
    retentionTimeMs: -1n,
    topics: topics.map((name) => ({
      name,
      partitions: targets.filter((item) => item.topic === name).map((item) => ({ partitionIndex: item.partition, committedOffset: BigInt(item.offset), committedLeaderEpoch: -1, committedMetadata: "" })),
    })),
  });
  for (const topic of committed.topics) {
    for (const partition of topic.partitions) {
      if (partition.errorCode !== ErrorCode.NONE) throw new ConsoleError(409, `${topic.name}-${partition.partitionIndex}: ${errorName(partition.errorCode)}`);
    }
  }
  return { partitions: targets.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1)) };
}
