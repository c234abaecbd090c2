// kafkajs 2.2.4 consumer groups against kgate (JoinGroup v5 with MEMBER_ID_REQUIRED, SyncGroup v3, Heartbeat v3,
// LeaveGroup v3, OffsetCommit v5, OffsetFetch v4, FindCoordinator v2, Describe/List/DeleteGroups via the admin):
// 3 members on a 6-partition topic; every partition assigned once, every record consumed once; a member leaves
// cleanly, another (a child process) is killed and its session expires; the rest take over from the committed offsets.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel, type Consumer, type EachMessagePayload } from "kafkajs";
import { ForwardingProxy } from "../../helpers/forwarding-proxy.ts";
import { startTestServer, waitFor, type TestServer } from "../../helpers/server.ts";

const TOPIC = "kafkajs-groups";
const PARTITIONS = 6;
const GROUP = "kafkajs-group";

let server: TestServer;
let kafka: Kafka;

beforeAll(async () => {
  server = await startTestServer();
  // Short waits so the test stays quick: no initial rebalance delay, sessions from 1 s.
  server.broker.groups.settings.initialRebalanceDelayMs = 0;
  server.broker.groups.settings.sessionTimeoutMsMin = 1_000;
  kafka = new Kafka({ clientId: "kgate-e2e", brokers: [server.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 5 } });
});
afterAll(async () => {
  await server[Symbol.asyncDispose]();
});

interface Member {
  name: string;
  consumer: Consumer;
  /** Latest assignment from GROUP_JOIN. */
  assignment: number[];
  generation: number;
}

async function produce(from: number, count: number): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  const messages = Array.from({ length: count }, (_, i) => ({ partition: (from + i) % PARTITIONS, key: `k${from + i}`, value: `v${from + i}` }));
  await producer.send({ topic: TOPIC, acks: -1, messages });
  await producer.disconnect();
}

