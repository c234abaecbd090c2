// Avro schemas: a parser to a small model (named types shared by reference, so recursion is a cycle) and Avro's
// reader/writer schema resolution check, as Apache Avro's Java SchemaCompatibility applies it (Confluent's
// AvroSchema.isBackwardCompatible calls it with reader = new schema, writer = previous one).
// Rules: same primitive; promotions int→long→float→double and string↔bytes; arrays/maps by their items; named types
// match by unqualified name or a reader alias; fixed sizes equal; every writer enum symbol known to the reader unless
// the reader has a default; every reader field found in the writer (by name or alias) or carrying a default; a writer
// union needs each branch readable, a reader union needs one branch that reads the writer. Logical types are ignored
// by the check, as in Java. Recursive pairs already under comparison count as compatible.

import { avroNormalizedText, avroResolvedText } from "./avro-forms.ts";
import { InvalidSchemaError, type Incompatibility, type ParsedSchema, type ResolvedReference } from "./types.ts";

const PRIMITIVES = new Set(["null", "boolean", "int", "long", "float", "double", "bytes", "string"]);

export type AvroType =
  | { kind: "primitive"; type: string; logicalType?: string }
  | { kind: "array"; items: AvroType }
  | { kind: "map"; values: AvroType }
  | { kind: "union"; branches: AvroType[] }
  | AvroNamed;

export type AvroNamed =
  | { kind: "record"; name: string; fullName: string; aliases: string[]; fields: AvroField[]; error: boolean }
  | { kind: "enum"; name: string; fullName: string; aliases: string[]; symbols: string[]; default: string | null }
  | { kind: "fixed"; name: string; fullName: string; aliases: string[]; size: number; logicalType?: string };

export interface AvroField {
  name: string;
  aliases: string[];
  type: AvroType;
  hasDefault: boolean;
  defaultValue: unknown;
}

const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

class AvroParser {
  readonly names = new Map<string, AvroNamed>();
  /** Fields with defaults, checked once every named type is complete (a default may use a type defined later). */
  readonly fieldsWithDefaults: { record: string; field: AvroField }[] = [];

  parse(json: unknown, namespace: string): AvroType {
    if (typeof json === "string") return this.named(json, namespace);
    if (Array.isArray(json)) return { kind: "union", branches: json.map((branch) => this.parse(branch, namespace)) };
    if (json === null || typeof json !== "object") throw new InvalidSchemaError(`not an Avro schema: ${JSON.stringify(json)}`);
    const object = json as Record<string, unknown>;
    const type = object.type;
    if (typeof type !== "string") {
      if (type !== undefined && typeof type === "object") return this.parse(type, namespace);
      throw new InvalidSchemaError(`no type: ${JSON.stringify(json)}`);
    }
    switch (type) {
      case "record":
      case "error":
        return this.record(object, namespace, type === "error");
      case "enum":
        return this.enumType(object, namespace);
      case "fixed": {
        const { name, fullName, aliases } = this.nameOf(object, namespace);
        const size = object.size;
        if (typeof size !== "number" || !Number.isInteger(size) || size < 0) throw new InvalidSchemaError(`fixed ${fullName} has no valid size`);
        const fixed: AvroNamed = { kind: "fixed", name, fullName, aliases, size };
        if (typeof object.logicalType === "string") fixed.logicalType = object.logicalType;
        return this.define(fixed);
      }
      case "array":
        if (object.items === undefined) throw new InvalidSchemaError("array has no items");
        return { kind: "array", items: this.parse(object.items, namespace) };
      case "map":
        if (object.values === undefined) throw new InvalidSchemaError("map has no values");
        return { kind: "map", values: this.parse(object.values, namespace) };
      default:
        if (PRIMITIVES.has(type)) {
          const primitive: AvroType = { kind: "primitive", type };
          if (typeof object.logicalType === "string") primitive.logicalType = object.logicalType;
          return primitive;
        }
        return this.named(type, namespace);
    }
  }

  private named(name: string, namespace: string): AvroType {
    if (PRIMITIVES.has(name)) return { kind: "primitive", type: name };
    const fullName = name.includes(".") || namespace === "" ? name : `${namespace}.${name}`;
    const found = this.names.get(fullName) ?? this.names.get(name);
    if (!found) throw new InvalidSchemaError(`undefined name: ${JSON.stringify(name)}`);
    return found;
  }

