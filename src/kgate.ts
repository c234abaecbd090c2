// kgate as a library: `startKgate()` starts a gateway inside the calling Bun process, for users' own `bun test`
// (a real Kafka broker in microseconds instead of a container) and for applications that embed the broker. The
// command line (src/main.ts) goes through startGateway() below too, so both run one code path.
//
// Options are the command line's flags in camelCase (`--registry-listen` is `registryListen`), parsed and validated
// by the same code: a bad one throws KgateOptionError naming it. Defaults suit tests: the in-memory log,
// 127.0.0.1 on an ephemeral port, the registry off, logs at warn. The environment (KGATE_*) is not read: a test
// must not change with the shell it runs in. Each gateway has its own state; many can run in one process.

import { Broker } from "./broker.ts";
import { ConfigError, configFromGiven, flagOfOptionName, optionName, options as flagOptions, type Config, type FlushPolicy } from "./config.ts";
import { nearestName } from "./util/nearest.ts";
import { FaultInjector } from "./faults/faults.ts";
import type { GroupState as ClassicGroupState } from "./groups/group.ts";
import type { ConsumerGroupState } from "./groups/consumer-group/consumer-group.ts";

/** A classic group's state, or a KIP-848 consumer group's (Empty, Assigning, Reconciling, Stable). */
type GroupState = ClassicGroupState | ConsumerGroupState;
import { checkTopicConfigs } from "./metadata/topic-configs.ts";
import { errorName } from "./protocol/error-codes.ts";
import { decodePart, headerText, visitRecords, type DecodedPart } from "./registry/record-view.ts";
import { startServer, type KgateServer } from "./server/server.ts";
import { log, setLogFormat, setLogLevel, type LogLevel } from "./util/logger.ts";

export type { DecodedPart } from "./registry/record-view.ts";
export { ErrorCode } from "./protocol/error-codes.ts";
export type { FaultHandle, FailOptions } from "./faults/faults.ts";
export { FaultInjector } from "./faults/faults.ts";

/** The gateway's options: the command line's flags by their camelCase names (see `kgate --help` for each). */
export interface KgateOptions {
  /** A properties file with Kafka's broker names (see the README's "Config file"); the other options win over it. */
  config?: string;
  /** HOST:PORT the Kafka listener binds. Default "127.0.0.1:0" (an ephemeral port; read it from `port`). */
  listen?: string;
  /** HOST:PORT Metadata tells clients to connect to. Default: the bound address. */
  advertise?: string;
  /** Folder of the durable file-segment log. Default: none, the log is in memory. */
  data?: string;
  /** Keep the log in memory only. Default true unless `data` is given. */
  memory?: boolean;
  /** When acks=all answers: "always" (after fdatasync), "interval=MS" or "never". File log only. */
  flush?: "always" | "never" | `interval=${number}`;
  /** File log: each partition's last bytes kept in the page cache, or "all". */
  pageCacheWindow?: number | "all";
  nodeId?: number;
  clusterId?: string;
  /** Create unknown topics on Metadata and Produce. Default true. */
  autoCreateTopics?: boolean;
  /** Partitions of auto-created topics. Default 1. */
  defaultPartitions?: number;
  /** HOST:PORT of the schema registry's REST API, true for an ephemeral port on the listen host, or "off". Default off. */
  registryListen?: string | boolean;
  /** "acl" checks requests against ACLs (Kafka's authorizer.class.name); "off" allows everything. */
  authorizer?: "acl" | "off";
  /** Principals allowed everything with the authorizer on ("User:A"). */
  superUsers?: string | string[];
  allowEveryoneIfNoAclFound?: boolean;
  /** How often compacted topics are checked for a cleaning pass (ms). */
  logCleanerInterval?: number;
  /** debug, info, warn or error. Process-wide (one logger serves every gateway of the process). Default "warn". */
  logLevel?: LogLevel;
  logFormat?: "text" | "json";
  connectionsMax?: number;
  connectionsPerIpMax?: number;
  connectionIdleMs?: number;
  frameBytesMax?: number;
  inFlightRequestsMax?: number;
  pendingWriteBytesMax?: number;
  bufferMemoryMax?: number;
  stalledWriterMs?: number;
  /** Links to central clusters, one per entry: "NAME key=value ...". */
  uplink?: string | string[];
  uplinkFile?: string;
  edgeId?: string;
  /** Kafka's listeners: "NAME://HOST:PORT,..." (SASL_PLAINTEXT, SSL, SASL_SSL listeners need the options below). */
  listeners?: string;
  advertisedListeners?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsClientAuth?: "required" | "requested" | "none";
  /** SASL mechanisms offered: "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512". */
  saslMechanisms?: string | string[];
  saslSessionLifetimeMs?: number;
  /** Users created at start: "USER:PASSWORD,..." or { user: password }. */
  saslUsersBootstrap?: string | Record<string, string>;
  httpTls?: boolean;
  httpAuth?: boolean;
  httpRoles?: string;
}

