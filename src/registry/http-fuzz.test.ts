// Fuzzing the schema registry's REST API on a kgate started in-process: random routes, methods, query parameters and
// bodies — malformed JSON, deeply nested JSON (100k levels), huge strings, wrong types in fields, malformed and deeply
// nested Avro, JSON Schema and Protobuf schemas, references to missing subjects — between valid registrations.
// Asserted: every answer is a 2xx or a 4xx (no 5xx, no hang past ANSWER_TIMEOUT_MS), a 4xx carries Confluent's JSON
// error body {"error_code": N, "message": "..."}, JSON answers parse; afterwards the registry still serves.
//
// Budget: CI sends a few hundred requests; KGATE_FUZZ_ITERATIONS=N sends N/10. A failure prints the seed, the
// iteration, the request and its body (hex); KGATE_FUZZ_SEED=<seed> KGATE_FUZZ_REPLAY=<iteration> sends that request
// alone. A request that blocks the event loop (the registry runs in this process) stops the test without a report:
// KGATE_FUZZ_TRACE=1 prints each request as it goes out and as its answer comes back, so the culprit shows.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "../../test/helpers/server.ts";
import { fuzzIterations, fuzzSeed, hex, int, iterationRandom, pick, type Random } from "../server/fuzz-frames.ts";

const given = fuzzIterations(0);
const REQUESTS = given > 0 ? Math.ceil(given / 10) : 1_000;
const CONCURRENCY = 4;
const ANSWER_TIMEOUT_MS = 10_000;
const replayIterations = process.env.KGATE_FUZZ_REPLAY?.split(",").map(Number);
/** A campaign (KGATE_FUZZ_ITERATIONS) runs as long as it takes. */
const TEST_TIMEOUT_MS = given > 0 ? 2 ** 31 - 1 : 120_000;

let server: TestServer;
let base: string;
beforeAll(async () => {
  server = await startTestServer({ registryListen: { host: "127.0.0.1", port: 0 } });
  base = `http://127.0.0.1:${server.registry!.server.port}`;
});
afterAll(async () => {
  await server?.[Symbol.asyncDispose]();
});

const AVRO = [
  JSON.stringify({ type: "record", name: "User", namespace: "fuzz", fields: [{ name: "name", type: "string" }] }),
  JSON.stringify({ type: "record", name: "User", namespace: "fuzz", fields: [{ name: "name", type: "string" }, { name: "age", type: "int", default: 0 }] }),
  JSON.stringify({ type: "enum", name: "Color", symbols: ["RED", "GREEN"] }),
  JSON.stringify("string"),
  JSON.stringify(["null", "long"]),
];
const JSON_SCHEMAS = [
  JSON.stringify({ type: "object", properties: { name: { type: "string" } } }),
  JSON.stringify({ type: "object", properties: { id: { type: "integer" } }, required: ["id"], additionalProperties: false }),
  JSON.stringify({ $ref: "#/definitions/a", definitions: { a: { $ref: "#/definitions/b" }, b: { $ref: "#/definitions/a" } } }),
];
const PROTOBUF = [
  'syntax = "proto3";\npackage fuzz;\nmessage User { string name = 1; int32 age = 2; }\n',
  'syntax = "proto3";\nmessage A { B b = 1; }\nmessage B { repeated A a = 1; }\n',
  'syntax = "proto3";\nimport "other.proto";\nmessage C { Other o = 1; }\n',
];
const SUBJECTS = ["fuzz-value", "fuzz-key", "other.proto", "fuzz-json", "fuzz-proto", "", "é ✓", "a".repeat(300), "%2F..%2F", "x/y"];
const VERSIONS = ["1", "2", "latest", "-1", "0", "abc", "99999999999", "1.5", "-2"];

function deepAvro(depth: number, random: Random): string {
  switch (int(random, 0, 3)) {
    case 0: // arrays of arrays
      return '{"type":"array","items":'.repeat(depth) + '"int"' + "}".repeat(depth);
    case 1: // unions of unions (invalid in Avro, and deep)
      return "[".repeat(depth) + '"int"' + "]".repeat(depth);
    case 2: // records inside records
      return Array.from({ length: depth }, (_, i) => `{"type":"record","name":"R${i}","fields":[{"name":"f","type":`).join("") + '"int"' + "}]}".repeat(depth);
    default: // maps, unterminated
      return '{"type":"map","values":'.repeat(depth);
  }
}

