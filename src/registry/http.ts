// The schema registry's REST API on Bun.serve: Confluent Schema Registry's paths, JSON shapes, content type
// (application/vnd.schemaregistry.v1+json) and error bodies {"error_code": N, "message": "..."}, as its serializers and
// @kafkajs/confluent-schema-registry use them. `normalize=true` on register, lookup and compatibility (and the config's
// `normalize`) works on Confluent's normalized form; `format=serialized` (Protobuf: base64 FileDescriptorProto) and
// `format=resolved` (Avro: references inlined) on the schema GETs. Not emulated: contexts (":.ctx:" subjects),
// metadata and rule sets, exporters, /contexts, /clusterid.
// kgate's own addition: GET /topics/{topic}/records?partition=P&offset=O&limit=N, the records decoded to JSON
// (record-view.ts).

import type { Server } from "bun";
import { isCompatibilityLevel, SCHEMA_TYPES, type SchemaReference, type SchemaType } from "./compatibility/index.ts";
import type { TopicStore } from "../metadata/topic-store.ts";
import { PayloadDecoders } from "./record-validation.ts";
import { readRecordView, RECORD_VIEW_LIMIT_MAX } from "./record-view.ts";
import { errors, MODES, RegistryError, type Mode, type SchemaStore, type StoredSchema, type SubjectVersion } from "./store.ts";
import { limits } from "../config.ts";
import type { HttpRole } from "../security/security-config.ts";

export const REGISTRY_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
const ACCEPTED_BODY_TYPES = ["application/vnd.schemaregistry.v1+json", "application/vnd.schemaregistry+json", "application/json", "application/octet-stream"];

type Json = unknown;

function respond(body: Json, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": REGISTRY_CONTENT_TYPE } });
}

function errorResponse(error: RegistryError): Response {
  return respond({ error_code: error.errorCode, message: error.message }, error.httpStatus);
}

/** Parses a version path segment: "latest" or -1 → -1, else an integer in [1, 2^31-1] (42202 otherwise). */
function parseVersion(text: string): number {
  if (text === "latest" || text === "-1") return -1;
  const version = Number(text);
  if (!/^\d+$/.test(text) || !Number.isInteger(version) || version < 1 || version > 2 ** 31 - 1) throw errors.invalidVersion(text);
  return version;
}

function booleanParam(url: URL, name: string): boolean {
  return url.searchParams.get(name)?.toLowerCase() === "true";
}

/** The schema text in the `format` asked for (none or unknown: as stored, as Confluent answers unknown formats). */
function schemaText(store: SchemaStore, stored: StoredSchema, format: string | null): string {
  if (format === null || format === "") return stored.schema;
  try {
    return store.parsed(stored).formatted(format);
  } catch (error) {
    throw errors.storeError(`Cannot write schema ${stored.id} in format ${format}: ${(error as Error).message}`);
  }
}

function schemaBody(store: SchemaStore, stored: StoredSchema, format: string | null = null): Record<string, Json> {
  const body: Record<string, Json> = {};
  if (stored.schemaType !== "AVRO") body.schemaType = stored.schemaType;
  if (stored.references.length > 0) body.references = stored.references;
  body.schema = schemaText(store, stored, format);
  return body;
}

function versionBody(store: SchemaStore, version: SubjectVersion, format: string | null = null): Record<string, Json> {
  const stored = store.schemaById(version.id)!;
  return { subject: version.subject, version: version.version, id: version.id, ...schemaBody(store, stored, format) };
}

interface RegisterRequest {
  schema: string;
  schemaType: SchemaType;
  references: SchemaReference[];
  id?: number;
  version?: number;
}

async function readJson(request: Request): Promise<Json> {
  const contentType = (request.headers.get("content-type") ?? "application/json").split(";")[0]!.trim().toLowerCase();
  if (!ACCEPTED_BODY_TYPES.includes(contentType)) throw new RegistryError(415, 415, "HTTP 415 Unsupported Media Type");
  const length = Number(request.headers.get("content-length") ?? "0");
  if (length > limits.registryRequestBodyBytesMax) throw new RegistryError(413, 413, "Request entity too large");
  const text = await request.text();
  if (text.length > limits.registryRequestBodyBytesMax) throw new RegistryError(413, 413, "Request entity too large");
  try {
    return text === "" ? {} : JSON.parse(text);
  } catch {
    throw new RegistryError(400, 400, "Unexpected character: the request body is not JSON");
  }
}

