// The HTTP listener (schema registry, /metrics) over TLS with HTTP Basic checked against the SASL users' salted
// SCRAM credentials; /health and /ready stay open for probes; a credential change takes effect at once.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { parseConfig } from "../../../src/config.ts";
import { ErrorCode } from "../../../src/protocol/error-codes.ts";
import { makeCertificates, type TestCertificates } from "../../helpers/certificates.ts";
import { RawClient } from "../../helpers/raw-client.ts";
import { startTestServer, type TestServer } from "../../helpers/server.ts";

let certificates: TestCertificates;
let server: TestServer;
let base: string;
let ca: string;

beforeAll(async () => {
  certificates = makeCertificates();
  const config = parseConfig([
    "--listen", "127.0.0.1:0", "--registry-listen", "127.0.0.1:0",
    "--tls-cert", certificates.serverCertFile, "--tls-key", certificates.serverKeyFile,
    "--http-tls", "true", "--http-auth", "true",
    "--sasl-users-bootstrap", "alice:alice-secret",
  ], {})!;
  server = await startTestServer({ security: config.security, registryListen: config.registryListen });
  base = `https://localhost:${server.registry!.server.port}`;
  ca = readFileSync(certificates.caFile, "utf8");
});
afterAll(async () => {
  await server?.[Symbol.asyncDispose]();
  certificates?.[Symbol.dispose]();
});

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` });
const get = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers, tls: { ca } });

test("without credentials or with a wrong password: 401 with a Basic challenge; with the right ones the registry answers", async () => {
  const anonymous = await get("/subjects");
  expect(anonymous.status).toBe(401);
  expect(anonymous.headers.get("www-authenticate")).toContain("Basic");
  expect((await get("/subjects", basic("alice", "wrong"))).status).toBe(401);
  expect((await get("/subjects", basic("mallory", "alice-secret"))).status).toBe(401);
  const allowed = await get("/subjects", basic("alice", "alice-secret"));
  expect(allowed.status).toBe(200);
  expect(await allowed.json()).toEqual([]);
});

test("/health and /ready stay open; /metrics needs credentials and counts the refusals", async () => {
  expect((await get("/health")).status).toBe(200);
  expect((await get("/ready")).status).toBe(200);
  expect((await get("/metrics")).status).toBe(401);
  const metrics = await (await get("/metrics", basic("alice", "alice-secret"))).text();
  expect(metrics).toMatch(/kgate_authentication_failures_total\{listener="HTTP",mechanism="BASIC"\} [1-9]/);
});

test("plain HTTP is not served on the TLS port", async () => {
  const outcome = await fetch(`http://127.0.0.1:${server.registry!.server.port}/health`).then((response) => response.status, () => "refused");
  expect(outcome).toBe("refused");
});

test("deleting the user's credentials over the protocol ends its HTTP access at once", async () => {
  expect((await get("/subjects", basic("alice", "alice-secret"))).status).toBe(200);
  const admin = await RawClient.connect(server.port);
  const deleted = await admin.call(51, 0, { deletions: [{ name: "alice", mechanism: 1 }, { name: "alice", mechanism: 2 }], upsertions: [] });
  expect(deleted.results).toEqual([{ user: "alice", errorCode: ErrorCode.NONE, errorMessage: null }]);
  admin.close();
  expect((await get("/subjects", basic("alice", "alice-secret"))).status).toBe(401);
});
