// The group handlers over TCP at the versions old and new clients send (CLIENTS.md a.2/a.3): Sarama 1.22's
// JoinGroup v1 / SyncGroup v0 / Heartbeat v0 / OffsetCommit v1 / OffsetFetch v1 / LeaveGroup v0, librdkafka's
// JoinGroup v0, the KIP-394 two-step join of v4+, batched FindCoordinator v4 and OffsetFetch v8, and the admin APIs.
// Requests are built with the generated encoders; expectations come from the Kafka message definitions.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ErrorCode } from "../protocol/error-codes.ts";
import { ByteWriter } from "../protocol/byte-writer.ts";
import { RawClient } from "../../test/helpers/raw-client.ts";
import { startTestServer, type TestServer } from "../../test/helpers/server.ts";

let server: TestServer;
let client: RawClient;

beforeAll(async () => {
  server = await startTestServer();
  server.broker.groups.settings.initialRebalanceDelayMs = 0;
  server.broker.topics.create("t", 2);
  client = await RawClient.connect(server.port);
});
afterAll(async () => {
  client.close();
  await server[Symbol.asyncDispose]();
});

const call = (apiKey: number, version: number, body: object): Promise<any> => client.call(apiKey, version, body);

function subscription(topics: string[]): Uint8Array {
  const writer = new ByteWriter(64);
  writer.writeInt16(0);
  writer.writeArrayLength(topics.length);
  for (const topic of topics) writer.writeString(topic);
  writer.writeNullableBytes(null);
  return writer.toUint8Array();
}

const protocols = [{ name: "range", metadata: subscription(["t"]) }];

describe("ApiVersions", () => {
  test("advertises the group APIs as CLIENTS.md a.4 recommends (JoinGroup from v0: KAFKA-19444; no topic-id v10)", async () => {
    const { apiKeys } = await call(18, 3, { clientSoftwareName: "raw", clientSoftwareVersion: "1" });
    const ranges = apiKeys.filter((api: any) => [8, 9, 10, 11, 12, 13, 14, 15, 16, 42, 47].includes(api.apiKey)).map((api: any) => `${api.apiKey}:${api.minVersion}-${api.maxVersion}`);
    expect(ranges).toEqual(["8:0-9", "9:0-9", "10:0-6", "11:0-9", "12:0-4", "13:0-5", "14:0-5", "15:0-5", "16:0-5", "42:0-2", "47:0-0"]);
  });
});

describe("FindCoordinator", () => {
  test("v0 single key, v4 batched keys, transaction keys", async () => {
    expect(await call(10, 0, { key: "g" })).toMatchObject({ errorCode: 0, nodeId: 1, host: "127.0.0.1", port: server.port });
    const batched = await call(10, 4, { keyType: 0, coordinatorKeys: ["a", "b"] });
    expect(batched.coordinators.map((c: any) => [c.key, c.nodeId, c.port, c.errorCode])).toEqual([
      ["a", 1, server.port, 0],
      ["b", 1, server.port, 0],
    ]);
    expect(await call(10, 2, { key: "txn", keyType: 1 })).toMatchObject({ errorCode: 0, nodeId: 1, port: server.port });
  });
});

