// Shared vocabulary of the compatibility checkers: levels, schema types and the verdict shape.

export const COMPATIBILITY_LEVELS = [
  "NONE",
  "BACKWARD",
  "BACKWARD_TRANSITIVE",
  "FORWARD",
  "FORWARD_TRANSITIVE",
  "FULL",
  "FULL_TRANSITIVE",
] as const;
export type CompatibilityLevel = (typeof COMPATIBILITY_LEVELS)[number];

export function isCompatibilityLevel(text: unknown): text is CompatibilityLevel {
  return typeof text === "string" && (COMPATIBILITY_LEVELS as readonly string[]).includes(text);
}

export const SCHEMA_TYPES = ["AVRO", "PROTOBUF", "JSON"] as const;
export type SchemaType = (typeof SCHEMA_TYPES)[number];

/** A Confluent schema reference: `name` is how the referring schema names it (import path, $ref URL, Avro full name). */
export interface SchemaReference {
  name: string;
  subject: string;
  version: number;
}

/** A reference with the referenced schema's text, resolved by the store (dependencies first, depth-first). */
export interface ResolvedReference {
  name: string;
  schema: string;
  /** Where the store keeps it: types from the same subject version need no comparison (Protobuf). */
  subject?: string;
  version?: number;
}

/** Thrown by a parser for text that is not a valid schema of its type (REST 42201). */
export class InvalidSchemaError extends Error {
  override name = "InvalidSchemaError";
}

/** One incompatibility, worded as Confluent's verbose messages are (type, location, description). */
export type Incompatibility = string;

/**
 * A parsed schema of one format. `readerCompatibleWith(writer)` lists what keeps a reader of this schema from reading
 * data written with `writer` (empty: compatible).
 */
export interface ParsedSchema {
  readonly schemaType: SchemaType;
  /** The schema text the registry stores (a Protobuf FileDescriptorProto given in base64 becomes .proto text). */
  readonly text: string;
  /** Canonical text: what identical schemas share (ids are given per canonical text and references). */
  readonly canonical: string;
  /** Confluent's normalized text (`normalize=true`): schemas differing only in what it drops normalize alike. */
  normalized(): string;
  /** The text in a `format=` of GET /schemas/ids/{id} (Avro "resolved", Protobuf "serialized"); others: `text`. */
  formatted(format: string): string;
  /** Incompatibilities of evolving `previous` into this schema under BACKWARD (this reads data written by previous). */
  backwardIncompatibilities(previous: ParsedSchema): Incompatibility[];
}
