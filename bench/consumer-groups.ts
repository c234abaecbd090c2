// KIP-848 consumer-group figures for issue 17, over TCP against an in-process kgate (memory log), with members
// simulated on raw connections (ConsumerGroupHeartbeat v1) that behave like the Java consumer: heartbeat every
// heartbeatIntervalMs, give up revoked partitions at once and heartbeat again right after an assignment changed.
// 1. A group of 10 members on a 30-partition topic; an 11th joins. Reported: ms until the new member owns its whole
//    target, and for the 10 others the longest time any partition they keep was missing from their assignment
//    (0: nobody stopped consuming what it keeps) and the longest time one had no partition at all.
// 2. 1,000 groups of one member each: RSS added (VmRSS from /proc/self/status), then heartbeats answered per second
//    from one connection (pipelined, cycling over the members).
// Run: ./node_modules/.bin/bun bench/consumer-groups.ts [--heartbeat-ms N] [--groups N] [--heartbeats N]

import { readFileSync } from "node:fs";
import { RawClient, decodeResponse, requestFrame } from "../test/helpers/raw-client.ts";
import { startTestServer } from "../test/helpers/server.ts";

const argument = (name: string, fallback: number) => {
  const index = process.argv.indexOf(name);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
};
const HEARTBEAT_MS = argument("--heartbeat-ms", 500);
const GROUPS = argument("--groups", 1_000);
const HEARTBEATS = argument("--heartbeats", 100_000);
const PARTITIONS = 30;
const MEMBERS = 10;
const WINDOW = 128;
const VERSION = 1;

let correlationId = 0;

async function call(client: RawClient, body: object): Promise<any> {
  client.write(requestFrame(68, VERSION, ++correlationId, body));
  const frame = await client.nextFrame(60_000);
  if (!frame) throw new Error("no answer to ConsumerGroupHeartbeat");
  return decodeResponse(68, VERSION, frame).body;
}

