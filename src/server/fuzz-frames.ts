// Frames for the fuzz tests: request bodies built from the generated request shapes (request-shapes.ts), well typed
// and plausible (topics that exist, partitions 0..3, small and boundary numbers, null where nullable, valid record
// batches and sometimes a bad one), encoded with the real encoders; and mutations of them. Everything is drawn from
// a seeded generator, one per iteration, so that one iteration can be replayed alone: KGATE_FUZZ_SEED and
// KGATE_FUZZ_REPLAY (see README.md, "Fuzzing").

import { ByteWriter } from "../protocol/byte-writer.ts";
import { encodeRequestHeader } from "../protocol/messages/headers.ts";
import { apiTable, type ApiDescriptor } from "../protocol/messages/index.ts";
import { requestShapes, type FieldShape, type RequestShape } from "../protocol/messages/request-shapes.ts";
import { buildRecordBatch, Compression } from "../protocol/records/record-batch.ts";

/** xorshift32: small and deterministic. */
export function prng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

/** The generator of one iteration: the same (seed, iteration) draws the same frame, whatever ran before. */
export function iterationRandom(seed: number, iteration: number): () => number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ iteration, 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  const random = prng((h ^ (h >>> 16)) >>> 0);
  random(); // the first draw of xorshift from a mixed seed is still biased towards the seed's bits
  return random;
}

/** The seed: KGATE_FUZZ_SEED, else the test's own. */
export function fuzzSeed(fallback: number): number {
  const given = process.env.KGATE_FUZZ_SEED;
  return given === undefined || given === "" ? fallback : Number(given) >>> 0;
}

/** Frames per API: KGATE_FUZZ_ITERATIONS, else the CI budget. */
export function fuzzIterations(fallback: number): number {
  const given = Number(process.env.KGATE_FUZZ_ITERATIONS);
  return Number.isSafeInteger(given) && given > 0 ? given : fallback;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

export type Random = () => number;

export const int = (random: Random, low: number, high: number): number => low + Math.floor(random() * (high - low + 1));
export const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

// ---------------------------------------------------------------------------------------------------------------
// Version sets of the shapes, parsed once.

interface CompiledField {
  readonly shape: FieldShape;
  readonly element: string;
  readonly isArray: boolean;
  readonly versions: (version: number) => boolean;
  readonly nullable: (version: number) => boolean;
  readonly fields: CompiledField[] | null;
}

function versionTest(spec: string | undefined, top: number): (version: number) => boolean {
  if (spec === undefined || spec === "none") return () => false;
  const ranges = spec.split(", ").map((part) => {
    if (part.endsWith("+")) return [Number(part.slice(0, -1)), top] as const;
    const [low, high] = part.split("-");
    return [Number(low), Number(high ?? low)] as const;
  });
  return (version) => ranges.some(([low, high]) => version >= low && version <= high);
}

function compile(fields: readonly FieldShape[], top: number): CompiledField[] {
  return fields.map((shape) => {
    const isArray = shape.type.startsWith("[]");
    return {
      shape,
      isArray,
      element: isArray ? shape.type.slice(2) : shape.type,
      versions: versionTest(shape.versions, top),
      nullable: versionTest(shape.nullableVersions, top),
      fields: shape.fields ? compile(shape.fields, top) : null,
    };
  });
}

export interface FuzzApi {
  readonly descriptor: ApiDescriptor;
  readonly shape: RequestShape;
  /** The versions the handler serves. */
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly fields: CompiledField[];
}

/** The APIs with a handler, each with its compiled request shape. */
export function fuzzApis(handlerVersions: (apiKey: number) => { minVersion: number; maxVersion: number } | undefined): FuzzApi[] {
  const apis: FuzzApi[] = [];
  for (const shape of requestShapes) {
    const descriptor = apiTable[shape.apiKey]!;
    const served = handlerVersions(shape.apiKey);
    if (!served) continue;
    apis.push({ descriptor, shape, minVersion: served.minVersion, maxVersion: served.maxVersion, fields: compile(shape.fields, descriptor.maxVersion) });
  }
  return apis;
}

// ---------------------------------------------------------------------------------------------------------------
// Plausible values.

/** What the generator draws names from: topics that exist (and one that does not), groups, ids. */
export interface FuzzWorld {
  readonly topics: readonly string[];
  /** Ids of existing topics (for the versions that name topics by id); the zero uuid and random ones are drawn too. */
  topicIds: readonly Uint8Array[];
  readonly groups: readonly string[];
  readonly transactionalIds: readonly string[];
  readonly users: readonly string[];
}

export const defaultWorld = (): FuzzWorld => ({
  topics: ["fuzz-0", "fuzz-1", "fuzz-2"],
  topicIds: [],
  groups: ["fuzz-group-0", "fuzz-group-1"],
  transactionalIds: ["fuzz-txn-0", "fuzz-txn-1"],
  users: ["alice", "bob"],
});

const INT_RANGES: Record<string, [number, number]> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
};

