// DescribeClientQuotas: v0–1
// Behaviour (src/quotas/, Kafka's ClientQuotasImage.describe): lists the configured quota entries whose entity
// matches every filter component: match type 0 an exact name, 1 the default (null), 2 any name of that type
// (the default included). Strict: the entity has no types beyond the components'. Entity types other than `user`
// and `client-id`, a type named twice, or a match inconsistent with its match type: INVALID_REQUEST.
// Not emulated: the `ip` entity (connection_creation_rate). With an authorizer: DESCRIBE_CONFIGS on the cluster.
// Version notes: v1 is flexible.

import { ErrorCode } from "../protocol/error-codes.ts";
import type { ComponentData, DescribeClientQuotasRequest, DescribeClientQuotasResponse } from "../protocol/messages/48-describe-client-quotas.ts";
import { quotasFor } from "../quotas/quota-manager.ts";
import { ENTITY_TYPES, type EntityType, type StoredQuota } from "../quotas/quota-store.ts";
import { AclOperation, authorizeCluster } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";

const MATCH_EXACT = 0;
const MATCH_DEFAULT = 1;
const MATCH_SPECIFIED = 2;

export const describeClientQuotasHandler: ApiHandler<DescribeClientQuotasRequest, DescribeClientQuotasResponse> = {
  apiKey: 48,
  minVersion: 0,
  maxVersion: 1,
  handle(context, request) {
    // Kafka: DESCRIBE_CONFIGS on the cluster.
    if (!authorizeCluster(context, AclOperation.DESCRIBE_CONFIGS)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null, entries: null };
    }
    const invalid = validateComponents(request.components);
    if (invalid !== null) return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: invalid, entries: null };
    const entries = quotasFor(context.broker)
      .store.list()
      .filter((stored) => matches(stored, request.components, request.strict))
      .map(({ entity, values }) => ({
        entity: ENTITY_TYPES.filter((type) => type in entity).map((type) => ({ entityType: type, entityName: entity[type] ?? null })),
        values: [...values].map(([key, value]) => ({ key, value })),
      }));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, entries };
  },
};

function validateComponents(components: ComponentData[]): string | null {
  const seen = new Set<string>();
  for (const { entityType, matchType, match } of components) {
    if (!(ENTITY_TYPES as readonly string[]).includes(entityType)) return `Unsupported entity type: ${entityType}`;
    if (seen.has(entityType)) return `Duplicate filter component entity type: ${entityType}`;
    seen.add(entityType);
    if (matchType === MATCH_EXACT && match === null) return `Exact match for ${entityType} needs a name`;
    if ((matchType === MATCH_DEFAULT || matchType === MATCH_SPECIFIED) && match !== null) return `Match type ${matchType} for ${entityType} takes no name`;
    if (matchType !== MATCH_EXACT && matchType !== MATCH_DEFAULT && matchType !== MATCH_SPECIFIED) return `Unknown match type: ${matchType}`;
  }
  return null;
}

function matches({ entity }: StoredQuota, components: ComponentData[], strict: boolean): boolean {
  for (const { entityType, matchType, match } of components) {
    const type = entityType as EntityType;
    if (!(type in entity)) return false;
    const name = entity[type] ?? null;
    if (matchType === MATCH_EXACT && name !== match) return false;
    if (matchType === MATCH_DEFAULT && name !== null) return false;
  }
  if (strict) for (const type of ENTITY_TYPES) if (type in entity && !components.some((component) => component.entityType === type)) return false;
  return true;
}
