// Protobuf schemas as FileDescriptorProto, the binary form some serializers register (base64 of the serialized
// descriptor, as Confluent's registry accepts) and `GET /schemas/ids/{id}?format=serialized` returns, and the .proto
// text written back from a descriptor: as written (a registered descriptor is stored as text, the form the rest of
// the registry parses) or normalized (Confluent's ProtobufSchemaUtils.toNormalizedString): imports sorted and
// distinct, options sorted by name, fields and enum constants by number, oneofs after the fields ordered by their
// first number, messages before enums (declaration order kept: message indexes count it), every type name fully
// qualified, `syntax` written for proto3 only, comments dropped.
// Descriptors go through protobufjs's descriptor extension (protobufjs/ext/descriptor) for their wire form; the
// text → descriptor direction walks protobufjs's reflection of the parsed .proto (references' files loaded into the
// same root so imported types resolve). Not kept: custom options (extensions of *Options), groups, editions.

import type * as protobuf from "protobufjs";
import { protobuf as loadProtobuf, protobufDescriptor } from "../libraries.ts";
import { InvalidSchemaError, type ResolvedReference } from "./types.ts";

/** The descriptor shapes read here (the generated .d.ts types several of them as `any`). */
interface FieldDescriptor {
  name: string;
  number: number;
  label?: number;
  type?: number;
  typeName?: string;
  defaultValue?: string;
  oneofIndex?: number;
  jsonName?: string;
  options?: Record<string, unknown>;
  proto3Optional?: boolean;
}
interface RangeDescriptor {
  start: number;
  end: number;
}
interface EnumDescriptor {
  name: string;
  value?: { name: string; number: number; options?: Record<string, unknown> }[];
  options?: Record<string, unknown>;
  reservedRange?: RangeDescriptor[];
  reservedName?: string[];
}
interface MessageDescriptor {
  name: string;
  field?: FieldDescriptor[];
  nestedType?: MessageDescriptor[];
  enumType?: EnumDescriptor[];
  oneofDecl?: { name: string; options?: Record<string, unknown> }[];
  options?: Record<string, unknown>;
  reservedRange?: RangeDescriptor[];
  reservedName?: string[];
}
interface ServiceDescriptor {
  name: string;
  method?: { name: string; inputType: string; outputType: string; clientStreaming?: boolean; serverStreaming?: boolean; options?: Record<string, unknown> }[];
  options?: Record<string, unknown>;
}
export interface FileDescriptor {
  name?: string;
  package?: string;
  dependency?: string[];
  publicDependency?: number[];
  messageType?: MessageDescriptor[];
  enumType?: EnumDescriptor[];
  service?: ServiceDescriptor[];
  options?: Record<string, unknown>;
  syntax?: string;
}

/** FieldDescriptorProto.Type numbers → .proto scalar names (11 message, 14 enum, 10 group are named types). */
const SCALAR_BY_TYPE: Record<number, string> = {
  1: "double", 2: "float", 3: "int64", 4: "uint64", 5: "int32", 6: "fixed64", 7: "fixed32", 8: "bool", 9: "string",
  12: "bytes", 13: "uint32", 15: "sfixed32", 16: "sfixed64", 17: "sint32", 18: "sint64",
};
const TYPE_BY_SCALAR = Object.fromEntries(Object.entries(SCALAR_BY_TYPE).map(([number, name]) => [name, Number(number)]));
const TYPE_MESSAGE = 11;
const TYPE_ENUM = 14;
const LABEL_OPTIONAL = 1;
const LABEL_REQUIRED = 2;
const LABEL_REPEATED = 3;
/** Field numbers end below 2^29; a reserved range ending there is written `to max`. */
const FIELD_NUMBER_MAX = 536_870_911;
/** Descriptor fields that are structure, not options a .proto writes. */
const NOT_OPTIONS = new Set(["uninterpretedOption", "features", "mapEntry"]);

/** Base64 text that is not .proto source (.proto source always has `;`, `{` or quotes, which base64 never does). */
export function looksLikeSerializedDescriptor(text: string): boolean {
  const trimmed = text.trim();
  return trimmed.length > 0 && /^[A-Za-z0-9+/=\r\n]+$/.test(trimmed);
}

