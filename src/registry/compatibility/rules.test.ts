// One row per rule of each format's compatibility check, as a reader of this table would state it: the previous
// schema, the candidate, the level, and whether the registry accepts the candidate.

import { describe, expect, test } from "bun:test";
import { checkCompatibility, parseSchema, type CompatibilityLevel, type SchemaType } from "./index.ts";

interface Row {
  rule: string;
  previous: string[];
  candidate: string;
  level?: CompatibilityLevel;
  compatible: boolean;
}

function run(schemaType: SchemaType, rows: Row[]): void {
  for (const row of rows) {
    test(`${row.rule} → ${row.compatible ? "compatible" : "incompatible"} (${row.level ?? "BACKWARD"})`, () => {
      const previous = row.previous.map((text) => parseSchema(schemaType, text));
      const problems = checkCompatibility(row.level ?? "BACKWARD", parseSchema(schemaType, row.candidate), previous);
      expect(problems.length === 0).toBe(row.compatible);
    });
  }
}

const record = (fields: object[], extra: object = {}) => JSON.stringify({ type: "record", name: "R", fields, ...extra });

describe("Avro", () => {
  run("AVRO", [
    { rule: "promotion int→long", previous: ['"int"'], candidate: '"long"', compatible: true },
    { rule: "promotion long→float→double", previous: ['"long"'], candidate: '"double"', compatible: true },
    { rule: "no demotion long→int", previous: ['"long"'], candidate: '"int"', compatible: false },
    { rule: "string↔bytes", previous: ['"string"'], candidate: '"bytes"', compatible: true },
    { rule: "added field with default", previous: [record([{ name: "a", type: "int" }])], candidate: record([{ name: "a", type: "int" }, { name: "b", type: "string", default: "" }]), compatible: true },
    { rule: "added field without default", previous: [record([{ name: "a", type: "int" }])], candidate: record([{ name: "a", type: "int" }, { name: "b", type: "string" }]), compatible: false },
    { rule: "removed field (BACKWARD)", previous: [record([{ name: "a", type: "int" }, { name: "b", type: "int" }])], candidate: record([{ name: "a", type: "int" }]), compatible: true },
    { rule: "removed field without default (FORWARD)", previous: [record([{ name: "a", type: "int" }, { name: "b", type: "int" }])], candidate: record([{ name: "a", type: "int" }]), level: "FORWARD", compatible: false },
    { rule: "renamed field through an alias", previous: [record([{ name: "a", type: "int" }])], candidate: record([{ name: "b", type: "int", aliases: ["a"] }]), compatible: true },
    { rule: "renamed record through an alias", previous: [record([])], candidate: JSON.stringify({ type: "record", name: "S", aliases: ["R"], fields: [] }), compatible: true },
    { rule: "renamed record without alias", previous: [record([])], candidate: JSON.stringify({ type: "record", name: "S", fields: [] }), compatible: false },
    { rule: "enum symbol added (BACKWARD)", previous: ['{"type":"enum","name":"E","symbols":["A"]}'], candidate: '{"type":"enum","name":"E","symbols":["A","B"]}', compatible: true },
    { rule: "enum symbol removed", previous: ['{"type":"enum","name":"E","symbols":["A","B"]}'], candidate: '{"type":"enum","name":"E","symbols":["A"]}', compatible: false },
    { rule: "enum symbol removed, reader default", previous: ['{"type":"enum","name":"E","symbols":["A","B"]}'], candidate: '{"type":"enum","name":"E","symbols":["A"],"default":"A"}', compatible: true },
    { rule: "fixed size changed", previous: ['{"type":"fixed","name":"F","size":4}'], candidate: '{"type":"fixed","name":"F","size":8}', compatible: false },
    { rule: "type widened into a union", previous: ['"int"'], candidate: '["null","int"]', compatible: true },
    { rule: "union narrowed", previous: ['["null","int"]'], candidate: '"int"', compatible: false },
    { rule: "union branch promoted", previous: ['["null","int"]'], candidate: '["null","long"]', compatible: true },
    { rule: "recursive record unchanged", previous: [record([{ name: "next", type: ["null", "R"] }])], candidate: record([{ name: "next", type: ["null", "R"] }]), compatible: true },
    { rule: "logical types ignored", previous: ['{"type":"int","logicalType":"date"}'], candidate: '"int"', compatible: true },
    { rule: "FULL needs both directions", previous: ['"int"'], candidate: '"long"', level: "FULL", compatible: false },
    { rule: "transitive levels check every version", previous: ['"string"', '"int"'], candidate: '"long"', level: "BACKWARD_TRANSITIVE", compatible: false },
    { rule: "non-transitive levels check the latest only", previous: ['"string"', '"int"'], candidate: '"long"', level: "BACKWARD", compatible: true },
    { rule: "NONE accepts anything", previous: ['"string"'], candidate: '"int"', level: "NONE", compatible: true },
  ]);
});

