// Protobuf schemas: .proto text parsed with protobufjs (imports resolved from Confluent references), and the
// structural diff of Confluent's protobuf/diff package. Fields are matched by number, not name.
// Compatible: messages, enums, enum constants, fields and oneofs added or removed (a message may move: message
// indexes in the envelope refer to the schema of its own id), field renames, string↔bytes and int32/int64/uint32/
// uint64/bool among themselves (same wire type), repeated↔singular for string/bytes, a oneof member moved to top
// level, a single field moved into a new oneof. Incompatible: package changed, top-level message removed, scalar
// kind / message type / map-vs-scalar changes, repeated↔singular for numbers, proto2 required fields added or
// removed, a oneof member deleted, several existing fields (or fields of different origins) merged into one oneof.

import type * as protobuf from "protobufjs";
import { protobuf as loadProtobuf } from "../libraries.ts";
import {
  decodeSerializedDescriptor,
  descriptorToProtoText,
  encodeSerializedDescriptor,
  looksLikeSerializedDescriptor,
  normalizeProtoText,
  protoTextToDescriptor,
} from "./protobuf-descriptor.ts";
import { InvalidSchemaError, type Incompatibility, type ParsedSchema, type ResolvedReference } from "./types.ts";

const COMPATIBLE_CHANGES = new Set([
  "MESSAGE_ADDED", "MESSAGE_MOVED", "ENUM_ADDED", "ENUM_REMOVED", "ENUM_CONST_ADDED", "ENUM_CONST_CHANGED",
  "ENUM_CONST_REMOVED", "FIELD_ADDED", "FIELD_REMOVED", "FIELD_NAME_CHANGED", "FIELD_STRING_OR_BYTES_LABEL_CHANGED",
  "ONEOF_ADDED", "ONEOF_REMOVED", "ONEOF_FIELD_ADDED", "ONEOF_FIELD_MOVED_TO_TOP_LEVEL",
]);

const SCALAR_KINDS: Record<string, string> = {
  int32: "GENERAL_NUMBER", int64: "GENERAL_NUMBER", uint32: "GENERAL_NUMBER", uint64: "GENERAL_NUMBER", bool: "GENERAL_NUMBER",
  sint32: "SIGNED_NUMBER", sint64: "SIGNED_NUMBER",
  string: "STRING_OR_BYTES", bytes: "STRING_OR_BYTES",
  fixed32: "FIXED32", sfixed32: "FIXED32",
  fixed64: "FIXED64", sfixed64: "FIXED64",
  float: "FLOAT", double: "DOUBLE",
};

interface TypeInfo {
  fullName: string;
  packageName: string;
  element: protobuf.Type | protobuf.Enum;
  /** The referenced subject/version the type came from; null for the schema's own types. */
  reference: string | null;
}

interface ProtoFile {
  packageName: string;
  /** Top-level messages and enums in file order. */
  types: (protobuf.Type | protobuf.Enum)[];
}

function parseFile(text: string): { file: ProtoFile; imports: string[] } {
  let parsed: protobuf.IParserResult;
  try {
    parsed = loadProtobuf().parse(text, { keepCase: true, alternateCommentMode: true });
  } catch (error) {
    throw new InvalidSchemaError(`Invalid schema: ${(error as Error).message}`);
  }
  const packageName = parsed.package ?? "";
  let namespace: protobuf.NamespaceBase = parsed.root;
  for (const part of packageName === "" ? [] : packageName.split(".")) {
    const next = namespace.get(part);
    if (!(next instanceof loadProtobuf().Namespace)) throw new InvalidSchemaError(`package ${packageName} not found`);
    namespace = next;
  }
  const types = namespace.nestedArray.filter((item): item is protobuf.Type | protobuf.Enum => item instanceof loadProtobuf().Type || item instanceof loadProtobuf().Enum);
  return { file: { packageName, types }, imports: [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])] };
}