/** Every option name, checked by tsc against KgateOptions and by the tests against the command line's flags. */
export const KGATE_OPTION_NAMES: Record<keyof KgateOptions, true> = {
  config: true,
  listen: true, advertise: true, data: true, memory: true, flush: true, pageCacheWindow: true, nodeId: true, clusterId: true,
  autoCreateTopics: true, defaultPartitions: true, registryListen: true, authorizer: true, superUsers: true,
  allowEveryoneIfNoAclFound: true, logCleanerInterval: true, logLevel: true, logFormat: true, connectionsMax: true,
  connectionsPerIpMax: true, connectionIdleMs: true, frameBytesMax: true, inFlightRequestsMax: true, pendingWriteBytesMax: true,
  bufferMemoryMax: true, stalledWriterMs: true, uplink: true, uplinkFile: true, edgeId: true, listeners: true,
  advertisedListeners: true, tlsCert: true, tlsKey: true, tlsCa: true, tlsClientAuth: true, saslMechanisms: true,
  saslSessionLifetimeMs: true, saslUsersBootstrap: true, httpTls: true, httpAuth: true, httpRoles: true,
};

/** A bad option: `option` is its name (as in KgateOptions), the message says what is wrong and what it wants. */
export class KgateOptionError extends ConfigError {
  override name = "KgateOptionError";
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(message);
  }
}

export interface TopicOffsets {
  partition: number;
  /** The first offset still held (DeleteRecords and retention move it). */
  logStartOffset: number;
  /** The offset the next record gets (the high watermark: one node commits everything it appends). */
  endOffset: number;
}

export interface KgateRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: { key: string; value: Uint8Array | null }[];
  /** The key and value as a reader shows them: decoded JSON when the bytes carry a schema registry envelope whose id the registry knows, else UTF-8 text, else base64. */
  decodedKey: DecodedPart;
  decodedValue: DecodedPart;
  /** Header values as UTF-8 text (base64 when not valid UTF-8). */
  headerTexts: Record<string, string | null>;
}

export interface WaitOptions {
  /** Give up (throw) after this long. Default 10 s. */
  timeoutMs?: number;
  /** Time between two checks. Default 10 ms. */
  intervalMs?: number;
}

/** A running gateway. `await using kafka = await startKgate()` stops it at the end of the block. */
export interface Kgate extends AsyncDisposable {
  /** "127.0.0.1:PORT": what a client takes as its bootstrap servers. */
  readonly bootstrap: string;
  readonly host: string;
  readonly port: number;
  /** "http://HOST:PORT" of the schema registry, or null when it is off. */
  readonly registryUrl: string | null;
  /** The server and its state (topics, groups, transactions, metrics) for assertions. */
  readonly server: KgateServer;
  readonly broker: Broker;
  /** Errors, delays and closed connections to inject into the answers clients get. */
  readonly faults: FaultInjector;
  /** Stops accepting, closes every connection (clients still connected included) and frees the port. Idempotent. */
  stop(): Promise<void>;

  /** Creates a topic, with defaultPartitions unless told (throws when it exists or a config is invalid). */
  createTopic(name: string, options?: { partitions?: number; configs?: Record<string, string> }): void;
  /** Names of the topics, internal ones (`__consumer_offsets`...) excluded. */
  topics(): string[];
  /** Start and end offsets of each partition of a topic (throws for an unknown topic). */
  offsets(topic: string): TopicOffsets[];
  /** The records a partition holds from an offset (control records of transactions left out), at most `limit`. */
  records(topic: string, options?: { partition?: number; fromOffset?: number; limit?: number }): KgateRecord[];
  /** The offsets a group committed, by "topic/partition" ("orders/0"). */
  committedOffsets(groupId: string): Record<string, number>;
  /**
   * The group's state, or null when unknown: a classic group's (Empty, PreparingRebalance, CompletingRebalance,
   * Stable, Dead) or a KIP-848 consumer group's (Empty, Assigning, Reconciling, Stable).
   */
  groupState(groupId: string): GroupState | null;
  /** Waits until cond holds; throws with `what` after the timeout. */
  waitFor(cond: () => boolean | Promise<boolean>, what?: string, options?: WaitOptions): Promise<void>;
  /** Waits until the group is in the state (default Stable). */
  waitForGroup(groupId: string, state?: GroupState, options?: WaitOptions): Promise<void>;
  /** Waits until a partition's end offset reaches offset (records were produced up to offset - 1). */
  waitForEndOffset(topic: string, partition: number, offset: number, options?: WaitOptions): Promise<void>;
  /** Waits until the group committed at least offset for the partition. */
  waitForCommit(groupId: string, topic: string, partition: number, offset: number, options?: WaitOptions): Promise<void>;
}

