// The KIP-848 coordinator driven by hand, against the transitions Kafka documents (KIP-848, CurrentAssignmentBuilder,
// GroupMetadataManager): members are simulated clients that apply each answer at once, or hold on to partitions
// they were told to revoke; timers are fake, so session and rebalance timeouts take no wall time.

import { describe, expect, test } from "bun:test";
import { MemoryPartitionLog } from "../../log/memory-log.ts";
import { TopicStore } from "../../metadata/topic-store.ts";
import { uuidToString } from "../../metadata/uuid.ts";
import { ErrorCode } from "../../protocol/error-codes.ts";
import { setLogLevel } from "../../util/logger.ts";
import { FakeTimers } from "../fake-timers.ts";
import { GroupCoordinator } from "../coordinator.ts";
import { assignmentToWire, type Assignment } from "./assignment.ts";
import { rangeAssignor, uniformAssignor } from "./assignors.ts";
import type { HeartbeatInput, HeartbeatResult } from "./coordinator.ts";
import { compileTopicRegex } from "./topic-regex.ts";

setLogLevel("warn");

const SESSION_MS = 45_000;
const REBALANCE_MS = 30_000;

function setup() {
  const timers = new FakeTimers();
  const topics = new TopicStore(() => new MemoryPartitionLog());
  const coordinator = new GroupCoordinator(topics, { timers, consumerGroupSettings: { sessionTimeoutMs: SESSION_MS, heartbeatIntervalMs: 5_000 } });
  const topicId = (name: string) => uuidToString(topics.get(name)!.topicId);
  return { timers, topics, coordinator, groups: coordinator.consumerGroups, topicId };
}

/** A simulated client: what it owns, its id and epoch. */
class Client {
  memberId: string;
  epoch = 0;
  owned: Assignment = new Map();
  last: HeartbeatResult | null = null;
  constructor(
    readonly env: ReturnType<typeof setup>,
    name: string,
    readonly join: Partial<HeartbeatInput> = {},
  ) {
    this.memberId = name;
  }
  /** One heartbeat; a full one when joining. Applies the answer: owns exactly the assignment when one comes. */
  beat(overrides: Partial<HeartbeatInput> = {}, apply = true): HeartbeatResult {
    const joining = this.epoch === 0;
    const result = this.env.coordinator.consumerGroupHeartbeat({
      groupId: "g",
      memberId: this.memberId,
      memberEpoch: this.epoch,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: joining ? REBALANCE_MS : -1,
      subscribedTopicNames: joining ? ["t"] : null,
      subscribedTopicRegex: null,
      serverAssignor: null,
      topicPartitions: joining ? [] : assignmentToWire(this.owned),
      clientId: "client",
      clientHost: "/127.0.0.1",
      apiVersion: 1,
      ...(joining ? this.join : {}),
      ...overrides,
    });
    this.last = result;
    if (result.errorCode === ErrorCode.NONE && apply) {
      this.epoch = result.memberEpoch;
      if (result.assignment !== null) this.owned = result.assignment;
    }
    return result;
  }
  partitions(topicId: string): number[] {
    return [...(this.owned.get(topicId) ?? [])].sort((a, b) => a - b);
  }
}

function ownedBy(clients: Client[], topicId: string): number[] {
  return clients.flatMap((client) => client.partitions(topicId)).sort((a, b) => a - b);
}

