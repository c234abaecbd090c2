// Topic registry of a single-node broker: names, ids, configs and one PartitionLog per partition.
// Validation follows Kafka's KRaft controller (ReplicationControlManager.createTopics): name first, then
// TOPIC_ALREADY_EXISTS, then '.'/'_' collisions, then the partition count. Results carry Kafka error codes so
// handlers copy them into responses as they are.

import { limits } from "../config.ts";
import type { PartitionLog } from "../log/partition-log.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import { UUID_BYTES, randomUuid, uuidToString } from "./uuid.ts";

/** Every partition's leader epoch: one node has led it since it was created, and no election ever happens. */
export const PARTITION_LEADER_EPOCH = 0;

/** Kafka's Topic.MAX_NAME_LENGTH: names become file and metric names. */
export const TOPIC_NAME_LENGTH_MAX = 249;

/** Kafka's Topic.INTERNAL_TOPICS. */
const INTERNAL_TOPIC_NAMES: ReadonlySet<string> = new Set([
  "__consumer_offsets",
  "__transaction_state",
  "__share_group_state",
]);
const TOPIC_NAME_PATTERN = /^[a-zA-Z0-9._-]+$/;

/** What a log factory learns about the partition it makes. */
export interface PartitionLogContext {
  readonly topicId: Uint8Array;
  /** The topic's configs, live: later changes are visible through it. */
  readonly configs: ReadonlyMap<string, string>;
}

export type PartitionLogFactory = (topic: string, partition: number, context: PartitionLogContext) => PartitionLog;

/** A topic as the catalog persists it (metadata/topic-catalog.ts). */
export interface StoredTopic {
  name: string;
  topicId: Uint8Array;
  numPartitions: number;
  configs: ReadonlyMap<string, string>;
}

export interface TopicStoreOptions {
  /**
   * Called after every change to the set of topics or their partition counts, before the change is reported to a
   * client (the file catalog persists it here).
   */
  onChange?: (store: TopicStore) => void;
  /**
   * Broker-wide defaults of topic configs (server.properties' log.retention.ms is retention.ms's): a topic that does
   * not set a config reads it from here, then from Kafka's default (topic-configs.ts).
   */
  configDefaults?: ReadonlyMap<string, string>;
  /** Partitions the store may hold in all (limits.partitionsMax, or what the open-file limit allows); new ones beyond it are refused. */
  partitionsMax?: number;
}

/**
 * A topic's configs as its logs and handlers read them: the topic's own value, else the broker-wide default. Live:
 * AlterConfigs changes to the topic's map show through. Iterates the topic's own configs and then the defaults it
 * does not override.
 */
export class EffectiveTopicConfigs implements ReadonlyMap<string, string> {
  constructor(
    private readonly own: ReadonlyMap<string, string>,
    private readonly defaults: ReadonlyMap<string, string>,
  ) {}

  get(name: string): string | undefined {
    return this.own.get(name) ?? this.defaults.get(name);
  }

  has(name: string): boolean {
    return this.own.has(name) || this.defaults.has(name);
  }

  get size(): number {
    let size = this.own.size;
    for (const name of this.defaults.keys()) if (!this.own.has(name)) size++;
    return size;
  }

  *entries(): MapIterator<[string, string]> {
    yield* this.own.entries();
    for (const entry of this.defaults.entries()) if (!this.own.has(entry[0])) yield entry;
  }

  *keys(): MapIterator<string> {
    for (const [name] of this.entries()) yield name;
  }

  *values(): MapIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }

  forEach(callback: (value: string, key: string, map: ReadonlyMap<string, string>) => void): void {
    for (const [name, value] of this.entries()) callback(value, name, this);
  }

  [Symbol.iterator](): MapIterator<[string, string]> {
    return this.entries();
  }
}

export interface Topic {
  readonly name: string;
  /** Random UUID v4, never all zeros; a topic created again under the same name gets a new one. */
  readonly topicId: Uint8Array;
  /** Index = partition number. Grown only by TopicStore.createPartitions. */
  readonly partitions: PartitionLog[];
  /** The configs set on the topic (what the catalog persists and DescribeConfigs reports as the topic's). */
  readonly configs: Map<string, string>;
  /** What readers use: the topic's configs over the broker-wide defaults. */
  readonly effectiveConfigs: ReadonlyMap<string, string>;
  readonly isInternal: boolean;
}

export interface TopicStoreResult {
  /** ErrorCode.NONE on success, else a Kafka error code. */
  errorCode: number;
  errorMessage: string | null;
}

export interface CreateTopicResult extends TopicStoreResult {
  /** The new topic, null on error. */
  topic: Topic | null;
}

