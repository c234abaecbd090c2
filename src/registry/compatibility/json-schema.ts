// JSON Schema: a loader to the schema model Confluent's registry diffs (everit's: one schema class per type, keywords
// without "type" sniffed into their type, several at once combined into a synthetic allOf, "type": [..] an anyOf),
// and the structural diff of Confluent's json/diff package under its default STRICT policy. A change is
// compatible when every difference found is in COMPATIBLE_CHANGES. Drafts 4, 6, 7, 2019-09 and 2020-12: the later
// drafts' prefixItems/items, dependentRequired/dependentSchemas and $defs map onto the same model.
// Rules in short: an open content model (no additionalProperties, no patternProperties) may lose properties but only
// gain properties with the empty schema; a closed one may gain optional properties and lose only false ones; a
// partially open one checks the property against the schema that covered it. Bounds may only loosen, enums only grow,
// types only widen (integer→number, a type into a union containing it), combined schemas match their subschemas
// one to one (maximum bipartite matching), "not" reverses the direction.

import { InvalidSchemaError, type Incompatibility, type ParsedSchema, type ResolvedReference } from "./types.ts";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface Common {
  id?: Json;
  title?: Json;
  description?: Json;
  hasDefault: boolean;
  defaultValue?: Json;
  /** The JSON this node was loaded from (equality of subschemas of combined schemas). */
  source: Json;
}

type JsonNode = Common &
  (
    | { kind: "empty" }
    | { kind: "true" }
    | { kind: "false" }
    | { kind: "boolean" }
    | { kind: "null" }
    | { kind: "string"; minLength?: number; maxLength?: number; pattern?: string }
    | { kind: "number"; requiresInteger: boolean; minimum?: number; maximum?: number; exclusiveMinimum?: number; exclusiveMaximum?: number; multipleOf?: number }
    | { kind: "enum"; values: Json[] }
    | { kind: "const"; value: Json }
    | { kind: "not"; mustNotMatch: JsonNode }
    | { kind: "combined"; criterion: "allOf" | "anyOf" | "oneOf"; subschemas: JsonNode[] }
    | { kind: "ref"; resolve: () => JsonNode }
    | ObjectNode
    | ArrayNode
  );

interface ObjectNode {
  kind: "object";
  properties: Map<string, JsonNode>;
  required: string[];
  patternProperties: [RegExp, JsonNode][];
  permitsAdditionalProperties: boolean;
  additionalProperties: JsonNode | null;
  unevaluatedProperties: JsonNode | null;
  propertyDependencies: Map<string, Set<string>>;
  schemaDependencies: Map<string, JsonNode>;
  minProperties?: number;
  maxProperties?: number;
}

interface ArrayNode {
  kind: "array";
  allItemSchema: JsonNode | null;
  itemSchemas: JsonNode[] | null;
  permitsAdditionalItems: boolean;
  additionalItems: JsonNode | null;
  unevaluatedItems: JsonNode | null;
  minItems?: number;
  maxItems?: number;
  uniqueItems: boolean;
  minContains?: number;
  maxContains?: number;
}

const STRING_KEYWORDS = ["minLength", "maxLength", "pattern", "format"];
const NUMBER_KEYWORDS = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"];
const OBJECT_KEYWORDS = ["properties", "required", "minProperties", "maxProperties", "dependencies", "patternProperties", "additionalProperties", "dependentRequired", "dependentSchemas", "unevaluatedProperties"];
const ARRAY_KEYWORDS = ["items", "additionalItems", "minItems", "maxItems", "uniqueItems", "contains", "prefixItems", "unevaluatedItems", "minContains", "maxContains"];

function isObject(json: Json | undefined): json is JsonObject {
  return json !== null && typeof json === "object" && !Array.isArray(json);
}

function numberOrUndefined(json: Json | undefined): number | undefined {
  return typeof json === "number" ? json : undefined;
}

