// Schema forms over the REST API: Protobuf schemas registered as base64 FileDescriptorProtos (as serializers that
// ship compiled descriptors register them) and served back with `format=serialized`; Avro `format=resolved`; and
// `normalize` (request flag and config) giving schemas that differ only in what normalization drops one id.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import protobuf from "protobufjs";
import * as descriptor from "protobufjs/ext/descriptor";
import { startTestServer, type TestServer } from "../../test/helpers/server.ts";

let server: TestServer;
let base: string;

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/vnd.schemaregistry.v1+json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) };
  } catch {
    return { status: response.status, body: text };
  }
}

beforeAll(async () => {
  server = await startTestServer({ registryListen: { host: "127.0.0.1", port: 0 } });
  base = `http://127.0.0.1:${server.registry!.server.port}`;
});
afterAll(async () => {
  await server[Symbol.asyncDispose]();
});

const ORDER_V1 = `syntax = "proto3";
package shop;

message Order {
  string id = 1;
  repeated Line lines = 2;
  map<string, string> labels = 3;
  message Line {
    string sku = 1;
    int32 quantity = 2;
  }
}
`;

/** A descriptor the way protoc writes one: fully qualified type names, map entries named <Field>Entry, json names. */
function protocStyleDescriptor(extraField: boolean): string {
  const file = {
    name: "shop/order.proto",
    package: "shop",
    syntax: "proto3",
    messageType: [
      {
        name: "Order",
        field: [
          { name: "id", number: 1, label: 1, type: 9, jsonName: "id" },
          { name: "lines", number: 2, label: 3, type: 11, typeName: ".shop.Order.Line", jsonName: "lines" },
          { name: "labels", number: 3, label: 3, type: 11, typeName: ".shop.Order.LabelsEntry", jsonName: "labels" },
          ...(extraField ? [{ name: "note_text", number: 4, label: 1, type: 9, jsonName: "noteText" }] : []),
        ],
        nestedType: [
          { name: "Line", field: [{ name: "sku", number: 1, label: 1, type: 9, jsonName: "sku" }, { name: "quantity", number: 2, label: 1, type: 5, jsonName: "quantity" }] },
          {
            name: "LabelsEntry",
            field: [{ name: "key", number: 1, label: 1, type: 9, jsonName: "key" }, { name: "value", number: 2, label: 1, type: 9, jsonName: "value" }],
            options: { mapEntry: true },
          },
        ],
      },
    ],
  };
  const message = descriptor.FileDescriptorProto.fromObject(file);
  return Buffer.from(descriptor.FileDescriptorProto.encode(message).finish()).toString("base64");
}

