// Two written forms of an Avro schema that the registry serves:
// - normalized (`normalize=true`): Confluent's AvroSchemaUtils.toNormalizedString, Avro's Parsing Canonical Form
//   extended with what PCF drops but Confluent keeps: logical types (and decimal precision/scale), field defaults,
//   doc, aliases (sorted, full names for named types), field order, enum defaults and custom properties (sorted by
//   name, values with sorted keys). Names are full names, namespaces are gone, a named type is written once and by
//   name afterwards; the named types of references are written by name.
// - resolved (`format=resolved`): the schema text with the named types of its references written inline where first
//   used, so a reader needs no references (Confluent's schemaObj.toString()).
// Both walk the schema's JSON (already validated by the parser in avro.ts).

import { stableStringify } from "./json-schema.ts";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const PRIMITIVES = new Set(["null", "boolean", "int", "long", "float", "double", "bytes", "string"]);
const NAMED = new Set(["record", "error", "enum", "fixed"]);
/** Attributes the normalized form writes itself; everything else on a schema object is a custom property. */
const RESERVED: Record<string, Set<string>> = {
  record: new Set(["type", "name", "namespace", "fields", "doc", "aliases"]),
  enum: new Set(["type", "name", "namespace", "symbols", "doc", "aliases", "default"]),
  fixed: new Set(["type", "name", "namespace", "size", "doc", "aliases", "logicalType", "precision", "scale"]),
  array: new Set(["type", "items"]),
  map: new Set(["type", "values"]),
  primitive: new Set(["type", "logicalType", "precision", "scale"]),
  field: new Set(["name", "type", "order", "doc", "aliases", "default"]),
};

function isObject(json: Json | undefined): json is JsonObject {
  return json !== null && typeof json === "object" && !Array.isArray(json);
}

/** The full name of a named type's definition, and the namespace its children inherit. */
function definitionName(object: JsonObject, namespace: string): { fullName: string; namespace: string } {
  const name = String(object.name);
  if (name.includes(".")) return { fullName: name, namespace: name.slice(0, name.lastIndexOf(".")) };
  const own = typeof object.namespace === "string" ? object.namespace : namespace;
  return { fullName: own === "" ? name : `${own}.${name}`, namespace: own };
}

/** A name used as a type: qualified by the enclosing namespace when that names a known type (else as written). */
function referencedName(name: string, namespace: string, known: (fullName: string) => boolean): string {
  if (name.includes(".") || namespace === "") return name;
  const qualified = `${namespace}.${name}`;
  return known(qualified) || !known(name) ? qualified : name;
}

function qualifiedAliases(aliases: Json | undefined, namespace: string): string[] {
  if (!Array.isArray(aliases)) return [];
  return aliases.filter((alias): alias is string => typeof alias === "string").map((alias) => (alias.includes(".") || namespace === "" ? alias : `${namespace}.${alias}`));
}

function sortedStrings(values: string[]): string[] {
  return [...new Set(values)].sort();
}

/** `,"key":value` for each custom property, sorted by key. */
function properties(object: JsonObject, reserved: Set<string>): string {
  return Object.keys(object)
    .filter((key) => !reserved.has(key))
    .sort()
    .map((key) => `,${JSON.stringify(key)}:${stableStringify(object[key])}`)
    .join("");
}

function logicalProperties(object: JsonObject): string {
  if (typeof object.logicalType !== "string") return "";
  let text = `,"logicalType":${JSON.stringify(object.logicalType)}`;
  if (object.logicalType === "decimal") {
    if (typeof object.precision === "number") text += `,"precision":${object.precision}`;
    if (typeof object.scale === "number" && object.scale !== 0) text += `,"scale":${object.scale}`;
  }
  return text;
}

function docAndAliases(object: JsonObject, aliases: string[]): string {
  let text = "";
  if (typeof object.doc === "string" && object.doc !== "") text += `,"doc":${JSON.stringify(object.doc)}`;
  if (aliases.length > 0) text += `,"aliases":${JSON.stringify(sortedStrings(aliases))}`;
  return text;
}

/** Names defined anywhere in a schema's JSON (to tell a reference's type from an undefined one). */
function collectDefinitions(json: Json, namespace: string, into: Map<string, JsonObject>): void {
  if (Array.isArray(json)) return json.forEach((branch) => collectDefinitions(branch, namespace, into));
  if (!isObject(json)) return;
  const type = json.type;
  if (typeof type !== "string") return collectDefinitions(type ?? null, namespace, into);
  if (NAMED.has(type)) {
    const { fullName, namespace: inner } = definitionName(json, namespace);
    if (!into.has(fullName)) into.set(fullName, json);
    if (Array.isArray(json.fields)) for (const field of json.fields) if (isObject(field)) collectDefinitions(field.type ?? null, inner, into);
    return;
  }
  if (type === "array") collectDefinitions(json.items ?? null, namespace, into);
  if (type === "map") collectDefinitions(json.values ?? null, namespace, into);
}

