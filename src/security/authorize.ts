// The handlers' one call into the authorizer: may this request's principal, from its client's address, do this to
// that resource? Denials are logged (client, principal, operation, resource) and counted, as Kafka's
// kafka.authorizer.logger does, unless the caller only filters a listing (logIfDenied false, as Kafka).

import type { RequestContext } from "../handlers/handler.ts";
import { apiTable } from "../protocol/messages/index.ts";
import { log } from "../util/logger.ts";
import { AclOperation, CLUSTER_NAME, ResourceType, operationName, resourceTypeName } from "./acl.ts";
import { hostOf } from "./authorizer.ts";

export { AclOperation, CLUSTER_NAME, ResourceType };

/** True when no authorizer is configured. */
export function authorize(context: RequestContext, operation: number, resourceType: number, resourceName: string, logIfDenied = true): boolean {
  const authorizer = context.broker.authorizer;
  if (authorizer === null) return true;
  if (authorizer.authorize(context.principal, hostOf(context.clientAddress), operation, resourceType, resourceName)) return true;
  if (logIfDenied) {
    const api = apiTable[context.apiKey]?.name ?? String(context.apiKey);
    const operationText = operationName(operation);
    const resourceTypeText = resourceTypeName(resourceType);
    context.broker.metrics.authorizationDenials.inc({ api, operation: operationText, resource_type: resourceTypeText });
    log.info("authorization denied", {
      client: context.clientAddress,
      principal: context.principal,
      api,
      operation: operationText,
      resource: `${resourceTypeText}:${resourceName}`,
    });
  }
  return false;
}

/** May the principal create topics: CREATE on the cluster, or on this topic (Kafka's CreateTopics and auto-creation). */
export function authorizeTopicCreation(context: RequestContext, topicName: string, logIfDenied = true): boolean {
  if (context.broker.authorizer === null) return true;
  return authorize(context, AclOperation.CREATE, ResourceType.CLUSTER, CLUSTER_NAME, false) || authorize(context, AclOperation.CREATE, ResourceType.TOPIC, topicName, logIfDenied);
}

/** The operations the principal may perform on the resource, as the bit field Kafka's *AuthorizedOperations carry. */
export function authorizedOperations(context: RequestContext, resourceType: number, resourceName: string, operations: readonly number[]): number {
  let bits = 0;
  for (const operation of operations) if (authorize(context, operation, resourceType, resourceName, false)) bits |= 1 << operation;
  return bits;
}
