// The server's framing, ordering and hostile-input behaviour, driven over real TCP with hand-built frames
// (no real client sends these on purpose).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildRecordBatch } from "../protocol/records/record-batch.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import { RawClient, decodeResponse, requestFrame } from "../../test/helpers/raw-client.ts";
import { startTestServer, waitFor, type TestServer } from "../../test/helpers/server.ts";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server[Symbol.asyncDispose]();
});

const apiVersionsRequest = (correlationId: number, version = 2) => requestFrame(18, version, correlationId, {});
const metadataRequest = (correlationId: number, topics: string[] | null = null) =>
  requestFrame(3, 12, correlationId, { topics: topics?.map((name) => ({ name })) ?? null, allowAutoTopicCreation: true });

function produceRequest(correlationId: number, topic: string, acks: number, value: string): Uint8Array {
  const batch = buildRecordBatch({ records: [{ key: null, value: new TextEncoder().encode(value), timestamp: Date.now() }] });
  return requestFrame(0, 9, correlationId, { acks, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }] });
}

async function assertStillServing(): Promise<void> {
  const other = await RawClient.connect(server.port);
  other.write(apiVersionsRequest(77));
  const frame = await other.nextFrame();
  expect(frame).not.toBeNull();
  expect(decodeResponse(18, 2, frame!).correlationId).toBe(77);
  other.close();
}

