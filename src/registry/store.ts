// The schema registry's state: subjects and their versions, schemas under global ids, compatibility configs and
// modes. Every change is written first as a record of the internal topic `_schemas` (through the broker's TopicStore,
// so it lands in whatever log the broker keeps: the file log makes it durable) and then applied; on start the state
// is rebuilt by replaying the topic, as Confluent's KafkaStore does. Record shapes follow Confluent's:
//   key {"keytype":"SCHEMA","subject":s,"version":v,"magic":1}  value {"subject","version","id","schemaType","references","schema","deleted"}
//   key {"keytype":"CONFIG","subject":s|null,"magic":0}           value {"compatibilityLevel":L,"normalize":b} (null: removed)
//   key {"keytype":"MODE","subject":s|null,"magic":0}             value {"mode":M}                 (null value: removed)
//   key {"keytype":"NOOP","magic":0}                              value {"maxId":N}  (kgate: ids are never reused)
// `_schemas` is a compacted topic (cleanup.policy=compact, small segments): the broker's log cleaner keeps the latest
// record of each key, so the replay reads about the live state. A hard delete writes a null value (tombstone) for the
// version's key, and with it the NOOP record of the largest id handed out: once the cleaner has removed the tombstones,
// that record still keeps the ids of deleted schemas from being reused. Ids are global: the same schema (type,
// canonical text, references) gets the same id in every subject; new ids are the largest known plus one.
// Normalize (the `normalize` request flag, or the subject's or global config): the schema is stored in Confluent's
// normalized form and a subject's versions are matched by their normalized forms, so schemas differing only in what
// normalization drops (whitespace, key order, namespaces folded into names, Protobuf declaration order of fields and
// options) get one id and one version.

import { internalTopicConfigs } from "../metadata/topic-configs.ts";
import type { PartitionLog } from "../log/partition-log.ts";
import type { TopicStore } from "../metadata/topic-store.ts";
import { replayKeyedRecords } from "../log/replay.ts";
import { buildRecordBatch } from "../protocol/records/record-batch.ts";
import { log } from "../util/logger.ts";
import {
  checkCompatibility,
  parseSchema,
  type CompatibilityLevel,
  type Incompatibility,
  type ParsedSchema,
  type ResolvedReference,
  type SchemaReference,
  type SchemaType,
} from "./compatibility/index.ts";

export const SCHEMAS_TOPIC = "_schemas";

export const MODES = ["READWRITE", "READONLY", "READONLY_OVERRIDE", "IMPORT"] as const;
export type Mode = (typeof MODES)[number];

export interface StoredSchema {
  id: number;
  schemaType: SchemaType;
  schema: string;
  references: SchemaReference[];
}

export interface SubjectVersion {
  subject: string;
  version: number;
  id: number;
  deleted: boolean;
}

