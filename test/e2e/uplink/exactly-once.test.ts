// The uplink in exactly-once mode against a second kgate process as the central cluster, with a FaultProxy between
// them: under a steady kafkajs producer at the edge the link is cut, blackholed and reset in the middle of requests
// (and after the central cluster acted on one but before its answer arrived), and the central cluster restarts.
// After each, every record acknowledged at the edge is on the central topic exactly once (read_committed by a
// kafkajs consumer), in order per partition, with its provenance header.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { waitFor } from "../../helpers/server.ts";
import { Central, createTopic, exactlyOnceInOrder, kafkaAt, ProduceLoop, readCentral, startEdge, waitForwarded, type Edge } from "./rig.ts";

let central: Central;

beforeAll(async () => {
  central = await Central.start();
});
afterAll(async () => {
  await central?.[Symbol.asyncDispose]();
});

/** Waits until the link has forwarded more records than now. */
async function progress(edge: Edge, timeoutMs = 30_000): Promise<void> {
  const before = edge.links()[0]!.forwardedRecords;
  await waitFor(() => edge.links()[0]!.forwardedRecords > before, { timeoutMs, intervalMs: 20 });
}

test("through cut, blackhole, resets and a central restart, every acknowledged record arrives once, in order", async () => {
  const topic = "orders";
  await using edge = await startEdge([`central bootstrap.servers=${central.bootstrap} topics=${topic} create.remote.topics=true request.timeout.ms=2000`]);
  await createTopic(edge.bootstrap, topic, 2);
  const producer = new ProduceLoop(edge.bootstrap, topic, { partitions: 2, batchSize: 20, pauseMs: 10 });
  try {
    await progress(edge);
    expect(edge.links()[0]!.delivery).toBe("exactly-once");

    // Down: refused connections; the link backs off and local produce goes on.
    central.proxy.cut();
    await waitFor(() => edge.links()[0]!.state === "backing-off", { timeoutMs: 10_000 });
    const acknowledgedWhileDown = producer.acknowledged.length;
    await waitFor(() => producer.acknowledged.length > acknowledgedWhileDown + 100, { timeoutMs: 10_000 });
    central.proxy.pass();
    await progress(edge);

    // Blackholed: nothing answers; the link leaves the connected state within request.timeout.ms plus an idle wait.
    central.proxy.blackhole();
    const blackholedAt = Date.now();
    await waitFor(() => edge.links()[0]!.state !== "connected", { timeoutMs: 20_000, intervalMs: 20 });
    // Loose (4 s of slack for a slow machine), yet short of a timeout counted twice and of the 15 s default.
    expect(Date.now() - blackholedAt).toBeLessThan(2_000 + 1_000 + 4_000);
    expect(edge.links()[0]!.lastError).not.toBeNull();
    central.proxy.pass();
    await progress(edge);

    // Reset in the middle of a request, then after the central cluster acted on one (its answer lost).
    central.proxy.resetNextRequest();
    await progress(edge);
    central.proxy.resetAfterResponse();
    await progress(edge);
    central.proxy.resetAfterResponse();
    await progress(edge);

    // The central cluster restarts (SIGTERM, same data folder).
    await central.stop();
    await Bun.sleep(300);
    await central.restart();
    await progress(edge);
  } finally {
    await producer.stop();
  }
  await waitForwarded(edge.links);
  const acknowledged = producer.acknowledged;
  expect(acknowledged.length).toBeGreaterThan(500);
  const records = await readCentral(central.bootstrap, topic, acknowledged.length);
  const check = exactlyOnceInOrder(acknowledged, records);
  expect(check.missing).toEqual([]);
  expect(check.duplicated).toEqual([]);
  expect(check.outOfOrder).toEqual([]);
  // Provenance: edge, topic, partition and the local offset, on every record.
  expect(records.every((record) => record.origin !== null && record.origin.startsWith(`edge1/${topic}/${record.partition}/`))).toBe(true);
  const status = edge.links()[0]!;
  expect(status.partitions.map((partition) => partition.lagRecords)).toEqual([0, 0]);
  // A round whose commit answer was lost is committed but not counted here: the counter is a lower bound.
  expect(status.forwardedRecords).toBeLessThanOrEqual(records.length);
}, 180_000);

test("a second instance of the same edge and link fences the first, which says so in its status", async () => {
  const topic = "fenced";
  const link = `central bootstrap.servers=${central.bootstrap} topics=${topic} create.remote.topics=true request.timeout.ms=2000`;
  await using first = await startEdge([link]);
  await createTopic(first.bootstrap, topic, 1);
  const send = async (bootstrap: string, value: string) => {
    const producer = kafkaAt(bootstrap).producer();
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ value }] });
    await producer.disconnect();
  };
  await send(first.bootstrap, "from-first");
  await waitForwarded(first.links);
  // The same edge id and link name: the same transactional id, so InitProducerId fences the first.
  await using second = await startEdge([link]);
  await createTopic(second.bootstrap, topic, 1);
  await send(second.bootstrap, "from-second");
  await waitForwarded(second.links);
  await send(first.bootstrap, "first-again");
  await waitFor(() => first.links()[0]!.state === "fenced", { timeoutMs: 10_000 });
  expect(first.links()[0]!.lastError).toContain("another instance");
  expect(second.links()[0]!.state).toBe("connected");
}, 60_000);