  private nameOf(object: Record<string, unknown>, namespace: string): { name: string; fullName: string; namespace: string; aliases: string[] } {
    const rawName = object.name;
    if (typeof rawName !== "string" || rawName === "") throw new InvalidSchemaError(`named type without a name: ${JSON.stringify(object)}`);
    let ownNamespace = namespace;
    let name = rawName;
    if (rawName.includes(".")) {
      ownNamespace = rawName.slice(0, rawName.lastIndexOf("."));
      name = rawName.slice(rawName.lastIndexOf(".") + 1);
    } else if (typeof object.namespace === "string") ownNamespace = object.namespace;
    if (!NAME_PATTERN.test(name)) throw new InvalidSchemaError(`illegal name: ${JSON.stringify(rawName)}`);
    const fullName = ownNamespace === "" ? name : `${ownNamespace}.${name}`;
    const aliases = Array.isArray(object.aliases)
      ? object.aliases.filter((alias): alias is string => typeof alias === "string").map((alias) => (alias.includes(".") || ownNamespace === "" ? alias : `${ownNamespace}.${alias}`))
      : [];
    return { name, fullName, namespace: ownNamespace, aliases };
  }

  private define<T extends AvroNamed>(named: T): T {
    if (PRIMITIVES.has(named.name) && !named.fullName.includes(".")) throw new InvalidSchemaError(`illegal name: ${named.name}`);
    if (this.names.has(named.fullName)) throw new InvalidSchemaError(`can't redefine: ${named.fullName}`);
    this.names.set(named.fullName, named);
    return named;
  }

  private record(object: Record<string, unknown>, namespace: string, error: boolean): AvroType {
    const { name, fullName, namespace: ownNamespace, aliases } = this.nameOf(object, namespace);
    const record = this.define({ kind: "record", name, fullName, aliases, fields: [] as AvroField[], error });
    if (!Array.isArray(object.fields)) throw new InvalidSchemaError(`record ${fullName} has no fields`);
    const seen = new Set<string>();
    for (const rawField of object.fields) {
      if (rawField === null || typeof rawField !== "object") throw new InvalidSchemaError(`record ${fullName} has a bad field`);
      const field = rawField as Record<string, unknown>;
      if (typeof field.name !== "string" || !NAME_PATTERN.test(field.name)) throw new InvalidSchemaError(`record ${fullName} has a field with an illegal name`);
      if (seen.has(field.name)) throw new InvalidSchemaError(`duplicate field ${field.name} in record ${fullName}`);
      seen.add(field.name);
      if (field.type === undefined) throw new InvalidSchemaError(`field ${field.name} has no type`);
      const parsedField: AvroField = {
        name: field.name,
        aliases: Array.isArray(field.aliases) ? field.aliases.filter((alias): alias is string => typeof alias === "string") : [],
        type: this.parse(field.type, ownNamespace),
        hasDefault: "default" in field,
        defaultValue: field.default,
      };
      record.fields.push(parsedField);
      if (parsedField.hasDefault) this.fieldsWithDefaults.push({ record: fullName, field: parsedField });
    }
    return record;
  }

  private enumType(object: Record<string, unknown>, namespace: string): AvroType {
    const { name, fullName, aliases } = this.nameOf(object, namespace);
    if (!Array.isArray(object.symbols)) throw new InvalidSchemaError(`enum ${fullName} has no symbols`);
    const symbols: string[] = [];
    for (const symbol of object.symbols) {
      if (typeof symbol !== "string" || !NAME_PATTERN.test(symbol)) throw new InvalidSchemaError(`enum ${fullName} has an illegal symbol`);
      if (symbols.includes(symbol)) throw new InvalidSchemaError(`enum ${fullName} repeats symbol ${symbol}`);
      symbols.push(symbol);
    }
    const enumDefault = typeof object.default === "string" ? object.default : null;
    return this.define({ kind: "enum", name, fullName, aliases, symbols, default: enumDefault });
  }
}

/** Avro's Parsing Canonical Form (the spec's PCF): what fingerprints and "same schema" comparisons use. */
export function avroCanonicalForm(type: AvroType, written = new Set<string>()): string {
  switch (type.kind) {
    case "primitive":
      return JSON.stringify(type.type);
    case "array":
      return `{"type":"array","items":${avroCanonicalForm(type.items, written)}}`;
    case "map":
      return `{"type":"map","values":${avroCanonicalForm(type.values, written)}}`;
    case "union":
      return `[${type.branches.map((branch) => avroCanonicalForm(branch, written)).join(",")}]`;
    default:
      if (written.has(type.fullName)) return JSON.stringify(type.fullName);
      written.add(type.fullName);
      if (type.kind === "record") {
        const fields = type.fields.map((field) => `{"name":${JSON.stringify(field.name)},"type":${avroCanonicalForm(field.type, written)}}`);
        return `{"name":${JSON.stringify(type.fullName)},"type":"${type.error ? "error" : "record"}","fields":[${fields.join(",")}]}`;
      }
      if (type.kind === "enum") return `{"name":${JSON.stringify(type.fullName)},"type":"enum","symbols":${JSON.stringify(type.symbols)}}`;
      return `{"name":${JSON.stringify(type.fullName)},"type":"fixed","size":${type.size}}`;
  }
}

