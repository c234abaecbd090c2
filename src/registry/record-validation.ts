// Broker-side schema validation of produced records (Confluent Server's topic configs, also honoured by Redpanda):
//   confluent.key.schema.validation=true     keys must carry the Confluent envelope naming a schema id registered
//                                            under the subject the key subject name strategy derives
//   confluent.value.schema.validation=true   the same for values
//   confluent.key.subject.name.strategy      TopicNameStrategy (default: subject <topic>-key / <topic>-value),
//   confluent.value.subject.name.strategy    RecordNameStrategy (<record full name>) or TopicRecordNameStrategy
//                                            (<topic>-<record full name>); Confluent's class names or the short ones.
//                                            Record name: Avro the record's full name, Protobuf the fully qualified
//                                            name of the message the indexes pick, JSON Schema its title, as
//                                            Confluent's ParsedSchema.name() gives them (no name: the record fails).
//   kgate.schema.validation.strict=true      and the payload must decode with that schema (Avro: every byte consumed;
//                                            Protobuf: message indexes name a message and the bytes parse; JSON: the
//                                            document parses and validates, with ajv)
// Envelope: magic byte 0, 4-byte big-endian schema id, then (Protobuf) the message indexes as zigzag varints, then the
// payload. A failing record fails its whole batch with INVALID_RECORD and per-record messages (Produce v8+
// record_errors); nothing of the batch is stored. A null key or value is not checked (tombstones, keyless records).

import type avro from "avsc";
import type { Tap } from "avsc/lib/utils.js";
import type { ValidateFunction } from "ajv";
import type * as protobuf from "protobufjs";
import { addFormats, ajv as loadAjv, ajv2020, avsc, avscTap, protobuf as loadProtobuf } from "./libraries.ts";
import { batchRecordsSection, Compression, decodeRecords, readBatchHeader, type DecodedRecord } from "../protocol/records/record-batch.ts";
import type { SchemaStore, StoredSchema } from "./store.ts";
import { AvroSchema } from "./compatibility/avro.ts";
import { JsonSchemaDocument } from "./compatibility/json-schema.ts";
import type { ProtobufSchema } from "./compatibility/protobuf.ts";
import type { ParsedSchema } from "./compatibility/types.ts";

export const KEY_VALIDATION_CONFIG = "confluent.key.schema.validation";
export const VALUE_VALIDATION_CONFIG = "confluent.value.schema.validation";
export const STRICT_VALIDATION_CONFIG = "kgate.schema.validation.strict";
export const KEY_SUBJECT_STRATEGY_CONFIG = "confluent.key.subject.name.strategy";
export const VALUE_SUBJECT_STRATEGY_CONFIG = "confluent.value.subject.name.strategy";
export const SCHEMA_VALIDATION_CONFIGS = [KEY_VALIDATION_CONFIG, VALUE_VALIDATION_CONFIG, STRICT_VALIDATION_CONFIG, KEY_SUBJECT_STRATEGY_CONFIG, VALUE_SUBJECT_STRATEGY_CONFIG];

export type SubjectNameStrategy = "TopicNameStrategy" | "RecordNameStrategy" | "TopicRecordNameStrategy";
const SUBJECT_NAME_STRATEGIES: readonly SubjectNameStrategy[] = ["TopicNameStrategy", "RecordNameStrategy", "TopicRecordNameStrategy"];

/** A strategy config's value (`io.confluent.kafka.serializers.subject.RecordNameStrategy` or `RecordNameStrategy`); null: unknown. */
export function parseSubjectNameStrategy(text: string | undefined): SubjectNameStrategy | null {
  if (text === undefined || text === "") return "TopicNameStrategy";
  const simpleName = text.slice(text.lastIndexOf(".") + 1);
  return (SUBJECT_NAME_STRATEGIES as readonly string[]).includes(simpleName) ? (simpleName as SubjectNameStrategy) : null;
}

const ENVELOPE_HEADER_BYTES = 5;
/** Message indexes one envelope may list: nesting deeper than this is no schema a serializer wrote. */
const MESSAGE_INDEXES_MAX = 100;

export interface RecordError {
  batchIndex: number;
  batchIndexErrorMessage: string | null;
}

/** Checks a topic's decoded records against the registry; returns the failures (empty: the batch may be stored). */
export type RecordValidator = (topic: string, configs: ReadonlyMap<string, string>, records: DecodedRecord[]) => RecordError[];

const validators = new WeakMap<object, RecordValidator>();

/** Registers the registry's validator for a broker (server start-up); the produce handler looks it up. */
export function attachRecordValidator(broker: object, validator: RecordValidator): void {
  validators.set(broker, validator);
}