function registerRequest(body: Json): RegisterRequest {
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw errors.invalidSchema("Empty schema");
  const fields = body as Record<string, Json>;
  if (typeof fields.schema !== "string" || fields.schema.trim() === "") throw errors.invalidSchema("Empty schema");
  const schemaType = fields.schemaType === undefined || fields.schemaType === null ? "AVRO" : String(fields.schemaType).toUpperCase();
  if (!(SCHEMA_TYPES as readonly string[]).includes(schemaType)) throw errors.invalidSchema(`Invalid schema type ${String(fields.schemaType)}`);
  const references: SchemaReference[] = [];
  if (fields.references !== undefined && fields.references !== null) {
    if (!Array.isArray(fields.references)) throw errors.invalidSchema("references must be an array");
    for (const reference of fields.references as Record<string, Json>[]) {
      if (typeof reference?.name !== "string" || typeof reference.subject !== "string" || typeof reference.version !== "number") {
        throw errors.invalidSchema("a reference needs a name, a subject and a version");
      }
      references.push({ name: reference.name, subject: reference.subject, version: reference.version });
    }
  }
  const request: RegisterRequest = { schema: fields.schema, schemaType: schemaType as SchemaType, references };
  if (typeof fields.id === "number" && fields.id >= 0) request.id = fields.id;
  if (typeof fields.version === "number" && fields.version >= 1) request.version = fields.version;
  return request;
}

/** What the routes reach: the store, and the broker's topics with decoders for the record view. */
export interface RegistryContext {
  store: SchemaStore;
  topics: TopicStore | null;
  decoders: PayloadDecoders;
}

/** Routes one request; every RegistryError becomes Confluent's error body. */
export async function handleRegistryRequest(context: RegistryContext, request: Request): Promise<Response> {
  try {
    return await route(context, request);
  } catch (error) {
    if (error instanceof RegistryError) return errorResponse(error);
    return errorResponse(errors.storeError(`Error in the backend data store: ${(error as Error).message}`));
  }
}

const notFound = () => new RegistryError(404, 404, "HTTP 404 Not Found");
const methodNotAllowed = () => new RegistryError(405, 405, "HTTP 405 Method Not Allowed");

async function route(context: RegistryContext, request: Request): Promise<Response> {
  const { store } = context;
  const url = new URL(request.url);
  let segments: string[];
  try {
    segments = url.pathname.split("/").filter((segment) => segment !== "").map((segment) => decodeURIComponent(segment));
  } catch {
    throw notFound(); // a malformed %-escape names no resource
  }
  const method = request.method;
  const [first, second, third, fourth, fifth, sixth] = segments;

  if (segments.length === 0) return respond({});
  switch (first) {
    case "schemas":
      return schemasRoute(store, url, method, segments.slice(1));
    case "subjects":
      if (second === undefined) {
        if (method !== "GET") throw methodNotAllowed();
        const prefix = url.searchParams.get("subjectPrefix") ?? "";
        return respond(store.subjectNames(booleanParam(url, "deleted")).filter((subject) => subject.startsWith(prefix)));
      }
      return subjectRoute(store, request, url, second, segments.slice(2));
    case "compatibility":
      if (second !== "subjects" || third === undefined || fourth !== "versions" || sixth !== undefined) throw notFound();
      if (method !== "POST") throw methodNotAllowed();
      return compatibilityRoute(store, request, url, third, fifth);
    case "config":
      if (third !== undefined) throw notFound();
      return configRoute(store, request, url, second ?? null);
    case "mode":
      if (third !== undefined) throw notFound();
      return modeRoute(store, request, url, second ?? null);
    case "topics": {
      if (second === undefined || third !== "records" || fourth !== undefined || context.topics === null) throw notFound();
      if (method !== "GET") throw methodNotAllowed();
      const integer = (name: string, fallback: number) => {
        const value = Number(url.searchParams.get(name) ?? fallback);
        if (!Number.isSafeInteger(value) || value < 0) throw new RegistryError(422, 42200, `${name} must be a non-negative integer`);
        return value;
      };
      const limit = Math.min(integer("limit", 100), RECORD_VIEW_LIMIT_MAX);
      return respond(readRecordView(context.topics, context.decoders, second, integer("partition", 0), integer("offset", 0), limit));
    }
    case "v1":
      if (second === "metadata" && third === "id" && method === "GET") return respond({ scope: { path: [], clusters: { "kafka-cluster": "kgate", "schema-registry-cluster": "schema-registry" } } });
      throw notFound();
    default:
      throw notFound();
  }
}

