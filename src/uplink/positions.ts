// Where a link stands: the next local offset to forward for each partition, with the local topic's id (a topic deleted
// and created again under the same name starts over). Two stores:
// - the central cluster's compacted positions topic, written inside each exactly-once transaction and read back with
//   read_committed when a link starts: it is the truth in exactly-once mode;
// - a local file in the data folder, replaced atomically: the truth in at-least-once mode (fsynced after each
//   acknowledged round, with the end of what is in flight so that a crash's possible duplicates are counted), and in
//   exactly-once mode a copy that is never ahead of the truth, which holds retention back before the link connects.

import { mkdirSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "../log/file/file-io.ts";
import { join } from "node:path";
import { ErrorCode, errorName } from "../protocol/error-codes.ts";
import { buildRecordBatch, decodeRecords, readBatchHeader, splitBatches, type RecordBatchHeader } from "../protocol/records/record-batch.ts";
import { readTransactionMarker } from "../transactions/producer-states.ts";
import type { CentralCluster } from "./central-cluster.ts";
import { UplinkError } from "./central-cluster.ts";

export interface Position {
  /** The local topic's id (hex), so a re-created topic is not mistaken for the old one. */
  topicId: string;
  nextOffset: number;
}

/** `topic\0partition` */
export type PartitionKey = string;
export const partitionKey = (topic: string, partition: number): PartitionKey => `${topic}\u0000${partition}`;
export const splitPartitionKey = (key: PartitionKey): [string, number] => {
  const zero = key.indexOf("\u0000");
  return [key.slice(0, zero), Number(key.slice(zero + 1))];
};

export interface LocalCheckpoint {
  positions: Map<PartitionKey, Position>;
  /** At-least-once: per partition, the end of the last round sent; records between the position and it may be on the central cluster already. */
  inFlightEnd: Map<PartitionKey, number>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class LocalCheckpointFile {
  private readonly path: string | null;

  constructor(dataDir: string | null, linkName: string) {
    if (dataDir === null) {
      this.path = null;
      return;
    }
    const folder = join(dataDir, "uplink");
    mkdirSync(folder, { recursive: true });
    this.path = join(folder, `${linkName}.json`);
  }

  read(): LocalCheckpoint {
    const empty: LocalCheckpoint = { positions: new Map(), inFlightEnd: new Map() };
    if (this.path === null) return empty;
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch {
      return empty;
    }
    const parsed = JSON.parse(text) as { positions?: Record<string, Position>; inFlightEnd?: Record<string, number> };
    return {
      positions: new Map(Object.entries(parsed.positions ?? {})),
      inFlightEnd: new Map(Object.entries(parsed.inFlightEnd ?? {})),
    };
  }

  /** Replaces the file atomically; `durable` also makes it survive a power cut. */
  write(checkpoint: LocalCheckpoint, durable: boolean): void {
    if (this.path === null) return;
    writeFileAtomic(this.path, JSON.stringify({ positions: Object.fromEntries(checkpoint.positions), inFlightEnd: Object.fromEntries(checkpoint.inFlightEnd) }), { durable });
  }
}

/** The positions topic's record key of one partition of one link of one edge. */
export function positionRecordKey(edgeId: string, linkName: string, topic: string, partition: number): string {
  return `${edgeId}/${linkName}/${topic}/${partition}`;
}

/** A batch of position records (uncompressed, no producer fields yet: the sender stamps them). */
export function buildPositionsBatch(edgeId: string, linkName: string, positions: Iterable<[PartitionKey, Position]>, nowMs: number): Uint8Array | null {
  const records = [];
  for (const [key, position] of positions) {
    const [topic, partition] = splitPartitionKey(key);
    records.push({
      key: encoder.encode(positionRecordKey(edgeId, linkName, topic, partition)),
      value: encoder.encode(JSON.stringify({ topicId: position.topicId, nextOffset: position.nextOffset, updatedMs: nowMs })),
      headers: [],
      timestamp: nowMs,
    });
  }
  if (records.length === 0) return null;
  return buildRecordBatch({ records });
}

/**
 * Reads this link's committed positions from the central positions topic (read_committed, up to the last stable
 * offset, aborted transactions left out): the last value of each key wins.
 */
export async function readRemotePositions(cluster: CentralCluster, positionsTopic: string, edgeId: string, linkName: string): Promise<Map<PartitionKey, Position>> {
  const prefix = `${edgeId}/${linkName}/`;
  const found = new Map<PartitionKey, Position>();
  const remote = cluster.remoteTopic(positionsTopic);
  if (!remote || remote.errorCode !== ErrorCode.NONE) return found;
  for (let partition = 0; partition < remote.partitions; partition++) {
    const connection = await cluster.leader(positionsTopic, partition);
    const listVersion = connection.version(2, 7);
    const listed = await connection.call(2, listVersion, {
      replicaId: -1,
      isolationLevel: 1,
      topics: [{ name: positionsTopic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }] }],
      timeoutMs: 0,
    });
    const listedPartition = listed.topics[0]?.partitions[0];
    if (!listedPartition || listedPartition.errorCode !== ErrorCode.NONE) {
      throw new UplinkError(`ListOffsets(${positionsTopic}-${partition}, read_committed): ${errorName(listedPartition?.errorCode ?? -1)}`);
    }
    const end = Number(listedPartition.offset);
    let offset = 0;
    const fetchVersion = connection.version(1, 12);
    for (let round = 0; offset < end; round++) {
      if (round > 100_000) throw new UplinkError(`reading ${positionsTopic}-${partition} did not progress`);
      const answer = await connection.call(1, fetchVersion, {
        clusterId: null,
        replicaId: -1,
        replicaState: { replicaId: -1, replicaEpoch: -1n },
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 8 * 1024 * 1024,
        isolationLevel: 1,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic: positionsTopic, topicId: new Uint8Array(16), partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: BigInt(offset), lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 8 * 1024 * 1024 }] }],
        forgottenTopicsData: [],
        rackId: "",
      });
      const data = answer.responses[0]?.partitions[0];
      if (!data) throw new UplinkError(`Fetch(${positionsTopic}-${partition}): empty answer`);
      if (data.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
        offset = Number(data.logStartOffset);
        continue;
      }
      if (data.errorCode !== ErrorCode.NONE) throw new UplinkError(`Fetch(${positionsTopic}-${partition}, read_committed): ${errorName(data.errorCode)}`);
      const batches = readCommittedBatches(data.records, data.abortedTransactions, offset);
      if (batches.length === 0) {
        if (offset < Number(data.logStartOffset)) offset = Number(data.logStartOffset);
        else break;
        continue;
      }
      for (const { batch, header, nextOffset, readable } of batches) {
        offset = nextOffset;
        if (!readable) continue;
        if (header.baseOffset >= end) break;
        for (const record of decodeRecords(batch)) {
          if (record.key === null || record.value === null) continue;
          const key = decoder.decode(record.key);
          if (!key.startsWith(prefix)) continue;
          const rest = key.slice(prefix.length);
          const slash = rest.lastIndexOf("/");
          const position = JSON.parse(decoder.decode(record.value)) as Position;
          found.set(partitionKey(rest.slice(0, slash), Number(rest.slice(slash + 1))), { topicId: position.topicId, nextOffset: position.nextOffset });
        }
      }
    }
  }
  return found;
}

