// AlterConfigs: v0–2
// Behaviour:
// - Topics: the request's configs become the topic's whole set; those left out return to their defaults (Kafka's
//   legacy, non-incremental semantics). Names and values are checked against Kafka's topic configs
//   (INVALID_CONFIG); a null value is INVALID_REQUEST. validateOnly checks without changing. The change is
//   persisted with the topic before the answer and reaches its logs at their next append (segment.bytes,
//   retention.ms, …).
// - Brokers: no dynamic broker configs here, INVALID_REQUEST. Unknown topics: UNKNOWN_TOPIC_OR_PARTITION.
// - With an authorizer: ALTER_CONFIGS on the topic (TOPIC_AUTHORIZATION_FAILED) or, for broker configs, the
//   cluster (CLUSTER_AUTHORIZATION_FAILED), as Kafka.
// Not emulated: alter-config policies.
// Version notes: v2 flexible.

import { ErrorCode } from "../protocol/error-codes.ts";
import type { AlterConfigsRequest, AlterConfigsResponse } from "../protocol/messages/33-alter-configs.ts";
import { checkTopicConfigs } from "../metadata/topic-configs.ts";
import { alterableTopic } from "./alterable-topic.ts";
import type { ApiHandler } from "./handler.ts";

export const alterConfigsHandler: ApiHandler<AlterConfigsRequest, AlterConfigsResponse> = {
  apiKey: 33,
  minVersion: 0,
  maxVersion: 2,
  handle(context, request) {
    const { broker } = context;
    const responses = request.resources.map(({ resourceType, resourceName, configs }) => {
      const result = (errorCode: number, errorMessage: string | null) => ({ errorCode, errorMessage, resourceType, resourceName });
      const found = alterableTopic(context, resourceType, resourceName);
      if (!("topic" in found)) return result(found.errorCode, found.errorMessage);
      const next = new Map<string, string>();
      for (const { name, value } of configs) {
        if (value === null) return result(ErrorCode.INVALID_REQUEST, `Null value not supported for : ${name}`);
        next.set(name, value);
      }
      const configError = checkTopicConfigs(next);
      if (configError !== null) return result(ErrorCode.INVALID_CONFIG, configError);
      if (request.validateOnly) return result(ErrorCode.NONE, null);
      const altered = broker.topics.alterConfigs(resourceName, next);
      return result(altered.errorCode, altered.errorMessage);
    });
    return { throttleTimeMs: 0, responses };
  },
};
