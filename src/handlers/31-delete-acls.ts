// DeleteAcls: v0–3
// Behaviour:
// - Needs ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED for every filter); without an authorizer
//   SECURITY_DISABLED, as Kafka.
// - Each filter answers the bindings it matched (see DescribeAcls for the matching); a binding matched by several
//   filters is listed under each. An invalid filter is INVALID_REQUEST and deletes nothing. The removal is persisted
//   (acls.json, fsynced) before the answer.
// Version notes: v0 knows literal patterns only (decoded as LITERAL); v1 pattern types; v2 flexible; v3 same as v2.

import { ErrorCode } from "../protocol/error-codes.ts";
import type { DeleteAclsRequest, DeleteAclsResponse, DeleteAclsFilterResult } from "../protocol/messages/31-delete-acls.ts";
import { invalidFilterReason, type AclBindingFilter } from "../security/acl.ts";
import { AclOperation, CLUSTER_NAME, ResourceType, authorize } from "../security/authorize.ts";
import { log } from "../util/logger.ts";
import type { ApiHandler } from "./handler.ts";

export const deleteAclsHandler: ApiHandler<DeleteAclsRequest, DeleteAclsResponse> = {
  apiKey: 31,
  minVersion: 0,
  maxVersion: 3,
  handle(context, request) {
    const everyone = (errorCode: number, errorMessage: string) => ({
      throttleTimeMs: 0,
      filterResults: request.filters.map(() => ({ errorCode, errorMessage, matchingAcls: [] })),
    });
    const authorizer = context.broker.authorizer;
    if (authorizer === null) return everyone(ErrorCode.SECURITY_DISABLED, "No Authorizer is configured.");
    if (!authorize(context, AclOperation.ALTER, ResourceType.CLUSTER, CLUSTER_NAME)) {
      return everyone(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed.");
    }
    const filters: AclBindingFilter[] = request.filters.map((filter) => ({
      resourceType: filter.resourceTypeFilter,
      resourceName: filter.resourceNameFilter,
      patternType: filter.patternTypeFilter,
      principal: filter.principalFilter,
      host: filter.hostFilter,
      operation: filter.operation,
      permissionType: filter.permissionType,
    }));
    const invalid = filters.map(invalidFilterReason);
    const validFilters = filters.filter((_, i) => invalid[i] === null);
    let matched;
    try {
      matched = authorizer.acls.delete(validFilters);
    } catch (error) {
      log.error("cannot store ACLs", { client: context.clientAddress, principal: context.principal, error });
      return everyone(ErrorCode.UNKNOWN_SERVER_ERROR, `cannot store ACLs: ${String(error)}`);
    }
    let next = 0;
    const filterResults = invalid.map((reason): DeleteAclsFilterResult => {
      if (reason !== null) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: reason, matchingAcls: [] };
      const bindings = matched[next++]!;
      return {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        matchingAcls: bindings.map((binding) => ({ errorCode: ErrorCode.NONE, errorMessage: null, ...binding })),
      };
    });
    const count = new Set(matched.flat()).size;
    if (count > 0) log.info("ACLs deleted", { client: context.clientAddress, principal: context.principal, count });
    return { throttleTimeMs: 0, filterResults };
  },
};
