// `kgate --config FILE`: a Java properties file (what provisioning writes for Kafka's server.properties) read into
// the same flags the command line has. Kafka's broker names where they exist (listeners, log.dirs, num.partitions,
// log.retention.hours, ssl.*, sasl.enabled.mechanisms, super.users, authorizer.class.name ...), kgate's own as
// `kgate.` + the flag with dots (`kgate.registry.listen` is --registry-listen), `kgate.uplink.NAME` for a link.
// Broker-wide defaults of topic configs (log.retention.ms and the other ServerTopicConfigSynonyms) become the default
// of every topic that does not set its own. Kafka settings that mean nothing on one node (replication factors,
// thread counts, KRaft quorum settings) are accepted and reported as ignored; any other key is an error that names it
// and suggests the nearest known one. Values are checked by the flags' own parser; errors name the file's key.
// Topic config defaults are checked when the gateway starts (validateTopicConfigDefaults in src/kgate.ts): this module
// imports nothing of the broker, so that src/config.ts can import it without a cycle (topic-configs.ts reads limits).

import { readFileSync } from "node:fs";
import { nearestName } from "./util/nearest.ts";

/**
 * The broker configs (server.properties) that set a topic config's default, as Kafka's ServerTopicConfigSynonyms, each
 * with the factor its value is multiplied by (hours and minutes to ms); the first one given wins. flush.ms and
 * flush.messages are left out: kgate syncs per broker (--flush), and the config file maps their broker keys there.
 */
export const brokerSynonyms: ReadonlyMap<string, readonly { key: string; factor: number }[]> = new Map([
  ["cleanup.policy", [{ key: "log.cleanup.policy", factor: 1 }]],
  ["compression.type", [{ key: "compression.type", factor: 1 }]],
  ["delete.retention.ms", [{ key: "log.cleaner.delete.retention.ms", factor: 1 }]],
  ["file.delete.delay.ms", [{ key: "log.segment.delete.delay.ms", factor: 1 }]],
  ["index.interval.bytes", [{ key: "log.index.interval.bytes", factor: 1 }]],
  ["local.retention.bytes", [{ key: "log.local.retention.bytes", factor: 1 }]],
  ["local.retention.ms", [{ key: "log.local.retention.ms", factor: 1 }]],
  ["max.compaction.lag.ms", [{ key: "log.cleaner.max.compaction.lag.ms", factor: 1 }]],
  ["max.message.bytes", [{ key: "message.max.bytes", factor: 1 }]],
  ["message.timestamp.after.max.ms", [{ key: "log.message.timestamp.after.max.ms", factor: 1 }]],
  ["message.timestamp.before.max.ms", [{ key: "log.message.timestamp.before.max.ms", factor: 1 }]],
  ["message.timestamp.type", [{ key: "log.message.timestamp.type", factor: 1 }]],
  ["min.cleanable.dirty.ratio", [{ key: "log.cleaner.min.cleanable.ratio", factor: 1 }]],
  ["min.compaction.lag.ms", [{ key: "log.cleaner.min.compaction.lag.ms", factor: 1 }]],
  ["min.insync.replicas", [{ key: "min.insync.replicas", factor: 1 }]],
  ["preallocate", [{ key: "log.preallocate", factor: 1 }]],
  ["retention.bytes", [{ key: "log.retention.bytes", factor: 1 }]],
  ["retention.ms", [{ key: "log.retention.ms", factor: 1 }, { key: "log.retention.minutes", factor: 60_000 }, { key: "log.retention.hours", factor: 3_600_000 }]],
  ["segment.bytes", [{ key: "log.segment.bytes", factor: 1 }]],
  ["segment.index.bytes", [{ key: "log.index.size.max.bytes", factor: 1 }]],
  ["segment.jitter.ms", [{ key: "log.roll.jitter.ms", factor: 1 }, { key: "log.roll.jitter.hours", factor: 3_600_000 }]],
  ["segment.ms", [{ key: "log.roll.ms", factor: 1 }, { key: "log.roll.hours", factor: 3_600_000 }]],
  ["unclean.leader.election.enable", [{ key: "unclean.leader.election.enable", factor: 1 }]],
]);

export class ConfigFileError extends Error {
  override name = "ConfigFileError";
}

