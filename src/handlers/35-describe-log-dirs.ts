// DescribeLogDirs: v0–5
// Behaviour (Kafka's ReplicaManager.describeLogDirs): one log dir, the data folder (its absolute path; `memory`
// for the in-memory log), listing each requested partition's retained bytes (partitionSize) with offsetLag 0 (no
// replicas to lag) and isFutureKey false. topics null asks for every partition; unknown topics and partitions are
// left out. v4+ totalBytes/usableBytes come from statfs of the data folder, -1 (unknown) for the memory log.
// Not emulated: several log dirs, KAFKA_STORAGE_ERROR for an offline dir. With an authorizer: DESCRIBE on the cluster.
// Version notes: v2+ flexible; v3 adds the top-level errorCode; v4 the volume sizes; v5 isCordoned (never).

import { resolve } from "node:path";
import { statfsSync } from "node:fs";
import { ErrorCode } from "../protocol/error-codes.ts";
import type { DescribeLogDirsRequest, DescribeLogDirsResponse, DescribeLogDirsTopic } from "../protocol/messages/35-describe-log-dirs.ts";
import { AclOperation, authorizeCluster } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";

const UNKNOWN_VOLUME_BYTES = -1n;

export const describeLogDirsHandler: ApiHandler<DescribeLogDirsRequest, DescribeLogDirsResponse> = {
  apiKey: 35,
  minVersion: 0,
  maxVersion: 5,
  handle(context, request) {
    const { broker } = context;
    // Kafka: DESCRIBE on the cluster, else CLUSTER_AUTHORIZATION_FAILED (no directories listed).
    if (!authorizeCluster(context, AclOperation.DESCRIBE)) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, results: [] };
    const wanted = request.topics === null ? null : new Map(request.topics.map(({ topic, partitions }) => [topic, new Set(partitions)]));
    const topics: DescribeLogDirsTopic[] = [];
    for (const topic of broker.topics.list()) {
      const partitionsWanted = wanted === null ? null : wanted.get(topic.name);
      if (partitionsWanted === undefined) continue;
      const partitions = topic.partitions
        .map((log, partitionIndex) => ({ partitionIndex, partitionSize: BigInt(log.sizeBytes), offsetLag: 0n, isFutureKey: false }))
        .filter(({ partitionIndex }) => partitionsWanted === null || partitionsWanted.has(partitionIndex));
      if (partitions.length > 0) topics.push({ name: topic.name, partitions });
    }
    const dataDir = broker.config.dataDir;
    const volume = dataDir === null ? null : volumeBytes(dataDir);
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      results: [
        {
          errorCode: ErrorCode.NONE,
          logDir: dataDir === null ? "memory" : resolve(dataDir),
          topics,
          totalBytes: volume?.totalBytes ?? UNKNOWN_VOLUME_BYTES,
          usableBytes: volume?.usableBytes ?? UNKNOWN_VOLUME_BYTES,
          isCordoned: false,
        },
      ],
    };
  },
};

function volumeBytes(dataDir: string): { totalBytes: bigint; usableBytes: bigint } | null {
  try {
    const stats = statfsSync(dataDir, { bigint: true });
    return { totalBytes: stats.blocks * stats.bsize, usableBytes: stats.bavail * stats.bsize };
  } catch {
    return null;
  }
}
