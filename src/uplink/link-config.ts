// Uplink links: which local topics go to which central cluster, how, and what happens when the box fills up.
// A link is one `--uplink` value (`NAME key=value key=value ...`, repeatable) or one object of `--uplink-file`
// (JSON: {"links": [{"name": ..., "key": "value" | ["value", ...]}]}); both use the same keys, named after
// librdkafka's/Kafka's producer settings where one exists. Secrets are never literal: `sasl.password.env` names an
// environment variable and `sasl.password.file` a file, so they appear neither in `ps` nor in the logs.

import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { limits } from "../config.ts";

/** The compacted topic on the central cluster where exactly-once links keep their positions. */
export const POSITIONS_TOPIC_DEFAULT = "_kgate_uplink_positions";

export class UplinkConfigError extends Error {
  override name = "UplinkConfigError";
}

export type DeliveryMode = "exactly-once" | "at-least-once";
export type FullPolicy = "reject" | "drop-oldest";
export type SecurityProtocol = "PLAINTEXT" | "SSL" | "SASL_PLAINTEXT" | "SASL_SSL";
export type SaslMechanism = "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512";

export interface LinkTls {
  ca?: string;
  cert?: string;
  key?: string;
  /** False with ssl.endpoint.identification.algorithm=none: the certificate chain is still checked, not the host name. */
  checkHostname: boolean;
}

export interface LinkConfig {
  name: string;
  bootstrapServers: { host: string; port: number }[];
  securityProtocol: SecurityProtocol;
  tls: LinkTls | null;
  sasl: { mechanism: SaslMechanism; username: string; password: string } | null;
  topics: { names: string[]; patterns: RegExp[]; excludes: RegExp[] };
  /** Template of the remote topic's name: ${topic}, ${edge} and ${link} are replaced. */
  remoteTopic: string;
  /** same: local partition N goes to remote partition N; key: by murmur2 of the key, as the Java producer. */
  partitioning: "same" | "key";
  /** auto: exactly-once when the central cluster has transactions, else at-least-once (with a warning). */
  delivery: DeliveryMode | "auto";
  /** 0: unlimited. */
  bandwidthBytesPerSecond: number;
  /** Create missing remote topics (with the local partition count and `remote.replication.factor`). */
  createRemoteTopics: boolean;
  remoteReplicationFactor: number;
  /** Unforwarded bytes a forwarded topic may hold before the full policy applies. */
  unforwardedBytesMax: number;
  fullPolicy: FullPolicy;
  /** Adds the kgate-origin header (edge, topic, partition, offset) to every forwarded record. */
  provenance: boolean;
  /** The central Schema Registry: ids of kgate's registry in Confluent envelopes are mapped to its ids. */
  schemaRegistryUrl: string | null;
  /** Compacted topic on the central cluster holding each link's positions (exactly-once). */
  positionsTopic: string;
  /** A central broker silent this long is taken as down (Kafka's request.timeout.ms). */
  requestTimeoutMs: number;
  /** The transactional producer's transaction.timeout.ms: an edge that dies mid-round is aborted after it. */
  transactionTimeoutMs: number;
  /** The downlink (src/uplink/downlink.ts): central topics copied into local topics; no topics: nothing is pulled. */
  pull: PullConfig;
}

export interface PullConfig {
  /** Remote topic names (`pull.topics`). */
  topics: string[];
  /** Template of the local topic's name (`pull.local.topic`): ${topic} (the remote name), ${edge} and ${link} are replaced. */
  localTopic: string;
}

export interface UplinkConfig {
  edgeId: string;
  links: LinkConfig[];
}

/** Keys whose values accumulate (repeat the key, or give a JSON array). */
const LIST_KEYS = new Set(["topics", "topics.regex", "topics.exclude", "pull.topics"]);
const KEYS = new Set([
  "bootstrap.servers",
  "security.protocol",
  "sasl.mechanism",
  "sasl.username",
  "sasl.password.env",
  "sasl.password.file",
  "ssl.ca.location",
  "ssl.certificate.location",
  "ssl.key.location",
  "ssl.endpoint.identification.algorithm",
  "topics",
  "topics.regex",
  "topics.exclude",
  "remote.topic",
  "partitioning",
  "delivery",
  "bandwidth.bytes.per.second",
  "create.remote.topics",
  "remote.replication.factor",
  "max.unforwarded.bytes",
  "full.policy",
  "provenance",
  "schema.registry.url",
  "positions.topic",
  "request.timeout.ms",
  "transaction.timeout.ms",
  "pull.topics",
  "pull.local.topic",
]);

