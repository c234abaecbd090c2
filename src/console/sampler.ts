// The console's live numbers: one sampler, many subscribers. While at least one browser watches, the sampler reads
// the gateway once per interval (the cluster status through the in-process client, the throughput counters, request
// latency, connections, disk) and hands every subscriber the same serialized event; with nobody watching it stops.
// (It lingers a few seconds after the last one leaves, so a browser moving between pages keeps its rates.)
// A compact history of the plotted numbers is kept so that a page opened later draws the last minutes at once.

import { statfsSync } from "node:fs";
import type { Broker } from "../broker.ts";
import { limits } from "../config.ts";
import { log } from "../util/logger.ts";
import { collectStatus, type ClusterStatus, type StatusClient } from "../status/cluster-status.ts";

/** The plotted numbers of one interval (per second), kept in the history. */
export interface Sample {
  atMs: number;
  produceRecordsPerSecond: number;
  produceBytesPerSecond: number;
  fetchRecordsPerSecond: number;
  fetchBytesPerSecond: number;
  /** Mean Produce latency over the interval, null without Produce requests. */
  produceLatencyMs: number | null;
  /** Mean latency of the other requests, except those that wait on purpose (Fetch, JoinGroup, SyncGroup). */
  requestLatencyMs: number | null;
  /** Total lag of each group. */
  groupLag: Record<string, number>;
}

/** The latest state (tables), sent with each sample but not kept. */
export interface ConsoleState {
  version: string;
  uptimeSeconds: number;
  connections: { listener: string; count: number }[];
  logBytes: number;
  /** Free bytes of the data folder's file system; null on the memory log. */
  diskFreeBytes: number | null;
  dataDir: string | null;
  status: ClusterStatus;
  /** Records per second appended to each partition ("topic\u0000partition"). */
  partitionRecordsPerSecond: Record<string, number>;
  /** The configs set on each topic (not the defaults), as DescribeConfigs reports them as the topic's. */
  topicConfigs: Record<string, Record<string, string>>;
}

export interface SamplerSources {
  broker: Broker;
  version: string;
  startedAtMs: number;
  listeners: () => readonly string[];
  /** Reads as a principal that sees every topic and group (the console's access is the HTTP listener's). */
  client: StatusClient;
  /** Default limits.consoleSamplerLingerMs. */
  lingerMs?: number;
}

type Subscriber = (event: Uint8Array) => void;

interface Counters {
  atMs: number;
  producedRecords: number;
  producedBytes: number;
  fetchedRecords: number;
  fetchedBytes: number;
  produceLatency: { sum: number; count: number };
  otherLatency: { sum: number; count: number };
  endOffsets: Map<string, number>;
}

const encoder = new TextEncoder();
/** Left out of "other requests": Produce has its own line; these wait on purpose (long polls, rebalances). */
const WAITING_APIS = new Set(['api="Produce"', 'api="Fetch"', 'api="JoinGroup"', 'api="SyncGroup"', 'api="ConsumerGroupHeartbeat"']);