/** Stable serialization (sorted keys) for equality of JSON values and subschemas. */
export function stableStringify(json: Json | undefined): string {
  if (json === undefined) return "undefined";
  if (json === null || typeof json !== "object") return JSON.stringify(json);
  if (Array.isArray(json)) return `[${json.map(stableStringify).join(",")}]`;
  return `{${Object.keys(json)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${stableStringify(json[key])}`)
    .join(",")}}`;
}

function jsonEquals(a: Json | undefined, b: Json | undefined): boolean {
  return stableStringify(a) === stableStringify(b);
}

class JsonSchemaLoader {
  private readonly loaded = new Map<object, JsonNode>();
  private readonly documents = new Map<string, Json>();

  constructor(
    private readonly root: Json,
    references: ResolvedReference[],
  ) {
    for (const reference of references) this.documents.set(reference.name, parseJson(reference.schema));
  }

  load(json: Json, document: Json = this.root): JsonNode {
    if (typeof json === "boolean") return json ? { kind: "true", hasDefault: false, source: json } : { kind: "false", hasDefault: false, source: json };
    if (!isObject(json)) throw new InvalidSchemaError(`not a JSON schema: ${JSON.stringify(json)}`);
    const cached = this.loaded.get(json);
    if (cached) return cached;
    // Placeholder first: a schema that reaches itself through $ref finds the same node.
    const node = {} as JsonNode;
    this.loaded.set(json, node);
    Object.assign(node, this.loadObject(json, document));
    return node;
  }

  private loadObject(json: JsonObject, document: Json): JsonNode {
    const common: Common = { hasDefault: "default" in json, source: json };
    const id = json.$id ?? json.id;
    if (id !== undefined) common.id = id;
    if (json.title !== undefined) common.title = json.title;
    if (json.description !== undefined) common.description = json.description;
    if (json.default !== undefined) common.defaultValue = json.default;

    if (typeof json.$ref === "string") {
      const ref = json.$ref;
      let target: JsonNode | null = null;
      return { ...common, kind: "ref", resolve: () => (target ??= this.resolveRef(ref, document)) };
    }

    const extracted: JsonNode[] = [];
    if (Array.isArray(json.enum)) extracted.push({ kind: "enum", values: json.enum, hasDefault: false, source: { enum: json.enum } });
    for (const criterion of ["allOf", "anyOf", "oneOf"] as const) {
      const subschemas = json[criterion];
      if (!Array.isArray(subschemas)) continue;
      extracted.push({ kind: "combined", criterion, subschemas: subschemas.map((sub) => this.load(sub, document)), hasDefault: false, source: { [criterion]: subschemas } });
    }
    if (json.not !== undefined) extracted.push({ kind: "not", mustNotMatch: this.load(json.not, document), hasDefault: false, source: { not: json.not } });
    if (json.const !== undefined) extracted.push({ kind: "const", value: json.const, hasDefault: false, source: { const: json.const } });

    const type = json.type;
    if (typeof type === "string") extracted.push(this.typed(type, json, document));
    else if (Array.isArray(type)) {
      const subschemas = type.map((single) => this.typed(String(single), json, document));
      extracted.push(subschemas.length === 1 ? subschemas[0]! : { kind: "combined", criterion: "anyOf", subschemas, hasDefault: false, source: json });
    } else {
      const has = (keywords: string[]) => keywords.some((keyword) => json[keyword] !== undefined);
      if (has(ARRAY_KEYWORDS)) extracted.push(this.typed("array", json, document));
      if (has(OBJECT_KEYWORDS)) extracted.push(this.typed("object", json, document));
      if (has(NUMBER_KEYWORDS)) extracted.push(this.typed("number", json, document));
      if (has(STRING_KEYWORDS)) extracted.push(this.typed("string", json, document));
    }

    if (extracted.length === 0) return { ...common, kind: "empty" };
    if (extracted.length === 1) return { ...extracted[0]!, ...common };
    return { ...common, kind: "combined", criterion: "allOf", subschemas: extracted };
  }

  private typed(type: string, json: JsonObject, document: Json): JsonNode {
    const source = json;
    switch (type) {
      case "string": {
        const node: JsonNode = { kind: "string", hasDefault: false, source };
        const minLength = numberOrUndefined(json.minLength);
        const maxLength = numberOrUndefined(json.maxLength);
        if (minLength !== undefined) node.minLength = minLength;
        if (maxLength !== undefined) node.maxLength = maxLength;
        if (typeof json.pattern === "string") node.pattern = json.pattern;
        return node;
      }
      case "number":
      case "integer": {
        const node: JsonNode = { kind: "number", requiresInteger: type === "integer", hasDefault: false, source };
        for (const keyword of ["minimum", "maximum", "multipleOf"] as const) {
          const value = numberOrUndefined(json[keyword]);
          if (value !== undefined) node[keyword] = value;
        }
        // Draft 4 writes exclusiveMaximum: true next to maximum; later drafts give the limit itself.
        if (json.exclusiveMaximum === true && node.maximum !== undefined) {
          node.exclusiveMaximum = node.maximum;
          delete node.maximum;
        } else if (typeof json.exclusiveMaximum === "number") node.exclusiveMaximum = json.exclusiveMaximum;
        if (json.exclusiveMinimum === true && node.minimum !== undefined) {
          node.exclusiveMinimum = node.minimum;
          delete node.minimum;
        } else if (typeof json.exclusiveMinimum === "number") node.exclusiveMinimum = json.exclusiveMinimum;
        return node;
      }
      case "boolean":
        return { kind: "boolean", hasDefault: false, source };
      case "null":
        return { kind: "null", hasDefault: false, source };
      case "object":
        return { ...this.objectNode(json, document), hasDefault: false, source };
      case "array":
        return { ...this.arrayNode(json, document), hasDefault: false, source };
      default:
        throw new InvalidSchemaError(`unknown type ${JSON.stringify(type)}`);
    }
  }

  private objectNode(json: JsonObject, document: Json): ObjectNode {
    const node: ObjectNode = {
      kind: "object",
      properties: new Map(),
      required: Array.isArray(json.required) ? json.required.filter((name): name is string => typeof name === "string") : [],
      patternProperties: [],
      permitsAdditionalProperties: json.additionalProperties !== false,
      additionalProperties: isObject(json.additionalProperties) ? this.load(json.additionalProperties, document) : null,
      unevaluatedProperties: json.unevaluatedProperties === undefined ? null : this.load(json.unevaluatedProperties, document),
      propertyDependencies: new Map(),
      schemaDependencies: new Map(),
    };
    if (isObject(json.properties)) for (const [name, schema] of Object.entries(json.properties)) node.properties.set(name, this.load(schema, document));
    if (isObject(json.patternProperties)) {
      for (const [pattern, schema] of Object.entries(json.patternProperties)) node.patternProperties.push([new RegExp(pattern, "u"), this.load(schema, document)]);
    }
    const dependencies = [json.dependencies, json.dependentRequired, json.dependentSchemas];
    for (const group of dependencies) {
      if (!isObject(group)) continue;
      for (const [name, value] of Object.entries(group)) {
        if (Array.isArray(value)) node.propertyDependencies.set(name, new Set(value.map(String)));
        else node.schemaDependencies.set(name, this.load(value, document));
      }
    }
    const minProperties = numberOrUndefined(json.minProperties);
    const maxProperties = numberOrUndefined(json.maxProperties);
    if (minProperties !== undefined) node.minProperties = minProperties;
    if (maxProperties !== undefined) node.maxProperties = maxProperties;
    return node;
  }

  private arrayNode(json: JsonObject, document: Json): ArrayNode {
    const node: ArrayNode = {
      kind: "array",
      allItemSchema: null,
      itemSchemas: null,
      permitsAdditionalItems: true,
      additionalItems: null,
      unevaluatedItems: json.unevaluatedItems === undefined ? null : this.load(json.unevaluatedItems, document),
      uniqueItems: json.uniqueItems === true,
    };
    const additional = (value: Json | undefined) => {
      if (value === false) node.permitsAdditionalItems = false;
      else if (isObject(value)) node.additionalItems = this.load(value, document);
    };
    if (Array.isArray(json.prefixItems)) {
      node.itemSchemas = json.prefixItems.map((item) => this.load(item, document));
      additional(json.items);
    } else if (Array.isArray(json.items)) {
      node.itemSchemas = json.items.map((item) => this.load(item, document));
      additional(json.additionalItems);
    } else {
      if (json.items !== undefined) node.allItemSchema = this.load(json.items, document);
      additional(json.additionalItems);
    }
    for (const keyword of ["minItems", "maxItems", "minContains", "maxContains"] as const) {
      const value = numberOrUndefined(json[keyword]);
      if (value !== undefined) node[keyword] = value;
    }
    return node;
  }

  private resolveRef(ref: string, document: Json): JsonNode {
    const hash = ref.indexOf("#");
    const base = hash < 0 ? ref : ref.slice(0, hash);
    const pointer = hash < 0 ? "" : ref.slice(hash + 1);
    let target: Json | undefined = document;
    if (base !== "") {
      target = this.documents.get(base) ?? this.documentById(base);
      if (target === undefined) throw new InvalidSchemaError(`unresolved $ref ${JSON.stringify(ref)}`);
    }
    const targetDocument = target;
    for (const token of pointer.split("/").slice(1)) {
      const key = decodeURIComponent(token).replaceAll("~1", "/").replaceAll("~0", "~");
      if (Array.isArray(target)) target = target[Number(key)];
      else if (isObject(target)) target = target[key];
      else target = undefined;
      if (target === undefined) throw new InvalidSchemaError(`unresolved $ref ${JSON.stringify(ref)}`);
    }
    return this.load(target!, targetDocument);
  }

  private documentById(id: string): Json | undefined {
    for (const document of this.documents.values()) if (isObject(document) && document.$id === id) return document;
    return undefined;
  }
}

function parseJson(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch (error) {
    throw new InvalidSchemaError(`Invalid schema: ${(error as Error).message}`);
  }
}

// --- Diff ---------------------------------------------------------------------------------------------------------

const COMPATIBLE_CHANGES = new Set([
  "ID_CHANGED", "DESCRIPTION_CHANGED", "TITLE_CHANGED", "DEFAULT_CHANGED", "SCHEMA_REMOVED", "TYPE_EXTENDED",
  "MAX_LENGTH_INCREASED", "MAX_LENGTH_REMOVED", "MIN_LENGTH_DECREASED", "MIN_LENGTH_REMOVED", "PATTERN_REMOVED",
  "MAXIMUM_INCREASED", "MAXIMUM_REMOVED", "MINIMUM_DECREASED", "MINIMUM_REMOVED", "EXCLUSIVE_MAXIMUM_INCREASED",
  "EXCLUSIVE_MAXIMUM_REMOVED", "EXCLUSIVE_MINIMUM_DECREASED", "EXCLUSIVE_MINIMUM_REMOVED", "MULTIPLE_OF_REDUCED",
  "MULTIPLE_OF_REMOVED", "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED", "REQUIRED_ATTRIBUTE_REMOVED",
  "DEPENDENCY_ARRAY_NARROWED", "DEPENDENCY_ARRAY_REMOVED", "DEPENDENCY_SCHEMA_REMOVED", "MAX_PROPERTIES_INCREASED",
  "MAX_PROPERTIES_REMOVED", "MIN_PROPERTIES_DECREASED", "MIN_PROPERTIES_REMOVED", "ADDITIONAL_PROPERTIES_ADDED",
  "ADDITIONAL_PROPERTIES_EXTENDED", "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
  "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL", "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
  "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL", "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL",
  "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
  "MAX_ITEMS_INCREASED", "MAX_ITEMS_REMOVED", "MIN_ITEMS_DECREASED", "MIN_ITEMS_REMOVED", "UNIQUE_ITEMS_REMOVED",
  "ADDITIONAL_ITEMS_ADDED", "ADDITIONAL_ITEMS_EXTENDED", "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
  "ITEM_ADDED_TO_CLOSED_CONTENT_MODEL", "ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
  "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL", "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
  "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", "ENUM_ARRAY_EXTENDED", "COMBINED_TYPE_EXTENDED",
  "PRODUCT_TYPE_NARROWED", "SUM_TYPE_EXTENDED", "NOT_TYPE_NARROWED",
  "UNEVALUATED_ITEMS_ADDED", "UNEVALUATED_ITEMS_EXTENDED", "MAX_CONTAINS_INCREASED", "MAX_CONTAINS_REMOVED",
  "MIN_CONTAINS_DECREASED", "MIN_CONTAINS_REMOVED", "UNEVALUATED_PROPERTIES_ADDED", "UNEVALUATED_PROPERTIES_EXTENDED",
]);

interface Difference {
  type: string;
  path: string;
}

class DiffContext {
  readonly differences: Difference[] = [];
  constructor(
    readonly path: string[],
    /** Pairs under comparison up the stack: meeting one again is a recursive cycle, taken as compatible. */
    readonly inProgress: Map<JsonNode, Set<JsonNode>>,
    /**
     * Pairs compare() just found incompatible before falling back to a singleton combination, which would compare
     * them again: once per nesting level, so {"allOf":[{"allOf":[…]}]} 50 deep took 2^50 comparisons (fuzzing).
     */
    readonly failedPairs: Map<JsonNode, Set<JsonNode>> = new Map(),
  ) {}

  subcontext(): DiffContext {
    return new DiffContext([...this.path], this.inProgress, this.failedPairs);
  }

  failed(original: JsonNode, update: JsonNode): boolean {
    return this.failedPairs.get(original)?.has(update) === true;
  }

  /** Runs body with the pairs marked as failed (the same comparisons, on the same stack, cannot succeed there). */
  knowingFailed<T>(pairs: [JsonNode, JsonNode][], body: () => T): T {
    const added = pairs.filter(([original, update]) => !this.failed(original, update));
    for (const [original, update] of added) {
      let updates = this.failedPairs.get(original);
      if (!updates) this.failedPairs.set(original, (updates = new Set()));
      updates.add(update);
    }
    try {
      return body();
    } finally {
      for (const [original, update] of added) this.failedPairs.get(original)!.delete(update);
    }
  }

  add(type: string, attribute?: string): void {
    const path = attribute === undefined ? this.path : [...this.path, attribute];
    this.differences.push({ type, path: `#/${path.join("/")}` });
  }

  addAll(differences: Difference[]): void {
    this.differences.push(...differences);
  }

  within<T>(segment: string, body: () => T): T {
    this.path.push(segment);
    try {
      return body();
    } finally {
      this.path.pop();
    }
  }

  get compatible(): boolean {
    return this.differences.every((difference) => COMPATIBLE_CHANGES.has(difference.type));
  }
}