/** Kafka's Topic.validate: null when the name is legal, else its error message. */
export function topicNameError(name: string): string | null {
  if (name.length === 0) return "Topic name is illegal, it can't be empty";
  if (name === "." || name === "..") return 'Topic name cannot be "." or ".."';
  if (name.length > TOPIC_NAME_LENGTH_MAX) {
    return `Topic name is illegal, it can't be longer than ${TOPIC_NAME_LENGTH_MAX} characters, topic name: ${name}`;
  }
  if (!TOPIC_NAME_PATTERN.test(name)) {
    return `Topic name "${name}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`;
  }
  return null;
}

/** Metric names turn '.' into '_', so Kafka refuses two topics differing only there (Topic.unifyCollisionChars). */
function unifyCollisionChars(name: string): string {
  return name.replaceAll(".", "_");
}

function hasCollisionChars(name: string): boolean {
  return name.includes(".") || name.includes("_");
}

function failure(errorCode: number, errorMessage: string): CreateTopicResult {
  return { errorCode, errorMessage, topic: null };
}

export class TopicStore {
  private readonly topicsByName = new Map<string, Topic>();
  /** Keyed by uuidToString(topicId). */
  private readonly topicsById = new Map<string, Topic>();
  /** Unified name → the existing topic's name, for names holding '.' or '_'. */
  private readonly namesByCollisionKey = new Map<string, string>();
  private changes = 0;

  private readonly configDefaults: ReadonlyMap<string, string>;

  constructor(
    private readonly partitionLogFactory: PartitionLogFactory,
    private readonly options: TopicStoreOptions = {},
  ) {
    this.configDefaults = options.configDefaults ?? new Map();
  }

  /** Broker-wide defaults of topic configs (TopicStoreOptions.configDefaults). */
  get topicConfigDefaults(): ReadonlyMap<string, string> {
    return this.configDefaults;
  }

  private newTopic(name: string, topicId: Uint8Array, configs: ReadonlyMap<string, string>): Topic {
    const own = new Map(configs);
    return { name, topicId, partitions: [], configs: own, effectiveConfigs: new EffectiveTopicConfigs(own, this.configDefaults), isInternal: INTERNAL_TOPIC_NAMES.has(name) };
  }

  private createPartitionLog(name: string, partition: number, topic: Topic): PartitionLog {
    return this.partitionLogFactory(name, partition, { topicId: topic.topicId, configs: topic.effectiveConfigs });
  }

  /**
   * Counts changes to the set of topics and their partition counts: whoever caches what it derived from them (the
   * KIP-848 coordinator's subscribed topics and regex matches) compares it to know when to look again.
   */
  get version(): number {
    return this.changes;
  }

  /** Brings back a persisted topic (start-up): no name checks, its partitions' logs are opened by the factory. */
  restore(stored: StoredTopic): Topic {
    const { name, topicId } = stored;
    if (this.topicsByName.has(name) || this.topicsById.has(uuidToString(topicId))) {
      throw new Error(`topic ${name} restored twice`);
    }
    const topic = this.newTopic(name, topicId, stored.configs);
    for (let partition = 0; partition < stored.numPartitions; partition++) {
      topic.partitions.push(this.createPartitionLog(name, partition, topic));
    }
    this.topicsByName.set(name, topic);
    this.topicsById.set(uuidToString(topicId), topic);
    if (hasCollisionChars(name)) this.namesByCollisionKey.set(unifyCollisionChars(name), name);
    this.changes++;
    return topic;
  }

