// A scrape of /metrics after a known workload, on the file log: kafkajs produces 25 + 10 records in two Produce
// requests, a group consumes and commits, 5 more records arrive; the scrape must show those exact offsets, the lag
// they imply, the request counts, fsync latencies, connections by listener and process memory.

import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { RawClient } from "../../helpers/raw-client.ts";
import { startTestServer, waitFor } from "../../helpers/server.ts";

function value(text: string, series: string): number {
  const line = text.split("\n").find((candidate) => candidate.startsWith(series + " "));
  if (line === undefined) throw new Error(`no series ${series} in:\n${text}`);
  return Number(line.slice(series.length + 1));
}

test("a scrape after a known workload shows its offsets, sizes, lag and counts", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "kgate-metrics-"));
  try {
    await using server = await startTestServer({ dataDir, registryListen: { host: "127.0.0.1", port: 0 } });
    const scrape = async () => await (await fetch(`http://127.0.0.1:${server.registry!.server.port}/metrics`)).text();
    const kafka = new Kafka({ clientId: "metrics-workload", brokers: [server.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "metered", numPartitions: 2 }] });
    await admin.disconnect();

    const producer = kafka.producer();
    await producer.connect();
    const messages = (partition: number, count: number, tag: string) => Array.from({ length: count }, (_, i) => ({ partition, value: `${tag}-${i}` }));
    await producer.send({ topic: "metered", messages: [...messages(0, 20, "a"), ...messages(1, 10, "b")] });

    const consumer = kafka.consumer({ groupId: "metered-group", sessionTimeout: 10_000, heartbeatInterval: 1_000 });
    await consumer.connect();
    await consumer.subscribe({ topic: "metered", fromBeginning: true });
    const seen = new Map<number, number>();
    await consumer.run({ autoCommit: false, eachMessage: async ({ partition, message }) => void seen.set(partition, Number(message.offset) + 1) });
    await waitFor(() => seen.get(0) === 20 && seen.get(1) === 10, { timeoutMs: 20_000 });
    await consumer.commitOffsets([{ topic: "metered", partition: 0, offset: "20" }, { topic: "metered", partition: 1, offset: "10" }]);
    await consumer.disconnect();

    await producer.send({ topic: "metered", messages: messages(0, 5, "c") });
    await producer.disconnect();

    const raw = await RawClient.connect(server.port);
    await raw.call(18, 3, {});
    await waitFor(() => server.connectionCount === 1);
    const text = await scrape();

    expect(value(text, 'kgate_log_end_offset{topic="metered",partition="0"}')).toBe(25);
    expect(value(text, 'kgate_log_end_offset{topic="metered",partition="1"}')).toBe(10);
    expect(value(text, 'kgate_log_start_offset{topic="metered",partition="0"}')).toBe(0);
    expect(value(text, 'kgate_log_start_offset{topic="metered",partition="1"}')).toBe(0);
    const size0 = value(text, 'kgate_log_size_bytes{topic="metered",partition="0"}');
    const size1 = value(text, 'kgate_log_size_bytes{topic="metered",partition="1"}');
    // Two batches (20 and 5 records) against one of 10: each a 61-byte header plus ~10 bytes a record.
    expect(size1).toBeGreaterThan(61 + 10 * 8);
    expect(size0).toBeGreaterThan(2 * 61 + 25 * 8);
    expect(size0).toBe(server.broker.topics.get("metered")!.partitions[0]!.sizeBytes);

    expect(value(text, 'kgate_consumer_group_committed_offset{group="metered-group",topic="metered",partition="0"}')).toBe(20);
    expect(value(text, 'kgate_consumer_group_committed_offset{group="metered-group",topic="metered",partition="1"}')).toBe(10);
    expect(value(text, 'kgate_consumer_group_lag{group="metered-group",topic="metered",partition="0"}')).toBe(5);
    expect(value(text, 'kgate_consumer_group_lag{group="metered-group",topic="metered",partition="1"}')).toBe(0);

    expect(value(text, 'kgate_requests_total{api="Produce",version="7"}')).toBe(2);
    expect(value(text, 'kgate_requests_total{api="OffsetCommit",version="5"}')).toBe(1);
    // acks=all on --flush always: each Produce and the commit waited for an fdatasync.
    expect(value(text, "kgate_log_fsync_duration_seconds_count")).toBeGreaterThanOrEqual(3);
    expect(value(text, 'kgate_listener_connections{listener="PLAINTEXT"}')).toBe(1);
    expect(value(text, 'kgate_process_memory_bytes{kind="rss"}')).toBeGreaterThan(10 * 2 ** 20);
    expect(value(text, 'kgate_limit{limit="connectionsMax"}')).toBe(10_000);
    raw.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 40_000);