/** Confluent's normalized form of an Avro schema; `references` are the referenced schemas' texts. */
export function avroNormalizedText(schema: string, references: string[]): string {
  const json = JSON.parse(schema) as Json;
  const written = new Set<string>();
  const definitions = new Map<string, JsonObject>();
  for (const reference of references) collectDefinitions(JSON.parse(reference) as Json, "", definitions);
  for (const name of definitions.keys()) written.add(name);
  collectDefinitions(json, "", definitions);
  const known = (fullName: string) => definitions.has(fullName);

  const build = (node: Json, namespace: string): string => {
    if (typeof node === "string") return JSON.stringify(PRIMITIVES.has(node) ? node : referencedName(node, namespace, known));
    if (Array.isArray(node)) return `[${node.map((branch) => build(branch, namespace)).join(",")}]`;
    if (!isObject(node)) return JSON.stringify(node);
    const type = node.type;
    if (typeof type !== "string") return build(type ?? null, namespace);
    if (NAMED.has(type)) {
      const { fullName, namespace: inner } = definitionName(node, namespace);
      if (written.has(fullName)) return JSON.stringify(fullName);
      written.add(fullName);
      const kind = type === "error" ? "record" : type;
      let text = `{"name":${JSON.stringify(fullName)},"type":"${kind}"`;
      if (kind === "enum") text += `,"symbols":${JSON.stringify(node.symbols)}`;
      else if (kind === "fixed") text += `,"size":${node.size}${logicalProperties(node)}`;
      else {
        const fields = (Array.isArray(node.fields) ? node.fields : []).filter(isObject).map((field) => {
          let fieldText = `{"name":${JSON.stringify(field.name)},"type":${build(field.type ?? null, inner)}`;
          if (typeof field.order === "string" && field.order !== "ascending") fieldText += `,"order":${JSON.stringify(field.order)}`;
          if (typeof field.doc === "string") fieldText += `,"doc":${JSON.stringify(field.doc)}`;
          const aliases = Array.isArray(field.aliases) ? field.aliases.filter((alias): alias is string => typeof alias === "string") : [];
          if (aliases.length > 0) fieldText += `,"aliases":${JSON.stringify(sortedStrings(aliases))}`;
          if ("default" in field) fieldText += `,"default":${stableStringify(field.default)}`;
          return `${fieldText}${properties(field, RESERVED.field!)}}`;
        });
        text += `,"fields":[${fields.join(",")}]`;
      }
      text += docAndAliases(node, qualifiedAliases(node.aliases, inner));
      if (kind === "enum" && typeof node.default === "string") text += `,"default":${JSON.stringify(node.default)}`;
      return `${text}${properties(node, RESERVED[kind]!)}}`;
    }
    if (type === "array") return `{"type":"array","items":${build(node.items ?? null, namespace)}${properties(node, RESERVED.array!)}}`;
    if (type === "map") return `{"type":"map","values":${build(node.values ?? null, namespace)}${properties(node, RESERVED.map!)}}`;
    if (!PRIMITIVES.has(type)) return JSON.stringify(referencedName(type, namespace, known));
    const extra = `${logicalProperties(node)}${properties(node, RESERVED.primitive!)}`;
    return extra === "" ? JSON.stringify(type) : `{"type":"${type}"${extra}}`;
  };
  return build(json, "");
}

/** The schema with its references' named types written inline where first used (no references needed to read it). */
export function avroResolvedText(schema: string, references: string[]): string {
  const json = JSON.parse(schema) as Json;
  const fromReferences = new Map<string, { definition: JsonObject; namespace: string }>();
  for (const reference of references) {
    const found = new Map<string, JsonObject>();
    collectDefinitions(JSON.parse(reference) as Json, "", found);
    for (const [fullName, definition] of found) if (!fromReferences.has(fullName)) fromReferences.set(fullName, { definition, namespace: fullName.includes(".") ? fullName.slice(0, fullName.lastIndexOf(".")) : "" });
  }
  const own = new Map<string, JsonObject>();
  collectDefinitions(json, "", own);
  const known = (fullName: string) => own.has(fullName) || fromReferences.has(fullName);
  const defined = new Set<string>();

  const inline = (node: Json, namespace: string): Json => {
    if (typeof node === "string") {
      if (PRIMITIVES.has(node)) return node;
      const fullName = referencedName(node, namespace, known);
      const reference = fromReferences.get(fullName);
      if (reference === undefined || defined.has(fullName) || own.has(fullName)) return node;
      // A reference's definition, written with its full name so it keeps its namespace here.
      const { namespace: _dropped, ...rest } = reference.definition;
      return inline({ ...rest, name: fullName }, reference.namespace);
    }
    if (Array.isArray(node)) return node.map((branch) => inline(branch, namespace));
    if (!isObject(node)) return node;
    const type = node.type;
    if (typeof type !== "string") return { ...node, type: inline(type ?? null, namespace) };
    if (NAMED.has(type)) {
      const { fullName, namespace: inner } = definitionName(node, namespace);
      defined.add(fullName);
      if (!Array.isArray(node.fields)) return node;
      return { ...node, fields: node.fields.map((field) => (isObject(field) ? { ...field, type: inline(field.type ?? null, inner) } : field)) };
    }
    if (type === "array") return { ...node, items: inline(node.items ?? null, namespace) };
    if (type === "map") return { ...node, values: inline(node.values ?? null, namespace) };
    if (!PRIMITIVES.has(type)) return { ...node, type: inline(type, namespace) };
    return node;
  };
  return JSON.stringify(inline(json, ""));
}