function vmRssMiB(): number {
  Bun.gc(true);
  const line = readFileSync("/proc/self/status", "utf8").split("\n").find((text) => text.startsWith("VmRSS:"))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

type Owned = { topicId: Uint8Array; partitions: number[] }[];
const key = (owned: Owned) => owned.flatMap(({ partitions }) => partitions).sort((a, b) => a - b);

/** A well-behaved member: heartbeats on its own connection until stopped, recording its assignment over time. */
class SimulatedMember {
  epoch = 0;
  owned: Owned = [];
  /** [ms, partitions owned] at each change. */
  readonly history: [number, number[]][] = [];
  private running = true;
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: RawClient,
    readonly memberId: string,
    readonly groupId: string,
  ) {}

  start(): void {
    this.done = (async () => {
      while (this.running) {
        const changed = await this.beat();
        if (!changed) await Bun.sleep(HEARTBEAT_MS);
      }
    })();
  }

  async beat(): Promise<boolean> {
    const joining = this.epoch === 0;
    const answer = await call(this.client, {
      groupId: this.groupId,
      memberId: this.memberId,
      memberEpoch: this.epoch,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: joining ? 60_000 : -1,
      subscribedTopicNames: joining ? ["bench-topic"] : null,
      subscribedTopicRegex: null,
      serverAssignor: null,
      topicPartitions: this.owned,
    });
    if (answer.errorCode !== 0) throw new Error(`heartbeat error ${answer.errorCode}: ${answer.errorMessage}`);
    this.epoch = answer.memberEpoch;
    if (answer.assignment === null) return false;
    const before = key(this.owned).join();
    this.owned = answer.assignment.topicPartitions;
    if (key(this.owned).join() === before) return false;
    this.history.push([performance.now(), key(this.owned)]);
    return true;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

await using server = await startTestServer({ store: "memory" });
server.broker.groups.consumerGroups.settings.heartbeatIntervalMs = HEARTBEAT_MS;

// 1. One member joins a group of ten.
server.broker.topics.create("bench-topic", PARTITIONS);
const clients = await Promise.all(Array.from({ length: MEMBERS + 1 }, () => RawClient.connect(server.port)));
const members = clients.slice(0, MEMBERS).map((client, i) => new SimulatedMember(client, `member-${i}`, "bench-rebalance"));
for (const member of members) member.start();
const group = () => server.broker.groups.describeConsumerGroup("bench-rebalance");
while (group()?.groupState !== "Stable" || group()!.members.length < MEMBERS) await Bun.sleep(10);
const joinedAt = performance.now();
const late = new SimulatedMember(clients[MEMBERS]!, "member-late", "bench-rebalance");
late.start();
while (group()?.groupState !== "Stable" || group()!.members.length < MEMBERS + 1) await Bun.sleep(5);
const target = group()!.members.find((member) => member.memberId === late.memberId)!.targetAssignment.topicPartitions.flatMap((tp) => tp.partitions).length;
const ownedAt = late.history.find(([, partitions]) => partitions.length === target)?.[0] ?? performance.now();
const settledAt = performance.now();
await Promise.all([...members, late].map((member) => member.stop()));
// For the old members: how long a partition they kept was missing, and how long they had nothing.
let keptGapMs = 0;
let emptyMs = 0;
for (const member of members) {
  const before = member.history.filter(([at]) => at <= joinedAt).at(-1)?.[1] ?? [];
  const after = member.history.at(-1)![1];
  const kept = before.filter((partition) => after.includes(partition));
  const changes = member.history.filter(([at]) => at > joinedAt);
  for (const [index, [at, partitions]] of changes.entries()) {
    const until = changes[index + 1]?.[0] ?? settledAt;
    if (kept.some((partition) => !partitions.includes(partition))) keptGapMs = Math.max(keptGapMs, until - at);
    if (partitions.length === 0) emptyMs = Math.max(emptyMs, until - at);
  }
}
console.log(
  `rebalance of ${MEMBERS} members when one joins (${PARTITIONS} partitions, heartbeat ${HEARTBEAT_MS} ms): ` +
    `new member owns its ${target} partitions after ${(ownedAt - joinedAt).toFixed(0)} ms; ` +
    `longest gap in a kept partition ${keptGapMs.toFixed(0)} ms; longest time a member had none ${emptyMs.toFixed(0)} ms`,
);
for (const client of clients) client.close();

// 2. Many one-member groups: memory, then heartbeat throughput.
server.broker.groups.consumerGroups.settings.heartbeatIntervalMs = 5_000;
const client = await RawClient.connect(server.port);
const rssBefore = vmRssMiB();
const epochs: number[] = [];
for (let start = 0; start < GROUPS; start += WINDOW) {
  const batch = Array.from({ length: Math.min(WINDOW, GROUPS - start) }, (_, i) => start + i);
  for (const index of batch) {
    const body = { groupId: `bench-group-${index}`, memberId: `solo-${index}`, memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 60_000, subscribedTopicNames: ["bench-topic"], subscribedTopicRegex: null, serverAssignor: null, topicPartitions: [] };
    client.write(requestFrame(68, VERSION, ++correlationId, body));
  }
  for (const index of batch) {
    const answer = decodeResponse(68, VERSION, (await client.nextFrame(60_000))!).body as any;
    if (answer.errorCode !== 0) throw new Error(`join error ${answer.errorCode}`);
    epochs[index] = answer.memberEpoch;
  }
}
const rssAfter = vmRssMiB();
console.log(`${GROUPS} one-member consumer groups: +${(rssAfter - rssBefore).toFixed(1)} MiB RSS (${(((rssAfter - rssBefore) * 1024) / GROUPS).toFixed(1)} KiB each)`);
const startedAt = performance.now();
let sent = 0;
let answered = 0;
const owned = server.broker.topics.get("bench-topic")!;
const heartbeatBody = (index: number) => ({
  groupId: `bench-group-${index}`, memberId: `solo-${index}`, memberEpoch: epochs[index]!, instanceId: null, rackId: null, rebalanceTimeoutMs: -1,
  subscribedTopicNames: null, subscribedTopicRegex: null, serverAssignor: null,
  topicPartitions: [{ topicId: owned.topicId, partitions: Array.from({ length: PARTITIONS }, (_, i) => i) }],
});
while (sent < Math.min(WINDOW, HEARTBEATS)) client.write(requestFrame(68, VERSION, ++correlationId, heartbeatBody(sent++ % GROUPS)));
while (answered < HEARTBEATS) {
  const answer = decodeResponse(68, VERSION, (await client.nextFrame(60_000))!).body as any;
  if (answer.errorCode !== 0) throw new Error(`heartbeat error ${answer.errorCode}: ${answer.errorMessage}`);
  answered++;
  if (sent < HEARTBEATS) client.write(requestFrame(68, VERSION, ++correlationId, heartbeatBody(sent++ % GROUPS)));
}
const seconds = (performance.now() - startedAt) / 1000;
console.log(`heartbeats of ${GROUPS} groups from one connection, ${WINDOW} in flight: ${Math.round(HEARTBEATS / seconds)} per second (${HEARTBEATS} in ${seconds.toFixed(2)} s)`);
client.close();
