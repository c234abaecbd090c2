// Every limit and every command-line option, with its default and the reason for it.

import type { LogFormat, LogLevel } from "./util/logger.ts";
import type { AuthorizerConfig } from "./security/authorizer.ts";
import { ConfigFileError, readConfigFile } from "./config-file.ts";
import { parseSecurityConfig, securityOptions, SecurityConfigError, type SecurityConfig } from "./security/security-config.ts";
import { parseLinkFlag, parseUplinkConfig, readLinkFile, UplinkConfigError, UPLINK_KEYS_HELP, type UplinkConfig } from "./uplink/link-config.ts";

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
  /**
   * Response bytes buffered for a slow reader before the connection stops reading requests. A quarter of the memory
   * budget: one client that does not read cannot hold all of it (one large Fetch answer may still go past).
   */
  pendingWriteBytesMax: 16 * MiB,
  /**
   * The memory budget (src/util/memory-budget.ts) over all connections: partly received frames, frames still in use
   * (a Produce's only while it is appended, not while it waits for the fsync), Fetch reads and unsent answers. At
   * the limit no connection is read and Fetch returns nothing until bytes are given back. Kafka's
   * queued.max.request.bytes covers requests only (unbounded by default). 64 MiB holds several 1 MB Produce
   * pipelines and a few consumers' 8 MiB fetches at once.
   */
  bufferMemoryMax: 64 * MiB,
  /**
   * The heap may grow by this much (buffers included) past what the last full collection left before kgate asks for
   * the next one (src/util/heap-valve.ts): garbage that survived a young collection is otherwise kept until the heap
   * is several times its live size. A full collection of kgate's heap takes ~1–5 ms.
   */
  heapGrowthBytesMax: 64 * MiB,
  /** Bytes received over all connections between two checks of the heap valve. */
  heapCheckReceivedBytes: 4 * MiB,
  /**
   * The heap valve is also checked this often (Fetch answers allocate without bytes received); rarely, so an idle box
   * is not woken for it: received bytes check it every heapCheckReceivedBytes.
   */
  heapCheckIntervalMs: 1_000,
  /**
   * While the memory budget is exhausted, a connection whose unsent answers have not moved for this long is closed
   * (a client that stopped reading must not hold the budget, and so every other connection, until the idle timeout).
   */
  stalledWriterMs: 10_000,
  /**
   * A split frame up to this size gets its whole buffer when its size arrives; a larger one keeps the pieces that
   * arrived and joins them at the end, so a header announcing 100 MiB followed by a trickle costs only the trickle.
   */
  framePreallocateBytesMax: 64 * KiB,
  /**
   * Idle buffers kept for reuse by larger frames (Produce requests give theirs back once answered):
   * fresh memory costs a page fault per 4 KiB, warm memory none. Enough for a few producers' pipelines of 1 MB.
   */
  framePoolBytesMax: 16 * MiB,
  /**
   * Idle file-log read slabs (1 MiB each) kept for the next Fetch reads; the rest go to the GC. Reads in use are
   * bounded by bufferMemoryMax; this is what stays warm between them (a few consumers' fetches).
   */
  readSlabPoolBytesMax: 16 * MiB,
  /**
   * The file log keeps each partition's last this many bytes in the page cache and drops older durable pages
   * (src/log/file/page-cache.ts): tail consumers read from memory, the cache stays bounded, and on machines where
   * fresh memory is slow the kernel reuses warm pages. --page-cache-window sets it; -1 keeps every page (Kafka).
   */
  pageCacheWindowBytes: 32 * MiB,
  /**
   * A group-commit round whose logs got at most this many bytes since their last sync runs its fdatasyncs on the
   * event loop instead of the thread pool: at low load the hop to a pool thread and back (two wake-ups, ~0.1 ms on
   * the 2-core VM) costs about what the sync itself does. Larger rounds leave the loop free to read and append the
   * next requests while the disk works.
   */
  syncInlineBytesMax: 64 * KiB,
  /**
   * Inline syncs stop while a recent one took longer than this (a slow disk, an SD card): the event loop is never
   * blocked long. Measured as a moving average of inline and pooled syncs alike.
   */
  syncInlineDurationMaxMs: 2,
  /** Memory log: size of one pooled slab; one allocation (and one round of page faults) serves many appends. */
  logSlabBytes: 1 * MiB,
  /** Memory log: released slabs kept for reuse by all memory logs together; slabs released beyond this go to the GC. */
  logSlabPoolBytesMax: 64 * MiB,
  /**
   * Memory log: a released slab is reused only after this delay, because Fetch responses may still hold views into
   * it while a slow socket drains. Kafka's `file.delete.delay.ms` (60 s) plays the same role for deleted segments.
   */
  logSlabReuseDelayMs: 60_000,
  /** File log: Fetch read buffers are slabs of this size (pooled: readSlabPoolBytesMax). */
  readSlabBytes: 1 * MiB,
  /**
   * File log: a read slab returns to the pool only when every view into it was released (Fetch: after its response
   * was written), so it can be reused at once; a slab holding a view never released is never reused.
   */
  readSlabReuseDelayMs: 0,
  /** How often retention runs (Kafka's log.retention.check.interval.ms is 5 min; edge boxes have small disks). */
  retentionCheckIntervalMs: 30_000,
  /** A segment gets disk blocks allocated ahead once it holds this much (see Segment.preallocate). */
  preallocateFromBytes: 1 * MiB,
  /** At most this much is allocated ahead of a segment's end. */
  preallocateStepBytesMax: 16 * MiB,
  /** Kafka's max.incremental.fetch.session.cache.slots: sessions kept at once, the least recently used evicted beyond. */
  fetchSessionsMax: 1_000,
  /** Kafka's producer.id.expiration.ms: a producer idle this long (no open transaction) is forgotten. */
  producerIdExpirationMs: 86_400_000,
  /** Kafka's producer.id.expiration.check.interval.ms. */
  producerIdExpirationCheckIntervalMs: 600_000,
  /** Schema registry: largest request body read; a schema larger than this is not a schema a client means to send. */
  registryRequestBodyBytesMax: 16 * MiB,
  /** Web console: one sample of the live numbers per interval, whatever the number of browsers watching. */
  consoleSampleIntervalMs: 1_000,
  /** Web console: samples kept for the plots (10 minutes at 1 s). */
  consoleHistorySamples: 600,
  /** Web console: records one page may show; more is a request no person reads in a browser. */
  consoleRecordsPageMax: 500,
  /** Web console: records a key-filtered page scans before it answers with what it found (and where to go on). */
  consoleRecordsScanMax: 50_000,
  /** Web console: sampling goes on this long after the last browser left, so moving between pages keeps the rates. */
  consoleSamplerLingerMs: 5_000,
  /** Web console: browsers watching at once (each holds an event stream). */
  consoleSubscribersMax: 100,
  /** Responses up to this size are copied into one buffer so they leave in one write. */
  coalesceWriteBytesMax: 256 * KiB,
  /** Kafka's max.request.partition.size.limit: partitions one DescribeTopicPartitions answer holds (the rest by cursor). */
  describeTopicPartitionsMax: 2_000,
  /** Partitions one CreateTopics/auto-create may make. */
  partitionsPerTopicMax: 10_000,
  /**
   * Partitions the broker holds in all. The file log keeps 3 files open per partition (log, offset and time
   * indexes): with a data folder the cap is also what the process's open-file limit allows after fileDescriptorsReserved,
   * so a CreatePartitions to 10,000 cannot run the process out of descriptors (EMFILE) for every client.
   */
  partitionsMax: 100_000,
  /** File descriptors kept for connections, the registry and everything but partition logs when the cap is derived. */
  fileDescriptorsReserved: 2_048,
  /** Open files of one file-log partition. */
  fileDescriptorsPerPartition: 3,
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
  /** Kafka's group.consumer.heartbeat.interval.ms: how often a KIP-848 member heartbeats (told in every answer). */
  consumerGroupHeartbeatIntervalMs: 5_000,
  /** Kafka's group.consumer.session.timeout.ms: a KIP-848 member silent this long is removed and its partitions move. */
  consumerGroupSessionTimeoutMs: 45_000,
  /** Kafka's group.consumer.max.size (unbounded there): bounds the members, timers and assignments of one group. */
  consumerGroupMembersMax: 10_000,
  /** Longest SubscribedTopicRegex taken: every topic change matches it against every topic name. */
  consumerGroupTopicRegexLengthMax: 1_000,
  /**
   * Unbounded repeats (*, +, {n,}) in one SubscribedTopicRegex: JavaScript backtracks where RE2 does not, so k of them
   * can cost name-length^k steps per topic name (3: ~10 ms for a 249-character name made to fail it, on the 2-core VM;
   * typical regexes and names take microseconds). Matching runs once per topic change per group.
   */
  consumerGroupTopicRegexRepeatsMax: 3,
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
  /**
   * segment.bytes of the internal topics (__consumer_offsets, __transaction_state, _schemas): the log cleaner compacts
   * only rolled segments, so this bounds what a restart replays beyond the live keys (Kafka: 100 MiB for offsets).
   */
  internalTopicSegmentBytes: 16 * MiB,
  /** Kafka's quota.window.size.seconds: the span of one sample of the byte-rate quotas. */
  quotaWindowMs: 1_000,
  /** Kafka's quota.window.num: samples the rate is measured over (the oldest one is being replaced). */
  quotaWindowCount: 11,
  /** Quota entities (client ids, users and their combinations) with a configured quota. */
  quotaEntitiesMax: 10_000,
  /**
   * Kafka's connection.failed.authentication.delay.ms: a refused SASL authentication is answered (and the connection
   * closed) this much later, which slows password guessing without holding anything but a timer.
   */
  saslFailedAuthenticationDelayMs: 100,
  /**
   * Keys one cleaning pass of the log cleaner maps (Kafka's log.cleaner.dedupe.buffer.size, 128 MiB there). Each costs
   * ~100 bytes of heap; a log with more keys in its dirty part is cleaned in several passes.
   */
  cleanerOffsetMapKeysMax: 200_000,
  /** Kafka's log.cleaner.backoff.ms: how often the log cleaner looks for compacted logs whose dirty ratio calls for a pass. */
  cleanerIntervalMs: 15_000,
  /** Bytes the log cleaner reads between yields to the event loop, so produce and fetch never wait long behind it. */
  cleanerStepBytes: 256 * 1024,
  /** Default cap of unforwarded bytes per forwarded topic (max.unforwarded.bytes): what a box keeps through an outage. */
  uplinkUnforwardedBytesMax: 1024 * MiB,
  /**
   * Bytes one uplink round reads and forwards (one transaction in exactly-once mode): large enough that the round's
   * fixed cost (AddPartitionsToTxn, EndTxn and their syncs on the central cluster) stays small beside the data,
   * small enough that the RSS it costs (read buffers and encoded requests) is bounded.
   */
  uplinkRoundBytesMax: 16 * MiB,
  /** Records sections merged into one forwarded batch on the rewriting path (Kafka's default max.message.bytes is ~1 MiB). */
  uplinkMergeBytesMax: 512 * KiB,
  /** Produce requests in flight per central broker: Kafka keeps the last 5 batches per producer for deduplication. */
  uplinkProduceInFlightMax: 5,
  /** Uplink reconnect backoff: first delay and cap (exponential, with full jitter). */
  uplinkBackoffMinMs: 200,
  uplinkBackoffMaxMs: 10_000,
  /** A central broker that answers nothing this long is treated as down: the link leaves the connected state. */
  uplinkRequestTimeoutMs: 15_000,
  uplinkConnectTimeoutMs: 10_000,
  /** Kafka's transaction.timeout.ms for the uplink's transactional producer: an edge that dies mid-round is aborted after it. */
  uplinkTransactionTimeoutMs: 60_000,
  /** Throttle time given with a Produce refused because a forwarded topic holds max.unforwarded.bytes (full.policy=reject). */
  uplinkFullThrottleMs: 1_000,
  /** A link that caught up waits this long before its next round, so that steady forwarding sends fewer, larger transactions. */
  uplinkLingerMs: 250,
  /** How long an idle link waits for a local append before it looks again (appends also wake it at once). */
  uplinkIdleWaitMs: 1_000,
  /** Downlink Fetch long poll (maxWaitMs): a central record reaches the edge at once, an idle pull costs two requests a second. */
  downlinkFetchMaxWaitMs: 500,
  /** Bytes one downlink Fetch asks per partition, and in all (kept small: pulled topics carry commands and configuration). */
  downlinkPartitionFetchBytesMax: 1 * MiB,
  downlinkFetchBytesMax: 8 * MiB,
  /** How often a pull re-reads the central metadata (new partitions, moved leaders, topics created later). */
  downlinkMetadataRefreshMs: 30_000,
  /** A pulled topic or partition in error (missing remote topic, too few local partitions, a refused batch) is tried again after this. */
  downlinkRetryMs: 5_000,
  /** Fewest milliseconds between two writes of a pull's checkpoint file (it only saves re-reading skipped records). */
  downlinkCheckpointIntervalMs: 1_000,
} as const;

