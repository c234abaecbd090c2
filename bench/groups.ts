// Consumer-group figures for issue 4, measured over TCP against an in-process kgate (memory log):
// 1. rebalance of 10 members: time from the last JoinGroup sent to the last SyncGroup answer, for the first
//    generation (dominated by group.initial.rebalance.delay.ms, as in Kafka) and for a rebalance of a Stable group;
// 2. RSS added by 1,000 idle groups with one Stable member each;
// 3. OffsetCommit throughput from one connection (pipelined, one partition per request).
// Run: ./node_modules/.bin/bun bench/groups.ts [--commits N] [--groups N]

import { RawClient, decodeResponse, requestFrame } from "../test/helpers/raw-client.ts";
import { startTestServer } from "../test/helpers/server.ts";

const argument = (name: string, fallback: number) => {
  const index = process.argv.indexOf(name);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
};
const COMMITS = argument("--commits", 100_000);
const IDLE_GROUPS = argument("--groups", 1_000);
const COMMIT_WINDOW = 128;
const JOIN_VERSION = 5;
const SYNC_VERSION = 3;

let correlationId = 0;

async function call(client: RawClient, apiKey: number, version: number, body: object): Promise<any> {
  client.write(requestFrame(apiKey, version, ++correlationId, body));
  const frame = await client.nextFrame(60_000);
  if (!frame) throw new Error(`no answer to API ${apiKey}`);
  return decodeResponse(apiKey, version, frame).body;
}

const subscription = new Uint8Array([0, 0, 0, 0, 0, 1, 0, 1, 116, 255, 255, 255, 255]);
const protocols = [{ name: "range", metadata: subscription }];

function joinBody(groupId: string, memberId: string) {
  return { groupId, sessionTimeoutMs: 300_000, rebalanceTimeoutMs: 60_000, memberId, groupInstanceId: null, protocolType: "consumer", protocols };
}

/** KIP-394 two-step join; resolves with the JoinGroup answer. */
async function join(client: RawClient, groupId: string, memberId = ""): Promise<any> {
  let answer = await call(client, 11, JOIN_VERSION, joinBody(groupId, memberId));
  if (answer.errorCode === 79) answer = await call(client, 11, JOIN_VERSION, joinBody(groupId, answer.memberId));
  if (answer.errorCode !== 0) throw new Error(`JoinGroup error ${answer.errorCode}`);
  return answer;
}

async function sync(client: RawClient, groupId: string, joined: any): Promise<void> {
  const assignments = joined.members.map((member: any) => ({ memberId: member.memberId, assignment: new Uint8Array([0, 0]) }));
  const answer = await call(client, 14, SYNC_VERSION, { groupId, generationId: joined.generationId, memberId: joined.memberId, groupInstanceId: null, assignments });
  if (answer.errorCode !== 0) throw new Error(`SyncGroup error ${answer.errorCode}`);
}

/** All members join at once, then sync; ms from the last JoinGroup sent to the last SyncGroup answer. */
async function rebalance(clients: RawClient[], groupId: string, memberIds: string[]): Promise<{ ms: number; joined: any[] }> {
  const lastJoinSent = performance.now();
  const joined = await Promise.all(clients.map((client, i) => join(client, groupId, memberIds[i])));
  await Promise.all(clients.map((client, i) => sync(client, groupId, joined[i])));
  return { ms: performance.now() - lastJoinSent, joined };
}

function rssMiB(): number {
  Bun.gc(true);
  return process.memoryUsage().rss / 2 ** 20;
}

await using server = await startTestServer();
const { settings } = server.broker.groups;
server.broker.topics.create("t", 1);

// 1. Rebalance of 10 members.
const members = await Promise.all(Array.from({ length: 10 }, () => RawClient.connect(server.port)));
const first = await rebalance(members, "rebalance-10", members.map(() => ""));
console.log(`first generation of 10 members: ${first.ms.toFixed(1)} ms (initial rebalance delay ${settings.initialRebalanceDelayMs} ms, Kafka's default)`);
// The leader rejoins (as after a metadata change): the others learn it from their heartbeat and rejoin at once.
const memberIds = first.joined.map((answer) => answer.memberId);
const leaderIndex = first.joined.findIndex((answer) => answer.leader === answer.memberId);
const started = performance.now();
const leaderRejoin = join(members[leaderIndex]!, "rebalance-10", memberIds[leaderIndex]);
await Bun.sleep(0);
const heartbeats = await Promise.all(
  members.map((client, i) => (i === leaderIndex ? null : call(client, 12, 3, { groupId: "rebalance-10", generationId: 1, memberId: memberIds[i], groupInstanceId: null }))),
);
if (!heartbeats.every((answer) => answer === null || answer.errorCode === 27)) throw new Error("expected REBALANCE_IN_PROGRESS");
const lastJoinSent = performance.now();
const rejoined = await Promise.all([leaderRejoin, ...members.map((client, i) => (i === leaderIndex ? null : join(client, "rebalance-10", memberIds[i])))]);
const answers = rejoined.filter((answer) => answer !== null);
await Promise.all(members.map((client, i) => sync(client, "rebalance-10", answers.find((answer) => answer.memberId === memberIds[i]))));
const done = performance.now();
console.log(
  `rebalance of a Stable 10-member group (one round: heartbeat → rejoin → sync): ${(done - lastJoinSent).toFixed(1)} ms from the last JoinGroup, ${(done - started).toFixed(1)} ms in all; generation ${answers[0].generationId}`,
);
for (const client of members) client.close();

// 2. Idle groups.
settings.initialRebalanceDelayMs = 0;
const idleClient = await RawClient.connect(server.port);
const before = rssMiB();
for (let start = 0; start < IDLE_GROUPS; start += 100) {
  const batch = Array.from({ length: Math.min(100, IDLE_GROUPS - start) }, (_, i) => `idle-${start + i}`);
  for (const groupId of batch) {
    const joined = await join(idleClient, groupId);
    await sync(idleClient, groupId, joined);
  }
}
const after = rssMiB();
console.log(`${IDLE_GROUPS} idle groups with one Stable member: +${(after - before).toFixed(1)} MiB RSS (${server.broker.groups.groupCount} groups)`);
idleClient.close();

// 3. OffsetCommit throughput, pipelined on one connection.
const committer = await RawClient.connect(server.port);
const commitFrame = (offset: number) =>
  requestFrame(8, 8, ++correlationId, {
    groupId: "throughput",
    generationIdOrMemberEpoch: -1,
    memberId: "",
    groupInstanceId: null,
    topics: [{ name: "t", partitions: [{ partitionIndex: 0, committedOffset: BigInt(offset), committedLeaderEpoch: -1, committedMetadata: null }] }],
  });
const commitStart = performance.now();
let sent = 0;
let received = 0;
while (sent < Math.min(COMMIT_WINDOW, COMMITS)) committer.write(commitFrame(sent++));
while (received < COMMITS) {
  const frame = await committer.nextFrame(10_000);
  if (!frame) throw new Error("commit answer missing");
  received++;
  if (sent < COMMITS) committer.write(commitFrame(sent++));
}
const commitSeconds = (performance.now() - commitStart) / 1000;
const [committed] = server.broker.groups.fetchOffsets("throughput", [{ topic: "t", partitions: [0] }]);
console.log(
  `OffsetCommit from one connection: ${Math.round(COMMITS / commitSeconds)} commits/s (${COMMITS} commits, window ${COMMIT_WINDOW}, last offset ${committed!.partitions[0]!.offset})`,
);
committer.close();