export class AvroSchema implements ParsedSchema {
  readonly schemaType = "AVRO" as const;
  readonly canonical: string;
  private normalizedText: string | null = null;

  constructor(
    readonly root: AvroType,
    readonly text: string,
    /** The referenced schemas' texts, dependencies first. */
    readonly referenceTexts: string[] = [],
  ) {
    this.canonical = JSON.stringify(JSON.parse(text));
  }

  normalized(): string {
    return (this.normalizedText ??= avroNormalizedText(this.text, this.referenceTexts));
  }

  formatted(format: string): string {
    return format === "resolved" ? avroResolvedText(this.text, this.referenceTexts) : this.text;
  }

  backwardIncompatibilities(previous: ParsedSchema): Incompatibility[] {
    if (!(previous instanceof AvroSchema)) return ["Schema type changed"];
    return new ReaderWriterChecker().check(this.root, previous.root, "");
  }

  /** Confluent's AvroSchema.name(): a record's full name; null for other schemas. */
  recordName(): string | null {
    return this.root.kind === "record" ? this.root.fullName : null;
  }
}

/** Parses Avro schema text; references are other Avro schemas whose named types this one may use. */
export function parseAvroSchema(text: string, references: ResolvedReference[] = []): AvroSchema {
  const parser = new AvroParser();
  for (const reference of references) parser.parse(parseJson(reference.schema), "");
  // Named types of references are known, but may not be defined again by the schema itself.
  const root = parser.parse(parseJson(text), "");
  // Avro's parser validates defaults (Confluent parses with validateDefaults); a union's default may match any branch.
  for (const { record, field } of parser.fieldsWithDefaults) {
    if (!isValidDefault(field.type, field.defaultValue, new Set())) {
      throw new InvalidSchemaError(`Invalid default for field ${field.name} in ${record}: ${JSON.stringify(field.defaultValue)} is not a ${typeName(field.type)}`);
    }
  }
  return new AvroSchema(root, text, references.map((reference) => reference.schema));
}

function isValidDefault(type: AvroType, value: unknown, seen: Set<AvroType>): boolean {
  switch (type.kind) {
    case "primitive":
      switch (type.type) {
        case "null":
          return value === null;
        case "boolean":
          return typeof value === "boolean";
        case "int":
        case "long":
          return typeof value === "number" && Number.isInteger(value);
        case "float":
        case "double":
          return typeof value === "number" || value === "NaN" || value === "Infinity" || value === "-Infinity";
        default:
          return typeof value === "string";
      }
    case "array":
      return Array.isArray(value) && value.every((item) => isValidDefault(type.items, item, seen));
    case "map":
      return value !== null && typeof value === "object" && !Array.isArray(value) && Object.values(value).every((item) => isValidDefault(type.values, item, seen));
    case "union":
      return type.branches.some((branch) => isValidDefault(branch, value, seen));
    case "enum":
      return typeof value === "string" && type.symbols.includes(value);
    case "fixed":
      return typeof value === "string";
    case "record": {
      if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
      if (seen.has(type)) return true;
      seen.add(type);
      const object = value as Record<string, unknown>;
      return type.fields.every((field) => (field.name in object ? isValidDefault(field.type, object[field.name], seen) : field.hasDefault));
    }
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidSchemaError(`Invalid schema: ${(error as Error).message}`);
  }
}

const PROMOTIONS: Record<string, readonly string[]> = {
  long: ["int"],
  float: ["int", "long"],
  double: ["int", "long", "float"],
  bytes: ["string"],
  string: ["bytes"],
};

function typeName(type: AvroType): string {
  return type.kind === "primitive" ? type.type : type.kind;
}

class ReaderWriterChecker {
  /** reader → writer → result; an entry of null marks a pair under comparison (recursion: compatible). */
  private readonly memo = new Map<AvroType, Map<AvroType, Incompatibility[] | null>>();