  /**
   * Creates a topic. numPartitions must already be resolved (CreateTopics' -1 means the broker default: the
   * handler substitutes it). configs are stored as given; validating them is the caller's job.
   */
  create(name: string, numPartitions: number, configs: ReadonlyMap<string, string> = new Map()): CreateTopicResult {
    const nameError = topicNameError(name);
    if (nameError !== null) return failure(ErrorCode.INVALID_TOPIC_EXCEPTION, nameError);
    if (this.topicsByName.has(name)) {
      return failure(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' already exists.`);
    }
    const collidingName = hasCollisionChars(name) ? this.namesByCollisionKey.get(unifyCollisionChars(name)) : undefined;
    if (collidingName !== undefined) {
      return failure(
        ErrorCode.INVALID_TOPIC_EXCEPTION,
        `Topic '${name}' collides with existing topic: ${collidingName}`,
      );
    }
    const partitionCountError = partitionCountErrorMessage(numPartitions) ?? this.partitionRoomError(numPartitions);
    if (partitionCountError !== null) return failure(ErrorCode.INVALID_PARTITIONS, partitionCountError);

    let topicId = randomUuid();
    // 122 random bits make a repeat practically impossible; checking costs one lookup.
    while (this.topicsById.has(uuidToString(topicId))) topicId = randomUuid();
    const topic = this.newTopic(name, topicId, configs);
    for (let partition = 0; partition < numPartitions; partition++) {
      topic.partitions.push(this.createPartitionLog(name, partition, topic));
    }
    this.topicsByName.set(name, topic);
    this.topicsById.set(uuidToString(topicId), topic);
    if (hasCollisionChars(name)) this.namesByCollisionKey.set(unifyCollisionChars(name), name);
    this.changes++;
    this.options.onChange?.(this);
    return { errorCode: ErrorCode.NONE, errorMessage: null, topic };
  }

  get(name: string): Topic | undefined {
    return this.topicsByName.get(name);
  }

  /** Undefined for unknown ids, including ZERO_UUID and ids of the wrong length. */
  getById(topicId: Uint8Array): Topic | undefined {
    if (topicId.length !== UUID_BYTES) return undefined;
    return this.topicsById.get(uuidToString(topicId));
  }

  /** Removes the topic and closes its logs; returns it (DeleteTopics answers with its id), or undefined. */
  delete(name: string): Topic | undefined {
    const topic = this.topicsByName.get(name);
    if (topic === undefined) return undefined;
    this.topicsByName.delete(name);
    this.topicsById.delete(uuidToString(topic.topicId));
    if (hasCollisionChars(name)) this.namesByCollisionKey.delete(unifyCollisionChars(name));
    this.changes++;
    // Forget the topic durably first: a crash in between leaves a stray folder, never a half-deleted topic.
    this.options.onChange?.(this);
    for (const partition of topic.partitions) {
      if (partition.delete) partition.delete();
      else partition.close();
    }
    return topic;
  }

  /** Partitions of every topic. */
  get partitionCount(): number {
    let count = 0;
    for (const topic of this.topicsByName.values()) count += topic.partitions.length;
    return count;
  }

  /** Why `adding` more partitions would not fit TopicStoreOptions.partitionsMax, or null. */
  private partitionRoomError(adding: number): string | null {
    const max = this.options.partitionsMax;
    if (max === undefined) return null;
    const held = this.partitionCount;
    if (held + adding <= max) return null;
    return `This broker holds ${held} partitions and may hold ${max} in all (the file log keeps ${limits.fileDescriptorsPerPartition} files open per partition; raise the open-file limit, e.g. LimitNOFILE, for more).`;
  }

  /** All topics, in creation order. */
  list(): Topic[] {
    return [...this.topicsByName.values()];
  }

  /**
   * Replaces a topic's configs (AlterConfigs, IncrementalAlterConfigs), in place: logs hold the Map and read it live.
   * Values must be checked by the caller. Persisted before it returns.
   */
  alterConfigs(name: string, configs: ReadonlyMap<string, string>): TopicStoreResult {
    const topic = this.topicsByName.get(name);
    if (topic === undefined) {
      return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: "This server does not host this topic-partition." };
    }
    const next = new Map(configs);
    topic.configs.clear();
    for (const [key, value] of next) topic.configs.set(key, value);
    this.options.onChange?.(this);
    return { errorCode: ErrorCode.NONE, errorMessage: null };
  }

  /** Grows a topic to newTotal partitions (CreatePartitions); Kafka never shrinks a topic. validateOnly checks only. */
  createPartitions(name: string, newTotal: number, validateOnly = false): TopicStoreResult {
    const topic = this.topicsByName.get(name);
    if (topic === undefined) {
      return {
        errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        errorMessage: "This server does not host this topic-partition.",
      };
    }
    const currentTotal = topic.partitions.length;
    let errorMessage: string | null = null;
    if (newTotal === currentTotal) {
      errorMessage = `Topic already has ${currentTotal} partition(s).`;
    } else if (newTotal < currentTotal) {
      errorMessage = `The topic ${name} currently has ${currentTotal} partition(s); ${newTotal} would not be an increase.`;
    } else {
      errorMessage = partitionCountErrorMessage(newTotal) ?? this.partitionRoomError(newTotal - currentTotal);
    }
    if (errorMessage !== null) return { errorCode: ErrorCode.INVALID_PARTITIONS, errorMessage };
    if (validateOnly) return { errorCode: ErrorCode.NONE, errorMessage: null };
    for (let partition = currentTotal; partition < newTotal; partition++) {
      topic.partitions.push(this.createPartitionLog(name, partition, topic));
    }
    this.changes++;
    this.options.onChange?.(this);
    return { errorCode: ErrorCode.NONE, errorMessage: null };
  }
}

function partitionCountErrorMessage(numPartitions: number): string | null {
  if (!Number.isInteger(numPartitions) || numPartitions < 1) {
    return "Number of partitions was set to an invalid non-positive value.";
  }
  if (numPartitions > limits.partitionsPerTopicMax) {
    return `Number of partitions ${numPartitions} exceeds this broker's limit of ${limits.partitionsPerTopicMax}.`;
  }
  return null;
}
