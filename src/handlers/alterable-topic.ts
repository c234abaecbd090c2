// What AlterConfigs and IncrementalAlterConfigs check before touching a resource's configs: ALTER_CONFIGS on it (with
// an authorizer), that it is a topic (this node has no alterable broker configs) and that the topic exists.

import { ErrorCode } from "../protocol/error-codes.ts";
import { ConfigResourceType } from "../metadata/topic-configs.ts";
import type { Topic } from "../metadata/topic-store.ts";
import { AclOperation, configResourceDenied } from "../security/authorize.ts";
import type { RequestContext } from "./handler.ts";

export function alterableTopic(
  context: RequestContext,
  resourceType: number,
  resourceName: string,
): { topic: Topic } | { errorCode: number; errorMessage: string | null } {
  const denied = configResourceDenied(context, AclOperation.ALTER_CONFIGS, resourceType, resourceName);
  if (denied !== null) return { errorCode: denied, errorMessage: null };
  if (resourceType !== ConfigResourceType.topic) {
    return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Resource type ${resourceType} has no alterable configs on this node` };
  }
  const topic = context.broker.topics.get(resourceName);
  if (!topic) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `Topic ${resourceName} does not exist.` };
  return { topic };
}
