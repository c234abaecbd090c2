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

test("--http-roles: read may look up and check, write may register, admin may delete and configure (403 40301 otherwise)", async () => {
  const config = parseConfig([
    "--listen", "127.0.0.1:0", "--registry-listen", "127.0.0.1:0", "--http-auth", "true",
    "--sasl-users-bootstrap", "reader:r-secret,writer:w-secret,boss:b-secret",
    "--http-roles", "writer:write,boss:admin",
  ], {})!;
  await using roles = await startTestServer({ security: config.security, registryListen: config.registryListen });
  const url = `http://127.0.0.1:${roles.registry!.server.port}`;
  const send = (method: string, path: string, who: [string, string], body?: unknown) =>
    fetch(`${url}${path}`, {
      method,
      headers: { ...basic(...who), "content-type": "application/vnd.schemaregistry.v1+json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const schema = { schema: JSON.stringify({ type: "record", name: "R", fields: [{ name: "a", type: "int" }] }) };
  const reader: [string, string] = ["reader", "r-secret"];
  const writer: [string, string] = ["writer", "w-secret"];
  const boss: [string, string] = ["boss", "b-secret"];

  const refused = await send("POST", "/subjects/s-value/versions", reader, schema);
  expect(refused.status).toBe(403);
  expect((await refused.json()).error_code).toBe(40301);
  expect((await send("POST", "/subjects/s-value/versions", writer, schema)).status).toBe(200);
  expect((await send("GET", "/subjects", reader)).status).toBe(200);
  expect((await send("POST", "/subjects/s-value", reader, schema)).status).toBe(200); // lookup
  expect((await send("POST", "/compatibility/subjects/s-value/versions/latest", reader, schema)).status).toBe(200);
  expect((await send("PUT", "/config/s-value", writer, { compatibility: "NONE" })).status).toBe(403);
  expect((await send("DELETE", "/subjects/s-value", writer)).status).toBe(403);
  expect((await send("PUT", "/config/s-value", boss, { compatibility: "NONE" })).status).toBe(200);
  expect((await send("DELETE", "/subjects/s-value", boss)).status).toBe(200);
});