describe("kafkajs consumer group", () => {
  test("3 members share 6 partitions, consume everything once, and take over after a leave and a crash", async () => {
    const admin = kafka.admin();
    await admin.connect();
    const members: Member[] = [];
    const consumed = new Map<string, string[]>(); // "partition:offset" → consumer names
    const record = (name: string) => async ({ partition, message }: EachMessagePayload) => {
      const key = `${partition}:${message.offset}`;
      consumed.set(key, [...(consumed.get(key) ?? []), name]);
    };
    const startMember = async (name: string): Promise<Member> => {
      const consumer = kafka.consumer({ groupId: GROUP, sessionTimeout: 6_000, heartbeatInterval: 300, maxWaitTimeInMs: 200, retry: { retries: 10 } });
      const member: Member = { name, consumer, assignment: [], generation: 0 };
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        member.assignment = (payload.memberAssignment[TOPIC] ?? []).slice().sort();
        member.generation++;
      });
      await consumer.connect();
      await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
      await consumer.run({ eachMessage: record(name) });
      members.push(member);
      return member;
    };
    const committedTotal = async () => {
      const [topic] = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
      return topic!.partitions.reduce((sum, partition) => sum + Math.max(Number(partition.offset), 0), 0);
    };
    const assignedOnce = (active: Member[]) => {
      const all = active.flatMap((member) => member.assignment).sort();
      return all.length === PARTITIONS && all.every((partition, i) => partition === i);
    };

    try {
      expect(await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }], waitForLeaders: true })).toBe(true);
      await produce(0, 600);
      const [a, b, c] = [await startMember("a"), await startMember("b"), await startMember("c")] as [Member, Member, Member];

      // Everyone ends up in one generation with two partitions each.
      await waitFor(() => assignedOnce([a, b, c]) && [a, b, c].every((member) => member.assignment.length === 2), { timeoutMs: 20_000 });
      await waitFor(() => consumed.size === 600, { timeoutMs: 15_000 });
      await waitFor(async () => (await committedTotal()) === 600, { timeoutMs: 10_000 });

      const described = await admin.describeGroups([GROUP]);
      expect(described.groups[0]).toMatchObject({ groupId: GROUP, state: "Stable", protocolType: "consumer", protocol: "RoundRobinAssigner" });
      expect(described.groups[0]!.members).toHaveLength(3);
      const listed = await admin.listGroups();
      expect(listed.groups).toContainEqual({ groupId: GROUP, protocolType: "consumer" });

      // A clean leave: the other two take over c's partitions.
      await c.consumer.disconnect();
      members.splice(members.indexOf(c), 1);
      await waitFor(() => assignedOnce([a, b]), { timeoutMs: 15_000 });
      await produce(600, 600);
      await waitFor(() => consumed.size === 1200, { timeoutMs: 15_000 });
      await waitFor(async () => (await committedTotal()) === 1200, { timeoutMs: 10_000 });

      // A member in a child process joins, then is killed: its session (6 s) expires and a and b take over again.
      // (A 3 s session left members in a loaded test process little room for a stalled heartbeat.)
      const child = Bun.spawn([process.execPath, `${import.meta.dir}/group-member.ts`, server.bootstrap, GROUP, TOPIC], { stdout: "pipe", stderr: "ignore" });
      const childOutput: string[] = [];
      const reader = (async () => {
        const decoder = new TextDecoder();
        // Whole lines only: a chunk may end inside one.
        let partial = "";
        for await (const chunk of child.stdout) {
          const lines = (partial + decoder.decode(chunk, { stream: true })).split("\n");
          partial = lines.pop()!;
          childOutput.push(...lines.filter(Boolean));
        }
      })();
      try {
        await waitFor(() => childOutput.includes("joined") && a.assignment.length + b.assignment.length < PARTITIONS, { timeoutMs: 20_000 });
      } finally {
        child.kill(9);
        await child.exited;
        await reader;
      }
      await waitFor(() => assignedOnce([a, b]), { timeoutMs: 30_000 });
      await produce(1200, 600);
      await waitFor(() => consumed.size === 1800, { timeoutMs: 15_000 });

      // Nothing consumed twice (the child consumed nothing new: everything before it joined was committed).
      const childRecords = new Set(childOutput.filter((line) => /^\d+:\d+$/.test(line)));
      expect([...consumed].filter(([key, names]) => names.length > 1 || childRecords.has(key))).toEqual([]);
      await waitFor(async () => (await committedTotal()) === 1800, { timeoutMs: 10_000 });

      // Members leave; the Empty group can then be deleted with its offsets.
      await Promise.all([a.consumer.disconnect(), b.consumer.disconnect()]);
      members.length = 0;
      await waitFor(async () => (await admin.describeGroups([GROUP])).groups[0]!.state === "Empty", { timeoutMs: 10_000 });
      await admin.deleteGroups([GROUP]);
      const [afterDelete] = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
      expect(afterDelete!.partitions.every((partition) => partition.offset === "-1")).toBe(true);
    } finally {
      await Promise.all(members.map((member) => member.consumer.disconnect().catch(() => {})));
      await admin.disconnect();
    }
  }, 60_000);

  test("a simple consumer commits and fetches offsets without joining (admin setOffsets / fetchOffsets)", async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: "kafkajs-simple", numPartitions: 2 }] });
      await admin.setOffsets({ groupId: "simple", topic: "kafkajs-simple", partitions: [{ partition: 1, offset: "42" }] });
      const [topic] = await admin.fetchOffsets({ groupId: "simple", topics: ["kafkajs-simple"] });
      expect(topic!.partitions.sort((x, y) => x.partition - y.partition)).toEqual([
        { partition: 0, offset: "-1", metadata: null },
        { partition: 1, offset: "42", metadata: null },
      ]);
    } finally {
      await admin.disconnect();
    }
  }, 20_000);

  test("the gateway restarts under a running consumer: offsets and the group come back from __consumer_offsets", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "kgate-groups-restart-"));
    const topic = "kafkajs-restart";
    const groupId = "kafkajs-restart-group";
    // The client keeps the proxy's address; each server start takes a fresh ephemeral port behind it.
    await using proxy = await ForwardingProxy.start();
    const advertised = { advertisedHost: "127.0.0.1", advertisedPort: proxy.port };
    let current: TestServer | null = await startTestServer({ dataDir, ...advertised });
    proxy.setUpstream(current.port);
    const tune = (started: TestServer) => {
      started.broker.groups.settings.initialRebalanceDelayMs = 0;
      started.broker.groups.settings.sessionTimeoutMsMin = 1_000;
    };
    tune(current);
    const client = new Kafka({ clientId: "kgate-e2e-restart", brokers: [`127.0.0.1:${proxy.port}`], logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 500 } });
    const consumer = client.consumer({ groupId, sessionTimeout: 6_000, heartbeatInterval: 300, maxWaitTimeInMs: 200, retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 500 } });
    const admin = client.admin();
    const consumed = new Map<string, number>();
    const produce = async (from: number) => {
      const producer = client.producer();
      await producer.connect();
      await producer.send({ topic, acks: -1, messages: Array.from({ length: 90 }, (_, i) => ({ partition: (from + i) % 3, value: `v${from + i}` })) });
      await producer.disconnect();
    };
    const committed = async () => {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return offsets!.partitions.reduce((sum, partition) => sum + Math.max(Number(partition.offset), 0), 0);
    };
    try {
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
      await produce(0);
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          const key = `${partition}:${message.offset}`;
          consumed.set(key, (consumed.get(key) ?? 0) + 1);
        },
      });
      await waitFor(() => consumed.size === 90, { timeoutMs: 15_000 });
      await waitFor(async () => (await committed()) === 90, { timeoutMs: 10_000 });

      proxy.setUpstream(null);
      await current.stop();
      current = null;
      current = await startTestServer({ dataDir, ...advertised });
      tune(current);
      proxy.setUpstream(current.port);
      expect(current.broker.groups.fetchOffsets(groupId, null).flatMap((t) => t.partitions.map((p) => p.offset))).toEqual([30, 30, 30]);

      await produce(90);
      await waitFor(() => consumed.size === 180, { timeoutMs: 20_000 });
      expect([...consumed.values()].every((count) => count === 1)).toBe(true);
      await waitFor(async () => (await committed()) === 180, { timeoutMs: 10_000 });
      const listed = await admin.listGroups();
      expect(listed.groups.map((group) => group.groupId)).toContain(groupId);
    } finally {
      await consumer.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
      await current?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 45_000);
});
