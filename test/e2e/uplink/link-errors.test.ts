// Bad input and faults on an uplink link, against a second kgate process as the central cluster (behind a
// FaultProxy). In each case the link's status carries a clear error and the state backing-off, the link keeps
// trying, forwarding resumes once the cause is fixed (where a fix is possible), and the edge's own produce and consume
// go on throughout (kafkajs at the edge):
// - nothing listens at bootstrap.servers; later something does;
// - a missing remote topic with create.remote.topics=false, then created by an admin;
// - a remote topic with fewer partitions than partitioning=same needs, then grown by an admin;
// - a remote max.message.bytes below the edge's batches, then raised by an admin (AlterConfigs);
// - delivery=exactly-once against a broker without the transaction APIs (a stand-in that answers ApiVersions only:
//   every kgate has transactions);
// - the central cluster blackholed while the link idles: it leaves "connected" within request.timeout.ms plus the
//   idle wait (limits.uplinkIdleWaitMs), measured.
// Errors no retry can fix are retried at the backoff's cap (limits.uplinkBackoffMaxMs, 10 s); this file lowers the
// cap (in this process only) so that the recovery after a fix shows within seconds.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { ConfigResourceTypes } from "kafkajs";
import net from "node:net";
import { limits } from "../../../src/config.ts";
import { supportedApiKeys } from "../../../src/handlers/registry.ts";
import { ByteReader } from "../../../src/protocol/byte-reader.ts";
import { ByteWriter } from "../../../src/protocol/byte-writer.ts";
import { ErrorCode } from "../../../src/protocol/error-codes.ts";
import { decodeRequestHeader, encodeResponseHeader } from "../../../src/protocol/messages/headers.ts";
import { apiTable } from "../../../src/protocol/messages/index.ts";
import { FrameAssembler } from "../../../src/server/frame-assembler.ts";
import { waitFor } from "../../helpers/server.ts";
import { backingOff, Central, createTopic, type CentralRecord, exactlyOnceInOrder, kafkaAt, localRoundTrip, ProduceLoop, readCentral, startEdge, waitForwarded, type Edge } from "./rig.ts";

const BACKOFF_CAP_MS = 2_000;
const mutableLimits = limits as unknown as { uplinkBackoffMaxMs: number };
const backoffCapBefore = limits.uplinkBackoffMaxMs;
let central: Central;

beforeAll(async () => {
  mutableLimits.uplinkBackoffMaxMs = BACKOFF_CAP_MS;
  central = await Central.start();
});
afterAll(async () => {
  mutableLimits.uplinkBackoffMaxMs = backoffCapBefore;
  await central?.[Symbol.asyncDispose]();
});

const link = (edge: Edge) => edge.links()[0]!;


/** The link tries again: the central proxy accepts more connections than now. */
async function keepsRetrying(): Promise<void> {
  const before = central.proxy.stats.connectionsAccepted;
  await waitFor(() => central.proxy.stats.connectionsAccepted > before, { timeoutMs: BACKOFF_CAP_MS + 5_000 });
}

/** Local service goes on, and the records sent by localRoundTrip (tag `local`) are left out of the order checks. */
const notLocal = (record: { value: string }) => !record.value.startsWith("local-");

/** Once the cause is fixed: everything is forwarded, and each acknowledged record is on the central topic once, in order. */
async function everyRecordOnce(edge: Edge, producer: ProduceLoop, topic: string): Promise<CentralRecord[]> {
  await waitForwarded(edge.links, 30_000);
  const records = (await readCentral(central.gateway.bootstrap, topic, producer.acknowledged.length + 10)).filter(notLocal);
  expect(exactlyOnceInOrder(producer.acknowledged, records)).toEqual({ missing: [], duplicated: [], outOfOrder: [] });
  return records;
}

async function admin<T>(run: (client: ReturnType<ReturnType<typeof kafkaAt>["admin"]>) => Promise<T>): Promise<T> {
  const client = kafkaAt(central.gateway.bootstrap).admin();
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.disconnect();
  }
}

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