const STRINGS = ["", "x", "fuzz", "é✓", "a".repeat(300), "*", "User:ANONYMOUS", "retention.ms", "cleanup.policy", "compact", "1000"];
const CONFIG_NAMES = ["retention.ms", "cleanup.policy", "segment.bytes", "max.message.bytes", "min.insync.replicas", "unknown.config", "compression.type"];
const CONFIG_VALUES = ["1000", "compact", "delete", "-1", "0", "gzip", "not-a-number", ""];

function intValue(name: string, type: string, random: Random, edge: number): number {
  const [low, high] = INT_RANGES[type]!;
  const clamp = (value: number) => Math.min(high, Math.max(low, value));
  const n = name.toLowerCase();
  const roll = random();
  if (roll < edge) return pick(random, [low, high, 0, -1, low + 1, high - 1].map(clamp));
  if (n.includes("partition") && !n.includes("count") && !n.includes("num")) return clamp(roll < 0.9 ? int(random, 0, 3) : pick(random, [-1, 4, 1000]));
  if (n === "index") return clamp(int(random, 0, 3));
  if (n.endsWith("ms") || n.includes("timeout") || n.includes("wait")) return clamp(roll < 0.7 ? int(random, 0, 100) : pick(random, [-1, 0, 1000]));
  if (n.includes("numpartitions") || n.includes("count")) return clamp(roll < 0.8 ? int(random, 1, 4) : pick(random, [-1, 0, 10_000]));
  if (n.includes("replication")) return clamp(pick(random, [-1, 1, 1, 3]));
  if (n.includes("epoch") || n.includes("generation")) return clamp(pick(random, [-1, 0, 1, 2]));
  if (n.includes("bytes") || n.includes("size")) return clamp(pick(random, [0, 1, 1000, 1 << 20, 100]));
  if (n.includes("acks")) return clamp(pick(random, [-1, 1, 1, 0, 2]));
  if (n.includes("id")) return clamp(pick(random, [-1, 0, 1]));
  return clamp(roll < 0.8 ? int(random, 0, 5) : int(random, low, high));
}

function int64Value(name: string, random: Random, edge: number): bigint {
  const n = name.toLowerCase();
  const roll = random();
  if (roll < edge) return pick(random, [-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n, BigInt(Number.MAX_SAFE_INTEGER) + 1n]);
  if (n.includes("timestamp")) return pick(random, [-1n, -2n, -3n, BigInt(Date.now()), 0n]);
  if (n.includes("offset")) return pick(random, [0n, 1n, 2n, 5n, -1n, -2n, 100n]);
  if (n.includes("producerid")) return pick(random, [-1n, 0n, 1n, 1000n]);
  if (n.endsWith("ms")) return BigInt(int(random, 0, 60_000));
  return BigInt(int(random, -2, 10));
}

function stringValue(name: string, random: Random, world: FuzzWorld, edge: number): string {
  const n = name.toLowerCase();
  const roll = random();
  if (roll < edge) return random() < 0.1 ? "x".repeat(0x7fff) : pick(random, STRINGS);
  if (n.includes("topic") || n === "name" || n.includes("resourcename")) return roll < 0.9 ? pick(random, world.topics) : pick(random, ["fuzz-missing", "bad name!", "__consumer_offsets", ""]);
  if (n.includes("group")) return pick(random, world.groups);
  if (n.includes("transactional")) return pick(random, world.transactionalIds);
  if (n.includes("memberid")) return pick(random, ["", "fuzz-member", "consumer-1-abc"]);
  if (n.includes("instanceid")) return pick(random, ["fuzz-instance", ""]);
  if (n.includes("protocoltype")) return pick(random, ["consumer", "connect", ""]);
  if (n.includes("protocol")) return pick(random, ["range", "roundrobin", "cooperative-sticky"]);
  if (n.includes("principal")) return pick(random, ["User:ANONYMOUS", "User:alice", "User:*", "bad"]);
  if (n.includes("host")) return pick(random, ["*", "127.0.0.1", ""]);
  if (n.includes("mechanism")) return pick(random, ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "GSSAPI"]);
  if (n.includes("user") || n === "entityname") return pick(random, world.users);
  if (n.includes("value")) return pick(random, CONFIG_VALUES);
  if (n.includes("key") || n.includes("config")) return pick(random, CONFIG_NAMES);
  if (n.includes("clientid") || n.includes("software")) return pick(random, ["fuzz", "kgate-fuzz", "1.0"]);
  return pick(random, STRINGS);
}

