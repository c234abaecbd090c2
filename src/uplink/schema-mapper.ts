// Schema ids across registries: a record whose Confluent envelope (magic byte 0, 4-byte id) names an id of kgate's
// own registry means nothing to the central cluster's Schema Registry. With schema.registry.url set, each local id a
// link meets is registered there under the same subjects (its references first, depth first, so that the references
// name the central versions), and the envelope is rewritten to the central id. The mapping is cached in memory;
// after a restart registering again is harmless: a registry answers an already registered schema with its id.
// Ids unknown to the local registry are left as they are (a producer may use another registry).

import type { SchemaStore, StoredSchema } from "../registry/store.ts";
import type { SchemaReference } from "../registry/compatibility/index.ts";
import { UplinkError } from "./central-cluster.ts";

export class SchemaIdMapper {
  private readonly remoteIds = new Map<number, number>();
  /** `subject/localVersion` → the central version of the same schema. */
  private readonly remoteVersions = new Map<string, number>();

  constructor(
    private readonly registryUrl: string,
    private readonly localStore: () => SchemaStore | null,
    private readonly timeoutMs: number,
  ) {}

  /** The central id of a local id resolved before, or null: leave the envelope as it is. */
  remoteId(localId: number): number | null {
    return this.remoteIds.get(localId) ?? null;
  }

  /** Registers centrally whatever of these local ids is not mapped yet. */
  async resolve(localIds: Iterable<number>): Promise<void> {
    for (const localId of localIds) {
      if (this.remoteIds.has(localId)) continue;
      const store = this.localStore();
      if (store === null) throw new UplinkError("schema.registry.url needs kgate's own registry (--registry-listen is off)", "config");
      const schema = store.schemaById(localId);
      if (!schema) continue;
      const subjects = store.versionsOfId(localId, true);
      let remoteId: number | null = null;
      for (const version of subjects) remoteId = (await this.registerVersion(store, version.subject, version.version, schema)).id;
      // An id under no subject (all hard-deleted): registered under no subject, it cannot be mapped.
      if (remoteId !== null) this.remoteIds.set(localId, remoteId);
    }
  }

  private async registerVersion(store: SchemaStore, subject: string, localVersion: number, schema: StoredSchema): Promise<{ id: number; version: number }> {
    const references: SchemaReference[] = [];
    for (const reference of schema.references) {
      const referenced = store.findVersion(reference.subject, reference.version, true);
      const referencedSchema = referenced ? store.schemaById(referenced.id) : undefined;
      if (!referenced || !referencedSchema) throw new UplinkError(`schema ${schema.id} references ${reference.subject} version ${reference.version}, unknown to the local registry`, "config");
      const key = `${reference.subject}/${reference.version}`;
      let version = this.remoteVersions.get(key);
      if (version === undefined) version = (await this.registerVersion(store, reference.subject, reference.version, referencedSchema)).version;
      references.push({ name: reference.name, subject: reference.subject, version });
    }
    const body = { schema: schema.schema, schemaType: schema.schemaType, references };
    const subjectPath = `${this.registryUrl.replace(/\/$/, "")}/subjects/${encodeURIComponent(subject)}`;
    const registered = (await this.post(`${subjectPath}/versions`, body)) as { id: number };
    // The central version: a lookup of the same schema under the subject.
    const found = (await this.post(subjectPath, body)) as { id: number; version: number };
    this.remoteVersions.set(`${subject}/${localVersion}`, found.version);
    if (this.remoteIds.get(schema.id) === undefined) this.remoteIds.set(schema.id, registered.id);
    return { id: registered.id, version: found.version };
  }

  private async post(url: string, body: unknown): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/vnd.schemaregistry.v1+json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new UplinkError(`central schema registry ${new URL(url).origin}: ${(error as Error).message}`, "connect");
    }
    const text = await response.text();
    if (!response.ok) throw new UplinkError(`central schema registry: POST ${new URL(url).pathname} answered ${response.status}: ${text.slice(0, 300)}`, response.status === 401 || response.status === 403 ? "auth" : "remote");
    return JSON.parse(text);
  }
}
