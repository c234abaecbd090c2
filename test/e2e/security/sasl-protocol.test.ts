// SaslHandshake / SaslAuthenticate on the wire, from a raw client: the ordering Kafka enforces (nothing but
// ApiVersions and SASL before authentication), v0 raw tokens, failures that answer then close, KIP-368
// re-authentication and session expiry, and SCRAM users managed with Describe/AlterUserScramCredentials.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { pbkdf2Sync, randomBytes } from "node:crypto";
import { parseConfig } from "../../../src/config.ts";
import { ErrorCode } from "../../../src/protocol/error-codes.ts";
import { RawClient, requestFrame } from "../../helpers/raw-client.ts";
import { ScramClient } from "../../helpers/scram-client.ts";
import { startTestServer, type TestServer } from "../../helpers/server.ts";

// Re-authentication at half a lifetime leaves 2.5 s before the first session ends and 2.3 s between its end (plus
// 200 ms) and the second's for a slow machine's stalls; at 3 s it was 1.5 s and 1.3 s.
const SESSION_LIFETIME_MS = 5_000;

let server: TestServer;
let saslPort: number;
let plainPort: number;

beforeAll(async () => {
  const { security } = parseConfig([
    "--listeners", "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
    "--sasl-users-bootstrap", "alice:alice-secret,bob:bob-secret",
    "--sasl-session-lifetime-ms", String(SESSION_LIFETIME_MS),
  ], {})!;
  server = await startTestServer({ security });
  saslPort = server.listeners.find((listener) => listener.name === "SASL_PLAINTEXT")!.port;
  plainPort = server.listeners.find((listener) => listener.name === "PLAINTEXT")!.port;
});
afterAll(async () => {
  await server?.[Symbol.asyncDispose]();
});

const plainToken = (user: string, password: string) => Buffer.from(`\0${user}\0${password}`);

async function authenticateScram(client: RawClient, mechanism: "SCRAM-SHA-256" | "SCRAM-SHA-512", user: string, password: string, version = 1) {
  const handshake = await client.call(17, 1, { mechanism });
  expect(handshake.errorCode).toBe(ErrorCode.NONE);
  const scram = new ScramClient(mechanism, user, password);
  const first = await client.call(36, version, { authBytes: scram.clientFirst() });
  if (first.errorCode !== ErrorCode.NONE) return first;
  const final = await client.call(36, version, { authBytes: scram.clientFinal(first.authBytes) });
  if (final.errorCode === ErrorCode.NONE) expect(Buffer.from(final.authBytes).toString()).toBe(scram.serverFinal);
  return final;
}

