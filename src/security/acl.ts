// Kafka's ACL vocabulary (org.apache.kafka.common.acl / resource): the wire codes of resource types, pattern types,
// operations and permissions, an ACL binding, and the filters DescribeAcls/DeleteAcls match bindings with.

export const ResourceType = {
  UNKNOWN: 0,
  ANY: 1,
  TOPIC: 2,
  GROUP: 3,
  CLUSTER: 4,
  TRANSACTIONAL_ID: 5,
  DELEGATION_TOKEN: 6,
  USER: 7,
} as const;

export const PatternType = {
  UNKNOWN: 0,
  /** Filters only: any pattern type. */
  ANY: 1,
  /** Filters only: bindings that would apply to the named resource (literal, wildcard or prefix). */
  MATCH: 2,
  LITERAL: 3,
  PREFIXED: 4,
} as const;

export const AclOperation = {
  UNKNOWN: 0,
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
  CREATE_TOKENS: 13,
  DESCRIBE_TOKENS: 14,
  TWO_PHASE_COMMIT: 15,
} as const;

export const AclPermission = {
  UNKNOWN: 0,
  ANY: 1,
  DENY: 2,
  ALLOW: 3,
} as const;

/** Kafka's name of the one CLUSTER resource. */
export const CLUSTER_NAME = "kafka-cluster";
/** A literal resource name matching every resource of its type. */
export const WILDCARD_RESOURCE = "*";
/** An ACL principal matching every principal of its type (Kafka: `User:*`). */
export const WILDCARD_PRINCIPAL = "User:*";
export const WILDCARD_HOST = "*";

export interface AclBinding {
  resourceType: number;
  resourceName: string;
  patternType: number;
  principal: string;
  host: string;
  operation: number;
  permissionType: number;
}

/** A DescribeAcls/DeleteAcls filter: null strings and ANY codes match everything. */
export interface AclBindingFilter {
  resourceType: number;
  resourceName: string | null;
  patternType: number;
  principal: string | null;
  host: string | null;
  operation: number;
  permissionType: number;
}

const knownResourceTypes = new Set<number>([2, 3, 4, 5, 6, 7]);
const knownOperations = new Set<number>([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);

/** Why a binding cannot be stored (Kafka's CreateAcls validation), or null when it can. */
export function invalidBindingReason(binding: AclBinding): string | null {
  if (!knownResourceTypes.has(binding.resourceType)) return `invalid resource type ${binding.resourceType}`;
  if (binding.patternType !== PatternType.LITERAL && binding.patternType !== PatternType.PREFIXED) {
    return `invalid pattern type ${binding.patternType}: only LITERAL and PREFIXED bindings can be stored`;
  }
  if (binding.resourceName === "") return "empty resource name";
  if (binding.resourceType === ResourceType.CLUSTER && binding.resourceName !== CLUSTER_NAME) {
    return `the only valid name for the CLUSTER resource is ${CLUSTER_NAME}`;
  }
  if (!knownOperations.has(binding.operation)) return `invalid operation ${binding.operation}`;
  if (binding.permissionType !== AclPermission.ALLOW && binding.permissionType !== AclPermission.DENY) {
    return `invalid permission type ${binding.permissionType}`;
  }
  const colon = binding.principal.indexOf(":");
  if (colon <= 0 || colon === binding.principal.length - 1) return `invalid principal ${JSON.stringify(binding.principal)}: expected TYPE:NAME`;
  if (binding.host === "") return "empty host";
  return null;
}

/** Why a filter cannot be used (UNKNOWN codes), or null. */
export function invalidFilterReason(filter: AclBindingFilter): string | null {
  if (filter.resourceType === ResourceType.UNKNOWN) return "resource type UNKNOWN in filter";
  if (filter.patternType === PatternType.UNKNOWN || filter.patternType > PatternType.PREFIXED) return `invalid pattern type ${filter.patternType} in filter`;
  if (filter.operation === AclOperation.UNKNOWN || filter.operation > AclOperation.TWO_PHASE_COMMIT) return `invalid operation ${filter.operation} in filter`;
  if (filter.permissionType === AclPermission.UNKNOWN || filter.permissionType > AclPermission.ALLOW) return `invalid permission type ${filter.permissionType} in filter`;
  return null;
}

/** Kafka's ResourcePatternFilter.matches plus AccessControlEntryFilter.matches. */
export function filterMatches(filter: AclBindingFilter, binding: AclBinding): boolean {
  if (filter.resourceType !== ResourceType.ANY && filter.resourceType !== binding.resourceType) return false;
  if (!patternMatches(filter, binding)) return false;
  if (filter.principal !== null && filter.principal !== binding.principal) return false;
  if (filter.host !== null && filter.host !== binding.host) return false;
  if (filter.operation !== AclOperation.ANY && filter.operation !== binding.operation) return false;
  if (filter.permissionType !== AclPermission.ANY && filter.permissionType !== binding.permissionType) return false;
  return true;
}

function patternMatches(filter: AclBindingFilter, binding: AclBinding): boolean {
  const name = filter.resourceName;
  switch (filter.patternType) {
    case PatternType.ANY:
      return name === null || name === binding.resourceName;
    case PatternType.MATCH:
      if (name === null) return true;
      if (binding.patternType === PatternType.LITERAL) return binding.resourceName === name || binding.resourceName === WILDCARD_RESOURCE;
      return name.startsWith(binding.resourceName);
    default:
      return filter.patternType === binding.patternType && (name === null || name === binding.resourceName);
  }
}

export function bindingKey(binding: AclBinding): string {
  return [binding.resourceType, binding.patternType, binding.resourceName, binding.principal, binding.host, binding.operation, binding.permissionType].join("\u0000");
}

const resourceTypeNames = Object.fromEntries(Object.entries(ResourceType).map(([name, code]) => [code, name]));
const operationNames = Object.fromEntries(Object.entries(AclOperation).map(([name, code]) => [code, name]));

export function resourceTypeName(code: number): string {
  return resourceTypeNames[code] ?? String(code);
}

export function operationName(code: number): string {
  return operationNames[code] ?? String(code);
}
