// Committed offsets and group metadata, kept in memory and written through to the internal topic
// __consumer_offsets (Kafka's GroupMetadataManager): one record batch per OffsetCommit, key = group/topic/partition,
// value = offset data, a null value (tombstone) on delete. At start the map is rebuilt by reading the topic's
// partitions from their log start offset. The topic goes through the broker's TopicStore, so whatever log the
// broker uses (memory or file segments) holds it.
// The topic is compacted (cleanup.policy=compact, small segments): the broker's log cleaner keeps the latest record of
// each key, so the replay at start reads about the live state.

import { limits } from "../config.ts";
import type { AppendWaiters } from "../log/append-waiters.ts";
import type { PartitionLog } from "../log/partition-log.ts";
import type { TopicStore } from "../metadata/topic-store.ts";
import { internalTopicConfigs } from "../metadata/topic-configs.ts";
import { replayKeyedRecords } from "../log/replay.ts";
import { buildRecordBatch, type RecordInput } from "../protocol/records/record-batch.ts";
import { log } from "../util/logger.ts";
import {
  decodeGroupMetadataValue,
  decodeKey,
  decodeOffsetCommitValue,
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  type CommittedOffset,
  type StoredGroup,
} from "./offsets-topic-format.ts";

export const OFFSETS_TOPIC = "__consumer_offsets";

export interface OffsetEntry {
  topic: string;
  partition: number;
  value: CommittedOffset;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** Java's String.hashCode, as Kafka's partitionFor(groupId) uses it. */
function javaStringHash(text: string): number {
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0;
  return hash;
}

export class OffsetStore {
  /** group → topic → partition → committed offset. */
  private readonly offsets = new Map<string, Map<string, Map<number, CommittedOffset>>>();
  /** Last group metadata stored per group (what load() returns). */
  private readonly groupRecords = new Map<string, StoredGroup>();

  constructor(
    private readonly topics: TopicStore,
    private readonly appendWaiters: AppendWaiters | null = null,
  ) {}

  /** Rebuilds the map from __consumer_offsets when it exists; returns the groups whose metadata was stored. */
  load(): Map<string, StoredGroup> {
    this.offsets.clear();
    this.groupRecords.clear();
    const topic = this.topics.get(OFFSETS_TOPIC);
    if (!topic) return new Map();
    let records = 0;
    topic.partitions.forEach((partitionLog, index) => {
      records += this.loadPartition(partitionLog, index);
    });
    log.info("loaded committed offsets", { topic: OFFSETS_TOPIC, records, groups: this.groupIds().size });
    return new Map(this.groupRecords);
  }

  private loadPartition(partitionLog: PartitionLog, index: number): number {
    let records = 0;
    replayKeyedRecords(
      partitionLog,
      (key, value) => {
        this.replay(key, value);
        records++;
      },
      (header) => log.warn("skipping a compressed batch in the offsets topic", { partition: index, baseOffset: header.baseOffset }),
    );
    return records;
  }

  private replay(keyBytes: Uint8Array, value: Uint8Array | null): void {
    try {
      const key = decodeKey(keyBytes);
      if (key === null) return;
      if (key.kind === "group") {
        if (value === null) this.groupRecords.delete(key.group);
        else this.groupRecords.set(key.group, decodeGroupMetadataValue(value));
        return;
      }
      if (value === null) this.forget(key.group, key.topic, key.partition);
      else this.remember(key.group, key.topic, key.partition, decodeOffsetCommitValue(value));
    } catch (error) {
      log.warn("skipping a malformed record in the offsets topic", { error });
    }
  }

  get(group: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.offsets.get(group)?.get(topic)?.get(partition);
  }

  /** topic → partition → offset for one group (empty when none). */
  committed(group: string): ReadonlyMap<string, ReadonlyMap<number, CommittedOffset>> {
    return this.offsets.get(group) ?? new Map();
  }

  hasOffsets(group: string): boolean {
    return this.offsets.has(group);
  }

  groupIds(): Set<string> {
    return new Set([...this.offsets.keys(), ...this.groupRecords.keys()]);
  }