/** The limits an operator (flags, environment) or a test may lower per server; the others stay module constants. */
export interface ServerLimits {
  frameBytesMax: number;
  connectionsMax: number;
  connectionsPerIpMax: number;
  connectionIdleMs: number;
  inFlightRequestsPerConnectionMax: number;
  pendingWriteBytesMax: number;
  bufferMemoryMax: number;
  stalledWriterMs: number;
}

export const serverLimitDefaults: Readonly<ServerLimits> = {
  frameBytesMax: limits.frameBytesMax,
  connectionsMax: limits.connectionsMax,
  connectionsPerIpMax: limits.connectionsPerIpMax,
  connectionIdleMs: limits.connectionIdleMs,
  inFlightRequestsPerConnectionMax: limits.inFlightRequestsPerConnectionMax,
  pendingWriteBytesMax: limits.pendingWriteBytesMax,
  bufferMemoryMax: limits.bufferMemoryMax,
  stalledWriterMs: limits.stalledWriterMs,
};

/** The server's limits: the config's overrides over the defaults. */
export function serverLimits(config: Pick<Config, "limits">): ServerLimits {
  return { ...serverLimitDefaults, ...config.limits };
}

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
  /** `text` (readable lines, default) or `json` (one object per line). */
  logFormat?: LogFormat;
  /** The quotas' rate window (tests shorten it); absent: limits.quotaWindowMs × limits.quotaWindowCount. */
  quotaWindow?: { windowMs: number; windowCount: number };
  /** Overrides of the connection limits (see serverLimits); absent keys keep their defaults. */
  limits?: Partial<ServerLimits>;
  /** Where the schema registry's REST API listens; null or absent: no registry. */
  registryListen?: { host: string; port: number } | null;
  /** The ACL authorizer; null or absent: none, every request is allowed (Kafka without authorizer.class.name). */
  authorizer?: AuthorizerConfig | null;
  /** Listeners, TLS, SASL and HTTP auth (security/security-config.ts); absent: one PLAINTEXT listener, no auth. */
  security?: SecurityConfig;
  /** How often the log cleaner looks for compacted partitions to clean; absent: limits.cleanerIntervalMs. */
  logCleanerIntervalMs?: number;
  /** File log: each partition's last bytes kept in the page cache (-1: all); limits.pageCacheWindowBytes when absent. */
  pageCacheWindowBytes?: number;
  /** Links forwarding local topics to central clusters (src/uplink/); null or absent: none. */
  uplink?: UplinkConfig | null;
  /** Broker-wide defaults of topic configs (the config file's log.retention.ms...): topic config name → value. */
  topicConfigDefaults?: ReadonlyMap<string, string>;
  /** Where each of topicConfigDefaults came from, for the error naming it ("FILE:LINE: key = value"). */
  topicConfigDefaultSources?: ReadonlyMap<string, string>;
  /** Config file keys accepted without effect, with why (logged at start). */
  ignoredConfigKeys?: readonly { key: string; why: string }[];
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
  { flag: "--config", env: "KGATE_CONFIG", value: "FILE", help: "a properties file with Kafka's broker names (listeners, log.dirs, log.retention.hours, ...) and kgate.* for the rest; flags and environment win over it", defaultText: "none" },
  { flag: "--listen", env: "KGATE_LISTEN", value: "HOST:PORT", help: "address the Kafka listener binds", defaultText: "0.0.0.0:9092" },
  { flag: "--advertise", env: "KGATE_ADVERTISE", value: "HOST:PORT", help: "address clients are told to connect to (Metadata)", defaultText: "the listen address; 127.0.0.1 when it binds 0.0.0.0" },
  { flag: "--data", env: "KGATE_DATA", value: "DIR", help: "folder of the durable file-segment log", defaultText: "./data" },
  { flag: "--flush", env: "KGATE_FLUSH", value: "always|interval=MS|never", help: "acks=all waits for fsync (always); or fsync every MS ms, or leave it to the OS (both can lose acknowledged records on power loss)", defaultText: "always" },
  { flag: "--page-cache-window", env: "KGATE_PAGE_CACHE_WINDOW", value: "BYTES|all", help: "file log: keep each partition's last BYTES in the page cache and drop older synced pages (all: keep everything, as Kafka)", defaultText: String(limits.pageCacheWindowBytes) },
  { flag: "--memory", env: "KGATE_MEMORY", help: "keep the log in memory only (lost on exit)", defaultText: "off" },
  { flag: "--node-id", env: "KGATE_NODE_ID", value: "N", help: "broker id reported in Metadata", defaultText: "1" },
  { flag: "--cluster-id", env: "KGATE_CLUSTER_ID", value: "ID", help: "cluster id reported in Metadata", defaultText: "kgate-cluster" },
  { flag: "--auto-create-topics", env: "KGATE_AUTO_CREATE_TOPICS", value: "true|false", help: "create unknown topics on Metadata and Produce", defaultText: "true" },
  { flag: "--default-partitions", env: "KGATE_DEFAULT_PARTITIONS", value: "N", help: "partitions of auto-created topics", defaultText: "1" },
  { flag: "--registry-listen", env: "KGATE_REGISTRY_LISTEN", value: "HOST:PORT|off", help: "address the schema registry's REST API binds, or off", defaultText: "the --listen host, port 8081; an ephemeral port when --listen asks for port 0" },
  { flag: "--authorizer", env: "KGATE_AUTHORIZER", value: "acl|off", help: "check requests against ACLs (Kafka's authorizer.class.name); off allows everything", defaultText: "off" },
  { flag: "--super-users", env: "KGATE_SUPER_USERS", value: "User:A;User:B", help: "principals allowed everything when the authorizer is on (Kafka's super.users)", defaultText: "none" },
  { flag: "--allow-everyone-if-no-acl-found", env: "KGATE_ALLOW_EVERYONE_IF_NO_ACL_FOUND", value: "true|false", help: "a resource without any ACL is open to all (true) or to super users only (false)", defaultText: "false" },
  { flag: "--log-cleaner-interval", env: "KGATE_LOG_CLEANER_INTERVAL_MS", value: "MS", help: "how often compacted topics are checked for a cleaning pass", defaultText: "15000" },
  { flag: "--log-level", env: "KGATE_LOG_LEVEL", value: "LEVEL", help: "debug, info, warn or error", defaultText: "info" },
  { flag: "--log-format", env: "KGATE_LOG_FORMAT", value: "text|json", help: "readable lines, or one JSON object per line", defaultText: "text" },
  { flag: "--connections-max", env: "KGATE_CONNECTIONS_MAX", value: "N", help: "connections accepted at once", defaultText: String(limits.connectionsMax) },
  { flag: "--connections-per-ip-max", env: "KGATE_CONNECTIONS_PER_IP_MAX", value: "N", help: "connections from one IP address at once", defaultText: String(limits.connectionsPerIpMax) },
  { flag: "--connection-idle-ms", env: "KGATE_CONNECTION_IDLE_MS", value: "MS", help: "close a connection that sends nothing for this long", defaultText: String(limits.connectionIdleMs) },
  { flag: "--frame-bytes-max", env: "KGATE_FRAME_BYTES_MAX", value: "BYTES", help: "largest request frame; a larger one closes the connection", defaultText: String(limits.frameBytesMax) },
  { flag: "--in-flight-requests-max", env: "KGATE_IN_FLIGHT_REQUESTS_MAX", value: "N", help: "requests handled at once per connection; more wait unread", defaultText: String(limits.inFlightRequestsPerConnectionMax) },
  { flag: "--pending-write-bytes-max", env: "KGATE_PENDING_WRITE_BYTES_MAX", value: "BYTES", help: "response bytes kept for a slow reader before its connection stops being read", defaultText: String(limits.pendingWriteBytesMax) },
  { flag: "--buffer-memory-max", env: "KGATE_BUFFER_MEMORY_MAX", value: "BYTES", help: "memory budget over all connections (partial frames, requests in use, fetch reads, unsent answers); at the limit no connection is read", defaultText: String(limits.bufferMemoryMax) },
  { flag: "--stalled-writer-ms", env: "KGATE_STALLED_WRITER_MS", value: "MS", help: "with the memory budget exhausted, close a connection whose unsent answers have not moved for this long", defaultText: String(limits.stalledWriterMs) },
  { flag: "--uplink", env: "KGATE_UPLINK", value: "'NAME key=value ...'", help: "forward local topics to a central Kafka cluster (repeat for more links; keys below)", defaultText: "none" },
  { flag: "--uplink-file", env: "KGATE_UPLINK_FILE", value: "FILE", help: "links as JSON: {\"links\": [{\"name\": ..., \"bootstrap.servers\": ..., ...}]}", defaultText: "none" },
  { flag: "--edge-id", env: "KGATE_EDGE_ID", value: "ID", help: "this box's name in remote topic templates, positions and provenance headers", defaultText: "the host name" },
  ...securityOptions,
  { flag: "--help", env: "", help: "print this help", defaultText: "" },
];

