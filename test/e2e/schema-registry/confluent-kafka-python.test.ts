// confluent-kafka-python 1.7 (Debian python3-confluent-kafka, with python3-requests) and its SchemaRegistryClient
// against kgate's registry: register, look up, versions, compatibility tests and levels, JSON Schema, Protobuf with a
// reference, the documented error codes, soft and hard deletes. Skipped where the Python client is missing.

import { expect, test } from "bun:test";
import { join } from "node:path";
import { startTestServer } from "../../helpers/server.ts";

const PYTHON = "/usr/bin/python3";
const available = Bun.spawnSync([PYTHON, "-c", "import confluent_kafka.schema_registry"]).exitCode === 0;

if (!available) console.log("SKIPPED: confluent-kafka-python SchemaRegistryClient: python3-confluent-kafka (with python3-requests) is not installed (npm run setup installs it)");
test.skipIf(!available)("SchemaRegistryClient", async () => {
  await using server = await startTestServer({ registryListen: { host: "127.0.0.1", port: 0 } });
  const child = Bun.spawn([PYTHON, join(import.meta.dir, "python_client.py"), `http://127.0.0.1:${server.registry!.server.port}`], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  expect(stderr).toBe("");
  expect(exitCode).toBe(0);
  const out = JSON.parse(stdout);
  expect(out.id1_again).toBe(out.id1);
  expect(out.id2).not.toBe(out.id1);
  expect(JSON.parse(out.fetched)).toEqual({ type: "record", name: "Py", fields: [{ name: "a", type: "string" }] });
  expect(out.latest).toEqual([out.id2, 2, "py-value"]);
  expect(out.version1).toBe(out.id1);
  expect(out.versions).toEqual([1, 2]);
  expect(out.lookup).toBe(1);
  expect(out.compatible_v2).toBe(true);
  expect(out.compatible_bad).toBe(false);
  expect(out.register_bad).toBe(409);
  expect(out.compatibility).toBe("FULL");
  expect(out.global_compatibility).toBe("BACKWARD");
  expect(out.json_type).toBe("JSON");
  expect(out.proto_refs).toEqual([["py/common.proto", "py/common.proto", 1]]);
  expect([out.missing_subject, out.missing_version, out.missing_schema, out.invalid_schema]).toEqual([40401, 40402, 40403, 42201]);
  expect(out.deleted_version).toBe(1);
  expect(out.hard_deleted).toEqual([1]);
  expect(out.soft_deleted).toEqual([1]);
  expect(out.soft_again).toBe(40404);
  expect(out.subjects).toEqual(["py-value", "py/common.proto"]);
}, 30_000);
