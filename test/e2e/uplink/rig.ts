// The uplink tests' rig: a central kgate in its own process and data folder behind a FaultProxy (it advertises the
// proxy's address, so every connection the edge opens to it crosses the proxy), an edge kgate in-process or as a
// process, real kafkajs clients producing at the edge and reading the central cluster with read_committed.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel, type KafkaMessage, type Producer } from "kafkajs";
import { parseConfig } from "../../../src/config.ts";
import { startServer, type KgateServer } from "../../../src/server/server.ts";
import type { LinkStatus } from "../../../src/uplink/link.ts";
import { FaultProxy } from "../../helpers/fault-proxy.ts";
import { startGatewayProcess, type GatewayProcess } from "../../helpers/gateway-process.ts";
import { waitFor } from "../../helpers/server.ts";
import { setLogLevel } from "../../../src/util/logger.ts";

export const repoRoot = join(import.meta.dir, "../../..");

export function temporaryFolder(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `kgate-${prefix}-`));
}

/**
 * A central kgate process behind a FaultProxy; restartable on the same data folder. With `listeners` (security
 * protocols, e.g. ["SASL_SSL", "PLAINTEXT"]) it gets one listener of each on 127.0.0.1: the first behind the proxy
 * (advertised as the proxy), the others direct (advertised as themselves); the TLS and SASL flags go in extraArgs.
 */
export class Central implements AsyncDisposable {
  gateway!: GatewayProcess;
  private constructor(
    readonly proxy: FaultProxy,
    readonly dataDir: string,
    private readonly extraArgs: string[],
    private readonly listeners: string[] | null,
  ) {}

  static async start(extraArgs: string[] = [], { listeners = null as string[] | null } = {}): Promise<Central> {
    const proxy = await FaultProxy.start(1);
    const central = new Central(proxy, temporaryFolder("central"), extraArgs, listeners);
    await central.restart();
    return central;
  }

  /** The direct address of the listener with this security protocol (each listener is named after its protocol). */
  listenerBootstrap(name: string): string {
    for (const match of this.gateway.output().matchAll(/kafka listener up listen=(\S+) advertised=\S+ listener=(\S+)/g)) {
      if (match[2] === name) return match[1]!;
    }
    throw new Error(`the central cluster has no ${name} listener`);
  }

  /** Through the proxy: what the edge's links are given. */
  get bootstrap(): string {
    return `127.0.0.1:${this.proxy.port}`;
  }

  async restart(): Promise<void> {
    const listen = this.listeners
      ? ["--listeners", this.listeners.map((name) => `${name}://127.0.0.1:0`).join(","), "--advertised-listeners", `${this.listeners[0]}://127.0.0.1:${this.proxy.port}`]
      : ["--listen", "127.0.0.1:0", "--advertise", `127.0.0.1:${this.proxy.port}`];
    this.gateway = await startGatewayProcess([process.execPath, "src/main.ts", "--data", this.dataDir, "--registry-listen", "off", ...listen, ...this.extraArgs], { cwd: repoRoot });
    this.proxy.setUpstream(this.gateway.port);
  }

  async stop(): Promise<void> {
    await this.gateway[Symbol.asyncDispose]();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.gateway[Symbol.asyncDispose]();
    await this.proxy[Symbol.asyncDispose]();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export interface Edge extends KgateServer, AsyncDisposable {
  readonly bootstrap: string;
  readonly dataDir: string;
  links(): LinkStatus[];
}

/**
 * An in-process edge gateway on the file log with the given uplink flags (`--uplink ...` values); `env` is the
 * environment its configuration reads (sasl.password.env), later flags in extraArgs win over the defaults here.
 */
export async function startEdge(
  uplinks: string[],
  { dataDir = temporaryFolder("edge"), extraArgs = [] as string[], env = {} as Record<string, string> } = {},
): Promise<Edge> {
  setLogLevel((process.env.KGATE_TEST_LOG_LEVEL as "debug" | undefined) ?? "error");
  const argv = ["--listen", "127.0.0.1:0", "--data", dataDir, "--registry-listen", "off", "--edge-id", "edge1", ...extraArgs];
  for (const uplink of uplinks) argv.push("--uplink", uplink);
  const server = startServer(parseConfig(argv, env)!);
  return Object.assign(server, {
    bootstrap: `127.0.0.1:${server.port}`,
    dataDir,
    links: () => server.uplink!.status().links,
    async [Symbol.asyncDispose]() {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

export function kafkaAt(bootstrap: string, clientId = "uplink-test"): Kafka {
  return new Kafka({ clientId, brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1_000 }, requestTimeout: 10_000 });
}

export async function createTopic(bootstrap: string, topic: string, numPartitions: number, configEntries: { name: string; value: string }[] = []): Promise<void> {
  const admin = kafkaAt(bootstrap).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions, configEntries }], waitForLeaders: true });
  await admin.disconnect();
}

/**
 * A producer sending `batchSize` records per send (value `${tag}-${n}`, alternating partitions by key) until stopped;
 * `acknowledged` holds the values whose send succeeded.
 */
export class ProduceLoop {
  readonly acknowledged: string[] = [];
  private running = true;
  private readonly done: Promise<void>;
  private producer: Producer;