export class ConfigError extends Error {
  override name = "ConfigError";
}

export function helpText(): string {
  const lines = [
    "Usage: kgate [options]",
    "       kgate status [--bootstrap HOST:PORT]   (topics, offsets, sizes, groups and lag of a running gateway)",
    "       kgate users add|list|delete ...        (SASL users; kgate users --help)",
    "       kgate --version                        (the version and the commit it was built from)",
    "",
    "Options (each also read from the environment variable shown):",
  ];
  for (const option of options) {
    const left = option.value ? `${option.flag} ${option.value}` : option.flag;
    const env = option.env ? ` [${option.env}]` : "";
    const fallback = option.defaultText ? ` (default: ${option.defaultText})` : "";
    lines.push(`  ${left.padEnd(30)} ${option.help}${env}${fallback}`);
  }
  lines.push("", "Uplink keys (--uplink 'central bootstrap.servers=10.0.0.5:9092 topics=orders,telemetry'):");
  for (const line of UPLINK_KEYS_HELP) lines.push(`  ${line}`);
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
  /** --uplink repeats: one link each. */
  const uplinkFlags: string[] = [];
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
    if (flag === "--uplink") uplinkFlags.push(value);
    given.set(flag, value);
  }
  for (const option of options) {
    const fromEnv = option.env ? env[option.env] : undefined;
    if (!given.has(option.flag) && fromEnv !== undefined && fromEnv !== "") given.set(option.flag, fromEnv);
  }
  return configFromGiven(given, uplinkFlags, env);
}