describe("Protobuf FileDescriptorProto schemas", () => {
  test("a base64 descriptor registers, reads back as .proto text and as the same descriptor", async () => {
    const registered = await call("POST", "/subjects/orders-bin-value/versions", { schemaType: "PROTOBUF", schema: protocStyleDescriptor(false) });
    expect(registered.status).toBe(200);
    const { id } = registered.body;
    const text = (await call("GET", `/schemas/ids/${id}`)).body;
    expect(text.schemaType).toBe("PROTOBUF");
    expect(text.schema).toContain("message Order {");
    expect(text.schema).toContain("map<string, string> labels = 3;");
    // The text parses, and its messages and fields are the descriptor's.
    const parsed = protobuf.parse(text.schema, { keepCase: true }).root;
    const order = parsed.lookupType("shop.Order");
    expect(order.fieldsArray.map((field) => [field.name, field.id])).toEqual([["id", 1], ["lines", 2], ["labels", 3]]);
    expect(parsed.lookupType("shop.Order.Line").fieldsArray.map((field) => field.type)).toEqual(["string", "int32"]);

    // format=serialized: a FileDescriptorProto a descriptor reader builds the same messages from.
    const serialized = (await call("GET", `/schemas/ids/${id}?format=serialized`)).body.schema as string;
    const decoded = descriptor.FileDescriptorProto.decode(Buffer.from(serialized, "base64"));
    const root = protobuf.Root.fromDescriptor({ file: [decoded as descriptor.IFileDescriptorProto] }, { keepCase: true });
    expect(root.lookupType("shop.Order").fieldsArray.map((field) => [field.name, field.id, field.repeated])).toEqual([
      ["id", 1, false],
      ["lines", 2, true],
      ["labels", 3, false],
    ]);
    expect(root.lookupType("shop.Order").fields.labels).toBeInstanceOf(protobuf.MapField);
    // The same descriptor again: the same id, no new version.
    expect((await call("POST", "/subjects/orders-bin-value/versions", { schemaType: "PROTOBUF", schema: protocStyleDescriptor(false) })).body).toEqual({ id });
    expect((await call("POST", "/subjects/orders-bin-value", { schemaType: "PROTOBUF", schema: protocStyleDescriptor(false) })).body.version).toBe(1);
  });

  test("a .proto text schema is served as a descriptor; compatibility holds across both forms", async () => {
    const textId = (await call("POST", "/subjects/orders-mixed-value/versions", { schemaType: "PROTOBUF", schema: ORDER_V1 })).body.id;
    const serialized = (await call("GET", `/subjects/orders-mixed-value/versions/1?format=serialized`)).body.schema as string;
    const root = protobuf.Root.fromDescriptor({ file: [descriptor.FileDescriptorProto.decode(Buffer.from(serialized, "base64")) as descriptor.IFileDescriptorProto] }, { keepCase: true });
    expect(Object.keys(root.lookupType("shop.Order").fields)).toEqual(["id", "lines", "labels"]);
    expect((await call("GET", `/schemas/ids/${textId}/schema?format=serialized`)).body).toBe(serialized);

    // A descriptor adding a field evolves the text version (BACKWARD), one changing a field's type is refused.
    const evolved = await call("POST", "/subjects/orders-mixed-value/versions", { schemaType: "PROTOBUF", schema: protocStyleDescriptor(true) });
    expect(evolved.status).toBe(200);
    expect(evolved.body.id).not.toBe(textId);
    const breaking = ORDER_V1.replace("string id = 1;", "int64 id = 1;");
    const check = await call("POST", "/compatibility/subjects/orders-mixed-value/versions/latest?verbose=true", { schemaType: "PROTOBUF", schema: breaking });
    expect(check.body.is_compatible).toBe(false);
    expect(check.body.messages.join(" ")).toContain("FIELD_SCALAR_KIND_CHANGED");
    // And the protobufjs-written descriptor of the evolved schema (relative names, its own map entry names) reads too.
    const protobufjsDescriptor = protobuf.parse(ORDER_V1, { keepCase: true }).root.toDescriptor("proto3").file[0]!;
    const base64 = Buffer.from(descriptor.FileDescriptorProto.encode(protobufjsDescriptor).finish()).toString("base64");
    const compatible = await call("POST", "/compatibility/subjects/orders-mixed-value/versions/1", { schemaType: "PROTOBUF", schema: base64 });
    expect(compatible.body).toEqual({ is_compatible: true });
  });

  test("base64 that is no descriptor is an invalid schema", async () => {
    const response = await call("POST", "/subjects/bad-bin-value/versions", { schemaType: "PROTOBUF", schema: "AAAA" });
    expect(response.status).toBe(422);
    expect(response.body.error_code).toBe(42201);
  });
});

const PROTOC = Bun.which("protoc");
const PROTOC_SCHEMA = `syntax = "proto3";
package shop.v1;
import "google/protobuf/timestamp.proto";
option java_package = "com.shop";
option optimize_for = SPEED;
message Order {
  string id = 1;
  repeated Line lines = 2;
  map<string, Line> by_sku = 3;
  optional int32 priority = 4;
  oneof payment { string card = 5; string iban = 6; }
  google.protobuf.Timestamp created_at = 7;
  Status status = 8 [deprecated = true];
  reserved 20 to 25;
  reserved "legacy";
  message Line { string sku = 1; int64 qty = 2 [jstype = JS_STRING]; }
  enum Status { STATUS_UNSPECIFIED = 0; OPEN = 1; CLOSED = 2; }
}
enum Region { option allow_alias = true; EU = 0; EUROPE = 0; US = 1; }
service Orders { rpc Get (Order) returns (Order); rpc Watch (Order) returns (stream Order); }
`;