/** A failure the REST layer turns into Confluent's error body (HTTP status, error_code, message). */
export class RegistryError extends Error {
  override name = "RegistryError";
  constructor(
    readonly httpStatus: number,
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

export const errors = {
  subjectNotFound: (subject: string) => new RegistryError(404, 40401, `Subject '${subject}' not found.`),
  versionNotFound: (version: unknown) => new RegistryError(404, 40402, `Version ${version} not found.`),
  schemaNotFound: (message = "Schema not found") => new RegistryError(404, 40403, message),
  subjectSoftDeleted: (subject: string) => new RegistryError(404, 40404, `Subject '${subject}' was soft deleted.Set permanent=true to delete permanently`),
  subjectNotSoftDeleted: (subject: string) => new RegistryError(404, 40405, `Subject '${subject}' was not deleted first before being permanently deleted`),
  versionSoftDeleted: (subject: string, version: number) => new RegistryError(404, 40406, `Subject '${subject}' Version ${version} was soft deleted.Set permanent=true to delete permanently`),
  versionNotSoftDeleted: (subject: string, version: number) => new RegistryError(404, 40407, `Subject '${subject}' Version ${version} was not deleted first before being permanently deleted`),
  subjectLevelCompatibilityNotConfigured: (subject: string) => new RegistryError(404, 40408, `Subject '${subject}' does not have subject-level compatibility configured`),
  subjectLevelModeNotConfigured: (subject: string) => new RegistryError(404, 40409, `Subject '${subject}' does not have subject-level mode configured`),
  incompatible: (message: string) => new RegistryError(409, 409, message),
  invalidSchema: (message: string) => new RegistryError(422, 42201, message),
  invalidVersion: (version: unknown) => new RegistryError(422, 42202, `The specified version '${version}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`),
  invalidCompatibilityLevel: () => new RegistryError(422, 42203, "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive"),
  invalidMode: () => new RegistryError(422, 42204, "Invalid mode. Valid values are READWRITE, READONLY, READONLY_OVERRIDE and IMPORT."),
  operationNotPermitted: (message: string) => new RegistryError(422, 42205, message),
  referenceExists: (message: string) => new RegistryError(422, 42206, message),
  storeError: (message: string) => new RegistryError(500, 50001, message),
};

interface SchemaKey {
  keytype: "SCHEMA" | "CONFIG" | "MODE" | "NOOP" | "DELETE_SUBJECT" | "CLEAR_SUBJECT";
  subject?: string | null;
  version?: number;
  magic?: number;
}

interface SchemaValue {
  subject: string;
  version: number;
  id: number;
  schemaType?: SchemaType;
  references?: SchemaReference[];
  schema: string;
  deleted?: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class SchemaStore {
  private readonly schemasById = new Map<number, StoredSchema>();
  /** schemaKey() → id. */
  private readonly idsBySchemaKey = new Map<string, number>();
  private readonly parsedById = new Map<number, ParsedSchema>();
  /** subject → versions in ascending order (soft-deleted ones included, hard-deleted ones gone). */
  private readonly subjects = new Map<string, SubjectVersion[]>();
  private readonly compatibilityBySubject = new Map<string, CompatibilityLevel>();
  private readonly normalizeBySubject = new Map<string, boolean>();
  private readonly modeBySubject = new Map<string, Mode>();
  /** id → live (not soft-deleted) subject-versions using it: what produce validation asks per record. */
  private readonly liveVersionCounts = new Map<number, number>();
  /** subjectIdKey(subject, id) → live versions of the subject using the id (the subject name strategy check). */
  private readonly liveSubjectIdCounts = new Map<string, number>();
  private globalCompatibility: CompatibilityLevel | null = null;
  private globalNormalize: boolean | null = null;
  private globalMode: Mode | null = null;
  private maxId = 0;

  constructor(
    private readonly topics: TopicStore,
    readonly defaultCompatibility: CompatibilityLevel = "BACKWARD",
  ) {}

  // --- Persistence --------------------------------------------------------------------------------------------

  /** Replays `_schemas` (when it exists) into memory. */
  load(): void {
    const topic = this.topics.get(SCHEMAS_TOPIC);
    if (!topic) return;
    let records = 0;
    for (const partitionLog of topic.partitions) {
      replayKeyedRecords(partitionLog, (key, value) => {
        try {
          this.apply(JSON.parse(decoder.decode(key)) as SchemaKey, value === null ? null : JSON.parse(decoder.decode(value)));
          records++;
        } catch (error) {
          log.warn("skipping a malformed record in the schemas topic", { error });
        }
      });
    }
    log.info("loaded schema registry", { topic: SCHEMAS_TOPIC, records, subjects: this.subjects.size, schemas: this.schemasById.size });
  }

  private schemasLog(): PartitionLog {
    const existing = this.topics.get(SCHEMAS_TOPIC);
    if (existing) return existing.partitions[0]!;
    const created = this.topics.create(SCHEMAS_TOPIC, 1, internalTopicConfigs());
    if (!created.topic) throw errors.storeError(`cannot create ${SCHEMAS_TOPIC}: ${created.errorMessage}`);
    return created.topic.partitions[0]!;
  }

  /** Appends the records as one batch, applies them, and resolves once the log has them on stable storage. */
  private async write(records: { key: SchemaKey; value: unknown }[]): Promise<void> {
    const now = Date.now();
    const partitionLog = this.schemasLog();
    const batch = buildRecordBatch({
      records: records.map(({ key, value }) => ({
        key: encoder.encode(JSON.stringify(key)),
        value: value === null ? null : encoder.encode(JSON.stringify(value)),
        timestamp: now,
      })),
      partitionLeaderEpoch: 0,
    });
    try {
      partitionLog.append(batch, { lastOffsetDelta: records.length - 1, maxTimestamp: now, firstTimestamp: now, maxTimestampOffsetDelta: records.length - 1 });
    } catch (error) {
      throw errors.storeError(`Error while writing to the schemas topic: ${(error as Error).message}`);
    }
    for (const { key, value } of records) this.apply(key, value);
    const synced = partitionLog.sync?.();
    if (synced) await synced;
  }

  /** The NOOP record of the largest id handed out, written with every tombstone of a schema version. */
  private maxIdRecord(): { key: SchemaKey; value: unknown } {
    return { key: { keytype: "NOOP", magic: 0 }, value: { maxId: this.maxId } };
  }

  private apply(key: SchemaKey, value: unknown): void {
    const subject = key.subject ?? null;
    switch (key.keytype) {
      case "SCHEMA": {
        if (subject === null || typeof key.version !== "number") return;
        if (value === null) return this.removeVersion(subject, key.version);
        return this.putVersion(value as SchemaValue);
      }
      case "CONFIG": {
        const config = value as { compatibilityLevel?: CompatibilityLevel; normalize?: boolean } | null;
        const level = config?.compatibilityLevel ?? null;
        const normalize = typeof config?.normalize === "boolean" ? config.normalize : null;
        if (subject === null) {
          this.globalCompatibility = level;
          this.globalNormalize = normalize;
          return;
        }
        if (level === null) this.compatibilityBySubject.delete(subject);
        else this.compatibilityBySubject.set(subject, level);
        if (normalize === null) this.normalizeBySubject.delete(subject);
        else this.normalizeBySubject.set(subject, normalize);
        return;
      }
      case "MODE": {
        const mode = (value as { mode?: Mode } | null)?.mode ?? null;
        if (subject === null) this.globalMode = mode;
        else if (mode === null) this.modeBySubject.delete(subject);
        else this.modeBySubject.set(subject, mode);
        return;
      }
      case "NOOP": {
        const maxId = (value as { maxId?: unknown } | null)?.maxId;
        if (typeof maxId === "number") this.maxId = Math.max(this.maxId, maxId);
        return;
      }
      default:
        return;
    }
  }

  private putVersion(value: SchemaValue): void {
    const stored: StoredSchema = { id: value.id, schemaType: value.schemaType ?? "AVRO", schema: value.schema, references: value.references ?? [] };
    if (!this.schemasById.has(stored.id)) {
      this.schemasById.set(stored.id, stored);
      this.idsBySchemaKey.set(schemaKey(stored.schemaType, this.canonicalOf(stored), stored.references), stored.id);
    }
    this.maxId = Math.max(this.maxId, stored.id);
    let versions = this.subjects.get(value.subject);
    if (!versions) this.subjects.set(value.subject, (versions = []));
    const entry: SubjectVersion = { subject: value.subject, version: value.version, id: value.id, deleted: value.deleted === true };
    const index = versions.findIndex((existing) => existing.version === value.version);
    this.countLive(entry, 1);
    if (index >= 0) {
      this.countLive(versions[index]!, -1);
      versions[index] = entry;
    } else {
      versions.push(entry);
      versions.sort((a, b) => a.version - b.version);
    }
  }

  private removeVersion(subject: string, version: number): void {
    const versions = this.subjects.get(subject);
    if (!versions) return;
    const index = versions.findIndex((existing) => existing.version === version);
    if (index >= 0) this.countLive(versions.splice(index, 1)[0]!, -1);
    if (versions.length === 0) this.subjects.delete(subject);
  }

  private countLive(version: SubjectVersion, delta: number): void {
    if (version.deleted) return;
    const count = (this.liveVersionCounts.get(version.id) ?? 0) + delta;
    if (count > 0) this.liveVersionCounts.set(version.id, count);
    else this.liveVersionCounts.delete(version.id);
    const key = subjectIdKey(version.subject, version.id);
    const underSubject = (this.liveSubjectIdCounts.get(key) ?? 0) + delta;
    if (underSubject > 0) this.liveSubjectIdCounts.set(key, underSubject);
    else this.liveSubjectIdCounts.delete(key);
  }

  /** Whether some live subject-version uses the id (O(1)). */
  isLive(id: number): boolean {
    return this.liveVersionCounts.has(id);
  }

  /** Whether a live version of the subject uses the id (O(1)). */
  isLiveUnder(subject: string, id: number): boolean {
    return this.liveSubjectIdCounts.has(subjectIdKey(subject, id));
  }

  /** The canonical text of a stored schema (its own text when it no longer parses). */
  private canonicalOf(stored: StoredSchema): string {
    try {
      return this.parsed(stored).canonical;
    } catch {
      return stored.schema;
    }
  }

  // --- Schemas and ids ----------------------------------------------------------------------------------------

  schemaById(id: number): StoredSchema | undefined {
    return this.schemasById.get(id);
  }

  /** Ids in ascending order. */
  schemaIds(): number[] {
    return [...this.schemasById.keys()].sort((a, b) => a - b);
  }

  /** Every subject-version that uses the id (deleted ones only when asked). */
  versionsOfId(id: number, includeDeleted = false): SubjectVersion[] {
    const found: SubjectVersion[] = [];
    for (const versions of this.subjects.values()) {
      for (const version of versions) if (version.id === id && (includeDeleted || !version.deleted)) found.push(version);
    }
    return found.sort((a, b) => (a.subject === b.subject ? a.version - b.version : a.subject < b.subject ? -1 : 1));
  }

  parsed(stored: StoredSchema): ParsedSchema {
    let parsed = this.parsedById.get(stored.id);
    if (!parsed) {
      parsed = parseSchema(stored.schemaType, stored.schema, this.resolveReferences(stored.references));
      this.parsedById.set(stored.id, parsed);
    }
    return parsed;
  }

  /** The texts of the references, their own references first (depth first); 42201 when one is missing. */
  resolveReferences(references: SchemaReference[], seen = new Set<string>()): ResolvedReference[] {
    const resolved: ResolvedReference[] = [];
    for (const reference of references) {
      const key = `${reference.subject}/${reference.version}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const version = this.findVersion(reference.subject, reference.version, true);
      const stored = version ? this.schemasById.get(version.id) : undefined;
      if (!stored) throw errors.invalidSchema(`Invalid schema: reference ${reference.name} to subject ${reference.subject} version ${reference.version} not found`);
      resolved.push(...this.resolveReferences(stored.references, seen));
      resolved.push({ name: reference.name, schema: stored.schema, subject: reference.subject, version: reference.version });
    }
    return resolved;
  }

  /** Parses a schema a client sent, or fails with 42201. */
  parseCandidate(schemaType: SchemaType, schema: string, references: SchemaReference[]): ParsedSchema {
    const resolved = this.resolveReferences(references);
    try {
      const parsed = parseSchema(schemaType, schema, resolved);
      // Every type a Protobuf schema names must resolve (Confluent refuses the rest): accepted, it answered 500 to
      // format=serialized later (fuzzing).
      if (schemaType === "PROTOBUF") parsed.formatted("serialized");
      return parsed;
    } catch (error) {
      if (error instanceof RegistryError) throw error;
      throw errors.invalidSchema(`Invalid schema ${schema}, details: ${(error as Error).message}`);
    }
  }

  // --- Subjects and versions ----------------------------------------------------------------------------------

  subjectNames(includeDeleted: boolean): string[] {
    return [...this.subjects.entries()]
      .filter(([, versions]) => includeDeleted || versions.some((version) => !version.deleted))
      .map(([subject]) => subject)
      .sort();
  }

  versions(subject: string, includeDeleted: boolean): SubjectVersion[] {
    return (this.subjects.get(subject) ?? []).filter((version) => includeDeleted || !version.deleted);
  }

  /** A version by number, or "latest" as -1; undefined when missing. */
  findVersion(subject: string, version: number, includeDeleted = false): SubjectVersion | undefined {
    const versions = this.versions(subject, includeDeleted);
    if (version === -1) return versions[versions.length - 1];
    return versions.find((candidate) => candidate.version === version);
  }

  /** The live version of the subject holding this schema, if any; with normalize, compared in normalized form. */
  lookup(subject: string, parsed: ParsedSchema, references: SchemaReference[], includeDeleted = false, normalize = false): SubjectVersion | undefined {
    const versions = this.versions(subject, includeDeleted);
    const id = this.idsBySchemaKey.get(schemaKey(parsed.schemaType, parsed.canonical, references));
    const exact = id === undefined ? undefined : versions.find((version) => version.id === id);
    if (exact || !normalize) return exact;
    const wanted = schemaKey(parsed.schemaType, parsed.normalized(), normalizedReferences(references));
    return versions.find((version) => {
      const stored = this.schemasById.get(version.id)!;
      try {
        return schemaKey(stored.schemaType, this.parsed(stored).normalized(), normalizedReferences(stored.references)) === wanted;
      } catch {
        return false;
      }
    });
  }

  /** The schema as registered: in normalized form (and references sorted) when asked. */
  prepareCandidate(schemaType: SchemaType, schema: string, references: SchemaReference[], normalize: boolean): { parsed: ParsedSchema; references: SchemaReference[] } {
    const parsed = this.parseCandidate(schemaType, schema, references);
    if (!normalize) return { parsed, references };
    const sorted = normalizedReferences(references);
    let normalized: string;
    try {
      normalized = parsed.normalized();
    } catch (error) {
      if (error instanceof RegistryError) throw error;
      throw errors.invalidSchema(`Invalid schema ${schema}, details: ${(error as Error).message}`);
    }
    return { parsed: this.parseCandidate(schemaType, normalized, sorted), references: sorted };
  }

  /** Registers the schema under the subject (or returns the version that already holds it). */
  async register(
    subject: string,
    schemaType: SchemaType,
    schema: string,
    references: SchemaReference[],
    requested: { id?: number; version?: number; normalize?: boolean } = {},
  ): Promise<{ id: number; version: number }> {
    const mode = this.effectiveMode(subject);
    if (mode === "READONLY" || mode === "READONLY_OVERRIDE") throw errors.operationNotPermitted(`Subject ${subject} is in read-only mode`);
    const normalize = requested.normalize === true || this.effectiveNormalize(subject);
    const prepared = this.prepareCandidate(schemaType, schema, references, normalize);
    const parsed = prepared.parsed;
    references = prepared.references;
    // What is stored: the normalized text, or a Protobuf descriptor written as .proto text.
    schema = parsed.text;
    const existing = this.lookup(subject, parsed, references, false, normalize);
    if (existing && requested.id === undefined) return { id: existing.id, version: existing.version };

    const key = schemaKey(schemaType, parsed.canonical, references);
    let id = this.idsBySchemaKey.get(key);
    if (mode === "IMPORT") {
      if (requested.id === undefined) throw errors.operationNotPermitted("Subject is in import mode: a schema id is required");
      const holder = this.schemasById.get(requested.id);
      if (holder && schemaKey(holder.schemaType, this.canonicalOf(holder), holder.references) !== key) {
        throw errors.operationNotPermitted(`Overwrite new schema with id ${requested.id} is not permitted.`);
      }
      id = requested.id;
    } else {
      if (requested.id !== undefined && requested.id >= 0) throw errors.operationNotPermitted(`Subject ${subject} is not in import mode`);
      const problems = this.incompatibilities(subject, parsed);
      if (problems.length > 0) {
        throw errors.incompatible(`Schema being registered is incompatible with an earlier schema for subject "${subject}", details: [${problems.join(", ")}]`);
      }
    }
    id ??= this.maxId + 1;
    const all = this.subjects.get(subject) ?? [];
    const version = requested.version ?? (all.length === 0 ? 1 : all[all.length - 1]!.version + 1);
    const value: SchemaValue = { subject, version, id, schemaType, references, schema, deleted: false };
    await this.write([{ key: { keytype: "SCHEMA", subject, version, magic: 1 }, value }]);
    this.parsedById.set(id, this.parsedById.get(id) ?? parsed);
    return { id, version };
  }

  /** What keeps `parsed` from being registered under the subject at its compatibility level (empty: nothing). */
  incompatibilities(subject: string, parsed: ParsedSchema, against?: SubjectVersion[]): Incompatibility[] {
    const level = this.effectiveCompatibility(subject);
    const previous = (against ?? this.versions(subject, false)).map((version) => this.parsed(this.schemasById.get(version.id)!));
    try {
      return checkCompatibility(level, parsed, previous);
    } catch (error) {
      // Nested deeper than the checkers' recursion follows (the parser got through): the client's schema, answered
      // 422 like other invalid schemas, not 500 (fuzzing).
      if (error instanceof RangeError) throw errors.invalidSchema(`Invalid schema: nested too deeply to check compatibility (${error.message})`);
      throw error;
    }
  }

  /** Soft-deletes the subject's live versions; returns their numbers. */
  async softDeleteSubject(subject: string): Promise<number[]> {
    this.requireWritable(subject);
    const live = this.versions(subject, false);
    if (live.length === 0) {
      if (this.subjects.has(subject)) throw errors.subjectSoftDeleted(subject);
      throw errors.subjectNotFound(subject);
    }
    this.requireUnreferenced(subject, live);
    await this.write(live.map((version) => this.versionRecord(version, true)));
    return live.map((version) => version.version);
  }

  /** Hard-deletes a subject whose versions are all soft-deleted; returns their numbers. */
  async hardDeleteSubject(subject: string): Promise<number[]> {
    this.requireWritable(subject);
    const all = this.versions(subject, true);
    if (all.length === 0) throw errors.subjectNotFound(subject);
    if (all.some((version) => !version.deleted)) throw errors.subjectNotSoftDeleted(subject);
    await this.write([
      this.maxIdRecord(),
      ...all.map((version) => ({ key: { keytype: "SCHEMA" as const, subject, version: version.version, magic: 1 }, value: null })),
      ...(this.compatibilityBySubject.has(subject) || this.normalizeBySubject.has(subject) ? [{ key: { keytype: "CONFIG" as const, subject, magic: 0 }, value: null }] : []),
      ...(this.modeBySubject.has(subject) ? [{ key: { keytype: "MODE" as const, subject, magic: 0 }, value: null }] : []),
    ]);
    return all.map((version) => version.version);
  }

  async deleteVersion(subject: string, versionNumber: number, permanent: boolean): Promise<number> {
    this.requireWritable(subject);
    if (!this.subjects.has(subject)) throw errors.subjectNotFound(subject);
    const version = this.findVersion(subject, versionNumber, permanent);
    if (!version) {
      if (!permanent && versionNumber !== -1 && this.findVersion(subject, versionNumber, true)) throw errors.versionSoftDeleted(subject, versionNumber);
      throw errors.versionNotFound(versionNumber === -1 ? "latest" : versionNumber);
    }
    if (permanent) {
      if (!version.deleted) throw errors.versionNotSoftDeleted(subject, version.version);
      await this.write([this.maxIdRecord(), { key: { keytype: "SCHEMA", subject, version: version.version, magic: 1 }, value: null }]);
    } else {
      this.requireUnreferenced(subject, [version]);
      await this.write([this.versionRecord(version, true)]);
    }
    return version.version;
  }

  private versionRecord(version: SubjectVersion, deleted: boolean): { key: SchemaKey; value: SchemaValue } {
    const stored = this.schemasById.get(version.id)!;
    return {
      key: { keytype: "SCHEMA", subject: version.subject, version: version.version, magic: 1 },
      value: { subject: version.subject, version: version.version, id: version.id, schemaType: stored.schemaType, references: stored.references, schema: stored.schema, deleted },
    };
  }

  /** Subject-versions whose schemas reference this one (live ones). */
  referencedBy(subject: string, version: number): SubjectVersion[] {
    const found: SubjectVersion[] = [];
    for (const versions of this.subjects.values()) {
      for (const candidate of versions) {
        if (candidate.deleted) continue;
        const stored = this.schemasById.get(candidate.id)!;
        if (stored.references.some((reference) => reference.subject === subject && reference.version === version)) found.push(candidate);
      }
    }
    return found;
  }

  private requireUnreferenced(subject: string, versions: SubjectVersion[]): void {
    for (const version of versions) {
      const users = this.referencedBy(subject, version.version);
      if (users.length > 0) {
        throw errors.referenceExists(`One or more references exist to the schema {subject=${subject},version=${version.version}}.`);
      }
    }
  }

  private requireWritable(subject: string): void {
    const mode = this.effectiveMode(subject);
    if (mode === "READONLY" || mode === "READONLY_OVERRIDE") throw errors.operationNotPermitted(`Subject ${subject} is in read-only mode`);
  }

  // --- Configs and modes --------------------------------------------------------------------------------------

  subjectCompatibility(subject: string): CompatibilityLevel | undefined {
    return this.compatibilityBySubject.get(subject);
  }

  get globalCompatibilityLevel(): CompatibilityLevel {
    return this.globalCompatibility ?? this.defaultCompatibility;
  }

  effectiveCompatibility(subject: string): CompatibilityLevel {
    return this.compatibilityBySubject.get(subject) ?? this.globalCompatibilityLevel;
  }

  async setCompatibility(subject: string | null, level: CompatibilityLevel): Promise<void> {
    await this.setConfig(subject, { compatibilityLevel: level });
  }

  /** Sets the level and/or normalize of the subject (or the global config), keeping what is not given. */
  async setConfig(subject: string | null, config: { compatibilityLevel?: CompatibilityLevel; normalize?: boolean }): Promise<void> {
    const value = { ...this.configValue(subject), ...config };
    await this.write([{ key: { keytype: "CONFIG", subject, magic: 0 }, value }]);
  }

  /** The config record's value as set (nothing inherited). */
  private configValue(subject: string | null): { compatibilityLevel?: CompatibilityLevel; normalize?: boolean } {
    const level = subject === null ? this.globalCompatibility : this.compatibilityBySubject.get(subject);
    const normalize = subject === null ? this.globalNormalize : this.normalizeBySubject.get(subject);
    return { ...(level != null ? { compatibilityLevel: level } : {}), ...(normalize != null ? { normalize } : {}) };
  }

  /** The subject's own normalize setting (undefined: not set). */
  subjectNormalize(subject: string): boolean | undefined {
    return this.normalizeBySubject.get(subject);
  }

  get globalNormalizeValue(): boolean | undefined {
    return this.globalNormalize ?? undefined;
  }

  effectiveNormalize(subject: string): boolean {
    return this.normalizeBySubject.get(subject) ?? this.globalNormalize ?? false;
  }

  /** Removes the subject's (or the global) config; returns the level it had. */
  async deleteCompatibility(subject: string | null): Promise<CompatibilityLevel> {
    const previous = subject === null ? this.globalCompatibilityLevel : (this.compatibilityBySubject.get(subject) ?? (this.normalizeBySubject.has(subject) ? this.globalCompatibilityLevel : undefined));
    if (previous === undefined) throw errors.subjectLevelCompatibilityNotConfigured(subject!);
    await this.write([{ key: { keytype: "CONFIG", subject, magic: 0 }, value: null }]);
    return previous;
  }

  subjectMode(subject: string): Mode | undefined {
    return this.modeBySubject.get(subject);
  }

  get globalModeValue(): Mode {
    return this.globalMode ?? "READWRITE";
  }

  effectiveMode(subject: string): Mode {
    return this.modeBySubject.get(subject) ?? this.globalModeValue;
  }

  async setMode(subject: string | null, mode: Mode, force: boolean): Promise<void> {
    if (mode === "IMPORT" && !force) {
      const hasSchemas = subject === null ? this.subjects.size > 0 : this.versions(subject, true).length > 0;
      if (hasSchemas) throw errors.operationNotPermitted("Cannot import since found existing subjects");
    }
    await this.write([{ key: { keytype: "MODE", subject, magic: 0 }, value: { mode } }]);
  }

  async deleteMode(subject: string | null): Promise<Mode> {
    const previous = subject === null ? this.globalModeValue : this.modeBySubject.get(subject);
    if (previous === undefined) throw errors.subjectLevelModeNotConfigured(subject!);
    await this.write([{ key: { keytype: "MODE", subject, magic: 0 }, value: null }]);
    return previous;
  }
}

/** References as normalization leaves them: sorted (by name, subject, version) and distinct. */
function normalizedReferences(references: SchemaReference[]): SchemaReference[] {
  const seen = new Set<string>();
  const result: SchemaReference[] = [];
  for (const reference of references) {
    const key = JSON.stringify([reference.name, reference.subject, reference.version]);
    if (!seen.has(key)) {
      seen.add(key);
      result.push(reference);
    }
  }
  return result.sort((a, b) => (a.name !== b.name ? (a.name < b.name ? -1 : 1) : a.subject !== b.subject ? (a.subject < b.subject ? -1 : 1) : a.version - b.version));
}

function subjectIdKey(subject: string, id: number): string {
  return `${id}\u0000${subject}`;
}

/** What makes two registrations "the same schema": type, canonical text and references. */
function schemaKey(schemaType: SchemaType, canonical: string, references: SchemaReference[]): string {
  return JSON.stringify([schemaType, canonical, references.map((reference) => [reference.name, reference.subject, reference.version])]);
}
