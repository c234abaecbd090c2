// Every limit and every command-line option, with its default and the reason for it.

import type { LogLevel } from "./util/logger.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

export const limits = {
  /** Kafka's socket.request.max.bytes; a larger frame closes the connection before it is buffered. */
  frameBytesMax: 100 * MiB,
  /** Connections accepted at once; beyond it new ones are closed, so a flood cannot exhaust memory. */
  connectionsMax: 10_000,
  /** Connections from one IP address at once, so one client cannot take them all. */
  connectionsPerIpMax: 1_000,
  /** Kafka's connections.max.idle.ms: a connection that sends nothing for this long is closed. */
  connectionIdleMs: 600_000,
  /** Requests decoded but not yet answered on one connection (clients pipeline 5 by default). */
  inFlightRequestsPerConnectionMax: 1_000,
  /** Kafka's message.max.bytes: the largest record batch accepted by Produce. */
  batchBytesMax: 1 * MiB + 12,
  /**
   * Largest records section a compressed batch may expand to when Produce decompresses it to validate or recompress:
   * 64x batchBytesMax covers real data (JSON compresses ~5-10x) and refuses decompression bombs before they expand.
   */
  decompressedBatchBytesMax: 64 * MiB,
  /**
   * Messages one Produce v0–2 message set may hold once decompressed: each becomes a JS object before the batch v2 is
   * built, so this caps that memory (~100 bytes each) where a 64 MiB inner set of 26-byte messages would make 2.6M.
   */
  messageSetRecordsMax: 250_000,
  /** Longest Fetch long poll the broker honours, whatever the client asks. */
  fetchMaxWaitMsMax: 30_000,
  /** Response bytes buffered for a slow reader before the connection stops reading requests. */
  pendingWriteBytesMax: 64 * MiB,
  /** Responses up to this size are copied into one buffer so they leave in one write. */
  coalesceWriteBytesMax: 256 * KiB,
  /** Partitions one CreateTopics/auto-create may make. */
  partitionsPerTopicMax: 10_000,
  /** Kafka's group.initial.rebalance.delay.ms: a new group waits this long for more members before generation 1. */
  groupInitialRebalanceDelayMs: 3_000,
  /** Kafka's group.min.session.timeout.ms: shorter sessions would make the coordinator expire members on GC pauses. */
  groupSessionTimeoutMsMin: 6_000,
  /** Kafka's group.max.session.timeout.ms: a dead member holds its partitions at most this long. */
  groupSessionTimeoutMsMax: 1_800_000,
  /** Kafka's group.max.size (unbounded there): bounds the members, timers and metadata one group holds. */
  groupMembersMax: 10_000,
  /** Kafka's new-member JoinGroup timeout: a member stuck in its first join is dropped after this long. */
  groupNewMemberJoinTimeoutMs: 300_000,
  /** Kafka's offset.metadata.max.bytes: the metadata string of one committed offset. */
  offsetMetadataBytesMax: 4_096,
  /** Kafka's offsets.retention.check.interval.ms: offsets expire and Empty groups without offsets go this often. */
  groupEmptySweepIntervalMs: 600_000,
  /** Kafka's offsets.retention.minutes (7 days): offsets of a group Empty this long are deleted. */
  offsetsRetentionMs: 7 * 24 * 3_600_000,
  /**
   * Partitions of __consumer_offsets (Kafka: 50, to spread coordinators over brokers). One node coordinates every
   * group, so one partition suffices; fixed when the topic is created.
   */
  offsetsTopicPartitions: 1,
  /** Records appended to an offsets partition before compaction (live keys rewritten, older records dropped) is considered. */
  offsetsCompactionRecordsMin: 10_000,
  /**
   * Keys one cleaning pass of the log cleaner maps (Kafka's log.cleaner.dedupe.buffer.size, 128 MiB there). Each costs
   * ~100 bytes of heap; a log with more keys in its dirty part is cleaned in several passes.
   */
  cleanerOffsetMapKeysMax: 200_000,
  /** Kafka's log.cleaner.backoff.ms: how often the log cleaner looks for compacted logs whose dirty ratio calls for a pass. */
  cleanerIntervalMs: 15_000,
  /** Bytes the log cleaner reads between yields to the event loop, so produce and fetch never wait long behind it. */
  cleanerStepBytes: 256 * 1024,
  /** Records appended to `_schemas` before the registry rewrites its live state and drops older records (when they are at least half dead). */
  schemasCompactionRecordsMin: 10_000,
} as const;