test("nothing listens at bootstrap.servers: connect error, retries, and forwarding once something listens there", async () => {
  const topic = "errors-bootstrap";
  const port = await freePort();
  await using edge = await startEdge([`central bootstrap.servers=127.0.0.1:${port} topics=${topic} create.remote.topics=true request.timeout.ms=2000`]);
  await createTopic(edge.bootstrap, topic, 1);
  const producer = new ProduceLoop(edge.bootstrap, topic, { partitions: 1, batchSize: 10, pauseMs: 20 });
  let forwarder: net.Server | null = null;
  const sockets = new Set<net.Socket>();
  try {
    const error = await backingOff(edge);
    expect(error).toContain("no bootstrap server reachable");
    expect(error).toContain(`127.0.0.1:${port}`);
    expect(error).toContain("ECONNREFUSED");
    expect(link(edge).lastErrorKind).toBe("connect");
    expect(await localRoundTrip(edge.bootstrap, topic, "local")).toBe(10);
    expect(link(edge).state).toBe("backing-off");

    // The address comes alive: a TCP forwarder to the central cluster (which advertises its proxy).
    forwarder = net.createServer((client) => {
      const upstream = net.connect(central.gateway.port, "127.0.0.1");
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on("error", () => {});
        socket.on("close", () => (client.destroy(), upstream.destroy()));
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => forwarder!.listen(port, "127.0.0.1", resolve));
    await waitFor(() => link(edge).state === "connected" && link(edge).forwardedRecords > 0, { timeoutMs: 20_000 });
    expect(link(edge).lastError).toBeNull();
  } finally {
    await producer.stop();
  }
  await everyRecordOnce(edge, producer, topic);
  // close() waits for open connections: the link's go first.
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => forwarder!.close(() => resolve()));
}, 90_000);

test("a missing remote topic with create.remote.topics=false names the topic and the setting; created by an admin, forwarding resumes", async () => {
  const topic = "errors-missing";
  await using edge = await startEdge([`central bootstrap.servers=${central.bootstrap} topics=${topic} create.remote.topics=false request.timeout.ms=2000`]);
  await createTopic(edge.bootstrap, topic, 1);
  const producer = new ProduceLoop(edge.bootstrap, topic, { partitions: 1, batchSize: 10, pauseMs: 20 });
  try {
    const error = await backingOff(edge, 15_000, "missing on the central cluster");
    expect(error).toContain(topic);
    expect(error).toContain("create.remote.topics=true");
    expect(link(edge).lastErrorKind).toBe("config");
    await keepsRetrying();
    expect(link(edge).lastError).toBe(error);
    expect(await localRoundTrip(edge.bootstrap, topic, "local")).toBe(10);
    expect(link(edge).forwardedRecords).toBe(0);

    await createTopic(central.gateway.bootstrap, topic, 1);
    await waitFor(() => link(edge).state === "connected" && link(edge).forwardedRecords > 0, { timeoutMs: BACKOFF_CAP_MS + 15_000 });
  } finally {
    await producer.stop();
  }
  await everyRecordOnce(edge, producer, topic);
}, 90_000);

test("a remote topic with fewer partitions than partitioning=same needs says so; grown by an admin, forwarding resumes", async () => {
  const topic = "errors-partitions";
  await createTopic(central.gateway.bootstrap, topic, 1);
  await using edge = await startEdge([`central bootstrap.servers=${central.bootstrap} topics=${topic} partitioning=same request.timeout.ms=2000`]);
  await createTopic(edge.bootstrap, topic, 3);
  const producer = new ProduceLoop(edge.bootstrap, topic, { partitions: 3, batchSize: 9, pauseMs: 20 });
  try {
    const error = await backingOff(edge, 15_000, "partitioning=same needs");
    expect(error).toContain(`remote topic ${topic} has 1 partitions; partitioning=same needs 3`);
    expect(link(edge).lastErrorKind).toBe("config");
    await keepsRetrying();
    expect(await localRoundTrip(edge.bootstrap, topic, "local")).toBe(10);
    expect(link(edge).forwardedRecords).toBe(0);

    await admin((client) => client.createPartitions({ topicPartitions: [{ topic, count: 3 }] }));
    await waitFor(() => link(edge).state === "connected" && link(edge).forwardedRecords > 0, { timeoutMs: BACKOFF_CAP_MS + 15_000 });
  } finally {
    await producer.stop();
  }
  const records = await everyRecordOnce(edge, producer, topic);
  // partitioning=same: every record on the partition number it had at the edge (ProduceLoop: value n on n % 3).
  expect(records.every((record) => Number(record.value.slice(record.value.lastIndexOf("-") + 1)) % 3 === record.partition)).toBe(true);
}, 90_000);