function normalize(node: JsonNode): JsonNode {
  const seen = new Set<JsonNode>();
  while (node.kind === "ref" && !seen.has(node)) {
    seen.add(node);
    node = node.resolve();
  }
  return node;
}

function singleton(criterion: "allOf" | "anyOf" | "oneOf", node: JsonNode): JsonNode {
  return { kind: "combined", criterion, subschemas: [node], hasDefault: false, source: { [criterion]: [node.source] } };
}

function isEmptyClass(node: JsonNode): boolean {
  return node.kind === "empty" || node.kind === "true";
}

function compare(ctx: DiffContext, originalIn: JsonNode | null, updateIn: JsonNode | null): void {
  if (originalIn === null && updateIn === null) return;
  if (originalIn === null) return ctx.add("SCHEMA_ADDED");
  if (updateIn === null) return ctx.add("SCHEMA_REMOVED");
  const original = normalize(originalIn);
  const update = normalize(updateIn);
  /** Pairs found incompatible here: the singleton fallback below need not compare them again. */
  const failed: [JsonNode, JsonNode][] = [];

  if (original.kind !== "combined" && update.kind === "combined") {
    if (update.subschemas.length === 1) {
      const sub = ctx.subcontext();
      compare(sub, original, update.subschemas[0]!);
      if (sub.compatible) return ctx.addAll(sub.differences);
      failed.push([original, update.subschemas[0]!]);
    } else if (update.criterion === "anyOf" || update.criterion === "oneOf") {
      for (const subschema of update.subschemas) {
        const sub = ctx.subcontext();
        compare(sub, original, subschema);
        if (sub.compatible) {
          ctx.addAll(sub.differences);
          ctx.add("SUM_TYPE_EXTENDED");
          return;
        }
        failed.push([original, subschema]);
      }
    }
  } else if (original.kind === "combined" && update.kind !== "combined" && original.subschemas.length === 1) {
    const sub = ctx.subcontext();
    compare(sub, original.subschemas[0]!, update);
    if (sub.compatible) return ctx.addAll(sub.differences);
    failed.push([original.subschemas[0]!, update]);
  }

  if (original.kind !== update.kind) {
    if (original.kind === "false" || isEmptyClass(update)) return;
    // A combined schema against a plain one: the plain one counts as a singleton of the same criterion, so
    // {"type":"string","enum":[..]} (a synthetic allOf) → {"type":"string"} narrows a product type.
    if (original.kind === "combined") return ctx.knowingFailed(failed, () => compare(ctx, original, singleton(original.criterion, update)));
    if (update.kind === "combined") return ctx.knowingFailed(failed, () => compare(ctx, singleton(update.criterion, original), update));
    return ctx.add("TYPE_CHANGED");
  }

  let updates = ctx.inProgress.get(original);
  if (!updates) ctx.inProgress.set(original, (updates = new Set()));
  if (updates.has(update)) return;
  updates.add(update);
  try {
    if (!jsonEquals(original.id, update.id)) ctx.add("ID_CHANGED");
    if (!jsonEquals(original.title, update.title)) ctx.add("TITLE_CHANGED");
    if (!jsonEquals(original.description, update.description)) ctx.add("DESCRIPTION_CHANGED");
    if (!jsonEquals(original.defaultValue, update.defaultValue)) ctx.add("DEFAULT_CHANGED");
    switch (original.kind) {
      case "string":
        return compareString(ctx, original, update as typeof original);
      case "number":
        return compareNumber(ctx, original, update as typeof original);
      case "enum":
        return compareEnum(ctx, original.values, (update as typeof original).values);
      case "const":
        if (!jsonEquals(original.value, (update as typeof original).value)) ctx.add("ENUM_ARRAY_CHANGED", "const");
        return;
      case "combined":
        return compareCombined(ctx, original, update as typeof original);
      case "not":
        return ctx.within("not", () => {
          const sub = ctx.subcontext();
          compare(sub, (update as typeof original).mustNotMatch, original.mustNotMatch);
          ctx.add(sub.compatible ? "NOT_TYPE_NARROWED" : "NOT_TYPE_EXTENDED");
        });
      case "object":
        return compareObject(ctx, original, update as ObjectNode);
      case "array":
        return compareArray(ctx, original, update as ArrayNode);
    }
  } finally {
    updates.delete(update);
  }
}