describe("framing and ordering", () => {
  test("pipelined requests in one write are answered in order; acks=0 Produce gets no response", async () => {
    const client = await RawClient.connect(server.port);
    const frames = [apiVersionsRequest(1), metadataRequest(2, ["pipelined"]), produceRequest(3, "pipelined", 0, "silent"), produceRequest(4, "pipelined", -1, "loud"), apiVersionsRequest(5)];
    client.write(Buffer.concat(frames));
    const ids: number[] = [];
    const versions = [2, 12, 9, 2];
    const keys = [18, 3, 0, 18];
    for (let i = 0; i < 4; i++) {
      const frame = await client.nextFrame();
      expect(frame).not.toBeNull();
      const { correlationId, body } = decodeResponse(keys[i]!, versions[i]!, frame!);
      ids.push(correlationId);
      if (keys[i] === 0) expect(body.responses[0].partitionResponses[0].baseOffset).toBe(1n);
    }
    expect(ids).toEqual([1, 2, 4, 5]);
    expect(await client.nextFrame(200)).toBeNull();
    client.close();
  });

  test("acks=0 Produce that fails for a partition closes the connection after what came before, as Kafka does", async () => {
    const client = await RawClient.connect(server.port);
    // Appends to an internal topic are refused; with acks=0 the only way to tell the producer is to close.
    client.write(Buffer.concat([apiVersionsRequest(1), produceRequest(2, "__consumer_offsets", 0, "refused"), apiVersionsRequest(3)]));
    const first = await client.nextFrame();
    expect(decodeResponse(18, 2, first!).correlationId).toBe(1);
    expect(await client.waitClosed()).toBe(true);
  });

  test("a frame delivered one byte at a time is assembled", async () => {
    const client = await RawClient.connect(server.port);
    const frame = apiVersionsRequest(9);
    for (const byte of frame) {
      client.write(new Uint8Array([byte]));
      await Bun.sleep(1);
    }
    const response = await client.nextFrame();
    expect(decodeResponse(18, 2, response!).correlationId).toBe(9);
    client.close();
  });

  test("an ApiVersions version newer than served gets a v0 answer with UNSUPPORTED_VERSION and the ranges", async () => {
    const client = await RawClient.connect(server.port);
    const frame = requestFrame(18, 2, 11, {});
    new DataView(frame.buffer).setInt16(6, 99); // request_api_version
    client.write(frame);
    const response = decodeResponse(18, 0, (await client.nextFrame())!);
    expect(response.correlationId).toBe(11);
    expect(response.body.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect(response.body.apiKeys.find((api: { apiKey: number }) => api.apiKey === 18)).toEqual({ apiKey: 18, minVersion: 0, maxVersion: 4 });
    client.close();
  });

  test("ApiVersions advertises Produce from v0 for librdkafka's feature detection", async () => {
    const client = await RawClient.connect(server.port);
    client.write(apiVersionsRequest(12, 3));
    const response = decodeResponse(18, 3, (await client.nextFrame())!);
    const produce = response.body.apiKeys.find((api: { apiKey: number }) => api.apiKey === 0);
    expect(produce.minVersion).toBe(0);
    // The advertised table, as the README lists it. EndTxn and TxnOffsetCommit stop below transaction version 2.
    const ranges = response.body.apiKeys.map((api: { apiKey: number; minVersion: number; maxVersion: number }) => `${api.apiKey}:${api.minVersion}-${api.maxVersion}`);
    expect(ranges).toEqual([
      "0:0-11", "1:0-17", "2:0-8", "3:0-13", "8:0-9", "9:0-9", "10:0-6", "11:0-9", "12:0-4", "13:0-5", "14:0-5",
      "15:0-5", "16:0-5", "17:0-1", "18:0-4", "19:0-7", "20:0-6", "21:0-2", "22:0-5", "23:2-4", "24:0-5", "25:0-4", "26:0-4", "28:0-4", "29:0-3", "30:0-3", "31:0-3", "32:0-4", "33:0-2", "35:0-5", "36:0-2", "37:0-3", "42:0-2", "44:0-1", "47:0-0", "48:0-1", "49:0-1",
      "50:0-0", "51:0-0", "60:0-2", "61:0-0", "65:0-0", "66:0-2", "68:0-1", "69:0-1", "75:0-0",
    ]);
    client.close();
  });
});

describe("hostile input closes only its own connection", () => {
  const cases: [string, Uint8Array][] = [
    ["an unknown API key", (() => { const f = apiVersionsRequest(1); new DataView(f.buffer).setInt16(4, 9999); return f; })()],
    ["an unsupported Metadata version", (() => { const f = metadataRequest(1); new DataView(f.buffer).setInt16(6, 200); return f; })()],
    ["a frame shorter than a header", new Uint8Array([0, 0, 0, 3, 1, 2, 3])],
    ["a size prefix over the frame limit", new Uint8Array([0x7f, 0xff, 0xff, 0xff, 0, 18, 0, 0])],
    ["a negative size prefix", new Uint8Array([0xff, 0xff, 0xff, 0xfe, 0, 18, 0, 0])],
    ["a body whose array count lies", (() => {
      const f = metadataRequest(1, ["a"]);
      // Metadata v12 is flexible: the topics compact array length follows the header; make it huge.
      const bodyStart = f.length - (1 + 1 + 16 + 2 + 1 + 1 + 1 + 1);
      f[bodyStart] = 0xff;
      return f;
    })()],
    ["garbage", crypto.getRandomValues(new Uint8Array(64)).map((b, i) => (i < 4 ? [0, 0, 0, 60][i]! : b))],
    ["a truncated Produce body", (() => { const f = produceRequest(1, "t", 1, "x"); const cut = f.slice(0, f.length - 20); new DataView(cut.buffer).setInt32(0, cut.length - 4); return cut; })()],
  ];
  for (const [name, bytes] of cases) {
    test(name, async () => {
      const client = await RawClient.connect(server.port);
      client.write(bytes);
      // Either an error answer or a closed connection (nextFrame returns on either); never a crash, and the gateway
      // keeps serving.
      const frame = await client.nextFrame(10_000);
      if (frame !== null && !client.closed) expect(frame.length).toBeGreaterThan(4);
      else expect(await client.waitClosed()).toBe(true);
      client.close();
      await assertStillServing();
    });
  }

  test("a batch with a bad CRC is refused with CORRUPT_MESSAGE and nothing is stored", async () => {
    const client = await RawClient.connect(server.port);
    client.write(metadataRequest(1, ["crc-topic"]));
    await client.nextFrame();
    const batch = buildRecordBatch({ records: [{ key: null, value: new Uint8Array([1, 2, 3]), timestamp: 1 }] });
    batch[batch.length - 1]! ^= 0xff;
    client.write(requestFrame(0, 9, 2, { acks: -1, timeoutMs: 1000, topicData: [{ name: "crc-topic", partitionData: [{ index: 0, records: batch }] }] }));
    const { body } = decodeResponse(0, 9, (await client.nextFrame())!);
    expect(body.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(server.broker.topics.get("crc-topic")!.partitions[0]!.logEndOffset).toBe(0);
    client.close();
  });
});

describe("backpressure", () => {
  test("a reader that stops reading gets every pipelined response intact and in order once it resumes", async () => {
    const topic = "backpressure";
    const writer = await RawClient.connect(server.port);
    const value = new Uint8Array(900_000).map((_, i) => i % 251);
    for (let i = 0; i < 8; i++) {
      writer.write(requestFrame(0, 9, i, { acks: 1, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: 0, records: buildRecordBatch({ records: [{ key: null, value, timestamp: i }] }) }] }] }));
      expect(await writer.nextFrame()).not.toBeNull();
    }
    writer.close();

    let received = 0;
    const frames: Uint8Array[] = [];
    const { FrameAssembler } = await import("./frame-assembler.ts");
    const assembler = new FrameAssembler(1 << 30);
    const socket = await Bun.connect({
      hostname: "127.0.0.1",
      port: server.port,
      socket: {
        data(_socket, chunk) {
          received += chunk.length;
          assembler.push(chunk, (frame) => frames.push(frame.slice()));
        },
      },
    });
    socket.pause();
    const pausesBefore = server.broker.metrics.readPauses.get({ reason: "pending_writes" });
    const requests = 40;
    for (let i = 0; i < requests; i++) {
      const offset = BigInt(i % 8);
      socket.write(requestFrame(1, 12, 1000 + i, { maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, topics: [{ topic, partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: 1 << 20 }] }] }));
    }
    socket.flush();
    // ~36 MB of answers are due: the server stops reading once pendingWriteBytesMax of them wait unsent. By then the
    // paused reader has taken at most what the kernel buffers hold (a fixed sleep could check before anything was sent).
    await waitFor(() => server.broker.metrics.readPauses.get({ reason: "pending_writes" }) > pausesBefore, { timeoutMs: 30_000 });
    expect(received).toBeLessThan(requests * 900_000);
    socket.resume();
    const deadline = Date.now() + 30_000;
    while (frames.length < requests && Date.now() < deadline) await Bun.sleep(10);
    socket.end();
    expect(frames.length).toBe(requests);
    frames.forEach((frame, i) => {
      const { correlationId, body } = decodeResponse(1, 12, frame);
      expect(correlationId).toBe(1000 + i);
      const records: Uint8Array = body.responses[0].partitions[0].records;
      expect(records.length).toBeGreaterThan(900_000);
      // The batch's last bytes are the value's last bytes: the payload arrived uncorrupted.
      expect(records[records.length - 2]).toBe(value[value.length - 1]);
    });
  }, 60_000);
});