// protoc (Debian's protobuf-compiler) writes the descriptors real serializers ship; skipped where it is missing.
if (!PROTOC) console.log("SKIPPED: descriptors written by protoc: protoc is not installed (npm run setup installs protobuf-compiler)");
describe.skipIf(!PROTOC)("descriptors written by protoc", () => {
  test("each file of protoc's descriptor set registers; normalized, the descriptor and its .proto get one id", async () => {
    const folder = mkdtempSync(join(tmpdir(), "kgate-protoc-"));
    try {
      writeFileSync(join(folder, "shop.proto"), PROTOC_SCHEMA);
      const run = Bun.spawnSync([PROTOC!, `--proto_path=${folder}`, `--descriptor_set_out=${join(folder, "set.bin")}`, "--include_imports", "shop.proto"], { stderr: "pipe" });
      expect(run.exitCode).toBe(0);
      const set = descriptor.FileDescriptorSet.decode(readFileSync(join(folder, "set.bin"))) as unknown as { file: descriptor.IFileDescriptorProto[] };
      const base64Of = (name: string) => Buffer.from(descriptor.FileDescriptorProto.encode(set.file.find((file) => file.name === name)!).finish()).toString("base64");

      // google/protobuf/timestamp.proto as protoc compiled it: string options stay strings, enum options names.
      const timestamp = await call("POST", "/subjects/timestamp/versions", { schemaType: "PROTOBUF", schema: base64Of("google/protobuf/timestamp.proto") });
      const timestampText = (await call("GET", `/schemas/ids/${timestamp.body.id}`)).body.schema as string;
      expect(timestampText).toContain('option objc_class_prefix = "GPB";');
      expect(timestampText).toContain("message Timestamp {\n  int64 seconds = 1;\n  int32 nanos = 2;\n}");

      const fromDescriptor = await call("POST", "/subjects/protoc-value/versions?normalize=true", { schemaType: "PROTOBUF", schema: base64Of("shop.proto") });
      expect(fromDescriptor.status).toBe(200);
      const fromText = await call("POST", "/subjects/protoc-value/versions?normalize=true", { schemaType: "PROTOBUF", schema: PROTOC_SCHEMA });
      expect(fromText.body.id).toBe(fromDescriptor.body.id);
      const stored = (await call("GET", `/schemas/ids/${fromText.body.id}`)).body.schema as string;
      expect(stored).toContain("map<string, .shop.v1.Order.Line> by_sku = 3;");
      expect(stored).toContain("optional int32 priority = 4;");
      expect(stored).toContain("option optimize_for = SPEED;");
      expect(stored).toContain("rpc Watch (.shop.v1.Order) returns (stream .shop.v1.Order);");
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe("Avro format=resolved", () => {
  test("referenced named types are written inline", async () => {
    const address = { type: "record", name: "Address", namespace: "geo", fields: [{ name: "city", type: "string" }] };
    await call("POST", "/subjects/geo.Address/versions", { schema: JSON.stringify(address) });
    const person = { type: "record", name: "Person", namespace: "people", fields: [{ name: "home", type: "geo.Address" }, { name: "work", type: "geo.Address" }] };
    const { id } = (await call("POST", "/subjects/people-value/versions", { schema: JSON.stringify(person), references: [{ name: "geo.Address", subject: "geo.Address", version: 1 }] })).body;
    expect((await call("GET", `/schemas/ids/${id}`)).body.schema).toBe(JSON.stringify(person));
    const resolved = JSON.parse((await call("GET", `/schemas/ids/${id}?format=resolved`)).body.schema);
    expect(resolved.fields[0].type).toEqual({ type: "record", name: "geo.Address", fields: [{ name: "city", type: "string" }] });
    // Defined once, then used by name.
    expect(resolved.fields[1].type).toBe("geo.Address");
    // Unknown formats answer the schema as stored, as Confluent does.
    expect((await call("GET", `/schemas/ids/${id}?format=nonsense`)).body.schema).toBe(JSON.stringify(person));
  });
});

describe("normalize", () => {
  const AVRO_A = JSON.stringify({
    type: "record",
    name: "Reading",
    namespace: "iot",
    doc: "one reading",
    fields: [
      { name: "at", type: { type: "long", logicalType: "timestamp-millis" } },
      { name: "value", type: "double", default: 0 },
      { name: "unit", type: { type: "enum", name: "Unit", symbols: ["C", "F"] }, default: "C" },
      { name: "sensor", type: { type: "string" }, aliases: ["device", "probe"] },
    ],
  });
  // The same schema: keys in another order, the full name instead of name + namespace, a nested namespace written
  // out, {"type":"string"} shortened, aliases in another order.
  const AVRO_B = JSON.stringify({
    fields: [
      { type: { logicalType: "timestamp-millis", type: "long" }, name: "at" },
      { default: 0, type: "double", name: "value" },
      { name: "unit", default: "C", type: { symbols: ["C", "F"], namespace: "iot", type: "enum", name: "Unit" } },
      { name: "sensor", aliases: ["probe", "device"], type: "string" },
    ],
    doc: "one reading",
    name: "iot.Reading",
    type: "record",
  });

  test("Avro: without normalize two spellings are two versions; with it one id", async () => {
    const a = (await call("POST", "/subjects/readings-plain-value/versions", { schema: AVRO_A })).body.id;
    const b = (await call("POST", "/subjects/readings-plain-value/versions", { schema: AVRO_B })).body.id;
    expect(b).not.toBe(a);

    const normalizedA = (await call("POST", "/subjects/readings-norm-value/versions?normalize=true", { schema: AVRO_A })).body.id;
    const normalizedB = (await call("POST", "/subjects/readings-norm-value/versions?normalize=true", { schema: AVRO_B })).body.id;
    expect(normalizedB).toBe(normalizedA);
    expect((await call("GET", "/subjects/readings-norm-value/versions")).body).toEqual([1]);
    // Stored in normalized form: full names, logical types, defaults, doc and sorted aliases kept.
    const stored = (await call("GET", `/schemas/ids/${normalizedA}`)).body.schema;
    expect(stored).toBe(
      '{"name":"iot.Reading","type":"record","fields":[{"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},' +
        '{"name":"value","type":"double","default":0},{"name":"unit","type":{"name":"iot.Unit","type":"enum","symbols":["C","F"]},"default":"C"},' +
        '{"name":"sensor","type":"string","aliases":["device","probe"]}],"doc":"one reading"}',
    );
    // Lookup and compatibility take the flag too.
    expect((await call("POST", "/subjects/readings-norm-value?normalize=true", { schema: AVRO_B })).body.id).toBe(normalizedA);
    expect((await call("POST", "/subjects/readings-norm-value", { schema: AVRO_B })).status).toBe(404);
    expect((await call("POST", "/compatibility/subjects/readings-norm-value/versions/latest?normalize=true", { schema: AVRO_B })).body).toEqual({ is_compatible: true });
    // What normalization keeps still tells schemas apart: another default is another schema.
    const otherDefault = AVRO_B.replace('"default":0', '"default":1');
    expect((await call("POST", "/subjects/readings-norm-value/versions?normalize=true", { schema: otherDefault })).body.id).not.toBe(normalizedA);
  });

  test("Protobuf: field, option and import order and relative type names normalize away", async () => {
    const first = `syntax = "proto3";
package inv;
import "google/protobuf/timestamp.proto";
import "google/protobuf/duration.proto";
option java_package = "com.inv";
option java_multiple_files = true;
message Item {
  string sku = 1;
  Part part = 3;
  int32 count = 2;
  google.protobuf.Timestamp at = 4;
  google.protobuf.Duration ttl = 5;
  message Part { int64 serial = 1; }
}
`;
    const second = `// the same schema, written differently
syntax = "proto3";
package inv;
import "google/protobuf/duration.proto";
import "google/protobuf/timestamp.proto";
option java_multiple_files = true;
option java_package = "com.inv";
message Item {
  int32 count = 2;
  string sku = 1;
  .inv.Item.Part part = 3;
  .google.protobuf.Timestamp at = 4;
  .google.protobuf.Duration ttl = 5;
  message Part {
    int64 serial = 1;
  }
}
`;
    const plain = [(await call("POST", "/subjects/items-plain-value/versions", { schemaType: "PROTOBUF", schema: first })).body.id, (await call("POST", "/subjects/items-plain-value/versions", { schemaType: "PROTOBUF", schema: second })).body.id];
    expect(plain[1]).not.toBe(plain[0]);
    const a = (await call("POST", "/subjects/items-norm-value/versions?normalize=true", { schemaType: "PROTOBUF", schema: first })).body.id;
    const b = (await call("POST", "/subjects/items-norm-value/versions?normalize=true", { schemaType: "PROTOBUF", schema: second })).body.id;
    expect(b).toBe(a);
    const stored = (await call("GET", `/schemas/ids/${a}`)).body.schema as string;
    expect(stored).toContain('import "google/protobuf/duration.proto";\nimport "google/protobuf/timestamp.proto";');
    expect(stored).toContain('option java_multiple_files = true;\noption java_package = "com.inv";');
    expect(stored).toContain("  string sku = 1;\n  int32 count = 2;\n  .inv.Item.Part part = 3;\n  .google.protobuf.Timestamp at = 4;");
  });

  test("references: Avro named types and Protobuf imported types from other subjects, normalized", async () => {
    const money = 'syntax = "proto3";\npackage common;\nmessage Money { string currency = 1; int64 units = 2; }\n';
    await call("POST", "/subjects/common-money/versions", { schemaType: "PROTOBUF", schema: money });
    const references = [{ name: "common/money.proto", subject: "common-money", version: 1 }];
    const price = 'syntax = "proto3";\npackage catalog;\nimport "common/money.proto";\nmessage Price { common.Money amount = 2; string sku = 1; }\n';
    const priceAgain = 'syntax = "proto3";\npackage catalog;\nimport "common/money.proto";\nmessage Price {\n  string sku = 1;\n  .common.Money amount = 2;\n}\n';
    const a = await call("POST", "/subjects/prices-value/versions?normalize=true", { schemaType: "PROTOBUF", schema: price, references });
    expect(a.status).toBe(200);
    const b = await call("POST", "/subjects/prices-value/versions?normalize=true", { schemaType: "PROTOBUF", schema: priceAgain, references });
    expect(b.body.id).toBe(a.body.id);
    expect((await call("GET", `/schemas/ids/${a.body.id}`)).body).toEqual({
      schemaType: "PROTOBUF",
      references,
      schema: 'syntax = "proto3";\npackage catalog;\n\nimport "common/money.proto";\n\nmessage Price {\n  string sku = 1;\n  .common.Money amount = 2;\n}\n',
    });
    // The serialized form names the import as a dependency.
    const serialized = (await call("GET", `/schemas/ids/${a.body.id}?format=serialized`)).body.schema as string;
    expect(descriptor.FileDescriptorProto.decode(Buffer.from(serialized, "base64")).dependency).toEqual(["common/money.proto"]);

    const address = JSON.stringify({ type: "record", name: "Address", namespace: "geo", fields: [{ name: "city", type: "string" }] });
    const avroReferences = [{ name: "geo.Address", subject: "geo-address-norm", version: 1 }];
    await call("POST", "/subjects/geo-address-norm/versions", { schema: address });
    const home = (namespace: string) => JSON.stringify({ type: "record", name: "Home", namespace, fields: [{ name: "at", type: "geo.Address" }] });
    const first = await call("POST", "/subjects/homes-value/versions?normalize=true", { schema: home("people"), references: avroReferences });
    expect(first.status).toBe(200);
    expect((await call("GET", `/schemas/ids/${first.body.id}`)).body.schema).toBe('{"name":"people.Home","type":"record","fields":[{"name":"at","type":"geo.Address"}]}');
    const spelledOut = JSON.stringify({ type: "record", name: "people.Home", fields: [{ type: "geo.Address", name: "at" }] });
    expect((await call("POST", "/subjects/homes-value/versions?normalize=true", { schema: spelledOut, references: avroReferences })).body.id).toBe(first.body.id);
  });

  test("JSON Schema: key order normalizes away", async () => {
    const a = JSON.stringify({ type: "object", properties: { b: { type: "string" }, a: { type: "integer", minimum: 0 } }, required: ["a"] });
    const b = JSON.stringify({ required: ["a"], properties: { a: { minimum: 0, type: "integer" }, b: { type: "string" } }, type: "object" });
    const first = (await call("POST", "/subjects/json-norm-value/versions?normalize=true", { schemaType: "JSON", schema: a })).body.id;
    expect((await call("POST", "/subjects/json-norm-value/versions?normalize=true", { schemaType: "JSON", schema: b })).body.id).toBe(first);
    expect((await call("GET", `/schemas/ids/${first}`)).body.schema).toBe('{"properties":{"a":{"minimum":0,"type":"integer"},"b":{"type":"string"}},"required":["a"],"type":"object"}');
  });

  test("the subject config's normalize applies without the flag, and survives in the config", async () => {
    expect((await call("PUT", "/config/cfg-norm-value", { normalize: true })).body).toEqual({ normalize: true });
    expect((await call("GET", "/config/cfg-norm-value")).body).toEqual({ compatibilityLevel: "BACKWARD", normalize: true });
    const a = (await call("POST", "/subjects/cfg-norm-value/versions", { schema: AVRO_A })).body.id;
    expect((await call("POST", "/subjects/cfg-norm-value/versions", { schema: AVRO_B })).body.id).toBe(a);
    // Setting the level keeps normalize.
    await call("PUT", "/config/cfg-norm-value", { compatibility: "FULL" });
    expect((await call("GET", "/config/cfg-norm-value")).body).toEqual({ compatibilityLevel: "FULL", normalize: true });
    expect((await call("PUT", "/config/cfg-norm-value", { normalize: "yes" })).body.error_code).toBe(42203);
    expect((await call("DELETE", "/config/cfg-norm-value")).status).toBe(200);
    expect((await call("GET", "/config/cfg-norm-value")).body.error_code).toBe(40408);
  });
});
