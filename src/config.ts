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
  /** Longest Fetch long poll the broker honours, whatever the client asks. */
  fetchMaxWaitMsMax: 30_000,
  /** Response bytes buffered for a slow reader before the connection stops reading requests. */
  pendingWriteBytesMax: 64 * MiB,
  /** Responses up to this size are copied into one buffer so they leave in one write. */
  coalesceWriteBytesMax: 256 * KiB,
  /** Partitions one CreateTopics/auto-create may make. */
  partitionsPerTopicMax: 10_000,
} as const;

export interface Config {
  listenHost: string;
  listenPort: number;
  advertisedHost: string;
  advertisedPort: number;
  /** Folder of the file-segment log, or null for the in-memory log. */
  dataDir: string | null;
  nodeId: number;
  clusterId: string;
  autoCreateTopics: boolean;
  defaultPartitions: number;
  logLevel: LogLevel;
}

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
  { flag: "--data", env: "KGATE_DATA", value: "DIR", help: "folder of the file-segment log", defaultText: "./data (in-memory until the durable log lands)" },
  { flag: "--memory", env: "KGATE_MEMORY", help: "keep the log in memory only (lost on exit)", defaultText: "off" },
  { flag: "--node-id", env: "KGATE_NODE_ID", value: "N", help: "broker id reported in Metadata", defaultText: "1" },
  { flag: "--cluster-id", env: "KGATE_CLUSTER_ID", value: "ID", help: "cluster id reported in Metadata", defaultText: "kgate-cluster" },
  { flag: "--auto-create-topics", env: "KGATE_AUTO_CREATE_TOPICS", value: "true|false", help: "create unknown topics on Metadata and Produce", defaultText: "true" },
  { flag: "--default-partitions", env: "KGATE_DEFAULT_PARTITIONS", value: "N", help: "partitions of auto-created topics", defaultText: "1" },
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
    nodeId: parseInteger(given.get("--node-id") ?? "1", "--node-id", 0, 2 ** 31 - 1),
    clusterId: given.get("--cluster-id") ?? "kgate-cluster",
    autoCreateTopics: parseBoolean(given.get("--auto-create-topics") ?? "true", "--auto-create-topics"),
    defaultPartitions: parseInteger(given.get("--default-partitions") ?? "1", "--default-partitions", 1, limits.partitionsPerTopicMax),
    logLevel: logLevel as LogLevel,
  };
}
