// IncrementalAlterConfigs: v0–1
// Behaviour:
// - Topics: each config is SET (0), DELETEd back to its default (1), or, for list configs (cleanup.policy, the
//   throttled-replica lists), has values APPENDed (2) or SUBTRACTed (3). A name twice in one resource, an unknown
//   operation, or APPEND/SUBTRACT on a non-list config is INVALID_REQUEST / INVALID_CONFIG as in Kafka; names and
//   resulting values are checked against Kafka's topic configs (INVALID_CONFIG). validateOnly checks without
//   changing. The change is persisted with the topic before the answer and reaches its logs at their next append.
// - Brokers: no dynamic broker configs here, INVALID_REQUEST. Unknown topics: UNKNOWN_TOPIC_OR_PARTITION.
// - With an authorizer: ALTER_CONFIGS on the topic (TOPIC_AUTHORIZATION_FAILED) or, for broker configs, the
//   cluster (CLUSTER_AUTHORIZATION_FAILED), as Kafka.
// Not emulated: alter-config policies.
// Version notes: v1 flexible.

import { ErrorCode } from "../protocol/error-codes.ts";
import type { IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse } from "../protocol/messages/44-incremental-alter-configs.ts";
import { checkTopicConfigs, isListTopicConfig, topicConfigDefinitions } from "../metadata/topic-configs.ts";
import { alterableTopic } from "./alterable-topic.ts";
import type { ApiHandler } from "./handler.ts";

const Operation = { set: 0, delete: 1, append: 2, subtract: 3 } as const;

export const incrementalAlterConfigsHandler: ApiHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse> = {
  apiKey: 44,
  minVersion: 0,
  maxVersion: 1,
  handle(context, request) {
    const { broker } = context;
    const responses = request.resources.map(({ resourceType, resourceName, configs }) => {
      const result = (errorCode: number, errorMessage: string | null) => ({ errorCode, errorMessage, resourceType, resourceName });
      const found = alterableTopic(context, resourceType, resourceName);
      if (!("topic" in found)) return result(found.errorCode, found.errorMessage);
      const { topic } = found;
      const seen = new Set<string>();
      const next = new Map(topic.configs);
      for (const { name, configOperation, value } of configs) {
        if (seen.has(name)) return result(ErrorCode.INVALID_REQUEST, `Error due to duplicate config keys: ${name}`);
        seen.add(name);
        if (!topicConfigDefinitions.has(name)) return result(ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${name}`);
        const current = (next.get(name) ?? topicConfigDefinitions.get(name)!.defaultValue)
          .split(",")
          .map((item) => item.trim())
          .filter((item) => item !== "");
        const items = (value ?? "").split(",").map((item) => item.trim()).filter((item) => item !== "");
        switch (configOperation) {
          case Operation.set:
            if (value === null) return result(ErrorCode.INVALID_REQUEST, `Null value not supported for : ${name}`);
            next.set(name, value);
            break;
          case Operation.delete:
            next.delete(name);
            break;
          case Operation.append:
          case Operation.subtract: {
            if (!isListTopicConfig(name)) {
              return result(ErrorCode.INVALID_CONFIG, `Config value append/subtract is not allowed for config key: ${name}`);
            }
            const merged = configOperation === Operation.append
              ? [...current, ...items.filter((item) => !current.includes(item))]
              : current.filter((item) => !items.includes(item));
            next.set(name, merged.join(","));
            break;
          }
          default:
            return result(ErrorCode.INVALID_REQUEST, `Unknown config operation ${configOperation} for ${name}`);
        }
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
