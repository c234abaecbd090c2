// Kafka's topic-level configs this node accepts, with their defaults and a check of each value.

import { limits } from "../config.ts";

const LONG_MAX = "9223372036854775807";

type Check = (value: string) => boolean;
const integer: Check = (value) => /^-?\d+$/.test(value);
const oneOf = (...allowed: string[]): Check => (value) => allowed.includes(value);
const boolean = oneOf("true", "false");
const ratio: Check = (value) => /^\d*\.?\d+$/.test(value) && Number(value) >= 0 && Number(value) <= 1;
const any: Check = () => true;
/** Confluent's strategy class names, or their simple names. */
const subjectNameStrategy: Check = (value) => /^(io\.confluent\.kafka\.serializers\.subject\.)?(TopicNameStrategy|RecordNameStrategy|TopicRecordNameStrategy)$/.test(value);
const nonNegative: Check = (value) => integer(value) && Number(value) >= 0;

export const topicConfigDefinitions: ReadonlyMap<string, { defaultValue: string; check: Check }> = new Map([
  ["cleanup.policy", { defaultValue: "delete", check: (v) => v.split(",").every((p) => ["delete", "compact"].includes(p.trim())) }],
  // Schema validation of produced records against the registry (src/registry/record-validation.ts).
  ["confluent.key.schema.validation", { defaultValue: "false", check: boolean }],
  ["confluent.value.schema.validation", { defaultValue: "false", check: boolean }],
  ["kgate.schema.validation.strict", { defaultValue: "false", check: boolean }],
  ["confluent.key.subject.name.strategy", { defaultValue: "io.confluent.kafka.serializers.subject.TopicNameStrategy", check: subjectNameStrategy }],
  ["confluent.value.subject.name.strategy", { defaultValue: "io.confluent.kafka.serializers.subject.TopicNameStrategy", check: subjectNameStrategy }],
  ["compression.type", { defaultValue: "producer", check: oneOf("producer", "uncompressed", "gzip", "snappy", "lz4", "zstd") }],
  ["delete.retention.ms", { defaultValue: "86400000", check: integer }],
  ["file.delete.delay.ms", { defaultValue: "60000", check: integer }],
  ["flush.messages", { defaultValue: LONG_MAX, check: integer }],
  ["flush.ms", { defaultValue: LONG_MAX, check: integer }],
  ["follower.replication.throttled.replicas", { defaultValue: "", check: any }],
  ["index.interval.bytes", { defaultValue: "4096", check: integer }],
  ["leader.replication.throttled.replicas", { defaultValue: "", check: any }],
  ["local.retention.bytes", { defaultValue: "-2", check: integer }],
  ["local.retention.ms", { defaultValue: "-2", check: integer }],
  ["max.compaction.lag.ms", { defaultValue: LONG_MAX, check: integer }],
  // The broker-wide default is Kafka's message.max.bytes (limits.batchBytesMax); Produce enforces it per topic.
  ["max.message.bytes", { defaultValue: String(limits.batchBytesMax), check: nonNegative }],
  ["message.timestamp.after.max.ms", { defaultValue: "3600000", check: integer }],
  ["message.timestamp.before.max.ms", { defaultValue: LONG_MAX, check: integer }],
  ["message.timestamp.type", { defaultValue: "CreateTime", check: oneOf("CreateTime", "LogAppendTime") }],
  ["min.cleanable.dirty.ratio", { defaultValue: "0.5", check: ratio }],
  ["min.compaction.lag.ms", { defaultValue: "0", check: integer }],
  ["min.insync.replicas", { defaultValue: "1", check: integer }],
  ["preallocate", { defaultValue: "false", check: boolean }],
  ["remote.storage.enable", { defaultValue: "false", check: boolean }],
  ["retention.bytes", { defaultValue: "-1", check: integer }],
  ["retention.ms", { defaultValue: "604800000", check: integer }],
  ["segment.bytes", { defaultValue: "1073741824", check: integer }],
  ["segment.index.bytes", { defaultValue: "10485760", check: integer }],
  ["segment.jitter.ms", { defaultValue: "0", check: integer }],
  ["segment.ms", { defaultValue: "604800000", check: integer }],
  ["unclean.leader.election.enable", { defaultValue: "false", check: boolean }],
]);

/** An error message for the first unknown or invalid config, or null when all are acceptable. */
export function checkTopicConfigs(configs: Iterable<[string, string | null]>): string | null {
  for (const [name, value] of configs) {
    const definition = topicConfigDefinitions.get(name);
    if (!definition) return `Unknown topic config name: ${name}`;
    if (value !== null && !definition.check(value)) return `Invalid value ${value} for configuration ${name}`;
  }
  return null;
}

/**
 * Produce's size check (Kafka's UnifiedLog: RecordTooLargeException → MESSAGE_TOO_LARGE): null when a record batch of
 * `batchBytes` fits the topic's max.message.bytes, else the error message.
 */
export function batchTooLargeError(configs: ReadonlyMap<string, string>, batchBytes: number): string | null {
  const configured = Number(configs.get("max.message.bytes"));
  const max = configs.has("max.message.bytes") && Number.isSafeInteger(configured) && configured >= 0 ? configured : limits.batchBytesMax;
  return batchBytes > max ? `record batch of ${batchBytes} bytes is larger than the topic's max.message.bytes (${max})` : null;
}

/**
 * Configs of the internal topics kgate writes itself (`__consumer_offsets`, `__transaction_state`, `_schemas`): keyed
 * state, compacted by the log cleaner, in small segments so that the cleaner (which never touches the active
 * segment) keeps what a restart replays close to the live state (Kafka: offsets.topic.segment.bytes).
 */
export function internalTopicConfigs(): Map<string, string> {
  return new Map([
    ["cleanup.policy", "compact"],
    ["segment.bytes", String(limits.internalTopicSegmentBytes)],
  ]);
}

/** Kafka's ConfigResource.Type values this node knows. */
export const ConfigResourceType = { topic: 2, broker: 4, brokerLogger: 8 } as const;
/** Kafka's DescribeConfigsResponse ConfigSource values used here. */
export const ConfigSource = { dynamicTopic: 1, staticBroker: 4, default: 5 } as const;

/** Kafka's ConfigDef.Type as DescribeConfigs v3+ reports it (BOOLEAN 1, STRING 2, INT 3, LONG 5, DOUBLE 6, LIST 7). */
export function topicConfigType(name: string): number {
  const definition = topicConfigDefinitions.get(name);
  if (!definition) return 0;
  if (name === "cleanup.policy" || name.endsWith(".replicas")) return 7;
  if (definition.defaultValue === "true" || definition.defaultValue === "false") return 1;
  if (name === "min.cleanable.dirty.ratio") return 6;
  if (/^-?\d+$/.test(definition.defaultValue)) {
    const intConfigs = ["index.interval.bytes", "max.message.bytes", "min.insync.replicas", "segment.bytes", "segment.index.bytes"];
    return intConfigs.includes(name) ? 3 : 5;
  }
  return 2;
}

/** The list configs IncrementalAlterConfigs may APPEND to and SUBTRACT from. */
export function isListTopicConfig(name: string): boolean {
  return topicConfigType(name) === 7;
}
