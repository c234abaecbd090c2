// CreateAcls: v0–3
// Behaviour:
// - Needs ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED for every creation); without an authorizer
//   SECURITY_DISABLED, as Kafka.
// - Each creation is validated as Kafka does (known resource type, LITERAL or PREFIXED pattern, known operation and
//   permission, TYPE:NAME principal, `kafka-cluster` for the cluster): INVALID_REQUEST with the reason. The valid
//   ones are stored together, persisted (acls.json, fsynced) before the answer; a binding that exists already is kept
//   once and reported created.
// Version notes: v0 knows literal patterns only (decoded as LITERAL); v1 pattern types; v2 flexible; v3 same as v2.

import { ErrorCode } from "../protocol/error-codes.ts";
import type { CreateAclsRequest, CreateAclsResponse, AclCreationResult } from "../protocol/messages/30-create-acls.ts";
import { invalidBindingReason, type AclBinding } from "../security/acl.ts";
import { AclOperation, CLUSTER_NAME, ResourceType, authorize } from "../security/authorize.ts";
import { log } from "../util/logger.ts";
import type { ApiHandler } from "./handler.ts";

export const createAclsHandler: ApiHandler<CreateAclsRequest, CreateAclsResponse> = {
  apiKey: 30,
  minVersion: 0,
  maxVersion: 3,
  handle(context, request) {
    const everyone = (errorCode: number, errorMessage: string) => ({
      throttleTimeMs: 0,
      results: request.creations.map(() => ({ errorCode, errorMessage })),
    });
    const authorizer = context.broker.authorizer;
    if (authorizer === null) return everyone(ErrorCode.SECURITY_DISABLED, "No Authorizer is configured.");
    if (!authorize(context, AclOperation.ALTER, ResourceType.CLUSTER, CLUSTER_NAME)) {
      return everyone(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed.");
    }
    const valid: AclBinding[] = [];
    const results: AclCreationResult[] = request.creations.map((creation) => {
      const binding: AclBinding = {
        resourceType: creation.resourceType,
        resourceName: creation.resourceName,
        patternType: creation.resourcePatternType,
        principal: creation.principal,
        host: creation.host,
        operation: creation.operation,
        permissionType: creation.permissionType,
      };
      const invalid = invalidBindingReason(binding);
      if (invalid) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: invalid };
      valid.push(binding);
      return { errorCode: ErrorCode.NONE, errorMessage: null };
    });
    try {
      authorizer.acls.add(valid);
    } catch (error) {
      log.error("cannot store ACLs", { client: context.clientAddress, principal: context.principal, error });
      for (const result of results) if (result.errorCode === ErrorCode.NONE) Object.assign(result, { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: `cannot store ACLs: ${String(error)}` });
      return { throttleTimeMs: 0, results };
    }
    if (valid.length > 0) log.info("ACLs created", { client: context.clientAddress, principal: context.principal, count: valid.length });
    return { throttleTimeMs: 0, results };
  },
};
