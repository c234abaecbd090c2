// KIP-368 with a real client: kafkajs reads sessionLifetimeMs from SaslAuthenticate v1 and re-authenticates on the
// same connection before the session ends (reauthenticationThreshold before it); the broker accepts that and keeps
// serving. A raw-client test (sasl-protocol.test.ts) covers the close of an expired session.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import { parseConfig } from "../../../src/config.ts";
import { setLogLevel, setLogSink } from "../../../src/util/logger.ts";
import { startTestServer, type TestServer } from "../../helpers/server.ts";

// kafkajs re-authenticates once a session is older than lifetime - threshold (1.5 s): a send every 2.5 s does so each
// time, and leaves 2.5 s before the session would end for a slow machine's stalls (it was 1.5 s of 3 s).
const SESSION_LIFETIME_MS = 5_000;
const REAUTHENTICATION_THRESHOLD_MS = 3_500;

let server: TestServer;
const logLines: string[] = [];

beforeAll(async () => {
  const { security } = parseConfig([
    "--listeners", "SASL_PLAINTEXT://127.0.0.1:0",
    "--sasl-users-bootstrap", "alice:alice-secret",
    "--sasl-session-lifetime-ms", String(SESSION_LIFETIME_MS),
  ], {})!;
  server = await startTestServer({ security });
  setLogLevel("info");
  setLogSink((line) => logLines.push(line));
});
afterAll(async () => {
  setLogSink((line) => process.stderr.write(line + "\n"));
  await server?.[Symbol.asyncDispose]();
});

test("kafkajs re-authenticates before its session ends and keeps producing on the same connections", async () => {
  const kafka = new Kafka({
    clientId: "kafkajs-reauth",
    brokers: [server.bootstrap],
    sasl: { mechanism: "scram-sha-512", username: "alice", password: "alice-secret" },
    reauthenticationThreshold: REAUTHENTICATION_THRESHOLD_MS,
    logLevel: logLevel.NOTHING,
  });
  const producer = kafka.producer();
  await producer.connect();
  const opened = server.connectionCount;
  for (let i = 0; i < 4; i++) {
    await producer.send({ topic: "reauth", messages: [{ value: `v${i}` }] });
    await Bun.sleep(SESSION_LIFETIME_MS / 2);
  }
  await producer.send({ topic: "reauth", messages: [{ value: "last" }] });
  // 10 s of producing under 5 s sessions: only possible through re-authentication on the same connections.
  expect(logLines.filter((line) => line.includes("SASL re-authentication succeeded") && line.includes("principal=User:alice")).length).toBeGreaterThan(0);
  expect(logLines.some((line) => line.includes("SASL session expired"))).toBe(false);
  expect(server.connectionCount).toBe(opened);
  expect(server.broker.topics.get("reauth")!.partitions[0]!.logEndOffset).toBe(5);
  await producer.disconnect();
}, 60_000);