/** Adds ADDED/REMOVED/INCREASED/DECREASED for one optional numeric keyword. */
function compareBound(ctx: DiffContext, attribute: string, prefix: string, original: number | undefined, update: number | undefined): void {
  if (original === update) return;
  if (original === undefined) ctx.add(`${prefix}_ADDED`, attribute);
  else if (update === undefined) ctx.add(`${prefix}_REMOVED`, attribute);
  else if (original < update) ctx.add(`${prefix}_INCREASED`, attribute);
  else ctx.add(`${prefix}_DECREASED`, attribute);
}

function compareString(ctx: DiffContext, original: Extract<JsonNode, { kind: "string" }>, update: typeof original): void {
  compareBound(ctx, "maxLength", "MAX_LENGTH", original.maxLength, update.maxLength);
  compareBound(ctx, "minLength", "MIN_LENGTH", original.minLength, update.minLength);
  if (original.pattern === undefined && update.pattern !== undefined) ctx.add("PATTERN_ADDED", "pattern");
  else if (original.pattern !== undefined && update.pattern === undefined) ctx.add("PATTERN_REMOVED", "pattern");
  else if (original.pattern !== update.pattern) ctx.add("PATTERN_CHANGED", "pattern");
}

function compareNumber(ctx: DiffContext, original: Extract<JsonNode, { kind: "number" }>, update: typeof original): void {
  compareBound(ctx, "maximum", "MAXIMUM", original.maximum, update.maximum);
  compareBound(ctx, "minimum", "MINIMUM", original.minimum, update.minimum);
  compareBound(ctx, "exclusiveMaximum", "EXCLUSIVE_MAXIMUM", original.exclusiveMaximum, update.exclusiveMaximum);
  compareBound(ctx, "exclusiveMinimum", "EXCLUSIVE_MINIMUM", original.exclusiveMinimum, update.exclusiveMinimum);
  const before = original.multipleOf;
  const after = update.multipleOf;
  if (before !== after) {
    if (before === undefined) ctx.add("MULTIPLE_OF_ADDED", "multipleOf");
    else if (after === undefined) ctx.add("MULTIPLE_OF_REMOVED", "multipleOf");
    else if (Math.trunc(after) % Math.trunc(before) === 0) ctx.add("MULTIPLE_OF_EXPANDED", "multipleOf");
    else if (Math.trunc(before) % Math.trunc(after) === 0) ctx.add("MULTIPLE_OF_REDUCED", "multipleOf");
    else ctx.add("MULTIPLE_OF_CHANGED", "multipleOf");
  }
  if (original.requiresInteger !== update.requiresInteger) ctx.add(original.requiresInteger ? "TYPE_EXTENDED" : "TYPE_NARROWED");
}