function deepJsonSchema(depth: number, random: Random): string {
  switch (int(random, 0, 2)) {
    case 0:
      return '{"type":"object","properties":{"a":'.repeat(depth) + '{"type":"string"}' + "}}".repeat(depth);
    case 1:
      return '{"items":'.repeat(depth) + "{}" + "}".repeat(depth);
    default:
      return '{"allOf":['.repeat(depth) + "{}" + "]}".repeat(depth);
  }
}

function deepProtobuf(depth: number, random: Random): string {
  if (random() < 0.5) return 'syntax = "proto3";\n' + Array.from({ length: depth }, (_, i) => `message M${i} {`).join("\n") + "}".repeat(depth);
  return 'syntax = "proto3";\nmessage A { ' + "oneof x { ".repeat(depth) + "int32 a = 1; }";
}

function junk(random: Random, length: number): string {
  return Array.from({ length }, () => String.fromCharCode(int(random, 0, 0xffff))).join("");
}

/** A schema text: valid, malformed, deeply nested or huge, of a random type. */
function schemaText(random: Random, schemaType: string): string {
  const roll = random();
  const type = schemaType === "PROTOBUF" || schemaType === "JSON" ? schemaType : "AVRO";
  if (roll < 0.45) return pick(random, type === "AVRO" ? AVRO : type === "JSON" ? JSON_SCHEMAS : PROTOBUF);
  const depth = pick(random, [50, 1000, 10_000, 100_000]);
  if (roll < 0.7) return type === "AVRO" ? deepAvro(depth, random) : type === "JSON" ? deepJsonSchema(depth, random) : deepProtobuf(depth, random);
  if (roll < 0.8) {
    const valid = pick(random, type === "AVRO" ? AVRO : type === "JSON" ? JSON_SCHEMAS : PROTOBUF);
    return valid.slice(0, int(random, 0, valid.length - 1)); // truncated
  }
  if (roll < 0.9) return junk(random, int(random, 1, 200));
  return pick(random, ['{"type":"record"}', '{"type":"record","name":"X","fields":"no"}', '{"type":"nope"}', "null", "{}", "[]", '{"type":{"type":{"type":"int"}}}', 'message {', 'syntax = "proto9";', '{"$ref":"#"}', '{"type":"object","properties":5}']);
}

function references(random: Random): unknown {
  const roll = random();
  if (roll < 0.6) return undefined;
  if (roll < 0.7) return pick(random, ["x", 5, {}, [1], [{ name: 1 }], null]);
  return Array.from({ length: int(random, 1, 3) }, () => ({
    name: pick(random, ["other.proto", "missing.avsc", "fuzz.User", ""]),
    subject: pick(random, ["other.proto", "missing-subject", "fuzz-value", ""]),
    version: pick(random, [1, -1, 0, 999, 2 ** 31]),
  }));
}

/** A JSON body: a plausible one, one with wrong types, or one that is not JSON at all. */
function body(random: Random, route: string): string {
  const roll = random();
  if (roll < 0.12) {
    return pick(random, [
      () => "{",
      () => '{"schema": "unterminated',
      () => "nul",
      () => junk(random, int(random, 1, 100)),
      () => "[".repeat(100_000),
      () => "[".repeat(20_000) + "]".repeat(20_000),
      () => '{"a":'.repeat(50_000) + "1" + "}".repeat(50_000),
      () => "",
      () => '{"schema": "' + "x".repeat(pick(random, [100_000, 4 << 20])) + '"}',
      () => JSON.stringify({ schema: "\u0000\ud800" }),
    ])();
  }
  if (route === "config") return JSON.stringify(pick(random, [{ compatibility: pick(random, ["BACKWARD", "full_transitive", "NONE", "bogus", 3, null]) }, { compatibilityLevel: [] }, { normalize: pick(random, [true, "yes", 1]) }, {}, null, 5, "x"]));
  if (route === "mode") return JSON.stringify(pick(random, [{ mode: pick(random, ["READWRITE", "READONLY", "IMPORT", "readwrite", "bogus", 1, null]) }, {}, [], null]));
  const schemaType = pick(random, ["AVRO", "JSON", "PROTOBUF", undefined, "avro", "XML", 5, null]);
  const fields: Record<string, unknown> = { schema: schemaText(random, String(schemaType ?? "AVRO").toUpperCase()) };
  if (schemaType !== undefined) fields.schemaType = schemaType;
  const refs = references(random);
  if (refs !== undefined) fields.references = refs;
  if (random() < 0.15) fields.schema = pick(random, [5, null, ["a"], { type: "string" }, true, ""]);
  if (random() < 0.05) fields.id = pick(random, [1, -1, "x", 1e300]);
  if (random() < 0.05) fields.version = pick(random, [1, -5, "2", 1e300]);
  return JSON.stringify(fields);
}

