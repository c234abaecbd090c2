// FaultProxy between a raw client and an in-process kgate (or a bare TCP server where throughput is measured): each
// fault as the uplink's tests will see it. Waits are bounded and time bounds are loose lower bounds only.

import { expect, test } from "bun:test";
import net from "node:net";
import { FaultProxy } from "./fault-proxy.ts";
import { RawClient, requestFrame } from "./raw-client.ts";
import { startTestServer, waitFor } from "./server.ts";

function createTopicsBody(name: string) {
  return { topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5_000, validateOnly: false };
}

/** Connects with RawClient; null when the connection was refused or closed before it opened. */
async function tryConnect(port: number): Promise<RawClient | null> {
  try {
    return await RawClient.connect(port);
  } catch {
    return null;
  }
}

/** A node:net client that records how its connection ended: "ECONNRESET" for a reset, "close" for an orderly close. */
async function connectRecordingEnd(port: number): Promise<{ socket: net.Socket; ended: Promise<string> }> {
  const socket = net.connect(port, "127.0.0.1");
  let errorCode: string | null = null;
  socket.on("error", (error: NodeJS.ErrnoException) => (errorCode = error.code ?? error.message));
  socket.on("data", () => {});
  const ended = new Promise<string>((resolve) => socket.on("close", () => resolve(errorCode ?? "close")));
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return { socket, ended };
}

function within<T>(promise: Promise<T>, timeoutMs: number): Promise<T | "timeout"> {
  return Promise.race([promise, Bun.sleep(timeoutMs).then(() => "timeout" as const)]);
}

/**
 * A bare TCP server that sends `sendBytes` to each connection at once, counts what it receives and records how each
 * connection ended, as connectRecordingEnd does.
 */