/**
 * The Config of gathered flags (flag → value text), reading --config's file for what they leave unset; `fallbacks`
 * then fills what neither set (the library's defaults for tests).
 */
export function configFromGiven(given: Map<string, string>, uplinkFlags: string[], env: Record<string, string | undefined>, fallbacks: (given: Map<string, string>) => void = () => {}): Config {
  const path = given.get("--config");
  if (path === undefined) {
    fallbacks(given);
    return configFromFlags(given, uplinkFlags, env);
  }

  // Flags and the environment win over the file; the file wins over the defaults.
  let file;
  try {
    file = readConfigFile(path, options.map((option) => option.flag));
  } catch (error) {
    throw error instanceof ConfigFileError ? new ConfigError(error.message) : error;
  }
  const fromFile = new Map<string, string>();
  for (const [flag, value] of file.flags) {
    if (given.has(flag)) continue;
    given.set(flag, value);
    fromFile.set(flag, file.keyOfFlag.get(flag)!);
  }
  // --listen/--advertise given beside the file's listeners replace them, as they would on the command line.
  if ((fromFile.has("--listeners") || fromFile.has("--advertised-listeners")) && (given.has("--listen") || given.has("--advertise")) && !fromFile.has("--listen")) {
    for (const flag of ["--listeners", "--advertised-listeners"]) if (fromFile.has(flag)) given.delete(flag);
  }
  if (uplinkFlags.length === 0 && !given.has("--uplink")) uplinkFlags.push(...file.uplinkFlags);
  fallbacks(given);
  let config: Config;
  try {
    config = configFromFlags(given, uplinkFlags, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // Name the file's key for a value that came from the file.
    throw new ConfigError(error.message.replace(/--[a-z][a-z-]*/g, (flag) => (fromFile.has(flag) ? `${fromFile.get(flag)} (in ${path})` : flag)));
  }
  return { ...config, topicConfigDefaults: file.topicConfigDefaults, topicConfigDefaultSources: file.topicConfigDefaultSources, ignoredConfigKeys: file.ignored };
}

/** An option's name in code (src/kgate.ts): its flag in camelCase, `--registry-listen` → `registryListen`. */
export function optionName(flag: string): string {
  return flag.slice(2).replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/** The flag of an option name, or null when no option has that name. */
export function flagOfOptionName(name: string): string | null {
  const option = options.find((candidate) => candidate.flag !== "--help" && optionName(candidate.flag) === name);
  return option ? option.flag : null;
}

/** The Config of flags already gathered (value text by flag; --uplink's repeats in uplinkFlags). */
export function configFromFlags(given: Map<string, string>, uplinkFlags: string[], env: Record<string, string | undefined>): Config {
  let security: SecurityConfig;
  try {
    security = parseSecurityConfig(given);
  } catch (error) {
    throw error instanceof SecurityConfigError ? new ConfigError(error.message) : error;
  }
  // With --listeners, the first listener stands for --listen/--advertise (KgateServer.host/port, logs).
  const first = security.listeners?.[0];
  const listen = first ? { host: first.host, port: first.port } : parseHostPort(given.get("--listen") ?? "0.0.0.0:9092", "--listen");
  const advertiseText = given.get("--advertise");
  const advertise = first
    ? { host: first.advertisedHost, port: first.advertisedPort }
    : advertiseText
    ? parseHostPort(advertiseText, "--advertise")
    : { host: listen.host === "0.0.0.0" || listen.host === "::" ? "127.0.0.1" : listen.host, port: listen.port };
  const memory = given.has("--memory") && parseBoolean(given.get("--memory")!, "--memory");
  if (memory && given.has("--data")) throw new ConfigError("--memory and --data exclude each other");
  const logLevel = given.get("--log-level") ?? "info";
  const logFormat = given.get("--log-format") ?? "text";
  if (logFormat !== "text" && logFormat !== "json") throw new ConfigError(`--log-format wants text or json, got ${JSON.stringify(logFormat)}`);
  const limitOverrides: Partial<ServerLimits> = {};
  const limitFlags: [string, keyof ServerLimits, number][] = [
    ["--connections-max", "connectionsMax", 1],
    ["--connections-per-ip-max", "connectionsPerIpMax", 1],
    ["--connection-idle-ms", "connectionIdleMs", 100],
    ["--frame-bytes-max", "frameBytesMax", 1_024],
    ["--in-flight-requests-max", "inFlightRequestsPerConnectionMax", 1],
    ["--pending-write-bytes-max", "pendingWriteBytesMax", 64 * 1_024],
    ["--buffer-memory-max", "bufferMemoryMax", 1_024 * 1_024],
    ["--stalled-writer-ms", "stalledWriterMs", 100],
  ];
  for (const [flag, key, min] of limitFlags) {
    const text = given.get(flag);
    if (text !== undefined) limitOverrides[key] = parseInteger(text, flag, min, Number.MAX_SAFE_INTEGER);
  }
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
    logFormat,
    limits: limitOverrides,
    registryListen: parseRegistryListen(given.get("--registry-listen"), listen),
    authorizer: parseAuthorizer(given),
    security,
    logCleanerIntervalMs: parseInteger(given.get("--log-cleaner-interval") ?? String(limits.cleanerIntervalMs), "--log-cleaner-interval", 1, 2 ** 31 - 1),
    pageCacheWindowBytes: parsePageCacheWindow(given.get("--page-cache-window")),
    uplink: parseUplink(uplinkFlags.length > 0 ? uplinkFlags : given.has("--uplink") ? [given.get("--uplink")!] : [], given, env),
  };
}

/** --uplink (repeatable), --uplink-file and --edge-id. With --memory a link forwards too; the box keeps nothing across restarts. */
function parseUplink(flags: string[], given: Map<string, string>, env: Record<string, string | undefined>): UplinkConfig | null {
  const file = given.get("--uplink-file");
  if (flags.length === 0 && file === undefined) {
    if (given.has("--edge-id")) return parseWrapped(() => parseUplinkConfig([], given.get("--edge-id"), env));
    return null;
  }
  return parseWrapped(() => parseUplinkConfig([...flags.map(parseLinkFlag), ...(file !== undefined ? readLinkFile(file) : [])], given.get("--edge-id"), env));
}

function parseWrapped<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw error instanceof UplinkConfigError ? new ConfigError(error.message) : error;
  }
}

