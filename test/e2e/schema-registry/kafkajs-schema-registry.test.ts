// @kafkajs/confluent-schema-registry 3.9 against kgate's schema registry: registering, evolving, encoding and decoding
// Avro, Protobuf and JSON Schema records, producing and consuming them through kgate's Kafka listener with kafkajs,
// and a restart over the same data folder keeping ids, so records written before it still decode after it.

import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SchemaRegistry, SchemaType, COMPATIBILITY } from "@kafkajs/confluent-schema-registry";
import { Kafka, logLevel } from "kafkajs";
import { parseConfig } from "../../../src/config.ts";
import { startTestServer, waitFor } from "../../helpers/server.ts";

const dataDir = mkdtempSync(join(tmpdir(), "kgate-registry-e2e-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** Each test runs a consumer group (join, sync, fetch) besides the registry calls. */
const TEST_TIMEOUT_MS = 60_000;

async function start() {
  const server = await startTestServer(config());
  server.broker.groups.settings.initialRebalanceDelayMs = 0;
  return server;
}

function config() {
  return parseConfig(["--data", dataDir, "--listen", "127.0.0.1:0", "--registry-listen", "127.0.0.1:0"], {})!;
}

const AVRO_V1 = { type: "record" as const, name: "Payment", namespace: "kgate.e2e", fields: [{ name: "id", type: "string" }, { name: "amount", type: "double" }] };
const AVRO_V2 = { ...AVRO_V1, fields: [...AVRO_V1.fields, { name: "currency", type: "string", default: "EUR" }] };
const AVRO_BREAKING = { ...AVRO_V1, fields: [{ name: "id", type: "long" }] };
const PROTO = `syntax = "proto3";
package kgate.e2e;
message Shipment {
  string id = 1;
  int32 parcels = 2;
  repeated string tags = 3;
}
`;
const JSON_SCHEMA = JSON.stringify({
  $schema: "http://json-schema.org/draft-07/schema#",
  type: "object",
  properties: { sku: { type: "string" }, quantity: { type: "integer", minimum: 1 } },
  required: ["sku", "quantity"],
});

async function roundTrip(bootstrap: string, topic: string, values: Buffer[]): Promise<Buffer[]> {
  const kafka = new Kafka({ clientId: "kgate-registry-e2e", brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: values.map((value, index) => ({ key: String(index), value })) });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: `${topic}-reader` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const received: Buffer[] = [];
  await consumer.run({ eachMessage: async ({ message }) => void received.push(message.value!) });
  try {
    await waitFor(() => received.length >= values.length, { timeoutMs: 20_000 });
  } finally {
    await consumer.disconnect();
  }
  return received;
}

let avroIds: { v1: number; v2: number };
let avroRecords: Buffer[];

test("Avro: register, evolve, refuse a breaking change, encode and decode through kgate", async () => {
  await using server = await start();
  const registry = new SchemaRegistry({ host: `http://127.0.0.1:${server.registry!.server.port}` });
  const v1 = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(AVRO_V1) }, { subject: "payments-value", compatibility: COMPATIBILITY.BACKWARD });
  const v2 = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(AVRO_V2) }, { subject: "payments-value" });
  expect(v2.id).not.toBe(v1.id);
  expect(await registry.getLatestSchemaId("payments-value")).toBe(v2.id);
  await expect(registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(AVRO_BREAKING) }, { subject: "payments-value" })).rejects.toThrow();

  avroRecords = [await registry.encode(v1.id, { id: "p-1", amount: 12.5 }), await registry.encode(v2.id, { id: "p-2", amount: 3, currency: "USD" })];
  const received = await roundTrip(server.bootstrap, "payments", avroRecords);
  expect(await registry.decode(received[0]!)).toEqual({ id: "p-1", amount: 12.5 });
  expect(await registry.decode(received[1]!)).toEqual({ id: "p-2", amount: 3, currency: "USD" });
  // A v2 reader reads v1 data with the default filled in.
  expect(await registry.decode(received[0]!, { [SchemaType.AVRO]: { readerSchema: AVRO_V2 } })).toEqual({ id: "p-1", amount: 12.5, currency: "EUR" });
  avroIds = { v1: v1.id, v2: v2.id };
}, TEST_TIMEOUT_MS);

test("Protobuf and JSON Schema: encode, produce, consume, decode; invalid payloads are refused by the client", async () => {
  await using server = await start();
  const registry = new SchemaRegistry({ host: `http://127.0.0.1:${server.registry!.server.port}` });
  const proto = await registry.register({ type: SchemaType.PROTOBUF, schema: PROTO }, { subject: "shipments-value" });
  const json = await registry.register({ type: SchemaType.JSON, schema: JSON_SCHEMA }, { subject: "orders-value" });
  const values = [
    await registry.encode(proto.id, { id: "s-1", parcels: 2, tags: ["fragile"] }),
    await registry.encode(json.id, { sku: "A-1", quantity: 3 }),
  ];
  await expect(registry.encode(json.id, { sku: "A-2", quantity: 0 })).rejects.toThrow();
  const received = await roundTrip(server.bootstrap, "mixed", values);
  expect(await registry.decode(received[0]!)).toMatchObject({ id: "s-1", parcels: 2, tags: ["fragile"] });
  expect(await registry.decode(received[1]!)).toEqual({ sku: "A-1", quantity: 3 });
  // The structured view decodes the same records on the server side.
  const view = (await (await fetch(`http://127.0.0.1:${server.registry!.server.port}/topics/mixed/records?offset=0&limit=10`)).json()) as any[];
  expect(view.map((record) => [record.offset, record.key.value, record.value.schemaId, record.value.value])).toEqual([
    [0, "0", proto.id, { id: "s-1", parcels: 2, tags: ["fragile"] }],
    [1, "1", json.id, { sku: "A-1", quantity: 3 }],
  ]);
}, TEST_TIMEOUT_MS);