export const UPLINK_KEYS_HELP = [
  "bootstrap.servers=HOST:PORT[,HOST:PORT]   the central cluster (required)",
  "topics=A,B  topics.regex=RE  topics.exclude=RE   what to forward (regex keys repeat); internal topics never",
  "remote.topic=TEMPLATE                      e.g. site.${edge}.${topic} (default: ${topic})",
  "partitioning=same|key                      same partition number, or murmur2 of the key as Java (default: same)",
  "delivery=auto|exactly-once|at-least-once   (default: auto: exactly-once when the cluster has transactions)",
  "security.protocol=PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL, sasl.mechanism=PLAIN|SCRAM-SHA-256|SCRAM-SHA-512",
  "sasl.username=U sasl.password.env=VAR|sasl.password.file=FILE, ssl.ca.location / ssl.certificate.location / ssl.key.location=FILE",
  "max.unforwarded.bytes=N full.policy=reject|drop-oldest   per topic (default: 1 GiB, reject)",
  "bandwidth.bytes.per.second=N create.remote.topics=true|false provenance=header|off schema.registry.url=URL",
  "request.timeout.ms=MS (default 15000: a silent central cluster is down after it) transaction.timeout.ms=MS (default 60000)",
  "pull.topics=A,B pull.local.topic=TEMPLATE  copy central topics into local ones (read_committed, exactly once; default ${topic})",
];

/** `NAME key=value ...` (one --uplink flag) into the raw key/values of a link. */
export function parseLinkFlag(text: string): Record<string, string | string[]> {
  const words = text.trim().split(/\s+/).filter((word) => word !== "");
  const name = words.shift();
  if (name === undefined || name.includes("=")) throw new UplinkConfigError(`--uplink wants NAME key=value ..., got ${JSON.stringify(text)}`);
  const raw: Record<string, string | string[]> = { name };
  for (const word of words) {
    const equals = word.indexOf("=");
    if (equals <= 0) throw new UplinkConfigError(`uplink ${name}: ${JSON.stringify(word)} is not key=value`);
    const key = word.slice(0, equals);
    const value = word.slice(equals + 1);
    const previous = raw[key];
    if (LIST_KEYS.has(key)) raw[key] = [...(Array.isArray(previous) ? previous : previous ? [previous] : []), value];
    else if (previous !== undefined) throw new UplinkConfigError(`uplink ${name}: ${key} given twice`);
    else raw[key] = value;
  }
  return raw;
}

/** The `links` of an --uplink-file. */
export function readLinkFile(path: string): Record<string, string | string[]>[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new UplinkConfigError(`--uplink-file ${path}: ${(error as Error).message}`);
  }
  const links = (parsed as { links?: unknown })?.links;
  if (!Array.isArray(links)) throw new UplinkConfigError(`--uplink-file ${path}: wants {"links": [...]}`);
  return links.map((link, index) => {
    if (typeof link !== "object" || link === null) throw new UplinkConfigError(`--uplink-file ${path}: links[${index}] is not an object`);
    const raw: Record<string, string | string[]> = {};
    for (const [key, value] of Object.entries(link)) {
      if (Array.isArray(value) && value.every((item) => typeof item === "string")) raw[key] = value;
      else if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") raw[key] = String(value);
      else throw new UplinkConfigError(`--uplink-file ${path}: links[${index}].${key} wants a string or a list of strings`);
    }
    return raw;
  });
}

export function parseUplinkConfig(
  raws: Record<string, string | string[]>[],
  edgeId: string | undefined,
  env: Record<string, string | undefined>,
): UplinkConfig {
  const links = raws.map((raw) => parseLink(raw, env));
  const names = new Set<string>();
  for (const link of links) {
    if (names.has(link.name)) throw new UplinkConfigError(`uplink ${link.name} is defined twice`);
    names.add(link.name);
  }
  const edge = edgeId ?? hostname();
  if (!/^[A-Za-z0-9._-]+$/.test(edge)) throw new UplinkConfigError(`--edge-id wants letters, digits, '.', '_' or '-', got ${JSON.stringify(edge)}`);
  return { edgeId: edge, links };
}

