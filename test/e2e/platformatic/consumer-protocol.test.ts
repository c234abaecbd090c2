// KIP-848 consumer groups against kgate with @platformatic/kafka's groupProtocol 'consumer' (ConsumerGroupHeartbeat v1,
// OffsetCommit/OffsetFetch v9 with member epochs): 3 members share a 6-partition topic and consume each record once;
// then, with records produced all along, a late member joins, one leaves, one (a child process) joins and is killed
// and its session expires. Partitions move incrementally: the members keep consuming the partitions they keep while
// others move (checked by the times records were consumed), and after commits nothing is lost or consumed twice: no
// record is delivered to another member once its commit was stored (the member process killed before committing is
// the exception Kafka allows). The members act as careful applications do with platformatic 2.12, whose
// consumer-protocol code delivers records of a partition after revoking it and re-reads kept partitions from the
// committed offset on each assignment change (see the data handler).
// Then a classic kafkajs group and a KIP-848 group consume one topic side by side; and, through the protocol (no
// client here sends SubscribedTopicRegex), a regex subscription picks up a topic created afterwards; and after a
// restart (group state is in memory only) a member is told UNKNOWN_MEMBER_ID and rejoins to its committed offsets.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Consumer, Producer, stringDeserializers, stringSerializers, type MessagesStream } from "@platformatic/kafka";
import { Kafka, logLevel } from "kafkajs";
import { RawClient } from "../../helpers/raw-client.ts";
import { startTestServer, waitFor, type TestServer } from "../../helpers/server.ts";

const PARTITIONS = 6;
/** Short enough that each move takes a few of them, long enough to show that kept partitions are consumed meanwhile. */
const HEARTBEAT_INTERVAL_MS = 400;
const SESSION_TIMEOUT_MS = 3_000;

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  Object.assign(server.broker.groups.consumerGroups.settings, { heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS, sessionTimeoutMs: SESSION_TIMEOUT_MS });
  server.broker.groups.settings.initialRebalanceDelayMs = 0;
  server.broker.groups.settings.sessionTimeoutMsMin = 1_000;
});
afterAll(async () => {
  await server[Symbol.asyncDispose]();
});

interface Consumption {
  member: string;
  partition: number;
  offset: string;
  atMs: number;
  /** Its own commit was stored (a failed one is covered by the next commit of a later offset). */
  committed: boolean;
}

type Member = { name: string; consumer: Consumer<string, string, string, string>; stream: MessagesStream<string, string, string, string> };