const object = (properties: object, extra: object = {}) => JSON.stringify({ type: "object", properties, ...extra });

describe("JSON Schema", () => {
  run("JSON", [
    { rule: "property removed from an open content model", previous: [object({ a: { type: "string" }, b: { type: "string" } })], candidate: object({ a: { type: "string" } }), compatible: true },
    { rule: "property added to an open content model", previous: [object({ a: { type: "string" } })], candidate: object({ a: { type: "string" }, b: { type: "string" } }), compatible: false },
    { rule: "optional property added to a closed content model", previous: [object({ a: { type: "string" } }, { additionalProperties: false })], candidate: object({ a: { type: "string" }, b: { type: "string" } }, { additionalProperties: false }), compatible: true },
    { rule: "property removed from a closed content model", previous: [object({ a: { type: "string" }, b: { type: "string" } }, { additionalProperties: false })], candidate: object({ a: { type: "string" } }, { additionalProperties: false }), compatible: false },
    { rule: "property added, covered by a partially open model", previous: [object({}, { additionalProperties: { type: "string" } })], candidate: object({ b: { type: "string" } }, { additionalProperties: { type: "string" } }), compatible: true },
    { rule: "required property added without default", previous: [object({ a: { type: "string" } })], candidate: object({ a: { type: "string" } }, { required: ["a"] }), compatible: false },
    { rule: "required property added with default", previous: [object({ a: { type: "string" } })], candidate: object({ a: { type: "string", default: "x" } }, { required: ["a"] }), compatible: true },
    { rule: "integer widened to number", previous: ['{"type":"integer"}'], candidate: '{"type":"number"}', compatible: true },
    { rule: "number narrowed to integer", previous: ['{"type":"number"}'], candidate: '{"type":"integer"}', compatible: false },
    { rule: "type widened into a union", previous: ['{"type":"string"}'], candidate: '{"type":["string","null"]}', compatible: true },
    { rule: "type changed", previous: ['{"type":"string"}'], candidate: '{"type":"boolean"}', compatible: false },
    { rule: "maxLength increased", previous: ['{"type":"string","maxLength":5}'], candidate: '{"type":"string","maxLength":9}', compatible: true },
    { rule: "maximum decreased", previous: ['{"type":"number","maximum":9}'], candidate: '{"type":"number","maximum":5}', compatible: false },
    { rule: "enum extended", previous: ['{"enum":["a"]}'], candidate: '{"enum":["a","b"]}', compatible: true },
    { rule: "enum narrowed", previous: ['{"enum":["a","b"]}'], candidate: '{"enum":["a"]}', compatible: false },
    { rule: "oneOf extended", previous: ['{"oneOf":[{"type":"string"}]}'], candidate: '{"oneOf":[{"type":"string"},{"type":"number"}]}', compatible: true },
    { rule: "oneOf narrowed", previous: ['{"oneOf":[{"type":"string"},{"type":"number"}]}'], candidate: '{"oneOf":[{"type":"string"}]}', compatible: false },
    { rule: "allOf narrowed", previous: ['{"allOf":[{"type":"string"},{"maxLength":5}]}'], candidate: '{"allOf":[{"type":"string"}]}', compatible: true },
    { rule: "items of an open tuple removed", previous: ['{"type":"array","items":[{"type":"string"},{"type":"string"}]}'], candidate: '{"type":"array","items":[{"type":"string"}]}', compatible: true },
    { rule: "not narrowed", previous: ['{"not":{"type":"string"}}'], candidate: '{"not":{"type":["string","number"]}}', compatible: true },
    { rule: "$ref followed", previous: ['{"definitions":{"a":{"type":"string"}},"$ref":"#/definitions/a"}'], candidate: '{"definitions":{"a":{"type":"number"}},"$ref":"#/definitions/a"}', compatible: false },
  ]);
});

