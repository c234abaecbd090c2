// `kgate status` against a test server with a known workload: the topic table (offsets from ListOffsets, sizes from
// DescribeLogDirs) and the group table (state and members from DescribeGroups, or ConsumerGroupDescribe for KIP-848
// groups; lag from OffsetFetch), printed by the real CLI entry (`bun src/main.ts status`) as well as collected in-process.

import { expect, test } from "bun:test";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { KafkaClient } from "../../../src/cli/kafka-client.ts";
import { collectStatus, formatBytes } from "../../../src/cli/status.ts";
import { RawClient } from "../../helpers/raw-client.ts";
import { startTestServer, waitFor } from "../../helpers/server.ts";

const repoRoot = join(import.meta.dir, "../../..");

test("kgate status prints topics, offsets, sizes, groups and lag of a running gateway", async () => {
  await using server = await startTestServer();
  const kafka = new Kafka({ clientId: "status-workload", brokers: [server.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: "orders", numPartitions: 2 }, { topic: "empty", numPartitions: 1 }] });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic: "orders",
    messages: [...Array.from({ length: 12 }, (_, i) => ({ partition: 0, value: `order-${i}` })), ...Array.from({ length: 4 }, (_, i) => ({ partition: 1, value: `late-${i}` }))],
  });
  await producer.disconnect();
  // DeleteRecords moves partition 1's start to 1, so START is not always 0.
  const raw = await RawClient.connect(server.port);
  const deleted = await raw.call(21, 2, { topics: [{ name: "orders", partitions: [{ partitionIndex: 1, offset: 1n }] }], timeoutMs: 1000 });
  expect(deleted.topics[0].partitions[0].errorCode).toBe(0);
  // A group that committed 10 of partition 0 and 4 of partition 1, with no members left.
  const commit = await raw.call(8, 2, {
    groupId: "billing",
    generationIdOrMemberEpoch: -1,
    memberId: "",
    retentionTimeMs: -1n,
    topics: [{ name: "orders", partitions: [{ partitionIndex: 0, committedOffset: 10n, committedMetadata: "" }, { partitionIndex: 1, committedOffset: 4n, committedMetadata: "" }] }],
  });
  expect(commit.topics[0].partitions.map((p: { errorCode: number }) => p.errorCode)).toEqual([0, 0]);
  raw.close();

  const client = await KafkaClient.connect("127.0.0.1", server.port);
  const status = await collectStatus(client);
  client.close();
  const orders = status.partitions.filter((p) => p.topic === "orders");
  expect(orders.map(({ partition, startOffset, endOffset }) => ({ partition, startOffset, endOffset }))).toEqual([
    { partition: 0, startOffset: 0, endOffset: 12 },
    { partition: 1, startOffset: 1, endOffset: 4 },
  ]);
  expect(orders[0]!.sizeBytes).toBe(server.broker.topics.get("orders")!.partitions[0]!.sizeBytes);
  expect(orders[0]!.sizeBytes).toBeGreaterThan(0);
  expect(status.partitions.find((p) => p.topic === "empty")).toMatchObject({ startOffset: 0, endOffset: 0, sizeBytes: 0 });
  expect(status.groups).toEqual([
    {
      groupId: "billing",
      state: "Empty",
      protocolType: "",
      groupType: "classic",
      members: 0,
      offsets: [
        { topic: "orders", partition: 0, committed: 10, endOffset: 12, lag: 2 },
        { topic: "orders", partition: 1, committed: 4, endOffset: 4, lag: 0 },
      ],
    },
  ]);

  // The CLI itself, as an operator runs it.
  const child = Bun.spawn([process.execPath, "src/main.ts", "status", "--bootstrap", server.bootstrap], { cwd: repoRoot, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  expect(stderr).toBe("");
  expect(code).toBe(0);
  const lines = stdout.split("\n");
  expect(lines[0]).toBe(`cluster kgate-cluster  brokers 1@127.0.0.1:${server.port}`);
  const size0 = formatBytes(orders[0]!.sizeBytes!);
  expect(lines).toContain(`TOPIC   PARTITION  START  END  RECORDS  ${"SIZE".padEnd(Math.max(4, size0.length))}`.trimEnd());
  expect(stdout).toMatch(new RegExp(`^orders\\s+0\\s+0\\s+12\\s+12\\s+${size0.replace(".", "\\.")}$`, "m"));
  expect(stdout).toMatch(/^orders\s+1\s+1\s+4\s+3\s+\S+ \S+$/m);
  expect(stdout).toMatch(/^empty\s+0\s+0\s+0\s+0\s+0 B$/m);
  expect(stdout).toMatch(/^GROUP\s+STATE\s+MEMBERS\s+TOPIC\s+PARTITION\s+COMMITTED\s+END\s+LAG$/m);
  expect(stdout).toMatch(/^billing\s+Empty\s+0\s+orders\s+0\s+10\s+12\s+2$/m);
  expect(stdout).toMatch(/^billing\s+Empty\s+0\s+orders\s+1\s+4\s+4\s+0$/m);
  expect(stdout).toContain("total lag 2");
}, 30_000);

test("kgate status shows live groups' members, classic and KIP-848, and exits 1 when nothing listens", async () => {
  await using server = await startTestServer();
  const kafka = new Kafka({ clientId: "status-live", brokers: [server.bootstrap], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: "live-group", sessionTimeout: 10_000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic: "live-topic", fromBeginning: true });
  await consumer.run({ eachMessage: async () => {} });
  try {
    await waitFor(() => server.broker.groups.listGroups(["Stable"]).length === 1, { timeoutMs: 15_000 });
    // A KIP-848 member (ConsumerGroupHeartbeat): described with ConsumerGroupDescribe, not as DescribeGroups' Dead.
    const raw = await RawClient.connect(server.port);
    const joined = await raw.call(68, 1, {
      groupId: "modern-group", memberId: "m1", memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 10_000,
      subscribedTopicNames: ["live-topic"], subscribedTopicRegex: null, serverAssignor: null, topicPartitions: [],
    });
    raw.close();
    expect(joined.errorCode).toBe(0);
    const client = await KafkaClient.connect("127.0.0.1", server.port);
    const status = await collectStatus(client);
    client.close();
    expect(status.groups).toMatchObject([
      { groupId: "live-group", state: "Stable", protocolType: "consumer", groupType: "classic", members: 1 },
      { groupId: "modern-group", state: "Stable", protocolType: "consumer", groupType: "consumer", members: 1 },
    ]);
  } finally {
    await consumer.disconnect();
  }
  const closedPort = server.port;
  await server[Symbol.asyncDispose]();
  const child = Bun.spawn([process.execPath, "src/main.ts", "status", "--bootstrap", `127.0.0.1:${closedPort}`, "--timeout-ms", "2000"], { cwd: repoRoot, stdout: "pipe", stderr: "pipe" });
  const [stderr, code] = await Promise.all([new Response(child.stderr).text(), child.exited]);
  expect(code).toBe(1);
  expect(stderr).toContain(`kgate status: 127.0.0.1:${closedPort}:`);
}, 30_000);