function parseLink(raw: Record<string, string | string[]>, env: Record<string, string | undefined>): LinkConfig {
  const name = single(raw, "name", "?");
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new UplinkConfigError(`uplink name wants letters, digits, '.', '_' or '-', got ${JSON.stringify(name)}`);
  const fail = (message: string): never => {
    throw new UplinkConfigError(`uplink ${name}: ${message}`);
  };
  for (const key of Object.keys(raw)) {
    if (key === "name") continue;
    if (key === "sasl.password") fail("sasl.password is not taken literally: use sasl.password.env=VAR or sasl.password.file=FILE");
    if (!KEYS.has(key)) fail(`unknown key ${key}`);
  }
  const get = (key: string): string | undefined => {
    const value = raw[key];
    if (Array.isArray(value)) fail(`${key} takes one value`);
    return value as string | undefined;
  };
  const list = (key: string): string[] => {
    const value = raw[key];
    return value === undefined ? [] : Array.isArray(value) ? value : [value];
  };
  const oneOf = <T extends string>(key: string, allowed: readonly T[], fallback: T): T => {
    const value = get(key) ?? fallback;
    if (!(allowed as readonly string[]).includes(value)) fail(`${key} wants ${allowed.join(" or ")}, got ${JSON.stringify(value)}`);
    return value as T;
  };
  const integer = (key: string, fallback: number, min: number): number => {
    const text = get(key);
    if (text === undefined) return fallback;
    const value = parseByteSize(text);
    if (value === null || value < min) fail(`${key} wants an integer >= ${min} (suffixes KiB, MiB, GiB allowed), got ${JSON.stringify(text)}`);
    return value!;
  };
  const boolean = (key: string, fallback: boolean): boolean => {
    const text = get(key);
    if (text === undefined) return fallback;
    if (/^(true|yes|on|1)$/i.test(text)) return true;
    if (/^(false|no|off|0)$/i.test(text)) return false;
    return fail(`${key} wants true or false, got ${JSON.stringify(text)}`);
  };
  const regex = (key: string, source: string): RegExp => {
    try {
      return new RegExp(`^(?:${source})$`);
    } catch (error) {
      return fail(`${key}: ${(error as Error).message}`);
    }
  };

  const bootstrapText = get("bootstrap.servers") ?? fail("bootstrap.servers is required");
  const bootstrapServers = bootstrapText.split(",").map((entry) => {
    const colon = entry.lastIndexOf(":");
    const port = Number(entry.slice(colon + 1));
    if (colon <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) fail(`bootstrap.servers wants HOST:PORT[,HOST:PORT], got ${JSON.stringify(entry)}`);
    return { host: entry.slice(0, colon).replace(/^\[(.*)\]$/, "$1"), port };
  });

  const securityProtocol = oneOf("security.protocol", ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] as const, "PLAINTEXT");
  const usesTls = securityProtocol === "SSL" || securityProtocol === "SASL_SSL";
  const usesSasl = securityProtocol.startsWith("SASL");
  const readPem = (key: string): string | undefined => {
    const path = get(key);
    if (path === undefined) return undefined;
    if (!usesTls) fail(`${key} needs security.protocol SSL or SASL_SSL`);
    try {
      return readFileSync(path, "utf8");
    } catch (error) {
      return fail(`${key}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  };
  const tls: LinkTls | null = usesTls
    ? {
        ca: readPem("ssl.ca.location"),
        cert: readPem("ssl.certificate.location"),
        key: readPem("ssl.key.location"),
        checkHostname: oneOf("ssl.endpoint.identification.algorithm", ["https", "none"] as const, "https") === "https",
      }
    : (readPem("ssl.ca.location"), null);
  if (tls && (tls.cert === undefined) !== (tls.key === undefined)) fail("ssl.certificate.location and ssl.key.location go together");

  let sasl: LinkConfig["sasl"] = null;
  if (usesSasl) {
    const mechanism = oneOf("sasl.mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] as const, "PLAIN");
    const username = get("sasl.username") ?? fail("sasl.username is required with SASL");
    const passwordEnv = get("sasl.password.env");
    const passwordFile = get("sasl.password.file");
    if ((passwordEnv === undefined) === (passwordFile === undefined)) fail("SASL wants exactly one of sasl.password.env and sasl.password.file");
    let password: string;
    if (passwordEnv !== undefined) {
      password = env[passwordEnv] ?? fail(`sasl.password.env: the environment variable ${passwordEnv} is not set`);
    } else {
      try {
        password = readFileSync(passwordFile!, "utf8").replace(/\r?\n$/, "");
      } catch (error) {
        return fail(`sasl.password.file: cannot read ${passwordFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
    }
    sasl = { mechanism, username, password };
  } else {
    for (const key of ["sasl.mechanism", "sasl.username", "sasl.password.env", "sasl.password.file"]) {
      if (raw[key] !== undefined) fail(`${key} needs security.protocol SASL_PLAINTEXT or SASL_SSL`);
    }
  }

  const names = list("topics").flatMap((entry) => entry.split(",")).filter((entry) => entry !== "");
  const patterns = list("topics.regex").map((source) => regex("topics.regex", source));
  const excludes = list("topics.exclude").map((source) => regex("topics.exclude", source));
  const pullTopics = list("pull.topics").flatMap((entry) => entry.split(",")).filter((entry) => entry !== "");
  if (names.length === 0 && patterns.length === 0 && pullTopics.length === 0) fail("names no topics: give topics=A,B, topics.regex=RE or pull.topics=A,B");
  for (const topic of pullTopics) {
    if (topic.startsWith("__") || topic === "_schemas") fail(`pull.topics: ${topic} is an internal topic; internal topics are never pulled`);
  }
  const pullLocalTopic = get("pull.local.topic") ?? "${topic}";
  const unknownPullVariable = /\$\{(?!topic\}|edge\}|link\})[^}]*\}/.exec(pullLocalTopic);
  if (unknownPullVariable) fail(`pull.local.topic: unknown variable ${unknownPullVariable[0]} (use \${topic}, \${edge}, \${link})`);
  if (new Set(pullTopics).size > 1 && !pullLocalTopic.includes("${topic}")) fail("pull.local.topic must contain ${topic} when several topics are pulled, or they would land in one");

  const remoteTopic = get("remote.topic") ?? "${topic}";
  const unknownVariable = /\$\{(?!topic\}|edge\}|link\})[^}]*\}/.exec(remoteTopic);
  if (unknownVariable) fail(`remote.topic: unknown variable ${unknownVariable[0]} (use \${topic}, \${edge}, \${link})`);
  if (!remoteTopic.includes("${topic}")) fail("remote.topic must contain ${topic}, or every topic would land in one");

  const provenance = oneOf("provenance", ["header", "off"] as const, "header") === "header";
  const schemaRegistryUrl = get("schema.registry.url") ?? null;
  if (schemaRegistryUrl !== null && !/^https?:\/\//.test(schemaRegistryUrl)) fail(`schema.registry.url wants http(s)://..., got ${JSON.stringify(schemaRegistryUrl)}`);

  return {
    name,
    bootstrapServers,
    securityProtocol,
    tls,
    sasl,
    topics: { names, patterns, excludes },
    remoteTopic,
    partitioning: oneOf("partitioning", ["same", "key"] as const, "same"),
    delivery: oneOf("delivery", ["auto", "exactly-once", "at-least-once"] as const, "auto"),
    bandwidthBytesPerSecond: integer("bandwidth.bytes.per.second", 0, 0),
    createRemoteTopics: boolean("create.remote.topics", false),
    remoteReplicationFactor: integer("remote.replication.factor", -1, -1),
    unforwardedBytesMax: integer("max.unforwarded.bytes", limits.uplinkUnforwardedBytesMax, 1),
    fullPolicy: oneOf("full.policy", ["reject", "drop-oldest"] as const, "reject"),
    provenance,
    schemaRegistryUrl,
    positionsTopic: get("positions.topic") ?? POSITIONS_TOPIC_DEFAULT,
    requestTimeoutMs: integer("request.timeout.ms", limits.uplinkRequestTimeoutMs, 100),
    transactionTimeoutMs: integer("transaction.timeout.ms", limits.uplinkTransactionTimeoutMs, 1_000),
    pull: { topics: [...new Set(pullTopics)], localTopic: pullLocalTopic },
  };
}