test("a remote max.message.bytes below the edge's batches names the setting; raised by an admin, forwarding resumes", async () => {
  const topic = "errors-too-large";
  await createTopic(central.gateway.bootstrap, topic, 1, [{ name: "max.message.bytes", value: "2000" }]);
  // provenance=off with partitioning=same: stored batches go as they are (a rewriting link would cut them smaller).
  await using edge = await startEdge([`central bootstrap.servers=${central.bootstrap} topics=${topic} provenance=off request.timeout.ms=2000`]);
  await createTopic(edge.bootstrap, topic, 1);
  // Batches of 20 records of ~300 bytes: every stored batch is over 2000 bytes.
  const producer = kafkaAt(edge.bootstrap, "big-batches").producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const acknowledged: string[] = [];
  const padding = "p".repeat(300);
  for (let send = 0, n = 0; send < 10; send++) {
    const messages = Array.from({ length: 20 }, () => ({ value: `${padding}-big-${n++}` }));
    await producer.send({ topic, acks: -1, messages });
    acknowledged.push(...messages.map((message) => message.value));
  }
  await producer.disconnect();

  const error = await backingOff(edge, 15_000, "MESSAGE_TOO_LARGE");
  expect(error).toContain(`Produce ${topic}-0`);
  expect(error).toContain("MESSAGE_TOO_LARGE");
  expect(error).toContain("max.message.bytes");
  expect(error).toMatch(/a batch of \d+ bytes/);
  expect(link(edge).lastErrorKind).toBe("config");
  await keepsRetrying();
  expect(await localRoundTrip(edge.bootstrap, topic, "local")).toBe(10);
  expect(link(edge).partitions[0]!.lagRecords).toBeGreaterThan(0);

  await admin((client) =>
    client.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: "max.message.bytes", value: String(1024 * 1024) }] }] }),
  );
  await waitForwarded(edge.links, BACKOFF_CAP_MS + 20_000);
  const records = (await readCentral(central.gateway.bootstrap, topic, acknowledged.length + 10)).filter(notLocal);
  expect(exactlyOnceInOrder(acknowledged, records)).toEqual({ missing: [], duplicated: [], outOfOrder: [] });
}, 90_000);

/**
 * A stand-in for a Kafka cluster without transactions (before 0.11, or with them disabled by a proxy): it answers
 * ApiVersions, listing kgate's APIs but InitProducerId, AddPartitionsToTxn and EndTxn, and closes on anything else.
 */
function startBrokerWithoutTransactions(): { port: number; stop(): void; apiVersionsAnswered: () => number } {
  const apiKeys = supportedApiKeys().filter((api) => ![22, 24, 26].includes(api.apiKey));
  let answered = 0;
  const listener = Bun.listen<{ assembler: FrameAssembler }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        socket.data = { assembler: new FrameAssembler(1024 * 1024) };
      },
      data(socket, chunk) {
        socket.data.assembler.push(chunk, (frame) => {
          const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
          const apiKey = view.getInt16(0);
          const version = view.getInt16(2);
          const descriptor = apiTable[18]!;
          if (apiKey !== 18 || version > descriptor.maxVersion) return void socket.end();
          const header = decodeRequestHeader(new ByteReader(frame), descriptor.requestHeaderVersion(version));
          const writer = new ByteWriter();
          const size = writer.reserveInt32();
          encodeResponseHeader(writer, descriptor.responseHeaderVersion(version), { correlationId: header.correlationId });
          descriptor.encodeResponse(writer, version, { errorCode: ErrorCode.NONE, apiKeys, throttleTimeMs: 0 } as never);
          size.setInt32(0, writer.length - 4);
          socket.write(writer.toUint8Array());
          answered++;
        });
      },
    },
  });
  return { port: listener.port, stop: () => listener.stop(true), apiVersionsAnswered: () => answered };
}

test("delivery=exactly-once against a cluster without transactions says exactly-once is impossible and what to set", async () => {
  const broker = startBrokerWithoutTransactions();
  const topic = "errors-no-transactions";
  try {
    await using edge = await startEdge([`central bootstrap.servers=127.0.0.1:${broker.port} topics=${topic} delivery=exactly-once request.timeout.ms=2000`]);
    await createTopic(edge.bootstrap, topic, 1);
    const error = await backingOff(edge);
    expect(error).toContain("does not support transactions");
    expect(error).toContain("exactly-once is impossible");
    expect(error).toContain("delivery=at-least-once");
    expect(link(edge).lastErrorKind).toBe("config");
    const answered = broker.apiVersionsAnswered();
    await waitFor(() => broker.apiVersionsAnswered() > answered, { timeoutMs: BACKOFF_CAP_MS + 5_000 });
    expect(await localRoundTrip(edge.bootstrap, topic, "local")).toBe(10);
    expect(link(edge).state).toBe("backing-off");
    expect(link(edge).lastError).toBe(error);
  } finally {
    broker.stop();
  }
}, 60_000);