function collectTypes(file: ProtoFile, reference: string | null, into: Map<string, TypeInfo>): void {
  const visit = (element: protobuf.Type | protobuf.Enum, scope: string) => {
    const fullName = scope === "" ? element.name : `${scope}.${element.name}`;
    into.set(fullName, { fullName, packageName: file.packageName, element, reference });
    if (element instanceof loadProtobuf().Type) {
      for (const nested of element.nestedArray) if (nested instanceof loadProtobuf().Type || nested instanceof loadProtobuf().Enum) visit(nested, fullName);
    }
  };
  for (const type of file.types) visit(type, file.packageName);
}

export class ProtobufSchema implements ParsedSchema {
  readonly schemaType = "PROTOBUF" as const;
  readonly canonical: string;
  private normalizedText: string | null = null;

  constructor(
    readonly text: string,
    readonly file: ProtoFile,
    readonly types: Map<string, TypeInfo>,
    readonly references: ResolvedReference[] = [],
  ) {
    this.canonical = text.trim();
  }

  normalized(): string {
    return (this.normalizedText ??= normalizeProtoText(this.text, this.references));
  }

  /** "serialized": the FileDescriptorProto in base64, as Confluent's `format=serialized` returns it. */
  formatted(format: string): string {
    return format === "serialized" ? encodeSerializedDescriptor(protoTextToDescriptor(this.text, this.references)) : this.text;
  }

  backwardIncompatibilities(previous: ParsedSchema): Incompatibility[] {
    if (!(previous instanceof ProtobufSchema)) return ["Schema type changed"];
    const ctx = new ProtoDiffContext(previous, this);
    ctx.compareFiles();
    return ctx.differences
      .filter((difference) => !COMPATIBLE_CHANGES.has(difference.type))
      .map((difference) => `{errorType:"${difference.type}", description:"${difference.type.toLowerCase().replaceAll("_", " ")} at path '${difference.path}'"}`);
  }

  /** The fully qualified name of the message the envelope's indexes name (a path: top-level index, nested index...). */
  messageNameAt(indexes: readonly number[]): string | null {
    let candidates = this.file.types;
    let message: protobuf.Type | null = null;
    for (const index of indexes) {
      message = candidates.filter((item): item is protobuf.Type => item instanceof loadProtobuf().Type)[index] ?? null;
      if (message === null) return null;
      candidates = message.nestedArray.filter((item): item is protobuf.Type | protobuf.Enum => item instanceof loadProtobuf().Type || item instanceof loadProtobuf().Enum);
    }
    return message === null ? null : message.fullName.replace(/^\./, "");
  }

  /** The message names in envelope order (Confluent message indexes count messages only, depth first). */
  messageNames(): string[] {
    return [...this.types.values()].filter((info) => info.reference === null && info.element instanceof loadProtobuf().Type).map((info) => info.fullName);
  }
}

/**
 * Parses .proto text, or a base64 FileDescriptorProto (written back as .proto text); references give the imported
 * files' text by import name (transitively resolved by the caller).
 */
export function parseProtobufSchema(given: string, references: ResolvedReference[] = []): ProtobufSchema {
  const text = looksLikeSerializedDescriptor(given) ? descriptorToProtoText(decodeSerializedDescriptor(given), { normalize: false }) : given;
  const { file, imports } = parseFile(text);
  const types = new Map<string, TypeInfo>();
  const known = new Map(references.map((reference) => [reference.name, reference]));
  const loaded = new Set<string>();
  const load = (name: string) => {
    if (loaded.has(name)) return;
    loaded.add(name);
    const reference = known.get(name);
    if (reference === undefined) return; // google/protobuf well-known imports and the like: types resolve by name only
    const dependency = parseFile(reference.schema);
    collectTypes(dependency.file, `${reference.subject ?? name}/${reference.version ?? 0}`, types);
    dependency.imports.forEach(load);
  };
  imports.forEach(load);
  collectTypes(file, null, types);
  return new ProtobufSchema(text, file, types, references);
}

