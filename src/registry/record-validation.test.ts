// The record validator on its own: envelope, registered id, and strict decoding for each schema type.

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
  const avroId = (await store.register("a", "AVRO", JSON.stringify(avroSchema), [])).id;
  const protoText = 'syntax = "proto3";\nmessage First { string s = 1; }\nmessage Second { int32 i = 1; }\n';
  const protoId = (await store.register("p", "PROTOBUF", protoText, [])).id;
  const jsonId = (await store.register("j", "JSON", '{"type":"object","properties":{"q":{"type":"integer","minimum":1}},"required":["q"]}', [])).id;
  return { validate: createRecordValidator(store), avroType: avro.Type.forSchema(avroSchema as avro.Schema), protoRoot: protobuf.parse(protoText).root, avroId, protoId, jsonId };
}

test("Avro: registered id and a payload that decodes exactly", async () => {
  const { validate, avroType, avroId } = await setUp();
  const good = envelope(avroId, avroType.toBuffer({ n: 5 }));
  expect(validate(STRICT, records(good))).toEqual([]);
  const failures = validate(STRICT, records(good, envelope(avroId, new Uint8Array([])), envelope(999, new Uint8Array([2])), new Uint8Array([1, 2])));
  expect(failures.map((failure) => failure.batchIndex)).toEqual([1, 2, 3]);
  expect(failures[1]!.batchIndexErrorMessage).toContain("not registered");
  // Without strict, only the envelope and the id are checked.
  expect(validate(LOOSE, records(envelope(avroId, new Uint8Array([0xff]))))).toEqual([]);
});

test("Protobuf: message indexes pick the message", async () => {
  const { validate, protoRoot, protoId } = await setUp();
  const second = protoRoot.lookupType("Second");
  const payload = second.encode(second.create({ i: 7 })).finish();
  expect(validate(STRICT, records(envelope(protoId, payload, [1])))).toEqual([]);
  expect(validate(STRICT, records(envelope(protoId, payload, [5])))[0]!.batchIndexErrorMessage).toContain("names no message");
  expect(validate(STRICT, records(envelope(protoId, new Uint8Array([0x0a, 0x05, 0x61]), [])))).toHaveLength(1);
});

test("JSON Schema: the document must parse and validate", async () => {
  const { validate, jsonId } = await setUp();
  const text = (value: string) => new TextEncoder().encode(value);
  expect(validate(STRICT, records(envelope(jsonId, text('{"q":2}'))))).toEqual([]);
  expect(validate(STRICT, records(envelope(jsonId, text('{"q":0}')), envelope(jsonId, text("{not json"))))).toHaveLength(2);
});