export interface ConfigFile {
  /** Flag → value text, as the command line would give them. */
  flags: Map<string, string>;
  /** --uplink values, one per kgate.uplink.NAME key. */
  uplinkFlags: string[];
  /** Broker-wide topic config defaults (topic config name → value in the topic config's unit), not yet checked. */
  topicConfigDefaults: Map<string, string>;
  /** Where each default came from ("FILE:LINE: key"), for the error when its value is refused. */
  topicConfigDefaultSources: Map<string, string>;
  /** Keys accepted but without effect on one node, with why. */
  ignored: { key: string; why: string }[];
  /** The file's key that set each flag, for error messages. */
  keyOfFlag: Map<string, string>;
}

/** Kafka broker keys that map to a kgate flag; `convert` turns the file's value into the flag's. */
const KAFKA_FLAGS: ReadonlyMap<string, { flag: string; convert?: (value: string, key: string) => string }> = new Map([
  ["listeners", { flag: "--listeners" }],
  ["advertised.listeners", { flag: "--advertised-listeners" }],
  ["log.dirs", { flag: "--data", convert: oneFolder }],
  ["log.dir", { flag: "--data", convert: oneFolder }],
  ["node.id", { flag: "--node-id" }],
  ["broker.id", { flag: "--node-id" }],
  ["num.partitions", { flag: "--default-partitions" }],
  ["auto.create.topics.enable", { flag: "--auto-create-topics" }],
  ["authorizer.class.name", { flag: "--authorizer", convert: authorizerOf }],
  ["super.users", { flag: "--super-users" }],
  ["allow.everyone.if.no.acl.found", { flag: "--allow-everyone-if-no-acl-found" }],
  ["sasl.enabled.mechanisms", { flag: "--sasl-mechanisms" }],
  ["connections.max.reauth.ms", { flag: "--sasl-session-lifetime-ms" }],
  ["ssl.keystore.location", { flag: "--tls-cert" }],
  ["ssl.truststore.location", { flag: "--tls-ca" }],
  ["ssl.client.auth", { flag: "--tls-client-auth" }],
  ["connections.max.idle.ms", { flag: "--connection-idle-ms" }],
  ["max.connections", { flag: "--connections-max" }],
  ["max.connections.per.ip", { flag: "--connections-per-ip-max" }],
  ["socket.request.max.bytes", { flag: "--frame-bytes-max" }],
  ["log.cleaner.backoff.ms", { flag: "--log-cleaner-interval" }],
]);

/** Kafka keys that change nothing on a single node, accepted so that a server.properties can be reused. */
const MEANINGLESS_ON_ONE_NODE: ReadonlyMap<string, string> = new Map([
  ...["num.network.threads", "num.io.threads", "num.recovery.threads.per.data.dir", "background.threads", "num.replica.fetchers"].map((key) => [key, "kgate runs one event loop, no thread pools to size"] as const),
  ...["socket.send.buffer.bytes", "socket.receive.buffer.bytes"].map((key) => [key, "the kernel's socket buffer defaults are used"] as const),
  ...["offsets.topic.replication.factor", "transaction.state.log.replication.factor", "transaction.state.log.min.isr", "default.replication.factor", "share.coordinator.state.topic.replication.factor", "share.coordinator.state.topic.min.isr"].map(
    (key) => [key, "one node: every partition has one replica"] as const,
  ),
  ...["process.roles", "controller.quorum.voters", "controller.quorum.bootstrap.servers", "controller.listener.names", "inter.broker.listener.name", "metadata.log.dir"].map((key) => [key, "one node is broker and controller; there is no quorum"] as const),
  ["listener.security.protocol.map", "listener names are the security protocols themselves (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)"],
  ["log.retention.check.interval.ms", "retention is checked every 30 s (limits.retentionCheckIntervalMs)"],
  ["group.initial.rebalance.delay.ms", "kgate uses Kafka's 3 s (limits.groupInitialRebalanceDelayMs)"],
  ["ssl.keystore.type", "kgate reads PEM files only"],
  ["ssl.truststore.type", "kgate reads PEM files only"],
  ["zookeeper.connect", "kgate has no ZooKeeper"],
  ["zookeeper.connection.timeout.ms", "kgate has no ZooKeeper"],
]);

