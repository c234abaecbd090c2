// The downlink (pull.topics) against a second kgate process as the central cluster, behind a FaultProxy. kafkajs
// producers write commands to a central topic, among them transactions that abort; the edge copies the topic into a
// local one while the link is cut, blackholed, a connection is reset after an answer, and the edge itself restarts
// (in-process, same data folder, its checkpoint file removed). A kafkajs consumer at the edge then reads each
// committed central record exactly once, in the central order, with an origin header naming its central offset, and
// none of the aborted ones.
// Loop guard: an edge that forwards topic X to the central cluster and pulls central X back (into X itself, and
// through a pull-only link into another local topic) copies only what others wrote there, never its own records,
// and the copying settles instead of going round.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { KafkaMessage } from "kafkajs";
import { waitFor } from "../../helpers/server.ts";
import type { PullStatus } from "../../../src/uplink/downlink.ts";
import { Central, createTopic, kafkaAt, ProduceLoop, startEdge, temporaryFolder, waitForwarded, type Edge } from "./rig.ts";

let central: Central;

beforeAll(async () => {
  central = await Central.start();
});
afterAll(async () => {
  await central?.[Symbol.asyncDispose]();
});

interface ReadRecord {
  partition: number;
  offset: number;
  value: string;
  origins: string[];
}

/** Every committed record of `topic` (read_committed, a group of its own), once `expected` arrived and 500 ms passed without more. */
async function readAll(bootstrap: string, topic: string, expected: number, timeoutMs = 30_000): Promise<ReadRecord[]> {
  const consumer = kafkaAt(bootstrap, "downlink-reader").consumer({ groupId: `reader-${Math.random()}`, readUncommitted: false, maxWaitTimeInMs: 100 });
  const seen: ReadRecord[] = [];
  let lastAt = Date.now();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }: { partition: number; message: KafkaMessage }) => {
      const header = message.headers?.["kgate-origin"];
      const origins = (header === undefined ? [] : Array.isArray(header) ? header : [header]).map((value) => value!.toString());
      seen.push({ partition, offset: Number(message.offset), value: message.value!.toString(), origins });
      lastAt = Date.now();
    },
  });
  await waitFor(() => seen.length >= expected && Date.now() - lastAt > 500, { timeoutMs }).catch(() => {});
  await consumer.disconnect();
  return seen.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

/** Sends `count` records in one transaction, then commits or aborts it. */
async function transaction(topic: string, tag: string, count: number, commit: boolean): Promise<string[]> {
  const producer = kafkaAt(central.bootstrap, "downlink-tx").producer({ transactionalId: `downlink-${tag}-${Math.random()}`, maxInFlightRequests: 1, idempotent: true });
  await producer.connect();
  const values = Array.from({ length: count }, (_, n) => `${tag}-${n}`);
  const txn = await producer.transaction();
  await txn.send({ topic, messages: values.map((value, n) => ({ partition: n % 2, value })) });
  if (commit) await txn.commit();
  else await txn.abort();
  await producer.disconnect();
  return values;
}

const pulls = (edge: Edge): PullStatus[] => edge.uplink!.status().pulls;
const copied = (edge: Edge): number => pulls(edge).reduce((sum, pull) => sum + pull.copiedRecords, 0);

async function progress(edge: Edge, timeoutMs = 20_000): Promise<void> {
  const before = copied(edge);
  await waitFor(() => copied(edge) > before, { timeoutMs, intervalMs: 20 });
}

/** Every pulled partition connected, known, and caught up with the central partition's end (markers included). */
async function waitCaughtUp(edge: Edge, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    () =>
      pulls(edge).every(
        (pull) =>
          pull.state === "connected" &&
          Object.keys(pull.topicErrors).length === 0 &&
          pull.partitions.length > 0 &&
          pull.partitions.every((partition) => partition.error === null && partition.highWatermark >= 0 && partition.nextOffset === partition.highWatermark),
      ),
    { timeoutMs, intervalMs: 50 },
  );
}