describe("@platformatic/kafka KIP-848 consumer group", () => {
  test("members join, leave, die and join late; partitions move incrementally; every record once", async () => {
    const TOPIC = "kip848-topic";
    const GROUP = "kip848-group";
    const bootstrapBrokers = [server.bootstrap];
    const producer = new Producer({ clientId: "kgate-e2e-producer", bootstrapBrokers, serializers: stringSerializers });
    const members: Member[] = [];
    const consumptions: Consumption[] = [];
    let produced = 0;
    const childConsumed = new Set<string>();
    const produce = async (count: number) => {
      const messages = Array.from({ length: count }, (_, i) => ({ topic: TOPIC, partition: (produced + i) % PARTITIONS, key: `k${produced + i}`, value: `v${produced + i}` }));
      produced += count;
      await producer.send({ messages, acks: -1 });
    };
    const join = async (name: string) => {
      const consumer = new Consumer({ clientId: name, groupId: GROUP, groupProtocol: "consumer", bootstrapBrokers, deserializers: stringDeserializers, maxWaitTime: 100 });
      const stream = await consumer.consume({ topics: [TOPIC], mode: "committed", fallbackMode: "earliest", autocommit: false });
      const member: Member = { name, consumer, stream };
      const positions = new Map<number, bigint>();
      stream.on("data", (message) => {
        // A careful application: it processes a record of a partition it owns, once. platformatic 2.12 still emits
        // records fetched before a revocation after it (dropped: their next owner reads them from the commit), and
        // fetches kept partitions again from the committed offset when its assignment changes (records it has
        // processed already are skipped by their offset, as an idempotent consumer does).
        if (!owned(member).includes(message.partition)) return;
        if (message.offset < (positions.get(message.partition) ?? -1n)) return;
        positions.set(message.partition, message.offset + 1n);
        const record: Consumption = { member: name, partition: message.partition, offset: String(message.offset), atMs: Date.now(), committed: false };
        consumptions.push(record);
        // A commit racing an epoch bump gets STALE_MEMBER_EPOCH, as in Kafka; the next commit covers the record.
        (message.commit() as Promise<void>).then(() => void (record.committed = true), () => {});
      });
      members.push(member);
    };
    const owned = (member: Member) => (member.consumer.assignments ?? []).filter((a) => a.topic === TOPIC).flatMap((a) => a.partitions).sort((x, y) => x - y);
    const group = () => server.broker.groups.describeConsumerGroup(GROUP);
    // Moved: the group is Stable with exactly these members, each owns partitions, together each partition once.
    const settled = () =>
      group()?.groupState === "Stable" &&
      group()!.members.length === members.length &&
      members.every((member) => owned(member).length > 0) &&
      members.flatMap(owned).sort((x, y) => x - y).join() === "0,1,2,3,4,5";
    const consumed = () => {
      const counts = new Map<string, number>();
      for (const { partition, offset } of consumptions) counts.set(`${partition}:${offset}`, (counts.get(`${partition}:${offset}`) ?? 0) + 1);
      return counts;
    };
    /** Members that kept a partition through a move consumed it while the move went on. */
    const expectKeptPartitionsConsumedDuring = (before: Map<string, number[]>, fromMs: number, toMs: number) => {
      for (const member of members) {
        const kept = (before.get(member.name) ?? []).filter((partition) => owned(member).includes(partition));
        if (kept.length === 0) continue;
        const during = consumptions.filter(({ member: name, partition, atMs }) => name === member.name && kept.includes(partition) && atMs > fromMs && atMs < toMs);
        expect(during.length).toBeGreaterThan(0);
      }
    };
    expect(server.broker.topics.create(TOPIC, PARTITIONS).errorCode).toBe(0);
    let producing = true;
    const background = (async () => {
      while (producing) {
        await produce(PARTITIONS);
        await Bun.sleep(25);
      }
    })();
    try {
      for (const name of ["m0", "m1", "m2"]) await join(name);
      await waitFor(settled, { timeoutMs: 15_000 });
      expect(new Set(members.map(owned).map((partitions) => partitions.length))).toEqual(new Set([2]));

      // A late member: it waits for partitions the others revoke; the others keep consuming what they keep.
      const beforeJoin = new Map(members.map((member) => [member.name, owned(member)]));
      const joinStartMs = Date.now();
      await join("m3");
      const late = members.at(-1)!;
      await waitFor(() => owned(late).length > 0, { timeoutMs: 15_000 });
      const lateOwnsMs = Date.now();
      await waitFor(settled, { timeoutMs: 15_000 });
      expectKeptPartitionsConsumedDuring(beforeJoin, joinStartMs, lateOwnsMs);
      expect(lateOwnsMs - joinStartMs).toBeGreaterThan(HEARTBEAT_INTERVAL_MS / 2); // the move took heartbeats, not an instant

      // One member leaves (epoch -1): its partitions go to the others, who keep theirs.
      const leaving = members.splice(1, 1)[0]!;
      const beforeLeave = new Map(members.map((member) => [member.name, owned(member)]));
      const leaveStartMs = Date.now();
      await leaving.stream.close();
      await leaving.consumer.close();
      await waitFor(settled, { timeoutMs: 15_000 });
      expectKeptPartitionsConsumedDuring(beforeLeave, leaveStartMs, Date.now());

      // A member in a child process joins, gets partitions, and is killed: its session expires, the rest take over.
      const child = Bun.spawn([process.execPath, `${import.meta.dir}/consumer-protocol-member.ts`, server.bootstrap, GROUP, TOPIC], { stdout: "pipe", stderr: "ignore" });
      const childOutput: string[] = [];
      const reader = (async () => {
        const decoder = new TextDecoder();
        let partial = "";
        for await (const chunk of child.stdout) {
          const lines = (partial + decoder.decode(chunk, { stream: true })).split("\n");
          partial = lines.pop()!;
          childOutput.push(...lines.filter(Boolean));
          for (const line of lines) if (/^\d+:\d+$/.test(line)) childConsumed.add(line);
        }
      })();
      try {
        await waitFor(() => childOutput.some((line) => /^assigned [1-9]/.test(line)) && group()?.groupState === "Stable", { timeoutMs: 20_000 });
      } finally {
        child.kill(9);
        await child.exited;
        await reader;
      }
      const beforeExpiry = new Map(members.map((member) => [member.name, owned(member)]));
      const killedMs = Date.now();
      await waitFor(() => group()!.members.length === members.length, { timeoutMs: SESSION_TIMEOUT_MS + 5_000 });
      expect(Date.now() - killedMs).toBeGreaterThan(SESSION_TIMEOUT_MS - 1_000);
      await waitFor(settled, { timeoutMs: 15_000 });
      expectKeptPartitionsConsumedDuring(beforeExpiry, killedMs, Date.now());

      producing = false;
      await background;
      // Nothing lost: each record was committed by a member, or consumed by the killed child before it died (what it
      // consumed without committing, the others consumed again: that is allowed for a member that crashed).
      const missing = () => {
        const seen = consumed();
        let count = 0;
        for (let partition = 0; partition < PARTITIONS; partition++) {
          const end = server.broker.topics.get(TOPIC)!.partitions[partition]!.highWatermark;
          for (let offset = 0; offset < end; offset++) if (!seen.has(`${partition}:${offset}`) && !childConsumed.has(`${partition}:${offset}`)) count++;
        }
        return count;
      };
      await waitFor(() => missing() === 0, { timeoutMs: 15_000 });
      // Nothing consumed again once its commit was stored (a record whose own commit failed may come again).
      const deliveries = new Map<string, Consumption[]>();
      for (const c of consumptions) deliveries.set(`${c.partition}:${c.offset}`, [...(deliveries.get(`${c.partition}:${c.offset}`) ?? []), c]);
      const duplicates = [...deliveries].filter(([, list]) => list.slice(0, -1).some((delivery) => delivery.committed)).map(([key, list]) => [key, list.map((c) => c.member)]);
      expect(duplicates).toEqual([]);
      // Closing flushes what failed to commit (platformatic retries a failed snapshot with its next flush).
      for (const { stream } of members) await stream.close();
      await waitFor(() => Object.values(committedOf(GROUP)).reduce((sum, offset) => sum + offset, 0) === produced, { timeoutMs: 10_000 });
    } finally {
      producing = false;
      await background.catch(() => {});
      for (const { stream, consumer } of members) {
        await stream.close().catch(() => {});
        await consumer.close(true).catch(() => {});
      }
      await producer.close();
    }
    expect(group()!.groupState).toBe("Empty");
  }, 60_000);

  test("a classic kafkajs group and a KIP-848 group consume one topic side by side", async () => {
    const TOPIC = "both-protocols";
    const bootstrapBrokers = [server.bootstrap];
    server.broker.topics.create(TOPIC, 4);
    const producer = new Producer({ clientId: "kgate-e2e-producer", bootstrapBrokers, serializers: stringSerializers });
    const kafka = new Kafka({ clientId: "kgate-e2e-kafkajs", brokers: bootstrapBrokers, logLevel: logLevel.NOTHING });
    const classic = kafka.consumer({ groupId: "both-classic", sessionTimeout: 6_000, heartbeatInterval: 300, maxWaitTimeInMs: 100 });
    const modern = new Consumer({ clientId: "both-modern", groupId: "both-consumer", groupProtocol: "consumer", bootstrapBrokers, deserializers: stringDeserializers, maxWaitTime: 100 });
    const classicSeen = new Set<string>();
    const modernSeen = new Set<string>();
    try {
      await producer.send({ messages: Array.from({ length: 200 }, (_, i) => ({ topic: TOPIC, partition: i % 4, key: `k${i}`, value: `v${i}` })), acks: -1 });
      await classic.connect();
      await classic.subscribe({ topic: TOPIC, fromBeginning: true });
      await classic.run({ eachMessage: async ({ partition, message }) => void classicSeen.add(`${partition}:${message.offset}`) });
      const stream = await modern.consume({ topics: [TOPIC], mode: "committed", fallbackMode: "earliest", autocommit: 100 });
      stream.on("data", (message) => modernSeen.add(`${message.partition}:${message.offset}`));
      await waitFor(() => classicSeen.size === 200 && modernSeen.size === 200, { timeoutMs: 20_000 });
      const listed = server.broker.groups.listGroups([]).filter((group) => group.groupId.startsWith("both-"));
      expect(listed.map(({ groupId, groupType, protocolType }) => ({ groupId, groupType, protocolType })).sort((a, b) => a.groupId.localeCompare(b.groupId))).toEqual([
        { groupId: "both-classic", groupType: "classic", protocolType: "consumer" },
        { groupId: "both-consumer", groupType: "consumer", protocolType: "consumer" },
      ]);
      // Metrics show both kinds: members by type, and committed offsets and lag as for any group.
      const exposition = server.broker.metrics.registry.render();
      expect(exposition).toMatch(/^kgate_consumer_group_members\{group="both-classic",type="classic",state="Stable"\} 1$/m);
      expect(exposition).toMatch(/^kgate_consumer_group_members\{group="both-consumer",type="consumer",state="Stable"\} 1$/m);
      await waitFor(() => /^kgate_consumer_group_lag\{group="both-consumer",topic="both-protocols",partition="0"\} 0$/m.test(server.broker.metrics.registry.render()), { timeoutMs: 10_000 });
      await stream.close();
    } finally {
      await classic.disconnect();
      await modern.close(true).catch(() => {});
      await producer.close();
    }
  }, 30_000);

  test("through the protocol: a regex subscription picks up a topic created afterwards; offsets check member epochs", async () => {
    const client = await RawClient.connect(server.port);
    try {
      server.broker.topics.create("regex-a", 2);
      const beat = (body: object) =>
        client.call(68, 1, { groupId: "regex-group", memberId: "m-regex", instanceId: null, rackId: null, serverAssignor: null, subscribedTopicNames: [], ...body });
      const first = await beat({ memberEpoch: 0, rebalanceTimeoutMs: 10_000, subscribedTopicRegex: "regex-.*", topicPartitions: [] });
      expect(first).toMatchObject({ errorCode: 0, memberId: "m-regex", memberEpoch: 1 });
      expect(first.assignment.topicPartitions.map((tp: { partitions: number[] }) => tp.partitions)).toEqual([[0, 1]]);
      server.broker.topics.create("regex-b", 3);
      server.broker.topics.create("other-c", 3);
      const owned = first.assignment.topicPartitions;
      const second = await beat({ memberEpoch: 1, rebalanceTimeoutMs: -1, subscribedTopicNames: null, topicPartitions: owned });
      expect(second).toMatchObject({ errorCode: 0, memberEpoch: 2 });
      const byTopic = new Map(second.assignment.topicPartitions.map((tp: { topicId: Uint8Array; partitions: number[] }) => [server.broker.topics.getById(tp.topicId)!.name, tp.partitions]));
      expect(Object.fromEntries(byTopic)).toEqual({ "regex-a": [0, 1], "regex-b": [0, 1, 2] });
      const invalid = await beat({ memberId: "m-bad", memberEpoch: 0, rebalanceTimeoutMs: 10_000, subscribedTopicRegex: "regex-(?=x)", topicPartitions: [] });
      expect(invalid.errorCode).toBe(128); // INVALID_REGULAR_EXPRESSION
      const described = await client.call(69, 1, { groupIds: ["regex-group", "nope"], includeAuthorizedOperations: false });
      expect(described.groups[0]).toMatchObject({ errorCode: 0, groupState: "Stable", groupEpoch: 2, assignorName: "uniform" });
      expect(described.groups[0].members[0]).toMatchObject({ memberId: "m-regex", subscribedTopicRegex: "regex-.*", memberType: 1 });
      expect(described.groups[1].errorCode).toBe(69); // GROUP_ID_NOT_FOUND
      // ListGroups v5 reports and filters the type; DescribeGroups (v0-5) does not know KIP-848 groups, as Kafka.
      const listed = await client.call(16, 5, { statesFilter: [], typesFilter: ["consumer"] });
      expect(listed.groups.find((group: { groupId: string }) => group.groupId === "regex-group")).toEqual({ groupId: "regex-group", protocolType: "consumer", groupState: "Stable", groupType: "consumer" });
      expect((await client.call(16, 5, { statesFilter: [], typesFilter: ["classic"] })).groups.some((group: { groupId: string }) => group.groupId === "regex-group")).toBe(false);
      expect((await client.call(15, 5, { groups: ["regex-group"], includeAuthorizedOperations: false })).groups[0]).toMatchObject({ errorCode: 0, groupState: "Dead", members: [] });
      // Offsets of a KIP-848 member: OffsetCommit and OffsetFetch v9 check its member epoch.
      const commit = (memberEpoch: number, version = 9) =>
        client.call(8, version, {
          groupId: "regex-group", generationIdOrMemberEpoch: memberEpoch, memberId: "m-regex", groupInstanceId: null, retentionTimeMs: -1n,
          topics: [{ name: "regex-a", partitions: [{ partitionIndex: 0, committedOffset: 3n, committedLeaderEpoch: -1, committedMetadata: "" }] }],
        }).then((answer: any) => answer.topics[0].partitions[0].errorCode);
      expect(await commit(2)).toBe(0);
      expect(await commit(1)).toBe(113); // STALE_MEMBER_EPOCH
      expect(await commit(2, 8)).toBe(35); // UNSUPPORTED_VERSION: KIP-848 members commit with v9+
      const fetchGroup = (memberId: string | null, memberEpoch: number) =>
        client.call(9, 9, { groups: [{ groupId: "regex-group", memberId, memberEpoch, topics: [{ name: "regex-a", partitionIndexes: [0] }] }], requireStable: false }).then((answer: any) => answer.groups[0]);
      expect(await fetchGroup("m-regex", 2)).toMatchObject({ errorCode: 0, topics: [{ name: "regex-a", partitions: [{ partitionIndex: 0, committedOffset: 3n }] }] });
      expect((await fetchGroup("m-regex", 3)).errorCode).toBe(113);
      expect((await fetchGroup("someone", 2)).errorCode).toBe(25); // UNKNOWN_MEMBER_ID
      expect((await fetchGroup(null, -1)).errorCode).toBe(0); // an admin tool
      // A classic group (here a simple consumer's commit) is not a consumer group for ConsumerGroupDescribe.
      await client.call(8, 2, { groupId: "classic-x", generationIdOrMemberEpoch: -1, memberId: "", retentionTimeMs: -1n, topics: [{ name: "regex-a", partitions: [{ partitionIndex: 0, committedOffset: 1n, committedMetadata: "" }] }] });
      const classic = (await client.call(69, 1, { groupIds: ["classic-x"], includeAuthorizedOperations: false })).groups[0];
      expect(classic).toMatchObject({ errorCode: 69, errorMessage: "Group classic-x is not a consumer group." });
      expect((await beat({ memberEpoch: -1, rebalanceTimeoutMs: -1, topicPartitions: null })).memberEpoch).toBe(-1);
    } finally {
      client.close();
    }
  });
});