interface FuzzRequest {
  method: string;
  path: string;
  body: string | undefined;
  contentType: string;
}

function request(random: Random): FuzzRequest {
  const subject = encodeURIComponent(pick(random, SUBJECTS));
  const version = pick(random, VERSIONS);
  const id = pick(random, ["1", "2", "3", "0", "-1", "x", "99999999999999999999"]);
  const query = random() < 0.4 ? "?" + pick(random, ["normalize=true", "deleted=true", "permanent=true", "format=resolved", "format=serialized", "format=bogus", "verbose=true", "force=true", "defaultToGlobal=true", "subjectPrefix=fuzz", "latestOnly=true", "limit=-1", "partition=99&offset=abc"]) : "";
  const [method, path, route] = pick(random, [
    ["POST", `/subjects/${subject}/versions`, "register"],
    ["POST", `/subjects/${subject}/versions`, "register"],
    ["POST", `/subjects/${subject}/versions`, "register"],
    ["POST", `/subjects/${subject}`, "register"],
    ["POST", `/compatibility/subjects/${subject}/versions/${version}`, "register"],
    ["POST", `/compatibility/subjects/${subject}/versions`, "register"],
    ["GET", `/subjects/${subject}/versions/${version}`, ""],
    ["GET", `/subjects/${subject}/versions/${version}/schema`, "raw"],
    ["GET", `/subjects/${subject}/versions/${version}/referencedby`, ""],
    ["GET", `/subjects/${subject}/versions`, ""],
    ["GET", "/subjects", ""],
    ["DELETE", `/subjects/${subject}/versions/${version}`, ""],
    ["DELETE", `/subjects/${subject}`, ""],
    ["GET", `/schemas/ids/${id}`, ""],
    ["GET", `/schemas/ids/${id}/schema`, "raw"],
    ["GET", `/schemas/ids/${id}/versions`, ""],
    ["GET", `/schemas/ids/${id}/subjects`, ""],
    ["GET", "/schemas", ""],
    ["GET", "/schemas/types", ""],
    ["PUT", "/config", "config"],
    ["PUT", `/config/${subject}`, "config"],
    ["GET", `/config/${subject}`, ""],
    ["DELETE", `/config/${subject}`, ""],
    ["PUT", `/mode/${subject}`, "mode"],
    ["GET", `/mode/${subject}`, ""],
    ["DELETE", `/mode/${subject}`, ""],
    ["GET", `/topics/${subject}/records`, ""],
    ["GET", "/v1/metadata/id", ""],
    [pick(random, ["PATCH", "OPTIONS", "PUT", "POST"]), pick(random, ["/", "/subjects/%zz", "/schemas/ids", "/nope", "/" + "a/".repeat(2000), "/subjects/a/versions/1/schema/extra"]), "register"],
  ] as const);
  const sendsBody = method === "POST" || method === "PUT" || (method !== "GET" && method !== "DELETE" && random() < 0.5);
  const contentType = random() < 0.05 ? pick(random, ["text/plain", "application/xml", "", "application/json; charset=utf-8"]) : "application/vnd.schemaregistry.v1+json";
  // Mode changes are kept rare: a READONLY or IMPORT global mode would turn most registrations into the same 422.
  const text = sendsBody ? body(random, route) : undefined;
  return { method, path: path + query, body: text, contentType };
}

