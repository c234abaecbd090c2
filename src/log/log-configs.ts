// The topic configs a partition log reads, parsed once per change from the topic's live config map (AlterConfigs
// changes apply to the next append or cleaning) and falling back to the broker-wide defaults. Both logs use it.

import { topicConfigDefinitions } from "../metadata/topic-configs.ts";

export interface LogConfigs {
  readonly segmentBytes: number;
  /** When the active segment rolls; for a compacted topic at most max.compaction.lag.ms, as Kafka rolls it. */
  readonly segmentMs: number;
  readonly indexIntervalBytes: number;
  /** -1: no time limit. */
  readonly retentionMs: number;
  /** -1: no size limit. */
  readonly retentionBytes: number;
  /** cleanup.policy includes `delete` (retention applies). */
  readonly deletePolicy: boolean;
  /** cleanup.policy includes `compact` (the log cleaner keeps the latest record per key). */
  readonly compactPolicy: boolean;
  /** A record stays uncompacted at least this long after it was written (by its segment's newest timestamp). */
  readonly minCompactionLagMs: number;
  /** A dirty record older than this (by its segment's newest timestamp) makes a pass due whatever the dirty ratio. */
  readonly maxCompactionLagMs: number;
  /** How long a tombstone survives once the cleaner has seen it (so consumers that are behind still see it). */
  readonly deleteRetentionMs: number;
  /** The share of the log's bytes that must be dirty (not yet cleaned) before the cleaner runs on it. */
  readonly minCleanableDirtyRatio: number;
}

const NAMES = [
  "segment.bytes",
  "segment.ms",
  "index.interval.bytes",
  "retention.ms",
  "retention.bytes",
  "cleanup.policy",
  "min.compaction.lag.ms",
  "max.compaction.lag.ms",
  "delete.retention.ms",
  "min.cleanable.dirty.ratio",
];

function hasPolicy(value: string, policy: string): boolean {
  return value.split(",").some((part) => part.trim() === policy);
}

/** A live reader of the log's settings from a topic's configs. */
export function topicLogConfigs(configs: ReadonlyMap<string, string>): () => LogConfigs {
  const defaultOf = (name: string) => Number(topicConfigDefinitions.get(name)!.defaultValue);
  const positive = (name: string): number => {
    const value = Number(configs.get(name) ?? defaultOf(name));
    return Number.isFinite(value) && value > 0 ? value : defaultOf(name);
  };
  const limit = (name: string): number => {
    const value = Number(configs.get(name) ?? defaultOf(name));
    return Number.isFinite(value) ? value : defaultOf(name);
  };
  const atLeastZero = (name: string): number => Math.max(0, limit(name));
  let cached: LogConfigs | null = null;
  const cachedValues: (string | undefined)[] = NAMES.map(() => undefined);
  // Called on every append: compares the raw values with the last parse's, allocating nothing when none changed.
  return () => {
    let same = cached !== null;
    for (let index = 0; index < NAMES.length; index++) {
      const value = configs.get(NAMES[index]!);
      if (value !== cachedValues[index]) {
        cachedValues[index] = value;
        same = false;
      }
    }
    if (same) return cached!;
    const policy = configs.get("cleanup.policy") ?? "delete";
    const compactPolicy = hasPolicy(policy, "compact");
    const maxCompactionLagMs = positive("max.compaction.lag.ms");
    cached = {
      segmentBytes: positive("segment.bytes"),
      segmentMs: compactPolicy ? Math.min(positive("segment.ms"), maxCompactionLagMs) : positive("segment.ms"),
      indexIntervalBytes: positive("index.interval.bytes"),
      retentionMs: limit("retention.ms"),
      retentionBytes: limit("retention.bytes"),
      deletePolicy: hasPolicy(policy, "delete"),
      compactPolicy,
      minCompactionLagMs: atLeastZero("min.compaction.lag.ms"),
      maxCompactionLagMs,
      deleteRetentionMs: atLeastZero("delete.retention.ms"),
      minCleanableDirtyRatio: Math.min(1, atLeastZero("min.cleanable.dirty.ratio")),
    };
    return cached;
  };
}

/** A topic whose cleanup.policy includes `compact`: Produce refuses records without a key there, as Kafka does. */
export function isCompactedTopic(configs: ReadonlyMap<string, string>): boolean {
  return hasPolicy(configs.get("cleanup.policy") ?? "delete", "compact");
}