async function startSpeaker(sendBytes: number) {
  const sockets = new Set<net.Socket>();
  const endings: string[] = [];
  let receivedBytes = 0;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let errorCode: string | null = null;
    socket.on("data", (chunk) => (receivedBytes += chunk.length));
    socket.on("error", (error: NodeJS.ErrnoException) => (errorCode = error.code ?? error.message));
    socket.on("close", () => {
      sockets.delete(socket);
      endings.push(errorCode ?? "close");
    });
    if (sendBytes > 0) socket.write(Buffer.alloc(sendBytes, 7));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    endings,
    get receivedBytes() {
      return receivedBytes;
    },
    async [Symbol.asyncDispose]() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test("pass forwards both ways and counts bytes", async () => {
  await using server = await startTestServer();
  await using proxy = await FaultProxy.start(server.port);
  const client = await RawClient.connect(proxy.port);
  const versions = await client.call(18, 3, { clientSoftwareName: "fault-proxy-test", clientSoftwareVersion: "1" }, 3_000);
  expect(versions.errorCode).toBe(0);
  const created = await client.call(19, 4, createTopicsBody("through-proxy"), 3_000);
  expect(created.topics[0].errorCode).toBe(0);
  expect(server.broker.topics.get("through-proxy")).toBeDefined();
  expect(proxy.stats.connectionsAccepted).toBe(1);
  expect(proxy.stats.bytesToServer).toBeGreaterThan(0);
  expect(proxy.stats.bytesToClient).toBeGreaterThan(0);
  expect(proxy.stats.resets).toBe(0);
  client.close();
});

test("cut closes open connections and refuses new ones; pass heals", async () => {
  await using server = await startTestServer();
  await using proxy = await FaultProxy.start(server.port);
  const open = await RawClient.connect(proxy.port);
  await open.call(18, 0, {}, 3_000);

  proxy.cut();
  expect(await open.waitClosed(2_000)).toBe(true);
  const refused = await tryConnect(proxy.port);
  if (refused !== null) {
    expect(await refused.waitClosed(2_000)).toBe(true);
    expect(refused.closed).toBe(true);
  }
  await waitFor(() => server.connectionCount === 0, { timeoutMs: 2_000 });
  expect(proxy.stats.connectionsAccepted).toBe(2);

  proxy.pass();
  const healed = await RawClient.connect(proxy.port);
  expect((await healed.call(18, 0, {}, 3_000)).errorCode).toBe(0);
  healed.close();
});

test("blackhole: a request on an open or a new connection gets no answer and no close; pass destroys those and heals", async () => {
  await using server = await startTestServer();
  await using proxy = await FaultProxy.start(server.port);
  const open = await RawClient.connect(proxy.port);
  await open.call(18, 0, {}, 3_000);
  expect(server.connectionCount).toBe(1);

  proxy.blackhole();
  const toServerBefore = proxy.stats.bytesToServer;
  open.write(requestFrame(19, 4, 2, createTopicsBody("blackholed")));
  expect(await open.nextFrame(500)).toBeNull();
  expect(open.closed).toBe(false);

  const fresh = await RawClient.connect(proxy.port);
  fresh.write(requestFrame(18, 0, 1, {}));
  expect(await fresh.nextFrame(300)).toBeNull();
  expect(fresh.closed).toBe(false);
  // The new connection never reached the server, the request on the old one was swallowed.
  expect(server.connectionCount).toBe(1);
  expect(proxy.stats.bytesToServer).toBe(toServerBefore);
  expect(proxy.stats.bytesDiscarded).toBeGreaterThan(0);
  expect(server.broker.topics.get("blackholed")).toBeUndefined();

  proxy.pass();
  expect(await open.waitClosed(2_000)).toBe(true);
  expect(await fresh.waitClosed(2_000)).toBe(true);
  const healed = await RawClient.connect(proxy.port);
  expect((await healed.call(19, 4, createTopicsBody("healed"), 3_000)).topics[0].errorCode).toBe(0);
  expect(server.broker.topics.get("healed")).toBeDefined();
  healed.close();
});

test("slow throttles each direction: 200 KB at 100 KB/s takes over 1.2 s both ways", async () => {
  const totalBytes = 200 * 1024;
  await using speaker = await startSpeaker(totalBytes);
  await using proxy = await FaultProxy.start(speaker.port);
  proxy.slow(100 * 1024);
  const startedAtMs = performance.now();
  let receivedBytes = 0;
  let downloadMs = -1;
  const socket = net.connect(proxy.port, "127.0.0.1");
  socket.on("error", () => {});
  socket.on("data", (chunk) => {
    receivedBytes += chunk.length;
    if (receivedBytes === totalBytes) downloadMs = performance.now() - startedAtMs;
  });
  socket.write(Buffer.alloc(totalBytes, 3));
  await waitFor(() => speaker.receivedBytes === totalBytes, { timeoutMs: 5_000 });
  const uploadMs = performance.now() - startedAtMs;
  await waitFor(() => downloadMs >= 0, { timeoutMs: 5_000 });
  socket.destroy();
  expect(uploadMs).toBeGreaterThanOrEqual(1_200);
  expect(downloadMs).toBeGreaterThanOrEqual(1_200);
  expect(proxy.stats.bytesToServer).toBe(totalBytes);
  expect(proxy.stats.bytesToClient).toBe(totalBytes);
}, 10_000);

test("slow adds one-way latency to each direction", async () => {
  await using server = await startTestServer();
  await using proxy = await FaultProxy.start(server.port);
  const client = await RawClient.connect(proxy.port);
  await client.call(18, 0, {}, 3_000);
  proxy.slow(10 * 1024 * 1024, 300);
  const startedAtMs = performance.now();
  expect((await client.call(18, 0, {}, 3_000)).errorCode).toBe(0);
  expect(performance.now() - startedAtMs).toBeGreaterThanOrEqual(580);

  // Healed, a round trip no longer carries 600 ms of latency (a loose bound: a local round trip takes ~1 ms).
  proxy.pass();
  const healedAtMs = performance.now();
  await client.call(18, 0, {}, 3_000);
  expect(performance.now() - healedAtMs).toBeLessThan(580);
  client.close();
});

test("a throttled link buffers a bounded amount: the sender's writes back up", async () => {
  await using speaker = await startSpeaker(0);
  await using proxy = await FaultProxy.start(speaker.port);
  proxy.slow(20 * 1024);
  const socket = net.connect(proxy.port, "127.0.0.1");
  socket.on("error", () => {});
  let flushed = false;
  socket.write(Buffer.alloc(16 * 1024 * 1024), () => (flushed = true));
  let bufferedBytesMax = 0;
  const deadline = performance.now() + 800;
  while (performance.now() < deadline) {
    bufferedBytesMax = Math.max(bufferedBytesMax, proxy.bufferedBytes);
    await Bun.sleep(20);
  }
  expect(flushed).toBe(false);
  expect(bufferedBytesMax).toBeGreaterThan(0);
  expect(bufferedBytesMax).toBeLessThan(1024 * 1024);
  expect(speaker.receivedBytes).toBeLessThan(100 * 1024);

  // Blackholed, the same connection reads and discards: the proxy forwards nothing more and buffers nothing. What it
  // wrote before reaches the server (bytes may still be in the kernel between the proxy and the server), and only that.
  proxy.blackhole();
  const forwarded = proxy.stats.bytesToServer;
  await waitFor(() => flushed, { timeoutMs: 5_000 });
  expect(proxy.bufferedBytes).toBe(0);
  expect(proxy.stats.bytesToServer).toBe(forwarded);
  await waitFor(() => speaker.receivedBytes === forwarded, { timeoutMs: 5_000 });
  await Bun.sleep(50);
  expect(speaker.receivedBytes).toBe(forwarded);
  socket.destroy();
}, 10_000);

test("resetNextRequest: the server gets part of the request, both ends see a reset (ECONNRESET under Bun)", async () => {
  await using server = await startTestServer();
  await using proxy = await FaultProxy.start(server.port);
  const { socket, ended } = await connectRecordingEnd(proxy.port);
  await waitFor(() => server.connectionCount === 1, { timeoutMs: 2_000 });

  proxy.resetNextRequest();
  const frame = requestFrame(19, 4, 1, createTopicsBody("torn"));
  socket.write(frame);
  expect(await within(ended, 2_000)).toBe("ECONNRESET");
  await waitFor(() => server.connectionCount === 0, { timeoutMs: 2_000 });
  expect(proxy.stats.resets).toBe(1);
  expect(proxy.stats.bytesToServer).toBe(Math.floor(frame.length / 2));
  expect(server.broker.topics.get("torn")).toBeUndefined();

  // One-shot: the next connection forwards normally.
  const client = await RawClient.connect(proxy.port);
  expect((await client.call(19, 4, createTopicsBody("whole"), 3_000)).topics[0].errorCode).toBe(0);
  client.close();
});

test("resetNextRequest(afterBytes) passes at most that many bytes and resets the server side too", async () => {
  await using speaker = await startSpeaker(0);
  await using proxy = await FaultProxy.start(speaker.port);
  const { socket, ended } = await connectRecordingEnd(proxy.port);
  proxy.resetNextRequest(10);
  socket.write(Buffer.alloc(1_000));
  expect(await within(ended, 2_000)).toBe("ECONNRESET");
  await waitFor(() => speaker.endings.length === 1, { timeoutMs: 2_000 });
  expect(speaker.endings).toEqual(["ECONNRESET"]);
  expect(speaker.receivedBytes).toBeLessThanOrEqual(10);
  expect(proxy.stats.bytesToServer).toBe(10);
});

test("resetAfterResponse: the request takes effect, its answer is lost and the connection resets", async () => {
  await using server = await startTestServer();
  await using proxy = await FaultProxy.start(server.port);
  const client = await RawClient.connect(proxy.port);
  await client.call(18, 0, {}, 3_000);

  proxy.resetAfterResponse();
  await expect(client.call(19, 4, createTopicsBody("acted-on"), 3_000)).rejects.toThrow(/no answer/);
  expect(client.closed).toBe(true);
  expect(server.broker.topics.get("acted-on")).toBeDefined();
  expect(proxy.stats.resets).toBe(1);
  await waitFor(() => server.connectionCount === 0, { timeoutMs: 2_000 });

  const again = await RawClient.connect(proxy.port);
  expect((await again.call(18, 0, {}, 3_000)).errorCode).toBe(0);
  again.close();
});

test("setUpstream sends new connections to another server and drops the open ones", async () => {
  await using first = await startTestServer();
  await using second = await startTestServer();
  await using proxy = await FaultProxy.start(first.port);
  const client = await RawClient.connect(proxy.port);
  await client.call(19, 4, createTopicsBody("on-first"), 3_000);

  proxy.setUpstream(second.port);
  expect(await client.waitClosed(2_000)).toBe(true);
  const moved = await RawClient.connect(proxy.port);
  await moved.call(19, 4, createTopicsBody("on-second"), 3_000);
  expect(first.broker.topics.get("on-second")).toBeUndefined();
  expect(second.broker.topics.get("on-second")).toBeDefined();
  moved.close();
});