/** Starts a gateway in this process (see KgateOptions for the defaults). Throws KgateOptionError for a bad option. */
export async function startKgate(options: KgateOptions = {}): Promise<Kgate> {
  const config = configFromOptions(options);
  try {
    validateTopicConfigDefaults(config);
  } catch (error) {
    throw error instanceof ConfigError ? new KgateOptionError("config", error.message) : error;
  }
  return startGateway(config);
}

/** Checks the config file's broker-wide topic config defaults as CreateTopics checks a topic's; throws ConfigError naming the file's key. */
export function validateTopicConfigDefaults(config: Config): void {
  for (const [name, value] of config.topicConfigDefaults ?? []) {
    const problem = checkTopicConfigs([[name, value]]);
    if (problem !== null) throw new ConfigError(`${config.topicConfigDefaultSources?.get(name) ?? name}: invalid value (${problem})`);
  }
}

/** The Config of library options: the same flags and checks as the command line, without the environment. */
export function configFromOptions(options: KgateOptions): Config {
  const given = new Map<string, string>();
  const uplinkFlags: string[] = [];
  const known = Object.keys(KGATE_OPTION_NAMES);
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined) continue;
    const flag = flagOfOptionName(name);
    if (flag === null || !(name in KGATE_OPTION_NAMES)) {
      const nearest = nearestName(name, known);
      throw new KgateOptionError(name, `unknown option ${JSON.stringify(name)}${nearest ? `; did you mean ${JSON.stringify(nearest)}?` : ""}`);
    }
    const text = optionText(name, value);
    if (name === "uplink") uplinkFlags.push(...(Array.isArray(value) ? value : [text]));
    given.set(flag, text);
  }
  const testDefaults = (flags: Map<string, string>) => {
    if (!flags.has("--listen") && !flags.has("--listeners")) flags.set("--listen", "127.0.0.1:0");
    if (!flags.has("--data") && !flags.has("--memory")) flags.set("--memory", "true");
    if (!flags.has("--registry-listen")) flags.set("--registry-listen", "off");
    if (!flags.has("--log-level")) flags.set("--log-level", "warn");
  };
  try {
    return configFromGiven(given, uplinkFlags, {}, testDefaults);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // The parser names flags (--registry-listen); the library's callers know options (registryListen).
    const message = error.message.replace(/--([a-z][a-z-]*)/g, (flag) => optionName(flag));
    const named = /--([a-z][a-z-]*)/.exec(error.message);
    throw new KgateOptionError(named ? optionName(named[0]) : "options", message);
  }
}

function optionText(name: string, value: unknown): string {
  switch (typeof value) {
    case "string":
      return value;
    case "number":
    case "boolean":
      if (name === "registryListen" && value === true) return "127.0.0.1:0";
      return String(value);
    case "object":
      if (Array.isArray(value) && value.every((item) => typeof item === "string")) return value.join(name === "superUsers" ? ";" : ",");
      if (name === "saslUsersBootstrap" && value !== null && Object.values(value).every((item) => typeof item === "string")) {
        return Object.entries(value as Record<string, string>).map(([user, password]) => `${user}:${password}`).join(",");
      }
  }
  throw new KgateOptionError(name, `${name} wants ${describeWanted(name)}, got ${JSON.stringify(value) ?? String(value)}`);
}

function describeWanted(name: string): string {
  const flag = flagOfOptionName(name);
  const spec = flagOptions.find((option) => option.flag === flag);
  return spec?.value ? `a string or number (${spec.value})` : "a boolean";
}

