// The registry's REST API against Confluent's documented shapes and error codes, on a kgate started in-process; and
// the state surviving a restart over the same data folder (ids, versions, configs, modes, deletes).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../config.ts";
import { startTestServer, type TestServer } from "../../test/helpers/server.ts";

const CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
const AVRO_V1 = JSON.stringify({ type: "record", name: "User", namespace: "kgate.test", fields: [{ name: "name", type: "string" }] });
const AVRO_V2 = JSON.stringify({ type: "record", name: "User", namespace: "kgate.test", fields: [{ name: "name", type: "string" }, { name: "age", type: "int", default: 0 }] });
const AVRO_BREAKING = JSON.stringify({ type: "record", name: "User", namespace: "kgate.test", fields: [{ name: "name", type: "int" }] });

let server: TestServer;
let base: string;

async function call(method: string, path: string, body?: unknown, contentType = CONTENT_TYPE): Promise<{ status: number; body: any; contentType: string | null }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": contentType },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: response.status, body: parsed, contentType: response.headers.get("content-type") };
}

beforeAll(async () => {
  server = await startTestServer({ registryListen: { host: "127.0.0.1", port: 0 } });
  base = `http://127.0.0.1:${server.registry!.server.port}`;
});
afterAll(async () => {
  await server[Symbol.asyncDispose]();
});