function schemasRoute(store: SchemaStore, url: URL, method: string, rest: string[]): Response {
  if (method !== "GET") throw methodNotAllowed();
  if (rest.length === 0) {
    const prefix = url.searchParams.get("subjectPrefix") ?? "";
    const includeDeleted = booleanParam(url, "deleted");
    const latestOnly = booleanParam(url, "latestOnly");
    const result: Json[] = [];
    for (const subject of store.subjectNames(includeDeleted)) {
      if (!subject.startsWith(prefix)) continue;
      const versions = store.versions(subject, includeDeleted);
      for (const version of latestOnly ? versions.slice(-1) : versions) result.push(versionBody(store, version, url.searchParams.get("format")));
    }
    return respond(result);
  }
  if (rest[0] === "types" && rest.length === 1) return respond(["JSON", "PROTOBUF", "AVRO"]);
  if (rest[0] !== "ids" || rest[1] === undefined || rest.length > 3) throw notFound();
  const id = Number(rest[1]);
  const stored = Number.isInteger(id) ? store.schemaById(id) : undefined;
  if (!stored) throw errors.schemaNotFound(`Schema ${rest[1]} not found`);
  const format = url.searchParams.get("format");
  switch (rest[2]) {
    case undefined:
      return respond(schemaBody(store, stored, format));
    case "schema":
      return new Response(schemaText(store, stored, format), { headers: { "content-type": REGISTRY_CONTENT_TYPE } });
    case "versions":
      return respond(store.versionsOfId(id, booleanParam(url, "deleted")).map(({ subject, version }) => ({ subject, version })));
    case "subjects":
      return respond([...new Set(store.versionsOfId(id, booleanParam(url, "deleted")).map(({ subject }) => subject))].sort());
    default:
      throw notFound();
  }
}

async function subjectRoute(store: SchemaStore, request: Request, url: URL, subject: string, rest: string[]): Promise<Response> {
  const method = request.method;
  if (rest.length === 0) {
    if (method === "POST") {
      const candidate = registerRequest(await readJson(request));
      const includeDeleted = booleanParam(url, "deleted");
      if (store.versions(subject, includeDeleted).length === 0) throw errors.subjectNotFound(subject);
      const normalize = booleanParam(url, "normalize") || store.effectiveNormalize(subject);
      const { parsed, references } = store.prepareCandidate(candidate.schemaType, candidate.schema, candidate.references, normalize);
      const found = store.lookup(subject, parsed, references, includeDeleted, normalize);
      if (!found) throw errors.schemaNotFound();
      return respond(versionBody(store, found));
    }
    if (method === "DELETE") {
      const permanent = booleanParam(url, "permanent");
      return respond(permanent ? await store.hardDeleteSubject(subject) : await store.softDeleteSubject(subject));
    }
    throw methodNotAllowed();
  }
  if (rest[0] !== "versions" || rest.length > 3) throw notFound();
  if (rest.length === 1) {
    if (method === "GET") {
      const versions = store.versions(subject, booleanParam(url, "deleted"));
      if (versions.length === 0) throw errors.subjectNotFound(subject);
      return respond(versions.map((version) => version.version));
    }
    if (method === "POST") {
      const candidate = registerRequest(await readJson(request));
      const registered = await store.register(subject, candidate.schemaType, candidate.schema, candidate.references, { ...candidate, normalize: booleanParam(url, "normalize") });
      return respond({ id: registered.id });
    }
    throw methodNotAllowed();
  }
  const version = parseVersion(rest[1]!);
  if (method === "DELETE" && rest.length === 2) return respond(await store.deleteVersion(subject, version, booleanParam(url, "permanent")));
  if (method !== "GET") throw methodNotAllowed();
  if (store.versions(subject, true).length === 0) throw errors.subjectNotFound(subject);
  const found = store.findVersion(subject, version, booleanParam(url, "deleted"));
  if (!found) throw errors.versionNotFound(rest[1]);
  const format = url.searchParams.get("format");
  switch (rest[2]) {
    case undefined:
      return respond(versionBody(store, found, format));
    case "schema":
      return new Response(schemaText(store, store.schemaById(found.id)!, format), { headers: { "content-type": REGISTRY_CONTENT_TYPE } });
    case "referencedby":
      return respond(store.referencedBy(subject, found.version).map((user) => user.id));
    default:
      throw notFound();
  }
}

async function compatibilityRoute(store: SchemaStore, request: Request, url: URL, subject: string, versionText: string | undefined): Promise<Response> {
  const candidate = registerRequest(await readJson(request));
  const normalize = booleanParam(url, "normalize") || store.effectiveNormalize(subject);
  const { parsed } = store.prepareCandidate(candidate.schemaType, candidate.schema, candidate.references, normalize);
  const live = store.versions(subject, false);
  let against: SubjectVersion[];
  if (versionText === undefined) against = live;
  else {
    const version = parseVersion(versionText);
    if (live.length === 0) throw errors.subjectNotFound(subject);
    const found = store.findVersion(subject, version);
    if (!found) throw errors.versionNotFound(versionText);
    against = version === -1 ? live : [found];
  }
  const problems = store.incompatibilities(subject, parsed, against);
  const body: Record<string, Json> = { is_compatible: problems.length === 0 };
  if (booleanParam(url, "verbose")) body.messages = problems;
  return respond(body);
}

