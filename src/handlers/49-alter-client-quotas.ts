// AlterClientQuotas: v0–1
// Behaviour (src/quotas/, Kafka's ControllerApis/ClientQuotaControlManager): each entry sets or removes quota values
// of one entity (`user` and/or `client-id`, a null name being the default); an entity left with no value is gone.
// Each entry is validated alone and gets its own error: unknown or repeated entity types, an empty entity, an
// unknown key or one named twice, a value that is not positive (byte rates must also be whole numbers):
// INVALID_REQUEST. validateOnly checks without applying. Applied entries are persisted (quotas.json) before the
// answer; the byte rates take effect on the next Produce/Fetch.
// Not emulated: the `ip` entity. With an authorizer: ALTER_CONFIGS on the cluster.
// Version notes: v1 is flexible.

import { ErrorCode } from "../protocol/error-codes.ts";
import type { AlterClientQuotasRequest, AlterClientQuotasRequestEntryData, AlterClientQuotasResponse } from "../protocol/messages/49-alter-client-quotas.ts";
import { quotasFor } from "../quotas/quota-manager.ts";
import { ENTITY_TYPES, QUOTA_KEYS, type EntityType, type QuotaEntity, type QuotaKey } from "../quotas/quota-store.ts";
import { AclOperation, authorizeCluster } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";

export const alterClientQuotasHandler: ApiHandler<AlterClientQuotasRequest, AlterClientQuotasResponse> = {
  apiKey: 49,
  minVersion: 0,
  maxVersion: 1,
  handle(context, request) {
    // Kafka: ALTER_CONFIGS on the cluster, else CLUSTER_AUTHORIZATION_FAILED for every entry.
    if (!authorizeCluster(context, AclOperation.ALTER_CONFIGS)) {
      return {
        throttleTimeMs: 0,
        entries: request.entries.map((entry) => ({
          errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
          errorMessage: null,
          entity: entry.entity.map(({ entityType, entityName }) => ({ entityType, entityName })),
        })),
      };
    }
    const { store } = quotasFor(context.broker);
    const entries = request.entries.map((entry) => {
      const echo = entry.entity.map(({ entityType, entityName }) => ({ entityType, entityName }));
      const parsed = parseEntry(entry);
      if (typeof parsed === "string") return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: parsed, entity: echo };
      if (parsed.sets.size > 0 && !store.hasRoomFor(parsed.entity)) {
        return { errorCode: ErrorCode.POLICY_VIOLATION, errorMessage: "Too many quota entities on this broker", entity: echo };
      }
      if (!request.validateOnly) store.alter(parsed.entity, parsed.sets, parsed.removals);
      return { errorCode: ErrorCode.NONE, errorMessage: null, entity: echo };
    });
    return { throttleTimeMs: 0, entries };
  },
};

function parseEntry(entry: AlterClientQuotasRequestEntryData): { entity: QuotaEntity; sets: Map<QuotaKey, number>; removals: Set<QuotaKey> } | string {
  if (entry.entity.length === 0) return "An entity needs at least one entity type";
  const entity: QuotaEntity = {};
  for (const { entityType, entityName } of entry.entity) {
    if (!(ENTITY_TYPES as readonly string[]).includes(entityType)) return `Unsupported entity type: ${entityType}`;
    if (entityType in entity) return `Duplicate entity type: ${entityType}`;
    if (entityName === "") return `Empty ${entityType} name (use null for the default)`;
    entity[entityType as EntityType] = entityName;
  }
  const sets = new Map<QuotaKey, number>();
  const removals = new Set<QuotaKey>();
  for (const { key, value, remove } of entry.ops) {
    if (!(QUOTA_KEYS as readonly string[]).includes(key)) return `Unknown quota key: ${key}`;
    const quotaKey = key as QuotaKey;
    if (sets.has(quotaKey) || removals.has(quotaKey)) return `Quota key named twice: ${key}`;
    if (remove) {
      removals.add(quotaKey);
      continue;
    }
    if (!Number.isFinite(value) || value <= 0) return `${key} must be positive, got ${value}`;
    if (key.endsWith("_byte_rate") && !Number.isInteger(value)) return `${key} must be a whole number of bytes per second, got ${value}`;
    sets.set(quotaKey, value);
  }
  return { entity, sets, removals };
}
