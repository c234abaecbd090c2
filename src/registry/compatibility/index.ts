// Entry point of the compatibility checkers: parse a schema of any type, and check a candidate against the
// versions before it at a level, as Confluent's CompatibilityChecker does (non-transitive levels look at the latest
// version only; BACKWARD asks whether the candidate reads the previous version's data, FORWARD the other way round).

import { parseAvroSchema } from "./avro.ts";
import { parseJsonSchema } from "./json-schema.ts";
import { parseProtobufSchema } from "./protobuf.ts";
import type { CompatibilityLevel, Incompatibility, ParsedSchema, ResolvedReference, SchemaType } from "./types.ts";

export * from "./types.ts";

export function parseSchema(schemaType: SchemaType, text: string, references: ResolvedReference[] = []): ParsedSchema {
  switch (schemaType) {
    case "AVRO":
      return parseAvroSchema(text, references);
    case "JSON":
      return parseJsonSchema(text, references);
    case "PROTOBUF":
      return parseProtobufSchema(text, references);
  }
}

/** Every incompatibility of `candidate` with `previous` (oldest first) at `level`; empty when compatible. */
export function checkCompatibility(level: CompatibilityLevel, candidate: ParsedSchema, previous: readonly ParsedSchema[]): Incompatibility[] {
  if (level === "NONE" || previous.length === 0) return [];
  const transitive = level.endsWith("_TRANSITIVE");
  const against = transitive ? [...previous].reverse() : [previous[previous.length - 1]!];
  const backward = level.startsWith("BACKWARD") || level.startsWith("FULL");
  const forward = level.startsWith("FORWARD") || level.startsWith("FULL");
  const problems: Incompatibility[] = [];
  for (const old of against) {
    if (backward) problems.push(...candidate.backwardIncompatibilities(old));
    if (forward) problems.push(...old.backwardIncompatibilities(candidate));
  }
  return problems;
}