function failures(): number {
  const text = server.broker.metrics.registry.render();
  return [...text.matchAll(/^kgate_authentication_failures_total\{[^}]*\} (\d+)$/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
}

describe("SASL ordering", () => {
  test("ApiVersions passes before authentication; Metadata closes the connection", async () => {
    const client = await RawClient.connect(saslPort);
    expect((await client.call(18, 3, { clientSoftwareName: "raw", clientSoftwareVersion: "1" })).errorCode).toBe(ErrorCode.NONE);
    client.write(new Uint8Array([0, 0, 0, 12, 0, 3, 0, 1, 0, 0, 0, 9, 0, 0, 0, 0]));
    expect(await client.waitClosed()).toBe(true);
  });

  test("SaslAuthenticate without a handshake closes the connection", async () => {
    const client = await RawClient.connect(saslPort);
    await client.call(18, 0, {});
    client.write(requestFrame(36, 1, 5, { authBytes: plainToken("alice", "alice-secret") }));
    expect(await client.waitClosed()).toBe(true);
  });

  test("on a PLAINTEXT listener SaslHandshake answers ILLEGAL_SASL_STATE and the connection stays", async () => {
    const client = await RawClient.connect(plainPort);
    expect((await client.call(17, 1, { mechanism: "PLAIN" })).errorCode).toBe(ErrorCode.ILLEGAL_SASL_STATE);
    expect((await client.call(3, 1, { topics: [] })).brokers[0].port).toBe(plainPort);
    client.close();
  });

  test("an unknown mechanism gets UNSUPPORTED_SASL_MECHANISM with the enabled list, then the connection closes", async () => {
    const client = await RawClient.connect(saslPort);
    const handshake = await client.call(17, 1, { mechanism: "GSSAPI" });
    expect(handshake.errorCode).toBe(ErrorCode.UNSUPPORTED_SASL_MECHANISM);
    expect(handshake.mechanisms).toEqual(["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]);
    expect(await client.waitClosed()).toBe(true);
  });
});

describe("SaslAuthenticate", () => {
  test("PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 (v0, v1, v2) authenticate; Metadata then advertises the SASL listener", async () => {
    for (const [mechanism, version] of [["SCRAM-SHA-256", 0], ["SCRAM-SHA-512", 1], ["SCRAM-SHA-256", 2]] as const) {
      const client = await RawClient.connect(saslPort);
      const final = await authenticateScram(client, mechanism, "alice", "alice-secret", version);
      expect(final.errorCode).toBe(ErrorCode.NONE);
      expect((await client.call(3, 1, { topics: [] })).brokers[0].port).toBe(saslPort);
      client.close();
    }
    const client = await RawClient.connect(saslPort);
    expect((await client.call(17, 1, { mechanism: "PLAIN" })).errorCode).toBe(ErrorCode.NONE);
    const answer = await client.call(36, 2, { authBytes: plainToken("bob", "bob-secret") });
    expect(answer).toMatchObject({ errorCode: ErrorCode.NONE, errorMessage: null, sessionLifetimeMs: BigInt(SESSION_LIFETIME_MS) });
    expect((await client.call(3, 1, { topics: [] })).brokers[0].port).toBe(saslPort);
    client.close();
  });

  test("wrong passwords and unknown users get SASL_AUTHENTICATION_FAILED, the connection closes, the metric counts", async () => {
    const before = failures();
    const attempts: [string, (client: RawClient) => Promise<{ errorCode: number; errorMessage: string | null }>][] = [
      ["PLAIN wrong password", async (client) => (await client.call(17, 1, { mechanism: "PLAIN" }), client.call(36, 1, { authBytes: plainToken("alice", "nope") }))],
      ["PLAIN unknown user", async (client) => (await client.call(17, 1, { mechanism: "PLAIN" }), client.call(36, 1, { authBytes: plainToken("mallory", "x") }))],
      ["SCRAM wrong password", (client) => authenticateScram(client, "SCRAM-SHA-512", "alice", "nope")],
      ["SCRAM unknown user", (client) => authenticateScram(client, "SCRAM-SHA-256", "mallory", "x")],
      ["PLAIN garbage", async (client) => (await client.call(17, 1, { mechanism: "PLAIN" }), client.call(36, 1, { authBytes: Buffer.from("garbage") }))],
    ];
    for (const [what, attempt] of attempts) {
      const client = await RawClient.connect(saslPort);
      const answer = await attempt(client);
      expect(answer.errorCode, what).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
      expect(answer.errorMessage, what).toBeTruthy();
      expect(await client.waitClosed(), what).toBe(true);
    }
    expect(failures() - before).toBe(attempts.length);
  });

  test("SaslHandshake v0 then raw tokens (no Kafka header): PLAIN and SCRAM; a wrong raw password just closes", async () => {
    const raw = (token: Uint8Array) => {
      const frame = new Uint8Array(4 + token.length);
      new DataView(frame.buffer).setInt32(0, token.length);
      frame.set(token, 4);
      return frame;
    };
    let client = await RawClient.connect(saslPort);
    expect((await client.call(17, 0, { mechanism: "PLAIN" })).errorCode).toBe(ErrorCode.NONE);
    client.write(raw(plainToken("alice", "alice-secret")));
    expect((await client.nextFrame())!.length).toBe(0); // an empty raw token: success
    expect((await client.call(3, 1, { topics: [] })).brokers[0].port).toBe(saslPort);
    client.close();

    client = await RawClient.connect(saslPort);
    expect((await client.call(17, 0, { mechanism: "SCRAM-SHA-512" })).errorCode).toBe(ErrorCode.NONE);
    const scram = new ScramClient("SCRAM-SHA-512", "bob", "bob-secret");
    client.write(raw(scram.clientFirst()));
    const serverFirst = (await client.nextFrame())!;
    client.write(raw(scram.clientFinal(serverFirst)));
    expect(Buffer.from((await client.nextFrame())!).toString()).toBe(scram.serverFinal);
    expect((await client.call(3, 1, { topics: [] })).brokers[0].port).toBe(saslPort);
    client.close();

    client = await RawClient.connect(saslPort);
    await client.call(17, 0, { mechanism: "PLAIN" });
    client.write(raw(plainToken("alice", "wrong")));
    expect(await client.nextFrame()).toBeNull();
    expect(client.closed).toBe(true);
  });
});

describe("re-authentication (KIP-368)", () => {
  test("a session re-authenticated before it expires keeps serving; one that expires is closed at its next request", async () => {
    // Waits are measured from what the client saw: a session ends at the latest a lifetime after its answer arrived,
    // and lasts at least a lifetime after its handshake was sent. Fixed sleeps left 550 ms for a slow machine's stalls.
    const client = await RawClient.connect(saslPort);
    const first = await authenticateScram(client, "SCRAM-SHA-256", "alice", "alice-secret");
    const firstEndsBy = performance.now() + SESSION_LIFETIME_MS;
    expect(first.sessionLifetimeMs).toBe(BigInt(SESSION_LIFETIME_MS));
    await Bun.sleep(SESSION_LIFETIME_MS / 2);
    const secondLastsUntil = performance.now() + SESSION_LIFETIME_MS;
    const again = await authenticateScram(client, "SCRAM-SHA-256", "alice", "alice-secret");
    expect(again.errorCode).toBe(ErrorCode.NONE);
    const secondEndsBy = performance.now() + SESSION_LIFETIME_MS;
    await Bun.sleep(Math.max(0, firstEndsBy + 200 - performance.now()));
    // Past the first session's end but inside the second's.
    expect(performance.now()).toBeLessThan(secondLastsUntil);
    expect((await client.call(3, 1, { topics: [] })).brokers[0].port).toBe(saslPort);
    await Bun.sleep(Math.max(0, secondEndsBy + 200 - performance.now()));
    client.write(new Uint8Array([0, 0, 0, 12, 0, 3, 0, 1, 0, 0, 0, 9, 0, 0, 0, 0]));
    expect(await client.waitClosed()).toBe(true);
  }, 30_000);

  test("re-authenticating as another user is refused", async () => {
    const client = await RawClient.connect(saslPort);
    expect((await authenticateScram(client, "SCRAM-SHA-256", "alice", "alice-secret")).errorCode).toBe(ErrorCode.NONE);
    const other = await authenticateScram(client, "SCRAM-SHA-256", "bob", "bob-secret");
    expect(other.errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
    expect(await client.waitClosed()).toBe(true);
  });
});

describe("DescribeUserScramCredentials / AlterUserScramCredentials", () => {
  test("a user created over the protocol (salted password computed by the client) can log in; Kafka's errors", async () => {
    const admin = await RawClient.connect(plainPort);
    const salt = randomBytes(16);
    const saltedPassword = pbkdf2Sync("carol-secret", salt, 8192, 64, "sha512");
    const altered = await admin.call(51, 0, {
      deletions: [{ name: "nobody", mechanism: 1 }],
      upsertions: [
        { name: "carol", mechanism: 2, iterations: 8192, salt, saltedPassword },
        { name: "dave", mechanism: 1, iterations: 100, salt, saltedPassword: saltedPassword.subarray(0, 32) },
        { name: "erin", mechanism: 9, iterations: 4096, salt, saltedPassword },
        { name: "", mechanism: 1, iterations: 4096, salt, saltedPassword: saltedPassword.subarray(0, 32) },
      ],
    });
    expect(altered.results.map((result: { user: string; errorCode: number }) => [result.user, result.errorCode])).toEqual([
      ["nobody", ErrorCode.RESOURCE_NOT_FOUND],
      ["carol", ErrorCode.NONE],
      ["dave", ErrorCode.UNACCEPTABLE_CREDENTIAL],
      ["erin", ErrorCode.UNSUPPORTED_SASL_MECHANISM],
      ["", ErrorCode.UNACCEPTABLE_CREDENTIAL],
    ]);

    const described = await admin.call(50, 0, { users: [{ name: "carol" }, { name: "zed" }] });
    expect(described.results).toEqual([
      { user: "carol", errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos: [{ mechanism: 2, iterations: 8192 }] },
      { user: "zed", errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: "Attempt to describe a user credential that does not exist: zed", credentialInfos: [] },
    ]);
    const all = await admin.call(50, 0, { users: null });
    expect(all.results.map((result: { user: string }) => result.user)).toEqual(["alice", "bob", "carol"]);

    const client = await RawClient.connect(saslPort);
    expect((await authenticateScram(client, "SCRAM-SHA-512", "carol", "carol-secret")).errorCode).toBe(ErrorCode.NONE);
    client.close();
    // PLAIN checks against the SCRAM credential too.
    const plain = await RawClient.connect(saslPort);
    await plain.call(17, 1, { mechanism: "PLAIN" });
    expect((await plain.call(36, 1, { authBytes: plainToken("carol", "carol-secret") })).errorCode).toBe(ErrorCode.NONE);
    plain.close();

    const deleted = await admin.call(51, 0, { deletions: [{ name: "carol", mechanism: 2 }], upsertions: [] });
    expect(deleted.results).toEqual([{ user: "carol", errorCode: ErrorCode.NONE, errorMessage: null }]);
    const gone = await RawClient.connect(saslPort);
    expect((await authenticateScram(gone, "SCRAM-SHA-512", "carol", "carol-secret")).errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
    admin.close();
  });
});