function parsePageCacheWindow(text: string | undefined): number {
  if (text === undefined) return limits.pageCacheWindowBytes;
  if (text === "all") return -1;
  return parseInteger(text, "--page-cache-window", 0, Number.MAX_SAFE_INTEGER);
}

function parseFlushPolicy(text: string): FlushPolicy {
  if (text === "always" || text === "never") return { mode: text };
  const match = /^interval=(\d+)$/.exec(text);
  if (match) return { mode: "interval", intervalMs: parseInteger(match[1]!, "--flush interval", 1, 3_600_000) };
  throw new ConfigError(`--flush wants always, interval=MS or never, got ${JSON.stringify(text)}`);
}

/**
 * --registry-listen: HOST:PORT (bound exactly) or off. Unset, it binds the Kafka listener's host (a gateway told to
 * listen on 127.0.0.1 must not open its registry to every interface) on 8081, or port 0 when the Kafka listener takes
 * port 0 (tests).
 */
function parseRegistryListen(text: string | undefined, kafka: { host: string; port: number }): { host: string; port: number } | null {
  if (text === undefined) return { host: kafka.host, port: kafka.port === 0 ? 0 : 8081 };
  if (/^(off|false|none)$/i.test(text)) return null;
  return parseHostPort(text, "--registry-listen");
}

/** --authorizer acl|off with --super-users and --allow-everyone-if-no-acl-found; the last two need the first. */
function parseAuthorizer(given: Map<string, string>): AuthorizerConfig | null {
  const mode = given.get("--authorizer") ?? "off";
  if (!/^(acl|off)$/.test(mode)) throw new ConfigError(`--authorizer wants acl or off, got ${JSON.stringify(mode)}`);
  if (mode === "off") {
    for (const flag of ["--super-users", "--allow-everyone-if-no-acl-found"]) {
      if (given.has(flag)) throw new ConfigError(`${flag} needs --authorizer acl`);
    }
    return null;
  }
  const superUsers = (given.get("--super-users") ?? "").split(";").map((entry) => entry.trim()).filter((entry) => entry !== "");
  for (const principal of superUsers) {
    if (!/^[^:]+:.+$/.test(principal)) throw new ConfigError(`--super-users wants TYPE:NAME principals separated by ';', got ${JSON.stringify(principal)}`);
  }
  const allowEveryoneIfNoAclFound = parseBoolean(given.get("--allow-everyone-if-no-acl-found") ?? "false", "--allow-everyone-if-no-acl-found");
  return { superUsers, allowEveryoneIfNoAclFound };
}