export class Sampler {
  private readonly subscribers = new Set<Subscriber>();
  private readonly history: Sample[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  /** Stops the sampling a while after the last subscriber left (limits.consoleSamplerLingerMs). */
  private lingerTimer: ReturnType<typeof setTimeout> | null = null;
  private previous: Counters | null = null;
  private latest: ConsoleState | null = null;
  private sampling = false;
  /** Samples taken since start (tests and the CPU measurement read it). */
  samplesTaken = 0;

  constructor(private readonly sources: SamplerSources) {}

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /**
   * Adds a subscriber: it gets the history at once, then one event per interval. Returns the unsubscribe function,
   * or null when limits.consoleSubscribersMax browsers already watch.
   */
  subscribe(subscriber: Subscriber): (() => void) | null {
    if (this.subscribers.size >= limits.consoleSubscribersMax) return null;
    if (this.lingerTimer !== null) clearTimeout(this.lingerTimer);
    this.lingerTimer = null;
    this.subscribers.add(subscriber);
    subscriber(encoder.encode(`event: history\ndata: ${JSON.stringify(this.history)}\n\n`));
    if (this.latest) subscriber(encoder.encode(`event: sample\ndata: ${JSON.stringify({ sample: null, state: this.latest })}\n\n`));
    if (this.timer === null) {
      this.previous = null;
      this.timer = setInterval(() => void this.tick(), limits.consoleSampleIntervalMs);
      this.timer.unref();
      void this.tick();
    }
    return () => {
      if (!this.subscribers.delete(subscriber) || this.subscribers.size > 0) return;
      if (this.lingerTimer !== null) clearTimeout(this.lingerTimer);
      this.lingerTimer = setTimeout(() => this.stop(), this.sources.lingerMs ?? limits.consoleSamplerLingerMs);
      this.lingerTimer.unref();
    };
  }

  /** The latest sampled state while browsers watch, else (or when `fresh`) one read now. */
  async state(fresh = false): Promise<ConsoleState> {
    if (!fresh && this.latest && this.timer !== null) return this.latest;
    return this.readState(new Map());
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    if (this.lingerTimer !== null) clearTimeout(this.lingerTimer);
    this.timer = null;
    this.lingerTimer = null;
    for (const subscriber of [...this.subscribers]) subscriber(new Uint8Array(0));
    this.subscribers.clear();
  }

  private async tick(): Promise<void> {
    if (this.sampling || this.sources.broker.closing) return;
    this.sampling = true;
    try {
      const counters = this.readCounters();
      const state = await this.readState(this.previous?.endOffsets ?? new Map(), this.previous ? (counters.atMs - this.previous.atMs) / 1000 : 0);
      for (const partition of state.status.partitions) counters.endOffsets.set(`${partition.topic}\u0000${partition.partition}`, partition.endOffset ?? 0);
      let sample: Sample | null = null;
      if (this.previous) {
        sample = this.sampleBetween(this.previous, counters, state.status);
        this.history.push(sample);
        if (this.history.length > limits.consoleHistorySamples) this.history.splice(0, this.history.length - limits.consoleHistorySamples);
      }
      this.previous = counters;
      this.latest = state;
      this.samplesTaken++;
      const event = encoder.encode(`event: sample\ndata: ${JSON.stringify({ sample, state })}\n\n`);
      for (const subscriber of this.subscribers) subscriber(event);
    } catch (error) {
      log.warn("console: sampling failed", { error });
    } finally {
      this.sampling = false;
    }
  }

  private readCounters(): Counters {
    const { metrics } = this.sources.broker;
    return {
      atMs: Date.now(),
      producedRecords: metrics.producedRecords.get(),
      producedBytes: metrics.producedBytes.get(),
      fetchedRecords: metrics.fetchedRecords.get(),
      fetchedBytes: metrics.fetchedBytes.get(),
      produceLatency: metrics.requestLatency.totals((key) => key === 'api="Produce"'),
      otherLatency: metrics.requestLatency.totals((key) => !WAITING_APIS.has(key)),
      endOffsets: new Map(),
    };
  }

  private sampleBetween(before: Counters, after: Counters, status: ClusterStatus): Sample {
    const seconds = Math.max((after.atMs - before.atMs) / 1000, 0.001);
    const rate = (a: number, b: number) => Math.max(0, (b - a) / seconds);
    const mean = (a: { sum: number; count: number }, b: { sum: number; count: number }) => (b.count > a.count ? ((b.sum - a.sum) / (b.count - a.count)) * 1000 : null);
    const groupLag: Record<string, number> = {};
    for (const group of status.groups) groupLag[group.groupId] = group.offsets.reduce((sum, offset) => sum + (offset.lag ?? 0), 0);
    return {
      atMs: after.atMs,
      produceRecordsPerSecond: rate(before.producedRecords, after.producedRecords),
      produceBytesPerSecond: rate(before.producedBytes, after.producedBytes),
      fetchRecordsPerSecond: rate(before.fetchedRecords, after.fetchedRecords),
      fetchBytesPerSecond: rate(before.fetchedBytes, after.fetchedBytes),
      produceLatencyMs: mean(before.produceLatency, after.produceLatency),
      requestLatencyMs: mean(before.otherLatency, after.otherLatency),
      groupLag,
    };
  }

  private async readState(previousEndOffsets: Map<string, number>, seconds = 0): Promise<ConsoleState> {
    const { broker, version, startedAtMs, listeners, client } = this.sources;
    const status = await collectStatus(client);
    const partitionRecordsPerSecond: Record<string, number> = {};
    let logBytes = 0;
    for (const partition of status.partitions) {
      logBytes += partition.sizeBytes ?? 0;
      const key = `${partition.topic}\u0000${partition.partition}`;
      const before = previousEndOffsets.get(key);
      if (before !== undefined && seconds > 0 && partition.endOffset !== null) partitionRecordsPerSecond[key] = Math.max(0, (partition.endOffset - before) / seconds);
    }
    const dataDir = broker.config.dataDir;
    let diskFreeBytes: number | null = null;
    if (dataDir !== null) {
      try {
        const stats = statfsSync(dataDir);
        diskFreeBytes = Number(stats.bavail) * Number(stats.bsize);
      } catch {
        diskFreeBytes = null;
      }
    }
    const topicConfigs: Record<string, Record<string, string>> = {};
    for (const topic of broker.topics.list()) if (topic.configs.size > 0) topicConfigs[topic.name] = Object.fromEntries(topic.configs);
    return {
      topicConfigs,
      version,
      uptimeSeconds: Math.round((Date.now() - startedAtMs) / 1000),
      connections: listeners().map((listener) => ({ listener, count: broker.metrics.listenerConnections.get({ listener }) })),
      logBytes,
      diskFreeBytes,
      dataDir,
      status,
      partitionRecordsPerSecond,
    };
  }
}