const FLUSH_KEYS = new Set(["log.flush.interval.ms", "log.flush.interval.messages"]);

/** Reads and maps a config file; throws ConfigFileError naming the key (and line) of the first problem. */
export function readConfigFile(path: string, kgateFlags: readonly string[]): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigFileError(`--config ${path}: ${(error as Error).message}`);
  }
  return mapConfigFile(parseProperties(text, path), kgateFlags, path);
}

/** A properties file's entries in order (Java's Properties.load: `=`, `:` or whitespace separators, # and ! comments, backslash continuations and escapes). */
export function parseProperties(text: string, source = "config"): { key: string; value: string; line: number }[] {
  const entries: { key: string; value: string; line: number }[] = [];
  const lines = text.split(/\r\n|\r|\n/);
  for (let index = 0; index < lines.length; index++) {
    const line = index + 1;
    let logical = lines[index]!.replace(/^[ \t\f]+/, "");
    if (logical === "" || logical.startsWith("#") || logical.startsWith("!")) continue;
    // A line ending in an odd number of backslashes continues on the next one.
    while (/(^|[^\\])(\\\\)*\\$/.test(logical) && index + 1 < lines.length) logical = logical.slice(0, -1) + lines[++index]!.replace(/^[ \t\f]+/, "");
    const separator = /(?<!\\)(?:\\\\)*[=: \t\f]/.exec(logical);
    let key = logical;
    let value = "";
    if (separator) {
      const at = separator.index + separator[0].length - 1;
      key = logical.slice(0, at);
      value = logical.slice(at + 1).replace(/^[ \t\f]*[=:]?[ \t\f]*/, "");
    }
    key = unescape(key, source, line);
    if (key === "") throw new ConfigFileError(`${source}:${line}: a value without a key`);
    if (entries.some((entry) => entry.key === key)) throw new ConfigFileError(`${source}:${line}: ${key} is set twice`);
    entries.push({ key, value: unescape(value, source, line), line });
  }
  return entries;
}

function unescape(text: string, source: string, line: number): string {
  return text.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, escaped: string) => {
    if (escaped.length === 5) return String.fromCharCode(parseInt(escaped.slice(1), 16));
    if (escaped === "u") throw new ConfigFileError(`${source}:${line}: malformed \\u escape`);
    return { t: "\t", n: "\n", r: "\r", f: "\f" }[escaped] ?? escaped;
  });
}

/** Every key a config file may hold (for suggestions): Kafka's mapped and ignored ones, topic defaults, kgate.*. */
export function knownConfigKeys(kgateFlags: readonly string[]): string[] {
  return [
    ...KAFKA_FLAGS.keys(),
    ...MEANINGLESS_ON_ONE_NODE.keys(),
    ...FLUSH_KEYS,
    ...[...brokerSynonyms.values()].flat().map((synonym) => synonym.key),
    ...kgateFlags.map(kgateKeyOf),
  ];
}

/** `--registry-listen` → `kgate.registry.listen`. */
export function kgateKeyOf(flag: string): string {
  return `kgate.${flag.slice(2).replaceAll("-", ".")}`;
}