interface Difference {
  type: string;
  path: string;
}

type Side = "original" | "update";

class ProtoDiffContext {
  readonly differences: Difference[] = [];
  private readonly path: string[] = [];
  /** Original messages under comparison: a message type reaching itself is a cycle, taken as compatible. */
  private readonly inProgress = new Set<protobuf.Type>();

  constructor(
    private readonly original: ProtobufSchema,
    private readonly update: ProtobufSchema,
  ) {}

  compareFiles(): void {
    if (this.original.file.packageName !== this.update.file.packageName) this.add("PACKAGE_CHANGED");
    this.compareTypeElements(this.original.file.types, this.update.file.types);
  }

  private add(type: string): void {
    this.differences.push({ type, path: `#/${this.path.join("/")}` });
  }

  private within(segment: string, body: () => void): void {
    this.path.push(segment);
    try {
      body();
    } finally {
      this.path.pop();
    }
  }

  private compareTypeElements(original: readonly protobuf.ReflectionObject[], update: readonly protobuf.ReflectionObject[]): void {
    const index = (elements: readonly protobuf.ReflectionObject[]) => {
      const messages = new Map<string, { element: protobuf.Type; index: number }>();
      const enums = new Map<string, protobuf.Enum>();
      for (const element of elements) {
        if (element instanceof loadProtobuf().Type) messages.set(element.name, { element, index: messages.size });
        else if (element instanceof loadProtobuf().Enum) enums.set(element.name, element);
      }
      return { messages, enums };
    };
    const before = index(original);
    const after = index(update);
    for (const name of new Set([...before.messages.keys(), ...after.messages.keys()])) {
      this.within(name, () => {
        const originalMessage = before.messages.get(name);
        const updateMessage = after.messages.get(name);
        if (updateMessage === undefined) {
          if (!isMapEntry(originalMessage!.element)) this.add("MESSAGE_REMOVED");
        } else if (originalMessage === undefined) {
          if (!isMapEntry(updateMessage.element)) this.add("MESSAGE_ADDED");
        } else {
          this.compareMessages(originalMessage.element, updateMessage.element);
          if (originalMessage.index !== updateMessage.index) this.add("MESSAGE_MOVED");
        }
      });
    }
    for (const name of new Set([...before.enums.keys(), ...after.enums.keys()])) {
      this.within(name, () => {
        const originalEnum = before.enums.get(name);
        const updateEnum = after.enums.get(name);
        if (updateEnum === undefined) this.add("ENUM_REMOVED");
        else if (originalEnum === undefined) this.add("ENUM_ADDED");
        else this.compareEnums(originalEnum, updateEnum);
      });
    }
  }

  private compareEnums(original: protobuf.Enum, update: protobuf.Enum): void {
    const byNumber = (element: protobuf.Enum) => {
      const map = new Map<number, string>();
      for (const [name, number] of Object.entries(element.values)) if (!map.has(number)) map.set(number, name);
      return map;
    };
    const before = byNumber(original);
    const after = byNumber(update);
    for (const number of new Set([...before.keys(), ...after.keys()])) {
      this.within(String(number), () => {
        if (!after.has(number)) this.add("ENUM_CONST_REMOVED");
        else if (!before.has(number)) this.add("ENUM_CONST_ADDED");
        else if (before.get(number) !== after.get(number)) this.add("ENUM_CONST_CHANGED");
      });
    }
  }

  private compareMessages(original: protobuf.Type, update: protobuf.Type): void {
    if (!this.inProgress.has(original)) {
      this.inProgress.add(original);
      try {
        this.compareFields(original, update);
      } finally {
        this.inProgress.delete(original);
      }
    }
    this.compareTypeElements(original.nestedArray, update.nestedArray);
  }