test("blackholed while idle, the link leaves connected within request.timeout.ms plus the idle wait, and comes back", async () => {
  const topic = "errors-blackhole";
  // 3 s, and 2 s of slack past it and the idle wait: a slow machine's late timers stay inside, a timeout counted twice
  // (or the 15 s default) does not. With 1 s and 250 ms of slack a loaded runner could miss.
  const requestTimeoutMs = 3_000;
  await using edge = await startEdge([`central bootstrap.servers=${central.bootstrap} topics=${topic} create.remote.topics=true request.timeout.ms=${requestTimeoutMs}`]);
  await createTopic(edge.bootstrap, topic, 1);
  const producer = kafkaAt(edge.bootstrap, "blackhole").producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: [{ value: "before-0" }, { value: "before-1" }] });
    await waitForwarded(edge.links, 20_000);
    // Idle for a while (several idle probes), then nothing answers on any connection, open or new.
    await Bun.sleep(1_500);
    expect(link(edge).state).toBe("connected");
    central.proxy.blackhole();
    const blackholedAt = Date.now();
    try {
      await waitFor(() => link(edge).state !== "connected", { timeoutMs: 20_000, intervalMs: 5 });
      const tookMs = Date.now() - blackholedAt;
      console.log(`blackholed idle link left connected after ${tookMs} ms (request.timeout.ms ${requestTimeoutMs}, idle wait ${limits.uplinkIdleWaitMs})`);
      expect(tookMs).toBeLessThanOrEqual(requestTimeoutMs + limits.uplinkIdleWaitMs + 2_000);
      expect(link(edge).state).toBe("backing-off");
      expect(link(edge).lastError).toMatch(new RegExp(`no answer from .* within ${requestTimeoutMs} ms`));
      expect(link(edge).lastErrorKind).toBe("timeout");
      // Local service while the central cluster is silent.
      await producer.send({ topic, acks: -1, messages: [{ value: "during-0" }] });
    } finally {
      central.proxy.pass();
    }
    await waitForwarded(edge.links, 20_000);
    expect(link(edge).lastError).toBeNull();
  } finally {
    await producer.disconnect();
  }
  const records = await readCentral(central.gateway.bootstrap, topic, 3);
  expect(records.map((record) => record.value).sort()).toEqual(["before-0", "before-1", "during-0"]);
}, 60_000);

/**
 * Regression: the rewriting path (provenance header, partitioning=key or schema ids) merges a backlog into batches of
 * up to limits.uplinkMergeBytesMax (512 KiB). A remote topic whose max.message.bytes was below that but above every
 * stored batch refused each merged batch with MESSAGE_TOO_LARGE, forever, while every record would have fit. The
 * link now reads max.message.bytes (DescribeConfigs) at each session start and merges under it.
 */
test("a remote max.message.bytes above each local batch but below the link's merged batches: the link merges less and forwards", async () => {
  const topic = "errors-merge-limit";
  await createTopic(central.gateway.bootstrap, topic, 1, [{ name: "max.message.bytes", value: "20000" }]);
  central.proxy.cut();
  await using edge = await startEdge([`central bootstrap.servers=${central.bootstrap} topics=${topic} request.timeout.ms=2000`]);
  const acknowledged: string[] = [];
  try {
    await createTopic(edge.bootstrap, topic, 1);
    // 20 batches of ~6.5 KB: each fits the remote limit, a backlog merged up to limits.uplinkMergeBytesMax would not.
    const producer = kafkaAt(edge.bootstrap, "merge-limit").producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const padding = "m".repeat(300);
    for (let send = 0, n = 0; send < 20; send++) {
      const messages = Array.from({ length: 20 }, () => ({ value: `${padding}-merge-${n++}` }));
      await producer.send({ topic, acks: -1, messages });
      acknowledged.push(...messages.map((message) => message.value));
    }
    await producer.disconnect();
  } finally {
    central.proxy.pass();
  }
  await waitForwarded(edge.links, 20_000);
  const records = await readCentral(central.gateway.bootstrap, topic, acknowledged.length);
  expect(exactlyOnceInOrder(acknowledged, records)).toEqual({ missing: [], duplicated: [], outOfOrder: [] });
}, 60_000);