/** The broker's validator when the topic asks for validation, else null (no decoding on the produce path). */
export function recordValidatorFor(broker: object, configs: ReadonlyMap<string, string>): RecordValidator | null {
  if (configs.get(KEY_VALIDATION_CONFIG) !== "true" && configs.get(VALUE_VALIDATION_CONFIG) !== "true") return null;
  return validators.get(broker) ?? rejectAll;
}

/** Validation asked for but no registry runs on this node: nothing can be checked, so nothing is accepted. */
const rejectAll: RecordValidator = (_topic, _configs, records) =>
  records.map((_, batchIndex) => ({ batchIndex, batchIndexErrorMessage: "schema validation is on for this topic but the schema registry is off" }));

/**
 * For the produce path: null when the topic asks for no validation or every record passes, else the failures.
 * `decompressedRecords` is the batch's records section when the caller already expanded a compressed batch.
 */
export function schemaRecordErrors(
  broker: object,
  topic: string,
  configs: ReadonlyMap<string, string>,
  batch: Uint8Array,
  decompressedRecords?: Uint8Array,
): RecordError[] | null {
  const validator = recordValidatorFor(broker, configs);
  if (validator === null) return null;
  let section = decompressedRecords;
  if (section === undefined && readBatchHeader(batch).compression !== Compression.none) {
    const expanded = batchRecordsSection(batch);
    if (!expanded.ok) return [{ batchIndex: 0, batchIndexErrorMessage: expanded.message }];
    section = expanded.data;
  }
  const failures = validator(topic, configs, decodeRecords(batch, section));
  return failures.length === 0 ? null : failures;
}

/** Decodes a payload (the bytes after the envelope) to a JSON-ready value, or says why it cannot. */
export type PayloadDecoder = (payload: Uint8Array) => DecodeResult;
/** A decoder has a cheaper check when the verdict alone is needed (Avro: walk the bytes, build nothing). */
export interface PayloadDecoderWithCheck extends PayloadDecoder {
  check?: (payload: Uint8Array) => string | null;
}
/** `toJson` builds the JSON form only when asked: validation needs the verdict alone. */
export type DecodeResult = { ok: true; toJson: () => unknown } | { ok: false; message: string };

/** Decoders by schema id, built on first use (ids never change their schema). */
export class PayloadDecoders {
  private readonly decoders = new Map<number, PayloadDecoderWithCheck>();

  constructor(readonly store: SchemaStore) {}

  decoderFor(stored: StoredSchema): PayloadDecoderWithCheck {
    let decoder = this.decoders.get(stored.id);
    if (!decoder) {
      decoder = buildDecoder(this.store, stored);
      this.decoders.set(stored.id, decoder);
    }
    return decoder;
  }
}

/** The schema id of a Confluent envelope, or null when the bytes do not start with one. */
export function envelopeSchemaId(bytes: Uint8Array): number | null {
  if (bytes.length < ENVELOPE_HEADER_BYTES || bytes[0] !== 0) return null;
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getInt32(1);
}

export function createRecordValidator(store: SchemaStore, decoders = new PayloadDecoders(store)): RecordValidator {
  const recordNames = new RecordNames(store);
  /** The subject the strategy derives for the record part, or a problem. */
  const subjectFor = (topic: string, part: "key" | "value", strategy: SubjectNameStrategy, stored: StoredSchema, payload: Uint8Array) => {
    if (strategy === "TopicNameStrategy") return `${topic}-${part}`;
    const recordName = recordNames.nameOf(stored, payload);
    if (recordName === null) return null;
    return strategy === "RecordNameStrategy" ? recordName : `${topic}-${recordName}`;
  };

  const check = (topic: string, part: "key" | "value", bytes: Uint8Array, strategy: SubjectNameStrategy | null, strict: boolean): string | null => {
    const id = envelopeSchemaId(bytes);
    if (id === null) return `${part} does not start with the schema registry envelope (magic byte 0 and a schema id)`;
    const stored = store.schemaById(id);
    if (!stored || !store.isLive(id)) return `${part} names schema id ${id}, which is not registered`;
    if (strategy === null) return `the topic's ${part} subject name strategy is not one of ${SUBJECT_NAME_STRATEGIES.join(", ")}`;
    const payload = bytes.subarray(ENVELOPE_HEADER_BYTES);
    const subject = subjectFor(topic, part, strategy, stored, payload);
    if (subject === null) return `${part} names schema id ${id}, whose schema has no record name for ${strategy} (an Avro record, a titled JSON Schema, a Protobuf message)`;
    if (!store.isLiveUnder(subject, id)) return `${part} names schema id ${id}, which is not registered under subject ${subject} (${strategy})`;
    if (!strict) return null;
    const decoder = decoders.decoderFor(stored);
    let problem: string | null;
    if (decoder.check) problem = decoder.check(payload);
    else {
      const decoded = decoder(payload);
      problem = decoded.ok ? null : decoded.message;
    }
    return problem === null ? null : `${part} does not decode with schema id ${id}: ${problem}`;
  };

  return (topic, configs, records) => {
    const strict = configs.get(STRICT_VALIDATION_CONFIG) === "true";
    const keys = configs.get(KEY_VALIDATION_CONFIG) === "true";
    const values = configs.get(VALUE_VALIDATION_CONFIG) === "true";
    const keyStrategy = parseSubjectNameStrategy(configs.get(KEY_SUBJECT_STRATEGY_CONFIG));
    const valueStrategy = parseSubjectNameStrategy(configs.get(VALUE_SUBJECT_STRATEGY_CONFIG));
    const failures: RecordError[] = [];
    records.forEach((record, batchIndex) => {
      const problem =
        (keys && record.key !== null ? check(topic, "key", record.key, keyStrategy, strict) : null) ??
        (values && record.value !== null ? check(topic, "value", record.value, valueStrategy, strict) : null);
      if (problem !== null) failures.push({ batchIndex, batchIndexErrorMessage: problem });
    });
    return failures;
  };
}