test("central commands arrive at the edge once, in order, without aborted ones, through a cut, a blackhole, a reset and an edge restart", async () => {
  const topic = "commands";
  await createTopic(central.bootstrap, topic, 2);
  const aborted = await transaction(topic, "aborted-early", 10, false);
  const committed = await transaction(topic, "committed-early", 6, true);
  const producer = new ProduceLoop(central.bootstrap, topic, { partitions: 2, batchSize: 5, pauseMs: 20, tag: "cmd" });
  const uplink = `hq bootstrap.servers=${central.bootstrap} pull.topics=${topic} request.timeout.ms=2000`;
  const dataDir = temporaryFolder("edge");
  let first: Edge | null = await startEdge([uplink], { dataDir });
  try {
    await progress(first);
    expect(first.links()).toEqual([]); // a pull-only link has no forwarding session
    expect(pulls(first)[0]!.partitions.map((partition) => partition.localTopic)).toEqual([topic, topic]);

    // Down: refused connections; the pull backs off, then goes on from where the local log stands.
    central.proxy.cut();
    await waitFor(() => pulls(first!)[0]!.state === "backing-off", { timeoutMs: 10_000 });
    expect(pulls(first)[0]!.lastError).not.toBeNull();
    await Bun.sleep(500);
    central.proxy.pass();
    await progress(first);

    // Blackholed: the long poll goes unanswered; the pull leaves the connected state within request.timeout.ms.
    central.proxy.blackhole();
    await waitFor(() => pulls(first!)[0]!.state !== "connected", { timeoutMs: 10_000, intervalMs: 20 });
    expect(pulls(first)[0]!.lastErrorKind).not.toBeNull();
    central.proxy.pass();
    await progress(first);

    // A Fetch answer lost on the way: nothing was copied from it, it is asked again.
    central.proxy.resetAfterResponse();
    await progress(first);
    aborted.push(...(await transaction(topic, "aborted-mid", 8, false)));

    // The edge restarts on the same data folder. Without its checkpoint file: the log alone gives the positions.
    await first.stop();
    first = null;
    rmSync(join(dataDir, "uplink", "hq.pull.json"));
  } catch (error) {
    await producer.stop();
    throw error;
  }
  await using edge = await startEdge([uplink], { dataDir });
  try {
    await progress(edge);
    const afterRestart = producer.acknowledged.length;
    // Records keep coming after the restart, and at least 100 in all (a fast run may reach the restart with few).
    await waitFor(() => producer.acknowledged.length >= Math.max(afterRestart + 50, 100), { timeoutMs: 20_000 });
    aborted.push(...(await transaction(topic, "aborted-late", 4, false)));
    committed.push(...(await transaction(topic, "committed-late", 4, true)));
  } finally {
    await producer.stop();
  }
  await waitCaughtUp(edge);

  const centralRecords = await readAll(central.bootstrap, topic, producer.acknowledged.length + committed.length);
  const localRecords = await readAll(edge.bootstrap, topic, centralRecords.length);
  expect(producer.acknowledged.length).toBeGreaterThanOrEqual(100);
  const localValues = new Set(localRecords.map((record) => record.value));
  expect(producer.acknowledged.filter((value) => !localValues.has(value))).toEqual([]);
  expect(committed.filter((value) => !localValues.has(value))).toEqual([]);
  expect(aborted.filter((value) => localValues.has(value))).toEqual([]);
  // Partition by partition, the central order exactly: nothing twice, nothing missing, nothing reordered.
  for (const partition of [0, 1]) {
    const centralValues = centralRecords.filter((record) => record.partition === partition).map((record) => record.value);
    const local = localRecords.filter((record) => record.partition === partition);
    expect(local.map((record) => record.value)).toEqual(centralValues);
    // Each copy names the central offset of its original.
    const centralOffsets = centralRecords.filter((record) => record.partition === partition).map((record) => `central:hq/${topic}/${partition}/${record.offset}`);
    expect(local.map((record) => record.origins.at(-1))).toEqual(centralOffsets);
  }
  const status = pulls(edge)[0]!;
  expect(status.partitions.map((partition) => partition.lagRecords)).toEqual([0, 0]);
  expect(status.skippedRecords).toBe(0);
  const metrics = edge.broker.metrics.registry.render();
  expect(metrics).toContain("kgate_uplink_pulled_records_total{");
  expect(metrics).toMatch(/kgate_uplink_pull_lag_records\{link="hq",topic="commands",partition="0",local_topic="commands"\} 0/);
}, 120_000);