function compareEnum(ctx: DiffContext, original: Json[], update: Json[]): void {
  const originalKeys = new Set(original.map(stableStringify));
  const updateKeys = new Set(update.map(stableStringify));
  const containsAll = (a: Set<string>, b: Set<string>) => [...b].every((key) => a.has(key));
  if (containsAll(originalKeys, updateKeys) && containsAll(updateKeys, originalKeys)) return;
  if (containsAll(updateKeys, originalKeys)) ctx.add("ENUM_ARRAY_EXTENDED", "enum");
  else if (containsAll(originalKeys, updateKeys)) ctx.add("ENUM_ARRAY_NARROWED", "enum");
  else ctx.add("ENUM_ARRAY_CHANGED", "enum");
}

function compareCombined(ctx: DiffContext, original: Extract<JsonNode, { kind: "combined" }>, update: typeof original): void {
  let criterionChange: string | null = null;
  if (original.criterion !== update.criterion) {
    if (update.criterion === "anyOf") criterionChange = "COMBINED_TYPE_EXTENDED";
    else if (update.criterion === "oneOf") {
      criterionChange = original.criterion === "allOf" || original.subschemas.length === 1 ? "COMBINED_TYPE_EXTENDED" : "COMBINED_TYPE_CHANGED";
    }
    else criterionChange = original.subschemas.length === 1 && update.subschemas.length === 1 ? "COMBINED_TYPE_EXTENDED" : "COMBINED_TYPE_CHANGED";
    ctx.add(criterionChange);
  }
  if (criterionChange === "COMBINED_TYPE_CHANGED") return;
  const originals = dedupe(original.subschemas);
  const updates = dedupe(update.subschemas);
  if (originals.length < updates.length) ctx.add(update.criterion === "allOf" ? "PRODUCT_TYPE_EXTENDED" : "SUM_TYPE_EXTENDED");
  else if (originals.length > updates.length) ctx.add(original.criterion === "allOf" ? "PRODUCT_TYPE_NARROWED" : "SUM_TYPE_NARROWED");

  const edges: { from: number; to: number; differences: Difference[] }[] = [];
  originals.forEach((originalSubschema, index) => {
    ctx.within(`${original.criterion}/${index}`, () => {
      updates.forEach((updateSubschema, to) => {
        if (ctx.failed(originalSubschema, updateSubschema)) return;
        const sub = ctx.subcontext();
        compare(sub, originalSubschema, updateSubschema);
        if (sub.compatible) edges.push({ from: index, to, differences: sub.differences });
      });
    });
  });
  const matching = maximumMatching(originals.length, updates.length, edges);
  for (const edge of matching) ctx.addAll(edge.differences);
  if (matching.length < Math.min(originals.length, updates.length)) ctx.add("COMBINED_TYPE_SUBSCHEMAS_CHANGED");
}