function mapConfigFile(entries: { key: string; value: string; line: number }[], kgateFlags: readonly string[], source: string): ConfigFile {
  const result: ConfigFile = { flags: new Map(), uplinkFlags: [], topicConfigDefaults: new Map(), topicConfigDefaultSources: new Map(), ignored: [], keyOfFlag: new Map() };
  const flagOfKgateKey = new Map(kgateFlags.map((flag) => [kgateKeyOf(flag), flag]));
  const synonymOf = new Map([...brokerSynonyms].flatMap(([topicConfig, synonyms]) => synonyms.map((synonym, rank) => [synonym.key, { topicConfig, factor: synonym.factor, rank }] as const)));
  const topicDefaultRank = new Map<string, number>();
  const values = new Map(entries.map((entry) => [entry.key, entry.value]));
  const setFlag = (flag: string, value: string, key: string, line: number) => {
    const earlier = result.keyOfFlag.get(flag);
    if (earlier !== undefined) throw new ConfigFileError(`${source}:${line}: ${key} and ${earlier} set the same thing; keep one`);
    result.flags.set(flag, value);
    result.keyOfFlag.set(flag, key);
  };
  for (const { key, value, line } of entries) {
    const at = `${source}:${line}: ${key}`;
    const kafka = KAFKA_FLAGS.get(key);
    if (kafka) {
      setFlag(kafka.flag, kafka.convert ? kafka.convert(value, at) : value, key, line);
      // A PEM keystore (Kafka's ssl.keystore.type=PEM) holds the private key and the certificate chain in one file.
      if (key === "ssl.keystore.location") setFlag("--tls-key", value, key, line);
      continue;
    }
    const kgateFlag = flagOfKgateKey.get(key);
    if (kgateFlag !== undefined && kgateFlag !== "--config" && kgateFlag !== "--help" && kgateFlag !== "--uplink") {
      setFlag(kgateFlag, value, key, line);
      continue;
    }
    if (key.startsWith("kgate.uplink.") && !flagOfKgateKey.has(key)) {
      result.uplinkFlags.push(`${key.slice("kgate.uplink.".length)} ${value}`);
      continue;
    }
    const synonym = synonymOf.get(key);
    if (synonym) {
      // Kafka's precedence among synonyms (log.retention.ms over .minutes over .hours), whatever the file's order.
      if ((topicDefaultRank.get(synonym.topicConfig) ?? Infinity) < synonym.rank) continue;
      const converted = synonym.factor === 1 ? value : /^-?\d+$/.test(value) ? String(Number(value) * synonym.factor) : value;
      result.topicConfigDefaults.set(synonym.topicConfig, converted);
      result.topicConfigDefaultSources.set(synonym.topicConfig, `${at} = ${JSON.stringify(value)}`);
      topicDefaultRank.set(synonym.topicConfig, synonym.rank);
      continue;
    }
    if (FLUSH_KEYS.has(key)) continue;
    const why = MEANINGLESS_ON_ONE_NODE.get(key);
    if (why !== undefined) {
      result.ignored.push({ key, why });
      continue;
    }
    const nearest = nearestName(key, knownConfigKeys(kgateFlags));
    throw new ConfigFileError(`${at}: unknown key${nearest ? `; did you mean ${nearest}?` : ""}`);
  }
  const flush = flushPolicyOf(values.get("log.flush.interval.messages"), values.get("log.flush.interval.ms"), source);
  if (flush !== null) {
    if (result.flags.has("--flush")) throw new ConfigFileError(`${source}: log.flush.interval.* and kgate.flush both set the flush policy; keep one`);
    setFlag("--flush", flush, values.has("log.flush.interval.messages") ? "log.flush.interval.messages" : "log.flush.interval.ms", 0);
  }
  return result;
}

/** Kafka's log.flush.interval.messages=1 syncs every append (kgate's always); log.flush.interval.ms=N is interval=N. */
function flushPolicyOf(messages: string | undefined, ms: string | undefined, source: string): string | null {
  if (messages !== undefined) {
    if (messages === "1") return "always";
    if (messages !== "9223372036854775807") throw new ConfigFileError(`${source}: log.flush.interval.messages: kgate syncs every append (1) or by time (log.flush.interval.ms); got ${messages}`);
  }
  if (ms !== undefined && ms !== "9223372036854775807") return `interval=${ms}`;
  return messages === "9223372036854775807" || ms === "9223372036854775807" ? "never" : null;
}

function oneFolder(value: string, at: string): string {
  const folders = value.split(",").map((folder) => folder.trim()).filter((folder) => folder !== "");
  if (folders.length !== 1) throw new ConfigFileError(`${at}: kgate keeps its log in one folder, got ${folders.length}`);
  return folders[0]!;
}

/** Kafka's ACL authorizers (KRaft's StandardAuthorizer, ZooKeeper's AclAuthorizer) mean `--authorizer acl`; empty means none. */
function authorizerOf(value: string, at: string): string {
  if (value.trim() === "") return "off";
  if (/(^|\.)(StandardAuthorizer|AclAuthorizer)$/.test(value.trim())) return "acl";
  throw new ConfigFileError(`${at}: kgate has Kafka's ACL authorizer only (org.apache.kafka.metadata.authorizer.StandardAuthorizer), got ${value}`);
}