test("loop guard: an edge pulling back the topic it forwards copies only what others wrote, once", async () => {
  const topic = "shared";
  await createTopic(central.bootstrap, topic, 2);
  await using edge = await startEdge([
    // Forwards local `shared` to central `shared`, and pulls central `shared` back into local `shared`.
    `hq bootstrap.servers=${central.bootstrap} topics=${topic} pull.topics=${topic} request.timeout.ms=2000`,
    // A pull-only link copying the same central topic into another local topic.
    `mirror bootstrap.servers=${central.bootstrap} pull.topics=${topic} pull.local.topic=\${topic}.from-\${link} request.timeout.ms=2000`,
  ]);
  // The pull creates the local topic with the central partition count.
  await waitFor(() => edge.broker.topics.get(topic)?.partitions.length === 2, { timeoutMs: 10_000 });
  const local = new ProduceLoop(edge.bootstrap, topic, { partitions: 2, batchSize: 10, pauseMs: 10, tag: "local", maxSends: 5 });
  const others = new ProduceLoop(central.bootstrap, topic, { partitions: 2, batchSize: 6, pauseMs: 10, tag: "central", maxSends: 5 });
  await waitFor(() => local.acknowledged.length === 50 && others.acknowledged.length === 30, { timeoutMs: 20_000 }).catch(() => {});
  await local.stop();
  await others.stop();
  expect(local.acknowledged.length).toBe(50);
  expect(others.acknowledged.length).toBe(30);

  // Settled: everything forwarded, every pull at the central end, and still so a while later (no loop).
  const settled = async () => {
    await waitForwarded(edge.links);
    await waitCaughtUp(edge);
  };
  await settled();
  const counts = () => pulls(edge).map((pull) => [pull.name, pull.copiedRecords, pull.skippedRecords]);
  const before = counts();
  await Bun.sleep(2_000);
  await settled();
  expect(counts()).toEqual(before);

  // hq: the 30 central records copied once; skipped: the 50 records forwarded from here, and the 30 copies it
  // forwarded too (they carry this edge's origin after the pull's).
  expect(before).toEqual([
    ["hq", 30, 80],
    ["mirror", 30, 80],
  ]);
  const localRecords = await readAll(edge.bootstrap, topic, 80);
  expect(localRecords.map((record) => record.value).sort()).toEqual([...local.acknowledged, ...others.acknowledged].sort());
  for (const record of localRecords) {
    if (record.value.startsWith("central-")) expect(record.origins).toEqual([`central:hq/${topic}/${record.partition}/${record.origins[0]!.split("/").at(-1)}`]);
    else expect(record.origins).toEqual([]);
  }
  const mirrored = await readAll(edge.bootstrap, `${topic}.from-mirror`, 30);
  expect(mirrored.map((record) => record.value).sort()).toEqual([...others.acknowledged].sort());
  // What the central topic holds: the records of both sides, and hq's echo of the central ones (forwarded after the pull).
  const centralRecords = await readAll(central.bootstrap, topic, 110);
  expect(centralRecords.length).toBe(110);
}, 120_000);

test("partitions and topics that cannot be pulled are reported, the others pulled; a remote topic created later is picked up", async () => {
  await createTopic(central.bootstrap, "config", 2);
  // The local topic exists, with fewer partitions than the central one, before the pull starts.
  const dataDir = temporaryFolder("edge");
  const before = await startEdge([], { dataDir });
  await createTopic(before.bootstrap, "config", 1);
  await before.stop();
  await using edge = await startEdge([`hq bootstrap.servers=${central.bootstrap} pull.topics=config,firmware request.timeout.ms=2000`], { dataDir });
  const producer = kafkaAt(central.bootstrap, "downlink-config").producer();
  await producer.connect();
  await producer.send({ topic: "config", messages: [{ partition: 0, value: "p0" }, { partition: 1, value: "p1" }] });
  await waitFor(() => pulls(edge)[0]!.partitions.find((partition) => partition.remoteTopic === "config" && partition.partition === 0)?.copiedRecords === 1, { timeoutMs: 20_000 });
  const status = pulls(edge)[0]!;
  expect(status.state).toBe("connected");
  expect(status.partitions.find((partition) => partition.partition === 1)!.error).toMatch(/has 1 partitions, the remote topic 2/);
  expect(status.topicErrors).toEqual({ firmware: "remote topic firmware does not exist on the central cluster" });

  await createTopic(central.bootstrap, "firmware", 1);
  await producer.send({ topic: "firmware", messages: [{ value: "v2" }] });
  await producer.disconnect();
  await waitFor(() => pulls(edge)[0]!.partitions.some((partition) => partition.remoteTopic === "firmware" && partition.copiedRecords === 1), { timeoutMs: 20_000 });
  expect(pulls(edge)[0]!.topicErrors).toEqual({});
  expect(edge.broker.topics.get("firmware")!.partitions.length).toBe(1);
  expect((await readAll(edge.bootstrap, "firmware", 1)).map((record) => record.value)).toEqual(["v2"]);
}, 60_000);