const proto = (body: string, header = 'syntax = "proto3";') => `${header}\n${body}\n`;

describe("Protobuf", () => {
  run("PROTOBUF", [
    { rule: "field added", previous: [proto("message M { string a = 1; }")], candidate: proto("message M { string a = 1; int32 b = 2; }"), compatible: true },
    { rule: "field removed", previous: [proto("message M { string a = 1; int32 b = 2; }")], candidate: proto("message M { string a = 1; }"), compatible: true },
    { rule: "field renamed (same number)", previous: [proto("message M { string a = 1; }")], candidate: proto("message M { string b = 1; }"), compatible: true },
    { rule: "int32→int64 (same varint kind)", previous: [proto("message M { int32 a = 1; }")], candidate: proto("message M { int64 a = 1; }"), compatible: true },
    { rule: "int32→sint32 (zigzag differs)", previous: [proto("message M { int32 a = 1; }")], candidate: proto("message M { sint32 a = 1; }"), compatible: false },
    { rule: "string↔bytes", previous: [proto("message M { string a = 1; }")], candidate: proto("message M { bytes a = 1; }"), compatible: true },
    { rule: "scalar→message", previous: [proto("message M { int32 a = 1; }")], candidate: proto("message M { N a = 1; } message N { int32 x = 1; }"), compatible: false },
    { rule: "int32→enum", previous: [proto("message M { int32 a = 1; }")], candidate: proto("message M { E a = 1; } enum E { X = 0; }"), compatible: true },
    { rule: "repeated string↔string", previous: [proto("message M { optional string a = 1; }")], candidate: proto("message M { repeated string a = 1; }"), compatible: true },
    { rule: "repeated int32↔int32", previous: [proto("message M { optional int32 a = 1; }")], candidate: proto("message M { repeated int32 a = 1; }"), compatible: false },
    { rule: "package changed", previous: [proto("package a; message M { int32 x = 1; }")], candidate: proto("package b; message M { int32 x = 1; }"), compatible: false },
    { rule: "message removed", previous: [proto("message M { int32 x = 1; } message N { int32 y = 1; }")], candidate: proto("message M { int32 x = 1; }"), compatible: false },
    { rule: "message reordered", previous: [proto("message M { int32 x = 1; } message N { int32 y = 1; }")], candidate: proto("message N { int32 y = 1; } message M { int32 x = 1; }"), compatible: true },
    { rule: "one field moved into a new oneof", previous: [proto("message M { int32 a = 1; int32 b = 2; }")], candidate: proto("message M { int32 a = 1; oneof o { int32 b = 2; } }"), compatible: true },
    { rule: "two fields moved into one oneof", previous: [proto("message M { int32 a = 1; int32 b = 2; }")], candidate: proto("message M { oneof o { int32 a = 1; int32 b = 2; } }"), compatible: false },
    { rule: "oneof member deleted", previous: [proto("message M { oneof o { int32 a = 1; int32 b = 2; } }")], candidate: proto("message M { oneof o { int32 a = 1; } }"), compatible: false },
    { rule: "oneof member moved to top level", previous: [proto("message M { oneof o { int32 a = 1; int32 b = 2; } }")], candidate: proto("message M { oneof o { int32 a = 1; } int32 b = 2; }"), compatible: true },
    { rule: "proto2 required field added", previous: [proto("message M { optional int32 a = 1; }", 'syntax = "proto2";')], candidate: proto("message M { optional int32 a = 1; required int32 b = 2; }", 'syntax = "proto2";'), compatible: false },
    { rule: "nested message change seen through the field", previous: [proto("message M { N n = 1; } message N { int32 x = 1; }")], candidate: proto("message M { N n = 1; } message N { string x = 1; }"), compatible: false },
  ]);
});
