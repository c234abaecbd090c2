// The record validator on its own: envelope, registered id under the strategy's subject, and strict decoding for
// each schema type.

import { expect, test } from "bun:test";
import avro from "avsc";
import protobuf from "protobufjs";
import { MemoryPartitionLog } from "../log/memory-log.ts";
import { TopicStore } from "../metadata/topic-store.ts";
import type { DecodedRecord } from "../protocol/records/record-batch.ts";
import { createRecordValidator } from "./record-validation.ts";
import { SchemaStore } from "./store.ts";

const STRICT = new Map([["confluent.value.schema.validation", "true"], ["kgate.schema.validation.strict", "true"]]);
const LOOSE = new Map([["confluent.value.schema.validation", "true"]]);

function envelope(id: number, payload: Uint8Array, indexes: number[] | null = null): Uint8Array {
  const header = [0, (id >>> 24) & 0xff, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff];
  const indexBytes = indexes === null ? [] : [indexes.length * 2, ...indexes.map((index) => index * 2)];
  return new Uint8Array([...header, ...indexBytes, ...payload]);
}

function records(...values: Uint8Array[]): DecodedRecord[] {
  return values.map((value, offsetDelta) => ({ offsetDelta, timestampDelta: 0, timestamp: 0, key: null, value, headers: [] }));
}

async function setUp() {
  const store = new SchemaStore(new TopicStore(() => new MemoryPartitionLog()));
  const avroSchema = { type: "record", name: "A", fields: [{ name: "n", type: "long" }] };
  const avroId = (await store.register("a-value", "AVRO", JSON.stringify(avroSchema), [])).id;
  const protoText = 'syntax = "proto3";\nmessage First { string s = 1; }\nmessage Second { int32 i = 1; }\n';
  const protoId = (await store.register("p-value", "PROTOBUF", protoText, [])).id;
  const jsonId = (await store.register("j-value", "JSON", '{"type":"object","properties":{"q":{"type":"integer","minimum":1}},"required":["q"]}', [])).id;
  return { store, validate: createRecordValidator(store), avroType: avro.Type.forSchema(avroSchema as avro.Schema), protoRoot: protobuf.parse(protoText).root, avroId, protoId, jsonId };
}

test("Avro: registered id and a payload that decodes exactly", async () => {
  const { validate, avroType, avroId } = await setUp();
  const good = envelope(avroId, avroType.toBuffer({ n: 5 }));
  expect(validate("a", STRICT, records(good))).toEqual([]);
  const failures = validate("a", STRICT, records(good, envelope(avroId, new Uint8Array([])), envelope(999, new Uint8Array([2])), new Uint8Array([1, 2])));
  expect(failures.map((failure) => failure.batchIndex)).toEqual([1, 2, 3]);
  expect(failures[1]!.batchIndexErrorMessage).toContain("not registered");
  // Without strict, only the envelope and the id are checked.
  expect(validate("a", LOOSE, records(envelope(avroId, new Uint8Array([0xff]))))).toEqual([]);
});

test("Protobuf: message indexes pick the message", async () => {
  const { validate, protoRoot, protoId } = await setUp();
  const second = protoRoot.lookupType("Second");
  const payload = second.encode(second.create({ i: 7 })).finish();
  expect(validate("p", STRICT, records(envelope(protoId, payload, [1])))).toEqual([]);
  expect(validate("p", STRICT, records(envelope(protoId, payload, [5])))[0]!.batchIndexErrorMessage).toContain("names no message");
  expect(validate("p", STRICT, records(envelope(protoId, new Uint8Array([0x0a, 0x05, 0x61]), [])))).toHaveLength(1);
});

test("JSON Schema: the document must parse and validate", async () => {
  const { validate, jsonId } = await setUp();
  const text = (value: string) => new TextEncoder().encode(value);
  expect(validate("j", STRICT, records(envelope(jsonId, text('{"q":2}'))))).toEqual([]);
  expect(validate("j", STRICT, records(envelope(jsonId, text('{"q":0}')), envelope(jsonId, text("{not json"))))).toHaveLength(2);
});