  /** Writes the commits as one batch, then applies them. Throws when the log refuses the append. */
  commit(group: string, entries: OffsetEntry[]): void {
    if (entries.length === 0) return;
    const records = entries.map(({ topic, partition, value }) => ({
      key: encodeOffsetCommitKey(group, topic, partition),
      value: encodeOffsetCommitValue(value),
    }));
    this.append(group, records);
    for (const { topic, partition, value } of entries) this.remember(group, topic, partition, value);
  }

  /** Writes tombstones for the given partitions' offsets (those that exist) and forgets them. */
  deleteOffsets(group: string, partitions: TopicPartition[]): void {
    const existing = partitions.filter(({ topic, partition }) => this.get(group, topic, partition) !== undefined);
    if (existing.length === 0) return;
    this.append(
      group,
      existing.map(({ topic, partition }) => ({ key: encodeOffsetCommitKey(group, topic, partition), value: null })),
    );
    for (const { topic, partition } of existing) this.forget(group, topic, partition);
  }

  /** Persists the group's metadata (Kafka's storeGroup after each rebalance). */
  storeGroup(group: string, stored: StoredGroup): void {
    this.append(group, [{ key: encodeGroupMetadataKey(group), value: encodeGroupMetadataValue(stored) }]);
    this.groupRecords.set(group, stored);
  }

  /** A tombstone for the group's metadata record alone, when there is one; its offsets stay. */
  deleteGroupMetadata(group: string): void {
    if (!this.groupRecords.has(group)) return;
    this.append(group, [{ key: encodeGroupMetadataKey(group), value: null }]);
    this.groupRecords.delete(group);
  }

  /** Tombstones for all the group's offsets and its metadata (only for keys that exist). */
  deleteGroup(group: string): void {
    const records: RecordInput[] = [];
    for (const [topic, partitions] of this.committed(group)) {
      for (const partition of partitions.keys()) records.push({ key: encodeOffsetCommitKey(group, topic, partition), value: null });
    }
    if (this.groupRecords.has(group)) records.push({ key: encodeGroupMetadataKey(group), value: null });
    if (records.length === 0) return;
    this.append(group, records);
    this.offsets.delete(group);
    this.groupRecords.delete(group);
  }

  private remember(group: string, topic: string, partition: number, value: CommittedOffset): void {
    let topics = this.offsets.get(group);
    if (!topics) this.offsets.set(group, (topics = new Map()));
    let partitions = topics.get(topic);
    if (!partitions) topics.set(topic, (partitions = new Map()));
    partitions.set(partition, value);
  }

  private forget(group: string, topic: string, partition: number): void {
    const topics = this.offsets.get(group);
    const partitions = topics?.get(topic);
    if (!topics || !partitions) return;
    partitions.delete(partition);
    if (partitions.size === 0) topics.delete(topic);
    if (topics.size === 0) this.offsets.delete(group);
  }

  private offsetsTopicLogs(): PartitionLog[] {
    const existing = this.topics.get(OFFSETS_TOPIC);
    if (existing) return existing.partitions;
    const created = this.topics.create(OFFSETS_TOPIC, limits.offsetsTopicPartitions, internalTopicConfigs());
    if (!created.topic) throw new Error(`cannot create ${OFFSETS_TOPIC}: ${created.errorMessage}`);
    return created.topic.partitions;
  }

  private partitionFor(group: string, partitionCount: number): number {
    return Math.abs(javaStringHash(group) % partitionCount);
  }

  private append(group: string, records: RecordInput[]): void {
    const logs = this.offsetsTopicLogs();
    const index = this.partitionFor(group, logs.length);
    this.appendTo(logs[index]!, records);
  }

  private appendTo(partitionLog: PartitionLog, records: RecordInput[]): number {
    const now = Date.now();
    const batch = buildRecordBatch({ records: records.map((record) => ({ ...record, timestamp: now })), partitionLeaderEpoch: 0 });
    const lastOffsetDelta = records.length - 1;
    const { baseOffset } = partitionLog.append(batch, {
      lastOffsetDelta,
      maxTimestamp: now,
      firstTimestamp: now,
      maxTimestampOffsetDelta: lastOffsetDelta,
    });
    this.appendWaiters?.notify(partitionLog);
    return baseOffset;
  }
}