describe("a KIP-848 group across a restart", () => {
  test("members get UNKNOWN_MEMBER_ID and rejoin; committed offsets stay", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "kgate-kip848-restart-"));
    try {
      const beat = (client: RawClient, body: object) =>
        client.call(68, 1, { groupId: "restart-group", memberId: "m1", instanceId: null, rackId: null, serverAssignor: null, subscribedTopicRegex: null, ...body });
      const join = { memberEpoch: 0, rebalanceTimeoutMs: 10_000, subscribedTopicNames: ["restart-topic"], topicPartitions: [] };
      let owned: unknown;
      {
        await using first = await startTestServer({ dataDir });
        first.broker.topics.create("restart-topic", 2);
        const client = await RawClient.connect(first.port);
        const joined = await beat(client, join);
        expect(joined).toMatchObject({ errorCode: 0, memberEpoch: 1 });
        owned = joined.assignment.topicPartitions;
        const committed = await client.call(8, 9, {
          groupId: "restart-group", generationIdOrMemberEpoch: 1, memberId: "m1", groupInstanceId: null, retentionTimeMs: -1n,
          topics: [{ name: "restart-topic", partitions: [{ partitionIndex: 1, committedOffset: 7n, committedLeaderEpoch: -1, committedMetadata: "" }] }],
        });
        expect(committed.topics[0].partitions[0].errorCode).toBe(0);
        client.close();
      }
      await using second = await startTestServer({ dataDir });
      const client = await RawClient.connect(second.port);
      const again = await beat(client, { memberEpoch: 1, rebalanceTimeoutMs: -1, subscribedTopicNames: null, topicPartitions: owned });
      expect(again.errorCode).toBe(25); // UNKNOWN_MEMBER_ID: rejoin
      expect(await beat(client, join)).toMatchObject({ errorCode: 0, memberEpoch: 1 });
      const fetched = await client.call(9, 9, { groups: [{ groupId: "restart-group", memberId: "m1", memberEpoch: 1, topics: [{ name: "restart-topic", partitionIndexes: [1] }] }], requireStable: false });
      expect(fetched.groups[0].topics[0].partitions[0].committedOffset).toBe(7n);
      expect(second.broker.groups.listGroups([]).find((group) => group.groupId === "restart-group")).toMatchObject({ groupType: "consumer", state: "Stable" });
      client.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

function committedOf(groupId: string): Record<string, number> {
  const committed: Record<string, number> = {};
  for (const { topic, partitions } of server.broker.groups.fetchOffsets(groupId, null)) {
    for (const { partition, offset } of partitions) committed[`${topic}/${partition}`] = offset;
  }
  return committed;
}