function bytesValue(random: Random): Uint8Array {
  return Uint8Array.from({ length: pick(random, [0, 1, 4, 16, 64]) }, () => Math.floor(random() * 256));
}

function uuidValue(random: Random, world: FuzzWorld): Uint8Array {
  const roll = random();
  if (roll < 0.7 && world.topicIds.length > 0) return pick(random, world.topicIds);
  if (roll < 0.85) return new Uint8Array(16);
  return Uint8Array.from({ length: 16 }, () => Math.floor(random() * 256));
}

/** A record batch v2: valid and sometimes compressed, or (one time in ten) broken. */
export function recordsValue(random: Random): Uint8Array {
  const count = int(random, 1, 3);
  const records = Array.from({ length: count }, (_, i) => ({
    key: random() < 0.3 ? null : new Uint8Array([i, 1, 2]),
    value: random() < 0.1 ? null : bytesValue(random),
    headers: random() < 0.3 ? [{ key: "h", value: new Uint8Array([4]) }] : [],
    timestamp: 1_700_000_000_000 + i,
  }));
  const compression = random() < 0.8 ? Compression.none : pick(random, [Compression.gzip, Compression.none]);
  const batch = buildRecordBatch({ records, compression });
  if (random() >= 0.1) return batch;
  const bad = batch.slice();
  switch (int(random, 0, 3)) {
    case 0: // a CRC that does not match
      bad[17]! ^= 0xff;
      return bad;
    case 1: // truncated
      return bad.subarray(0, int(random, 0, bad.length - 1));
    case 2: // a length that lies
      new DataView(bad.buffer).setInt32(8, pick(random, [-1, 0, 0x7fffffff, bad.length]));
      return bad;
    default: // garbage
      return bytesValue(random);
  }
}

function scalarValue(field: CompiledField, random: Random, world: FuzzWorld, edge: number): unknown {
  const name = field.shape.name;
  switch (field.element) {
    case "int8":
    case "int16":
    case "uint16":
    case "int32":
    case "uint32":
      return intValue(name, field.element, random, edge);
    case "int64":
      return int64Value(name, random, edge);
    case "float64":
      return pick(random, [0, 1.5, -1, Number.MAX_VALUE, Number.NaN]);
    case "bool":
      return random() < 0.5;
    case "string":
      return stringValue(name, random, world, edge);
    case "bytes":
      return bytesValue(random);
    case "records":
      return recordsValue(random);
    case "uuid":
      return uuidValue(random, world);
    default:
      throw new Error(`no generator for ${field.element}`);
  }
}

function structValue(fields: readonly CompiledField[], version: number, random: Random, world: FuzzWorld, depth: number, edge: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    if (!field.versions(version)) continue;
    if (field.nullable(version) && random() < 0.1) {
      out[field.shape.name] = null;
      continue;
    }
    if (field.isArray) {
      // An edge draw: a long array (a hundred structs at the top, or a thousand scalars).
      const long = depth === 0 && random() < edge / 4;
      const length = long ? int(random, 50, field.fields ? 100 : 1000) : random() < 0.15 ? 0 : int(random, 1, depth === 0 ? 3 : 2);
      out[field.shape.name] = Array.from({ length }, () =>
        field.fields ? structValue(field.fields, version, random, world, depth + 1, long ? 0 : edge) : scalarValue(field, random, world, edge),
      );
    } else {
      out[field.shape.name] = field.fields ? structValue(field.fields, version, random, world, depth + 1, edge) : scalarValue(field, random, world, edge);
    }
  }
  return out;
}

/**
 * A random, well-typed request body for the version. `edge`: how often a value is a boundary one (the type's extremes,
 * a 32,767-byte string, a long array) instead of a plausible one.
 */
export function generateBody(api: FuzzApi, version: number, random: Random, world: FuzzWorld, edge = 0.05): Record<string, unknown> {
  return structValue(api.fields, version, random, world, 0, edge);
}