/**
 * stableStringify remembered per object (parsed schemas are not changed afterwards): dedupe runs at every level of a
 * nested schema, and rebuilding each subtree's text there took cubic time (1,000 nested anyOf: 3.6 s; fuzzing).
 */
const dedupeKeys = new WeakMap<object, string>();
function dedupeKey(json: Json | undefined): string {
  if (json === undefined || json === null || typeof json !== "object") return stableStringify(json);
  let key = dedupeKeys.get(json);
  if (key === undefined) {
    key = Array.isArray(json)
      ? `[${json.map(dedupeKey).join(",")}]`
      : `{${Object.keys(json).sort().map((name) => `${JSON.stringify(name)}:${dedupeKey(json[name])}`).join(",")}}`;
    dedupeKeys.set(json, key);
  }
  return key;
}

function dedupe(nodes: JsonNode[]): JsonNode[] {
  if (nodes.length < 2) return nodes; // nothing to dedupe, and no need to serialize a deep subschema
  const seen = new Set<string>();
  return nodes.filter((node) => {
    const key = dedupeKey(node.source);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Maximum-cardinality bipartite matching (augmenting paths; subschema counts are small). */
function maximumMatching<T extends { from: number; to: number }>(left: number, right: number, edges: T[]): T[] {
  const matchOfRight: (T | null)[] = new Array(right).fill(null);
  const tryAugment = (from: number, visited: boolean[]): boolean => {
    for (const edge of edges) {
      if (edge.from !== from || visited[edge.to]) continue;
      visited[edge.to] = true;
      const current = matchOfRight[edge.to];
      if (current === null || current === undefined || tryAugment(current.from, visited)) {
        matchOfRight[edge.to] = edge;
        return true;
      }
    }
    return false;
  };
  for (let from = 0; from < left; from++) tryAugment(from, new Array(right).fill(false));
  return matchOfRight.filter((edge): edge is T => edge !== null);
}

/** Open: nothing limits extra properties (no additionalProperties, no patternProperties, unevaluatedProperties absent or true). */
function isOpenObject(node: ObjectNode): boolean {
  if (node.patternProperties.length > 0 || node.additionalProperties !== null || !node.permitsAdditionalProperties) return false;
  return node.unevaluatedProperties === null || isEmptyClass(node.unevaluatedProperties);
}

/** The schema an extra property must match in a partially open model, or null when closed. */
function schemaFromPartiallyOpenObject(node: ObjectNode, property: string): JsonNode | null {
  for (const [pattern, schema] of node.patternProperties) if (pattern.test(property)) return schema;
  if (node.additionalProperties !== null) return node.additionalProperties;
  const unevaluated = node.unevaluatedProperties;
  if (node.permitsAdditionalProperties && unevaluated !== null && unevaluated.kind !== "false" && !isEmptyClass(unevaluated)) return unevaluated;
  return null;
}

function compareObject(ctx: DiffContext, original: ObjectNode, update: ObjectNode): void {
  ctx.within("required", () => {
    for (const property of original.properties.keys()) {
      if (!update.properties.has(property)) continue;
      ctx.within(property, () => {
        const originalRequired = original.required.includes(property);
        const updateRequired = update.required.includes(property);
        if (originalRequired && !updateRequired) ctx.add("REQUIRED_ATTRIBUTE_REMOVED");
        else if (!originalRequired && updateRequired) {
          ctx.add(update.properties.get(property)!.hasDefault ? "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED" : "REQUIRED_ATTRIBUTE_ADDED");
        }
      });
    }
  });
  ctx.within("properties", () => {
    for (const property of new Set([...original.properties.keys(), ...update.properties.keys()])) {
      ctx.within(property, () => compareProperty(ctx, original, update, property));
    }
  });
  ctx.within("dependencies", () => {
    for (const property of new Set([...original.propertyDependencies.keys(), ...update.propertyDependencies.keys()])) {
      ctx.within(property, () => {
        const before = original.propertyDependencies.get(property);
        const after = update.propertyDependencies.get(property);
        if (after === undefined) return ctx.add("DEPENDENCY_ARRAY_REMOVED");
        if (before === undefined) return ctx.add("DEPENDENCY_ARRAY_ADDED");
        const afterHasAll = [...before].every((name) => after.has(name));
        const beforeHasAll = [...after].every((name) => before.has(name));
        if (afterHasAll && beforeHasAll) return;
        if (afterHasAll) ctx.add("DEPENDENCY_ARRAY_EXTENDED");
        else if (beforeHasAll) ctx.add("DEPENDENCY_ARRAY_NARROWED");
        else ctx.add("DEPENDENCY_ARRAY_CHANGED");
      });
    }
    for (const property of new Set([...original.schemaDependencies.keys(), ...update.schemaDependencies.keys()])) {
      ctx.within(property, () => {
        const before = original.schemaDependencies.get(property);
        const after = update.schemaDependencies.get(property);
        if (after === undefined) return ctx.add("DEPENDENCY_SCHEMA_REMOVED");
        if (before === undefined) return ctx.add("DEPENDENCY_SCHEMA_ADDED");
        compare(ctx, before, after);
      });
    }
  });
  ctx.within("additionalProperties", () => {
    if (original.permitsAdditionalProperties !== update.permitsAdditionalProperties) {
      ctx.add(update.permitsAdditionalProperties ? "ADDITIONAL_PROPERTIES_ADDED" : "ADDITIONAL_PROPERTIES_REMOVED");
    } else if (original.additionalProperties === null && update.additionalProperties !== null) ctx.add("ADDITIONAL_PROPERTIES_NARROWED");
    else if (update.additionalProperties === null && original.additionalProperties !== null) ctx.add("ADDITIONAL_PROPERTIES_EXTENDED");
    else compare(ctx, original.additionalProperties, update.additionalProperties);
  });
  compareUnevaluated(ctx, "unevaluatedProperties", "UNEVALUATED_PROPERTIES", original.unevaluatedProperties, update.unevaluatedProperties);
  compareBound(ctx, "maxProperties", "MAX_PROPERTIES", original.maxProperties, update.maxProperties);
  compareBound(ctx, "minProperties", "MIN_PROPERTIES", original.minProperties, update.minProperties);
}

function compareProperty(ctx: DiffContext, original: ObjectNode, update: ObjectNode, property: string): void {
  const before = original.properties.get(property);
  const after = update.properties.get(property);
  if (after === undefined) {
    if (isOpenObject(update)) return ctx.add("PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL");
    const partial = schemaFromPartiallyOpenObject(update, property);
    if (partial !== null) {
      const sub = ctx.subcontext();
      compare(sub, before!, partial);
      ctx.addAll(sub.differences);
      return ctx.add(sub.compatible ? "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" : "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL");
    }
    return ctx.add(normalize(before!).kind === "false" ? "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL" : "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL");
  }
  if (before === undefined) {
    if (isOpenObject(original)) {
      return ctx.add(isEmptyClass(normalize(after)) ? "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL" : "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL");
    }
    const partial = schemaFromPartiallyOpenObject(original, property);
    if (partial !== null) {
      const sub = ctx.subcontext();
      compare(sub, partial, after);
      ctx.addAll(sub.differences);
      ctx.add(sub.compatible ? "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" : "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL");
    }
    if (update.required.includes(property)) {
      ctx.add(after.hasDefault ? "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL" : "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL");
    } else ctx.add("OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL");
    return;
  }
  compare(ctx, before, after);
}

function isOpenArray(node: ArrayNode): boolean {
  if (!node.permitsAdditionalItems || node.additionalItems !== null) return false;
  return node.unevaluatedItems === null || isEmptyClass(node.unevaluatedItems);
}

function schemaFromPartiallyOpenArray(node: ArrayNode): JsonNode | null {
  if (node.additionalItems !== null) return node.additionalItems;
  if (node.permitsAdditionalItems && node.unevaluatedItems !== null) {
    const kind = node.unevaluatedItems.kind;
    if (kind !== "false" && kind !== "empty" && kind !== "true") return node.unevaluatedItems;
  }
  return null;
}

function compareArray(ctx: DiffContext, original: ArrayNode, update: ArrayNode): void {
  ctx.within("items", () => compare(ctx, original.allItemSchema, update.allItemSchema));
  const originalItems = original.itemSchemas ?? [];
  const updateItems = update.itemSchemas ?? [];
  const common = Math.min(originalItems.length, updateItems.length);
  for (let index = 0; index < common; index++) ctx.within(`items/${index}`, () => compare(ctx, originalItems[index]!, updateItems[index]!));
  for (let index = common; index < originalItems.length; index++) {
    ctx.within(`items/${index}`, () => {
      if (isOpenArray(update)) return ctx.add("ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL");
      const partial = schemaFromPartiallyOpenArray(update);
      if (partial !== null) {
        const sub = ctx.subcontext();
        compare(sub, originalItems[index]!, partial);
        ctx.addAll(sub.differences);
        return ctx.add(sub.compatible ? "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" : "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL");
      }
      ctx.add(normalize(originalItems[index]!).kind === "false" ? "ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL" : "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL");
    });
  }
  for (let index = common; index < updateItems.length; index++) {
    ctx.within(`items/${index}`, () => {
      if (isOpenArray(original)) {
        return ctx.add(isEmptyClass(normalize(updateItems[index]!)) ? "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL" : "ITEM_ADDED_TO_OPEN_CONTENT_MODEL");
      }
      const partial = schemaFromPartiallyOpenArray(original);
      if (partial !== null) {
        const sub = ctx.subcontext();
        compare(sub, partial, updateItems[index]!);
        ctx.addAll(sub.differences);
        return ctx.add(sub.compatible ? "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" : "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL");
      }
      ctx.add("ITEM_ADDED_TO_CLOSED_CONTENT_MODEL");
    });
  }
  ctx.within("additionalItems", () => {
    if (original.permitsAdditionalItems !== update.permitsAdditionalItems) {
      ctx.add(original.permitsAdditionalItems ? "ADDITIONAL_ITEMS_REMOVED" : "ADDITIONAL_ITEMS_ADDED");
    } else if (original.additionalItems === null && update.additionalItems !== null) ctx.add("ADDITIONAL_ITEMS_NARROWED");
    else if (update.additionalItems === null && original.additionalItems !== null) ctx.add("ADDITIONAL_ITEMS_EXTENDED");
    else compare(ctx, original.additionalItems, update.additionalItems);
  });
  compareUnevaluated(ctx, "unevaluatedItems", "UNEVALUATED_ITEMS", original.unevaluatedItems, update.unevaluatedItems);
  compareBound(ctx, "maxItems", "MAX_ITEMS", original.maxItems, update.maxItems);
  compareBound(ctx, "minItems", "MIN_ITEMS", original.minItems, update.minItems);
  if (original.uniqueItems !== update.uniqueItems) ctx.add(original.uniqueItems ? "UNIQUE_ITEMS_REMOVED" : "UNIQUE_ITEMS_ADDED", "uniqueItems");
  compareBound(ctx, "maxContains", "MAX_CONTAINS", original.maxContains, update.maxContains);
  compareBound(ctx, "minContains", "MIN_CONTAINS", original.minContains, update.minContains);
}

function compareUnevaluated(ctx: DiffContext, keyword: string, prefix: string, original: JsonNode | null, update: JsonNode | null): void {
  if (original === null && update === null) return;
  ctx.within(keyword, () => {
    const isFalse = (node: JsonNode) => node.kind === "false";
    if (original === null) return ctx.add(isFalse(update!) ? `${prefix}_REMOVED` : `${prefix}_NARROWED`);
    if (update === null) return ctx.add(isFalse(original) ? `${prefix}_ADDED` : `${prefix}_EXTENDED`);
    if (isFalse(original) && !isFalse(update)) return ctx.add(`${prefix}_ADDED`);
    if (!isFalse(original) && isFalse(update)) return ctx.add(`${prefix}_REMOVED`);
    if (isEmptyClass(original) && !isEmptyClass(update)) return ctx.add(`${prefix}_NARROWED`);
    if (!isEmptyClass(original) && isEmptyClass(update)) return ctx.add(`${prefix}_EXTENDED`);
    compare(ctx, original, update);
  });
}

export class JsonSchemaDocument implements ParsedSchema {
  readonly schemaType = "JSON" as const;
  readonly canonical: string;

  constructor(
    readonly root: JsonNode,
    readonly json: Json,
    readonly text: string,
  ) {
    this.canonical = JSON.stringify(json);
  }

  /** Confluent's JsonSchema.normalize(): the JSON with every object's keys sorted. */
  normalized(): string {
    return stableStringify(this.json);
  }

  formatted(): string {
    return this.text;
  }

  /** Confluent's JsonSchema.name(): the title; null without one. */
  recordName(): string | null {
    return isObject(this.json) && typeof this.json.title === "string" ? this.json.title : null;
  }

  backwardIncompatibilities(previous: ParsedSchema): Incompatibility[] {
    if (!(previous instanceof JsonSchemaDocument)) return ["Schema type changed"];
    const ctx = new DiffContext([], new Map());
    compare(ctx, previous.root, this.root);
    return ctx.differences
      .filter((difference) => !COMPATIBLE_CHANGES.has(difference.type))
      .map((difference) => `{errorType:"${difference.type}", description:"${describe(difference.type)} at path '${difference.path}'"}`);
  }
}

function describe(type: string): string {
  return type.toLowerCase().replaceAll("_", " ").replace(/^./, (first) => first.toUpperCase());
}

export function parseJsonSchema(text: string, references: ResolvedReference[] = []): JsonSchemaDocument {
  const json = parseJson(text);
  if (typeof json !== "boolean" && !isObject(json)) throw new InvalidSchemaError("Invalid schema: a JSON schema is an object or a boolean");
  const loader = new JsonSchemaLoader(json, references);
  const root = loader.load(json);
  // Resolve every $ref now, so a dangling one is an invalid schema rather than a failure during a check.
  resolveAll(root, new Set());
  return new JsonSchemaDocument(root, json, text);
}

function resolveAll(node: JsonNode, seen: Set<JsonNode>): void {
  if (seen.has(node)) return;
  seen.add(node);
  const visit = (child: JsonNode | null | undefined): void => {
    if (child) resolveAll(child, seen);
  };
  switch (node.kind) {
    case "ref":
      return visit(node.resolve());
    case "not":
      return visit(node.mustNotMatch);
    case "combined":
      return node.subschemas.forEach(visit);
    case "object":
      node.properties.forEach(visit);
      node.patternProperties.forEach(([, schema]) => visit(schema));
      node.schemaDependencies.forEach(visit);
      visit(node.unevaluatedProperties);
      return visit(node.additionalProperties);
    case "array":
      visit(node.allItemSchema);
      node.itemSchemas?.forEach(visit);
      visit(node.additionalItems);
      return visit(node.unevaluatedItems);
  }
}
