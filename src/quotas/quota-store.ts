// Client quotas as Kafka configures them (DescribeClientQuotas / AlterClientQuotas, KIP-546): values keyed by an
// entity of `user` and/or `client-id`, each a name or the default (null). Persisted in the data folder as
// `quotas.json`, replaced atomically after every change, before the client hears it succeeded.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { limits } from "../config.ts";
import { writeFileAtomic } from "../log/file/file-io.ts";

export const QUOTAS_FILE = "quotas.json";
const QUOTAS_FILE_VERSION = 1;

export const ENTITY_TYPES = ["user", "client-id"] as const;
export type EntityType = (typeof ENTITY_TYPES)[number];

/** The quota keys Kafka accepts for user/client-id entities; kgate enforces the two byte rates. */
export const QUOTA_KEYS = ["producer_byte_rate", "consumer_byte_rate", "request_percentage", "controller_mutation_rate"] as const;
export type QuotaKey = (typeof QUOTA_KEYS)[number];

/** An entity: for each of its types, a name or null for the default. */
export type QuotaEntity = Partial<Record<EntityType, string | null>>;

export interface StoredQuota {
  entity: QuotaEntity;
  values: Map<QuotaKey, number>;
}

/** A canonical key: types in a fixed order, the default written as a name JSON cannot produce. */
export function entityKey(entity: QuotaEntity): string {
  return JSON.stringify(ENTITY_TYPES.filter((type) => type in entity).map((type) => [type, entity[type] ?? null]));
}

export class QuotaStore {
  private readonly quotas = new Map<string, StoredQuota>();
  private readonly path: string | null;

  /** With a data folder, loads its quotas (throws on a damaged file: never guess). */
  constructor(dataDir: string | null) {
    this.path = dataDir === null ? null : join(dataDir, QUOTAS_FILE);
    if (this.path === null || !existsSync(this.path)) return;
    const parsed = JSON.parse(readFileSync(this.path, "utf8")) as { version: number; quotas: { entity: QuotaEntity; values: Record<string, number> }[] };
    if (parsed.version !== QUOTAS_FILE_VERSION || !Array.isArray(parsed.quotas)) throw new Error(`${this.path}: unknown quotas file version ${parsed.version}`);
    for (const stored of parsed.quotas) {
      this.quotas.set(entityKey(stored.entity), { entity: stored.entity, values: new Map(Object.entries(stored.values) as [QuotaKey, number][]) });
    }
  }

  get(entity: QuotaEntity): StoredQuota | undefined {
    return this.quotas.get(entityKey(entity));
  }

  list(): StoredQuota[] {
    return [...this.quotas.values()];
  }

  get size(): number {
    return this.quotas.size;
  }

  /** Applies sets and removals to one entity; an entity left without values is dropped. Persists. */
  alter(entity: QuotaEntity, sets: Map<QuotaKey, number>, removals: Set<QuotaKey>): void {
    const key = entityKey(entity);
    const values = new Map(this.quotas.get(key)?.values);
    for (const removed of removals) values.delete(removed);
    for (const [name, value] of sets) values.set(name, value);
    if (values.size === 0) this.quotas.delete(key);
    else this.quotas.set(key, { entity, values });
    this.save();
  }

  /** Would one more entity fit (limits.quotaEntitiesMax)? */
  hasRoomFor(entity: QuotaEntity): boolean {
    return this.quotas.has(entityKey(entity)) || this.quotas.size < limits.quotaEntitiesMax;
  }

  private save(): void {
    if (this.path === null) return;
    const file = { version: QUOTAS_FILE_VERSION, quotas: this.list().map(({ entity, values }) => ({ entity, values: Object.fromEntries(values) })) };
    writeFileAtomic(this.path, JSON.stringify(file, null, 1) + "\n");
  }
}