describe("old clients", () => {
  test("Sarama 1.22: JoinGroup v1, SyncGroup v0, Heartbeat v0, OffsetCommit v1 with a timestamp, OffsetFetch v1, LeaveGroup v0", async () => {
    const join = await call(11, 1, { groupId: "sarama", sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: "", protocolType: "consumer", protocols });
    expect(join).toMatchObject({ errorCode: 0, generationId: 1, protocolName: "range" });
    expect(join.leader).toBe(join.memberId);
    expect(join.members).toHaveLength(1);
    const assignment = new Uint8Array([0, 0, 0, 0, 0, 1, 0, 1, 116, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    const sync = await call(14, 0, { groupId: "sarama", generationId: 1, memberId: join.memberId, assignments: [{ memberId: join.memberId, assignment }] });
    expect(sync.errorCode).toBe(0);
    expect(new Uint8Array(sync.assignment)).toEqual(assignment);
    expect((await call(12, 0, { groupId: "sarama", generationId: 1, memberId: join.memberId })).errorCode).toBe(0);
    const commit = await call(8, 1, {
      groupId: "sarama",
      generationIdOrMemberEpoch: 1,
      memberId: join.memberId,
      topics: [{ name: "t", partitions: [{ partitionIndex: 0, committedOffset: 12n, commitTimestamp: 1_700_000_000_000n, committedMetadata: "s" }, { partitionIndex: 9, committedOffset: 1n, commitTimestamp: -1n, committedMetadata: null }] }],
    });
    expect(commit.topics[0].partitions.map((p: any) => p.errorCode)).toEqual([0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    const fetched = await call(9, 1, { groupId: "sarama", topics: [{ name: "t", partitionIndexes: [0, 1] }] });
    expect(fetched.topics[0].partitions.map((p: any) => [p.partitionIndex, p.committedOffset, p.metadata, p.errorCode])).toEqual([
      [0, 12n, "s", 0],
      [1, -1n, "", 0],
    ]);
    expect((await call(13, 0, { groupId: "sarama", memberId: join.memberId })).errorCode).toBe(0);
    expect((await call(13, 0, { groupId: "sarama", memberId: join.memberId })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test("librdkafka 2.0: JoinGroup v0 (the session timeout is the rebalance timeout)", async () => {
    const join = await call(11, 0, { groupId: "rdkafka", sessionTimeoutMs: 6_000, memberId: "", protocolType: "consumer", protocols });
    expect(join).toMatchObject({ errorCode: 0, generationId: 1 });
  });

  test("OffsetCommit v0 and v2 from a simple consumer; OffsetFetch v2 with null topics lists all", async () => {
    const commit0 = await call(8, 0, { groupId: "simple", topics: [{ name: "t", partitions: [{ partitionIndex: 1, committedOffset: 5n, committedMetadata: "" }] }] });
    expect(commit0.topics[0].partitions[0].errorCode).toBe(0);
    const commit2 = await call(8, 2, { groupId: "simple", generationIdOrMemberEpoch: -1, memberId: "", retentionTimeMs: -1n, topics: [{ name: "t", partitions: [{ partitionIndex: 0, committedOffset: 3n, committedMetadata: "x" }] }] });
    expect(commit2.topics[0].partitions[0].errorCode).toBe(0);
    const all = await call(9, 2, { groupId: "simple", topics: null });
    expect(all.errorCode).toBe(0);
    expect(all.topics[0].partitions.map((p: any) => [p.partitionIndex, p.committedOffset]).sort()).toEqual([
      [0, 3n],
      [1, 5n],
    ]);
  });
});

describe("new clients and admin", () => {
  test("JoinGroup v9: MEMBER_ID_REQUIRED, then the join; SyncGroup v5 checks the protocol; LeaveGroup v5 batches", async () => {
    const first = await call(11, 9, { groupId: "modern", sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: "", groupInstanceId: null, protocolType: "consumer", protocols, reason: null });
    expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    expect(first.memberId).toStartWith("raw-test-");
    const join = await call(11, 9, { groupId: "modern", sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: first.memberId, groupInstanceId: null, protocolType: "consumer", protocols, reason: null });
    expect(join).toMatchObject({ errorCode: 0, generationId: 1, protocolType: "consumer", protocolName: "range", leader: first.memberId, skipAssignment: false });
    const wrong = await call(14, 5, { groupId: "modern", generationId: 1, memberId: join.memberId, protocolType: "consumer", protocolName: "roundrobin", assignments: [] });
    expect(wrong.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const sync = await call(14, 5, { groupId: "modern", generationId: 1, memberId: join.memberId, protocolType: "consumer", protocolName: "range", assignments: [{ memberId: join.memberId, assignment: new Uint8Array([1, 2]) }] });
    expect(sync).toMatchObject({ errorCode: 0, protocolType: "consumer", protocolName: "range" });

    const commit = await call(8, 9, { groupId: "modern", generationIdOrMemberEpoch: 1, memberId: join.memberId, groupInstanceId: null, topics: [{ name: "t", partitions: [{ partitionIndex: 0, committedOffset: 8n, committedLeaderEpoch: 0, committedMetadata: null }] }] });
    expect(commit.topics[0].partitions[0].errorCode).toBe(0);
    const fetched = await call(9, 8, {
      groups: [
        { groupId: "modern", topics: [{ name: "t", partitionIndexes: [0, 1] }] },
        { groupId: "simple", topics: null },
        { groupId: "nobody", topics: null },
      ],
      requireStable: false,
    });
    expect(fetched.groups.map((g: any) => [g.groupId, g.errorCode, g.topics.flatMap((t: any) => t.partitions.map((p: any) => [p.partitionIndex, p.committedOffset, p.committedLeaderEpoch])).sort()])).toEqual([
      ["modern", 0, [[0, 8n, 0], [1, -1n, -1]]],
      ["simple", 0, [[0, 3n, -1], [1, 5n, -1]]],
      ["nobody", 0, []],
    ]);

    const described = await call(15, 5, { groups: ["modern", "missing"], includeAuthorizedOperations: false });
    expect(described.groups[0]).toMatchObject({ errorCode: 0, groupId: "modern", groupState: "Stable", protocolType: "consumer", protocolData: "range" });
    expect(described.groups[0].members[0]).toMatchObject({ memberId: join.memberId, clientId: "raw-test", clientHost: "/127.0.0.1" });
    expect(new Uint8Array(described.groups[0].members[0].memberAssignment)).toEqual(new Uint8Array([1, 2]));
    expect(described.groups[1]).toMatchObject({ errorCode: 0, groupId: "missing", groupState: "Dead" });

    const stable = await call(16, 4, { statesFilter: ["Stable"] });
    expect(stable.groups.map((g: any) => [g.groupId, g.groupState])).toContainEqual(["modern", "Stable"]);
    expect(stable.groups.every((g: any) => g.groupState === "Stable")).toBe(true);
    expect((await call(16, 5, { statesFilter: [], typesFilter: ["consumer"] })).groups).toEqual([]);
    expect((await call(42, 2, { groupsNames: ["modern", "ghost"] })).results.map((r: any) => r.errorCode)).toEqual([ErrorCode.NON_EMPTY_GROUP, ErrorCode.GROUP_ID_NOT_FOUND]);
    const offsetDelete = await call(47, 0, { groupId: "modern", topics: [{ name: "t", partitions: [{ partitionIndex: 0 }] }, { name: "nope", partitions: [{ partitionIndex: 0 }] }] });
    expect(offsetDelete.errorCode).toBe(0);
    expect(offsetDelete.topics.map((t: any) => t.partitions[0].errorCode)).toEqual([ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);

    const left = await call(13, 5, { groupId: "modern", members: [{ memberId: join.memberId, groupInstanceId: null, reason: "done" }, { memberId: "ghost", groupInstanceId: null, reason: null }] });
    expect(left.errorCode).toBe(0);
    expect(left.members.map((m: any) => m.errorCode)).toEqual([0, ErrorCode.UNKNOWN_MEMBER_ID]);
    expect((await call(42, 2, { groupsNames: ["modern"] })).results[0].errorCode).toBe(0);
    const gone = await call(9, 8, { groups: [{ groupId: "modern", topics: null }], requireStable: false });
    expect(gone.groups[0].topics).toEqual([]);
  });

  test("group APIs refuse an empty group id where Kafka does", async () => {
    expect((await call(12, 4, { groupId: "", generationId: 1, memberId: "m", groupInstanceId: null })).errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
    expect((await call(11, 5, { groupId: "", sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: "", groupInstanceId: null, protocolType: "consumer", protocols })).errorCode).toBe(
      ErrorCode.INVALID_GROUP_ID,
    );
  });
});
