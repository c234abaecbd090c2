// The handlers' one call into the authorizer: may this request's principal, from its client's address, do this to
// that resource? Denials are logged (client, principal, operation, resource) and counted, as Kafka's
// kafka.authorizer.logger does, unless the caller only filters a listing (logIfDenied false, as Kafka).

import type { RequestContext } from "../handlers/handler.ts";
import { ConfigResourceType } from "../metadata/topic-configs.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import { apiTable } from "../protocol/messages/index.ts";
import { log } from "../util/logger.ts";
import { AclOperation, CLUSTER_NAME, ResourceType, operationName, resourceTypeName } from "./acl.ts";
import { hostOf } from "./authorizer.ts";

export { AclOperation, CLUSTER_NAME, ResourceType };

/** The authorized-operations field when the client did not ask for it (Kafka's Integer.MIN_VALUE). */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;
/** Kafka's topic operations: READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS. */
export const TOPIC_OPERATIONS: readonly number[] = [3, 4, 5, 6, 7, 8, 10, 11];
/** Kafka's cluster operations: CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE. */
export const CLUSTER_OPERATIONS: readonly number[] = [5, 7, 8, 9, 10, 11, 12];

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

export function authorizeTopic(context: RequestContext, operation: number, topicName: string, logIfDenied = true): boolean {
  return authorize(context, operation, ResourceType.TOPIC, topicName, logIfDenied);
}

export function authorizeGroup(context: RequestContext, operation: number, groupId: string, logIfDenied = true): boolean {
  return authorize(context, operation, ResourceType.GROUP, groupId, logIfDenied);
}

export function authorizeTransactionalId(context: RequestContext, operation: number, transactionalId: string, logIfDenied = true): boolean {
  return authorize(context, operation, ResourceType.TRANSACTIONAL_ID, transactionalId, logIfDenied);
}

/**
 * InitProducerId without a transactional id (Kafka 2.8+): IDEMPOTENT_WRITE on the cluster, or WRITE on any topic.
 */
export function authorizeIdempotentWrite(context: RequestContext): boolean {
  const authorizer = context.broker.authorizer;
  if (authorizer === null) return true;
  if (authorize(context, AclOperation.IDEMPOTENT_WRITE, ResourceType.CLUSTER, CLUSTER_NAME, false)) return true;
  return authorizer.authorizeByResourceType(context.principal, hostOf(context.clientAddress), AclOperation.WRITE, ResourceType.TOPIC) ||
    authorize(context, AclOperation.IDEMPOTENT_WRITE, ResourceType.CLUSTER, CLUSTER_NAME);
}

export function authorizeCluster(context: RequestContext, operation: number, logIfDenied = true): boolean {
  return authorize(context, operation, ResourceType.CLUSTER, CLUSTER_NAME, logIfDenied);
}

/**
 * DescribeConfigs/AlterConfigs: a topic's configs need the operation on the topic (TOPIC_AUTHORIZATION_FAILED),
 * broker and broker-logger configs on the cluster (CLUSTER_AUTHORIZATION_FAILED). The error code, or null when allowed.
 */
export function configResourceDenied(context: RequestContext, operation: number, configResourceType: number, resourceName: string): number | null {
  if (configResourceType === ConfigResourceType.topic) {
    return authorizeTopic(context, operation, resourceName) ? null : ErrorCode.TOPIC_AUTHORIZATION_FAILED;
  }
  if (configResourceType === ConfigResourceType.broker || configResourceType === ConfigResourceType.brokerLogger) {
    return authorizeCluster(context, operation) ? null : ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
  }
  return null;
}

/**
 * Whether an unknown topic that auto-creation would make must not be made: the principal has CREATE on neither the
 * cluster nor the topic (Kafka's Metadata rule; Produce here auto-creates too and follows it).
 */
export function autoCreationDenied(context: RequestContext, topicName: string): boolean {
  const { broker } = context;
  if (broker.authorizer === null || !broker.config.autoCreateTopics || broker.topics.get(topicName) !== undefined) return false;
  return !authorizeTopicCreation(context, topicName);
}