describe("subjects and versions", () => {
  test("register, register again, evolve, look up", async () => {
    const first = await call("POST", "/subjects/users-value/versions", { schema: AVRO_V1 });
    expect(first.status).toBe(200);
    expect(first.contentType).toBe(CONTENT_TYPE);
    const id = first.body.id as number;
    expect(id).toBeGreaterThan(0);
    // Same schema, different whitespace: same id, no new version.
    const again = await call("POST", "/subjects/users-value/versions", { schema: JSON.stringify(JSON.parse(AVRO_V1), null, 2) });
    expect(again.body).toEqual({ id });
    expect((await call("GET", "/subjects/users-value/versions")).body).toEqual([1]);
    // Same schema in another subject: same global id.
    expect((await call("POST", "/subjects/other-value/versions", { schema: AVRO_V1 }, "application/json")).body).toEqual({ id });

    const second = await call("POST", "/subjects/users-value/versions", { schema: AVRO_V2 });
    expect(second.body.id).not.toBe(id);
    expect((await call("GET", "/subjects/users-value/versions/latest")).body).toEqual({ subject: "users-value", version: 2, id: second.body.id, schema: AVRO_V2 });
    expect((await call("GET", "/subjects/users-value/versions/1/schema")).body).toEqual(JSON.parse(AVRO_V1));
    expect((await call("GET", `/schemas/ids/${id}`)).body).toEqual({ schema: AVRO_V1 });
    expect((await call("GET", `/schemas/ids/${id}/versions`)).body).toEqual([{ subject: "other-value", version: 1 }, { subject: "users-value", version: 1 }]);
    expect((await call("GET", `/schemas/ids/${id}/subjects`)).body).toEqual(["other-value", "users-value"]);
    expect((await call("POST", "/subjects/users-value", { schema: AVRO_V1 })).body).toMatchObject({ subject: "users-value", version: 1, id });
    expect((await call("GET", "/subjects?subjectPrefix=users")).body).toEqual(["users-value"]);
    expect((await call("GET", "/schemas/types")).body).toEqual(["JSON", "PROTOBUF", "AVRO"]);
  });

  test("incompatible schemas get 409 and compatibility checks list why", async () => {
    const refused = await call("POST", "/subjects/users-value/versions", { schema: AVRO_BREAKING });
    expect(refused.status).toBe(409);
    expect(refused.body.error_code).toBe(409);
    const verbose = await call("POST", "/compatibility/subjects/users-value/versions/latest?verbose=true", { schema: AVRO_BREAKING });
    expect(verbose.body.is_compatible).toBe(false);
    expect(verbose.body.messages.length).toBeGreaterThan(0);
    expect((await call("POST", "/compatibility/subjects/users-value/versions", { schema: AVRO_V2 })).body).toEqual({ is_compatible: true });
    expect((await call("PUT", "/config/users-value", { compatibility: "NONE" })).body).toEqual({ compatibility: "NONE" });
    expect((await call("GET", "/config/users-value")).body).toEqual({ compatibilityLevel: "NONE" });
    expect((await call("POST", "/subjects/users-value/versions", { schema: AVRO_BREAKING })).status).toBe(200);
    expect((await call("DELETE", "/config/users-value")).body).toEqual({ compatibilityLevel: "NONE" });
    expect((await call("GET", "/config/users-value")).body.error_code).toBe(40408);
    expect((await call("GET", "/config/users-value?defaultToGlobal=true")).body).toEqual({ compatibilityLevel: "BACKWARD" });
  });

  test("documented errors", async () => {
    expect((await call("GET", "/subjects/nope/versions")).body.error_code).toBe(40401);
    expect((await call("GET", "/subjects/users-value/versions/99")).body.error_code).toBe(40402);
    expect((await call("GET", "/schemas/ids/9999")).body.error_code).toBe(40403);
    expect((await call("GET", "/subjects/users-value/versions/zero")).body.error_code).toBe(42202);
    expect((await call("POST", "/subjects/bad/versions", { schema: "{not json" })).body.error_code).toBe(42201);
    expect((await call("POST", "/subjects/bad/versions", { schema: '{"type":"record","name":"X","fields":[{"name":"a","type":"Missing"}]}' })).body.error_code).toBe(42201);
    expect((await call("POST", "/subjects/bad/versions", { schema: "message {", schemaType: "PROTOBUF" })).body.error_code).toBe(42201);
    expect((await call("POST", "/subjects/bad/versions", { schema: '{"type":"record","name":"X","fields":[{"name":"a","type":"int","default":"one"}]}' })).body.error_code).toBe(42201);
    expect((await call("POST", "/subjects/bad/versions", { schemaType: "JSON", schema: '{"type":"strung"}' })).body.error_code).toBe(42201);
    expect((await call("POST", "/subjects/bad/versions", { schemaType: "XML", schema: "<a/>" })).body.error_code).toBe(42201);
    expect((await call("PUT", "/config", { compatibility: "SIDEWAYS" })).body.error_code).toBe(42203);
    expect((await call("POST", "/subjects/users-value", { schema: '"string"' })).body.error_code).toBe(40403);
    expect((await call("POST", "/subjects/users-value/versions", "not json")).status).toBe(400);
    expect((await call("POST", "/subjects/users-value/versions", { schema: AVRO_V1 }, "text/plain")).status).toBe(415);
    expect((await call("GET", "/no/such/path")).status).toBe(404);
    expect((await call("GET", "/subjects/%E0%A4%A/versions")).status).toBe(404);
  });

  test("soft and hard deletes", async () => {
    await call("POST", "/subjects/doomed/versions", { schema: '"string"' });
    await call("PUT", "/config/doomed", { compatibility: "NONE" });
    await call("POST", "/subjects/doomed/versions", { schema: '"int"' });
    expect((await call("DELETE", "/subjects/doomed/versions/1?permanent=true")).body.error_code).toBe(40407);
    expect((await call("DELETE", "/subjects/doomed/versions/1")).body).toBe(1);
    expect((await call("GET", "/subjects/doomed/versions")).body).toEqual([2]);
    expect((await call("GET", "/subjects/doomed/versions?deleted=true")).body).toEqual([1, 2]);
    expect((await call("DELETE", "/subjects/doomed?permanent=true")).body.error_code).toBe(40405);
    expect((await call("DELETE", "/subjects/doomed")).body).toEqual([2]);
    expect((await call("GET", "/subjects")).body).not.toContain("doomed");
    expect((await call("GET", "/subjects?deleted=true")).body).toContain("doomed");
    expect((await call("DELETE", "/subjects/doomed?permanent=true")).body).toEqual([1, 2]);
    expect((await call("GET", "/subjects?deleted=true")).body).not.toContain("doomed");
  });

  test("modes", async () => {
    expect((await call("GET", "/mode")).body).toEqual({ mode: "READWRITE" });
    expect((await call("PUT", "/mode/frozen", { mode: "READONLY" })).body).toEqual({ mode: "READONLY" });
    expect((await call("POST", "/subjects/frozen/versions", { schema: '"string"' })).body.error_code).toBe(42205);
    expect((await call("PUT", "/mode/frozen", { mode: "SOMETIMES" })).body.error_code).toBe(42204);
    expect((await call("DELETE", "/mode/frozen")).body).toEqual({ mode: "READONLY" });
    expect((await call("POST", "/subjects/frozen/versions", { schema: '"string"' })).status).toBe(200);
  });

  test("JSON Schema and Protobuf with references", async () => {
    const json = await call("POST", "/subjects/json-value/versions", { schemaType: "JSON", schema: '{"type":"object","properties":{"a":{"type":"string"}}}' });
    expect(json.status).toBe(200);
    expect((await call("GET", `/schemas/ids/${json.body.id}`)).body.schemaType).toBe("JSON");
    const dependency = 'syntax = "proto3";\npackage kgate.common;\nmessage Money { int64 units = 1; string currency = 2; }\n';
    expect((await call("POST", "/subjects/money.proto/versions", { schemaType: "PROTOBUF", schema: dependency })).status).toBe(200);
    const order = 'syntax = "proto3";\nimport "money.proto";\nmessage Order { string id = 1; kgate.common.Money total = 2; }\n';
    const references = [{ name: "money.proto", subject: "money.proto", version: 1 }];
    const registered = await call("POST", "/subjects/orders-value/versions", { schemaType: "PROTOBUF", schema: order, references });
    expect(registered.status).toBe(200);
    expect((await call("GET", "/subjects/money.proto/versions/1/referencedby")).body).toEqual([registered.body.id]);
    expect((await call("DELETE", "/subjects/money.proto")).body.error_code).toBe(42206);
    expect((await call("POST", "/subjects/orders2-value/versions", { schemaType: "PROTOBUF", schema: order, references: [{ name: "money.proto", subject: "money.proto", version: 7 }] })).body.error_code).toBe(42201);
  });
});