  private compareFields(original: protobuf.Type, update: protobuf.Type): void {
    const originalFields = fieldsByNumber(original);
    const updateFields = fieldsByNumber(update);
    const originalOneofs = realOneofs(original);
    const updateOneofs = realOneofs(update);

    // Each oneof of the update may take existing fields from one origin only: one top-level field, or members of
    // one oneof of the original. Several top-level fields, or fields of different origins, break old data that set
    // more than one of them.
    for (const oneof of updateOneofs) {
      this.within(oneof.name, () => {
        let movedFromTopLevel = 0;
        const origins = new Set<string>();
        for (const field of oneof.fieldsArray) {
          const before = originalFields.get(field.id);
          if (before === undefined) continue;
          const origin = realOneofOf(before);
          if (origin === null) {
            movedFromTopLevel++;
            origins.add(`field ${field.id}`);
          } else origins.add(`oneof ${origin.name}`);
        }
        if (movedFromTopLevel > 1) this.add("MULTIPLE_FIELDS_MOVED_TO_ONEOF");
        else if (origins.size > 1) this.add("FIELD_MOVED_TO_EXISTING_ONEOF");
      });
    }
    const originalOneofNames = new Set(originalOneofs.map((oneof) => oneof.name));
    const updateOneofNames = new Set(updateOneofs.map((oneof) => oneof.name));
    for (const name of new Set([...originalOneofNames, ...updateOneofNames])) {
      this.within(name, () => {
        if (!updateOneofNames.has(name)) this.add("ONEOF_REMOVED");
        else if (!originalOneofNames.has(name)) this.add("ONEOF_ADDED");
      });
    }

    const numbers = [...new Set([...originalFields.keys(), ...updateFields.keys()])].sort((a, b) => a - b);
    for (const number of numbers) {
      const before = originalFields.get(number);
      const after = updateFields.get(number);
      const beforeOneof = before ? realOneofOf(before) : null;
      const afterOneof = after ? realOneofOf(after) : null;
      const segments = afterOneof !== null ? [afterOneof.name, String(number)] : beforeOneof !== null && after === undefined ? [beforeOneof.name, String(number)] : [String(number)];
      const body = () => {
        if (after === undefined) {
          if (beforeOneof !== null) this.add("ONEOF_FIELD_REMOVED");
          else this.add(before!.rule === "required" ? "REQUIRED_FIELD_REMOVED" : "FIELD_REMOVED");
          return;
        }
        if (before === undefined) {
          if (afterOneof !== null) this.add("ONEOF_FIELD_ADDED");
          else this.add(after.rule === "required" ? "REQUIRED_FIELD_ADDED" : "FIELD_ADDED");
          return;
        }
        if (beforeOneof !== null && afterOneof === null) this.add("ONEOF_FIELD_MOVED_TO_TOP_LEVEL");
        this.compareField(before, after);
      };
      segments.reduceRight<() => void>((inner, segment) => () => this.within(segment, inner), body)();
    }
  }

  private compareField(original: protobuf.Field, update: protobuf.Field): void {
    if (original.name !== update.name) this.add("FIELD_NAME_CHANGED");
    const originalKind = this.kind(original, "original");
    const updateKind = this.kind(update, "update");
    if (original.repeated !== update.repeated && originalKind === updateKind && originalKind !== "MAP") {
      if (originalKind === "SCALAR") {
        const stringOrBytes = this.scalarKind(original.type) === "STRING_OR_BYTES";
        this.add(stringOrBytes ? "FIELD_STRING_OR_BYTES_LABEL_CHANGED" : "FIELD_NUMERIC_LABEL_CHANGED");
      }
    }
    if (original instanceof loadProtobuf().MapField && update instanceof loadProtobuf().MapField) {
      this.compareTypes(original.keyType, update.keyType, original.parent, update.parent);
      this.compareTypes(original.type, update.type, original.parent, update.parent);
      return;
    }
    if (originalKind !== updateKind) return this.add("FIELD_KIND_CHANGED");
    this.compareTypes(original.type, update.type, original.parent, update.parent);
  }

  private kind(field: protobuf.Field, side: Side): "SCALAR" | "MAP" | "MESSAGE" {
    if (field instanceof loadProtobuf().MapField) return "MAP";
    return this.typeKind(field.type, field.parent, side);
  }