/**
 * Record names for the record-name strategies. Avro and JSON Schema name the whole schema (kept per id); Protobuf
 * names the message the envelope's indexes pick (the first message when they pick none, as the serializers of
 * @kafkajs/confluent-schema-registry write no indexes).
 */
class RecordNames {
  private readonly byId = new Map<number, (payload: Uint8Array) => string | null>();

  constructor(private readonly store: SchemaStore) {}

  nameOf(stored: StoredSchema, payload: Uint8Array): string | null {
    let namer = this.byId.get(stored.id);
    if (!namer) {
      namer = this.build(stored);
      this.byId.set(stored.id, namer);
    }
    return namer(payload);
  }

  private build(stored: StoredSchema): (payload: Uint8Array) => string | null {
    let parsed: ParsedSchema;
    try {
      parsed = this.store.parsed(stored);
    } catch {
      return () => null;
    }
    if (parsed instanceof AvroSchema) {
      const name = parsed.recordName();
      return () => name;
    }
    if (parsed instanceof JsonSchemaDocument) {
      const name = parsed.recordName();
      return () => name;
    }
    const proto = parsed as ProtobufSchema;
    const first = proto.messageNameAt([0]);
    return (payload) => {
      const indexes = readMessageIndexes(payload);
      return (indexes === null ? null : proto.messageNameAt(indexes.indexes)) ?? first;
    };
  }
}

/** The Confluent Protobuf envelope's message indexes ([0] when the count is 0) and where the message starts. */
export function readMessageIndexes(payload: Uint8Array): { indexes: number[]; offset: number } | null {
  let offset = 0;
  const readZigzag = (): number | null => {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (offset >= payload.length) return null;
      const byte = payload[offset++]!;
      value |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return (value >>> 1) ^ -(value & 1);
    }
    return null;
  };
  const count = readZigzag();
  if (count === null || count < 0 || count > MESSAGE_INDEXES_MAX) return null;
  const indexes = count === 0 ? [0] : [];
  for (let i = 0; i < count; i++) {
    const index = readZigzag();
    if (index === null || index < 0) return null;
    indexes.push(index);
  }
  return { indexes, offset };
}

function buildDecoder(store: SchemaStore, stored: StoredSchema): PayloadDecoderWithCheck {
  const references = store.resolveReferences(stored.references);
  try {
    switch (stored.schemaType) {
      case "AVRO":
        return avroDecoder(stored.schema, references.map((reference) => reference.schema));
      case "PROTOBUF":
        return protobufDecoder(stored.schema, references.map((reference) => reference.schema));
      case "JSON":
        return jsonDecoder(stored.schema, references);
    }
  } catch (error) {
    const message = `the schema cannot be compiled for validation (${(error as Error).message})`;
    return () => ({ ok: false, message });
  }
}

