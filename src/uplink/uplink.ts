// The uplink: the links of one gateway, and what they ask of the rest of it. Its interface to the broker is small:
// - every forwarded partition's log gets a retention floor (the lowest position over the links that forward it);
// - Produce asks `admit` before appending to a forwarded partition (the full policy);
// - status() for `/uplinks`, `kgate status` and the metrics below.
// Links that name pull.topics also copy central topics into local ones (src/uplink/downlink.ts), in a loop of their own;
// a link with only pull.topics forwards nothing and has no forwarding session.

import type { Broker } from "../broker.ts";
import type { PartitionLog } from "../log/partition-log.ts";
import { uuidToString } from "../metadata/uuid.ts";
import type { Labels } from "../metrics/metrics.ts";
import { linkForwards, pullLocalTopicName, type UplinkConfig } from "./link-config.ts";
import { log } from "../util/logger.ts";
import { UplinkLink, type LinkState, type LinkStatus } from "./link.ts";
import { Downlink, type PullStatus } from "./downlink.ts";
import type { SchemaStore } from "../registry/store.ts";

const LINK_STATES: readonly LinkState[] = ["starting", "connected", "backing-off", "fenced", "stopped"];
/** How often new topics and partitions get their retention floor (a new log has nothing retention could delete yet). */
const FLOOR_ATTACH_INTERVAL_MS = 1_000;

export class Uplink {
  readonly links: UplinkLink[];
  /** One per link with pull.topics. */
  readonly pulls: Downlink[];
  private readonly floorTimer: ReturnType<typeof setInterval>;
  /** kgate's own registry, set once it has started (it starts after the links). */
  schemaStore: SchemaStore | null = null;

  constructor(
    readonly config: UplinkConfig,
    private readonly broker: Broker,
  ) {
    this.links = config.links.filter((link) => link.topics.names.length > 0 || link.topics.patterns.length > 0).map((link) => new UplinkLink(link, config.edgeId, broker, () => this.schemaStore));
    this.attachFloors();
    this.floorTimer = setInterval(() => this.attachFloors(), FLOOR_ATTACH_INTERVAL_MS);
    this.floorTimer.unref();
    broker.produceAdmission = (topic, partition, log) => {
      for (const link of this.links) {
        const refusal = link.admit(topic, partition, log);
        if (refusal) return refusal;
      }
      return null;
    };
    this.pulls = config.links.filter((link) => link.pull.topics.length > 0).map((link) => new Downlink(link, config.edgeId, broker));
    // A pulled copy in a forwarded topic goes back to the central cluster once (the pull's guard stops it there).
    for (const pulling of config.links) {
      for (const remoteTopic of pulling.pull.topics) {
        const local = pullLocalTopicName(pulling, config.edgeId, remoteTopic);
        const forwarding = config.links.find((link) => linkForwards(link, local, false));
        if (forwarding) log.warn("uplink: a pulled topic is also forwarded; its pulled records go back to the central cluster once", { pull: pulling.name, remoteTopic, localTopic: local, forwardedBy: forwarding.name });
      }
    }
    this.registerMetrics();
    for (const link of this.links) link.start();
    for (const pull of this.pulls) pull.start();
  }

  status(): { edgeId: string; links: LinkStatus[]; pulls: PullStatus[] } {
    return { edgeId: this.config.edgeId, links: this.links.map((link) => link.status()), pulls: this.pulls.map((pull) => pull.status()) };
  }

  async stop(): Promise<void> {
    clearInterval(this.floorTimer);
    this.broker.produceAdmission = null;
    await Promise.all([...this.links.map((link) => link.stop()), ...this.pulls.map((pull) => pull.stop())]);
  }

  /** Sets the retention floor of every forwarded partition's log (idempotent). */
  private attachFloors(): void {
    for (const topic of this.broker.topics.list()) {
      const topicId = uuidToString(topic.topicId);
      topic.partitions.forEach((log: PartitionLog, partition) => {
        if (log.retentionFloor) return;
        if (!this.links.some((link) => link.retentionFloor(topic.name, partition, topicId, topic.isInternal) !== null)) return;
        log.retentionFloor = () => {
          let floor: number | null = null;
          for (const link of this.links) {
            const linkFloor = link.retentionFloor(topic.name, partition, topicId, topic.isInternal);
            if (linkFloor !== null) floor = floor === null ? linkFloor : Math.min(floor, linkFloor);
          }
          return floor;
        };
      });
    }
  }

  private registerMetrics(): void {
    const { registry } = this.broker.metrics;
    // One status per scrape: each gauge below reads the same snapshot.
    let snapshot: { atMs: number; links: LinkStatus[] } = { atMs: 0, links: [] };
    const links = () => {
      const nowMs = Date.now();
      if (nowMs - snapshot.atMs > 100) snapshot = { atMs: nowMs, links: this.links.map((link) => link.status()) };
      return snapshot.links;
    };
    const perPartition = (read: (partition: LinkStatus["partitions"][number]) => number) =>
      function* () {
        for (const link of links()) for (const partition of link.partitions) yield [{ link: link.name, topic: partition.topic, partition: partition.partition }, read(partition)] as [Labels, number];
      };
    registry.collected("kgate_uplink_state", "1 for the link's current state (starting, connected, backing-off, fenced, stopped).", function* () {
      for (const link of links()) for (const state of LINK_STATES) yield [{ link: link.name, state }, link.state === state ? 1 : 0] as [Labels, number];
    });
    registry.collected("kgate_uplink_forwarded_offset", "The next local offset the link forwards (everything below is on the central cluster).", perPartition((partition) => partition.forwardedOffset));
    registry.collected("kgate_uplink_lag_records", "Records of the partition not forwarded yet.", perPartition((partition) => partition.lagRecords));
    registry.collected("kgate_uplink_lag_bytes", "Bytes of the partition not forwarded yet.", perPartition((partition) => partition.lagBytes));
    registry.collected("kgate_uplink_lag_seconds", "Age of the oldest record not forwarded yet.", perPartition((partition) => partition.lagSeconds));
    let pullSnapshot: { atMs: number; pulls: PullStatus[] } = { atMs: 0, pulls: [] };
    const pulls = () => {
      const nowMs = Date.now();
      if (nowMs - pullSnapshot.atMs > 100) pullSnapshot = { atMs: nowMs, pulls: this.pulls.map((pull) => pull.status()) };
      return pullSnapshot.pulls;
    };
    registry.collected("kgate_uplink_pull_state", "1 for the pull's current state (starting, connected, backing-off, stopped), per link with pull.topics.", function* () {
      for (const pull of pulls()) for (const state of LINK_STATES) if (state !== "fenced") yield [{ link: pull.name, state }, pull.state === state ? 1 : 0] as [Labels, number];
    });
    registry.collected("kgate_uplink_pull_lag_records", "Committed records of a pulled central partition not copied into the local topic yet (as of the last Fetch).", function* () {
      for (const pull of pulls()) {
        for (const partition of pull.partitions) yield [{ link: pull.name, topic: partition.remoteTopic, partition: partition.partition, local_topic: partition.localTopic }, partition.lagRecords] as [Labels, number];
      }
    });
    registry.collected("kgate_uplink_throughput_bytes_per_second", "Bytes per second the link forwarded over its last second of rounds.", function* () {
      for (const link of links()) yield [{ link: link.name }, link.throughputBytesPerSecond] as [Labels, number];
    });
  }
}