test("after a restart the same ids decode the records written before it", async () => {
  await using server = await start();
  const registry = new SchemaRegistry({ host: `http://127.0.0.1:${server.registry!.server.port}` });
  expect(await registry.getRegistryId("payments-value", 1)).toBe(avroIds.v1);
  expect(await registry.getRegistryId("payments-value", "latest")).toBe(avroIds.v2);
  const kafka = new Kafka({ clientId: "kgate-registry-e2e", brokers: [server.bootstrap], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: "payments-after-restart" });
  await consumer.connect();
  await consumer.subscribe({ topic: "payments", fromBeginning: true });
  const decoded: unknown[] = [];
  await consumer.run({ eachMessage: async ({ message }) => void decoded.push(await registry.decode(message.value!)) });
  try {
    await waitFor(() => decoded.length >= 2, { timeoutMs: 20_000 });
  } finally {
    await consumer.disconnect();
  }
  expect(decoded).toEqual([{ id: "p-1", amount: 12.5 }, { id: "p-2", amount: 3, currency: "USD" }]);
  // Registering v1 again under a new subject reuses its id.
  expect((await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(AVRO_V1) }, { subject: "payments-copy" })).id).toBe(avroIds.v1);
}, TEST_TIMEOUT_MS);

test("a topic with value validation stores envelope records of registered schemas and refuses the rest", async () => {
  await using server = await start();
  const registry = new SchemaRegistry({ host: `http://127.0.0.1:${server.registry!.server.port}` });
  const kafka = new Kafka({ clientId: "kgate-registry-e2e", brokers: [server.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: "validated", configEntries: [{ name: "confluent.value.schema.validation", value: "true" }, { name: "kgate.schema.validation.strict", value: "true" }] }],
  });
  await admin.disconnect();
  const { id } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(AVRO_V1) }, { subject: "validated-value" });
  const producer = kafka.producer({ retry: { retries: 0 } });
  await producer.connect();
  try {
    await producer.send({ topic: "validated", messages: [{ value: await registry.encode(id, { id: "ok", amount: 1 }) }] });
    const unknownId = Buffer.from([0, 0, 0, 0x7f, 0x7f, 2, 0x61]);
    const truncated = (await registry.encode(id, { id: "cut", amount: 1 })).subarray(0, 8);
    for (const value of [Buffer.from("plain text"), unknownId, truncated]) {
      await expect(producer.send({ topic: "validated", messages: [{ value }] })).rejects.toMatchObject({ type: "INVALID_RECORD" });
    }
    // A batch with one bad record stores none of its records.
    await expect(producer.send({ topic: "validated", messages: [{ value: await registry.encode(id, { id: "lost", amount: 2 }) }, { value: Buffer.from("bad") }] })).rejects.toMatchObject({ type: "INVALID_RECORD" });
  } finally {
    await producer.disconnect();
  }
  expect(server.broker.topics.get("validated")!.partitions[0]!.logEndOffset).toBe(1);
  const view = (await (await fetch(`http://127.0.0.1:${server.registry!.server.port}/topics/validated/records`)).json()) as any[];
  expect(view).toMatchObject([{ offset: 0, key: { encoding: "null" }, value: { schemaId: id, encoding: "schema", value: { id: "ok", amount: 1 } } }]);
}, TEST_TIMEOUT_MS);

test("validation follows the subject name strategy: an id registered only under another subject is refused", async () => {
  await using server = await start();
  const registry = new SchemaRegistry({ host: `http://127.0.0.1:${server.registry!.server.port}` });
  const kafka = new Kafka({ clientId: "kgate-registry-e2e", brokers: [server.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic: "by-topic", configEntries: [{ name: "confluent.value.schema.validation", value: "true" }] },
      {
        topic: "by-record",
        configEntries: [
          { name: "confluent.value.schema.validation", value: "true" },
          { name: "confluent.value.subject.name.strategy", value: "io.confluent.kafka.serializers.subject.RecordNameStrategy" },
        ],
      },
    ],
  });
  await admin.disconnect();
  // Registered, but under a subject of another topic: the serializer's bytes are a valid envelope of a live id.
  const { id } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(AVRO_V1) }, { subject: "elsewhere-value" });
  const encoded = await registry.encode(id, { id: "x", amount: 1 });
  const producer = kafka.producer({ retry: { retries: 0 } });
  await producer.connect();
  try {
    await expect(producer.send({ topic: "by-topic", messages: [{ value: encoded }] })).rejects.toMatchObject({ type: "INVALID_RECORD" });
    // The same schema registered under by-topic-value (same id) lets the same bytes in.
    expect((await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(AVRO_V1) }, { subject: "by-topic-value" })).id).toBe(id);
    await producer.send({ topic: "by-topic", messages: [{ value: encoded }] });
    // RecordNameStrategy: the subject is the record's full name, kgate.e2e.Payment.
    await expect(producer.send({ topic: "by-record", messages: [{ value: encoded }] })).rejects.toMatchObject({ type: "INVALID_RECORD" });
    await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(AVRO_V1) }, { subject: "kgate.e2e.Payment" });
    await producer.send({ topic: "by-record", messages: [{ value: encoded }] });
  } finally {
    await producer.disconnect();
  }
  expect(server.broker.topics.get("by-topic")!.partitions[0]!.logEndOffset).toBe(1);
  expect(server.broker.topics.get("by-record")!.partitions[0]!.logEndOffset).toBe(1);
}, TEST_TIMEOUT_MS);