/** A request frame without its size prefix, as the dispatcher takes it. */
export function requestBytes(descriptor: ApiDescriptor, version: number, body: object, correlationId = 7): Uint8Array {
  const writer = new ByteWriter();
  encodeRequestHeader(writer, descriptor.requestHeaderVersion(version), { requestApiKey: descriptor.apiKey, requestApiVersion: version, correlationId, clientId: "fuzz" });
  descriptor.encodeRequest(writer, version, body as never);
  return writer.toUint8Array();
}

/** The same with its int32 size prefix, as it goes on the wire. */
export function sizedFrame(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + frame.length);
  new DataView(out.buffer).setInt32(0, frame.length);
  out.set(frame, 4);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Mutations.

/** Overwrites a 1-, 2- or 4-byte big-endian integer at `at` (nothing when it does not fit). */
function setInt(bytes: Uint8Array, at: number, width: 1 | 2 | 4, value: number): void {
  if (at + width > bytes.length) return;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (width === 1) view.setUint8(at, value & 0xff);
  else if (width === 2) view.setInt16(at, value);
  else view.setInt32(at, value);
}

/**
 * 1–4 edits: bit flips, extreme bytes, truncation, insertions, overwrites, and int16/int32 (length or count) fields
 * set to huge, negative or zero. The first 4 bytes (API key and version) are left alone when `keepApi`.
 */
export function mutate(bytes: Uint8Array, random: Random, keepApi = true): Uint8Array {
  let result = bytes.slice();
  const floor = keepApi ? Math.min(4, result.length) : 0;
  const edits = 1 + Math.floor(random() * 4);
  for (let i = 0; i < edits; i++) {
    const at = floor + Math.floor(random() * Math.max(result.length - floor, 1));
    switch (Math.floor(random() * 7)) {
      case 0: // flip a bit
        if (at < result.length) result[at]! ^= 1 << Math.floor(random() * 8);
        break;
      case 1: // an extreme byte
        if (at < result.length) result[at] = pick(random, [0xff, 0x7f, 0x80, 0x00]);
        break;
      case 2: // truncate
        result = result.slice(0, Math.max(at, floor));
        break;
      case 3: { // insert random bytes
        const inserted = Uint8Array.from({ length: 1 + Math.floor(random() * 8) }, () => Math.floor(random() * 256));
        const out = new Uint8Array(result.length + inserted.length);
        out.set(result.subarray(0, at));
        out.set(inserted, at);
        out.set(result.subarray(at), at + inserted.length);
        result = out;
        break;
      }
      case 4: // random bytes overwrite
        for (let j = at; j < Math.min(result.length, at + 8); j++) result[j] = Math.floor(random() * 256);
        break;
      case 5: // an int32 length or count set to huge, negative or zero
        setInt(result, at, 4, pick(random, [0x7fffffff, -1, -2, 0, 0x10000, -0x80000000]));
        break;
      case 6: // an int16 length set to huge, negative or zero; or a varint length byte
        if (random() < 0.5) setInt(result, at, 2, pick(random, [0x7fff, -1, -2, 0]));
        else setInt(result, at, 1, pick(random, [0x00, 0x01, 0xff, 0x7f]));
        break;
    }
  }
  return result;
}

/**
 * How a frame was made: generated from the shape (plausible values, or "boundary": many extreme ones), a mutation of
 * a generated one, or random bytes after a valid API and version.
 */
export type FrameKind = "generated" | "boundary" | "mutated" | "random";

export interface FuzzFrame {
  readonly api: FuzzApi;
  readonly version: number;
  readonly kind: FrameKind;
  readonly bytes: Uint8Array;
}

/** The frame of one iteration for the API: 55% generated, 15% boundary, 27% mutated, 3% random body. */
export function fuzzFrame(api: FuzzApi, random: Random, world: FuzzWorld): FuzzFrame {
  const version = int(random, api.minVersion, api.maxVersion);
  const roll = random();
  if (roll < 0.03) {
    const bytes = Uint8Array.from({ length: 4 + Math.floor(random() * 64) }, () => Math.floor(random() * 256));
    new DataView(bytes.buffer).setInt16(0, api.descriptor.apiKey);
    new DataView(bytes.buffer).setInt16(2, version);
    return { api, version, kind: "random", bytes };
  }
  const boundary = roll >= 0.58 && roll < 0.73;
  const valid = requestBytes(api.descriptor, version, generateBody(api, version, random, world, boundary ? 0.5 : 0.05));
  if (roll < 0.73) return { api, version, kind: boundary ? "boundary" : "generated", bytes: valid };
  return { api, version, kind: "mutated", bytes: mutate(valid, random) };
}
