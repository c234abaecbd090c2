// The limits that keep the box alive, each driven over real sockets on 127.0.0.1 against a server whose limits the
// test lowers (Config.limits): connection counts, the idle timeout, in-flight requests, the memory budget,
// slowloris partial frames next to a real kafkajs client.

import { describe, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import { RawClient, decodeResponse, requestFrame } from "../../helpers/raw-client.ts";
import { startTestServer, waitFor, type TestServer } from "../../helpers/server.ts";

const apiVersions = (correlationId: number) => requestFrame(18, 3, correlationId, {});

async function answers(client: RawClient, correlationId: number, timeoutMs = 10_000): Promise<boolean> {
  client.write(apiVersions(correlationId));
  const frame = await client.nextFrame(timeoutMs);
  return frame !== null && decodeResponse(18, 3, frame).correlationId === correlationId;
}

function fetchFrame(correlationId: number, topic: string, maxWaitMs: number, maxBytes = 1 << 20): Uint8Array {
  return requestFrame(1, 4, correlationId, {
    replicaId: -1,
    maxWaitMs,
    minBytes: 1,
    maxBytes,
    isolationLevel: 0,
    topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: maxBytes }] }],
  });
}

/** A frame header announcing `size` bytes followed by `body` bytes of it. */
function partialFrame(size: number, body: number): Uint8Array {
  const bytes = new Uint8Array(4 + body);
  new DataView(bytes.buffer).setInt32(0, size);
  return bytes;
}

describe("connection counts", () => {
  test("connections over the per-address limit are closed; the admitted ones keep working", async () => {
    await using server = await startTestServer({ limits: { connectionsPerIpMax: 3 } });
    const admitted = await Promise.all([0, 1, 2].map(() => RawClient.connect(server.port)));
    await waitFor(() => server.connectionCount === 3);
    const extra = await Promise.all([0, 1].map(() => RawClient.connect(server.port)));
    for (const client of extra) expect(await client.waitClosed(10_000)).toBe(true);
    for (const [i, client] of admitted.entries()) expect(await answers(client, 100 + i)).toBe(true);
    expect(server.broker.metrics.connectionsRefused.get({ limit: "connectionsPerIpMax" })).toBe(2);
    expect(server.connectionCount).toBe(3);

    // A slot freed is a slot given again.
    admitted[0]!.close();
    await waitFor(() => server.connectionCount === 2);
    const next = await RawClient.connect(server.port);
    expect(await answers(next, 7)).toBe(true);
    expect(server.broker.metrics.registry.render()).toContain('kgate_limit{limit="connectionsPerIpMax"} 3');
    for (const client of [...admitted, next]) client.close();
  });

  test("connections over the total limit are closed", async () => {
    await using server = await startTestServer({ limits: { connectionsMax: 2, connectionsPerIpMax: 100 } });
    const admitted = await Promise.all([0, 1].map(() => RawClient.connect(server.port)));
    await waitFor(() => server.connectionCount === 2);
    const extra = await RawClient.connect(server.port);
    expect(await extra.waitClosed(10_000)).toBe(true);
    for (const [i, client] of admitted.entries()) expect(await answers(client, i)).toBe(true);
    expect(server.broker.metrics.connectionsRefused.get({ limit: "connectionsMax" })).toBe(1);
    for (const client of admitted) client.close();
  });
});

