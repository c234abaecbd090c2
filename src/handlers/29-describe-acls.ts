// DescribeAcls: v0–3
// Behaviour:
// - Needs DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED); without an authorizer SECURITY_DISABLED, as Kafka.
// - The filter's null strings and ANY codes match everything; pattern MATCH finds the bindings that would apply to
//   the named resource (literal name, literal `*`, prefixes); an UNKNOWN code is INVALID_REQUEST.
// - Bindings are answered grouped by resource (type, name, pattern type).
// Version notes: v0 knows literal patterns only (decoded as LITERAL); v1 pattern types; v2 flexible; v3 same as v2.

import { ErrorCode } from "../protocol/error-codes.ts";
import type { DescribeAclsRequest, DescribeAclsResponse, DescribeAclsResource } from "../protocol/messages/29-describe-acls.ts";
import { invalidFilterReason, type AclBinding, type AclBindingFilter } from "../security/acl.ts";
import { AclOperation, CLUSTER_NAME, ResourceType, authorize } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";

export const describeAclsHandler: ApiHandler<DescribeAclsRequest, DescribeAclsResponse> = {
  apiKey: 29,
  minVersion: 0,
  maxVersion: 3,
  handle(context, request) {
    const failed = (errorCode: number, errorMessage: string) => ({ throttleTimeMs: 0, errorCode, errorMessage, resources: [] });
    const authorizer = context.broker.authorizer;
    if (authorizer === null) return failed(ErrorCode.SECURITY_DISABLED, "No Authorizer is configured.");
    if (!authorize(context, AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME)) {
      return failed(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed.");
    }
    const filter: AclBindingFilter = {
      resourceType: request.resourceTypeFilter,
      resourceName: request.resourceNameFilter,
      patternType: request.patternTypeFilter,
      principal: request.principalFilter,
      host: request.hostFilter,
      operation: request.operation,
      permissionType: request.permissionType,
    };
    const invalid = invalidFilterReason(filter);
    if (invalid) return failed(ErrorCode.INVALID_REQUEST, invalid);
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, resources: groupByResource(authorizer.acls.list(filter)) };
  },
};

function groupByResource(bindings: AclBinding[]): DescribeAclsResource[] {
  const resources = new Map<string, DescribeAclsResource>();
  for (const binding of bindings) {
    const key = `${binding.resourceType}\u0000${binding.patternType}\u0000${binding.resourceName}`;
    let resource = resources.get(key);
    if (!resource) {
      resource = { resourceType: binding.resourceType, resourceName: binding.resourceName, patternType: binding.patternType, acls: [] };
      resources.set(key, resource);
    }
    resource.acls.push({ principal: binding.principal, host: binding.host, operation: binding.operation, permissionType: binding.permissionType });
  }
  return [...resources.values()];
}
