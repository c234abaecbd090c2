// What `kgate status` and the web console show of a broker: topics, partitions, offsets, sizes, groups and lag,
// collected over the Kafka protocol. The client is a connection to a broker (`kgate status`) or the gateway's own
// handlers called in-process (src/console/in-process-client.ts); each request's version is clamped to what the broker
// serves, and an API it lacks leaves its columns null (DescribeLogDirs for sizes) instead of failing.

import { ErrorCode } from "../protocol/error-codes.ts";
import type { LinkStatus } from "../uplink/link.ts";
import type { PullStatus } from "../uplink/downlink.ts";
import { KafkaConnectionError } from "../client/kafka-connection.ts";

/** What collectStatus asks of a client: KafkaConnection's version() and call(). */
export interface StatusClient {
  /** Highest version of the API both sides speak, at most max; throws KafkaConnectionError("unsupported") when none. */
  version(apiKey: number, max?: number): number;
  call<Response = any>(apiKey: number, version: number, body: object): Promise<Response>;
}

export interface PartitionStatus {
  topic: string;
  partition: number;
  internal: boolean;
  startOffset: number | null;
  endOffset: number | null;
  sizeBytes: number | null;
}

export interface GroupStatus {
  groupId: string;
  state: string;
  protocolType: string;
  /** ListGroups v5: "classic" or "consumer" (KIP-848, described with ConsumerGroupDescribe); "" from older brokers. */
  groupType: string;
  members: number;
  offsets: { topic: string; partition: number; committed: number; endOffset: number | null; lag: number | null }[];
}

export interface ClusterStatus {
  clusterId: string | null;
  brokers: string[];
  partitions: PartitionStatus[];
  groups: GroupStatus[];
  /** The gateway's links to central clusters (its HTTP listener's /uplinks); absent when that was not reachable. */
  uplinks?: { edgeId: string | null; links: LinkStatus[]; pulls?: PullStatus[] };
}

/** [apiKey, lowest version this code reads, highest it asks for]: each clamped to what the broker advertises. */
const PREFERRED = { metadata: [3, 1, 12], listOffsets: [2, 1, 7], describeLogDirs: [35, 0, 4], listGroups: [16, 0, 5], describeGroups: [15, 0, 5], consumerGroupDescribe: [69, 0, 1], offsetFetch: [9, 2, 7] } as const;

