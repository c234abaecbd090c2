// KafkaConnection against an in-process kgate (PLAINTEXT, SASL_SSL, SSL with client certificates) and against fake
// brokers made with Bun.listen: one that answers ApiVersions v3 with UNSUPPORTED_VERSION, one that never answers,
// one that answers ApiVersions and then goes silent, one that closes mid-call.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import type { Socket, TCPSocketListener } from "bun";
import { parseConfig } from "../config.ts";
import { ByteReader } from "../protocol/byte-reader.ts";
import { ByteWriter } from "../protocol/byte-writer.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import { decodeRequestHeader, encodeResponseHeader, type RequestHeader } from "../protocol/messages/headers.ts";
import { apiTable } from "../protocol/messages/index.ts";
import { buildRecordBatch, decodeRecords } from "../protocol/records/record-batch.ts";
import { FrameAssembler } from "../server/frame-assembler.ts";
import { makeCertificates, type TestCertificates } from "../../test/helpers/certificates.ts";
import { startTestServer, type TestServer } from "../../test/helpers/server.ts";
import { KafkaConnection, KafkaConnectionError, type KafkaConnectionOptions } from "./kafka-connection.ts";

const PASSWORD = "alice-secret";

function options(port: number, extra: Partial<KafkaConnectionOptions> = {}): KafkaConnectionOptions {
  return { host: "127.0.0.1", port, clientId: "connection-test", connectTimeoutMs: 5_000, requestTimeoutMs: 5_000, ...extra };
}

/** The rejection of `promise`, or a failure when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<KafkaConnectionError> {
  const outcome = await promise.then(
    () => null,
    (error: unknown) => error,
  );
  if (outcome === null) throw new Error("expected a rejection");
  expect(outcome).toBeInstanceOf(KafkaConnectionError);
  return outcome as KafkaConnectionError;
}

// --- Fake brokers -------------------------------------------------------------------------------------------------

interface FakeRequest {
  header: RequestHeader;
  reader: ByteReader;
  socket: Socket<undefined>;
}

/** A Bun.listen broker: `onRequest` sees each request frame and answers with `reply` (or not). */
function fakeBroker(onRequest: (request: FakeRequest) => void): TCPSocketListener<undefined> & AsyncDisposable {
  const assemblers = new WeakMap<object, FrameAssembler>();
  const listener = Bun.listen<undefined>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        assemblers.set(socket, new FrameAssembler(1 << 30));
      },
      data(socket, chunk) {
        assemblers.get(socket)!.push(chunk, (frame) => {
          const reader = new ByteReader(frame.slice());
          const apiKey = new DataView(frame.buffer, frame.byteOffset).getInt16(0);
          const header = decodeRequestHeader(reader, apiTable[apiKey]!.requestHeaderVersion(new DataView(frame.buffer, frame.byteOffset).getInt16(2)));
          try {
            onRequest({ header, reader, socket });
          } catch (error) {
            console.error("fake broker:", error);
          }
        });
      },
    },
  });
  return Object.assign(listener, {
    async [Symbol.asyncDispose]() {
      listener.stop(true);
    },
  });
}

function reply(request: FakeRequest, body: object, version = request.header.requestApiVersion): void {
  const descriptor = apiTable[request.header.requestApiKey]!;
  const writer = new ByteWriter();
  const size = writer.reserveInt32();
  encodeResponseHeader(writer, descriptor.responseHeaderVersion(version), { correlationId: request.header.correlationId });
  descriptor.encodeResponse(writer, version, body as never);
  size.setInt32(0, writer.length - 4);
  request.socket.write(writer.toUint8Array());
}

const FAKE_API_KEYS = [
  { apiKey: 3, minVersion: 0, maxVersion: 12 },
  { apiKey: 18, minVersion: 0, maxVersion: 3 },
];

