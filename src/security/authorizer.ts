// Kafka's ACL authorizer (AclAuthorizer / StandardAuthorizer rules): super users pass; otherwise the bindings that
// apply to the resource (literal on its name, literal `*`, prefixes of its name) decide, a matching DENY beats any
// ALLOW, and a resource with no binding at all follows allow.everyone.if.no.acl.found (false by default).
// A binding matches a request when its principal is the request's or `User:*`, its host is the client's IP or `*`,
// and its operation is the one asked or ALL; for ALLOW bindings also an operation implying the one asked
// (READ/WRITE/DELETE/ALTER imply DESCRIBE, ALTER_CONFIGS implies DESCRIBE_CONFIGS). DENY does not imply: a DENY of
// DESCRIBE refuses DESCRIBE only.

import { AclOperation, AclPermission, WILDCARD_HOST, WILDCARD_PRINCIPAL, WILDCARD_RESOURCE, type AclBinding } from "./acl.ts";
import type { AclStore } from "./acl-store.ts";

export interface AuthorizerConfig {
  /** Kafka's super.users: principals (`User:admin`) allowed everything, whatever the ACLs say. */
  superUsers: string[];
  /** Kafka's allow.everyone.if.no.acl.found: a resource without any binding is open (true) or closed (false). */
  allowEveryoneIfNoAclFound: boolean;
}

/** The ALLOW-binding operations that grant `operation` (Kafka's implied operations). */
const impliedBy: Record<number, readonly number[]> = {
  [AclOperation.DESCRIBE]: [AclOperation.DESCRIBE, AclOperation.READ, AclOperation.WRITE, AclOperation.DELETE, AclOperation.ALTER],
  [AclOperation.DESCRIBE_CONFIGS]: [AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS],
};

export class Authorizer {
  private readonly superUsers: ReadonlySet<string>;

  constructor(
    readonly config: AuthorizerConfig,
    readonly acls: AclStore,
  ) {
    this.superUsers = new Set(config.superUsers);
  }

  isSuperUser(principal: string): boolean {
    return this.superUsers.has(principal);
  }

  /** Whether `principal` connecting from `host` (an IP address) may perform `operation` on the resource. */
  authorize(principal: string, host: string, operation: number, resourceType: number, resourceName: string): boolean {
    if (this.superUsers.has(principal)) return true;
    const bindings = this.acls.applicable(resourceType, resourceName);
    if (bindings.length === 0) return this.config.allowEveryoneIfNoAclFound;
    const matchesWho = (binding: AclBinding) =>
      (binding.principal === principal || binding.principal === WILDCARD_PRINCIPAL) && (binding.host === host || binding.host === WILDCARD_HOST);
    for (const binding of bindings) {
      if (binding.permissionType !== AclPermission.DENY || !matchesWho(binding)) continue;
      if (binding.operation === operation || binding.operation === AclOperation.ALL) return false;
    }
    const granting = impliedBy[operation] ?? [operation];
    for (const binding of bindings) {
      if (binding.permissionType !== AclPermission.ALLOW || !matchesWho(binding)) continue;
      if (binding.operation === AclOperation.ALL || granting.includes(binding.operation)) return true;
    }
    return false;
  }

  /**
   * Kafka's Authorizer.authorizeByResourceType: may the principal perform `operation` on some resource of this type
   * (InitProducerId of an idempotent producer accepts WRITE on any topic)? Super users may; a DENY on the literal
   * wildcard resource refuses; otherwise any matching ALLOW binding of the type grants; no binding of the type at
   * all follows allow.everyone.if.no.acl.found.
   */
  authorizeByResourceType(principal: string, host: string, operation: number, resourceType: number): boolean {
    if (this.superUsers.has(principal)) return true;
    const bindings = this.acls.list().filter((binding) => binding.resourceType === resourceType);
    if (bindings.length === 0) return this.config.allowEveryoneIfNoAclFound;
    const applies = (binding: AclBinding) =>
      (binding.principal === principal || binding.principal === WILDCARD_PRINCIPAL) &&
      (binding.host === host || binding.host === WILDCARD_HOST) &&
      (binding.operation === operation || binding.operation === AclOperation.ALL);
    const deniedEverywhere = bindings.some(
      (binding) => binding.permissionType === AclPermission.DENY && binding.resourceName === WILDCARD_RESOURCE && applies(binding),
    );
    return !deniedEverywhere && bindings.some((binding) => binding.permissionType === AclPermission.ALLOW && applies(binding));
  }
}

/** The client's IP address from "IP:PORT" (IPv4-mapped IPv6 addresses as plain IPv4, as Kafka sees them). */
export function hostOf(clientAddress: string): string {
  const colon = clientAddress.lastIndexOf(":");
  const ip = colon > 0 ? clientAddress.slice(0, colon) : clientAddress;
  return ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice("::ffff:".length) : ip;
}