describe("joining and reconciliation", () => {
  test("the first member gets every partition at epoch 1; the group is Stable", () => {
    const env = setup();
    env.topics.create("t", 6);
    const a = new Client(env, "a");
    const result = a.beat();
    expect(result).toMatchObject({ errorCode: ErrorCode.NONE, memberId: "a", memberEpoch: 1, heartbeatIntervalMs: 5_000 });
    expect(a.partitions(env.topicId("t"))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(env.coordinator.describeConsumerGroup("g")).toMatchObject({ groupState: "Stable", groupEpoch: 1, assignmentEpoch: 1, assignorName: "uniform" });
  });

  test("a second member gets partitions only after the first revoked them (UNREVOKED, then UNRELEASED partitions)", () => {
    const env = setup();
    env.topics.create("t", 6);
    const t = env.topicId("t");
    const a = new Client(env, "a");
    const b = new Client(env, "b");
    a.beat();
    // b joins: group epoch 2, target 3+3, but all partitions are still a's: b waits at epoch 2 with none.
    expect(b.beat()).toMatchObject({ memberEpoch: 2 });
    expect(b.partitions(t)).toEqual([]);
    expect(env.groups.get("g")!.members.get("b")!.state).toBe("UNRELEASED_PARTITIONS");
    expect(env.coordinator.describeConsumerGroup("g")!.groupState).toBe("Reconciling");
    // a learns it must give up three: it stays at epoch 1 (UNREVOKED_PARTITIONS) and is told its smaller assignment.
    const told = a.beat({}, false);
    expect(told.memberEpoch).toBe(1);
    expect(told.assignment!.get(t)!.size).toBe(3);
    expect(env.groups.get("g")!.members.get("a")!.state).toBe("UNREVOKED_PARTITIONS");
    // Still reporting all six: nothing moves, b still gets nothing.
    expect(a.beat({}, false).memberEpoch).toBe(1);
    expect(b.beat().assignment).toBeNull();
    expect(b.partitions(t)).toEqual([]);
    // a revokes: epoch 2, STABLE. b then gets the three released.
    a.owned = told.assignment!;
    expect(a.beat()).toMatchObject({ memberEpoch: 2 });
    expect(b.beat().assignment!.get(t)!.size).toBe(3);
    expect(ownedBy([a, b], t)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(env.coordinator.describeConsumerGroup("g")!.groupState).toBe("Stable");
  });

  test("a partial heartbeat gets no assignment unless it changed (the full-request rule)", () => {
    const env = setup();
    env.topics.create("t", 2);
    const a = new Client(env, "a");
    a.beat();
    const partial = env.coordinator.consumerGroupHeartbeat({
      groupId: "g", memberId: "a", memberEpoch: 1, instanceId: null, rackId: null, rebalanceTimeoutMs: -1,
      subscribedTopicNames: null, subscribedTopicRegex: null, serverAssignor: null, topicPartitions: null,
      clientId: "c", clientHost: "h", apiVersion: 1,
    });
    expect(partial).toMatchObject({ errorCode: ErrorCode.NONE, memberEpoch: 1, assignment: null });
    // A full request (rebalance timeout, subscription and owned partitions) always gets it.
    expect(a.beat({ rebalanceTimeoutMs: REBALANCE_MS, subscribedTopicNames: ["t"] }).assignment).not.toBeNull();
  });

  test("v0 hands out member ids; v1 requires the client's", () => {
    const env = setup();
    env.topics.create("t", 1);
    const v0 = new Client(env, "");
    const result = v0.beat({ apiVersion: 0 });
    expect(result.errorCode).toBe(ErrorCode.NONE);
    expect(result.memberId!.length).toBeGreaterThan(0);
    expect(new Client(env, "").beat().errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });
});

describe("leaving, timeouts and fencing", () => {
  test("leaving (-1) removes the member and bumps the group epoch; the rest get its partitions", () => {
    const env = setup();
    env.topics.create("t", 4);
    const t = env.topicId("t");
    const [a, b] = [new Client(env, "a"), new Client(env, "b")];
    a.beat();
    b.beat();
    a.owned = a.beat({}, false).assignment!;
    a.beat();
    b.beat();
    expect(ownedBy([a, b], t)).toEqual([0, 1, 2, 3]);
    expect(b.beat({ memberEpoch: -1 })).toMatchObject({ errorCode: ErrorCode.NONE, memberId: "b", memberEpoch: -1 });
    expect(env.coordinator.describeConsumerGroup("g")!.groupEpoch).toBe(3);
    a.beat();
    expect(a.partitions(t)).toEqual([0, 1, 2, 3]);
    expect(b.beat({ memberEpoch: 5 }).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test("a member silent for the session timeout is removed", () => {
    const env = setup();
    env.topics.create("t", 2);
    const [a, b] = [new Client(env, "a"), new Client(env, "b")];
    a.beat();
    b.beat();
    env.timers.advance(SESSION_MS - 1);
    a.beat({}, false);
    env.timers.advance(2);
    expect(env.groups.get("g")!.members.has("b")).toBe(false);
    expect(env.groups.get("g")!.members.has("a")).toBe(true);
    expect(b.beat().errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test("a member that does not revoke within its rebalance timeout is fenced", () => {
    const env = setup();
    env.topics.create("t", 4);
    const t = env.topicId("t");
    const [a, b] = [new Client(env, "a"), new Client(env, "b")];
    a.beat();
    b.beat();
    a.beat({}, false); // told to revoke, keeps everything
    env.timers.advance(REBALANCE_MS / 2);
    a.beat({}, false);
    b.beat();
    env.timers.advance(REBALANCE_MS / 2 + 1);
    expect(env.groups.get("g")!.members.has("a")).toBe(false);
    b.beat();
    expect(b.partitions(t)).toEqual([0, 1, 2, 3]);
    expect(a.beat().errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test("epochs: ahead is fenced, behind is fenced unless it is the previous epoch with owned ⊆ assignment", () => {
    const env = setup();
    env.topics.create("t", 2);
    const a = new Client(env, "a");
    a.beat(); // epoch 1
    new Client(env, "b").beat(); // group epoch 2
    a.owned = a.beat({}, false).assignment!; // told to revoke one, revokes it
    a.beat(); // epoch 2; previous 1
    expect(a.epoch).toBe(2);
    expect(a.beat({ memberEpoch: 3 }, false).errorCode).toBe(ErrorCode.FENCED_MEMBER_EPOCH);
    // The answer with epoch 2 was lost: epoch 1 with what it owns (within its assignment) is accepted.
    expect(a.beat({ memberEpoch: 1 }, false)).toMatchObject({ errorCode: ErrorCode.NONE, memberEpoch: 2 });
    // Epoch 1 claiming a partition it does not have is not.
    const t = env.topicId("t");
    const both = new Map([[t, new Set([0, 1])]]);
    expect(a.beat({ memberEpoch: 1, topicPartitions: assignmentToWire(both) }, false).errorCode).toBe(ErrorCode.FENCED_MEMBER_EPOCH);
    expect(a.beat({ memberEpoch: 0, topicPartitions: [], rebalanceTimeoutMs: REBALANCE_MS, subscribedTopicNames: ["t"] })).toMatchObject({ errorCode: ErrorCode.NONE });
  });

  test("a member rejoining with epoch 0 under its id starts over: its partitions are free at once", () => {
    const env = setup();
    env.topics.create("t", 2);
    const t = env.topicId("t");
    const [a, b] = [new Client(env, "a"), new Client(env, "b")];
    a.beat();
    b.beat(); // waits for a's partition
    a.epoch = 0; // a lost its state (FENCED_MEMBER_EPOCH) and rejoins with nothing
    a.owned = new Map();
    expect(a.beat().errorCode).toBe(ErrorCode.NONE);
    b.beat();
    expect(ownedBy([a, b], t)).toEqual([0, 1]);
    expect(a.partitions(t).length).toBe(1);
  });

  test("an unknown group answers UNKNOWN_MEMBER_ID to a member (state lost in a restart); it rejoins with epoch 0", () => {
    const env = setup();
    env.topics.create("t", 1);
    const a = new Client(env, "a");
    a.epoch = 7;
    expect(a.beat().errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    a.epoch = 0;
    expect(a.beat().errorCode).toBe(ErrorCode.NONE);
  });
});

describe("static members", () => {
  test("leaving with -2 keeps the partitions; the instance rejoins under a new id and gets them back without an epoch bump", () => {
    const env = setup();
    env.topics.create("t", 4);
    const t = env.topicId("t");
    const a = new Client(env, "a1", { instanceId: "i-a" });
    const b = new Client(env, "b");
    a.beat({ instanceId: "i-a" });
    b.beat();
    a.owned = a.beat({}, false).assignment!;
    a.beat();
    b.beat();
    const aPartitions = a.partitions(t);
    expect(aPartitions.length).toBe(2);
    expect(a.beat({ memberEpoch: -2, instanceId: "i-a" })).toMatchObject({ errorCode: ErrorCode.NONE, memberEpoch: -2 });
    const epoch = env.coordinator.describeConsumerGroup("g")!.groupEpoch;
    b.beat();
    expect(b.partitions(t).length).toBe(2); // a's stay a's
    // Another member with the same instance id while a's instance is still held is refused, until it was released.
    const rejoined = new Client(env, "a2", { instanceId: "i-a" });
    expect(rejoined.beat()).toMatchObject({ errorCode: ErrorCode.NONE, memberEpoch: epoch });
    expect(rejoined.partitions(t)).toEqual(aPartitions);
    expect(env.coordinator.describeConsumerGroup("g")!.groupEpoch).toBe(epoch);
    expect(new Client(env, "a3", { instanceId: "i-a" }).beat().errorCode).toBe(ErrorCode.UNRELEASED_INSTANCE_ID);
    // The old id is fenced by the new one.
    expect(a.beat({ instanceId: "i-a" }).errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
  });

  test("a static member that does not come back within the session timeout is removed", () => {
    const env = setup();
    env.topics.create("t", 2);
    const a = new Client(env, "a1", { instanceId: "i-a" });
    const b = new Client(env, "b");
    a.beat();
    b.beat();
    a.beat({ memberEpoch: -2, instanceId: "i-a" });
    for (let i = 0; i < 10; i++) {
      env.timers.advance(SESSION_MS / 9);
      b.beat();
    }
    expect(env.groups.get("g")!.staticMembers.has("i-a")).toBe(false);
    expect(b.partitions(env.topicId("t"))).toEqual([0, 1]);
  });
});

describe("validation", () => {
  test("Kafka's request checks", () => {
    const env = setup();
    env.topics.create("t", 1);
    const invalid = (overrides: Partial<HeartbeatInput>) => new Client(env, "x").beat(overrides).errorCode;
    expect(invalid({ groupId: "" })).toBe(ErrorCode.INVALID_REQUEST);
    expect(invalid({ instanceId: "" })).toBe(ErrorCode.INVALID_REQUEST);
    expect(invalid({ rackId: "" })).toBe(ErrorCode.INVALID_REQUEST);
    expect(invalid({ rebalanceTimeoutMs: -1 })).toBe(ErrorCode.INVALID_REQUEST);
    expect(invalid({ topicPartitions: null })).toBe(ErrorCode.INVALID_REQUEST);
    expect(invalid({ subscribedTopicNames: null })).toBe(ErrorCode.INVALID_REQUEST);
    expect(invalid({ memberEpoch: -3 })).toBe(ErrorCode.INVALID_REQUEST);
    expect(invalid({ memberEpoch: -2 })).toBe(ErrorCode.INVALID_REQUEST); // no instance id
    expect(invalid({ serverAssignor: "sticky" })).toBe(ErrorCode.UNSUPPORTED_ASSIGNOR);
    expect(invalid({ subscribedTopicRegex: "(" })).toBe(ErrorCode.INVALID_REGULAR_EXPRESSION);
    expect(invalid({ subscribedTopicRegex: "(?i)orders" })).toBe(ErrorCode.INVALID_REGULAR_EXPRESSION);
  });

  test("regexes: RE2's common subset is taken, constructs RE2 refuses or JavaScript reads differently are not", () => {
    const matches = (source: string, name: string) => {
      const compiled = compileTopicRegex(source);
      if ("error" in compiled) throw new Error(compiled.error);
      return compiled.regex.test(name);
    };
    expect(matches("orders-.*", "orders-eu")).toBe(true);
    expect(matches("orders", "orders-eu")).toBe(false); // full match, as RE2/J matches()
    expect(matches("a|b", "b")).toBe(true);
    expect(matches("[a-c]+\\d{2}", "abc12")).toBe(true);
    expect(matches("(?:x|y)\\.z", "y.z")).toBe(true);
    for (const refused of ["(a)\\1", "a(?=b)", "a(?!b)", "(?<=a)b", "(?i)abc", "\\Qa.b\\E", "[[:alpha:]]+", "\\pL", "(?P<n>a)", "abc\\z", "*"]) {
      expect("error" in compileTopicRegex(refused)).toBe(true);
    }
    expect("error" in compileTopicRegex("a\\\\1")).toBe(false); // an escaped backslash, then "1"
    // Backtracking blow-ups RE2 does not have: nested or alternating repeats, too many unbounded repeats.
    for (const refused of ["(a+)+b", "(a|aa)*b", "(x*)*", ".*a.*b.*c.*d", "(?:ab|cd){2,}", "a.{0,100}b.{0,100}c.{0,100}d.*"]) {
      expect("error" in compileTopicRegex(refused)).toBe(true);
    }
    for (const taken of ["(orders|payments)-.*", "[a-z]+-\\d{4}-\\d{2}", "(?:eu|us)\\.orders\\..+", "a.*b.*c", "x(ab)?y"]) {
      expect(compileTopicRegex(taken)).not.toHaveProperty("error");
    }
  });

  test("the group size is bounded", () => {
    const env = setup();
    env.groups.settings.membersMax = 2;
    env.topics.create("t", 1);
    new Client(env, "a").beat();
    new Client(env, "b").beat();
    expect(new Client(env, "c").beat().errorCode).toBe(ErrorCode.GROUP_MAX_SIZE_REACHED);
  });
});

describe("topics and subscriptions", () => {
  test("a regex subscription picks up topics created later; deleting one and adding partitions move the assignment", () => {
    const env = setup();
    env.topics.create("in-a", 2);
    env.topics.create("other", 2);
    const a = new Client(env, "a", { subscribedTopicNames: [], subscribedTopicRegex: "in-.*" });
    a.beat();
    expect([...a.owned.keys()]).toEqual([env.topicId("in-a")]);
    env.topics.create("in-b", 3);
    a.beat();
    expect(a.partitions(env.topicId("in-b"))).toEqual([0, 1, 2]);
    env.topics.createPartitions("in-a", 4);
    a.beat();
    expect(a.partitions(env.topicId("in-a"))).toEqual([0, 1, 2, 3]);
    const inB = env.topicId("in-b");
    env.topics.delete("in-b");
    const told = a.beat({}, false);
    expect(told.assignment!.has(inB)).toBe(false);
    expect(env.coordinator.describeConsumerGroup("g")!.members[0]!.subscribedTopicRegex).toBe("in-.*");
  });

  test("with an authorizer a regex matches only topics the member may describe", () => {
    const env = setup();
    env.topics.create("in-open", 1);
    env.topics.create("in-secret", 1);
    const a = new Client(env, "a", { subscribedTopicNames: [], subscribedTopicRegex: "in-.*" });
    a.beat({ mayDescribeTopic: (topic) => topic !== "in-secret" });
    expect([...a.owned.keys()]).toEqual([env.topicId("in-open")]);
  });

  test("subscribing by name to a topic that does not exist yet: assigned once it is created", () => {
    const env = setup();
    const a = new Client(env, "a", { subscribedTopicNames: ["later"] });
    expect(a.beat()).toMatchObject({ errorCode: ErrorCode.NONE, memberEpoch: 1 });
    expect(a.owned.size).toBe(0);
    env.topics.create("later", 2);
    expect(a.beat().memberEpoch).toBe(2);
    expect(a.partitions(env.topicId("later"))).toEqual([0, 1]);
  });
});

describe("assignors", () => {
  const topic = (id: string, members: string[], current: Record<string, number[]> = {}) =>
    members.map((memberId) => ({ memberId, subscribedTopicIds: new Set([id]), currentAssignment: new Map(current[memberId] ? [[id, new Set(current[memberId])]] : []) }));
  const counts = (result: Map<string, Assignment>) => [...result.values()].map((assignment) => [...assignment.values()].reduce((sum, set) => sum + set.size, 0));

  test("uniform: balanced within one, sticky when a member joins", () => {
    const first = uniformAssignor.assign({ members: topic("T", ["a", "b", "c"]), topics: new Map([["T", 7]]) });
    expect(counts(first).sort()).toEqual([2, 2, 3]);
    const current = Object.fromEntries([...first].map(([memberId, assignment]) => [memberId, [...(assignment.get("T") ?? [])]]));
    const second = uniformAssignor.assign({ members: topic("T", ["a", "b", "c", "d"], current), topics: new Map([["T", 7]]) });
    expect(counts(second).sort()).toEqual([1, 2, 2, 2]);
    // Nobody lost a partition except to d, and nobody else gained any.
    for (const memberId of ["a", "b", "c"]) {
      for (const partition of second.get(memberId)!.get("T") ?? []) expect(current[memberId]).toContain(partition);
    }
  });

  test("uniform: more members than partitions; previous owners keep theirs", () => {
    const first = uniformAssignor.assign({ members: topic("T", ["a", "b"]), topics: new Map([["T", 3]]) });
    const current = Object.fromEntries([...first].map(([memberId, assignment]) => [memberId, [...(assignment.get("T") ?? [])]]));
    const second = uniformAssignor.assign({ members: topic("T", ["a", "b", "c", "d", "e"], current), topics: new Map([["T", 3]]) });
    expect(counts(second).sort()).toEqual([0, 0, 1, 1, 1]);
    for (const memberId of ["a", "b"]) expect(current[memberId]).toContain([...second.get(memberId)!.get("T")!][0]);
    // Partitions that no longer exist are dropped; the topic growing gives the new ones out.
    const grown = uniformAssignor.assign({ members: topic("T", ["a", "b"], { a: [0, 1], b: [2] }), topics: new Map([["T", 6]]) });
    expect(counts(grown)).toEqual([3, 3]);
    expect([...grown.get("a")!.get("T")!]).toEqual(expect.arrayContaining([0, 1]));
  });

  test("uniform: members get only topics they subscribe to", () => {
    const members = [
      { memberId: "a", subscribedTopicIds: new Set(["X"]), currentAssignment: new Map() },
      { memberId: "b", subscribedTopicIds: new Set(["X", "Y"]), currentAssignment: new Map() },
    ];
    const result = uniformAssignor.assign({ members, topics: new Map([["X", 2], ["Y", 2]]) });
    expect(result.get("a")!.has("Y")).toBe(false);
    expect([...result.get("b")!.get("Y")!].sort()).toEqual([0, 1]);
    expect(counts(result)).toEqual([2, 2]);
  });

  test("range: consecutive ranges in member-id order, the first ones one more", () => {
    const result = rangeAssignor.assign({ members: topic("T", ["b", "a", "c"]), topics: new Map([["T", 7]]) });
    expect([...result.get("a")!.get("T")!]).toEqual([0, 1, 2]);
    expect([...result.get("b")!.get("T")!]).toEqual([3, 4]);
    expect([...result.get("c")!.get("T")!]).toEqual([5, 6]);
  });

  test("range: static members first, by instance id", () => {
    const members = [
      { memberId: "a", instanceId: null, subscribedTopicIds: new Set(["T"]), currentAssignment: new Map() },
      { memberId: "b", instanceId: "z", subscribedTopicIds: new Set(["T"]), currentAssignment: new Map() },
      { memberId: "c", instanceId: "y", subscribedTopicIds: new Set(["T"]), currentAssignment: new Map() },
    ];
    const result = rangeAssignor.assign({ members, topics: new Map([["T", 3]]) });
    expect([result.get("c")!.get("T"), result.get("b")!.get("T"), result.get("a")!.get("T")].map((set) => [...set!])).toEqual([[0], [1], [2]]);
  });

  test("the group uses the assignor its members ask for", () => {
    const env = setup();
    env.topics.create("t", 3);
    const t = env.topicId("t");
    const a = new Client(env, "a", { serverAssignor: "range" });
    a.beat();
    new Client(env, "b", { serverAssignor: "range" }).beat();
    expect(env.coordinator.describeConsumerGroup("g")!.assignorName).toBe("range");
    expect([...env.groups.get("g")!.targetAssignment.get("a")!.get(t)!]).toEqual([0, 1]);
  });
});

describe("offsets and the classic coordinator", () => {
  const commit = (env: ReturnType<typeof setup>, memberId: string, epoch: number, apiVersion = 9) =>
    env.coordinator.commitOffsets({
      groupId: "g", generationId: epoch, memberId, groupInstanceId: null, apiVersion,
      offsets: [{ topic: "t", partition: 0, value: { offset: 5, leaderEpoch: -1, metadata: "", commitTimestamp: 1 } }],
    })[0];

  test("commits and fetches check the member epoch", () => {
    const env = setup();
    env.topics.create("t", 1);
    const a = new Client(env, "a");
    a.beat();
    expect(commit(env, "a", 1)).toBe(ErrorCode.NONE);
    expect(commit(env, "a", 2)).toBe(ErrorCode.STALE_MEMBER_EPOCH);
    expect(commit(env, "zz", 1)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(commit(env, "", -1)).toBe(ErrorCode.UNKNOWN_MEMBER_ID); // members present
    expect(commit(env, "a", 1, 8)).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect(env.coordinator.validateOffsetFetch("g", "a", 1)).toBe(ErrorCode.NONE);
    expect(env.coordinator.validateOffsetFetch("g", "a", 0)).toBe(ErrorCode.STALE_MEMBER_EPOCH);
    expect(env.coordinator.validateOffsetFetch("g", "zz", 1)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(env.coordinator.validateOffsetFetch("g", null, -1)).toBe(ErrorCode.NONE);
    expect(env.coordinator.fetchOffsets("g", [{ topic: "t", partitions: [0] }])[0]!.partitions[0]!.offset).toBe(5);
    a.beat({ memberEpoch: -1 });
    expect(commit(env, "", -1)).toBe(ErrorCode.NONE); // Empty now
  });

  test("lists, deletes and offset deletes both kinds; one id is one kind, converted only when Empty", async () => {
    const env = setup();
    env.topics.create("t", 1);
    // A classic Empty group (a simple consumer's commit) becomes a consumer group when a member joins; offsets stay.
    expect(commit(env, "", -1)).toBe(ErrorCode.NONE);
    expect(env.coordinator.listGroups([])).toEqual([{ groupId: "g", protocolType: "", state: "Empty", groupType: "classic", members: 0 }]);
    const a = new Client(env, "a");
    expect(a.beat().errorCode).toBe(ErrorCode.NONE);
    expect(env.coordinator.listGroups([])).toEqual([{ groupId: "g", protocolType: "consumer", state: "Stable", groupType: "consumer", members: 1 }]);
    expect(env.coordinator.fetchOffsets("g", null)[0]!.partitions[0]!.offset).toBe(5);
    expect(env.coordinator.describeGroups(["g"])[0]).toMatchObject({ state: "Dead", members: [] });
    // A classic member cannot join while it has members; DeleteGroups refuses; OffsetDelete keeps subscribed topics.
    const join = await env.coordinator.joinGroup({
      groupId: "g", memberId: "", groupInstanceId: null, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, protocolType: "consumer",
      protocols: [{ name: "range", metadata: new Uint8Array() }], clientId: "c", clientHost: "h", requireKnownMemberId: false, supportSkippingAssignment: false,
    }).catch((error) => error);
    expect(join.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect(env.coordinator.deleteGroups(["g"])).toEqual([{ groupId: "g", errorCode: ErrorCode.NON_EMPTY_GROUP }]);
    expect(env.coordinator.deleteOffsets("g", [{ topic: "t", partition: 0 }]).partitionErrors).toEqual([ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC]);
    // A classic group with members refuses the heartbeat of a consumer member.
    a.beat({ memberEpoch: -1 });
    expect(env.coordinator.listGroups(["empty"])).toEqual([{ groupId: "g", protocolType: "consumer", state: "Empty", groupType: "consumer", members: 0 }]);
    expect(env.coordinator.deleteGroups(["g"])).toEqual([{ groupId: "g", errorCode: ErrorCode.NONE }]);
    expect(env.coordinator.fetchOffsets("g", null)).toEqual([]);
  });

  test("a classic group with members answers GROUP_ID_NOT_FOUND to a consumer member; an Empty consumer group becomes classic", async () => {
    const env = setup();
    env.topics.create("t", 1);
    env.coordinator.settings.initialRebalanceDelayMs = 0;
    const joinInput = {
      groupId: "g", memberId: "", groupInstanceId: null, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, protocolType: "consumer",
      protocols: [{ name: "range", metadata: new Uint8Array() }], clientId: "c", clientHost: "h", requireKnownMemberId: false, supportSkippingAssignment: false,
    };
    const a = new Client(env, "a");
    a.beat();
    a.beat({ memberEpoch: -1 });
    const joining = env.coordinator.joinGroup(joinInput);
    env.timers.advance(1);
    await Promise.resolve();
    expect(env.groups.list().length).toBe(0);
    void joining;
    expect(env.coordinator.groupState("g")).toBeDefined();
    expect(new Client(env, "b").beat().errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
  });
});
