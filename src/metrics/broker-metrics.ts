// Metrics read from the broker's state at scrape time: each partition's offsets and size, each consumer group's
// members (classic and KIP-848 groups alike), committed offsets and lag, and process memory. Nothing here runs on the request path.

import type { Broker } from "../broker.ts";
import type { PartitionLog } from "../log/partition-log.ts";
import type { Labels } from "./metrics.ts";

export function registerBrokerMetrics(broker: Broker): void {
  const { metrics } = broker;
  const { registry } = metrics;
  const partitions = function* (read: (log: PartitionLog) => number) {
    for (const topic of broker.topics.list()) {
      for (const [partition, log] of topic.partitions.entries()) yield [{ topic: topic.name, partition }, read(log)] as [Labels, number];
    }
  };
  registry.collected("kgate_log_end_offset", "Offset the next record appended to the partition gets.", () => partitions((log) => log.logEndOffset));
  registry.collected("kgate_log_start_offset", "First offset retained in the partition.", () => partitions((log) => log.logStartOffset));
  registry.collected("kgate_log_size_bytes", "Bytes of record batches retained in the partition.", () => partitions((log) => log.sizeBytes));

  // Lag as Kafka's tools compute it: log end (high watermark) minus the committed offset, for committed partitions.
  const committed = () => {
    const rows: { labels: Labels; committed: number; lag: number }[] = [];
    if (broker.closing) return rows;
    const groups = broker.groups;
    for (const { groupId } of groups.listGroups([])) {
      for (const { topic, partitions } of groups.fetchOffsets(groupId, null)) {
        for (const { partition, offset } of partitions) {
          const log = broker.topics.get(topic)?.partitions[partition];
          if (!log || offset < 0) continue;
          rows.push({ labels: { group: groupId, topic, partition }, committed: offset, lag: Math.max(0, log.highWatermark - offset) });
        }
      }
    }
    return rows;
  };
  registry.collected("kgate_consumer_group_members", "Members of the group; type is classic or consumer (KIP-848).", () =>
    broker.closing ? [] : broker.groups.listGroups([]).map((group) => [{ group: group.groupId, type: group.groupType, state: group.state }, group.members] as [Labels, number]),
  );
  registry.collected("kgate_consumer_group_committed_offset", "Offset committed by the group for the partition.", () => committed().map((row) => [row.labels, row.committed]));
  registry.collected("kgate_consumer_group_lag", "Records between the group's committed offset and the partition's end.", () => committed().map((row) => [row.labels, row.lag]));

  for (const kind of ["rss", "heapUsed", "heapTotal", "external", "arrayBuffers"] as const) {
    metrics.memory.collect(() => process.memoryUsage()[kind], { kind });
  }
  if (broker.fileLogs) broker.fileLogs.syncObserver = (seconds) => metrics.fsyncLatency.observe(seconds);
}
