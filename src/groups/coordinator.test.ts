// The classic group state machine, driven by hand: timers are fake (FakeTimers runs them when the test advances
// time), so rebalance, session and sync timeouts are exact and the tests take no wall time.

import { describe, expect, test } from "bun:test";
import { MemoryPartitionLog } from "../log/memory-log.ts";
import { TopicStore } from "../metadata/topic-store.ts";
import { ByteWriter } from "../protocol/byte-writer.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import { GroupCoordinator, type GroupSettings, type JoinGroupInput, type JoinResult, type SyncResult } from "./coordinator.ts";
import { OFFSETS_TOPIC } from "./offset-store.ts";
import { limits } from "../config.ts";
import { topicLogConfigs } from "../log/log-configs.ts";
import { readAll } from "../log/compaction-test-helpers.ts";
import { setLogLevel } from "../util/logger.ts";
import { FakeTimers, settle } from "./fake-timers.ts";

setLogLevel("warn");

/** A promise's outcome, readable synchronously once settled. */
function track<T>(promise: Promise<T>): { value: T | undefined } {
  const box: { value: T | undefined } = { value: undefined };
  promise.then((value) => (box.value = value));
  return box;
}

function subscription(topics: string[]): Uint8Array {
  const writer = new ByteWriter(64);
  writer.writeInt16(0);
  writer.writeArrayLength(topics.length);
  for (const topic of topics) writer.writeString(topic);
  writer.writeNullableBytes(null);
  return writer.toUint8Array();
}

const SESSION_MS = 10_000;
const REBALANCE_MS = 30_000;
const DELAY_MS = 3_000;
/** Members that join together: the initial delay, extended once because members kept arriving (InitialDelayedJoin). */
const FORM_MS = 2 * DELAY_MS;

function setup(settings: Partial<GroupSettings> = {}, topics = new TopicStore(() => new MemoryPartitionLog())) {
  const timers = new FakeTimers();
  const coordinator = new GroupCoordinator(topics, { timers, settings: { initialRebalanceDelayMs: DELAY_MS, ...settings } });
  return { timers, coordinator, topics };
}

function joinInput(overrides: Partial<JoinGroupInput> = {}): JoinGroupInput {
  return {
    groupId: "g",
    memberId: "",
    groupInstanceId: null,
    sessionTimeoutMs: SESSION_MS,
    rebalanceTimeoutMs: REBALANCE_MS,
    protocolType: "consumer",
    protocols: [{ name: "range", metadata: subscription(["t"]) }],
    clientId: "client",
    clientHost: "/127.0.0.1",
    requireKnownMemberId: false,
    supportSkippingAssignment: false,
    ...overrides,
  };
}

/** Joins `count` new members at once and waits out the initial delay: generation 1, first one leader. */
async function formGroup(coordinator: GroupCoordinator, timers: FakeTimers, count: number, overrides: Partial<JoinGroupInput> = {}) {
  const joins = Array.from({ length: count }, (_, i) => track(coordinator.joinGroup(joinInput({ clientId: `c${i}`, ...overrides }))));
  await timers.advance(FORM_MS);
  const results = joins.map((join) => join.value!);
  for (const result of results) expect(result.errorCode).toBe(ErrorCode.NONE);
  return results;
}

async function syncAll(coordinator: GroupCoordinator, results: JoinResult[]): Promise<SyncResult[]> {
  const leader = results.find((result) => result.leader === result.memberId)!;
  const syncs = results.map((result) =>
    coordinator.syncGroup({
      groupId: "g",
      generationId: result.generationId,
      memberId: result.memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: result === leader ? results.map((r) => ({ memberId: r.memberId, assignment: new TextEncoder().encode(r.memberId) })) : [],
    }),
  );
  return Promise.all(syncs);
}