function answerApiVersions(request: FakeRequest): void {
  reply(request, { errorCode: 0, apiKeys: FAKE_API_KEYS, throttleTimeMs: 0 });
}

// --- Against kgate, PLAINTEXT -------------------------------------------------------------------------------------

describe("PLAINTEXT", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.[Symbol.asyncDispose]();
  });

  test("ApiVersions fills apiVersions; version() picks the highest common version or throws unsupported", async () => {
    const connection = await KafkaConnection.connect(options(server.port));
    try {
      expect(connection.apiVersions.get(18)).toEqual({ min: 0, max: 4 });
      const produce = connection.apiVersions.get(0)!;
      expect(connection.version(0)).toBe(Math.min(produce.max, apiTable[0]!.maxVersion));
      expect(connection.version(0, 3)).toBe(3);
      expect(connection.version(3, 1)).toBe(1);
      expect(() => connection.version(4)).toThrow(KafkaConnectionError); // LeaderAndIsr: no codec
      try {
        connection.version(4);
      } catch (error) {
        expect((error as KafkaConnectionError).kind).toBe("unsupported");
      }
      // An API with a codec that kgate does not serve.
      const unserved = apiTable.find((descriptor) => descriptor && !connection.apiVersions.has(descriptor.apiKey));
      if (unserved) expect(() => connection.version(unserved.apiKey)).toThrow(/does not serve/);
      // Below the broker's minimum.
      expect(() => connection.version(18, -1)).toThrow(/no ApiVersions version in common/);
      expect((await rejection(connection.call(3, 99, {}))).kind).toBe("unsupported");
    } finally {
      connection.close();
    }
  });

  test("50 pipelined Metadata calls are all in flight at once and answered in order", async () => {
    const connection = await KafkaConnection.connect(options(server.port));
    try {
      const version = connection.version(3, 12);
      const calls = Array.from({ length: 50 }, (_, i) =>
        connection.call(3, version, { topics: [{ name: `pipelined-${i}`, topicId: new Uint8Array(16) }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }),
      );
      expect(connection.inFlight).toBe(50);
      const answers = await Promise.all(calls);
      expect(answers.map((answer) => answer.topics[0].name)).toEqual(Array.from({ length: 50 }, (_, i) => `pipelined-${i}`));
      expect(answers.every((answer) => answer.topics[0].errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)).toBe(true);
      expect(connection.inFlight).toBe(0);
    } finally {
      connection.close();
    }
  });

  test("Produce of a built batch (a large record goes out as a view), then Fetch returns the same bytes", async () => {
    const connection = await KafkaConnection.connect(options(server.port));
    try {
      const created = await connection.call(19, connection.version(19, 7), { topics: [{ name: "produced", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5_000, validateOnly: false });
      expect(created.topics[0].errorCode).toBe(ErrorCode.NONE);
      const big = new Uint8Array(200 * 1024).map((_, i) => i % 251);
      const batch = buildRecordBatch({ records: [{ key: Buffer.from("k0"), value: Buffer.from("small") }, { key: null, value: big }] });
      const produceVersion = connection.version(0, 9);
      const produced = await connection.call(0, produceVersion, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 5_000,
        topicData: [{ name: "produced", partitionData: [{ index: 0, records: batch }] }],
      });
      const partition = produced.responses[0].partitionResponses[0];
      expect(partition.errorCode).toBe(ErrorCode.NONE);
      expect(partition.baseOffset).toBe(0n);

      // acks=0: no answer comes and none is waited for; the next call still gets its own answer.
      const noAnswer = await connection.call(0, produceVersion, { transactionalId: null, acks: 0, timeoutMs: 5_000, topicData: [{ name: "produced", partitionData: [{ index: 0, records: buildRecordBatch({ records: [{ value: Buffer.from("fire and forget") }] }) }] }] });
      expect(noAnswer).toBeNull();
      expect(connection.inFlight).toBe(0);

      const fetched = await connection.call(1, connection.version(1, 12), {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 10 * 1024 * 1024,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic: "produced", partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 10 * 1024 * 1024 }] }],
        forgottenTopicsData: [],
        rackId: "",
      });
      const fetchedPartition = fetched.responses[0].partitions[0];
      expect(fetchedPartition.errorCode).toBe(ErrorCode.NONE);
      expect(fetchedPartition.highWatermark).toBe(3n);
      const records: Uint8Array = fetchedPartition.records;
      // The first batch comes back as produced (the broker only fills in the partition leader epoch and offsets).
      const first = records.subarray(0, batch.length);
      expect(decodeRecords(first).map((record) => record.value?.length)).toEqual([5, big.length]);
      expect(Buffer.from(decodeRecords(first)[1]!.value!).equals(Buffer.from(big))).toBe(true);
      expect(Buffer.from(first.subarray(61)).equals(Buffer.from(batch.subarray(61)))).toBe(true);
    } finally {
      connection.close();
    }
  });

  test("16 MiB of pipelined Produce outgrow the socket: tails wait for drain and every batch arrives intact", async () => {
    const connection = await KafkaConnection.connect(options(server.port, { requestTimeoutMs: 20_000 }));
    try {
      const version = connection.version(0, 9);
      const batches = Array.from({ length: 16 }, (_, i) => buildRecordBatch({ records: [{ value: new Uint8Array(1024 * 1000).fill(i + 1) }] }));
      const calls = batches.map((records) => connection.call(0, version, { transactionalId: null, acks: 1, timeoutMs: 10_000, topicData: [{ name: "bulk", partitionData: [{ index: 0, records }] }] }));
      expect(connection.pendingWriteBytes).toBeGreaterThan(0); // the socket took part of it: the rest waits for drain
      // Zero copies of the records: what waits for drain is the callers' batches themselves, not copies of them.
      const unsent = (connection as unknown as { unsent: Uint8Array[] }).unsent;
      const buffers = new Set(batches.map((batch) => batch.buffer));
      expect(unsent.filter((chunk) => chunk.length > 64 * 1024).every((chunk) => buffers.has(chunk.buffer as ArrayBuffer))).toBe(true);
      expect(unsent.filter((chunk) => buffers.has(chunk.buffer as ArrayBuffer)).length).toBeGreaterThan(1);
      const answers = await Promise.all(calls);
      expect(answers.map((answer) => answer.responses[0].partitionResponses[0].baseOffset)).toEqual(Array.from({ length: 16 }, (_, i) => BigInt(i)));
      expect(connection.pendingWriteBytes).toBe(0);
      const log = server.broker.topics.get("bulk")!.partitions[0]!;
      expect(log.sizeBytes).toBeGreaterThan(16 * 1024 * 1000);
    } finally {
      connection.close();
    }
  }, 30_000);

  test("above pendingWriteBytesMax call() refuses with busy, the connection stays open and onDrain tells when to resume", async () => {
    const connection = await KafkaConnection.connect(options(server.port, { pendingWriteBytesMax: 2 * 1024 * 1024 }));
    let drains = 0;
    connection.onDrain = () => drains++;
    try {
      const version = connection.version(0, 9);
      const records = buildRecordBatch({ records: [{ value: new Uint8Array(1024 * 1000) }] });
      const outcomes = await Promise.allSettled(
        Array.from({ length: 24 }, () => connection.call(0, version, { transactionalId: null, acks: 1, timeoutMs: 10_000, topicData: [{ name: "busy", partitionData: [{ index: 0, records }] }] })),
      );
      const refused = outcomes.filter((outcome) => outcome.status === "rejected");
      expect(refused.length).toBeGreaterThan(0);
      expect(refused.every((outcome) => (outcome as PromiseRejectedResult).reason.kind === "busy")).toBe(true);
      expect(outcomes.filter((outcome) => outcome.status === "fulfilled").length).toBeGreaterThan(0);
      expect(drains).toBeGreaterThan(0);
      expect(connection.closed).toBe(false);
      expect((await connection.call(3, 1, { topics: [] })).brokers.length).toBe(1);
    } finally {
      connection.close();
    }
  }, 30_000);

  test("a response above responseBytesMax fails the call with protocol and closes", async () => {
    const connection = await KafkaConnection.connect(options(server.port, { responseBytesMax: 4096 }));
    let closedWith: KafkaConnectionError | null | undefined;
    connection.onClose = (error) => (closedWith = error);
    const topics = Array.from({ length: 200 }, (_, i) => ({ name: `a-rather-long-topic-name-${i}` }));
    const error = await rejection(connection.call(3, 1, { topics }));
    expect(error.kind).toBe("protocol");
    expect(error.message).toContain("4096-byte limit");
    expect(closedWith?.kind).toBe("protocol");
    expect(connection.closed).toBe(true);
  });

  test("close() rejects pending calls with closed and calls onClose(null) once; later calls are refused", async () => {
    const connection = await KafkaConnection.connect(options(server.port));
    const seen: (KafkaConnectionError | null)[] = [];
    connection.onClose = (error) => seen.push(error);
    const pending = connection.call(3, 1, { topics: [] });
    connection.close();
    connection.close();
    expect((await rejection(pending)).kind).toBe("closed");
    expect(seen).toEqual([null]);
    expect(connection.closed).toBe(true);
    expect((await rejection(connection.call(3, 1, { topics: [] }))).kind).toBe("closed");
  });

  test("a refused connection rejects with connect", async () => {
    const spare = await startTestServer();
    const closedPort = spare.port;
    await spare[Symbol.asyncDispose]();
    const error = await rejection(KafkaConnection.connect(options(closedPort)));
    expect(error.kind).toBe("connect");
    expect(error.message).toContain(`127.0.0.1:${closedPort}`);
  });
});