function single(raw: Record<string, string | string[]>, key: string, fallback: string): string {
  const value = raw[key];
  if (value === undefined) return fallback;
  if (Array.isArray(value)) throw new UplinkConfigError(`uplink: ${key} takes one value`);
  return value;
}

/** `1048576`, `64KiB`, `16MiB`, `1GiB` (also KB/MB/GB as powers of 1000). */
export function parseByteSize(text: string): number | null {
  const match = /^(\d+)\s*(KiB|MiB|GiB|KB|MB|GB|k|m|g)?$/i.exec(text.trim());
  if (!match) return null;
  const scale: Record<string, number> = { kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, kb: 1e3, mb: 1e6, gb: 1e9, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
  const value = Number(match[1]) * (match[2] ? scale[match[2].toLowerCase()]! : 1);
  return Number.isSafeInteger(value) ? value : null;
}

/** Whether a link forwards this local topic: named or matched, not excluded, never internal. */
export function linkForwards(link: LinkConfig, topic: string, isInternal: boolean): boolean {
  if (isInternal || topic.startsWith("__") || topic === "_schemas") return false;
  if (link.topics.excludes.some((pattern) => pattern.test(topic))) return false;
  return link.topics.names.includes(topic) || link.topics.patterns.some((pattern) => pattern.test(topic));
}

export function remoteTopicName(link: LinkConfig, edgeId: string, topic: string): string {
  return link.remoteTopic.replaceAll("${topic}", topic).replaceAll("${edge}", edgeId).replaceAll("${link}", link.name);
}

/** The local topic a pulled remote topic is copied into. */
export function pullLocalTopicName(link: LinkConfig, edgeId: string, remoteTopic: string): string {
  return link.pull.localTopic.replaceAll("${topic}", remoteTopic).replaceAll("${edge}", edgeId).replaceAll("${link}", link.name);
}