/** Decodes a base64 FileDescriptorProto, or fails as an invalid schema. */
export function decodeSerializedDescriptor(base64: string): FileDescriptor {
  const bytes = Buffer.from(base64.replace(/\s+/g, ""), "base64");
  let decoded: FileDescriptor;
  try {
    decoded = protobufDescriptor().FileDescriptorProto.toObject(protobufDescriptor().FileDescriptorProto.decode(bytes), { enums: Number, longs: Number }) as FileDescriptor;
  } catch (error) {
    throw new InvalidSchemaError(`Invalid schema: not .proto text and not a serialized FileDescriptorProto (${(error as Error).message})`);
  }
  if (!decoded.messageType?.length && !decoded.enumType?.length && !decoded.service?.length) {
    throw new InvalidSchemaError("Invalid schema: the serialized FileDescriptorProto declares no message, enum or service");
  }
  return decoded;
}

/** The base64 of a FileDescriptorProto. */
export function encodeSerializedDescriptor(file: FileDescriptor): string {
  const message = protobufDescriptor().FileDescriptorProto.fromObject(file as Record<string, unknown>);
  return Buffer.from(protobufDescriptor().FileDescriptorProto.encode(message).finish()).toString("base64");
}

// --- .proto text → descriptor -------------------------------------------------------------------------------------

function syntaxOf(text: string): "proto2" | "proto3" {
  return /^\s*syntax\s*=\s*["']proto3["']/m.test(text) ? "proto3" : "proto2";
}

/** Parses the text with its references' files into one resolved root; returns the root and the file's own namespace. */
function loadRoot(text: string, references: ResolvedReference[]): { root: protobuf.Root; parsed: protobuf.IParserResult } {
  const root = new (loadProtobuf().Root)();
  const options = { keepCase: true, alternateCommentMode: true };
  try {
    const imports = new Set<string>();
    for (const reference of references) {
      const result = loadProtobuf().parse(reference.schema, root, options);
      for (const name of [...(result.imports ?? []), ...(result.weakImports ?? [])]) imports.add(name);
    }
    const parsed = loadProtobuf().parse(text, root, options);
    for (const name of [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])]) imports.add(name);
    // google/protobuf/*.proto imports that no reference provides: protobufjs bundles the well-known ones.
    for (const name of imports) {
      if (references.some((reference) => reference.name === name)) continue;
      const common = loadProtobuf().common.get(name) as { nested?: Record<string, protobuf.AnyNestedObject> } | null;
      if (common?.nested) root.addJSON(common.nested);
    }
    root.resolveAll();
    return { root, parsed };
  } catch (error) {
    throw new InvalidSchemaError(`Invalid schema: ${(error as Error).message}`);
  }
}