export interface Config {
  listenHost: string;
  listenPort: number;
  advertisedHost: string;
  advertisedPort: number;
  /** Folder of the file-segment log, or null for the in-memory log. */
  dataDir: string | null;
  /** When appends reach stable storage (file log only). */
  flush: FlushPolicy;
  nodeId: number;
  clusterId: string;
  autoCreateTopics: boolean;
  defaultPartitions: number;
  logLevel: LogLevel;
  /** Where the schema registry's REST API listens; null or absent: no registry. */
  registryListen?: { host: string; port: number } | null;
  /** How often the log cleaner looks for compacted partitions to clean; absent: limits.cleanerIntervalMs. */
  logCleanerIntervalMs?: number;
}

/**
 * `always`: acks=-1 is answered after an fdatasync (shared by concurrent produces); `interval`: a background
 * fdatasync every intervalMs, answers at once; `never`: the OS writes back when it likes.
 */
export type FlushPolicy = { mode: "always" } | { mode: "interval"; intervalMs: number } | { mode: "never" };

interface OptionSpec {
  flag: string;
  env: string;
  value?: string;
  help: string;
  defaultText: string;
}

export const options: OptionSpec[] = [
  { flag: "--listen", env: "KGATE_LISTEN", value: "HOST:PORT", help: "address the Kafka listener binds", defaultText: "0.0.0.0:9092" },
  { flag: "--advertise", env: "KGATE_ADVERTISE", value: "HOST:PORT", help: "address clients are told to connect to (Metadata)", defaultText: "the listen address; 127.0.0.1 when it binds 0.0.0.0" },
  { flag: "--data", env: "KGATE_DATA", value: "DIR", help: "folder of the durable file-segment log", defaultText: "./data" },
  { flag: "--flush", env: "KGATE_FLUSH", value: "always|interval=MS|never", help: "acks=all waits for fsync (always); or fsync every MS ms, or leave it to the OS (both can lose acknowledged records on power loss)", defaultText: "always" },
  { flag: "--memory", env: "KGATE_MEMORY", help: "keep the log in memory only (lost on exit)", defaultText: "off" },
  { flag: "--node-id", env: "KGATE_NODE_ID", value: "N", help: "broker id reported in Metadata", defaultText: "1" },
  { flag: "--cluster-id", env: "KGATE_CLUSTER_ID", value: "ID", help: "cluster id reported in Metadata", defaultText: "kgate-cluster" },
  { flag: "--auto-create-topics", env: "KGATE_AUTO_CREATE_TOPICS", value: "true|false", help: "create unknown topics on Metadata and Produce", defaultText: "true" },
  { flag: "--default-partitions", env: "KGATE_DEFAULT_PARTITIONS", value: "N", help: "partitions of auto-created topics", defaultText: "1" },
  { flag: "--registry-listen", env: "KGATE_REGISTRY_LISTEN", value: "HOST:PORT|off", help: "address the schema registry's REST API binds, or off", defaultText: "0.0.0.0:8081; an ephemeral port when --listen asks for port 0" },
  { flag: "--log-cleaner-interval", env: "KGATE_LOG_CLEANER_INTERVAL_MS", value: "MS", help: "how often compacted topics are checked for a cleaning pass", defaultText: "15000" },
  { flag: "--log-level", env: "KGATE_LOG_LEVEL", value: "LEVEL", help: "debug, info, warn or error", defaultText: "info" },
  { flag: "--help", env: "", help: "print this help", defaultText: "" },
];

export class ConfigError extends Error {
  override name = "ConfigError";
}

export function helpText(): string {
  const lines = ["Usage: kgate [options]", "", "Options (each also read from the environment variable shown):"];
  for (const option of options) {
    const left = option.value ? `${option.flag} ${option.value}` : option.flag;
    const env = option.env ? ` [${option.env}]` : "";
    const fallback = option.defaultText ? ` (default: ${option.defaultText})` : "";
    lines.push(`  ${left.padEnd(30)} ${option.help}${env}${fallback}`);
  }
  return lines.join("\n");
}