// --- Fake brokers -------------------------------------------------------------------------------------------------

describe("fake brokers", () => {
  test("ApiVersions v3 answered in v0 with UNSUPPORTED_VERSION: retried at the advertised version, or v0", async () => {
    for (const [advertised, expected] of [[2, [3, 2]], [null, [3, 0]]] as const) {
      const versions: number[] = [];
      await using broker = fakeBroker((request) => {
        versions.push(request.header.requestApiVersion);
        if (request.header.requestApiVersion === 3) {
          const apiKeys = advertised === null ? [] : [{ apiKey: 18, minVersion: 0, maxVersion: advertised }];
          return reply(request, { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys }, 0);
        }
        answerApiVersions(request);
      });
      const connection = await KafkaConnection.connect(options(broker.port));
      expect(versions).toEqual([...expected]);
      expect(connection.apiVersions.get(3)).toEqual({ min: 0, max: 12 });
      connection.close();
    }
  });

  test("ApiVersions v3 refused in neither layout (librdkafka 2.0's mock cluster): retried at v0", async () => {
    // The mock's answer to v3 (rdkafka_mock_handlers.c): UNSUPPORTED_VERSION, a one-byte count of 1, its ApiVersions
    // range (18, 0..2), ThrottleTimeMs. Read as v0 the count is 0x01001200: kgate refused the broker.
    const versions: number[] = [];
    await using broker = fakeBroker((request) => {
      versions.push(request.header.requestApiVersion);
      if (request.header.requestApiVersion !== 3) return answerApiVersions(request);
      const frame = new Uint8Array([0, 0, 0, 17, 0, 0, 0, 0, 0, 35, 1, 0, 18, 0, 0, 0, 2, 0, 0, 0, 0]);
      new DataView(frame.buffer).setInt32(4, request.header.correlationId);
      request.socket.write(frame);
    });
    const connection = await KafkaConnection.connect(options(broker.port));
    expect(versions).toEqual([3, 0]);
    expect(connection.apiVersions.get(3)).toEqual({ min: 0, max: 12 });
    connection.close();
  });

  test("a broker that accepts and never answers: connect rejects with timeout within requestTimeoutMs", async () => {
    await using broker = fakeBroker(() => {});
    const started = performance.now();
    // The other timeouts are far off, so the upper bound can be loose (a slow machine's stalls) and still tell them apart.
    const error = await rejection(KafkaConnection.connect(options(broker.port, { requestTimeoutMs: 300, connectTimeoutMs: 30_000 })));
    const elapsedMs = performance.now() - started;
    expect(error.kind).toBe("timeout");
    expect(error.message).toContain("ApiVersions v3");
    expect(elapsedMs).toBeGreaterThanOrEqual(290);
    expect(elapsedMs).toBeLessThan(10_000);
  }, 30_000);

  test("a TLS connection to a peer that never completes the handshake rejects with connect within connectTimeoutMs", async () => {
    await using broker = fakeBroker(() => {});
    const started = performance.now();
    const error = await rejection(KafkaConnection.connect(options(broker.port, { connectTimeoutMs: 300, requestTimeoutMs: 30_000, tls: { rejectUnauthorized: true } })));
    const elapsedMs = performance.now() - started;
    expect(error.kind).toBe("connect");
    expect(elapsedMs).toBeGreaterThanOrEqual(290);
    expect(elapsedMs).toBeLessThan(10_000);
  }, 30_000);

  test("a broker that goes silent after ApiVersions: the call times out, onClose runs once, the others are rejected", async () => {
    await using broker = fakeBroker((request) => {
      if (request.header.requestApiKey === 18) answerApiVersions(request);
    });
    const connection = await KafkaConnection.connect(options(broker.port, { requestTimeoutMs: 300 }));
    const closes: (KafkaConnectionError | null)[] = [];
    connection.onClose = (error) => closes.push(error);
    const started = performance.now();
    const first = connection.call(3, 1, { topics: [] });
    await Bun.sleep(100);
    const second = connection.call(3, 1, { topics: [] }, { timeoutMs: 30_000 });
    const [firstError, secondError] = await Promise.all([rejection(first), rejection(second)]);
    const elapsedMs = performance.now() - started;
    expect(firstError.kind).toBe("timeout");
    expect(firstError.message).toContain("within 300 ms");
    expect(secondError.kind).toBe("closed");
    // Closed with the first call's timeout, long before the second's own.
    expect(elapsedMs).toBeGreaterThanOrEqual(290);
    expect(elapsedMs).toBeLessThan(10_000);
    expect(closes.length).toBe(1);
    expect(closes[0]).toBe(firstError);
    expect(connection.closed).toBe(true);
  }, 30_000);

  test("a broker that closes mid-call: every pending call is rejected with closed and onClose gets the error", async () => {
    let requests = 0;
    await using broker = fakeBroker((request) => {
      if (request.header.requestApiKey === 18) return answerApiVersions(request);
      if (++requests === 3) request.socket.end();
    });
    const connection = await KafkaConnection.connect(options(broker.port));
    let closedWith: KafkaConnectionError | null | undefined;
    connection.onClose = (error) => (closedWith = error);
    const calls = [1, 2, 3].map(() => connection.call(3, 1, { topics: [] }));
    const errors = await Promise.all(calls.map(rejection));
    expect(errors.map((error) => error.kind)).toEqual(["closed", "closed", "closed"]);
    expect(errors[0]!.message).toContain("closed the connection");
    expect(closedWith?.kind).toBe("closed");
    expect(connection.inFlight).toBe(0);
  });

  test("an answer with another correlation id is a protocol error", async () => {
    await using broker = fakeBroker((request) => {
      if (request.header.requestApiKey === 18) return answerApiVersions(request);
      reply({ ...request, header: { ...request.header, correlationId: request.header.correlationId + 7 } }, { brokers: [], topics: [], controllerId: -1, clusterId: null });
    });
    const connection = await KafkaConnection.connect(options(broker.port));
    const error = await rejection(connection.call(3, 1, { topics: [] }));
    expect(error.kind).toBe("protocol");
    expect(error.message).toContain("correlation id");
    expect(connection.closed).toBe(true);
  });
});

