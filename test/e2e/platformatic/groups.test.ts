// @platformatic/kafka consumer groups against kgate (JoinGroup v9, SyncGroup v5, Heartbeat v4, LeaveGroup v5,
// OffsetCommit v9, batched OffsetFetch v9, FindCoordinator v6 batched keys, admin Describe/List/DeleteGroups,
// OffsetDelete): 3 members on a 6-partition topic consume every record once; one closes, another (a child process)
// is killed and its session expires, the others take over from the committed offsets; then the admin lists,
// describes, edits offsets of and deletes the Empty group.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Admin, Consumer, Producer, stringDeserializers, stringSerializers, type MessagesStream } from "@platformatic/kafka";
import { startTestServer, waitFor, type TestServer } from "../../helpers/server.ts";

const TOPIC = "platformatic-groups";
const PARTITIONS = 6;
const GROUP = "platformatic-group";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  server.broker.groups.settings.initialRebalanceDelayMs = 0;
  server.broker.groups.settings.sessionTimeoutMsMin = 1_000;
});
afterAll(async () => {
  await server[Symbol.asyncDispose]();
});

describe("@platformatic/kafka consumer group", () => {
  test("3 members consume a 6-partition topic once each; a member leaves, another is killed, the rest resume from commits", async () => {
    const bootstrapBrokers = [server.bootstrap];
    const admin = new Admin({ clientId: "kgate-e2e-admin", bootstrapBrokers });
    const producer = new Producer({ clientId: "kgate-e2e-producer", bootstrapBrokers, serializers: stringSerializers });
    const consumers: { consumer: Consumer<string, string, string, string>; stream: MessagesStream<string, string, string, string> }[] = [];
    const consumed = new Map<string, number>();
    const produce = async (from: number, count: number) => {
      const messages = Array.from({ length: count }, (_, i) => ({ topic: TOPIC, partition: (from + i) % PARTITIONS, key: `k${from + i}`, value: `v${from + i}` }));
      await producer.send({ messages, acks: -1 });
    };
    const committedTotal = async () => {
      const [group] = await admin.listConsumerGroupOffsets({ groups: [{ groupId: GROUP, topics: [{ name: TOPIC, partitionIndexes: [0, 1, 2, 3, 4, 5] }] } as never] });
      return group!.topics.flatMap((topic) => topic.partitions).reduce((sum, partition) => sum + Math.max(Number(partition.committedOffset), 0), 0);
    };
    const assignedPartitions = () =>
      consumers.flatMap(({ consumer }) => (consumer.assignments ?? []).filter((a) => a.topic === TOPIC).flatMap((a) => a.partitions)).sort((x, y) => x - y);
    // The rebalance is over: the group is Stable with these members, each holds partitions and together they hold
    // each partition once. (The union alone can be met by a member's stale assignment while another joins; a further
    // rebalance then moves partitions consumed but not yet committed, and their records come twice.)
    const settled = async () =>
      consumers.every(({ consumer }) => (consumer.assignments ?? []).some((a) => a.topic === TOPIC && a.partitions.length > 0)) &&
      assignedPartitions().join() === "0,1,2,3,4,5" &&
      (await admin.describeGroups({ groups: [GROUP] }).then((groups) => {
        const group = groups.get(GROUP)!;
        return group.state === "Stable" && group.members.size === consumers.length;
      }));
    try {
      await admin.createTopics({ topics: [TOPIC], partitions: PARTITIONS, replicas: 1 });
      await produce(0, 300);
      for (let i = 0; i < 3; i++) {
        const consumer = new Consumer({
          clientId: `kgate-e2e-consumer-${i}`,
          groupId: GROUP,
          bootstrapBrokers,
          deserializers: stringDeserializers,
          sessionTimeout: 6_000,
          heartbeatInterval: 300,
          maxWaitTime: 200,
        });
        const stream = await consumer.consume({ topics: [TOPIC], mode: "committed", fallbackMode: "earliest", autocommit: 100 });
        stream.on("data", (message) => {
          const key = `${message.partition}:${message.offset}`;
          consumed.set(key, (consumed.get(key) ?? 0) + 1);
        });
        consumers.push({ consumer, stream });
      }
      await waitFor(() => consumers.every(({ consumer }) => (consumer.assignments ?? []).length > 0) && assignedPartitions().join() === "0,1,2,3,4,5", { timeoutMs: 20_000 });
      await waitFor(() => consumed.size === 300, { timeoutMs: 15_000 });
      await waitFor(async () => (await committedTotal()) === 300, { timeoutMs: 10_000 });

      const described = (await admin.describeGroups({ groups: [GROUP] })).get(GROUP)!;
      expect(described.state).toBe("Stable");
      expect(described.members.size).toBe(3);

      const leaving = consumers.pop()!;
      await leaving.stream.close();
      await leaving.consumer.close();
      await waitFor(settled, { timeoutMs: 15_000 });
      await produce(300, 300);
      await waitFor(() => consumed.size === 600, { timeoutMs: 15_000 });
      await waitFor(async () => (await committedTotal()) === 600, { timeoutMs: 10_000 });
      expect([...consumed.values()].every((count) => count === 1)).toBe(true);

      // A member in a child process joins and is killed: its session (6 s) expires and the two others take over.
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
        await waitFor(() => childOutput.some((line) => /^assigned [1-9]/.test(line)) && assignedPartitions().length < PARTITIONS, { timeoutMs: 20_000 });
      } finally {
        child.kill(9);
        await child.exited;
        await reader;
      }
      await waitFor(settled, { timeoutMs: 30_000 });
      await produce(600, 300);
      await waitFor(() => consumed.size === 900, { timeoutMs: 15_000 });
      // Everything before the child joined was committed, so nothing is consumed twice.
      expect([...consumed.values()].every((count) => count === 1)).toBe(true);
      await waitFor(async () => (await committedTotal()) === 900, { timeoutMs: 10_000 });

      for (const { stream, consumer } of consumers.splice(0)) {
        await stream.close();
        await consumer.close();
      }
      await waitFor(async () => (await admin.listGroups({ states: ["Empty"] })).has(GROUP), { timeoutMs: 10_000 });
      expect((await admin.listGroups({ states: ["Stable"] })).has(GROUP)).toBe(false);

      await admin.alterConsumerGroupOffsets({ groupId: GROUP, topics: [{ name: TOPIC, partitionOffsets: [{ partition: 0, offset: 7n }] }] });
      const [altered] = await admin.listConsumerGroupOffsets({ groups: [GROUP] });
      const partition0 = altered!.topics.find((topic) => topic.name === TOPIC)!.partitions.find((partition) => partition.partitionIndex === 0)!;
      expect(partition0.committedOffset).toBe(7n);
      await admin.deleteConsumerGroupOffsets({ groupId: GROUP, topics: [{ name: TOPIC, partitionIndexes: [0] }] });
      const [afterDelete] = await admin.listConsumerGroupOffsets({ groups: [GROUP] });
      expect(afterDelete!.topics.flatMap((topic) => topic.partitions).map((partition) => partition.partitionIndex).sort()).toEqual([1, 2, 3, 4, 5]);

      await admin.deleteGroups({ groups: [GROUP] });
      expect((await admin.listGroups()).has(GROUP)).toBe(false);
    } finally {
      for (const { stream, consumer } of consumers) {
        await stream.close().catch(() => {});
        await consumer.close(true).catch(() => {});
      }
      await producer.close();
      await admin.close();
    }
  }, 60_000);
});