describe("restart", () => {
  test("ids, versions, configs, modes and deletes survive a restart over the same data folder", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "kgate-registry-"));
    try {
      const config = () => ({ ...parseConfig(["--data", dataDir, "--listen", "127.0.0.1:0", "--registry-listen", "127.0.0.1:0"], {})! });
      let ids: number[];
      {
        await using first = await startTestServer(config());
        base = `http://127.0.0.1:${first.registry!.server.port}`;
        ids = [(await call("POST", "/subjects/a/versions", { schema: AVRO_V1 })).body.id, (await call("POST", "/subjects/a/versions", { schema: AVRO_V2 })).body.id];
        await call("POST", "/subjects/b/versions", { schema: '"string"' });
        await call("DELETE", "/subjects/b");
        await call("PUT", "/config/a", { compatibility: "FULL" });
        await call("PUT", "/mode/c", { mode: "READONLY" });
      }
      await using second = await startTestServer(config());
      base = `http://127.0.0.1:${second.registry!.server.port}`;
      expect((await call("GET", "/subjects/a/versions")).body).toEqual([1, 2]);
      expect((await call("GET", "/subjects/a/versions/2")).body.id).toBe(ids[1]!);
      expect((await call("GET", `/schemas/ids/${ids[0]}`)).body).toEqual({ schema: AVRO_V1 });
      expect((await call("GET", "/subjects")).body).toEqual(["a"]);
      expect((await call("GET", "/subjects?deleted=true")).body).toEqual(["a", "b"]);
      expect((await call("GET", "/config/a")).body).toEqual({ compatibilityLevel: "FULL" });
      expect((await call("GET", "/mode/c")).body).toEqual({ mode: "READONLY" });
      // A new schema after the restart gets a new id, an old one its old id.
      expect((await call("POST", "/subjects/z/versions", { schema: AVRO_V1 })).body.id).toBe(ids[0]!);
      expect((await call("POST", "/subjects/z2/versions", { schema: '"long"' })).body.id).toBe(Math.max(...ids, 3) + 1);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