test("TopicNameStrategy: the id must be registered under <topic>-value, not merely exist", async () => {
  const { validate, avroType, avroId } = await setUp();
  const value = envelope(avroId, avroType.toBuffer({ n: 1 }));
  expect(validate("a", LOOSE, records(value))).toEqual([]);
  const [failure] = validate("other", LOOSE, records(value));
  expect(failure!.batchIndexErrorMessage).toContain("not registered under subject other-value");
  // Keys are checked against <topic>-key.
  const keyed: DecodedRecord[] = [{ offsetDelta: 0, timestampDelta: 0, timestamp: 0, key: value, value: null, headers: [] }];
  const keyConfig = new Map([["confluent.key.schema.validation", "true"]]);
  expect(validate("a", keyConfig, keyed)[0]!.batchIndexErrorMessage).toContain("subject a-key");
});

test("a soft-deleted subject version no longer admits its id", async () => {
  const { store, validate, avroType, avroId } = await setUp();
  await store.register("b-value", "AVRO", JSON.stringify({ type: "record", name: "A", fields: [{ name: "n", type: "long" }] }), []);
  const value = envelope(avroId, avroType.toBuffer({ n: 1 }));
  expect(validate("b", LOOSE, records(value))).toEqual([]);
  await store.softDeleteSubject("b-value");
  expect(validate("b", LOOSE, records(value))).toHaveLength(1);
  expect(validate("a", LOOSE, records(value))).toEqual([]);
});

test("RecordNameStrategy and TopicRecordNameStrategy: the subject is the record's full name", async () => {
  const { store, validate } = await setUp();
  const schema = { type: "record", name: "Order", namespace: "shop", fields: [{ name: "n", type: "long" }] };
  const id = (await store.register("shop.Order", "AVRO", JSON.stringify(schema), [])).id;
  const value = envelope(id, avro.Type.forSchema(schema as avro.Schema).toBuffer({ n: 3 }));
  const byRecord = new Map([...LOOSE, ["confluent.value.subject.name.strategy", "io.confluent.kafka.serializers.subject.RecordNameStrategy"]]);
  expect(validate("anything", byRecord, records(value))).toEqual([]);
  const byTopicRecord = new Map([...LOOSE, ["confluent.value.subject.name.strategy", "TopicRecordNameStrategy"]]);
  expect(validate("orders", byTopicRecord, records(value))[0]!.batchIndexErrorMessage).toContain("subject orders-shop.Order");
  await store.register("orders-shop.Order", "AVRO", JSON.stringify(schema), []);
  expect(validate("orders", byTopicRecord, records(value))).toEqual([]);
  // TopicNameStrategy (the default) still wants orders-value.
  expect(validate("orders", LOOSE, records(value))).toHaveLength(1);
  const unknown = new Map([...LOOSE, ["confluent.value.subject.name.strategy", "MySubjectStrategy"]]);
  expect(validate("orders", unknown, records(value))[0]!.batchIndexErrorMessage).toContain("subject name strategy");
});

test("RecordNameStrategy for Protobuf names the message the indexes pick; JSON Schema uses its title", async () => {
  const { store, validate, protoRoot } = await setUp();
  const text = 'syntax = "proto3";\npackage inv;\nmessage Item { string s = 1; message Part { int32 i = 1; } }\nmessage Box { int32 i = 1; }\n';
  await store.setCompatibility(null, "NONE");
  const id = (await store.register("inv.Box", "PROTOBUF", text, [])).id;
  const byRecord = new Map([...LOOSE, ["confluent.value.subject.name.strategy", "RecordNameStrategy"]]);
  const second = protoRoot.lookupType("Second");
  const payload = second.encode(second.create({ i: 7 })).finish();
  expect(validate("x", byRecord, records(envelope(id, payload, [1])))).toEqual([]);
  expect(validate("x", byRecord, records(envelope(id, payload, [0])))[0]!.batchIndexErrorMessage).toContain("subject inv.Item");
  expect(validate("x", byRecord, records(envelope(id, payload, [0, 0])))[0]!.batchIndexErrorMessage).toContain("subject inv.Item.Part");
  const jsonId = (await store.register("Thing", "JSON", '{"title":"Thing","type":"object"}', [])).id;
  expect(validate("x", byRecord, records(envelope(jsonId, new TextEncoder().encode("{}"))))).toEqual([]);
});