  private typeKind(type: string, scope: protobuf.NamespaceBase | null, side: Side): "SCALAR" | "MESSAGE" {
    if (type in SCALAR_KINDS) return "SCALAR";
    const info = this.resolve(type, scope, side);
    return info !== null && info.element instanceof loadProtobuf().Enum ? "SCALAR" : "MESSAGE";
  }

  /** Enums count as GENERAL_NUMBER (varint), like int32. */
  private scalarKind(type: string): string {
    return SCALAR_KINDS[type] ?? "GENERAL_NUMBER";
  }

  private compareTypes(originalType: string, updateType: string, originalScope: protobuf.NamespaceBase | null, updateScope: protobuf.NamespaceBase | null): void {
    const originalKind = this.typeKind(originalType, originalScope, "original");
    const updateKind = this.typeKind(updateType, updateScope, "update");
    if (originalKind !== updateKind) return this.add("FIELD_KIND_CHANGED");
    if (originalKind === "SCALAR") {
      if (this.scalarKind(originalType) !== this.scalarKind(updateType)) this.add("FIELD_SCALAR_KIND_CHANGED");
      return;
    }
    const before = this.resolve(originalType, originalScope, "original");
    const after = this.resolve(updateType, updateScope, "update");
    if (before === null || after === null) {
      if (originalType.replace(/^\./, "") !== updateType.replace(/^\./, "")) this.add("FIELD_NAMED_TYPE_CHANGED");
      return;
    }
    const localName = (info: TypeInfo) => (info.packageName !== "" && info.fullName.startsWith(`${info.packageName}.`) ? info.fullName.slice(info.packageName.length + 1) : info.fullName);
    if (localName(before) !== localName(after)) return this.add("FIELD_NAMED_TYPE_CHANGED");
    if (before.reference !== null && before.reference === after.reference) return;
    const saved = this.path.splice(0, this.path.length, localName(before));
    const start = this.differences.length;
    try {
      this.compareFields(before.element as protobuf.Type, after.element as protobuf.Type);
    } finally {
      this.path.splice(0, this.path.length, ...saved);
    }
    if (this.differences.slice(start).some((difference) => !COMPATIBLE_CHANGES.has(difference.type))) this.add("FIELD_NAMED_TYPE_CHANGED");
  }

  private resolve(type: string, scope: protobuf.NamespaceBase | null, side: Side): TypeInfo | null {
    const types = side === "original" ? this.original.types : this.update.types;
    if (type.startsWith(".")) return types.get(type.slice(1)) ?? null;
    let scopeName = scope ? scope.fullName.replace(/^\./, "") : "";
    for (;;) {
      const candidate = scopeName === "" ? type : `${scopeName}.${type}`;
      const found = types.get(candidate);
      if (found) return found;
      if (scopeName === "") return null;
      scopeName = scopeName.includes(".") ? scopeName.slice(0, scopeName.lastIndexOf(".")) : "";
    }
  }
}

function fieldsByNumber(type: protobuf.Type): Map<number, protobuf.Field> {
  return new Map(type.fieldsArray.map((field) => [field.id, field]));
}

/** A proto3 `optional` field gets a synthetic oneof in protobufjs; the .proto has none. */
function isSyntheticOneof(oneof: protobuf.OneOf): boolean {
  return oneof.fieldsArray.length === 1 && oneof.fieldsArray[0]!.options?.proto3_optional === true;
}

function realOneofs(type: protobuf.Type): protobuf.OneOf[] {
  return type.oneofsArray.filter((oneof) => !isSyntheticOneof(oneof));
}

function realOneofOf(field: protobuf.Field): protobuf.OneOf | null {
  return field.partOf && !isSyntheticOneof(field.partOf) ? field.partOf : null;
}

function isMapEntry(type: protobuf.Type): boolean {
  return type.options?.map_entry === true;
}