export async function collectStatus(client: StatusClient): Promise<ClusterStatus> {
  // The connection ran ApiVersions when it opened: client.version() clamps to the broker's ranges.
  const pick = ([apiKey, min, max]: readonly [number, number, number]): number | null => {
    try {
      const version = client.version(apiKey, max);
      return version >= min ? version : null;
    } catch (error) {
      if (error instanceof KafkaConnectionError && error.kind === "unsupported") return null;
      throw error;
    }
  };
  const need = (wanted: readonly [number, number, number], name: string): number => {
    const version = pick(wanted);
    if (version === null) throw new KafkaConnectionError("unsupported", `the broker does not serve ${name} in a version this client speaks`);
    return version;
  };

  const metadataVersion = need(PREFERRED.metadata, "Metadata");
  const metadata = await client.call(3, metadataVersion, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  const partitions: PartitionStatus[] = [];
  for (const topic of metadata.topics) {
    if (topic.errorCode !== ErrorCode.NONE || topic.name === null) continue;
    for (const partition of [...topic.partitions].sort((a: any, b: any) => a.partitionIndex - b.partitionIndex)) {
      partitions.push({ topic: topic.name, partition: partition.partitionIndex, internal: topic.isInternal, startOffset: null, endOffset: null, sizeBytes: null });
    }
  }
  partitions.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  const byKey = new Map(partitions.map((status) => [`${status.topic}\u0000${status.partition}`, status]));

  if (partitions.length > 0) {
    const listOffsetsVersion = need(PREFERRED.listOffsets, "ListOffsets");
    const topics = [...new Set(partitions.map((status) => status.topic))];
    for (const [timestamp, field] of [[-2n, "startOffset"], [-1n, "endOffset"]] as const) {
      const answer = await client.call(2, listOffsetsVersion, {
        replicaId: -1,
        isolationLevel: 0,
        topics: topics.map((name) => ({
          name,
          partitions: partitions.filter((status) => status.topic === name).map((status) => ({ partitionIndex: status.partition, currentLeaderEpoch: -1, timestamp })),
        })),
      });
      for (const topic of answer.topics) {
        for (const partition of topic.partitions) {
          const status = byKey.get(`${topic.name}\u0000${partition.partitionIndex}`);
          if (status && partition.errorCode === ErrorCode.NONE) status[field] = Number(partition.offset);
        }
      }
    }
    const logDirsVersion = pick(PREFERRED.describeLogDirs);
    if (logDirsVersion !== null) {
      const answer = await client.call(35, logDirsVersion, { topics: null });
      for (const result of answer.results) {
        if (result.errorCode !== ErrorCode.NONE) continue;
        for (const topic of result.topics) {
          for (const partition of topic.partitions) {
            const status = byKey.get(`${topic.name}\u0000${partition.partitionIndex}`);
            if (status && !partition.isFutureKey) status.sizeBytes = (status.sizeBytes ?? 0) + Number(partition.partitionSize);
          }
        }
      }
    }
  }

  const groups: GroupStatus[] = [];
  const listVersion = pick(PREFERRED.listGroups);
  if (listVersion !== null) {
    const listed = await client.call(16, listVersion, { statesFilter: [], typesFilter: [] });
    const ids: string[] = listed.groups.map((group: any) => group.groupId).sort();
    // KIP-848 groups are described by ConsumerGroupDescribe (DescribeGroups calls them Dead), the rest by DescribeGroups.
    const consumerIds = listed.groups.filter((group: any) => group.groupType === "consumer").map((group: any) => group.groupId);
    const classicIds = ids.filter((groupId) => !consumerIds.includes(groupId));
    const describeVersion = pick(PREFERRED.describeGroups);
    const consumerDescribeVersion = pick(PREFERRED.consumerGroupDescribe);
    const described = [
      ...(classicIds.length > 0 && describeVersion !== null ? (await client.call(15, describeVersion, { groups: classicIds, includeAuthorizedOperations: false })).groups : []),
      ...(consumerIds.length > 0 && consumerDescribeVersion !== null
        ? (await client.call(69, consumerDescribeVersion, { groupIds: consumerIds, includeAuthorizedOperations: false })).groups
            .filter((group: any) => group.errorCode === ErrorCode.NONE)
            .map((group: any) => ({ ...group, protocolType: "consumer" }))
        : []),
    ];
    const offsetFetchVersion = pick(PREFERRED.offsetFetch);
    for (const groupId of ids) {
      const description = described.find((group: any) => group.groupId === groupId);
      const listedGroup = listed.groups.find((group: any) => group.groupId === groupId);
      const status: GroupStatus = {
        groupId,
        state: description?.groupState || listedGroup?.groupState || "-",
        protocolType: description?.protocolType ?? listedGroup?.protocolType ?? "",
        groupType: listedGroup?.groupType ?? "",
        members: description?.members.length ?? 0,
        offsets: [],
      };
      if (offsetFetchVersion !== null) {
        const fetched = await client.call(9, offsetFetchVersion, { groupId, topics: null, requireStable: false });
        for (const topic of fetched.topics) {
          for (const partition of topic.partitions) {
            const committed = Number(partition.committedOffset);
            if (partition.errorCode !== ErrorCode.NONE || committed < 0) continue;
            const endOffset = byKey.get(`${topic.name}\u0000${partition.partitionIndex}`)?.endOffset ?? null;
            status.offsets.push({ topic: topic.name, partition: partition.partitionIndex, committed, endOffset, lag: endOffset === null ? null : Math.max(0, endOffset - committed) });
          }
        }
        status.offsets.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
      }
      groups.push(status);
    }
  }

  return {
    clusterId: metadata.clusterId,
    brokers: metadata.brokers.map((broker: any) => `${broker.nodeId}@${broker.host}:${broker.port}`),
    partitions,
    groups,
  };
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