describe("join and sync", () => {
  test("KIP-394: a v4+ join without member id gets MEMBER_ID_REQUIRED, the second join joins", async () => {
    const { coordinator, timers } = setup();
    const first = await coordinator.joinGroup(joinInput({ requireKnownMemberId: true }));
    expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    expect(first.memberId).toStartWith("client-");
    const second = track(coordinator.joinGroup(joinInput({ requireKnownMemberId: true, memberId: first.memberId })));
    await timers.advance(DELAY_MS - 1);
    expect(second.value).toBeUndefined(); // the initial delay waits for more members
    await timers.advance(1);
    expect(second.value).toMatchObject({ errorCode: 0, memberId: first.memberId, generationId: 1, leader: first.memberId, protocolName: "range" });
    expect(second.value!.members.map((member) => member.memberId)).toEqual([first.memberId]);
  });

  test("a pending member id expires after the session timeout", async () => {
    const { coordinator, timers } = setup();
    const first = await coordinator.joinGroup(joinInput({ requireKnownMemberId: true }));
    await timers.advance(SESSION_MS);
    const late = await coordinator.joinGroup(joinInput({ requireKnownMemberId: true, memberId: first.memberId }));
    expect(late.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test("three members: leader gets everyone's metadata, sync hands out each member's assignment, Stable", async () => {
    const { coordinator, timers } = setup();
    const results = await formGroup(coordinator, timers, 3);
    const leader = results[0]!;
    expect(results.every((result) => result.generationId === 1 && result.leader === leader.memberId)).toBe(true);
    expect(leader.members).toHaveLength(3);
    expect(results[1]!.members).toEqual([]);
    expect(coordinator.groupState("g")).toBe("CompletingRebalance");

    // Followers' SyncGroup waits for the leader's.
    const followerSync = track(
      coordinator.syncGroup({ groupId: "g", generationId: 1, memberId: results[1]!.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] }),
    );
    await settle();
    expect(followerSync.value).toBeUndefined();
    const syncs = await syncAll(coordinator, results);
    for (let i = 0; i < 3; i++) expect(new TextDecoder().decode(syncs[i]!.assignment)).toBe(results[i]!.memberId);
    await settle();
    expect(new TextDecoder().decode(followerSync.value!.assignment)).toBe(results[1]!.memberId);
    expect(coordinator.groupState("g")).toBe("Stable");
    expect(coordinator.heartbeat("g", results[2]!.memberId, null, 1)).toBe(ErrorCode.NONE);
  });

  test("heartbeat and sync errors: unknown member, illegal generation, empty group id", async () => {
    const { coordinator, timers } = setup();
    const results = await formGroup(coordinator, timers, 1);
    await syncAll(coordinator, results);
    const memberId = results[0]!.memberId;
    expect(coordinator.heartbeat("g", "nobody", null, 1)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(coordinator.heartbeat("g", memberId, null, 7)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(coordinator.heartbeat("", memberId, null, 1)).toBe(ErrorCode.INVALID_GROUP_ID);
    expect(coordinator.heartbeat("other", memberId, null, 1)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const sync = await coordinator.syncGroup({ groupId: "g", generationId: 2, memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
    expect(sync.errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    const wrongProtocol = await coordinator.syncGroup({ groupId: "g", generationId: 1, memberId, groupInstanceId: null, protocolType: "connect", protocolName: null, assignments: [] });
    expect(wrongProtocol.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const badTimeout = await coordinator.joinGroup(joinInput({ sessionTimeoutMs: 1 }));
    expect(badTimeout.errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
  });

  test("protocols: the common one most members prefer; none in common is INCONSISTENT_GROUP_PROTOCOL", async () => {
    const { coordinator, timers } = setup();
    const m = subscription(["t"]);
    const joins = [
      [{ name: "range", metadata: m }, { name: "roundrobin", metadata: m }],
      [{ name: "roundrobin", metadata: m }, { name: "range", metadata: m }],
      [{ name: "roundrobin", metadata: m }, { name: "sticky", metadata: m }],
    ].map((protocols) => track(coordinator.joinGroup(joinInput({ protocols }))));
    await settle();
    const odd = await coordinator.joinGroup(joinInput({ protocols: [{ name: "cooperative-sticky", metadata: m }] }));
    expect(odd.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const otherType = await coordinator.joinGroup(joinInput({ protocolType: "connect" }));
    expect(otherType.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    await timers.advance(FORM_MS);
    expect(joins.map((join) => join.value!.protocolName)).toEqual(["roundrobin", "roundrobin", "roundrobin"]);
  });
});

describe("rebalances", () => {
  test("a member leaves: the others hear REBALANCE_IN_PROGRESS, rejoin, and form the next generation", async () => {
    const { coordinator, timers } = setup();
    const results = await formGroup(coordinator, timers, 3);
    await syncAll(coordinator, results);
    const [a, b, c] = results as [JoinResult, JoinResult, JoinResult];
    const left = coordinator.leaveGroup("g", [{ memberId: c.memberId, groupInstanceId: null }]);
    expect(left).toEqual({ errorCode: 0, members: [{ memberId: c.memberId, groupInstanceId: null, errorCode: 0 }] });
    expect(coordinator.groupState("g")).toBe("PreparingRebalance");
    expect(coordinator.heartbeat("g", a.memberId, null, 1)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const rejoinA = track(coordinator.joinGroup(joinInput({ memberId: a.memberId })));
    await settle();
    expect(rejoinA.value).toBeUndefined(); // b has not rejoined yet
    const rejoinB = track(coordinator.joinGroup(joinInput({ memberId: b.memberId })));
    await settle();
    expect(rejoinA.value).toMatchObject({ errorCode: 0, generationId: 2, leader: a.memberId });
    expect(rejoinA.value!.members.map((member) => member.memberId).sort()).toEqual([a.memberId, b.memberId].sort());
    expect(rejoinB.value).toMatchObject({ errorCode: 0, generationId: 2, members: [] });
    // The member that left is gone.
    expect(coordinator.heartbeat("g", c.memberId, null, 2)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test("a silent member's session expires; a member that does not rejoin within the rebalance timeout is dropped", async () => {
    const { coordinator, timers } = setup();
    const results = await formGroup(coordinator, timers, 3);
    await syncAll(coordinator, results);
    const [a, b] = results as [JoinResult, JoinResult, JoinResult];
    // a and b heartbeat, c stays silent.
    for (let elapsed = 0; elapsed < SESSION_MS; elapsed += 3_000) {
      await timers.advance(3_000);
      coordinator.heartbeat("g", a.memberId, null, 1);
      coordinator.heartbeat("g", b.memberId, null, 1);
    }
    expect(coordinator.groupState("g")).toBe("PreparingRebalance");
    const rejoinA = track(coordinator.joinGroup(joinInput({ memberId: a.memberId })));
    // b keeps heartbeating (REBALANCE_IN_PROGRESS) but never rejoins: after the rebalance timeout, counted from c's
    // expiry at 10 s, the generation goes on without it.
    for (let elapsed = 0; elapsed < REBALANCE_MS - 3_000; elapsed += 3_000) {
      await timers.advance(3_000);
      expect(coordinator.heartbeat("g", b.memberId, null, 1)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    }
    expect(rejoinA.value).toBeUndefined();
    await timers.advance(3_000);
    expect(rejoinA.value).toMatchObject({ errorCode: 0, generationId: 2, leader: a.memberId });
    expect(rejoinA.value!.members.map((member) => member.memberId)).toEqual([a.memberId]);
    expect(coordinator.heartbeat("g", b.memberId, null, 2)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test("members that do not sync within the rebalance timeout are removed and the group rebalances", async () => {
    const { coordinator, timers } = setup();
    // A rebalance timeout shorter than the session, so the missing sync is what removes the leader.
    const rebalanceTimeoutMs = SESSION_MS / 2;
    const [a, b] = (await formGroup(coordinator, timers, 2, { rebalanceTimeoutMs })) as [JoinResult, JoinResult];
    const followerSync = track(
      coordinator.syncGroup({ groupId: "g", generationId: 1, memberId: b.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] }),
    );
    await timers.advance(rebalanceTimeoutMs);
    // The leader (a) never synced: it is removed, b's parked sync learns of the new rebalance.
    expect(followerSync.value!.errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    expect(coordinator.heartbeat("g", a.memberId, null, 1)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(coordinator.groupState("g")).toBe("PreparingRebalance");
  });

  test("the last member leaving empties the group; DeleteGroups then removes it and its offsets", async () => {
    const { coordinator, timers } = setup();
    const results = await formGroup(coordinator, timers, 1);
    await syncAll(coordinator, results);
    const memberId = results[0]!.memberId;
    expect(coordinator.commitOffsets({ groupId: "g", generationId: 1, memberId, groupInstanceId: null, offsets: [{ topic: "t", partition: 0, value: { offset: 5, leaderEpoch: 0, metadata: "", commitTimestamp: 1 } }] })).toEqual([0]);
    expect(coordinator.deleteGroups(["g", "nope"])).toEqual([
      { groupId: "g", errorCode: ErrorCode.NON_EMPTY_GROUP },
      { groupId: "nope", errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
    ]);
    coordinator.leaveGroup("g", [{ memberId, groupInstanceId: null }]);
    expect(coordinator.groupState("g")).toBe("Empty");
    expect(coordinator.listGroups(["empty"]).map((group) => group.groupId)).toEqual(["g"]);
    expect(coordinator.listGroups(["Stable"])).toEqual([]);
    expect(coordinator.deleteGroups(["g"])).toEqual([{ groupId: "g", errorCode: ErrorCode.NONE }]);
    expect(coordinator.fetchOffsets("g", [{ topic: "t", partitions: [0] }])[0]!.partitions[0]!.offset).toBe(-1);
    expect(coordinator.describeGroups(["g"])[0]!.state).toBe("Dead");
  });

  test("describe shows metadata and assignments in Stable only", async () => {
    const { coordinator, timers } = setup();
    const results = await formGroup(coordinator, timers, 2);
    expect(coordinator.describeGroups(["g"])[0]!.members.every((member) => member.memberAssignment.length === 0)).toBe(true);
    await syncAll(coordinator, results);
    const [described] = coordinator.describeGroups(["g"]);
    expect(described).toMatchObject({ state: "Stable", protocolType: "consumer", protocolData: "range" });
    expect(described!.members.map((member) => new TextDecoder().decode(member.memberAssignment)).sort()).toEqual(results.map((r) => r.memberId).sort());
    expect(described!.members[0]!.memberMetadata).toEqual(subscription(["t"]));
  });
});

describe("cleanup", () => {
  test("Empty groups without offsets are forgotten by the sweep; groups with offsets stay", async () => {
    const sweepMs = 600_000;
    const { coordinator, timers } = setup({ emptyGroupSweepIntervalMs: sweepMs });
    const results = await formGroup(coordinator, timers, 1);
    coordinator.leaveGroup("g", [{ memberId: results[0]!.memberId, groupInstanceId: null }]);
    coordinator.commitOffsets({ groupId: "kept", generationId: -1, memberId: "", groupInstanceId: null, offsets: [{ topic: "t", partition: 0, value: { offset: 1, leaderEpoch: -1, metadata: "", commitTimestamp: 0 } }] });
    expect(coordinator.groupState("g")).toBe("Empty");
    await timers.advance(2 * sweepMs);
    expect(coordinator.groupState("g")).toBeUndefined();
    expect(coordinator.groupState("kept")).toBe("Empty");
  });

  test("offsets expire after the retention: a simple consumer's per commit, an emptied group's all at once", async () => {
    const { coordinator, timers } = setup({ offsetsRetentionMs: 60_000, emptyGroupSweepIntervalMs: 10_000 });
    const value = (offset: number) => ({ offset, leaderEpoch: -1, metadata: "", commitTimestamp: timers.now() });
    coordinator.commitOffsets({ groupId: "s", generationId: -1, memberId: "", groupInstanceId: null, offsets: [{ topic: "t", partition: 0, value: value(1) }] });
    const results = await formGroup(coordinator, timers, 1);
    await syncAll(coordinator, results);
    coordinator.commitOffsets({ groupId: "g", generationId: 1, memberId: results[0]!.memberId, groupInstanceId: null, offsets: [{ topic: "t", partition: 0, value: value(2) }] });
    await timers.advance(30_000);
    // Active groups keep their offsets however old.
    coordinator.heartbeat("g", results[0]!.memberId, null, 1);
    coordinator.leaveGroup("g", [{ memberId: results[0]!.memberId, groupInstanceId: null }]);
    await timers.advance(40_000);
    expect(coordinator.fetchOffsets("s", null)).toEqual([]);
    expect(coordinator.groupState("s")).toBeUndefined();
    expect(coordinator.fetchOffsets("g", null)).toHaveLength(1); // Empty for 40 s only
    await timers.advance(30_000);
    expect(coordinator.fetchOffsets("g", null)).toEqual([]);
  });

  test("deleting a topic deletes every group's offsets for it", () => {
    const { coordinator } = setup();
    const value = { offset: 1, leaderEpoch: -1, metadata: "", commitTimestamp: 0 };
    for (const groupId of ["a", "b"]) {
      coordinator.commitOffsets({ groupId, generationId: -1, memberId: "", groupInstanceId: null, offsets: [{ topic: "gone", partition: 0, value }, { topic: "kept", partition: 0, value }] });
    }
    coordinator.deleteTopicOffsets("gone");
    expect(coordinator.fetchOffsets("a", null).map((topic) => topic.topic)).toEqual(["kept"]);
    expect(coordinator.fetchOffsets("b", null).map((topic) => topic.topic)).toEqual(["kept"]);
  });

  test("close answers parked joins and syncs with NOT_COORDINATOR", async () => {
    const { coordinator } = setup();
    const join = track(coordinator.joinGroup(joinInput()));
    await settle();
    coordinator.close();
    await settle();
    expect(join.value!.errorCode).toBe(ErrorCode.NOT_COORDINATOR);
  });
});

describe("static membership", () => {
  test("a static member restarting within its session takes over without a rebalance; its old id is fenced", async () => {
    const { coordinator, timers } = setup();
    const joins = ["a", "b"].map((instance) => track(coordinator.joinGroup(joinInput({ groupInstanceId: instance }))));
    await timers.advance(FORM_MS);
    const [a, b] = joins.map((join) => join.value!) as [JoinResult, JoinResult];
    expect(a.memberId).toStartWith("a-");
    await syncAll(coordinator, [a, b]);

    const restarted = await coordinator.joinGroup(joinInput({ groupInstanceId: "b" }));
    expect(restarted).toMatchObject({ errorCode: 0, generationId: 1, leader: a.memberId });
    expect(restarted.memberId).not.toBe(b.memberId);
    expect(coordinator.groupState("g")).toBe("Stable");
    expect(coordinator.heartbeat("g", b.memberId, "b", 1)).toBe(ErrorCode.FENCED_INSTANCE_ID);
    expect(coordinator.heartbeat("g", restarted.memberId, "b", 1)).toBe(ErrorCode.NONE);
    const sync = await coordinator.syncGroup({ groupId: "g", generationId: 1, memberId: restarted.memberId, groupInstanceId: "b", protocolType: null, protocolName: null, assignments: [] });
    expect(new TextDecoder().decode(sync.assignment)).toBe(b.memberId); // the assignment stays with the instance
    expect(coordinator.heartbeat("g", "x", "unknown-instance", 1)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test("an admin removes a static member by instance id", async () => {
    const { coordinator, timers } = setup();
    const join = track(coordinator.joinGroup(joinInput({ groupInstanceId: "a" })));
    await timers.advance(DELAY_MS);
    await syncAll(coordinator, [join.value!]);
    expect(coordinator.leaveGroup("g", [{ memberId: "", groupInstanceId: "a" }, { memberId: "", groupInstanceId: "zz" }]).members.map((m) => m.errorCode)).toEqual([
      ErrorCode.NONE,
      ErrorCode.UNKNOWN_MEMBER_ID,
    ]);
    expect(coordinator.groupState("g")).toBe("Empty");
  });
});

describe("offsets", () => {
  const offset = (value: number, metadata = "") => ({ offset: value, leaderEpoch: 3, metadata, commitTimestamp: 42 });

  test("simple consumers commit and fetch; unknown partitions fetch -1; topics null lists all", () => {
    const { coordinator } = setup();
    expect(coordinator.commitOffsets({ groupId: "s", generationId: -1, memberId: "", groupInstanceId: null, offsets: [{ topic: "t", partition: 1, value: offset(9, "m") }] })).toEqual([0]);
    expect(coordinator.fetchOffsets("s", [{ topic: "t", partitions: [0, 1] }, { topic: "u", partitions: [0] }])).toEqual([
      { topic: "t", partitions: [{ partition: 0, offset: -1, leaderEpoch: -1, metadata: "" }, { partition: 1, offset: 9, leaderEpoch: 3, metadata: "m" }] },
      { topic: "u", partitions: [{ partition: 0, offset: -1, leaderEpoch: -1, metadata: "" }] },
    ]);
    expect(coordinator.fetchOffsets("s", null)).toEqual([{ topic: "t", partitions: [{ partition: 1, offset: 9, leaderEpoch: 3, metadata: "m" }] }]);
    expect(coordinator.fetchOffsets("unknown", null)).toEqual([]);
    expect(coordinator.listGroups([])).toEqual([{ groupId: "s", protocolType: "", state: "Empty", groupType: "classic", members: 0 }]);
    const tooLarge = coordinator.commitOffsets({ groupId: "s", generationId: -1, memberId: "", groupInstanceId: null, offsets: [{ topic: "t", partition: 0, value: offset(1, "x".repeat(5000)) }] });
    expect(tooLarge).toEqual([ErrorCode.OFFSET_METADATA_TOO_LARGE]);
    // A generation for a group that does not exist is from a gone generation.
    expect(coordinator.commitOffsets({ groupId: "gone", generationId: 3, memberId: "m", groupInstanceId: null, offsets: [{ topic: "t", partition: 0, value: offset(1) }] })).toEqual([
      ErrorCode.ILLEGAL_GENERATION,
    ]);
  });

  test("only members commit to an active group; CompletingRebalance answers REBALANCE_IN_PROGRESS", async () => {
    const { coordinator, timers } = setup();
    const results = await formGroup(coordinator, timers, 1);
    const memberId = results[0]!.memberId;
    const commit = (generationId: number, member: string) =>
      coordinator.commitOffsets({ groupId: "g", generationId, memberId: member, groupInstanceId: null, offsets: [{ topic: "t", partition: 0, value: offset(1) }] })[0];
    expect(commit(1, memberId)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    await syncAll(coordinator, results);
    expect(commit(-1, "")).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(commit(1, "other")).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(commit(0, memberId)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(commit(1, memberId)).toBe(ErrorCode.NONE);
  });

  test("OffsetDelete: subscribed topics are refused while the group is active, all go once it is Empty", async () => {
    const { coordinator, timers } = setup();
    const results = await formGroup(coordinator, timers, 1);
    await syncAll(coordinator, results);
    const memberId = results[0]!.memberId;
    coordinator.commitOffsets({ groupId: "g", generationId: 1, memberId, groupInstanceId: null, offsets: [{ topic: "t", partition: 0, value: offset(1) }, { topic: "old", partition: 0, value: offset(2) }] });
    const partitions = [{ topic: "t", partition: 0 }, { topic: "old", partition: 0 }];
    expect(coordinator.deleteOffsets("g", partitions)).toEqual({ errorCode: 0, partitionErrors: [ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, 0] });
    expect(coordinator.fetchOffsets("g", null).map((topic) => topic.topic)).toEqual(["t"]);
    coordinator.leaveGroup("g", [{ memberId, groupInstanceId: null }]);
    expect(coordinator.deleteOffsets("g", partitions)).toEqual({ errorCode: 0, partitionErrors: [0, 0] });
    expect(coordinator.fetchOffsets("g", null)).toEqual([]);
    expect(coordinator.deleteOffsets("nope", partitions).errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
  });

  test("a new coordinator over the same logs rebuilds offsets, deletions and Stable groups from __consumer_offsets", async () => {
    const { coordinator, timers, topics } = setup();
    const results = await formGroup(coordinator, timers, 2);
    await syncAll(coordinator, results);
    const [a] = results as [JoinResult, JoinResult];
    coordinator.commitOffsets({ groupId: "g", generationId: 1, memberId: a.memberId, groupInstanceId: null, offsets: [{ topic: "t", partition: 0, value: offset(10, "meta") }] });
    coordinator.commitOffsets({ groupId: "g", generationId: 1, memberId: a.memberId, groupInstanceId: null, offsets: [{ topic: "t", partition: 0, value: offset(11, "meta") }] });
    coordinator.commitOffsets({ groupId: "s", generationId: -1, memberId: "", groupInstanceId: null, offsets: [{ topic: "t", partition: 0, value: offset(3) }, { topic: "t", partition: 1, value: offset(4) }] });
    coordinator.deleteOffsets("s", [{ topic: "t", partition: 1 }]);
    coordinator.commitOffsets({ groupId: "deleted", generationId: -1, memberId: "", groupInstanceId: null, offsets: [{ topic: "t", partition: 0, value: offset(5) }] });
    coordinator.deleteGroups(["deleted"]);
    expect(topics.get(OFFSETS_TOPIC)!.isInternal).toBe(true);

    const { coordinator: restarted, timers: timers2 } = setup({}, topics);
    expect(restarted.fetchOffsets("g", null)).toEqual([{ topic: "t", partitions: [{ partition: 0, offset: 11, leaderEpoch: 3, metadata: "meta" }] }]);
    expect(restarted.fetchOffsets("s", null)).toEqual([{ topic: "t", partitions: [{ partition: 0, offset: 3, leaderEpoch: 3, metadata: "" }] }]);
    expect(restarted.fetchOffsets("deleted", null)).toEqual([]);
    expect(restarted.listGroups([]).map((group) => [group.groupId, group.state]).sort()).toEqual([
      ["g", "Stable"],
      ["s", "Empty"],
    ]);
    // Members of the stored generation carry on without a rebalance...
    expect(restarted.heartbeat("g", a.memberId, null, 1)).toBe(ErrorCode.NONE);
    const sync = await restarted.syncGroup({ groupId: "g", generationId: 1, memberId: a.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
    expect(new TextDecoder().decode(sync.assignment)).toBe(a.memberId);
    // ...and the silent one expires after its session timeout.
    await timers2.advance(SESSION_MS / 2);
    expect(restarted.heartbeat("g", a.memberId, null, 1)).toBe(ErrorCode.NONE);
    await timers2.advance(SESSION_MS / 2);
    expect(restarted.groupState("g")).toBe("PreparingRebalance");
  });

  test("the offsets topic is compacted by the log cleaner: one record per key left, a rebuild gives the same offsets", async () => {
    const topics = new TopicStore((_topic, _partition, context) => new MemoryPartitionLog(undefined, topicLogConfigs(context.configs)));
    const { coordinator } = setup({}, topics);
    const commit = (i: number) =>
      coordinator.commitOffsets({ groupId: `g${i % 3}`, generationId: -1, memberId: "", groupInstanceId: null, offsets: [{ topic: "t", partition: i % 2, value: offset(i) }] });
    commit(0);
    const offsetsTopic = topics.get(OFFSETS_TOPIC)!;
    expect(offsetsTopic.configs.get("cleanup.policy")).toBe("compact");
    expect(Number(offsetsTopic.configs.get("segment.bytes"))).toBe(limits.internalTopicSegmentBytes);
    // Small segments, so that this many commits roll several (the cleaner never touches the active one).
    topics.alterConfigs(OFFSETS_TOPIC, new Map([...offsetsTopic.configs, ["segment.bytes", String(16 * 1024)]]));
    for (let i = 1; i < 3_000; i++) commit(i);
    const log = offsetsTopic.partitions[0]!;
    expect(readAll(log).length).toBe(3_000);
    expect(log.compactionDue!(Date.now())).toBe(true);
    expect((await log.compact!(Date.now())).cleaned).toBe(true);
    const left = readAll(log);
    // Six live keys (3 groups × 2 partitions) in the cleaned segments, plus what the active segment holds.
    expect(left.length).toBeLessThan(300);
    const { coordinator: restarted } = setup({}, topics);
    for (let group = 0; group < 3; group++) {
      expect(restarted.fetchOffsets(`g${group}`, null)).toEqual(coordinator.fetchOffsets(`g${group}`, null));
    }
    expect(restarted.fetchOffsets("g0", [{ topic: "t", partitions: [0, 1] }]).flatMap((t) => t.partitions.map((p) => p.offset))).toEqual([2_994, 2_997]);
  });
});