function camelToSnake(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

function snakeToCamel(name: string): string {
  return name.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/** protobufjs's option bag (snake_case names) → a descriptor *Options object; custom "(ext)" options are dropped. */
function optionsOf(options: Record<string, unknown> | undefined, type: { fields: Record<string, unknown> }): Record<string, unknown> | undefined {
  if (!options) return undefined;
  const result: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(options)) {
    const camel = snakeToCamel(name);
    if (name.startsWith("(") || name === "proto3_optional" || !(camel in type.fields)) continue;
    result[camel] = value;
  }
  return Object.keys(result).length > 0 ? result : undefined;
}

/** Protobuf's default JSON name: lowerCamelCase of the field name. */
function defaultJsonName(name: string): string {
  return name.replace(/_([a-zA-Z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

function rangesOf(reserved: (number[] | string)[] | undefined): { ranges: RangeDescriptor[]; names: string[] } {
  const ranges: RangeDescriptor[] = [];
  const names: string[] = [];
  for (const entry of reserved ?? []) {
    if (typeof entry === "string") names.push(entry);
    else ranges.push({ start: entry[0]!, end: Math.min(entry[1]!, FIELD_NUMBER_MAX) + 1 });
  }
  return { ranges, names };
}

function fieldType(field: protobuf.Field, type: string): { type: number; typeName?: string } {
  if (type in TYPE_BY_SCALAR) return { type: TYPE_BY_SCALAR[type]! };
  const resolved = field.parent?.lookupTypeOrEnum(type);
  if (!resolved) throw new InvalidSchemaError(`Invalid schema: type ${type} of field ${field.name} not found`);
  return { type: resolved instanceof loadProtobuf().Enum ? TYPE_ENUM : TYPE_MESSAGE, typeName: resolved.fullName };
}

function mapEntryName(fieldName: string): string {
  return `${defaultJsonName(fieldName).replace(/^./, (first) => first.toUpperCase())}Entry`;
}

function messageDescriptor(type: protobuf.Type, syntax: "proto2" | "proto3"): MessageDescriptor {
  const oneofs = type.oneofsArray;
  const message: MessageDescriptor = { name: type.name, field: [], nestedType: [], enumType: [], oneofDecl: oneofs.map((oneof) => ({ name: oneof.name })) };
  for (const field of type.fieldsArray) {
    const entry: FieldDescriptor = { name: field.name, number: field.id, label: LABEL_OPTIONAL };
    if (field instanceof loadProtobuf().MapField) {
      const entryName = mapEntryName(field.name);
      message.nestedType!.push({
        name: entryName,
        field: [
          { name: "key", number: 1, label: LABEL_OPTIONAL, ...fieldType(field, field.keyType) },
          { name: "value", number: 2, label: LABEL_OPTIONAL, ...fieldType(field, field.type) },
        ],
        options: { mapEntry: true },
      });
      Object.assign(entry, { label: LABEL_REPEATED, type: TYPE_MESSAGE, typeName: `${type.fullName}.${entryName}` });
    } else {
      Object.assign(entry, fieldType(field, field.type));
      if (field.repeated) entry.label = LABEL_REPEATED;
      else if (field.required) entry.label = LABEL_REQUIRED;
    }
    if (field.partOf) entry.oneofIndex = oneofs.indexOf(field.partOf);
    if (field.options?.proto3_optional === true) entry.proto3Optional = true;
    const jsonName = field.options?.json_name;
    if (typeof jsonName === "string" && jsonName !== defaultJsonName(field.name)) entry.jsonName = jsonName;
    if (field.options?.default !== undefined) entry.defaultValue = String(field.options.default);
    const options = optionsOf(field.options, protobufDescriptor().FieldOptions);
    if (options) entry.options = options;
    message.field!.push(entry);
  }
  for (const nested of type.nestedArray) {
    if (nested instanceof loadProtobuf().Type) message.nestedType!.push(messageDescriptor(nested, syntax));
    else if (nested instanceof loadProtobuf().Enum) message.enumType!.push(enumDescriptor(nested));
  }
  const reserved = rangesOf(type.reserved);
  if (reserved.ranges.length > 0) message.reservedRange = reserved.ranges;
  if (reserved.names.length > 0) message.reservedName = reserved.names;
  const options = optionsOf(type.options, protobufDescriptor().MessageOptions);
  if (options) message.options = options;
  return message;
}

function enumDescriptor(element: protobuf.Enum): EnumDescriptor {
  const result: EnumDescriptor = {
    name: element.name,
    value: Object.entries(element.values).map(([name, number]) => {
      const options = optionsOf(element.valuesOptions?.[name], protobufDescriptor().EnumValueOptions);
      return options ? { name, number, options } : { name, number };
    }),
  };
  const reserved = rangesOf(element.reserved);
  // Enum reserved ranges are inclusive in EnumReservedRange, unlike message ranges.
  if (reserved.ranges.length > 0) result.reservedRange = reserved.ranges.map(({ start, end }) => ({ start, end: end - 1 }));
  if (reserved.names.length > 0) result.reservedName = reserved.names;
  const options = optionsOf(element.options, protobufDescriptor().EnumOptions);
  if (options) result.options = options;
  return result;
}

function serviceDescriptor(service: protobuf.Service): ServiceDescriptor {
  return {
    name: service.name,
    method: service.methodsArray.map((method) => {
      method.resolve();
      return {
        name: method.name,
        inputType: method.resolvedRequestType?.fullName ?? method.requestType,
        outputType: method.resolvedResponseType?.fullName ?? method.responseType,
        ...(method.requestStream ? { clientStreaming: true } : {}),
        ...(method.responseStream ? { serverStreaming: true } : {}),
      };
    }),
  };
}

/** The FileDescriptorProto of .proto text (its imports from the references). */
export function protoTextToDescriptor(text: string, references: ResolvedReference[] = [], fileName = "schema.proto"): FileDescriptor {
  const { root, parsed } = loadRoot(text, references);
  const syntax = syntaxOf(text);
  const packageName = parsed.package ?? "";
  const namespace = packageName === "" ? root : root.lookup(packageName);
  if (!(namespace instanceof loadProtobuf().Namespace) && !(namespace instanceof loadProtobuf().Root)) throw new InvalidSchemaError(`package ${packageName} not found`);
  // The file's own top-level elements: those its text declares (a reference may share the package).
  const alone = loadProtobuf().parse(text, { keepCase: true, alternateCommentMode: true }).root;
  const ownNamespace = packageName === "" ? alone : alone.lookup(packageName);
  const own = new Set(ownNamespace instanceof loadProtobuf().Namespace ? ownNamespace.nestedArray.map((element) => element.name) : []);
  const file: FileDescriptor = { name: fileName, messageType: [], enumType: [], service: [] };
  if (packageName !== "") file.package = packageName;
  const dependencies = [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])];
  if (dependencies.length > 0) file.dependency = dependencies;
  for (const element of (namespace as protobuf.Namespace).nestedArray) {
    if (!own.has(element.name)) continue;
    if (element instanceof loadProtobuf().Type) file.messageType!.push(messageDescriptor(element, syntax));
    else if (element instanceof loadProtobuf().Enum) file.enumType!.push(enumDescriptor(element));
    else if (element instanceof loadProtobuf().Service) file.service!.push(serviceDescriptor(element));
  }
  const fileOptions = optionsOf((namespace as protobuf.Namespace).options, protobufDescriptor().FileOptions);
  if (fileOptions) file.options = fileOptions;
  if (syntax === "proto3") file.syntax = "proto3";
  return file;
}

// --- descriptor → .proto text -------------------------------------------------------------------------------------

interface WriteOptions {
  normalize: boolean;
}

/** Fully qualified names of every message and enum the file and its dependencies declare (for normalized names). */
class Symbols {
  readonly names = new Set<string>();

  addFile(file: FileDescriptor): void {
    const prefix = file.package ? `.${file.package}` : "";
    for (const message of file.messageType ?? []) this.addMessage(message, prefix);
    for (const element of file.enumType ?? []) this.names.add(`${prefix}.${element.name}`);
  }

  private addMessage(message: MessageDescriptor, scope: string): void {
    const name = `${scope}.${message.name}`;
    this.names.add(name);
    for (const nested of message.nestedType ?? []) this.addMessage(nested, name);
    for (const element of message.enumType ?? []) this.names.add(`${name}.${element.name}`);
  }

  /** Protobuf's scoping: the innermost enclosing scope that declares the name (relative names), else as written. */
  resolve(typeName: string, scope: string): string {
    if (typeName.startsWith(".")) return typeName;
    const first = typeName.split(".")[0]!;
    let current = scope;
    for (;;) {
      if (this.names.has(`${current}.${first}`)) return `${current}.${typeName}`;
      if (current === "") return typeName;
      current = current.slice(0, current.lastIndexOf("."));
    }
  }
}

function quote(text: string): string {
  return JSON.stringify(text);
}

/** An option's value as .proto writes it: enum values by name, strings quoted. */
function optionValue(value: unknown, isEnum: boolean): string {
  if (typeof value === "string") return isEnum ? value : quote(value);
  return String(value);
}

/** `name = value` pairs of a descriptor options object (enums by name), sorted when normalizing. */
function optionPairs(options: Record<string, unknown> | undefined, type: protobuf.Type, write: WriteOptions): [string, string][] {
  if (!options) return [];
  const named = type.toObject(type.fromObject(options), { enums: String, longs: String }) as Record<string, unknown>;
  const pairs: [string, string][] = [];
  for (const [name, value] of Object.entries(named)) {
    if (NOT_OPTIONS.has(name) || value === undefined || value === null || typeof value === "object") continue;
    const field = type.fields[name];
    field?.resolve();
    pairs.push([camelToSnake(name), optionValue(value, field?.resolvedType instanceof loadProtobuf().Enum)]);
  }
  return write.normalize ? pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) : pairs;
}

function reservedLines(ranges: RangeDescriptor[] | undefined, names: string[] | undefined, exclusiveEnd: boolean, write: WriteOptions): string[] {
  const entries: { start: number; text: string }[] = [];
  for (const range of ranges ?? []) {
    const last = exclusiveEnd ? range.end - 1 : range.end;
    const text = last === range.start ? String(range.start) : `${range.start} to ${last >= FIELD_NUMBER_MAX ? "max" : last}`;
    entries.push({ start: range.start, text });
  }
  const lines: string[] = [];
  if (write.normalize) {
    for (const entry of entries.sort((a, b) => a.start - b.start)) lines.push(`reserved ${entry.text};`);
    for (const name of [...(names ?? [])].sort()) lines.push(`reserved ${quote(name)};`);
  } else {
    if (entries.length > 0) lines.push(`reserved ${entries.map((entry) => entry.text).join(", ")};`);
    if (names?.length) lines.push(`reserved ${names.map(quote).join(", ")};`);
  }
  return lines;
}

function indent(lines: string[]): string[] {
  return lines.map((line) => (line === "" ? line : `  ${line}`));
}

class ProtoWriter {
  constructor(
    private readonly syntax: "proto2" | "proto3",
    private readonly symbols: Symbols,
    private readonly write: WriteOptions,
  ) {}

  private typeName(typeName: string, scope: string): string {
    return this.write.normalize ? this.symbols.resolve(typeName, scope) : typeName;
  }

  message(message: MessageDescriptor, scope: string): string[] {
    const name = `${scope}.${message.name}`;
    const entries = new Map((message.nestedType ?? []).filter((nested) => nested.options?.mapEntry === true).map((nested) => [nested.name, nested]));
    const body: string[] = [...reservedLines(message.reservedRange, message.reservedName, true, this.write)];
    for (const [option, value] of optionPairs(message.options, protobufDescriptor().MessageOptions, this.write)) body.push(`option ${option} = ${value};`);
    const fields = message.field ?? [];
    const realOneof = (field: FieldDescriptor) => field.oneofIndex !== undefined && field.oneofIndex !== null && !field.proto3Optional;
    const sorted = (list: FieldDescriptor[]) => (this.write.normalize ? [...list].sort((a, b) => a.number - b.number) : list);
    for (const field of sorted(fields.filter((field) => !realOneof(field)))) body.push(this.field(field, name, entries));
    const oneofs = (message.oneofDecl ?? [])
      .map((oneof, index) => ({ oneof, fields: sorted(fields.filter((field) => realOneof(field) && field.oneofIndex === index)) }))
      .filter(({ fields: members }) => members.length > 0);
    if (this.write.normalize) oneofs.sort((a, b) => a.fields[0]!.number - b.fields[0]!.number);
    for (const { oneof, fields: members } of oneofs) {
      body.push(`oneof ${oneof.name} {`);
      for (const [option, value] of optionPairs(oneof.options, protobufDescriptor().OneofOptions, this.write)) body.push(`  option ${option} = ${value};`);
      body.push(...indent(members.map((field) => this.field(field, name, entries, true))));
      body.push("}");
    }
    for (const nested of message.nestedType ?? []) if (!entries.has(nested.name)) body.push(...this.message(nested, name));
    for (const element of message.enumType ?? []) body.push(...this.enumeration(element));
    return [`message ${message.name} {`, ...indent(body), "}"];
  }

  private field(field: FieldDescriptor, scope: string, entries: Map<string, MessageDescriptor>, inOneof = false): string {
    const options = optionPairs(field.options, protobufDescriptor().FieldOptions, this.write);
    if (field.jsonName && field.jsonName !== defaultJsonName(field.name)) options.push(["json_name", quote(field.jsonName)]);
    if (field.defaultValue !== undefined && field.defaultValue !== "") {
      options.push(["default", field.type === 9 || field.type === 12 ? quote(field.defaultValue) : field.defaultValue]);
    }
    if (this.write.normalize) options.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const suffix = options.length > 0 ? ` [${options.map(([name, value]) => `${name} = ${value}`).join(", ")}]` : "";
    const entry = field.typeName ? entries.get(field.typeName.slice(field.typeName.lastIndexOf(".") + 1)) : undefined;
    if (entry && field.label === LABEL_REPEATED) {
      const [key, value] = [entry.field!.find((f) => f.number === 1)!, entry.field!.find((f) => f.number === 2)!];
      return `map<${this.fieldTypeName(key, scope)}, ${this.fieldTypeName(value, scope)}> ${field.name} = ${field.number}${suffix};`;
    }
    let label = "";
    if (!inOneof) {
      if (field.label === LABEL_REPEATED) label = "repeated ";
      else if (field.label === LABEL_REQUIRED) label = "required ";
      else if (this.syntax === "proto2" || field.proto3Optional) label = "optional ";
    }
    return `${label}${this.fieldTypeName(field, scope)} ${field.name} = ${field.number}${suffix};`;
  }

  private fieldTypeName(field: FieldDescriptor, scope: string): string {
    if (field.type !== undefined && field.type in SCALAR_BY_TYPE) return SCALAR_BY_TYPE[field.type]!;
    if (!field.typeName) throw new InvalidSchemaError(`Invalid schema: field ${field.name} has no type`);
    return this.typeName(field.typeName, scope);
  }

  enumeration(element: EnumDescriptor): string[] {
    const body: string[] = [...reservedLines(element.reservedRange, element.reservedName, false, this.write)];
    for (const [option, value] of optionPairs(element.options, protobufDescriptor().EnumOptions, this.write)) body.push(`option ${option} = ${value};`);
    const values = [...(element.value ?? [])];
    if (this.write.normalize) values.sort((a, b) => a.number - b.number || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const value of values) {
      const options = optionPairs(value.options, protobufDescriptor().EnumValueOptions, this.write);
      const suffix = options.length > 0 ? ` [${options.map(([name, text]) => `${name} = ${text}`).join(", ")}]` : "";
      body.push(`${value.name} = ${value.number}${suffix};`);
    }
    return [`enum ${element.name} {`, ...indent(body), "}"];
  }

  service(service: ServiceDescriptor, scope: string): string[] {
    const body: string[] = [];
    for (const [option, value] of optionPairs(service.options, protobufDescriptor().ServiceOptions, this.write)) body.push(`option ${option} = ${value};`);
    for (const method of service.method ?? []) {
      const input = `${method.clientStreaming ? "stream " : ""}${this.typeName(method.inputType, scope)}`;
      const output = `${method.serverStreaming ? "stream " : ""}${this.typeName(method.outputType, scope)}`;
      body.push(`rpc ${method.name} (${input}) returns (${output});`);
    }
    return [`service ${service.name} {`, ...indent(body), "}"];
  }
}

/** .proto text of a FileDescriptorProto; `dependencies` are the imported files' descriptors (for normalized names). */
export function descriptorToProtoText(file: FileDescriptor, write: WriteOptions, dependencies: FileDescriptor[] = []): string {
  const syntax = file.syntax === "proto3" ? "proto3" : "proto2";
  const symbols = new Symbols();
  for (const dependency of dependencies) symbols.addFile(dependency);
  symbols.addFile(file);
  const writer = new ProtoWriter(syntax, symbols, write);
  const scope = file.package ? `.${file.package}` : "";
  const lines: string[] = [];
  if (syntax === "proto3" || !write.normalize) lines.push(`syntax = "${syntax}";`);
  if (file.package) lines.push(`package ${file.package};`);
  const publicIndexes = new Set(file.publicDependency ?? []);
  let imports = (file.dependency ?? []).filter((_, index) => !publicIndexes.has(index));
  let publicImports = (file.dependency ?? []).filter((_, index) => publicIndexes.has(index));
  if (write.normalize) {
    imports = [...new Set(imports)].sort();
    publicImports = [...new Set(publicImports)].sort();
  }
  if (imports.length + publicImports.length > 0) {
    lines.push("");
    for (const name of imports) lines.push(`import ${quote(name)};`);
    for (const name of publicImports) lines.push(`import public ${quote(name)};`);
  }
  const fileOptions = optionPairs(file.options, protobufDescriptor().FileOptions, write);
  if (fileOptions.length > 0) {
    lines.push("");
    for (const [option, value] of fileOptions) lines.push(`option ${option} = ${value};`);
  }
  const types = [...(file.messageType ?? []).map((message) => () => writer.message(message, scope)), ...(file.enumType ?? []).map((element) => () => writer.enumeration(element))];
  for (const type of types) lines.push("", ...type());
  for (const service of file.service ?? []) lines.push("", ...writer.service(service, scope));
  return `${lines.join("\n")}\n`;
}

/** Confluent's normalized text of a .proto schema (its references give the imported files). */
export function normalizeProtoText(text: string, references: ResolvedReference[] = []): string {
  const file = protoTextToDescriptor(text, references);
  // References come dependencies first: each resolves against the ones before it.
  const dependencies = references.map((reference, index) => {
    try {
      return protoTextToDescriptor(reference.schema, references.slice(0, index), reference.name);
    } catch {
      return {};
    }
  });
  return descriptorToProtoText(file, { normalize: true }, dependencies);
}