const describeRequest = (r: FuzzRequest) => {
  const bytes = new TextEncoder().encode(r.body ?? "");
  return `${r.method} ${r.path.length > 200 ? r.path.slice(0, 200) + "…" : r.path} content-type ${r.contentType} body ${bytes.length > 1024 ? `${hex(bytes.subarray(0, 1024))}…(${bytes.length} bytes)` : hex(bytes)}`;
};

async function send(r: FuzzRequest): Promise<{ status: number; text: string; contentType: string | null } | "timeout"> {
  try {
    const response = await fetch(`${base}${r.path}`, {
      method: r.method,
      headers: r.body === undefined ? {} : { "content-type": r.contentType },
      body: r.body,
      signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
    });
    return { status: response.status, text: await response.text(), contentType: response.headers.get("content-type") };
  } catch (error) {
    if ((error as Error).name === "TimeoutError") return "timeout";
    throw error;
  }
}

/** What is wrong with the answer, or null. */
function problem(r: FuzzRequest, answer: Awaited<ReturnType<typeof send>>): string | null {
  if (answer === "timeout") return `no answer within ${ANSWER_TIMEOUT_MS} ms`;
  const { status, text } = answer;
  if (status >= 500) return `HTTP ${status}: ${text.slice(0, 300)}`;
  if (status < 200 || (status >= 300 && status < 400)) return `HTTP ${status}`;
  if (status >= 200 && status < 300 && r.path.split("?")[0]!.endsWith("/schema")) return null; // the schema text itself
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch {
    return `HTTP ${status} with a body that is not JSON: ${text.slice(0, 200)}`;
  }
  if (status >= 400 && (typeof parsed?.error_code !== "number" || typeof parsed?.message !== "string")) return `HTTP ${status} without Confluent's error body: ${text.slice(0, 200)}`;
  return null;
}

test(`the registry answers fuzzed requests with 2xx or 4xx and keeps serving (${REQUESTS} requests)`, async () => {
  const seed = fuzzSeed(31337);
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  const started = performance.now();
  const queue = replayIterations ?? Array.from({ length: REQUESTS }, (_, i) => i);
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < queue.length && failures.length < 5) {
      const i = queue[next++]!;
      const r = request(iterationRandom(seed, i));
      if (process.env.KGATE_FUZZ_TRACE) process.stderr.write(`> ${i} ${describeRequest(r).slice(0, 300)}\n`);
      const answer = await send(r);
      if (process.env.KGATE_FUZZ_TRACE) process.stderr.write(`< ${i}\n`);
      if (answer !== "timeout") statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      const wrong = problem(r, answer);
      if (wrong) failures.push(`${wrong} (seed ${seed}, iteration ${i}, ${describeRequest(r)}; replay: KGATE_FUZZ_SEED=${seed} KGATE_FUZZ_REPLAY=${i})`);
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  console.log(`registry fuzz, seed ${seed}: ${queue.length} requests in ${seconds.toFixed(1)} s; statuses ${[...statuses].sort((a, b) => a[0] - b[0]).map(([status, n]) => `${status}×${n}`).join(", ")}`);
  expect(failures.slice(0, 5)).toEqual([]);

  // Still serving: global mode back to READWRITE, a registration and a read.
  expect((await send({ method: "PUT", path: "/mode", body: JSON.stringify({ mode: "READWRITE" }), contentType: "application/json" }) as { status: number }).status).toBe(200);
  const registered = await send({ method: "POST", path: "/subjects/after-fuzz-value/versions", body: JSON.stringify({ schema: AVRO[2] }), contentType: "application/json" });
  expect(registered).not.toBe("timeout");
  expect((registered as { status: number }).status).toBe(200);
  const subjects = await send({ method: "GET", path: "/subjects", body: undefined, contentType: "" });
  expect(JSON.parse((subjects as { text: string }).text)).toContain("after-fuzz-value");
}, TEST_TIMEOUT_MS);