  constructor(
    bootstrap: string,
    topic: string,
    { partitions = 2, batchSize = 20, pauseMs = 5, tag = "r", maxSends = 100_000, firstSequence = 0 } = {},
  ) {
    const producer = kafkaAt(bootstrap, "uplink-producer").producer({ allowAutoTopicCreation: false });
    this.producer = producer;
    // Values' numbers only grow, also across loops given increasing firstSequence: the order checks compare them.
    let sequence = firstSequence;
    this.done = (async () => {
      await producer.connect();
      for (let send = 0; this.running && send < maxSends; send++) {
        const messages = Array.from({ length: batchSize }, () => {
          const n = sequence++;
          return { partition: n % partitions, key: `k${n % partitions}`, value: `${tag}-${n}` };
        });
        try {
          await producer.send({ topic, acks: -1, messages });
          for (const message of messages) this.acknowledged.push(message.value);
        } catch {
          // Not acknowledged: may or may not be stored; the checks only require acknowledged records.
        }
        if (pauseMs > 0) await Bun.sleep(pauseMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
    await this.producer.disconnect();
  }
}

export interface CentralRecord {
  partition: number;
  offset: number;
  value: string;
  origin: string | null;
}

/** Every committed record of `topic` on the central cluster (read_committed), once `expected` arrived and 500 ms passed without more. */
export async function readCentral(bootstrap: string, topic: string, expected: number, timeoutMs = 60_000): Promise<CentralRecord[]> {
  return (await readMessages(bootstrap, topic, expected, timeoutMs)).map(({ partition, message }) => ({
    partition,
    offset: Number(message.offset),
    value: message.value!.toString(),
    origin: message.headers?.["kgate-origin"]?.toString() ?? null,
  }));
}

/** Like readCentral, with kafkajs's messages as they came (keys, headers, timestamps); also reads an edge's topics. */
export async function readMessages(bootstrap: string, topic: string, expected: number, timeoutMs = 60_000): Promise<{ partition: number; message: KafkaMessage }[]> {
  const consumer = kafkaAt(bootstrap, "uplink-reader").consumer({ groupId: `reader-${Math.random()}`, readUncommitted: false, maxWaitTimeInMs: 100 });
  const seen: { partition: number; message: KafkaMessage }[] = [];
  let lastAt = Date.now();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }: { partition: number; message: KafkaMessage }) => {
      seen.push({ partition, message });
      lastAt = Date.now();
    },
  });
  await waitFor(() => seen.length >= expected && Date.now() - lastAt > 500, { timeoutMs }).catch(() => {});
  await consumer.disconnect();
  return seen;
}

/** Waits until every link is connected and has forwarded everything up to each partition's end. */
export async function waitForwarded(links: () => LinkStatus[], timeoutMs = 60_000): Promise<void> {
  await waitFor(() => links().every((link) => link.state === "connected" && link.partitions.length > 0 && link.partitions.every((partition) => partition.lagRecords === 0)), { timeoutMs, intervalMs: 50 });
}

/** Checks that `acknowledged` values each arrived exactly once and that every partition's values are in produce order. */
export function exactlyOnceInOrder(acknowledged: string[], records: CentralRecord[]): { missing: string[]; duplicated: string[]; outOfOrder: string[] } {
  const counts = new Map<string, number>();
  for (const record of records) counts.set(record.value, (counts.get(record.value) ?? 0) + 1);
  const missing = acknowledged.filter((value) => !counts.has(value));
  const duplicated = [...counts].filter(([, count]) => count > 1).map(([value]) => value);
  const outOfOrder: string[] = [];
  const lastByPartition = new Map<number, number>();
  for (const record of [...records].sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
    const n = Number(record.value.slice(record.value.lastIndexOf("-") + 1));
    const last = lastByPartition.get(record.partition) ?? -1;
    if (n <= last) outOfOrder.push(record.value);
    lastByPartition.set(record.partition, n);
  }
  return { missing, duplicated, outOfOrder };
}

/**
 * The edge's own service, whatever its links are doing: `count` records a kafkajs producer sends to `topic` come back
 * to a kafkajs consumer (a group of its own, from the beginning). Returns how many of them it read back.
 */
export async function localRoundTrip(bootstrap: string, topic: string, tag: string, count = 10, timeoutMs = 20_000): Promise<number> {
  const kafka = kafkaAt(bootstrap, "local-check");
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const values = Array.from({ length: count }, (_, n) => `${tag}-${n}`);
  await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value })) });
  await producer.disconnect();
  const wanted = new Set(values);
  const consumer = kafka.consumer({ groupId: `local-check-${Math.random()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let found = 0;
  await consumer.run({
    eachMessage: async ({ message }: { message: KafkaMessage }) => {
      if (wanted.delete(message.value?.toString() ?? "")) found++;
    },
  });
  await waitFor(() => wanted.size === 0, { timeoutMs }).catch(() => {});
  await consumer.disconnect();
  return found;
}

/**
 * Waits until the edge's first link is backing off with an error (containing `expected`, when given: on a loaded
 * machine an earlier attempt may fail otherwise first, e.g. a coordinator still loading), and returns the error.
 */
export async function backingOff(edge: Edge, timeoutMs = 15_000, expected?: string): Promise<string> {
  const error = () => edge.links()[0]!.lastError;
  await waitFor(() => edge.links()[0]!.state === "backing-off" && error() !== null && (expected === undefined || error()!.includes(expected)), { timeoutMs, intervalMs: 20 });
  return error()!;
}