async function configRoute(store: SchemaStore, request: Request, url: URL, subject: string | null): Promise<Response> {
  switch (request.method) {
    case "GET": {
      if (subject === null) {
        const normalize = store.globalNormalizeValue;
        return respond({ compatibilityLevel: store.globalCompatibilityLevel, ...(normalize !== undefined ? { normalize } : {}) });
      }
      const toGlobal = booleanParam(url, "defaultToGlobal");
      const ownLevel = store.subjectCompatibility(subject);
      const ownNormalize = store.subjectNormalize(subject);
      if (ownLevel === undefined && ownNormalize === undefined && !toGlobal) throw errors.subjectLevelCompatibilityNotConfigured(subject);
      const level = ownLevel ?? store.globalCompatibilityLevel;
      const normalize = ownNormalize ?? (toGlobal ? store.globalNormalizeValue : undefined);
      return respond({ compatibilityLevel: level, ...(normalize !== undefined ? { normalize } : {}) });
    }
    case "PUT": {
      const body = (await readJson(request)) as Record<string, Json> | null;
      const given = body?.compatibility ?? body?.compatibilityLevel;
      const level = typeof given === "string" ? given.toUpperCase() : given;
      const normalize = body?.normalize;
      if (level === undefined && typeof normalize !== "boolean") throw errors.invalidCompatibilityLevel();
      if (level !== undefined && !isCompatibilityLevel(level)) throw errors.invalidCompatibilityLevel();
      if (normalize !== undefined && typeof normalize !== "boolean") throw errors.invalidCompatibilityLevel();
      await store.setConfig(subject, { ...(level !== undefined ? { compatibilityLevel: level } : {}), ...(normalize !== undefined ? { normalize } : {}) });
      return respond({ ...(level !== undefined ? { compatibility: level } : {}), ...(normalize !== undefined ? { normalize } : {}) });
    }
    case "DELETE":
      return respond({ compatibilityLevel: await store.deleteCompatibility(subject) });
    default:
      throw methodNotAllowed();
  }
}

async function modeRoute(store: SchemaStore, request: Request, url: URL, subject: string | null): Promise<Response> {
  switch (request.method) {
    case "GET": {
      if (subject === null) return respond({ mode: store.globalModeValue });
      const mode = store.subjectMode(subject) ?? (booleanParam(url, "defaultToGlobal") ? store.globalModeValue : undefined);
      if (mode === undefined) throw errors.subjectLevelModeNotConfigured(subject);
      return respond({ mode });
    }
    case "PUT": {
      const body = (await readJson(request)) as Record<string, Json> | null;
      const mode = typeof body?.mode === "string" ? body.mode.toUpperCase() : body?.mode;
      if (!(MODES as readonly unknown[]).includes(mode)) throw errors.invalidMode();
      await store.setMode(subject, mode as Mode, booleanParam(url, "force"));
      return respond({ mode });
    }
    case "DELETE":
      return respond({ mode: await store.deleteMode(subject) });
    default:
      throw methodNotAllowed();
  }
}

export interface RegistryServer {
  readonly host: string;
  readonly port: number;
  stop(): void;
}

/** Who made an HTTP request, once HTTP Basic checked it (src/security/http-auth.ts); absent without --http-auth. */
export interface HttpCaller {
  user: string;
  role: HttpRole;
}

/**
 * Serves /metrics, /health, the web console, auth…; null passes the request on to the registry. `clientAddress`:
 * "IP:PORT" of the caller; `caller`: the authenticated user and role.
 */
export type OperationsRoute = (request: Request, clientAddress?: string, caller?: HttpCaller) => Response | Promise<Response> | null;

/** Serves the REST API for the store on host:port (port 0: an ephemeral one). */
export function startRegistryServer(
  store: SchemaStore,
  topics: TopicStore | null,
  host: string,
  port: number,
  decoders = new PayloadDecoders(store),
  operationsRoute: OperationsRoute = () => null,
  tls?: import("bun").TLSOptions,
): RegistryServer {
  const context: RegistryContext = { store, topics, decoders };
  const server: Server<undefined> = Bun.serve({
    hostname: host,
    port,
    maxRequestBodySize: limits.registryRequestBodyBytesMax,
    tls,
    fetch: (request, server) => {
      const peer = server.requestIP(request);
      return operationsRoute(request, peer ? `${peer.address}:${peer.port}` : undefined) ?? handleRegistryRequest(context, request);
    },
    error: (error) => errorResponse(errors.storeError(error.message)),
  });
  return {
    host: server.hostname ?? host,
    port: server.port ?? port,
    stop: () => void server.stop(true),
  };
}
