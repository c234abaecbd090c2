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

/** A central kgate process behind a FaultProxy; restartable on the same data folder. */
export class Central implements AsyncDisposable {
  gateway!: GatewayProcess;
  private constructor(
    readonly proxy: FaultProxy,
    readonly dataDir: string,
    private readonly extraArgs: string[],
  ) {}

  static async start(extraArgs: string[] = []): Promise<Central> {
    const proxy = await FaultProxy.start(1);
    const central = new Central(proxy, temporaryFolder("central"), extraArgs);
    await central.restart();
    return central;
  }

  /** Through the proxy: what the edge's links are given. */
  get bootstrap(): string {
    return `127.0.0.1:${this.proxy.port}`;
  }

  async restart(): Promise<void> {
    this.gateway = await startGatewayProcess(
      [process.execPath, "src/main.ts", "--data", this.dataDir, "--registry-listen", "off", "--listen", "127.0.0.1:0", "--advertise", `127.0.0.1:${this.proxy.port}`, ...this.extraArgs],
      { cwd: repoRoot },
    );
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

/** An in-process edge gateway on the file log with the given uplink flags (`--uplink ...` values). */
export async function startEdge(uplinks: string[], { dataDir = temporaryFolder("edge"), extraArgs = [] as string[] } = {}): Promise<Edge> {
  setLogLevel((process.env.KGATE_TEST_LOG_LEVEL as "debug" | undefined) ?? "error");
  const argv = ["--listen", "127.0.0.1:0", "--data", dataDir, "--registry-listen", "off", "--edge-id", "edge1", ...extraArgs];
  for (const uplink of uplinks) argv.push("--uplink", uplink);
  const server = startServer(parseConfig(argv, {})!);
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
  const consumer = kafkaAt(bootstrap, "uplink-reader").consumer({ groupId: `reader-${Math.random()}`, readUncommitted: false, maxWaitTimeInMs: 100 });
  const seen: CentralRecord[] = [];
  let lastAt = Date.now();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }: { partition: number; message: KafkaMessage }) => {
      seen.push({ partition, offset: Number(message.offset), value: message.value!.toString(), origin: message.headers?.["kgate-origin"]?.toString() ?? null });
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