function parseHostPort(text: string, flag: string): { host: string; port: number } {
  const colon = text.lastIndexOf(":");
  if (colon <= 0) throw new ConfigError(`${flag} wants HOST:PORT, got ${JSON.stringify(text)}`);
  const host = text.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  const port = parseInteger(text.slice(colon + 1), flag, 0, 65535);
  return { host, port };
}

function parseInteger(text: string, flag: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${flag} wants an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return value;
}

function parseBoolean(text: string, flag: string): boolean {
  if (/^(true|1|yes|on)$/i.test(text)) return true;
  if (/^(false|0|no|off)$/i.test(text)) return false;
  throw new ConfigError(`${flag} wants true or false, got ${JSON.stringify(text)}`);
}

/** Reads options from argv, then the environment for anything argv did not set. Returns null for --help. */
export function parseConfig(argv: string[], env: Record<string, string | undefined> = process.env): Config | null {
  const given = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i]!;
    const equals = argument.indexOf("=");
    const flag = equals > 0 ? argument.slice(0, equals) : argument;
    const option = options.find((candidate) => candidate.flag === flag);
    if (!option) throw new ConfigError(`unknown option ${argument} (see --help)`);
    if (flag === "--help") return null;
    if (!option.value) {
      given.set(flag, "true");
      continue;
    }
    const value = equals > 0 ? argument.slice(equals + 1) : argv[++i];
    if (value === undefined) throw new ConfigError(`${flag} needs a value`);
    given.set(flag, value);
  }
  for (const option of options) {
    const fromEnv = option.env ? env[option.env] : undefined;
    if (!given.has(option.flag) && fromEnv !== undefined && fromEnv !== "") given.set(option.flag, fromEnv);
  }

  const listen = parseHostPort(given.get("--listen") ?? "0.0.0.0:9092", "--listen");
  const advertiseText = given.get("--advertise");
  const advertise = advertiseText
    ? parseHostPort(advertiseText, "--advertise")
    : { host: listen.host === "0.0.0.0" || listen.host === "::" ? "127.0.0.1" : listen.host, port: listen.port };
  const memory = given.has("--memory") && parseBoolean(given.get("--memory")!, "--memory");
  if (memory && given.has("--data")) throw new ConfigError("--memory and --data exclude each other");
  const logLevel = given.get("--log-level") ?? "info";
  if (!["debug", "info", "warn", "error"].includes(logLevel)) throw new ConfigError(`--log-level: unknown level ${logLevel}`);

  return {
    listenHost: listen.host,
    listenPort: listen.port,
    advertisedHost: advertise.host,
    advertisedPort: advertise.port,
    dataDir: memory ? null : (given.get("--data") ?? "./data"),
    flush: parseFlushPolicy(given.get("--flush") ?? "always"),
    nodeId: parseInteger(given.get("--node-id") ?? "1", "--node-id", 0, 2 ** 31 - 1),
    clusterId: given.get("--cluster-id") ?? "kgate-cluster",
    autoCreateTopics: parseBoolean(given.get("--auto-create-topics") ?? "true", "--auto-create-topics"),
    defaultPartitions: parseInteger(given.get("--default-partitions") ?? "1", "--default-partitions", 1, limits.partitionsPerTopicMax),
    logLevel: logLevel as LogLevel,
    registryListen: parseRegistryListen(given.get("--registry-listen"), listen.port),
    logCleanerIntervalMs: parseInteger(given.get("--log-cleaner-interval") ?? String(limits.cleanerIntervalMs), "--log-cleaner-interval", 1, 2 ** 31 - 1),
  };
}

function parseFlushPolicy(text: string): FlushPolicy {
  if (text === "always" || text === "never") return { mode: text };
  const match = /^interval=(\d+)$/.exec(text);
  if (match) return { mode: "interval", intervalMs: parseInteger(match[1]!, "--flush interval", 1, 3_600_000) };
  throw new ConfigError(`--flush wants always, interval=MS or never, got ${JSON.stringify(text)}`);
}

/** --registry-listen: HOST:PORT or off; unset, 0.0.0.0:8081, or port 0 when the Kafka listener takes port 0 (tests). */
function parseRegistryListen(text: string | undefined, kafkaPort: number): { host: string; port: number } | null {
  if (text === undefined) return { host: "0.0.0.0", port: kafkaPort === 0 ? 0 : 8081 };
  if (/^(off|false|none)$/i.test(text)) return null;
  return parseHostPort(text, "--registry-listen");
}