  check(reader: AvroType, writer: AvroType, location: string): Incompatibility[] {
    let byWriter = this.memo.get(reader);
    if (!byWriter) this.memo.set(reader, (byWriter = new Map()));
    if (byWriter.has(writer)) return byWriter.get(writer) ?? [];
    byWriter.set(writer, null);
    const result = this.calculate(reader, writer, location);
    byWriter.set(writer, result);
    return result;
  }

  private calculate(reader: AvroType, writer: AvroType, location: string): Incompatibility[] {
    const at = location === "" ? "/" : location;
    if (typeName(reader) === typeName(writer)) {
      switch (reader.kind) {
        case "primitive":
          return [];
        case "array":
          return this.check(reader.items, (writer as typeof reader).items, `${location}/items`);
        case "map":
          return this.check(reader.values, (writer as typeof reader).values, `${location}/values`);
        case "union": {
          const problems: Incompatibility[] = [];
          (writer as typeof reader).branches.forEach((branch, index) => problems.push(...this.check(reader, branch, `${location}/${index}`)));
          return problems;
        }
        default:
          return this.named(reader, writer as AvroNamed, location);
      }
    }
    if (writer.kind === "union") {
      const problems: Incompatibility[] = [];
      writer.branches.forEach((branch, index) => problems.push(...this.check(reader, branch, `${location}/${index}`)));
      return problems;
    }
    if (reader.kind === "union") {
      for (const branch of reader.branches) if (this.check(branch, writer, location).length === 0) return [];
      return [`{errorType:'MISSING_UNION_BRANCH', description:'The new schema is missing a type inside a union field at path '${at}' in the old schema', additionalInfo:'reader union lacking writer type: ${typeName(writer).toUpperCase()}'}`];
    }
    if (reader.kind === "primitive" && writer.kind === "primitive" && PROMOTIONS[reader.type]?.includes(writer.type)) return [];
    return [`{errorType:'TYPE_MISMATCH', description:'The type (path '${at}') of a field in the new schema does not match with the old schema', additionalInfo:'reader type: ${typeName(reader).toUpperCase()} not compatible with writer type: ${typeName(writer).toUpperCase()}'}`];
  }

  private named(reader: AvroNamed, writer: AvroNamed, location: string): Incompatibility[] {
    const at = location === "" ? "/" : location;
    if (reader.name !== writer.name && !reader.aliases.includes(writer.fullName)) {
      return [`{errorType:'NAME_MISMATCH', description:'The name of the schema has changed (path '${at}/name')', additionalInfo:'expected: ${writer.fullName}'}`];
    }
    if (reader.kind === "fixed" && writer.kind === "fixed") {
      if (reader.size === writer.size) return [];
      return [`{errorType:'FIXED_SIZE_MISMATCH', description:'The size of FIXED type field at path '${at}/size' in the new schema does not match with the old schema', additionalInfo:'expected: ${writer.size}, found: ${reader.size}'}`];
    }
    if (reader.kind === "enum" && writer.kind === "enum") {
      const missing = writer.symbols.filter((symbol) => !reader.symbols.includes(symbol)).sort();
      if (missing.length === 0) return [];
      if (reader.default !== null && reader.symbols.includes(reader.default)) return [];
      return [`{errorType:'MISSING_ENUM_SYMBOLS', description:'The new schema is missing enum symbols '${missing.join(", ")}' at path '${at}/symbols' in the old schema', additionalInfo:'[${missing.join(", ")}]'}`];
    }
    if (reader.kind === "record" && writer.kind === "record") {
      const problems: Incompatibility[] = [];
      reader.fields.forEach((readerField, index) => {
        const writerField = lookupWriterField(writer, readerField);
        if (writerField === undefined) {
          if (!readerField.hasDefault) {
            problems.push(`{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field '${readerField.name}' at path '${location}/fields/${index}' in the new schema has no default value and is missing in the old schema', additionalInfo:'${readerField.name}'}`);
          }
          return;
        }
        problems.push(...this.check(readerField.type, writerField.type, `${location}/fields/${index}/type`));
      });
      return problems;
    }
    return [];
  }
}

function lookupWriterField(writer: Extract<AvroNamed, { kind: "record" }>, readerField: AvroField): AvroField | undefined {
  const direct = writer.fields.find((field) => field.name === readerField.name);
  if (direct) return direct;
  for (const alias of readerField.aliases) {
    const aliased = writer.fields.find((field) => field.name === alias);
    if (aliased) return aliased;
  }
  return undefined;
}