/** One batch of a read_committed Fetch answer. */
export interface FetchedBatch {
  batch: Uint8Array;
  header: RecordBatchHeader;
  /** The offset after the batch: where reading goes on. */
  nextOffset: number;
  /** False for a control batch (transaction marker) and for a batch of an aborted transaction: none of its records is read. */
  readable: boolean;
}

/**
 * The whole batches of one partition of a read_committed Fetch answer that end at or past `fromOffset`, each marked
 * readable or not, as Kafka's consumer walks them (CompletedFetch.nextFetchedRecord): an aborted transaction the
 * answer lists (producer id, first offset) makes that producer's transactional batches from its first offset on
 * unreadable until the producer's abort marker; control batches are never readable. A partial batch at the end (the
 * answer's byte limit) is left for the next Fetch. Used by the positions read below and by the downlink.
 */
export function readCommittedBatches(
  records: Uint8Array | null,
  abortedTransactions: readonly { producerId: bigint; firstOffset: bigint }[] | null,
  fromOffset: number,
): FetchedBatch[] {
  if (records === null || records.length === 0) return [];
  const aborted = (abortedTransactions ?? []).map((entry) => ({ producerId: Number(entry.producerId), firstOffset: Number(entry.firstOffset) })).sort((a, b) => a.firstOffset - b.firstOffset);
  const abortedProducers = new Set<number>();
  const walked: FetchedBatch[] = [];
  // Whole batches only: a batch cut by the answer's byte limit ends the walk (splitBatches keeps those before it).
  for (const batch of splitBatches(records).batches) {
    const header = readBatchHeader(batch);
    const lastOffset = header.baseOffset + header.lastOffsetDelta;
    if (lastOffset < fromOffset) continue;
    while (aborted.length > 0 && aborted[0]!.firstOffset <= lastOffset) abortedProducers.add(aborted.shift()!.producerId);
    let readable = true;
    if (header.control) {
      if (readTransactionMarker(batch)?.commit === false) abortedProducers.delete(header.producerId);
      readable = false;
    } else if (header.transactional && abortedProducers.has(header.producerId)) {
      readable = false;
    }
    walked.push({ batch, header, nextOffset: lastOffset + 1, readable });
  }
  return walked;
}