// --- TLS and SASL against kgate -----------------------------------------------------------------------------------

describe("SASL_SSL and SSL", () => {
  let certificates: TestCertificates;
  let server: TestServer;
  let ca: string;
  const ports: Record<string, number> = {};

  beforeAll(async () => {
    certificates = makeCertificates();
    ca = readFileSync(certificates.caFile, "utf8");
    const { security } = parseConfig([
      "--listeners", "SASL_SSL://127.0.0.1:0,SSL://127.0.0.1:0",
      "--tls-cert", certificates.serverCertFile, "--tls-key", certificates.serverKeyFile, "--tls-ca", certificates.caFile,
      "--tls-client-auth", "required",
      "--sasl-users-bootstrap", `alice:${PASSWORD}`,
    ], {})!;
    server = await startTestServer({ security });
    for (const listener of server.listeners) ports[listener.name] = listener.port;
  });
  afterAll(async () => {
    await server?.[Symbol.asyncDispose]();
    certificates?.[Symbol.dispose]();
  });

  const clientCertificate = () => ({ cert: readFileSync(certificates.clientCertFile, "utf8"), key: readFileSync(certificates.clientKeyFile, "utf8") });

  for (const mechanism of ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] as const) {
    test(`SASL_SSL ${mechanism} authenticates; Metadata then answers`, async () => {
      const connection = await KafkaConnection.connect(
        options(ports.SASL_SSL!, { tls: { ca, ...clientCertificate() }, sasl: { mechanism, username: "alice", password: PASSWORD } }),
      );
      try {
        const metadata = await connection.call(3, connection.version(3, 12), { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
        expect(metadata.brokers[0].port).toBe(ports.SASL_SSL);
      } finally {
        connection.close();
      }
    });
  }

  test("SASL_SSL: 12 MiB of pipelined Produce through TLS partial writes arrive intact and Fetch back the same", async () => {
    const connection = await KafkaConnection.connect(
      options(ports.SASL_SSL!, { requestTimeoutMs: 20_000, tls: { ca, ...clientCertificate() }, sasl: { mechanism: "SCRAM-SHA-256", username: "alice", password: PASSWORD } }),
    );
    try {
      const values = Array.from({ length: 12 }, (_, i) => new Uint8Array(1000 * 1024).map((_, j) => (i * 7 + j) % 253));
      const batches = values.map((value) => buildRecordBatch({ records: [{ value }] }));
      const version = connection.version(0, 9);
      const calls = batches.map((records) => connection.call(0, version, { transactionalId: null, acks: -1, timeoutMs: 10_000, topicData: [{ name: "tls-bulk", partitionData: [{ index: 0, records }] }] }));
      expect(connection.pendingWriteBytes).toBeGreaterThan(0);
      const answers = await Promise.all(calls);
      expect(answers.map((answer) => answer.responses[0].partitionResponses[0].errorCode)).toEqual(values.map(() => ErrorCode.NONE));
      const received: Uint8Array[] = [];
      while (received.length < values.length) {
        const fetched = await connection.call(1, connection.version(1, 12), {
          replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 64 * 1024 * 1024, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: "",
          topics: [{ topic: "tls-bulk", partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: BigInt(received.length), lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 64 * 1024 * 1024 }] }],
        });
        const records: Uint8Array = fetched.responses[0].partitions[0].records;
        expect(records.length).toBeGreaterThan(0);
        for (let at = 0; at < records.length; ) {
          const length = 12 + new DataView(records.buffer, records.byteOffset + at).getInt32(8);
          if (at + length > records.length) break;
          received.push(decodeRecords(records.subarray(at, at + length))[0]!.value!);
          at += length;
        }
      }
      expect(received.every((value, i) => Buffer.from(value).equals(Buffer.from(values[i]!)))).toBe(true);
    } finally {
      connection.close();
    }
  }, 30_000);

  test("a wrong password is refused with auth and the broker's message, never the password", async () => {
    for (const mechanism of ["PLAIN", "SCRAM-SHA-512"] as const) {
      const error = await rejection(
        KafkaConnection.connect(options(ports.SASL_SSL!, { tls: { ca, ...clientCertificate() }, sasl: { mechanism, username: "alice", password: "not-the-password" } })),
      );
      expect(error.kind).toBe("auth");
      expect(error.message).toContain("Authentication failed");
      expect(error.message).toContain("alice");
      expect(error.message).not.toContain("not-the-password");
    }
  });

  test("SASL on a listener without SASL, a mechanism the broker does not enable, or one kgate lacks: clear auth errors", async () => {
    const onSsl = await rejection(
      KafkaConnection.connect(options(ports.SSL!, { tls: { ca, ...clientCertificate() }, sasl: { mechanism: "PLAIN", username: "alice", password: PASSWORD } })),
    );
    expect(onSsl.kind).toBe("auth");
    expect(onSsl.message).toContain("ILLEGAL_SASL_STATE");

    const { security } = parseConfig(["--listeners", "SASL_PLAINTEXT://127.0.0.1:0", "--sasl-mechanisms", "PLAIN", "--sasl-users-bootstrap", `alice:${PASSWORD}`], {})!;
    await using plainOnly = await startTestServer({ security });
    const notEnabled = await rejection(KafkaConnection.connect(options(plainOnly.port, { sasl: { mechanism: "SCRAM-SHA-256", username: "alice", password: PASSWORD } })));
    expect(notEnabled.kind).toBe("auth");
    expect(notEnabled.message).toContain("does not enable SASL mechanism SCRAM-SHA-256 (it enables: PLAIN)");

    const unknown = await rejection(KafkaConnection.connect(options(plainOnly.port, { sasl: { mechanism: "GSSAPI" as never, username: "alice", password: PASSWORD } })));
    expect(unknown.kind).toBe("auth");
    expect(unknown.message).toContain('"GSSAPI" is not supported');
  });

  test("mutual TLS: a client certificate from the CA is let in; none, or a server name the certificate lacks, is refused", async () => {
    const connection = await KafkaConnection.connect(options(ports.SSL!, { tls: { ca, ...clientCertificate() } }));
    expect((await connection.call(3, 1, { topics: [] })).brokers[0].port).toBe(ports.SSL);
    connection.close();

    const withoutCertificate = await rejection(KafkaConnection.connect(options(ports.SSL!, { tls: { ca } })));
    expect(withoutCertificate.kind).toBe("connect");
    expect(withoutCertificate.message).toContain("CERTIFICATE_REQUIRED");

    const wrongName = await rejection(KafkaConnection.connect(options(ports.SSL!, { tls: { ca, ...clientCertificate(), serverName: "central.example" } })));
    expect(wrongName.kind).toBe("connect");
    expect(wrongName.message).toContain("TLS handshake");
    // ssl.endpoint.identification.algorithm= (none): the chain is still checked, the name is not.
    const unchecked = await KafkaConnection.connect(options(ports.SSL!, { tls: { ca, ...clientCertificate(), serverName: "central.example", checkHostname: false } }));
    unchecked.close();

    const untrusted = await rejection(KafkaConnection.connect(options(ports.SSL!, { tls: { ca: readFileSync(`${certificates.dir}/other-ca.pem`, "utf8"), ...clientCertificate(), checkHostname: false } })));
    expect(untrusted.kind).toBe("connect");
  });
});