/** Starts the listeners (and registry, links) of a parsed Config; the command line and startKgate both come here. */
export function startGateway(config: Config): Kgate {
  validateTopicConfigDefaults(config);
  setLogLevel(config.logLevel);
  setLogFormat(config.logFormat ?? "text");
  for (const { key, why } of config.ignoredConfigKeys ?? []) log.info("config file key ignored", { key, why });
  if (config.topicConfigDefaults && config.topicConfigDefaults.size > 0) log.info("broker-wide topic config defaults", Object.fromEntries(config.topicConfigDefaults));
  const server = startServer(config);
  const { broker } = server;
  const faults = new FaultInjector(broker);
  let stopped: Promise<void> | null = null;
  const stop = () => {
    stopped ??= (async () => {
      faults.clear();
      await server.stop();
    })();
    return stopped;
  };
  const topicOrThrow = (name: string) => {
    const topic = broker.topics.get(name);
    if (!topic) throw new Error(`no topic ${JSON.stringify(name)}`);
    return topic;
  };
  const registryPort = server.registry?.server.port;
  const kgate: Kgate = {
    bootstrap: `${server.host}:${server.port}`,
    host: server.host,
    port: server.port,
    registryUrl: registryPort === undefined ? null : `http://${hostForUrl(config.registryListen!.host)}:${registryPort}`,
    server,
    broker,
    faults,
    stop,
    [Symbol.asyncDispose]: stop,

    createTopic(name, { partitions = config.defaultPartitions, configs = {} } = {}) {
      const problem = checkTopicConfigs(Object.entries(configs));
      if (problem !== null) throw new Error(`topic ${name}: ${problem}`);
      const created = broker.topics.create(name, partitions, new Map(Object.entries(configs)));
      if (!created.topic) throw new Error(`topic ${name}: ${errorName(created.errorCode)}${created.errorMessage ? ` (${created.errorMessage})` : ""}`);
    },
    topics() {
      return broker.topics.list().filter((topic) => !topic.isInternal).map((topic) => topic.name).sort();
    },
    offsets(name) {
      return topicOrThrow(name).partitions.map((log, partition) => ({ partition, logStartOffset: log.logStartOffset, endOffset: log.highWatermark }));
    },
    records(name, { partition = 0, fromOffset = 0, limit = 10_000 } = {}) {
      const log = topicOrThrow(name).partitions[partition];
      if (!log) throw new Error(`topic ${name} has no partition ${partition}`);
      const decoders = server.registry?.decoders ?? null;
      const records: KgateRecord[] = [];
      if (limit <= 0) return records;
      visitRecords(log, fromOffset, (offset, record) => {
        records.push({
          topic: name,
          partition,
          offset,
          timestamp: record.timestamp,
          // Copies: the views point into the log's buffers, which are reused once the read is released.
          key: record.key && record.key.slice(),
          value: record.value && record.value.slice(),
          headers: record.headers.map((header) => ({ key: header.key, value: header.value && header.value.slice() })),
          decodedKey: decodePart(decoders, record.key),
          decodedValue: decodePart(decoders, record.value),
          headerTexts: Object.fromEntries(record.headers.map((header) => [header.key, headerText(header.value)])),
        });
        return records.length < limit;
      });
      return records;
    },
    committedOffsets(groupId) {
      const committed: Record<string, number> = {};
      for (const { topic, partitions } of broker.groups.fetchOffsets(groupId, null)) {
        for (const { partition, offset } of partitions) committed[`${topic}/${partition}`] = offset;
      }
      return committed;
    },
    groupState(groupId) {
      return broker.groups.groupState(groupId) ?? broker.groups.describeConsumerGroup(groupId)?.groupState ?? null;
    },
    async waitFor(cond, what = "the condition", { timeoutMs = 10_000, intervalMs = 10 } = {}) {
      const deadline = performance.now() + timeoutMs;
      while (!(await cond())) {
        if (performance.now() > deadline) throw new Error(`kgate: ${what} did not happen within ${timeoutMs} ms`);
        await Bun.sleep(intervalMs);
      }
    },
    waitForGroup(groupId, state = "Stable", options) {
      return kgate.waitFor(() => kgate.groupState(groupId) === state, `group ${groupId} ${state} (it is ${kgate.groupState(groupId) ?? "unknown"})`, options);
    },
    waitForEndOffset(topic, partition, offset, options) {
      const end = () => broker.topics.get(topic)?.partitions[partition]?.highWatermark ?? -1;
      return kgate.waitFor(() => end() >= offset, `end offset ${offset} on ${topic}/${partition}`, options);
    },
    waitForCommit(groupId, topic, partition, offset, options) {
      return kgate.waitFor(() => (kgate.committedOffsets(groupId)[`${topic}/${partition}`] ?? -1) >= offset, `group ${groupId} committing ${offset} on ${topic}/${partition}`, options);
    },
  };
  return kgate;
}

function hostForUrl(host: string): string {
  if (host === "0.0.0.0" || host === "::") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}

export type { Config, FlushPolicy, GroupState, KgateServer };