test("the idle timeout closes a silent connection, not a talking one nor one waiting on a long poll", async () => {
  // An idle limit of 3 s against a talker that speaks every ~100 ms: a slow machine's stalls stay well inside it
  // (at 1 s, one GC pause or a starved runner could close the talker).
  const idleMs = 3_000;
  await using server = await startTestServer({ limits: { connectionIdleMs: idleMs } });
  const silent = await RawClient.connect(server.port);
  const talking = await RawClient.connect(server.port);
  const polling = await RawClient.connect(server.port);
  polling.write(requestFrame(19, 5, 1, { topics: [{ name: "idle-poll", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false }));
  expect(await polling.nextFrame(10_000)).not.toBeNull();
  // A long poll longer than the idle limit and a sweep: the connection is waiting on us, not idle.
  const pollMs = idleMs + 1_500;
  polling.write(fetchFrame(2, "idle-poll", pollMs));
  const startedAt = performance.now();
  // Talk until the silent one is gone (an idle limit and a sweep later), bounded.
  for (let i = 0; !silent.closed && performance.now() - startedAt < 30_000; i++) {
    expect(await answers(talking, i)).toBe(true);
    await Bun.sleep(100);
  }
  expect(silent.closed).toBe(true);
  expect(talking.closed).toBe(false);
  // Quiet since before the silent one was closed: open only because its poll is not idle. Whether the poll has been
  // answered by now or not, it went quiet after the silent one, so it cannot be idle yet either way.
  expect(polling.closed).toBe(false);
  const pollAnswer = await polling.nextFrame(pollMs + 10_000);
  expect(pollAnswer).not.toBeNull();
  expect(performance.now() - startedAt).toBeGreaterThanOrEqual(pollMs - 50);
  // Once answered and silent, it goes too.
  expect(await polling.waitClosed(idleMs + 10_000)).toBe(true);
  expect(server.broker.metrics.connectionsClosed.get({ reason: "idle" })).toBeGreaterThanOrEqual(2);
  talking.close();
}, 60_000);

test("in-flight requests over the limit wait unread: four 400 ms long polls with a limit of 2 take two rounds", async () => {
  await using server = await startTestServer({ limits: { inFlightRequestsPerConnectionMax: 2 } });
  const client = await RawClient.connect(server.port);
  client.write(requestFrame(19, 5, 1, { topics: [{ name: "in-flight", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false }));
  expect(await client.nextFrame(10_000)).not.toBeNull();
  const startedAt = performance.now();
  client.write(Buffer.concat([10, 11, 12, 13].map((id) => fetchFrame(id, "in-flight", 400))));
  const ids: number[] = [];
  for (let i = 0; i < 4; i++) {
    const frame = await client.nextFrame(10_000);
    expect(frame).not.toBeNull();
    ids.push(decodeResponse(1, 4, frame!).correlationId);
  }
  expect(ids).toEqual([10, 11, 12, 13]);
  expect(performance.now() - startedAt).toBeGreaterThanOrEqual(780);
  expect(server.broker.metrics.readPauses.get({ reason: "in_flight_requests" })).toBeGreaterThanOrEqual(1);
  client.close();
}, 30_000);

test("above the memory budget every connection stops being read until the bytes drop", async () => {
  // The stuck senders must outlive the checks below (the newcomer's 400 ms unanswered included) before the idle
  // timeout gives their bytes back: 3 s leaves a slow machine room.
  await using server = await startTestServer({ limits: { bufferMemoryMax: 256 * 1024, connectionIdleMs: 3_000 } });
  const { metrics } = server.broker;
  const buffered = () => Number(/kgate_buffer_memory_bytes (\d+)/.exec(metrics.registry.render())![1]);
  const first = await RawClient.connect(server.port);
  const second = await RawClient.connect(server.port);
  // Two large frames half sent: 200 KiB + 100 KiB held, over the 256 KiB cap.
  first.write(partialFrame(512 * 1024, 200 * 1024));
  await waitFor(() => buffered() === 200 * 1024);
  second.write(partialFrame(512 * 1024, 100 * 1024));
  await waitFor(() => metrics.readPauses.get({ reason: "memory_budget" }) >= 1);
  expect(buffered()).toBe(300 * 1024);

  // A newcomer is not read while the memory is exhausted...
  const third = await RawClient.connect(server.port);
  third.write(apiVersions(42));
  expect(await third.nextFrame(400)).toBeNull();
  expect(third.closed).toBe(false);
  // ...the stuck half frames are given back by the idle timeout (their senders went quiet; a paused socket would not
  // even see them leave), and the newcomer, which we paused and is therefore not idle, is answered.
  first.close();
  second.close();
  const frame = await third.nextFrame(15_000);
  expect(frame).not.toBeNull();
  expect(decodeResponse(18, 3, frame!).correlationId).toBe(42);
  // Both stuck senders go (the second may be a sweep later than the first).
  await waitFor(() => buffered() === 0 && metrics.connectionsClosed.get({ reason: "idle" }) === 2, { timeoutMs: 10_000 });
  third.close();
}, 30_000);

test("acks=all Produce frames give their bytes back once appended, not when the fsync answers them", async () => {
  await using server = await startTestServer({ limits: { bufferMemoryMax: 1 << 20 } });
  const { metrics } = server.broker;
  const buffered = () => Number(/kgate_buffer_memory_bytes (\d+)/.exec(metrics.registry.render())![1]);
  const client = await RawClient.connect(server.port);
  const { buildRecordBatch } = await import("../../../src/protocol/records/record-batch.ts");
  const produce = (correlationId: number, acks: number) =>
    requestFrame(0, 9, correlationId, {
      transactionalId: null,
      acks,
      timeoutMs: 5_000,
      topicData: [{ name: "held-sync", partitionData: [{ index: 0, records: buildRecordBatch({ records: [{ key: null, value: new Uint8Array(400 * 1024).fill(correlationId), timestamp: Date.now() }] }) }] }],
    });
  client.write(produce(1, 1));
  expect(await client.nextFrame(10_000)).not.toBeNull();
  // The partition's sync stays pending until the test lets it go: as a disk that takes its time.
  const partitionLog = server.broker.topics.get("held-sync")!.partitions[0]!;
  let letSyncGo = () => {};
  const syncDone = new Promise<void>((resolve) => (letSyncGo = resolve));
  partitionLog.sync = () => syncDone;
  // Eight frames of 400 KiB (3.2 MiB) against a 1 MiB budget: held until their answers, they would stop the reading.
  client.write(Buffer.concat([2, 3, 4, 5, 6, 7, 8, 9].map((id) => produce(id, -1))));
  await waitFor(() => partitionLog.logEndOffset === 9);
  expect(buffered()).toBe(0);
  expect(metrics.readPauses.get({ reason: "memory_budget" })).toBe(0);
  expect(await client.nextFrame(200)).toBeNull();
  letSyncGo();
  const ids: number[] = [];
  for (let i = 0; i < 8; i++) {
    const frame = await client.nextFrame(10_000);
    expect(frame).not.toBeNull();
    const response = decodeResponse(0, 9, frame!);
    expect(response.body.responses[0].partitionResponses[0].errorCode).toBe(0);
    ids.push(response.correlationId);
  }
  expect(ids).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
  client.close();
});

async function slowloris(server: TestServer, connections: number, byteEveryMs: number, until: () => boolean): Promise<RawClient[]> {
  const clients = await Promise.all(Array.from({ length: connections }, () => RawClient.connect(server.port)));
  // Each announces a 1 MiB frame, then sends it a byte at a time, never finishing while the test runs.
  for (const client of clients) client.write(partialFrame(1 << 20, 1));
  void (async () => {
    for (let tick = 0; tick < 10_000 && !until(); tick++) {
      await Bun.sleep(byteEveryMs);
      for (const client of clients) if (!client.closed) client.write(new Uint8Array([tick & 0xff]));
    }
  })();
  return clients;
}

test("slowloris connections trickling partial frames do not stop a kafkajs producer and group consumer", async () => {
  await using server = await startTestServer({ limits: { connectionsPerIpMax: 200 } });
  let done = false;
  const attackers = await slowloris(server, 50, 250, () => done);
  try {
    const kafka = new Kafka({ clientId: "well-behaved", brokers: [server.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
    const producer = kafka.producer();
    await producer.connect();
    const values = Array.from({ length: 100 }, (_, i) => `record-${i}`);
    await producer.send({ topic: "slowloris", messages: values.map((value) => ({ value })) });
    const consumer = kafka.consumer({ groupId: "slowloris-group", sessionTimeout: 10_000, heartbeatInterval: 1_000 });
    await consumer.connect();
    await consumer.subscribe({ topic: "slowloris", fromBeginning: true });
    const received: string[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void received.push(message.value!.toString()) });
    await waitFor(() => received.length >= values.length, { timeoutMs: 40_000 });
    expect(received).toEqual(values);
    await consumer.disconnect();
    await producer.disconnect();
    // The attackers are still connected and cost what they sent, not the 1 MiB each announced.
    expect(attackers.filter((client) => !client.closed).length).toBe(50);
    const text = server.broker.metrics.registry.render();
    const buffered = Number(/kgate_buffer_memory_bytes (\d+)/.exec(text)![1]);
    expect(buffered).toBeGreaterThan(50);
    expect(buffered).toBeLessThan(64 * 1024);
  } finally {
    done = true;
    for (const client of attackers) client.close();
  }
}, 60_000);

test("a client that never reads its answers is paused, then closed by the idle timeout once the socket stops taking bytes", async () => {
  await using server = await startTestServer({ limits: { pendingWriteBytesMax: 256 * 1024, connectionIdleMs: 2_000 } });
  const producer = await RawClient.connect(server.port);
  const { buildRecordBatch } = await import("../../../src/protocol/records/record-batch.ts");
  const records = buildRecordBatch({ records: [{ key: null, value: new Uint8Array(512 * 1024).fill(1), timestamp: Date.now() }] });
  await producer.call(0, 9, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: "unread", partitionData: [{ index: 0, records }] }] });
  producer.close();
  const flooder = await Bun.connect({ hostname: "127.0.0.1", port: server.port, socket: { open: (socket) => socket.pause(), data() {} } });
  flooder.pause();
  flooder.write(Buffer.concat(Array.from({ length: 50 }, (_, i) => fetchFrame(i + 1, "unread", 0))));
  flooder.flush();
  await waitFor(() => server.broker.metrics.readPauses.get({ reason: "pending_writes" }) >= 1);
  // Meanwhile another connection is served as usual. (A fresh one: the producer's, quiet while the flooder fills up,
  // could reach the 2 s idle limit on a slow machine.)
  const other = await RawClient.connect(server.port);
  expect(await answers(other, 99)).toBe(true);
  // It leaves on its own; the flooder's connection is closed by us, as idle (a paused client socket does not even
  // notice: the test watches the server's side).
  other.close();
  await waitFor(() => server.connectionCount === 0, { timeoutMs: 15_000 });
  expect(server.broker.metrics.connectionsClosed.get({ reason: "idle" })).toBe(1);
  expect(server.broker.metrics.registry.render()).toContain("kgate_pending_write_bytes 0");
  flooder.end();
}, 40_000);

test("a frame over the per-server frameBytesMax closes its connection only", async () => {
  await using server = await startTestServer({ limits: { frameBytesMax: 1_024 } });
  const small = await RawClient.connect(server.port);
  const large = await RawClient.connect(server.port);
  large.write(partialFrame(2_000, 10));
  expect(await large.waitClosed(10_000)).toBe(true);
  expect(server.broker.metrics.connectionsClosed.get({ reason: "frame_too_large" })).toBe(1);
  // A request under the limit, on another connection, is served.
  expect(await answers(small, 3)).toBe(true);
  small.close();
});