function avroDecoder(schema: string, referenceSchemas: string[]): PayloadDecoderWithCheck {
  const registry: Record<string, avro.Type> = {};
  for (const reference of referenceSchemas) avsc().Type.forSchema(JSON.parse(reference), { registry });
  const type = avsc().Type.forSchema(JSON.parse(schema), { registry });
  const skipper = type as unknown as { _skip(tap: Tap): void };
  const decoder: PayloadDecoderWithCheck = (payload) => {
    const buffer = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    try {
      const { value, offset } = type.decode(buffer, 0);
      if (offset < 0) return { ok: false, message: "the payload ends before the record does" };
      if (offset !== buffer.length) return { ok: false, message: `${buffer.length - offset} bytes left after the record` };
      return { ok: true, toJson: () => toJsonValue(value) };
    } catch (error) {
      return { ok: false, message: (error as Error).message };
    }
  };
  // Every length, varint and union branch walked, nothing built: a third of decode's cost. (Enum indexes and UTF-8
  // are not checked, as decoding would not either.)
  decoder.check = (payload) => {
    const tap = new (avscTap())(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), 0);
    try {
      skipper._skip(tap);
    } catch (error) {
      return (error as Error).message;
    }
    if (!tap.isValid()) return "the payload ends before the record does";
    if (tap.pos !== payload.byteLength) return `${payload.byteLength - tap.pos} bytes left after the record`;
    return null;
  };
  return decoder;
}

function protobufDecoder(schema: string, referenceSchemas: string[]): PayloadDecoder {
  const root = new (loadProtobuf().Root)();
  for (const reference of referenceSchemas) loadProtobuf().parse(reference, root, { keepCase: true });
  const parsed = loadProtobuf().parse(schema, root, { keepCase: true });
  root.resolveAll();
  let namespace: protobuf.NamespaceBase = root;
  for (const part of parsed.package ? parsed.package.split(".") : []) namespace = namespace.get(part) as protobuf.Namespace;
  const messagesOf = (scope: protobuf.NamespaceBase) => scope.nestedArray.filter((item): item is protobuf.Type => item instanceof loadProtobuf().Type);
  const decode = (message: protobuf.Type, bytes: Uint8Array) => {
    const decoded = message.decode(bytes);
    return () => message.toObject(decoded, { longs: String, enums: String, bytes: String, defaults: true });
  };
  const withIndexes = (payload: Uint8Array): DecodeResult => {
    const read = readMessageIndexes(payload);
    if (read === null) return { ok: false, message: "bad message indexes" };
    const { indexes, offset } = read;
    let scope: protobuf.NamespaceBase = namespace;
    let message: protobuf.Type | undefined;
    for (const index of indexes) {
      message = messagesOf(scope)[index];
      if (!message) return { ok: false, message: `message index ${indexes.join(",")} names no message of the schema` };
      scope = message;
    }
    try {
      return { ok: true, toJson: decode(message!, payload.subarray(offset)) };
    } catch (error) {
      return { ok: false, message: (error as Error).message };
    }
  };
  // @kafkajs/confluent-schema-registry writes no message indexes (the payload follows the schema id directly, for
  // the first message): accepted when the Confluent reading fails and the whole payload parses as the first message.
  const first = messagesOf(namespace)[0];
  return (payload) => {
    const result = withIndexes(payload);
    if (result.ok || first === undefined) return result;
    try {
      return { ok: true, toJson: decode(first, payload) };
    } catch {
      return result;
    }
  };
}

function jsonDecoder(schema: string, references: { name: string; schema: string }[]): PayloadDecoder {
  const json = JSON.parse(schema) as Record<string, unknown> | boolean;
  const dialect = typeof json === "object" && typeof json.$schema === "string" ? json.$schema : "";
  const ajv = /2019-09|2020-12/.test(dialect) ? new (ajv2020())({ strict: false }) : new (loadAjv())({ strict: false });
  addFormats().default(ajv);
  for (const reference of references) ajv.addSchema(JSON.parse(reference.schema), reference.name);
  const copy = typeof json === "object" ? { ...json } : json;
  if (typeof copy === "object") delete copy.$schema;
  const validate: ValidateFunction = ajv.compile(copy);
  const decoder = new TextDecoder("utf-8", { fatal: true });
  return (payload) => {
    let document: unknown;
    try {
      document = JSON.parse(decoder.decode(payload));
    } catch (error) {
      return { ok: false, message: `not JSON: ${(error as Error).message}` };
    }
    if (validate(document)) return { ok: true, toJson: () => document };
    return { ok: false, message: ajv.errorsText(validate.errors) };
  };
}

/** Avro values as JSON: bytes and fixed as base64, longs beyond 2^53 cannot occur (avsc decodes longs as numbers). */
function toJsonValue(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value.toString("base64");
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (value !== null && typeof value === "object") {
    const result: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) result[key] = toJsonValue(field);
    return result;
  }
  return value;
}
